//! The demo business `voiceappoint dev` starts with, made through the platform's own REST API (so the
//! demo exercises exactly what a real owner does). Idempotent: when the demo owner can already log in,
//! nothing is added.

use anyhow::{Context, bail};
use events::catalog::PlatformRole;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use store::EventStore;

pub const DEMO_EMAIL: &str = "owner@demo.voiceappoint.dev";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_PHONE_ID: &str = "demo-pn-1";
pub const DEMO_NUMBER: &str = "+15550100001";
const ADMIN_EMAIL: &str = "admin@demo.voiceappoint.dev";
const ADMIN_PASSWORD: &str = "demo-admin-password";

struct Http {
    client: Client,
    base: String,
}

impl Http {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = resp.status();
        let value = resp.json().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
        ok: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method, path, token, Some(body)).await?;
        if status != ok {
            bail!("seeding: {path} answered {status}: {value}");
        }
        Ok(value)
    }
}

/// Seeds the demo business through the API at `base` (e.g. `http://127.0.0.1:8080`).
/// Returns a line describing what happened.
#[expect(
    clippy::too_many_lines,
    reason = "the onboarding script, step by step, as an owner does it"
)]
pub async fn demo(store: &EventStore, base: &str) -> anyhow::Result<String> {
    let http = Http {
        client: Client::new(),
        base: base.trim_end_matches('/').to_owned(),
    };
    let login = json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD});
    if http
        .call(Method::POST, "/api/v1/auth/token", None, Some(login))
        .await?
        .0
        == StatusCode::OK
    {
        return Ok("demo business already present".into());
    }
    let reg = http
        .expect(Method::POST, "/api/v1/auth/register", None, json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD,
            "business": {"name": "Demo Salon", "business_type": "salon", "timezone": "America/New_York", "currency": "USD"}}), StatusCode::CREATED)
        .await?;
    let token = reg["access_token"].as_str().context("no token")?.to_owned();
    let slug = reg["business"]["slug"]
        .as_str()
        .context("no slug")?
        .to_owned();
    let t = Some(token.as_str());
    let day = json!([["09:00", "18:00"]]);
    http.expect(Method::PUT, &format!("/api/v1/businesses/{slug}/hours"), t, json!({"weekly": {"mon": day, "tue": day,
        "wed": day, "thu": day, "fri": day, "sat": [["10:00", "16:00"]], "sun": []}, "overrides": {}}), StatusCode::OK).await?;
    let mut ids = Vec::new();
    for (name, minutes, price) in [
        ("Haircut", 30, "35.00"),
        ("Colour", 90, "80.00"),
        ("Beard trim", 15, "15.00"),
    ] {
        let s = http
            .expect(Method::POST, &format!("/api/v1/businesses/{slug}/services"), t,
                json!({"name": name, "duration_minutes": minutes, "price": price, "buffer_after_minutes": 5}), StatusCode::CREATED)
            .await?;
        ids.push(s["id"].clone());
    }
    http.expect(
        Method::POST,
        &format!("/api/v1/businesses/{slug}/staff"),
        t,
        json!({"name": "Marta", "service_ids": ids}),
        StatusCode::CREATED,
    )
    .await?;
    http.expect(
        Method::POST,
        &format!("/api/v1/businesses/{slug}/staff"),
        t,
        json!({"name": "Luis", "service_ids": [ids[0], ids[2]]}),
        StatusCode::CREATED,
    )
    .await?;

    api::tenancy::admin::create_platform_user(
        store,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        PlatformRole::PlatformAdmin,
    )
    .await
    .context("creating the demo platform admin")?;
    let admin = http
        .expect(
            Method::POST,
            "/api/v1/auth/token",
            None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
            StatusCode::OK,
        )
        .await?;
    let admin = admin["access_token"]
        .as_str()
        .context("no admin token")?
        .to_owned();
    http.expect(
        Method::POST,
        "/api/v1/admin/phone-numbers",
        Some(&admin),
        json!({"number": DEMO_NUMBER,
        "provider_phone_number_id": DEMO_PHONE_ID, "locality": "Demo City", "region": "NY"}),
        StatusCode::CREATED,
    )
    .await?;
    // The pool listing is a read model: claim once the projector has it.
    let mut claimed = false;
    for _ in 0..50 {
        let (status, _) = http
            .call(
                Method::POST,
                &format!("/api/v1/businesses/{slug}/phone-number"),
                t,
                Some(json!({"number": DEMO_NUMBER})),
            )
            .await?;
        if status == StatusCode::OK {
            claimed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !claimed {
        bail!("seeding: could not claim the demo number");
    }
    http.expect(Method::PUT, &format!("/api/v1/businesses/{slug}/agent"), t,
        json!({"name": "Sara", "greeting": "Thanks for calling Demo Salon, this is Sara. How can I help?", "personality": "warm and brief"}), StatusCode::OK)
        .await?;
    Ok(format!(
        "demo business `{slug}` seeded (owner {DEMO_EMAIL} / {DEMO_PASSWORD})"
    ))
}
