//! `/audit/calls` and `/audit/streams/{id}`: every event with its hashes, straight from the event store;
//! who may read which tenant's trail.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use super::{World, assert_error};
use events::catalog::PlatformRole;

/// The calls of a `/audit/calls` answer, by id.
fn call_ids(body: &Value) -> Vec<&str> {
    body["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no calls: {body}"))
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect()
}

/// Every event carries its envelope and its hashes, and each links to the one before it.
fn assert_chained(events: &[Value], stream: &str) {
    assert!(!events.is_empty(), "{stream}: no events");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["stream_id"], stream);
        assert_eq!(e["version"], i + 1, "{e}");
        assert!(e["global_position"].as_i64().unwrap() > 0, "{e}");
        assert!(e["type"].as_str().is_some_and(|t| !t.is_empty()), "{e}");
        assert!(e["recorded_at"].is_string(), "{e}");
        assert!(e["correlation_id"].is_string(), "{e}");
        assert!(e.get("causation_id").is_some(), "{e}");
        assert_eq!(e["actor"]["kind"], "vapi", "{e}");
        assert!(e["data"].is_object(), "{e}");
        let hash = e["hash"].as_str().unwrap();
        assert_eq!(hash.len(), 64, "{e}");
        let expected_prev = if i == 0 {
            "0".repeat(64)
        } else {
            events[i - 1]["hash"].as_str().unwrap().to_owned()
        };
        assert_eq!(
            e["prev_hash"],
            expected_prev.as_str(),
            "{stream} v{}",
            i + 1
        );
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_auditor_lists_every_businesss_calls_with_every_event_and_its_hashes(pool: PgPool) {
    let w = World::new(pool).await;
    let (s, body) = w.get(&w.auditor, "/api/v1/audit/calls").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        call_ids(&body),
        [w.a.call_id.as_str(), w.b.call_id.as_str()]
    );
    assert_eq!(body["next_cursor"], Value::Null);
    for (call, shop) in body["calls"].as_array().unwrap().iter().zip([&w.a, &w.b]) {
        assert_eq!(call["business"]["id"], shop.business_id.as_str());
        assert_eq!(call["business"]["slug"], shop.slug.as_str());
        let stream = format!("call-{}", shop.call_id);
        let events = call["call_events"].as_array().unwrap();
        assert_chained(events, &stream);
        // Every event of the stream, as the table holds them.
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, w.event_ids(&stream).await);
        assert_eq!(events[0]["type"], "CallStarted", "{}", events[0]);
        let usage = call["usage_events"].as_array().unwrap();
        assert_chained(usage, &format!("usage-{}", shop.call_id));
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0]["data"]["kind"], "voice_seconds");
        assert_eq!(usage[0]["tenant_id"], shop.business_id.as_str());
    }

    // One business, by slug.
    let (s, only_b) = w
        .get(
            &w.auditor,
            &format!("/api/v1/audit/calls?business={}", w.b.slug),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{only_b}");
    assert_eq!(call_ids(&only_b), [w.b.call_id.as_str()]);
    let (s, _) = w
        .get(&w.auditor, "/api/v1/audit/calls?business=no-such-shop")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Pages of one call, chained by the cursor.
    let (_, first) = w.get(&w.auditor, "/api/v1/audit/calls?limit=1").await;
    assert_eq!(call_ids(&first), [w.a.call_id.as_str()]);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = w
        .get(
            &w.auditor,
            &format!("/api/v1/audit/calls?limit=1&cursor={cursor}"),
        )
        .await;
    assert_eq!(call_ids(&second), [w.b.call_id.as_str()]);
    assert_eq!(second["next_cursor"], Value::Null, "{second}");
    let (s, bad) = w
        .get(&w.auditor, "/api/v1/audit/calls?cursor=nonsense")
        .await;
    assert_error(
        &(s, bad),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_cursor",
        "cursor",
    );

    // The window: [from, to) on when each call's stream began; a date covers its whole (UTC) day.
    let calls = body["calls"].as_array().unwrap();
    let started_b = calls[1]["first_recorded_at"].as_str().unwrap();
    let encoded = started_b.replace('+', "%2B");
    let (_, from_b) = w
        .get(&w.auditor, &format!("/api/v1/audit/calls?from={encoded}"))
        .await;
    assert_eq!(call_ids(&from_b), [w.b.call_id.as_str()]);
    let (_, before_b) = w
        .get(&w.auditor, &format!("/api/v1/audit/calls?to={encoded}"))
        .await;
    assert_eq!(call_ids(&before_b), [w.a.call_id.as_str()]);
    let day_a = &calls[0]["first_recorded_at"].as_str().unwrap()[..10];
    let day_b = &started_b[..10];
    let (_, days) = w
        .get(
            &w.auditor,
            &format!("/api/v1/audit/calls?from={day_a}&to={day_b}"),
        )
        .await;
    assert_eq!(
        call_ids(&days),
        [w.a.call_id.as_str(), w.b.call_id.as_str()]
    );
    let (_, later) = w
        .get(&w.auditor, "/api/v1/audit/calls?from=2999-01-01")
        .await;
    assert_eq!(call_ids(&later), Vec::<&str>::new());
    let (s, bad) = w
        .get(&w.auditor, "/api/v1/audit/calls?from=last-tuesday")
        .await;
    assert_error(
        &(s, bad),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_range",
        "from",
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_auditor_reads_any_stream_and_a_tampered_chain_fails_verification(pool: PgPool) {
    let w = World::new(pool).await;
    let stream = format!("call-{}", w.b.call_id);
    let (s, body) = w
        .get(&w.auditor, &format!("/api/v1/audit/streams/{stream}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let events = body["events"].as_array().unwrap();
    assert_chained(events, &stream);
    assert_eq!(body["version"], events.len());
    assert_eq!(body["tenant_id"], w.b.business_id.as_str());
    assert_eq!(body["next_after_version"], Value::Null);
    assert_eq!(body["chain"]["verified"], true, "{body}");
    assert_eq!(body["chain"]["events"], events.len());

    // Streams of no tenant (users) are readable by auditors; pages follow `next_after_version`.
    let user_stream = format!("user-{}", w.a.user_id);
    let (s, user) = w
        .get(
            &w.auditor,
            &format!("/api/v1/audit/streams/{user_stream}?limit=1"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{user}");
    assert_eq!(user["events"][0]["type"], "UserRegistered");
    let (s, _) = w
        .get(&w.auditor, "/api/v1/audit/streams/call-never-made")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Edit a stored event behind the triggers' back (as the store's tamper test does): the chain breaks.
    let mut conn = w.app.store.pool().acquire().await.unwrap();
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "update events set data = jsonb_set(data, '{caller}', '\"+15550000000\"') \
         where stream_id = $1 and stream_version = 1",
    )
    .bind(&stream)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("set session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let (_, body) = w
        .get(&w.auditor, &format!("/api/v1/audit/streams/{stream}"))
        .await;
    assert_eq!(body["chain"]["verified"], false, "{body}");
    assert_eq!(body["chain"]["broken"][0]["stream_version"], 1, "{body}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_owner_reads_only_their_own_businesss_trail(pool: PgPool) {
    let w = World::new(pool).await;
    let a = &w.a;
    let (s, own) = w
        .get(
            &a.token,
            &format!("/api/v1/audit/calls?business={}", a.slug),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert_eq!(call_ids(&own), [a.call_id.as_str()]);
    assert!(
        !own["calls"][0]["call_events"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let (s, own_stream) = w
        .get(
            &a.token,
            &format!("/api/v1/audit/streams/call-{}", a.call_id),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{own_stream}");
    assert_eq!(own_stream["chain"]["verified"], true);
    let (s, _) = w
        .get(
            &a.token,
            &format!("/api/v1/audit/streams/business-{}", a.business_id),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Another tenant's business and streams are 404, as everywhere; so are platform streams.
    for path in [
        format!("/api/v1/audit/calls?business={}", w.b.slug),
        format!("/api/v1/audit/streams/call-{}", w.b.call_id),
        format!("/api/v1/audit/streams/usage-{}", w.b.call_id),
        format!("/api/v1/audit/streams/business-{}", w.b.business_id),
        format!("/api/v1/audit/streams/user-{}", w.a.user_id),
    ] {
        assert_error(
            &w.get(&a.token, &path).await,
            StatusCode::NOT_FOUND,
            "not_found",
            &path,
        );
    }
    // Every business at once is for auditors only.
    assert_error(
        &w.get(&a.token, "/api/v1/audit/calls").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "all calls",
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn users_who_are_neither_auditors_nor_owners_get_403_from_the_audit_api(pool: PgPool) {
    let w = World::new(pool).await;
    let finance = w
        .platform_user("money@va.test", PlatformRole::Finance)
        .await;
    // A viewer of business A: a member, but not an owner or admin.
    let (s, reg) = w
        .call(
            "",
            reqwest::Method::POST,
            "/api/v1/auth/register",
            Some(serde_json::json!({"email": "vic@viewer.test", "password": super::PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reg}");
    w.ok(
        &w.a.token,
        reqwest::Method::POST,
        &format!("/api/v1/businesses/{}/members", w.a.slug),
        serde_json::json!({"email": "vic@viewer.test", "role": "viewer"}),
    )
    .await;
    w.app.wait_for_projections().await;
    let viewer = w.login("vic@viewer.test", super::PASSWORD).await;
    let (s, _) = w
        .get(&viewer, &format!("/api/v1/businesses/{}", w.a.slug))
        .await;
    assert_eq!(s, StatusCode::OK, "the viewer is a member");

    for (who, token) in [
        ("platform admin", &w.admin),
        ("finance", &finance),
        ("viewer", &viewer),
    ] {
        for path in [
            "/api/v1/audit/calls".to_owned(),
            format!("/api/v1/audit/calls?business={}", w.a.slug),
            format!("/api/v1/audit/streams/call-{}", w.a.call_id),
            format!("/api/v1/audit/streams/business-{}", w.a.business_id),
        ] {
            assert_error(
                &w.get(token, &path).await,
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{who} {path}"),
            );
        }
    }
    let (s, _) = w.get("", "/api/v1/audit/calls").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A platform admin who is also granted the auditor role reads the trail.
    let admin = w.platform_user("ops@va.test", PlatformRole::Auditor).await;
    let (s, body) = w.get(&admin, "/api/v1/audit/calls").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(call_ids(&body).len(), 2);
}
