//! The seed's rate limits per API key or token — Gratuit 100 an hour, Marchand 1,000 an hour,
//! Entreprise unlimited — with `governor`'s GCRA (the quota refills steadily over the hour rather
//! than all at once), reported in the IETF `RateLimit-Policy` / `RateLimit` fields
//! (draft-ietf-httpapi-ratelimit-headers) and `Retry-After` on a 429.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use governor::clock::Clock as _;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::accounts::Tier;
use crate::auth::Principal;
use crate::clock::LimiterClock;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, LimiterClock, StateInformationMiddleware>;

const WINDOW_SECONDS: u64 = 3600;

pub struct Limits {
    gratuit: (u32, Keyed),
    marchand: (u32, Keyed),
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Limits(gratuit {}/h, marchand {}/h)",
            self.gratuit.0, self.marchand.0
        )
    }
}

/// Where a caller stands after one request.
#[derive(Debug)]
pub struct QuotaState {
    /// `None` for an unlimited tier.
    limit: Option<u32>,
    remaining: u32,
    /// Seconds until the quota is whole again.
    reset: u64,
    /// Set when this request is over the limit.
    pub retry_after: Option<Duration>,
}

fn limiter(per_hour: u32, clock: &LimiterClock) -> (u32, Keyed) {
    let n = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
    let limiter: Keyed = RateLimiter::new(
        Quota::per_hour(n),
        DefaultKeyedStateStore::default(),
        clock.clone(),
    );
    (per_hour, limiter)
}

impl Limits {
    /// The seed's tiers, on the sandbox's clock.
    pub fn new(clock: &LimiterClock) -> Self {
        Limits {
            gratuit: limiter(100, clock),
            marchand: limiter(1000, clock),
        }
    }

    /// Counts one request of `principal` against its tier.
    pub fn check(&self, principal: &Principal) -> QuotaState {
        let (limit, limiter) = match principal.tier {
            Tier::Gratuit => &self.gratuit,
            Tier::Marchand => &self.marchand,
            Tier::Entreprise => {
                return QuotaState {
                    limit: None,
                    remaining: 0,
                    reset: 0,
                    retry_after: None,
                };
            }
        };
        let per_cell = WINDOW_SECONDS as f64 / f64::from(*limit);
        match limiter.check_key(&principal.subject) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                QuotaState {
                    limit: Some(*limit),
                    remaining,
                    reset: (f64::from(limit - remaining) * per_cell).ceil() as u64,
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                // Whole seconds, rounded up: a client that waits exactly this long succeeds.
                let wait = Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
                QuotaState {
                    limit: Some(*limit),
                    remaining: 0,
                    reset: (f64::from(*limit) * per_cell).ceil() as u64,
                    retry_after: Some(wait),
                }
            }
        }
    }
}

impl QuotaState {
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let Some(limit) = self.limit else {
            return;
        };
        let policy = format!("\"hourly\";q={limit};w={WINDOW_SECONDS}");
        let state = format!("\"hourly\";r={};t={}", self.remaining, self.reset);
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}
