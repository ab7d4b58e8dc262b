//! The onboarding flow of the seeds: register → business with a unique slug → hours and services → staff →
//! a pool number → the agent → live, with the events each step leaves.

use std::time::Instant;

use api::tenancy::NumberDirectory;
use reqwest::StatusCode;
use serde_json::json;

use super::{Api, office_hours};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_new_owner_goes_from_registration_to_a_live_agent_and_every_step_is_an_event(
    pool: sqlx::PgPool,
) {
    let api = Api::spawn(pool).await;
    let owner = api.register("ana@salon.test", "Salón Ana").await;
    assert_eq!(owner.slug, "salon-ana");
    // The same name again gets the next free slug; the first one never changes.
    let twin = api.register("other@salon.test", "Salón Ana").await;
    assert_eq!(twin.slug, "salon-ana-2");
    let slug = &owner.slug;
    let t = owner.token.as_str();

    let (status, hours) = api
        .put(
            &format!("/api/v1/businesses/{slug}/hours"),
            t,
            office_hours(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hours}");
    assert_eq!(
        hours["weekly"]["fri"],
        json!([["09:00", "13:00"], ["14:00", "17:00"]])
    );

    let (status, cut) = api
        .post(
            &format!("/api/v1/businesses/{slug}/services"),
            Some(t),
            json!({"name": "Haircut", "duration_minutes": 30, "price": "35.00", "buffer_after_minutes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cut}");
    assert_eq!(
        (cut["price"].as_str(), cut["price_minor"].as_i64()),
        (Some("35.00"), Some(3500))
    );
    assert_eq!(cut["currency"], "EUR");
    let (status, colour) = api
        .post(
            &format!("/api/v1/businesses/{slug}/services"),
            Some(t),
            json!({"name": "Colour", "duration_minutes": 90, "price": "80"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{colour}");

    let (status, staff) = api
        .post(
            &format!("/api/v1/businesses/{slug}/staff"),
            Some(t),
            json!({"name": "Marta", "service_ids": [cut["id"], colour["id"]],
                   "weekly": {"mon": [["10:00", "14:00"]]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{staff}");

    let admin = api.platform_admin().await;
    api.pool_number(&admin, "+1 415 555 0123", "vapi-pn-1")
        .await;
    api.pool_number(&admin, "+12125550100", "vapi-pn-2").await;
    api.app.wait_for_projections().await;
    let (status, available) = api
        .get("/api/v1/phone-numbers/available?area_code=415", t)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        available["numbers"].as_array().unwrap().len(),
        1,
        "{available}"
    );
    assert_eq!(available["numbers"][0]["number"], "+14155550123");
    assert_eq!(available["numbers"][0]["locality"], "San Francisco");

    let (status, claimed) = api
        .post(
            &format!("/api/v1/businesses/{slug}/phone-number"),
            Some(t),
            json!({"number": "+14155550123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");

    let (status, agent) = api
        .put(
            &format!("/api/v1/businesses/{slug}/agent"),
            t,
            json!({"name": "Sarah", "greeting": "Hola, Salón Ana, ¿en qué puedo ayudarle?", "personality": "friendly"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{agent}");

    api.app.wait_for_projections().await;
    let (status, business) = api.get(&format!("/api/v1/businesses/{slug}"), t).await;
    assert_eq!(status, StatusCode::OK, "{business}");
    assert_eq!(business["live"], true, "{business}");
    assert_eq!(business["phone_number"], "+14155550123");
    assert_eq!(business["timezone"], "Europe/Madrid");
    let (_, twin_business) = api
        .get(&format!("/api/v1/businesses/{}", twin.slug), &twin.token)
        .await;
    assert_eq!(twin_business["live"], false);
    assert_eq!(twin_business["onboarding"]["hours"], false);

    // The pool no longer offers the claimed number.
    let (_, available) = api
        .get("/api/v1/phone-numbers/available?area_code=415", t)
        .await;
    assert_eq!(available["numbers"], json!([]));

    // Hours resolve per date, in local time and UTC (Madrid is UTC+1 in December).
    let (status, resolved) = api
        .get(
            &format!("/api/v1/businesses/{slug}/hours?from=2027-12-24&to=2027-12-27"),
            t,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let days = resolved["days"].as_array().unwrap();
    assert_eq!(days.len(), 4);
    assert_eq!(days[0]["intervals"], json!([["09:00", "12:00"]]));
    assert_eq!(days[0]["utc"][0]["start"], "2027-12-24T08:00:00Z");
    assert_eq!(days[1]["intervals"], json!([]));
    assert_eq!(days[3]["intervals"], json!([["09:00", "17:00"]]));

    let (_, services) = api
        .get(&format!("/api/v1/businesses/{slug}/services"), t)
        .await;
    assert_eq!(services["services"].as_array().unwrap().len(), 2);
    let (_, listed_staff) = api
        .get(&format!("/api/v1/businesses/{slug}/staff"), t)
        .await;
    assert_eq!(
        listed_staff["staff"][0]["weekly"]["mon"],
        json!([["10:00", "14:00"]])
    );

    let business_stream = format!("business-{}", owner.business_id);
    assert_eq!(
        api.event_types(&business_stream).await,
        [
            "BusinessRegistered",
            "MemberAdded",
            "BusinessHoursSet",
            "DateOverrideSet",
            "DateOverrideSet",
            "AgentConfigured"
        ]
    );
    assert_eq!(
        api.event_types(&format!("user-{}", owner.user_id)).await,
        ["UserRegistered"]
    );
    assert_eq!(
        api.event_types(&format!("service-{}", cut["id"].as_str().unwrap()))
            .await,
        ["ServiceAdded"]
    );
    assert_eq!(
        api.event_types(&format!("staff-{}", staff["id"].as_str().unwrap()))
            .await,
        ["StaffAdded", "StaffScheduleSet", "StaffServicesAssigned"]
    );
    assert_eq!(
        api.event_types("number-+14155550123").await,
        ["NumberAddedToPool", "NumberAssigned"]
    );
    let tenant: Option<uuid::Uuid> = sqlx::query_scalar(
        "select tenant_id from events where stream_id = 'number-+14155550123' and event_type = 'NumberAssigned'",
    )
    .fetch_one(api.app.store.pool())
    .await
    .unwrap();
    assert_eq!(tenant, Some(owner.business_id));

    // A directory that has not loaded yet (another instance assigned the number a moment ago) fetches one
    // key on a miss and remembers it; a number not assigned to anyone stays unknown.
    let fresh = NumberDirectory::default();
    let pool = api.app.store.pool();
    assert!(fresh.get("vapi-pn-1").is_none());
    let fetched = fresh.fetch(pool, "vapi-pn-1").await.unwrap().unwrap();
    assert_eq!(fetched.business_id, owner.business_id);
    assert_eq!(fresh.get("+14155550123").unwrap().slug, "salon-ana");
    assert!(fresh.fetch(pool, "+12125550100").await.unwrap().is_none());
    assert!(fresh.fetch(pool, "+19995550000").await.unwrap().is_none());

    // The webhook's number → business lookup: by E.164 and by Vapi's phone-number id, in memory.
    let directory = NumberDirectory::default();
    directory.reload(api.app.store.pool()).await.unwrap();
    let found = directory.get("vapi-pn-1").unwrap();
    assert_eq!(
        (found.business_id, found.slug.as_str()),
        (owner.business_id, "salon-ana")
    );
    assert_eq!(
        directory.get("+14155550123").unwrap().business_id,
        owner.business_id
    );
    assert!(directory.get("+12125550100").is_none());
    let started = Instant::now();
    for _ in 0..10_000 {
        assert!(directory.get("vapi-pn-1").is_some());
    }
    assert!(
        started.elapsed().as_micros() / 10_000 < 100,
        "lookups are not sub-millisecond"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_user_added_to_a_second_business_lists_both_and_logs_in_with_both_memberships(
    pool: sqlx::PgPool,
) {
    let api = Api::spawn(pool).await;
    let ana = api.register("ana@salon.test", "Salón Ana").await;
    let bea = api.register("bea@clinic.test", "Clínica Bea").await;
    let (status, body) = api
        .post(
            &format!("/api/v1/businesses/{}/members", bea.slug),
            Some(&bea.token),
            json!({"email": "ANA@salon.test", "role": "manager"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        api.event_types(&format!("business-{}", bea.business_id))
            .await
            .last()
            .unwrap(),
        "MemberAdded"
    );
    api.app.wait_for_projections().await;

    let (_, list) = api.get("/api/v1/businesses", &ana.token).await;
    let slugs: Vec<&str> = list["businesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["clinica-bea", "salon-ana"]);
    let roles: Vec<&str> = list["businesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["manager", "owner"]);

    let (status, token) = api
        .post(
            "/api/v1/auth/token",
            None,
            json!({"email": "ana@salon.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    let fresh = token["access_token"].as_str().unwrap();
    let (status, me) = api.get("/api/v1/auth/me", fresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["email"], "ana@salon.test");
    assert_eq!(me["businesses"].as_array().unwrap().len(), 2);

    // As a manager Ana may change Bea's hours, but not her members; then Bea changes and removes her.
    let (status, _) = api
        .put(
            &format!("/api/v1/businesses/{}/hours", bea.slug),
            fresh,
            super::office_hours(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .post(
            &format!("/api/v1/businesses/{}/members", bea.slug),
            Some(fresh),
            json!({"email": "x@y.test", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let member = format!("/api/v1/businesses/{}/members/{}", bea.slug, ana.user_id);
    let (status, _) = api
        .patch(&member, &bea.token, json!({"role": "viewer"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.delete(&member, &bea.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .get(&format!("/api/v1/businesses/{}", bea.slug), fresh)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.event_types(&format!("business-{}", bea.business_id))
            .await[2..],
        [
            "MemberAdded",
            "BusinessHoursSet",
            "DateOverrideSet",
            "DateOverrideSet",
            "MemberRoleChanged",
            "MemberRemoved"
        ]
    );
}
