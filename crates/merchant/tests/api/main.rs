//! The merchant backend wired to a real sandbox, both in-process on `127.0.0.1:0`: the sandbox's
//! webhooks go to the backend's `/webhooks/mobilepay`, the backend's API calls go to the sandbox.
//! Each test starts its own pair ([`common::TestApp`]), so tests share nothing and run in
//! parallel. One binary, one module per feature of the checkout's surface: each test binary
//! links the whole backend and sandbox again, so modules cost nothing where files would.

#[path = "../common/mod.rs"]
mod common;

mod durability;
mod metrics;
mod provider;
mod rate_limits;
mod reconcile;
mod serving;
mod sessions;
mod streams;
mod webhooks;
