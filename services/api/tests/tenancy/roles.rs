//! Roles: a viewer cannot change services, staff cannot change hours, only a platform admin adds pool
//! numbers — and a refused request appends nothing.

use reqwest::StatusCode;
use serde_json::json;

use super::{Api, assert_error, office_hours};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn viewers_staff_and_owners_are_held_to_their_roles(pool: sqlx::PgPool) {
    let api = Api::spawn(pool).await;
    let owner = api.register("owner@salon.test", "Salon").await;
    let (viewer, _) = api.register_user("viewer@salon.test").await;
    let (staff, _) = api.register_user("staff@salon.test").await;
    let (manager, _) = api.register_user("manager@salon.test").await;
    let slug = owner.slug.as_str();
    for (email, role) in [
        ("viewer@salon.test", "viewer"),
        ("staff@salon.test", "staff"),
        ("manager@salon.test", "manager"),
    ] {
        let (status, body) = api
            .post(
                &format!("/api/v1/businesses/{slug}/members"),
                Some(&owner.token),
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, svc) = api
        .post(
            &format!("/api/v1/businesses/{slug}/services"),
            Some(&owner.token),
            json!({"name": "Cut", "duration_minutes": 30, "price": "10"}),
        )
        .await;
    let svc_path = format!(
        "/api/v1/businesses/{slug}/services/{}",
        svc["id"].as_str().unwrap()
    );
    api.app.wait_for_projections().await;
    let before = api.event_count().await;

    // A viewer reads but cannot change services.
    let (status, _) = api
        .get(&format!("/api/v1/businesses/{slug}/services"), &viewer)
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_service = json!({"name": "Shave", "duration_minutes": 15, "price": "5"});
    assert_error(
        &api.post(
            &format!("/api/v1/businesses/{slug}/services"),
            Some(&viewer),
            new_service.clone(),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &api.patch(&svc_path, &viewer, json!({"price": "1"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &api.delete(&svc_path, &viewer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Staff cannot change hours (nor the agent, nor members).
    let hours = format!("/api/v1/businesses/{slug}/hours");
    assert_error(
        &api.put(&hours, &staff, office_hours()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &api.put(
            &format!("/api/v1/businesses/{slug}/agent"),
            &staff,
            json!({"name": "X", "greeting": "Y"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &api.post(
            &format!("/api/v1/businesses/{slug}/members"),
            Some(&staff),
            json!({"email": "viewer@salon.test", "role": "owner"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Only a platform admin adds pool numbers; an owner is not one.
    let number = json!({"number": "+14155550199", "provider_phone_number_id": "pn"});
    assert_error(
        &api.post(
            "/api/v1/admin/phone-numbers",
            Some(&owner.token),
            number.clone(),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &api.post("/api/v1/admin/phone-numbers", None, number.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(
        api.event_count().await,
        before,
        "a refused request appended events"
    );

    // The allowed side of each line.
    let (status, _) = api.put(&hours, &manager, office_hours()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .post(
            &format!("/api/v1/businesses/{slug}/services"),
            Some(&manager),
            new_service,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let admin = api.platform_admin().await;
    let (status, _) = api
        .post("/api/v1/admin/phone-numbers", Some(&admin), number)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api
        .post(
            "/api/v1/admin/phone-numbers/+14155550199/suspend",
            Some(&admin),
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        api.event_types("number-+14155550199").await,
        ["NumberAddedToPool", "NumberSuspended"]
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_tenant_over_its_request_budget_is_answered_429_and_others_are_not(pool: sqlx::PgPool) {
    let api = Api::spawn(pool).await;
    let busy = api.register("busy@a.test", "Busy").await;
    let calm = api.register("calm@b.test", "Calm").await;
    api.app.wait_for_projections().await;
    let limited = api::tenancy::RateLimit {
        per_second: 0.001,
        burst: 5.0,
    };
    let _shared = api.app.state.clone().with_tenant_rate_limit(limited);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            api.get(&format!("/api/v1/businesses/{}", busy.slug), &busy.token)
                .await,
        );
    }
    assert!(statuses[..5].iter().all(|(s, _)| *s == StatusCode::OK));
    assert_error(&statuses[7], StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let (status, _) = api
        .get(&format!("/api/v1/businesses/{}", calm.slug), &calm.token)
        .await;
    assert_eq!(status, StatusCode::OK);
}
