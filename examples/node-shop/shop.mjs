// A small shop that sells through the MOBILE-PAY Checkout backend, using nothing but HTTP and
// the official Standard Webhooks library:
//   1. a shopper orders: the shop stores its order, then creates a checkout for it
//      (POST /v1/checkouts, with the shop's API key, its own reference and amount);
//   2. the order's page embeds the widget (the backend's script tag) for that checkout;
//   3. the backend POSTs `checkout.paid` to the shop's webhook endpoint: the shop verifies the
//      signature with `standardwebhooks`, checks the amount, and marks its order paid.
// The order's status comes from the verified webhook only, never from the browser.
//
// Environment: BACKEND_URL (the checkout backend, e.g. http://127.0.0.1:8080), SHOP_API_KEY
// (its /v1 key), PORT (default 3000), PUBLIC_URL (where the backend reaches this shop; default
// http://127.0.0.1:PORT), WEBHOOK_SECRET (the whsec_… of an endpoint made beforehand; if unset,
// the shop creates its endpoint at start and keeps the secret in memory — a real shop stores it).

import http from "node:http";
import { Webhook } from "standardwebhooks";

const BACKEND_URL = (process.env.BACKEND_URL ?? "").replace(/\/+$/, "");
const SHOP_API_KEY = process.env.SHOP_API_KEY ?? "";
const PORT = Number(process.env.PORT ?? 3000);
const PUBLIC_URL = (process.env.PUBLIC_URL ?? `http://127.0.0.1:${PORT}`).replace(/\/+$/, "");
if (!BACKEND_URL.startsWith("http") || !SHOP_API_KEY) {
  console.error("set BACKEND_URL (http://…) and SHOP_API_KEY");
  process.exit(2);
}

const PRODUCT = { name: "Pagne wax, 6 yards", amount: 25000 };
/** order id → {id, amount, status: "awaiting_payment" | "paid", checkout_id, sequence} */
const orders = new Map();
/** webhook-ids already applied: a retried or redelivered event changes nothing. */
const seen = new Set();
let nextOrder = 1;
let verifier;

/** Calls the backend's /v1 API with the shop's key. */
async function api(method, path, body, headers = {}) {
  const response = await fetch(`${BACKEND_URL}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${SHOP_API_KEY}`,
      "content-type": "application/json",
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  return { status: response.status, body: answer };
}

async function webhookSecret() {
  if (process.env.WEBHOOK_SECRET) return process.env.WEBHOOK_SECRET;
  const { status, body } = await api("POST", "/v1/webhook-endpoints", {
    url: `${PUBLIC_URL}/webhooks/mobilepay`,
    events: ["checkout.paid", "checkout.expired", "checkout.canceled"],
  });
  if (status !== 201) throw new Error(`cannot create the webhook endpoint: ${status} ${JSON.stringify(body)}`);
  console.log(`webhook endpoint ${body.id} → ${body.url}`);
  return body.secret;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, content) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${content}</main></body></html>`;
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { "content-type": type, ...headers });
  res.end(body);
}

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function order(res) {
  const id = `order-${Date.now().toString(36)}-${nextOrder++}`;
  const stored = { id, amount: PRODUCT.amount, status: "awaiting_payment", checkout_id: null, sequence: 0 };
  orders.set(id, stored);
  const { status, body } = await api(
    "POST",
    "/v1/checkouts",
    {
      amount: PRODUCT.amount,
      description: PRODUCT.name,
      reference: id,
      metadata: { shop: "node-shop" },
      expires_in: 900,
      return_url: `${PUBLIC_URL}/orders/${id}`,
    },
    // Safe to retry: the backend answers the same checkout for the same key.
    { "idempotency-key": id },
  );
  if (status !== 200 && status !== 201) {
    console.error(`checkout not created for ${id}: ${status} ${JSON.stringify(body)}`);
    return send(res, 502, "text/html; charset=utf-8", page("Paiement indisponible", "<p>Réessayez plus tard.</p>"));
  }
  stored.checkout_id = body.id;
  send(res, 303, "text/plain", "", { location: `/orders/${id}` });
}

function orderPage(res, stored) {
  const paid = stored.status === "paid";
  const widget = paid || !stored.checkout_id
    ? ""
    : `<script type="module" src="${escape(BACKEND_URL)}/widget/mobilepay-checkout.js"></script>
<mobilepay-checkout order-id="${escape(stored.checkout_id)}" endpoint="${escape(BACKEND_URL)}" locale="fr"></mobilepay-checkout>`;
  send(
    res,
    200,
    "text/html; charset=utf-8",
    page(
      `Commande ${stored.id}`,
      `<p>${escape(PRODUCT.name)} — ${PRODUCT.amount.toLocaleString("fr-FR")} FCFA</p>
<p>Statut : <strong id="order-status" data-status="${escape(stored.status)}">${paid ? "payée" : "en attente de paiement"}</strong></p>
${widget}`,
    ),
  );
}

/** A verified event: the order's status moves forward only, in the checkout's own order. */
function apply(event, webhookId) {
  if (seen.has(webhookId)) return;
  const checkout = event.data ?? {};
  const stored = orders.get(checkout.reference);
  if (!stored) return;
  if (typeof event.sequence === "number" && event.sequence <= stored.sequence) return;
  if (event.type === "checkout.paid") {
    if (checkout.amount !== stored.amount || checkout.id !== stored.checkout_id) {
      console.error(`checkout.paid for ${stored.id} does not match the order; ignored`);
      return;
    }
    stored.status = "paid";
  }
  stored.sequence = event.sequence ?? stored.sequence;
  seen.add(webhookId);
  console.log(`${event.type} → order ${stored.id} is ${stored.status}`);
}

async function webhook(req, res) {
  const raw = await readBody(req);
  let event;
  try {
    // On the raw body, before any parsing: a signature is over bytes.
    event = verifier.verify(raw, req.headers);
  } catch {
    return send(res, 401, "application/json", JSON.stringify({ error: "invalid signature" }));
  }
  apply(event, req.headers["webhook-id"]);
  send(res, 204, "text/plain", "");
}

async function route(req, res) {
  const url = new URL(req.url, PUBLIC_URL);
  if (req.method === "GET" && url.pathname === "/") {
    return send(
      res,
      200,
      "text/html; charset=utf-8",
      page(
        "Boutique de pagnes",
        `<p>${escape(PRODUCT.name)} — ${PRODUCT.amount.toLocaleString("fr-FR")} FCFA</p>
<form method="post" action="/orders"><button type="submit">Commander</button></form>`,
      ),
    );
  }
  if (req.method === "POST" && url.pathname === "/orders") return order(res);
  if (req.method === "POST" && url.pathname === "/webhooks/mobilepay") return webhook(req, res);
  const match = /^\/orders\/([\w-]+?)(\.json)?$/.exec(url.pathname);
  if (req.method === "GET" && match && orders.has(match[1])) {
    const stored = orders.get(match[1]);
    if (match[2]) return send(res, 200, "application/json", JSON.stringify(stored));
    return orderPage(res, stored);
  }
  send(res, 404, "text/plain; charset=utf-8", "not found");
}

verifier = new Webhook((await webhookSecret()).replace(/^whsec_/, ""));
http
  .createServer((req, res) => {
    route(req, res).catch((error) => {
      console.error(error);
      if (!res.headersSent) send(res, 500, "text/plain", "internal error");
    });
  })
  .listen(PORT, "127.0.0.1", () => console.log(`shop listening on ${PUBLIC_URL}`));
