//! The sandbox's own controls (`/sandbox/v1/…`), which real MOBILE-PAY does not have: its clock.
//! (Paying as the shopper is in [`crate::payments`]; webhook endpoint, deliveries and replay in
//! [`crate::webhooks`].)

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use mobilepay_wire::api::{AdvanceClock, Clock};

use crate::error::{ApiJson, Error};
use crate::{AppState, rfc3339};

/// The most the clock moves in one call: 30 days.
pub const MAX_ADVANCE_SECONDS: u64 = 30 * 86_400;

fn clock(state: &AppState) -> Clock {
    Clock {
        now: rfc3339(state.now()),
        offset_seconds: u64::try_from(state.clock.offset()).unwrap_or_default(),
    }
}

#[utoipa::path(
    get,
    path = "/sandbox/v1/clock",
    tag = "sandbox",
    responses((status = 200, body = Clock))
)]
pub async fn get_clock(State(state): State<Arc<AppState>>) -> Json<Clock> {
    Json(clock(&state))
}

#[utoipa::path(
    post,
    path = "/sandbox/v1/clock/advance",
    tag = "sandbox",
    request_body = AdvanceClock,
    responses(
        (status = 200, description = "Moved forward; payments expire and webhook retries fall due by it", body = Clock),
        (status = 400, description = "INVALID_PARAMETER", body = mobilepay_wire::ApiError),
    )
)]
pub async fn advance(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<AdvanceClock>,
) -> Result<Json<Clock>, Error> {
    if body.seconds == 0 || body.seconds > MAX_ADVANCE_SECONDS {
        return Err(Error::InvalidField {
            field: "seconds",
            fr: "un entier de 1 à 2 592 000 (30 jours)",
            en: "a whole number from 1 to 2,592,000 (30 days)",
        });
    }
    let seconds = i64::try_from(body.seconds).map_err(|_| Error::Internal)?;
    state.clock.advance(&state.db, seconds).await?;
    state.webhooks.wake();
    tracing::info!(seconds, "sandbox clock advanced");
    Ok(Json(clock(&state)))
}
