// <mobilepay-checkout> and its JS API: a thin shell around the Rust widget (wasm), which it
// loads once per page and mounts into each host's shadow root.
//
// Safe to import anywhere, server-side rendering included: nothing here touches `window`,
// `customElements` or the wasm until `define()` or `mount()` is called.
import init, { mount as mountWasm } from './mobilepay_checkout.js';

/** The element's tag. */
export const TAG = 'mobilepay-checkout';

const CALLBACKS = {
  statuschange: 'onStatusChange',
  paid: 'onPaid',
  failed: 'onFailed',
  expired: 'onExpired',
  error: 'onError',
};

let ready;
// Starts the wasm's download and compilation once per page (streaming: it compiles while it
// downloads).
const load = () =>
  (ready ??= init({ module_or_path: new URL('./mobilepay_checkout_bg.wasm', import.meta.url) }));

/**
 * Sends the session request for `orderId` now, while the wasm downloads, rather than after:
 * on a phone link that saves a whole round trip. Only the order reference goes out (never an
 * amount); the wasm reads the answer as it reads its own requests'. `undefined` when the
 * endpoint is not a URL: the wasm then reports that itself.
 */
function requestSession(endpoint, orderId) {
  let url;
  try {
    // As the wasm resolves it: the page's origin by default, relative to the page, no
    // trailing slash.
    const base = endpoint && endpoint.trim() ? endpoint : location.origin;
    url = `${new URL(base, document.baseURI).href.replace(/\/+$/, '')}/checkout/sessions`;
  } catch {
    return undefined;
  }
  const pending = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ order_id: orderId }),
  });
  // A failure is the wasm's to show, when it awaits this; never an unhandled rejection.
  pending.catch(() => {});
  return pending;
}

/** One widget on one host: (re)starts and stops the Rust widget in the host's shadow root. */
class Widget {
  #host;
  #options;
  #handle = null;
  #generation = 0;

  /** `options()` is read at every start, so that a retry sees the current attributes. */
  constructor(host, options) {
    this.#host = host;
    this.#options = options;
  }

  start() {
    this.stop();
    const generation = this.#generation;
    const host = this.#host;
    const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
    // An element upgraded with its attributes is started once per attribute, then once more
    // as it connects, all in one task: only the last start of a task sends a request.
    queueMicrotask(() => {
      if (generation !== this.#generation) return;
      const { orderId, endpoint, locale } = this.#options();
      // Both at once: the wasm's download and the session's request.
      const session = requestSession(endpoint, orderId ?? '');
      load().then(
        () => {
          // The widget may have been stopped (or restarted with other options) meanwhile.
          if (generation !== this.#generation) return;
          this.#handle = mountWasm(
            host, root, orderId ?? '', endpoint ?? undefined, locale ?? undefined, session,
          );
        },
        () => {
          if (generation !== this.#generation) return;
          host.setAttribute('status', 'error');
          host.dispatchEvent(new CustomEvent('mobilepay:error', {
            bubbles: true,
            composed: true,
            detail: { status: 'error', errorCode: 'WIDGET_LOAD_FAILED' },
          }));
        },
      );
    });
  }

  stop() {
    this.#generation++;
    this.#handle?.destroy();
    this.#handle = null;
  }
}

/**
 * Mounts the checkout into `element` (any element that can have a shadow root, e.g. a `<div>`)
 * and returns a handle. `options`: `orderId` (required), `endpoint`, `locale`, `theme`, and
 * callbacks `onStatusChange`, `onPaid`, `onFailed`, `onExpired`, `onError`, each called with the
 * same `detail` as the matching `mobilepay:*` event.
 */
export function mount(element, options) {
  const listeners = Object.entries(CALLBACKS)
    .filter(([, callback]) => typeof options[callback] === 'function')
    .map(([type, callback]) => {
      const listener = (event) => options[callback](event.detail);
      element.addEventListener(`mobilepay:${type}`, listener);
      return [`mobilepay:${type}`, listener];
    });
  if (options.theme) element.setAttribute('theme', options.theme);
  const widget = new Widget(element, () => options);
  widget.start();
  return {
    get status() {
      return element.getAttribute('status') ?? 'loading';
    },
    retry: () => widget.start(),
    destroy() {
      widget.stop();
      for (const [type, listener] of listeners) element.removeEventListener(type, listener);
    },
  };
}

/**
 * Defines `<mobilepay-checkout>` (or `tag`). Does nothing where there is no `customElements`
 * (server-side rendering) and returns whether the element is defined.
 */
export function define(tag = TAG) {
  if (typeof customElements === 'undefined') return false;
  if (customElements.get(tag)) return true;
  // A page that defines the element will show one: the wasm starts downloading now.
  load().catch(() => {});
  customElements.define(tag, class extends HTMLElement {
    // `theme` is pure CSS (`:host([theme])`): changing it needs no restart.
    static observedAttributes = ['order-id', 'endpoint', 'locale'];
    #widget = new Widget(this, () => ({
      orderId: this.getAttribute('order-id'),
      endpoint: this.getAttribute('endpoint'),
      locale: this.getAttribute('locale'),
    }));

    connectedCallback() { this.#widget.start(); }
    disconnectedCallback() { this.#widget.stop(); }
    attributeChangedCallback(_name, before, after) {
      if (before !== after && this.isConnected) this.#widget.start();
    }

    /** Starts over: a new session request for the current attributes. */
    retry() { this.#widget.start(); }

    get status() { return this.getAttribute('status') ?? 'loading'; }
    get paymentId() { return this.getAttribute('payment-id'); }
    get orderId() { return this.getAttribute('order-id'); }
    set orderId(value) { this.setAttribute('order-id', value); }
    get endpoint() { return this.getAttribute('endpoint'); }
    set endpoint(value) { this.#set('endpoint', value); }
    get locale() { return this.getAttribute('locale'); }
    set locale(value) { this.#set('locale', value); }
    get theme() { return this.getAttribute('theme'); }
    set theme(value) { this.#set('theme', value); }
    #set(name, value) {
      if (value == null) this.removeAttribute(name);
      else this.setAttribute(name, value);
    }
  });
  return true;
}

/** The JS API in one object, for pages that prefer code to markup. */
export const MobilePayCheckout = { TAG, define, mount };
