//! Vapi webhook acceptance tests (issue 5): real server, Postgres and NATS; a business onboarded over
//! the REST API, then calls played as Vapi sends them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

#[path = "webhook/billing.rs"]
mod billing;
#[path = "webhook/calls.rs"]
mod calls;
#[path = "webhook/dashboard.rs"]
mod dashboard;
#[path = "webhook/guards.rs"]
mod guards;

use api::testkit::TestApp;
use chrono::{Datelike as _, TimeDelta, Utc};
use events::catalog::PlatformRole;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The development secret from `.cargo/config.toml`.
pub const SECRET: &str = "dev-webhook-secret";
pub const HMAC_SECRET: &str = "dev-hmac-secret";
pub const PHONE_ID: &str = "pn_salon_1";
pub const CALLER: &str = "+15551234567";

/// The platform with one live business (Madrid, open every day 08:00–20:00, a Haircut service).
pub struct World {
    pub app: TestApp,
    pub http: reqwest::Client,
    pub owner_token: String,
    pub slug: String,
    pub business_id: String,
}

impl World {
    pub async fn new(pool: PgPool) -> Self {
        let app = TestApp::spawn(pool).await;
        let http = reqwest::Client::new();
        let mut world = Self {
            app,
            http,
            owner_token: String::new(),
            slug: String::new(),
            business_id: String::new(),
        };
        let (status, reg) = world
            .api("POST", "/api/v1/auth/register", json!({"email": "ana@salon.test", "password": "correct horse battery",
                "business": {"name": "Salon Ana", "business_type": "salon", "timezone": "Europe/Madrid", "currency": "EUR"}}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        world.owner_token = reg["access_token"].as_str().unwrap().to_owned();
        world.slug = reg["business"]["slug"].as_str().unwrap().to_owned();
        world.business_id = reg["business"]["id"].as_str().unwrap().to_owned();
        let slug = world.slug.clone();
        let day = json!([["08:00", "20:00"]]);
        let (s, b) = world
            .api(
                "PUT",
                &format!("/api/v1/businesses/{slug}/hours"),
                json!({"weekly": {"mon": day, "tue": day, "wed": day,
                "thu": day, "fri": day, "sat": day, "sun": day}, "overrides": {}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = world
            .api(
                "POST",
                &format!("/api/v1/businesses/{slug}/services"),
                json!({"name": "Haircut", "duration_minutes": 30, "price": "35.00"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        api::tenancy::admin::create_platform_user(
            &world.app.store,
            "ops@va.test",
            "operator password",
            PlatformRole::PlatformAdmin,
        )
        .await
        .unwrap();
        let (_, tok) = world
            .api(
                "POST",
                "/api/v1/auth/token",
                json!({"email": "ops@va.test", "password": "operator password"}),
            )
            .await;
        let admin = tok["access_token"].as_str().unwrap().to_owned();
        let (s, b) = world
            .call_as(
                &admin,
                "POST",
                "/api/v1/admin/phone-numbers",
                json!({"number": "+14155550100",
                "provider_phone_number_id": PHONE_ID, "locality": "San Francisco", "region": "CA"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        world.app.wait_for_projections().await;
        let (s, b) = world
            .api(
                "POST",
                &format!("/api/v1/businesses/{slug}/phone-number"),
                json!({"number": "+14155550100"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = world
            .api(
                "PUT",
                &format!("/api/v1/businesses/{slug}/agent"),
                json!({"name": "Sara", "greeting": "Salon Ana, Sara speaking!"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        world.app.wait_for_projections().await;
        world
    }

    pub async fn api(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let token = self.owner_token.clone();
        self.call_as(&token, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.app.url(path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if method != "GET" {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Posts a webhook message with the static secret.
    pub async fn webhook(&self, message: Value) -> (StatusCode, Value) {
        self.webhook_raw(
            json!({"message": message}).to_string().into_bytes(),
            &[("x-vapi-secret", SECRET.to_owned())],
        )
        .await
    }

    pub async fn webhook_raw(
        &self,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(self.app.url("/vapi/webhook"))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn event_types(&self, stream: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select event_type from events where stream_id = $1 order by stream_version",
        )
        .bind(stream)
        .fetch_all(self.app.store.pool())
        .await
        .unwrap()
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events")
            .fetch_one(self.app.store.pool())
            .await
            .unwrap()
    }
}

/// A date a few days ahead (so minimum notice never bites), as `YYYY-MM-DD`.
pub fn booking_date() -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "tests pick a date relative to the real clock the server uses"
    )]
    let d = (Utc::now() + TimeDelta::days(3)).date_naive();
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// The `call` object Vapi sends with every message.
pub fn call(id: &str) -> Value {
    json!({"id": id, "orgId": "org_1", "type": "inboundPhoneCall", "phoneNumberId": PHONE_ID,
           "customer": {"number": CALLER}, "createdAt": "2027-03-10T15:00:00.000Z", "updatedAt": "2027-03-10T15:00:00.000Z"})
}

pub fn tool_calls(call_id: &str, calls: &[(&str, &str, Value)]) -> Value {
    let list: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
        .collect();
    json!({"type": "tool-calls", "toolCallList": list, "call": call(call_id)})
}

/// The parsed JSON inside the first tool result (asserts the whole answer is schema-valid first).
pub fn first_result(answer: &Value) -> Value {
    vapi::response::validate_tool_response(answer)
        .unwrap_or_else(|e| panic!("invalid tool response {answer}: {e}"));
    let text = answer["results"][0]["result"]
        .as_str()
        .unwrap_or_else(|| panic!("not a result: {answer}"));
    serde_json::from_str(text).unwrap()
}
