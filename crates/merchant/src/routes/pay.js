// The hosted pay page's one script: once the widget reports the payment received, the link
// back to the shop (rendered hidden when the checkout had a return_url) appears.
document.addEventListener('mobilepay:paid', () => {
  const back = document.getElementById('return');
  if (back) {
    back.hidden = false;
  }
});
