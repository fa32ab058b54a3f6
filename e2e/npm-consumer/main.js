// What a merchant's app does with the package: define the element, or mount from code.
// `?order=` and `?endpoint=` come from the test; `?mode=mount` uses `mount()` instead.
import { define, mount, TAG } from '@mobilepay/checkout';

const params = new URLSearchParams(location.search);
const orderId = params.get('order') ?? '';
const endpoint = params.get('endpoint') ?? undefined;

window.__calls = [];
if (params.get('mode') === 'mount') {
  document.getElementById('element').remove();
  window.__handle = mount(document.getElementById('mounted'), {
    orderId,
    endpoint,
    onStatusChange: (detail) => window.__calls.push(`change:${detail.status}`),
    onPaid: (detail) => window.__calls.push(`paid:${detail.paymentId}`),
  });
} else {
  const element = document.getElementById('element');
  element.setAttribute('endpoint', endpoint ?? '');
  element.setAttribute('order-id', orderId);
  window.__defined = define() && customElements.get(TAG) !== undefined;
}
