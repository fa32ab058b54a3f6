// <mobilepay-checkout>: the custom element. A thin shell: all logic is in the Rust widget
// (wasm), which this file loads once and mounts into each element's shadow root.
//
//   <script type="module" src="/widget/mobilepay-checkout.js"></script>
//   <mobilepay-checkout order-id="ord_123" endpoint="https://shop.example" locale="fr"></mobilepay-checkout>
import init, { mount } from './mobilepay_checkout.js';

let ready;
const load = () => (ready ??= init({ module_or_path: new URL('./mobilepay_checkout_bg.wasm', import.meta.url) }));

export class MobilePayCheckout extends HTMLElement {
  static observedAttributes = ['order-id', 'endpoint', 'locale'];
  #handle = null;
  #generation = 0;

  connectedCallback() { this.#start(); }

  disconnectedCallback() { this.#stop(); }

  attributeChangedCallback(_name, before, after) {
    if (before !== after && this.isConnected) this.#start();
  }

  /** Starts over: a new session request for the current attributes. */
  retry() { this.#start(); }

  #stop() {
    this.#generation++;
    this.#handle?.destroy();
    this.#handle = null;
  }

  async #start() {
    this.#stop();
    const generation = this.#generation;
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    try {
      await load();
    } catch (error) {
      this.setAttribute('status', 'error');
      this.dispatchEvent(new CustomEvent('mobilepay:error', {
        bubbles: true, composed: true, detail: { status: 'error', errorCode: 'WIDGET_LOAD_FAILED' },
      }));
      return;
    }
    // Attributes may have changed, or the element left the page, while the wasm loaded.
    if (generation !== this.#generation || !this.isConnected) return;
    this.#handle = mount(
      this, root,
      this.getAttribute('order-id') ?? '',
      this.getAttribute('endpoint') ?? undefined,
      this.getAttribute('locale') ?? undefined,
    );
  }
}

if (!customElements.get('mobilepay-checkout')) {
  customElements.define('mobilepay-checkout', MobilePayCheckout);
}
