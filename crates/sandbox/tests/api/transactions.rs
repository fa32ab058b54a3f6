//! `GET /api/v1/transactions`: newest first, paging, date filters and their validation; and
//! `GET /api/v1/balance`.

use axum::http::StatusCode;
use mobilepay_wire::api::TransactionKind;

use crate::helpers::*;

/// Makes `n` local transfers of 100, 200, … FCFA, in that order.
async fn transfers(app: &TestApp, n: u64) {
    for i in 1..=n {
        let response = app.local(CI_PHONE, 100 * i).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

/// The sandbox's clock, now.
async fn sandbox_now(app: &TestApp) -> time::OffsetDateTime {
    let clock: serde_json::Value = app
        .get("/sandbox/v1/clock")
        .await
        .json()
        .await
        .expect("the clock");
    parse_time(clock["now"].as_str().expect("now"))
}

#[tokio::test]
async fn a_new_account_lists_only_its_opening_balance() {
    let app = spawn_app().await;

    let page = app.transactions(&[]).await;

    assert_eq!(page.total, 1);
    assert_eq!(page.limit, 20, "the default limit");
    assert_eq!(page.offset, 0);
    let funding = &page.transactions[0];
    assert_eq!(funding.kind, TransactionKind::Funding);
    assert_eq!(funding.status, "completed");
    assert_eq!(funding.amount, OPENING_BALANCE);
    assert_eq!(funding.currency, "FCFA");
}

#[tokio::test]
async fn transactions_are_listed_newest_first_with_the_total_count() {
    let app = spawn_app().await;
    transfers(&app, 3).await;

    let page = app.transactions(&[]).await;

    assert_eq!(page.total, 4);
    let amounts: Vec<i64> = page.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(amounts, [-300, -200, -100, OPENING_BALANCE]);
    let times: Vec<_> = page
        .transactions
        .iter()
        .map(|t| parse_time(&t.created_at))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[tokio::test]
async fn limit_and_offset_page_through_the_history() {
    let app = spawn_app().await;
    transfers(&app, 5).await;

    let page = app.transactions(&[("limit", "2"), ("offset", "1")]).await;

    assert_eq!(page.total, 6, "the total counts every page");
    assert_eq!(page.limit, 2);
    assert_eq!(page.offset, 1);
    let amounts: Vec<i64> = page.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(amounts, [-400, -300]);
    let past_the_end = app.transactions(&[("offset", "6")]).await;
    assert!(past_the_end.transactions.is_empty());
    assert_eq!(past_the_end.total, 6);
    let most = app.transactions(&[("limit", "100")]).await;
    assert_eq!(most.transactions.len(), 6);
}

#[tokio::test]
async fn dates_filter_the_history_by_day_or_to_the_second() {
    let app = spawn_app().await;
    transfers(&app, 1).await;
    let first_day = parse_time(&app.history().await[0].created_at).date();
    app.advance_clock(3 * 86_400).await;
    transfers(&app, 2).await;
    let later = sandbox_now(&app).await;
    let next_day = first_day.next_day().expect("a next day").to_string();
    let first_day = first_day.to_string();

    let from_next_day = app.transactions(&[("start_date", &next_day)]).await;
    let amounts: Vec<i64> = from_next_day
        .transactions
        .iter()
        .map(|t| t.amount)
        .collect();
    assert_eq!(amounts, [-200, -100]);
    assert_eq!(from_next_day.total, 2);

    let on_first_day = app
        .transactions(&[("start_date", &first_day), ("end_date", &first_day)])
        .await;
    let amounts: Vec<i64> = on_first_day.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(amounts, [-100, OPENING_BALANCE]);

    let an_hour_before = (later - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let since = app.transactions(&[("start_date", &an_hour_before)]).await;
    assert_eq!(since.total, 2);
    let until = app.transactions(&[("end_date", &an_hour_before)]).await;
    assert_eq!(until.total, 2, "the opening balance and the first transfer");
    let with_offset = app
        .transactions(&[("start_date", "2020-01-01T00:00:00+00:00")])
        .await;
    assert_eq!(with_offset.total, 4);
}

#[tokio::test]
async fn every_malformed_query_parameter_is_an_invalid_parameter_naming_it() {
    let app = spawn_app().await;

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("start_date=2026-13-01", "start_date"),
        ("start_date=yesterday", "start_date"),
        ("start_date=26-02-2026", "start_date"),
        ("end_date=2026-02-30", "end_date"),
        ("end_date=2026-02-26T25:00:00Z", "end_date"),
        ("limit=+5", "limit"),
        ("offset=+5", "offset"),
    ] {
        let response = app
            .get_as(MERCHANT_KEY, &format!("/api/v1/transactions?{query}"))
            .await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
        assert!(message.contains(field), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_start_after_the_end_is_an_empty_range_not_an_error() {
    let app = spawn_app().await;
    app.local_transfer(&serde_json::json!({"recipient_phone": CI_PHONE, "amount": 100}))
        .await;

    let page = app
        .transactions(&[("start_date", "2026-03-01"), ("end_date", "2026-02-01")])
        .await;

    assert!(page.transactions.is_empty());
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn transactions_and_balance_need_an_api_key() {
    let app = spawn_app().await;

    for path in ["/api/v1/transactions", "/api/v1/balance"] {
        assert_error(
            app.get(path).await,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        )
        .await;
        assert_error(
            app.get_as("sk_test_nobody", path).await,
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
        )
        .await;
    }
}

#[tokio::test]
async fn the_balance_says_when_it_was_read() {
    let app = spawn_app().await;
    app.advance_clock(86_400).await;

    let response = app.get_as(MERCHANT_KEY, "/api/v1/balance").await;

    let balance: mobilepay_wire::api::Balance = response.json().await.expect("a Balance");
    let as_of = parse_time(&balance.as_of);
    assert!(as_of > time::OffsetDateTime::now_utc() + time::Duration::hours(23));
}
