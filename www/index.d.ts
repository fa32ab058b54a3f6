// Types of the `@mobilepay/checkout` package (`index.js`, and `auto.js`, the script-tag
// entry, which re-exports it). Generated from the public surface's list,
// xtask/src/surface.rs, by `cargo xtask surface --write`: edit the list, not this file.

/** What the widget shows; the element reflects it as its `status` attribute. */
export type CheckoutStatus =
  | 'loading'
  | 'awaiting_payment'
  | 'paid'
  | 'failed'
  | 'expired'
  | 'error';

/** `fr` (default) or `en`; other values fall back to the browser's language, then French. */
export type CheckoutLocale = 'fr' | 'en' | (string & {});

/** `light` or `dark` forces a scheme; without it the widget follows `prefers-color-scheme`. */
export type CheckoutTheme = 'light' | 'dark';

/** The `detail` of every `mobilepay:*` event and the argument of every callback: the state at
 * the moment of the change. */
export interface CheckoutDetail {
  status: CheckoutStatus;
  orderId: string;
  paymentId?: string;
  sessionId?: string;
  /** MOBILE-PAY's code for a failed payment (`INSUFFICIENT_FUNDS`), or the error's code. */
  errorCode?: string;
  /** MOBILE-PAY's own text for a failed payment; the widget shows a translation of the code. */
  errorMessage?: string;
}

export type CheckoutEvent = CustomEvent<CheckoutDetail>;

export interface MountOptions {
  /** The merchant's order reference; the backend decides the amount from it. */
  orderId: string;
  /** The merchant backend's base URL; defaults to the page's origin. */
  endpoint?: string;
  locale?: CheckoutLocale;
  theme?: CheckoutTheme;
  onStatusChange?: (detail: CheckoutDetail) => void;
  onPaid?: (detail: CheckoutDetail) => void;
  onFailed?: (detail: CheckoutDetail) => void;
  onExpired?: (detail: CheckoutDetail) => void;
  onError?: (detail: CheckoutDetail) => void;
}

export interface CheckoutHandle {
  /** The current status. */
  readonly status: CheckoutStatus;
  /** Starts over: a new session request (a new payment unless the last one can still be paid). */
  retry(): void;
  /** Unmounts the widget, closes its event stream and removes the callbacks. */
  destroy(): void;
}

/** The `<mobilepay-checkout>` element. */
export interface MobilePayCheckoutElement extends HTMLElement {
  readonly status: CheckoutStatus;
  readonly paymentId: string | null;
  orderId: string | null;
  endpoint: string | null;
  locale: string | null;
  theme: string | null;
  /** Starts over: a new session request for the current attributes. */
  retry(): void;
}

/** The element's tag, `mobilepay-checkout`. */
export declare const TAG: 'mobilepay-checkout';

/** Defines the element (under `tag`, default `mobilepay-checkout`). Safe during server-side
 * rendering: without `customElements` it does nothing and returns `false`. */
export declare function define(tag?: string): boolean;

/** Mounts the checkout into `element` (e.g. a `<div>`). */
export declare function mount(element: HTMLElement, options: MountOptions): CheckoutHandle;

export declare const MobilePayCheckout: {
  readonly TAG: typeof TAG;
  define: typeof define;
  mount: typeof mount;
};

declare global {
  interface HTMLElementTagNameMap {
    'mobilepay-checkout': MobilePayCheckoutElement;
  }
  interface HTMLElementEventMap {
    'mobilepay:statuschange': CheckoutEvent;
    'mobilepay:paid': CheckoutEvent;
    'mobilepay:failed': CheckoutEvent;
    'mobilepay:expired': CheckoutEvent;
    'mobilepay:error': CheckoutEvent;
  }
}
