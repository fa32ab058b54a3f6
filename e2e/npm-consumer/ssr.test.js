// The package in Node, where there is no `window` and no `customElements`, as during
// server-side rendering: importing it and calling `define()` must not throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('importing the package and calling define() without a DOM does nothing and throws nothing', async () => {
  assert.equal(typeof globalThis.window, 'undefined');
  assert.equal(typeof globalThis.customElements, 'undefined');
  const pkg = await import('@mobilepay/checkout');
  assert.equal(pkg.TAG, 'mobilepay-checkout');
  assert.equal(pkg.define(), false);
  assert.equal(pkg.MobilePayCheckout.define(), false);
});

test('the script-tag entry imports without a DOM too', async () => {
  const auto = await import('@mobilepay/checkout/auto');
  assert.equal(typeof auto.mount, 'function');
});
