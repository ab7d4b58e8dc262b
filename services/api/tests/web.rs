//! The dashboard in a real headless Chromium (issue 8): the embedded web app served at `/`, driven as a
//! person would drive it, against the real API, relay, projectors and live feed. Every test saves
//! screenshots of the pages it visits to `target/screenshots/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

#[path = "web/browser.rs"]
mod browser;
#[path = "web/world.rs"]
mod world;

use std::time::{Duration, Instant};

use browser::Browser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use world::{NUMBER, PASSWORD, World, booking_date};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_new_owner_signs_up_and_onboarding_ends_with_the_line_live_and_its_number(pool: PgPool) {
    let world = World::new(pool).await;
    let b = Browser::launch(world.app.url(""), "onboarding").await;

    // The platform admin's pool holds the number the owner will pick.
    b.log_in("ops@va.test", "operator password").await;
    b.open("/admin/numbers").await;
    b.wait_text("main", NUMBER).await;
    b.find("#pool-add").await;
    b.screenshot("0-admin-number-pool").await;
    b.eval("localStorage.clear()").await;

    b.open("/signup").await;
    b.fill("#signup-form input[name=email]", "nora@barber.test")
        .await;
    b.fill("#signup-form input[name=password]", PASSWORD).await;
    b.fill("#signup-form input[name=name]", "Nora's Barbers")
        .await;
    b.select("#signup-form select[name=timezone]", "America/Los_Angeles")
        .await;
    b.screenshot("1-signup").await;
    b.submit("#signup-form").await;

    b.find("#onboarding-business").await;
    b.screenshot("2-business").await;
    b.submit("#onboarding-business").await;

    b.fill("#number-search input[name=area_code]", "415").await;
    b.submit("#number-search").await;
    b.wait_text("#number-claim", NUMBER).await;
    b.screenshot("3-number").await;
    b.submit("#number-claim").await;

    b.fill(
        "#onboarding-agent input[name=greeting]",
        "Nora's Barbers, how can I help?",
    )
    .await;
    b.screenshot("4-agent").await;
    b.submit("#onboarding-agent").await;

    b.fill("#onboarding-hours input[name=service_name]", "Beard trim")
        .await;
    b.screenshot("5-hours").await;
    b.submit("#onboarding-hours").await;

    b.wait_text("h1", "Your line is live").await;
    let shown = b.wait_text("main", NUMBER).await;
    assert!(shown.contains("Your line is live"), "{shown}");
    b.screenshot("6-live").await;

    // The API agrees: the business is live on the number it chose.
    let token = world.token("nora@barber.test", PASSWORD).await;
    let (_, me) = world
        .call(&token, "GET", "/api/v1/auth/me", Value::Null)
        .await;
    let slug = me["businesses"][0]["slug"].as_str().unwrap().to_owned();
    let (_, business) = world
        .call(
            &token,
            "GET",
            &format!("/api/v1/businesses/{slug}"),
            Value::Null,
        )
        .await;
    assert_eq!(business["live"], true, "{business}");
    assert_eq!(business["phone_number"], NUMBER);
    assert_eq!(business["timezone"], "America/Los_Angeles");

    // The dashboard at phone width.
    b.set_width(375).await;
    b.open(&format!("/b/{slug}")).await;
    b.find("#dashboard .figures").await;
    b.wait_text("main", "America/Los_Angeles").await;
    b.screenshot("7-dashboard-375px").await;
    b.close().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_booking_made_by_phone_appears_on_the_open_calendar_within_a_second_then_moves_and_disappears(
    pool: PgPool,
) {
    let world = World::with_business(pool, "ana@salon.test", "Salon Ana").await;
    let slug = world.slug.clone();
    let b = Browser::launch(world.app.url(""), "calendar").await;
    b.log_in("ana@salon.test", PASSWORD).await;
    b.open(&format!("/b/{slug}/calendar?date={}", booking_date()))
        .await;
    b.find(".live-status[data-live=on]").await;
    b.wait_text("#calendar", "Nothing booked").await;
    b.screenshot("1-empty").await;

    let appointment = world.booking_call("call-web-cal", "Ana Caller").await;
    let booked_at = Instant::now();
    let selector = format!(".appt[data-id='{appointment}']");
    while b.count(&selector).await == 0 {
        assert!(
            booked_at.elapsed() < Duration::from_secs(1),
            "the booking was not on the calendar a second after the webhook answered"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    b.screenshot("2-booked-live").await;
    // The re-read shortly after fills in the client's name.
    b.wait_text(&selector, "Ana Caller").await;

    // Moved by someone else (the API): the entry moves without a reload.
    let before = b.text(&format!("{selector} .when")).await;
    let (s, moved) = world
        .owner(
            "POST",
            &format!("/api/v1/appointments/{appointment}/reschedule"),
            json!({"start": format!("{}T15:00:00", booking_date())}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    b.wait_text(&format!("{selector} .when"), "15:00–15:30")
        .await;
    assert_ne!(before, b.text(&format!("{selector} .when")).await);
    b.screenshot("3-moved-live").await;

    // Cancelled: it disappears.
    let (s, body) = world
        .owner(
            "POST",
            &format!("/api/v1/appointments/{appointment}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let deadline = Instant::now() + browser::WAIT;
    while b.count(&selector).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the cancelled appointment stayed on the calendar"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.screenshot("4-cancelled-live").await;
    b.close().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_calls_page_shows_its_transcript_tool_call_timeline_booking_and_cost(pool: PgPool) {
    let world = World::with_business(pool, "ana@salon.test", "Salon Ana").await;
    let slug = world.slug.clone();
    world.booking_call("call-web-log", "Ana Caller").await;
    world.end_call("call-web-log").await;
    world.app.wait_for_projections().await;

    let b = Browser::launch(world.app.url(""), "calls").await;
    b.log_in("ana@salon.test", PASSWORD).await;
    b.open(&format!("/b/{slug}/calls")).await;
    b.find(".call-row[data-id='call-web-log']").await;
    b.screenshot("1-list").await;
    b.find(".call-row[data-id='call-web-log'] a")
        .await
        .click()
        .await
        .unwrap();

    b.wait_text("#transcript", "a haircut on Friday please")
        .await;
    let tools = b.wait_text("#tools", "book_appointment").await;
    let order: Vec<usize> = [
        "get_business_services",
        "check_service_availability",
        "book_appointment",
    ]
    .iter()
    .map(|t| {
        tools
            .find(t)
            .unwrap_or_else(|| panic!("{t} missing from {tools}"))
    })
    .collect();
    assert!(order.is_sorted(), "tool calls out of order: {tools}");
    b.wait_text("#booked", "Haircut").await;
    b.wait_text("#booked", "Ana Caller").await;
    b.wait_text("main", "$0.1234").await;
    b.wait_text("main", "Caller booked a haircut.").await;
    b.wait_text("main", "Europe/Madrid").await;
    b.screenshot("2-detail").await;
    b.set_width(375).await;
    b.screenshot("3-detail-375px").await;

    // The month's usage and invoice (the call's minutes and the booking are on it).
    b.set_width(1280).await;
    b.open(&format!("/b/{slug}/billing")).await;
    b.wait_text("#usage", "Voice minutes").await;
    b.find("#invoice-csv").await;
    b.screenshot("4-usage-invoice").await;
    b.close().await;
}

/// Controls that change something: every one carries `data-edit`, plus any form field inside the page.
const EDIT_CONTROLS: &str =
    "main [data-edit], main input:not([type=date]):not([type=month]), main textarea";

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_viewer_sees_the_business_but_no_edit_controls(pool: PgPool) {
    let world = World::with_business(pool, "ana@salon.test", "Salon Ana").await;
    let slug = world.slug.clone();
    world.register("vic@salon.test", None).await;
    let (s, body) = world
        .owner(
            "POST",
            &format!("/api/v1/businesses/{slug}/members"),
            json!({"email": "vic@salon.test", "role": "viewer"}),
        )
        .await;
    assert!(s.is_success(), "{body}");
    world.booking_call("call-web-view", "Ana Caller").await;
    world.app.wait_for_projections().await;
    let calendar = format!("/b/{slug}/calendar?date={}", booking_date());
    let settings = format!("/b/{slug}/settings");

    // The owner, on the same pages, has the controls (so this test can fail).
    let b = Browser::launch(world.app.url(""), "viewer").await;
    b.log_in("ana@salon.test", PASSWORD).await;
    b.open(&settings).await;
    b.find("#services-add, #service-add").await;
    assert!(b.count(EDIT_CONTROLS).await > 0);
    b.screenshot("1-owner-settings").await;
    b.open(&calendar).await;
    b.find(".appt [data-edit]").await;
    b.eval("localStorage.clear()").await;

    b.log_in("vic@salon.test", PASSWORD).await;
    b.open(&settings).await;
    b.wait_text("#services", "Haircut").await;
    b.wait_text("main", "your role: viewer").await;
    b.find("#hours table").await;
    assert_eq!(
        b.count(EDIT_CONTROLS).await,
        0,
        "a viewer sees edit controls in settings"
    );
    b.screenshot("2-viewer-settings").await;
    b.open(&calendar).await;
    b.wait_text("#calendar", "Ana Caller").await;
    assert_eq!(
        b.count("main [data-edit]").await,
        0,
        "a viewer sees edit controls on the calendar"
    );
    b.screenshot("3-viewer-calendar").await;
    b.open(&format!("/b/{slug}")).await;
    b.find("#dashboard .figures").await;
    assert_eq!(b.count("main [data-edit]").await, 0);
    assert_eq!(
        b.count("#nav a[href$='/billing']").await,
        0,
        "viewers do not see billing"
    );
    b.screenshot("4-viewer-dashboard").await;
    b.close().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_tenants_pages_show_not_found(pool: PgPool) {
    let world = World::with_business(pool, "ana@salon.test", "Salon Ana").await;
    let theirs = world.slug.clone();
    world.booking_call("call-web-other", "Ana Caller").await;
    world.end_call("call-web-other").await;
    let (_, mine) = world.register("bo@clinic.test", Some("Bo Clinic")).await;
    world.app.wait_for_projections().await;

    let b = Browser::launch(world.app.url(""), "tenancy").await;
    b.log_in("bo@clinic.test", PASSWORD).await;
    // Their own business opens (so "not found" below is about the other tenant, not a broken page).
    b.open(&format!("/b/{mine}/calls")).await;
    b.wait_text("h1", "Calls").await;
    for (i, route) in [
        format!("/b/{theirs}"),
        format!("/b/{theirs}/calendar"),
        format!("/b/{theirs}/calls/call-web-other"),
        format!("/b/{theirs}/settings"),
        format!("/b/{theirs}/billing"),
        format!("/b/{mine}/calls/call-web-other"),
    ]
    .iter()
    .enumerate()
    {
        b.open(route).await;
        b.wait_text("h1", "Not found").await;
        let text = b.text("main").await;
        assert!(
            !text.contains("Salon Ana") && !text.contains("Ana Caller"),
            "{route} leaks: {text}"
        );
        b.screenshot(&format!("{}-not-found", i + 1)).await;
    }

    // A platform auditor reads every tenant's call history, read-only.
    api::tenancy::admin::create_platform_user(
        &world.app.store,
        "audit@va.test",
        "auditor password",
        events::catalog::PlatformRole::Auditor,
    )
    .await
    .unwrap();
    b.eval("localStorage.clear()").await;
    b.log_in("audit@va.test", "auditor password").await;
    b.open("/audit").await;
    b.wait_text("main", "call-web-other").await;
    assert_eq!(b.count("main [data-edit]").await, 0);
    b.screenshot("7-auditor-call-history").await;
    b.close().await;
}
