//! The number pool under contention: two owners claiming one number at the same moment, one wins.

use reqwest::StatusCode;
use serde_json::json;

use super::{Api, assert_error};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn two_owners_racing_for_one_pool_number_exactly_one_gets_it(pool: sqlx::PgPool) {
    let api = Api::spawn(pool.clone()).await;
    let admin = api.platform_admin().await;
    for round in 0..5 {
        let a = api
            .register(&format!("a{round}@a.test"), &format!("Alpha {round}"))
            .await;
        let b = api
            .register(&format!("b{round}@b.test"), &format!("Beta {round}"))
            .await;
        let number = format!("+1415555020{round}");
        api.pool_number(&admin, &number, &format!("pn-{round}"))
            .await;
        let body = json!({"number": number});
        let (path_a, path_b) = (
            format!("/api/v1/businesses/{}/phone-number", a.slug),
            format!("/api/v1/businesses/{}/phone-number", b.slug),
        );
        let (first, second) = tokio::join!(
            api.post(&path_a, Some(&a.token), body.clone()),
            api.post(&path_b, Some(&b.token), body.clone()),
        );
        let winners = [&first, &second]
            .iter()
            .filter(|(s, _)| *s == StatusCode::OK)
            .count();
        assert_eq!(winners, 1, "round {round}: {first:?} {second:?}");
        let loser = if first.0 == StatusCode::OK {
            &second
        } else {
            &first
        };
        assert_error(loser, StatusCode::CONFLICT, "number_unavailable");
        let assigned: i64 = sqlx::query_scalar(
            "select count(*) from events where stream_id = $1 and event_type = 'NumberAssigned'",
        )
        .bind(format!("number-{number}"))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(assigned, 1);
        let claims: i64 =
            sqlx::query_scalar("select count(*) from number_claims where number = $1")
                .bind(&number)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(claims, 1);
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_business_holds_one_number_and_a_released_number_can_be_claimed_by_another(
    pool: sqlx::PgPool,
) {
    let api = Api::spawn(pool).await;
    let admin = api.platform_admin().await;
    let a = api.register("a@a.test", "Alpha").await;
    let b = api.register("b@b.test", "Beta").await;
    api.pool_number(&admin, "+14155550301", "pn-1").await;
    api.pool_number(&admin, "+14155550302", "pn-2").await;
    let a_number = format!("/api/v1/businesses/{}/phone-number", a.slug);
    let (status, _) = api
        .post(&a_number, Some(&a.token), json!({"number": "+14155550301"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &api.post(&a_number, Some(&a.token), json!({"number": "+14155550302"}))
            .await,
        StatusCode::CONFLICT,
        "business_has_number",
    );
    let (status, _) = api.delete(&a_number, &a.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api
        .post(
            &format!("/api/v1/businesses/{}/phone-number", b.slug),
            Some(&b.token),
            json!({"number": "+14155550301"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        api.event_types("number-+14155550301").await,
        [
            "NumberAddedToPool",
            "NumberAssigned",
            "NumberReleased",
            "NumberAssigned"
        ]
    );
    api.app.wait_for_projections().await;
    let (_, number) = api
        .get(
            &format!("/api/v1/businesses/{}/phone-number", b.slug),
            &b.token,
        )
        .await;
    assert_eq!(number["number"], "+14155550301");
    let (status, _) = api.get(&a_number, &a.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The webhook's directory takes who holds a number from the claims themselves, not from the catalog read
/// model: a reload while the catalog still lags behind a claim keeps the claim routable, and one while it
/// lags behind a release no longer routes the number. The lag is simulated by setting the catalog row
/// back, so the test does not depend on timing.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_directory_follows_claims_and_releases_before_the_catalog_has_them(pool: sqlx::PgPool) {
    let api = Api::spawn(pool.clone()).await;
    let admin = api.platform_admin().await;
    let owner = api.register("dir@a.test", "Directory Salon").await;
    let number = "+14155550301";
    api.pool_number(&admin, number, "pn-dir").await;
    let path = format!("/api/v1/businesses/{}/phone-number", owner.slug);
    let (status, body) = api
        .post(&path, Some(&owner.token), json!({"number": number}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.app.wait_for_projections().await;
    let catalog_says = |status: &'static str, tenant: Option<uuid::Uuid>| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "update catalog_phone_numbers set status = $2, tenant_id = $3 where number = $1",
            )
            .bind(number)
            .bind(status)
            .bind(tenant)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    let directory = api::tenancy::directory::NumberDirectory::default();

    catalog_says("available", None).await;
    directory.reload(&pool).await.unwrap();
    let routed = directory.get("pn-dir").map(|b| b.business_id);
    assert_eq!(
        routed,
        Some(owner.business_id),
        "a claim the catalog has not applied"
    );
    assert_eq!(
        directory.get(number).map(|b| b.business_id),
        Some(owner.business_id)
    );

    let (status, body) = api.delete(&path, &owner.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    api.app.wait_for_projections().await;
    catalog_says("assigned", Some(owner.business_id)).await;
    directory.reload(&pool).await.unwrap();
    assert!(
        directory.get("pn-dir").is_none() && directory.get(number).is_none(),
        "a released number still routes"
    );
}
