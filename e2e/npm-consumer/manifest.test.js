// The package's custom-elements.json, as editors and tools read it: exported, valid against
// the custom-elements-manifest schema it claims (1.0.0), and naming the element.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';

const require = createRequire(import.meta.url);

test('the package points at its manifest, which is valid against the schema', () => {
  const pkg = require('@mobilepay/checkout/package.json');
  assert.equal(pkg.customElements, 'custom-elements.json');
  const manifest = require('@mobilepay/checkout/custom-elements.json');
  assert.equal(manifest.schemaVersion, '1.0.0');
  const schema = require('custom-elements-manifest/schema.json');
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  assert.ok(validate(manifest), JSON.stringify(validate.errors, null, 2));
});

test('the manifest describes <mobilepay-checkout> with its events, properties and parts', () => {
  const manifest = require('@mobilepay/checkout/custom-elements.json');
  const element = manifest.modules
    .flatMap((m) => m.declarations ?? [])
    .find((d) => d.tagName === 'mobilepay-checkout');
  assert.ok(element, 'an element declaration');
  assert.ok(element.events.some((e) => e.name === 'mobilepay:paid'));
  assert.ok(element.attributes.some((a) => a.name === 'order-id'));
  assert.ok(element.cssProperties.some((p) => p.name === '--mobilepay-accent'));
  assert.ok(element.cssParts.some((p) => p.name === 'qr'));
});

test('every module the manifest names is a file of the package', () => {
  const manifest = require('@mobilepay/checkout/custom-elements.json');
  const root = path.dirname(require.resolve('@mobilepay/checkout/package.json'));
  for (const module of manifest.modules) {
    assert.ok(fs.existsSync(path.join(root, module.path)), `${module.path} is in the package`);
    for (const exported of module.exports ?? []) {
      const from = exported.declaration?.module;
      if (from) assert.ok(fs.existsSync(path.join(root, from)), `${from} is in the package`);
    }
  }
});
