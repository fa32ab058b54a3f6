// The script-tag entry: defines <mobilepay-checkout> on load.
//
//   <script type="module" src="/widget/mobilepay-checkout.js"></script>
//   <mobilepay-checkout order-id="chk_123" endpoint="https://shop.example" locale="fr"></mobilepay-checkout>
//
// The JS API is this module's exports (`import { MobilePayCheckout } from '…/mobilepay-checkout.js'`)
// and `globalThis.MobilePayCheckout`, for scripts that are not modules.
import { define, MobilePayCheckout } from './index.js';

define();
globalThis.MobilePayCheckout ??= MobilePayCheckout;

export * from './index.js';
