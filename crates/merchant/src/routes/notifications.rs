//! `/v1` notifications: the shop's webhook endpoints, and the events sent to them with their
//! deliveries and attempts, redeliverable. [`routes`] is one `OpenApiRouter`, so the routes and
//! their OpenAPI description come from the same declarations; authentication is the `/v1`
//! router's layer, not these handlers'.
//!
//! The delivery itself is the outbox worker's ([`crate::outbox`]); these handlers only write
//! what it reads, and wake it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mobilepay_wire::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::db::now;
use crate::error::ApiJson;
use crate::ids::random_token;
use crate::outbox::{EVENT_TYPES, Secret, now_ms, rfc3339, rfc3339_ms, wants};

/// Webhook endpoints a shop may have at once.
pub const MAX_ENDPOINTS: i64 = 16;
const MAX_URL_LEN: usize = 2048;
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

/// The notification routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(delete_endpoint))
        .routes(routes!(list_events))
        .routes(routes!(get_event))
        .routes(routes!(redeliver))
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a notifications request failed; each is a documented `error_code` (docs/errors.md).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A field or query parameter out of its range; the message names it.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    #[error("the shop already has the most webhook endpoints")]
    TooManyEndpoints,
    #[error("no such webhook endpoint")]
    EndpointNotFound,
    #[error("no such event")]
    EventNotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl NotifyError {
    fn status(&self) -> StatusCode {
        match self {
            NotifyError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            NotifyError::TooManyEndpoints => StatusCode::CONFLICT,
            NotifyError::EndpointNotFound | NotifyError::EventNotFound => StatusCode::NOT_FOUND,
            NotifyError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            NotifyError::InvalidParameter(_) => "INVALID_PARAMETER",
            NotifyError::TooManyEndpoints => "TOO_MANY_WEBHOOK_ENDPOINTS",
            NotifyError::EndpointNotFound => "WEBHOOK_ENDPOINT_NOT_FOUND",
            NotifyError::EventNotFound => "EVENT_NOT_FOUND",
            NotifyError::Database(_) => "INTERNAL_ERROR",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            NotifyError::InvalidParameter(message) => message,
            NotifyError::TooManyEndpoints => {
                "At most 16 webhook endpoints; delete one before adding another"
            }
            NotifyError::EndpointNotFound => "No webhook endpoint has this id",
            NotifyError::EventNotFound => "No event has this id",
            NotifyError::Database(_) => "Internal error",
        }
    }
}

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            // The detail (SQL) goes to the log only.
            tracing::error!(error = %self, "notifications request failed");
        }
        let body = Json(ApiError {
            error_code: self.code().to_owned(),
            error_message: self.message().to_owned(),
        });
        (self.status(), body).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook endpoints
// ---------------------------------------------------------------------------------------------

/// A webhook endpoint to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// Where events are POSTed: an absolute http:// or https:// URL with a host, at most 2048
    /// characters.
    #[schema(
        min_length = 8,
        max_length = 2048,
        // A host name (ending in a letter, so it is not read as an IPv4 address) or a number,
        // a port of up to 4 digits, then any visible ASCII.
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z])?(:[0-9]{1,4})?([/?#][\x21-\x7E]*)?$",
        example = "https://shop.example/webhooks/mobilepay"
    )]
    pub url: String,
    /// The event types it wants (1 to 7, each once), or `["*"]` for every type.
    #[schema(schema_with = events_schema, example = json!(["checkout.paid"]))]
    pub events: Vec<EventType>,
}

/// `events` as [`check_events`] takes it: `["*"]`, or 1 to 7 known types, each once.
fn events_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    let strings = |values: Vec<&str>| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
    };
    Schema::OneOf(
        OneOfBuilder::new()
            .description(Some(
                "The event types it wants (1 to 7, each once), or [\"*\"] for every type",
            ))
            .item(
                ArrayBuilder::new()
                    .items(strings(vec!["*"]))
                    .min_items(Some(1))
                    .max_items(Some(1)),
            )
            .item(
                ArrayBuilder::new()
                    .items(strings(EVENT_TYPES.to_vec()))
                    .min_items(Some(1))
                    .max_items(Some(EVENT_TYPES.len()))
                    .unique_items(true),
            )
            .build(),
    )
}

/// An event type, or `*` for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct EventType(pub String);

/// Described as an enum of `outbox::EVENT_TYPES` and `*`, so that a generated client knows them.
impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(std::iter::once("*").chain(EVENT_TYPES)))
            .examples(["checkout.paid"])
            .into()
    }
}

impl utoipa::ToSchema for EventType {}

/// A webhook endpoint as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoint {
    /// `we_…`
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    /// RFC 3339.
    pub created_at: String,
}

/// A webhook endpoint just created: the only answer that shows its secret.
#[derive(Serialize, ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_…`: verifies the endpoint's deliveries (Standard Webhooks). Shown once; keep it.
    pub secret: String,
}

impl std::fmt::Debug for CreatedEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedEndpoint")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub data: Vec<Endpoint>,
}

fn check_url(url: &str) -> Result<(), NotifyError> {
    let invalid = NotifyError::InvalidParameter(
        "url must be an absolute http:// or https:// URL of at most 2048 characters",
    );
    if url.len() > MAX_URL_LEN {
        return Err(invalid);
    }
    match reqwest::Url::parse(url) {
        Ok(parsed)
            if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() =>
        {
            Ok(())
        }
        _ => Err(invalid),
    }
}

fn check_events(events: &[EventType]) -> Result<Vec<String>, NotifyError> {
    let mut kept: Vec<String> = Vec::new();
    for EventType(kind) in events {
        if kind != "*" && !EVENT_TYPES.contains(&kind.as_str()) {
            return Err(NotifyError::InvalidParameter(
                "events must hold known event types (checkout.paid, checkout.payment_failed, \
                 checkout.expired, checkout.canceled, checkout.amount_mismatch, \
                 refund.succeeded, refund.failed) or \"*\"",
            ));
        }
        if kept.contains(kind) {
            return Err(NotifyError::InvalidParameter(
                "events must name each type once",
            ));
        }
        kept.push(kind.clone());
    }
    if kept.is_empty() || (kept.len() > 1 && kept.iter().any(|k| k == "*")) {
        return Err(NotifyError::InvalidParameter(
            "events must hold at least one type, or \"*\" alone",
        ));
    }
    Ok(kept)
}

/// Creates a webhook endpoint; its secret is in this answer only.
#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints",
    tag = "notifications",
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "Created; `secret` is shown this once", body = CreatedEndpoint),
        (status = 400, description = "Malformed JSON (INVALID_JSON), or a `url` or `events` out of range (INVALID_PARAMETER)", body = ApiError),
        (status = 409, description = "Already 16 endpoints (TOO_MANY_WEBHOOK_ENDPOINTS), or IDEMPOTENCY_KEY_IN_PROGRESS", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used for another request", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn create_endpoint(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<NewEndpoint>,
) -> Result<(StatusCode, Json<CreatedEndpoint>), NotifyError> {
    let url = body.url.trim().to_owned();
    check_url(&url)?;
    let events = check_events(&body.events)?;
    let id = random_token("we_", 12);
    let secret = Secret::generate();
    let created_at = now();
    let stored_events = serde_json::to_string(&events).unwrap_or_else(|_| "[]".to_owned());
    // The count and the insert in one statement: two requests at once cannot both pass a
    // count made before either inserted (on SQLite writes are serial; on PostgreSQL the
    // second may overshoot by the requests in flight, which the bound tolerates).
    let inserted = sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, events, secret, created_at)
         SELECT $1, $2, $3, $4, $5
         WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL) < $6",
    )
    .bind(&id)
    .bind(&url)
    .bind(&stored_events)
    .bind(secret.expose())
    .bind(created_at)
    .bind(MAX_ENDPOINTS)
    .execute(&state.sessions.db.pool)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(NotifyError::TooManyEndpoints);
    }
    tracing::info!(endpoint_id = %id, "webhook endpoint created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedEndpoint {
            endpoint: Endpoint {
                id,
                url,
                events: events.into_iter().map(EventType).collect(),
                created_at: rfc3339(created_at),
            },
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Lists the webhook endpoints, oldest first (without their secrets).
#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints",
    tag = "notifications",
    responses(
        (status = 200, description = "Every endpoint (at most 16)", body = EndpointList),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn list_endpoints(
    State(state): State<Arc<AppState>>,
) -> Result<Json<EndpointList>, NotifyError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, url, events, created_at FROM webhook_endpoints WHERE deleted_at IS NULL
         ORDER BY created_at, id",
    )
    .fetch_all(&state.sessions.db.pool)
    .await?;
    let data = rows
        .into_iter()
        .map(|(id, url, events, created_at)| Endpoint {
            id,
            url,
            events: serde_json::from_str::<Vec<String>>(&events)
                .unwrap_or_default()
                .into_iter()
                .map(EventType)
                .collect(),
            created_at: rfc3339(created_at),
        })
        .collect();
    Ok(Json(EndpointList { data }))
}

/// Deletes a webhook endpoint: its pending deliveries are canceled, its secret forgotten.
#[utoipa::path(
    delete,
    path = "/v1/webhook-endpoints/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "The endpoint's id (`we_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint, or already deleted (WEBHOOK_ENDPOINT_NOT_FOUND)", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn delete_endpoint(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, NotifyError> {
    let mut tx = state.sessions.db.begin().await?;
    let deleted = sqlx::query(
        "UPDATE webhook_endpoints SET deleted_at = $1, secret = ''
         WHERE id = $2 AND deleted_at IS NULL",
    )
    .bind(now())
    .bind(&id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(NotifyError::EndpointNotFound);
    }
    // An attempt in flight finishes, but its result no longer reschedules anything: the
    // worker writes only over a pending delivery.
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'canceled', claimed_by = NULL,
             claimed_until = NULL
         WHERE endpoint_id = $1 AND status = 'pending'",
    )
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(endpoint_id = %id, "webhook endpoint deleted");
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// An event: the body its endpoints receive, plus where it went and how each attempt went.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// `evt_…`, also each delivery's `webhook-id`.
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "checkout.paid")]
    pub kind: String,
    /// RFC 3339.
    pub created_at: String,
    /// The checkout's own sequence number of this change (1, 2, …): a receiver drops an event
    /// whose sequence is below one it has already applied.
    pub sequence: i64,
    pub checkout_id: String,
    /// The checkout as it is after the change; for `refund.succeeded` and `refund.failed`, the
    /// refund (the `Refund` schema) as it is after it.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// One per endpoint that wanted the event when it was sent.
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// `wd_…`
    pub id: String,
    pub endpoint_id: String,
    pub url: String,
    /// `pending` (an attempt is due at `next_attempt_at`), `succeeded`, `failed` (refused with
    /// a status other than 408, 429 and 5xx, or retried for more than three days), or
    /// `canceled` (its endpoint was deleted).
    #[schema(pattern = "^(pending|succeeded|failed|canceled)$")]
    pub status: String,
    /// RFC 3339, while pending.
    pub next_attempt_at: Option<String>,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Attempt {
    /// RFC 3339, to the millisecond.
    pub attempted_at: String,
    /// The receiver's HTTP status; absent when no answer came.
    pub status_code: Option<u16>,
    /// Why no answer came: `timeout`, `connection failed` or `network error`.
    pub error: Option<String>,
    /// From sending to the answer's status line.
    pub latency_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Newest first.
    pub data: Vec<Event>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only this checkout's events.
    pub checkout_id: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Where the page starts: the previous page's `next_cursor`, which is the position
    /// (`created_at.checkout_id.sequence`) of that page's last event; the page holds the events
    /// after it.
    #[param(
        min_length = 5,
        max_length = 96,
        pattern = r"^[0-9]{1,15}\.[A-Za-z0-9_]{1,64}\.[0-9]{1,15}$"
    )]
    pub cursor: Option<String>,
}

type EventRow = (String, String, i64, i64, String, String);
const EVENT_COLUMNS: &str = "id, type, created_at, seq, checkout_id, data";

/// Lists events, newest first, each with its deliveries and their attempts.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "notifications",
    params(EventQuery),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "`limit` not 1 – 100, or a `cursor` not of its pattern (INVALID_PARAMETER)", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(state): State<Arc<AppState>>,
    query: Result<Query<EventQuery>, QueryRejection>,
) -> Result<Json<EventList>, NotifyError> {
    let Query(query) = query.map_err(|_| {
        NotifyError::InvalidParameter("the query string is not checkout_id, type, limit, cursor")
    })?;
    let limit = match &query.limit {
        None => DEFAULT_LIMIT,
        Some(limit) => limit
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or(NotifyError::InvalidParameter("limit must be 1 to 100"))?,
    };
    let db = &state.sessions.db;
    // Newest first, in a total order (time, checkout, sequence); the cursor is the last
    // event's position in it, so a page never repeats or skips one written meanwhile.
    let after: Option<(i64, String, i64)> = match &query.cursor {
        None => None,
        Some(cursor) => Some(
            crate::ids::cursor_parts(cursor, 3)
                .and_then(|(created_at, checkout_id, seq)| Some((created_at, checkout_id, seq?)))
                .ok_or(NotifyError::InvalidParameter(
                    "cursor must be a created_at.checkout_id.sequence position, as next_cursor is",
                ))?,
        ),
    };
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if query.checkout_id.is_some() {
        sql += &format!(" AND checkout_id = {}", next());
    }
    if query.kind.is_some() {
        sql += &format!(" AND type = {}", next());
    }
    if after.is_some() {
        let (a, b, c, d, e) = (next(), next(), next(), next(), next());
        sql += &format!(
            " AND (created_at < {a} OR (created_at = {b} AND (checkout_id < {c} \
             OR (checkout_id = {d} AND seq < {e}))))"
        );
    }
    sql += &format!(
        " ORDER BY created_at DESC, checkout_id DESC, seq DESC LIMIT {}",
        next()
    );
    let mut select = sqlx::query_as::<_, EventRow>(&sql);
    if let Some(checkout_id) = &query.checkout_id {
        select = select.bind(checkout_id);
    }
    if let Some(kind) = &query.kind {
        select = select.bind(kind);
    }
    if let Some((created_at, checkout_id, seq)) = &after {
        select = select
            .bind(*created_at)
            .bind(*created_at)
            .bind(checkout_id)
            .bind(checkout_id)
            .bind(*seq);
    }
    // One more than asked: whether there is a next page.
    let mut rows = select.bind(limit + 1).fetch_all(&db.pool).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = more
        .then(|| {
            rows.last().map(|(_, _, created_at, seq, checkout_id, _)| {
                format!("{created_at}.{checkout_id}.{seq}")
            })
        })
        .flatten();
    let data = with_deliveries(&state, rows).await?;
    Ok(Json(EventList { data, next_cursor }))
}

/// One event, with its deliveries and their attempts.
#[utoipa::path(
    get,
    path = "/v1/events/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    responses(
        (status = 200, body = Event),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn get_event(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Event>, NotifyError> {
    load_event(&state, &id).await.map(Json)
}

/// Sends an event again, now, to every endpoint that wants its type — whether its earlier
/// delivery succeeded, failed for good, or is still being retried — with the same
/// `webhook-id`. Its deliveries start a new round of retries.
#[utoipa::path(
    post,
    path = "/v1/events/{id}/redeliver",
    tag = "notifications",
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    responses(
        (status = 202, description = "Redelivery scheduled: the event, its deliveries pending", body = Event),
        (status = 404, description = "EVENT_NOT_FOUND", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 409, description = "IDEMPOTENCY_KEY_IN_PROGRESS: a request with this Idempotency-Key is still running", body = ApiError),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used for another request", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn redeliver(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Event>), NotifyError> {
    let db = &state.sessions.db;
    let mut tx = db.begin().await?;
    let kind: Option<(String,)> = sqlx::query_as("SELECT type FROM events WHERE id = $1")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some((kind,)) = kind else {
        return Err(NotifyError::EventNotFound);
    };
    let endpoints: Vec<(String, String)> =
        sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE deleted_at IS NULL")
            .fetch_all(&mut *tx)
            .await?;
    let due = now_ms();
    for (endpoint_id, events) in endpoints {
        let events: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        if !wants(&events, &kind) {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_deliveries
                 (id, event_id, endpoint_id, status, failures, next_attempt_at, created_at)
             VALUES ($1, $2, $3, 'pending', 0, $4, $5)
             ON CONFLICT (event_id, endpoint_id) DO UPDATE
             SET status = 'pending', failures = 0, next_attempt_at = $6, claimed_by = NULL,
                 claimed_until = NULL",
        )
        .bind(random_token("wd_", 12))
        .bind(&id)
        .bind(&endpoint_id)
        .bind(due)
        .bind(now())
        .bind(due)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE events SET dispatched_at = $1 WHERE id = $2 AND dispatched_at IS NULL")
        .bind(now())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    state.outbox.wake();
    let event = load_event(&state, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(event)))
}

async fn load_event(state: &AppState, id: &str) -> Result<Event, NotifyError> {
    let row: Option<EventRow> =
        sqlx::query_as(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1"))
            .bind(id)
            .fetch_optional(&state.sessions.db.pool)
            .await?;
    let row = row.ok_or(NotifyError::EventNotFound)?;
    with_deliveries(state, vec![row])
        .await?
        .pop()
        .ok_or(NotifyError::EventNotFound)
}

/// The events of `rows`, with their deliveries and attempts (two queries for the page).
async fn with_deliveries(state: &AppState, rows: Vec<EventRow>) -> Result<Vec<Event>, NotifyError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let db = &state.sessions.db;
    let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
    let placeholders = placeholders.join(", ");
    let delivery_sql = format!(
        "SELECT d.id, d.event_id, d.endpoint_id, w.url, d.status, d.next_attempt_at
         FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
         WHERE d.event_id IN ({placeholders}) ORDER BY d.created_at, d.id"
    );
    let mut deliveries_query =
        sqlx::query_as::<_, (String, String, String, String, String, i64)>(&delivery_sql);
    for row in &rows {
        deliveries_query = deliveries_query.bind(&row.0);
    }
    let deliveries = deliveries_query.fetch_all(&db.pool).await?;
    let attempt_sql = format!(
        "SELECT a.delivery_id, a.attempted_at, a.status_code, a.error, a.latency_ms
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
         WHERE d.event_id IN ({placeholders}) ORDER BY a.attempted_at, a.id"
    );
    let mut attempts_query =
        sqlx::query_as::<_, (String, i64, Option<i64>, Option<String>, i64)>(&attempt_sql);
    for row in &rows {
        attempts_query = attempts_query.bind(&row.0);
    }
    let mut attempts: HashMap<String, Vec<Attempt>> = HashMap::new();
    for (delivery_id, attempted_at, status_code, error, latency_ms) in
        attempts_query.fetch_all(&db.pool).await?
    {
        attempts.entry(delivery_id).or_default().push(Attempt {
            attempted_at: rfc3339_ms(attempted_at),
            status_code: status_code.and_then(|c| u16::try_from(c).ok()),
            error,
            latency_ms,
        });
    }
    let mut by_event: HashMap<String, Vec<Delivery>> = HashMap::new();
    for (id, event_id, endpoint_id, url, status, next_attempt_at) in deliveries {
        let attempts = attempts.remove(&id).unwrap_or_default();
        by_event.entry(event_id).or_default().push(Delivery {
            next_attempt_at: (status == "pending").then(|| rfc3339_ms(next_attempt_at)),
            id,
            endpoint_id,
            url,
            status,
            attempts,
        });
    }
    Ok(rows
        .into_iter()
        .map(|(id, kind, created_at, seq, checkout_id, data)| Event {
            deliveries: by_event.remove(&id).unwrap_or_default(),
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            id,
            kind,
            created_at: rfc3339(created_at),
            sequence: seq,
            checkout_id,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_types_are_exactly_those_accepted() {
        let schema =
            serde_json::to_value(<EventType as utoipa::PartialSchema>::schema()).expect("a schema");
        let documented = schema["enum"].as_array().expect("an enum");
        assert_eq!(documented.len(), EVENT_TYPES.len() + 1);
        for kind in documented {
            let kind = kind.as_str().expect("a string");
            assert!(
                check_events(&[EventType(kind.to_owned())]).is_ok(),
                "{kind}"
            );
        }
        assert!(check_events(&[EventType("checkout.refunded".to_owned())]).is_err());
        assert!(check_events(&[]).is_err());
        assert!(
            check_events(&[
                EventType("*".to_owned()),
                EventType("checkout.paid".to_owned())
            ])
            .is_err()
        );
    }

    #[test]
    fn only_absolute_http_urls_are_endpoints() {
        assert!(check_url("https://shop.example/hooks").is_ok());
        assert!(check_url("http://127.0.0.1:3000/hooks").is_ok());
        for bad in [
            "ftp://shop.example",
            "shop.example/hooks",
            "https://",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://shop.example/{}", "a".repeat(2048))).is_err());
    }
}
