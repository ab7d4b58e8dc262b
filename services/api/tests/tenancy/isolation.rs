//! Cross-tenant isolation: with tenant A's token every read and write of tenant B's resources is a 404 and
//! appends nothing; under A's row-level-security context SQL sees none of B's rows.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Api, assert_error, office_hours};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_tenants_resources_answer_404_for_every_read_and_write(pool: sqlx::PgPool) {
    let api = Api::spawn(pool).await;
    let a = api.register("a@a.test", "Alpha").await;
    let b = api.register("b@b.test", "Beta").await;
    let admin = api.platform_admin().await;
    api.pool_number(&admin, "+14155550111", "pn-b").await;
    let (bs, bt) = (b.slug.as_str(), b.token.as_str());
    api.put(
        &format!("/api/v1/businesses/{bs}/hours"),
        bt,
        office_hours(),
    )
    .await;
    let (_, svc) = api
        .post(
            &format!("/api/v1/businesses/{bs}/services"),
            Some(bt),
            json!({"name": "Cut", "duration_minutes": 30, "price": "10"}),
        )
        .await;
    let (_, staff) = api
        .post(
            &format!("/api/v1/businesses/{bs}/staff"),
            Some(bt),
            json!({"name": "Bo", "service_ids": [svc["id"]]}),
        )
        .await;
    api.post(
        &format!("/api/v1/businesses/{bs}/phone-number"),
        Some(bt),
        json!({"number": "+14155550111"}),
    )
    .await;
    api.put(
        &format!("/api/v1/businesses/{bs}/agent"),
        bt,
        json!({"name": "Bo", "greeting": "Hi"}),
    )
    .await;
    api.app.wait_for_projections().await;
    let (svc_id, staff_id) = (svc["id"].as_str().unwrap(), staff["id"].as_str().unwrap());
    let (as_, at) = (a.slug.as_str(), a.token.as_str());
    let before = api.event_count().await;

    let svc_body = json!({"name": "Stolen", "duration_minutes": 30, "price": "1"});
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/businesses/{bs}"), None),
        (
            Method::PATCH,
            format!("/api/v1/businesses/{bs}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::GET, format!("/api/v1/businesses/{bs}/hours"), None),
        (
            Method::PUT,
            format!("/api/v1/businesses/{bs}/hours"),
            Some(office_hours()),
        ),
        (Method::GET, format!("/api/v1/businesses/{bs}/agent"), None),
        (
            Method::PUT,
            format!("/api/v1/businesses/{bs}/agent"),
            Some(json!({"name": "X", "greeting": "Y"})),
        ),
        (
            Method::GET,
            format!("/api/v1/businesses/{bs}/services"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/businesses/{bs}/services"),
            Some(svc_body.clone()),
        ),
        (
            Method::GET,
            format!("/api/v1/businesses/{bs}/services/{svc_id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/businesses/{bs}/services/{svc_id}"),
            Some(json!({"price": "1"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/businesses/{bs}/services/{svc_id}"),
            None,
        ),
        // B's ids through A's own business.
        (
            Method::GET,
            format!("/api/v1/businesses/{as_}/services/{svc_id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/businesses/{as_}/services/{svc_id}"),
            Some(json!({"price": "1"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/businesses/{as_}/services/{svc_id}"),
            None,
        ),
        (Method::GET, format!("/api/v1/businesses/{bs}/staff"), None),
        (
            Method::POST,
            format!("/api/v1/businesses/{bs}/staff"),
            Some(json!({"name": "Spy"})),
        ),
        (
            Method::GET,
            format!("/api/v1/businesses/{bs}/staff/{staff_id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/businesses/{bs}/staff/{staff_id}"),
            Some(json!({"service_ids": []})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/businesses/{bs}/staff/{staff_id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/businesses/{as_}/staff/{staff_id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/businesses/{as_}/staff/{staff_id}"),
            Some(json!({"service_ids": []})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/businesses/{as_}/staff/{staff_id}"),
            None,
        ),
        // A's staff cannot be given B's service either.
        (
            Method::POST,
            format!("/api/v1/businesses/{as_}/staff"),
            Some(json!({"name": "Al", "service_ids": [svc_id]})),
        ),
        (
            Method::GET,
            format!("/api/v1/businesses/{bs}/members"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/businesses/{bs}/members"),
            Some(json!({"email": "a@a.test", "role": "owner"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/businesses/{bs}/members/{}", b.user_id),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/businesses/{bs}/members/{}", b.user_id),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/businesses/{bs}/phone-number"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/businesses/{bs}/phone-number"),
            Some(json!({"number": "+14155550111"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/businesses/{bs}/phone-number"),
            None,
        ),
    ];
    for (method, path, body) in calls {
        let answer = api.call(method.clone(), &path, Some(at), body).await;
        if path.ends_with("/staff") && method == Method::POST && path.contains(as_) {
            // A's own business: the foreign service is simply unknown there.
            assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "unknown_service");
            continue;
        }
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
        assert!(
            !answer.1.to_string().contains("Beta"),
            "{method} {path} leaked {}",
            answer.1
        );
    }
    assert_eq!(
        api.event_count().await,
        before,
        "a refused request appended events"
    );

    // B's view is unchanged.
    let (status, business) = api.get(&format!("/api/v1/businesses/{bs}"), bt).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (business["name"].as_str(), business["live"].as_bool()),
        (Some("Beta"), Some(true))
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn under_tenant_a_row_level_security_hides_every_row_of_tenant_b(pool: sqlx::PgPool) {
    let api = Api::spawn(pool.clone()).await;
    let a = api.register("a@a.test", "Alpha").await;
    let b = api.register("b@b.test", "Beta").await;
    let admin = api.platform_admin().await;
    api.pool_number(&admin, "+14155550111", "pn-b").await;
    for owner in [&a, &b] {
        let (s, t) = (owner.slug.as_str(), owner.token.as_str());
        api.put(&format!("/api/v1/businesses/{s}/hours"), t, office_hours())
            .await;
        let (_, svc) = api
            .post(
                &format!("/api/v1/businesses/{s}/services"),
                Some(t),
                json!({"name": "Cut", "duration_minutes": 30, "price": "10"}),
            )
            .await;
        api.post(
            &format!("/api/v1/businesses/{s}/staff"),
            Some(t),
            json!({"name": "Bo", "service_ids": [svc["id"]]}),
        )
        .await;
        api.put(
            &format!("/api/v1/businesses/{s}/agent"),
            t,
            json!({"name": "Bo", "greeting": "Hi"}),
        )
        .await;
    }
    api.post(
        &format!("/api/v1/businesses/{}/phone-number", b.slug),
        Some(&b.token),
        json!({"number": "+14155550111"}),
    )
    .await;
    api.app.wait_for_projections().await;

    let tables = [
        "catalog_businesses",
        "catalog_date_overrides",
        "catalog_members",
        "catalog_agents",
        "catalog_services",
        "catalog_staff",
        "catalog_phone_numbers",
        "event_counts",
    ];
    for table in tables {
        // The context every read-model query of the application enters.
        let mut tx = pool.begin().await.unwrap();
        api::tenancy::read::tenant_context(&mut tx, a.business_id)
            .await
            .unwrap();
        // No tenant filter at all: RLS alone must keep B out.
        let foreign: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where tenant_id is distinct from $1"
        ))
        .bind(a.business_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(
            foreign, 0,
            "{table} shows rows of another tenant under A's context"
        );
        tx.rollback().await.unwrap();

        // The same query as the platform sees B's rows, so the check above can fail.
        let mut tx = pool.begin().await.unwrap();
        api::tenancy::read::tenant_context(&mut tx, b.business_id)
            .await
            .unwrap();
        let own: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(own > 0, "{table} has no rows of B");
    }
    // The reader role can never read password hashes.
    let mut tx = pool.begin().await.unwrap();
    api::tenancy::read::tenant_context(&mut tx, a.business_id)
        .await
        .unwrap();
    let denied = sqlx::query("select password_hash from user_credentials")
        .fetch_all(&mut *tx)
        .await;
    assert!(denied.is_err());
    tx.rollback().await.unwrap();
    // Nor the catalog revisions (write-side bookkeeping without row-level security: every business id).
    let mut tx = pool.begin().await.unwrap();
    api::tenancy::read::tenant_context(&mut tx, a.business_id)
        .await
        .unwrap();
    let denied = sqlx::query("select tenant_id from catalog_revisions")
        .fetch_all(&mut *tx)
        .await;
    assert!(
        denied.is_err(),
        "the reader role must not list every business"
    );
}
