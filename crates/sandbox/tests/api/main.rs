//! The sandbox's HTTP API, exercised from outside, in one test binary: every test starts its own
//! sandbox on `127.0.0.1:0` (and, when it needs webhooks, its own receiver), so tests share
//! nothing and run in parallel. One module per part of the API; [`helpers`] holds what they share.

mod clock;
mod helpers;
mod i18n;
mod idempotency;
mod ledger;
mod login;
mod openapi;
mod payments;
mod persistence;
mod rate_limits;
mod seed_examples;
mod transactions;
mod transfers;
mod wallet;
mod webhooks;
