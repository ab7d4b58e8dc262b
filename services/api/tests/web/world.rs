//! The platform the browser tests look at: the real API (with relay and projectors) on a fresh database,
//! a platform admin with one pool number, and optionally a business onboarded over the REST API.

use api::testkit::TestApp;
use chrono::{Datelike as _, TimeDelta, Utc};
use events::catalog::PlatformRole;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The development secret from `.cargo/config.toml`.
const SECRET: &str = "dev-webhook-secret";
pub const NUMBER: &str = "+14155550100";
pub const PHONE_ID: &str = "pn_web_1";
pub const PASSWORD: &str = "correct horse battery";

pub struct World {
    pub app: TestApp,
    http: reqwest::Client,
    pub admin_token: String,
    /// Set by [`World::business`].
    pub owner_token: String,
    pub slug: String,
}

impl World {
    /// The platform with a platform admin and [`NUMBER`] free in the pool.
    pub async fn new(pool: PgPool) -> Self {
        let app = TestApp::spawn(pool).await;
        let mut world = Self {
            app,
            http: reqwest::Client::new(),
            admin_token: String::new(),
            owner_token: String::new(),
            slug: String::new(),
        };
        api::tenancy::admin::create_platform_user(
            &world.app.store,
            "ops@va.test",
            "operator password",
            PlatformRole::PlatformAdmin,
        )
        .await
        .unwrap();
        world.admin_token = world.token("ops@va.test", "operator password").await;
        let (s, b) = world
            .call(&world.admin_token, "POST", "/api/v1/admin/phone-numbers",
                json!({"number": NUMBER, "provider_phone_number_id": PHONE_ID, "locality": "San Francisco", "region": "CA"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        world.app.wait_for_projections().await;
        world
    }

    /// Plus a live business (Madrid, open 08:00–20:00 every day, a Haircut, [`NUMBER`], an agent) owned by
    /// `email`.
    pub async fn with_business(pool: PgPool, email: &str, name: &str) -> Self {
        let mut world = Self::new(pool).await;
        let (token, slug) = world.register(email, Some(name)).await;
        world.owner_token = token;
        world.slug = slug.clone();
        let day = json!([["08:00", "20:00"]]);
        let steps = [
            (
                "PUT",
                format!("/api/v1/businesses/{slug}/hours"),
                json!({"weekly": {"mon": day, "tue": day, "wed": day,
                "thu": day, "fri": day, "sat": day, "sun": day}, "overrides": {}}),
            ),
            (
                "POST",
                format!("/api/v1/businesses/{slug}/services"),
                json!({"name": "Haircut", "duration_minutes": 30, "price": "35.00"}),
            ),
            (
                "POST",
                format!("/api/v1/businesses/{slug}/phone-number"),
                json!({"number": NUMBER}),
            ),
            (
                "PUT",
                format!("/api/v1/businesses/{slug}/agent"),
                json!({"name": "Sara", "greeting": "Salon Ana, Sara speaking!"}),
            ),
        ];
        for (method, path, body) in steps {
            let (s, b) = world.owner(method, &path, body).await;
            assert!(s.is_success(), "{method} {path}: {s} {b}");
        }
        world.app.wait_for_projections().await;
        world
    }

    /// Registers a user (with a business when `business` names one); returns (token, slug).
    pub async fn register(&self, email: &str, business: Option<&str>) -> (String, String) {
        let mut body = json!({"email": email, "password": PASSWORD});
        if let Some(name) = business {
            body["business"] = json!({"name": name, "business_type": "salon", "timezone": "Europe/Madrid", "currency": "EUR"});
        }
        let (s, reg) = self.call("", "POST", "/api/v1/auth/register", body).await;
        assert_eq!(s, StatusCode::CREATED, "{reg}");
        let slug = reg["business"]["slug"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (reg["access_token"].as_str().unwrap().to_owned(), slug)
    }

    pub async fn token(&self, email: &str, password: &str) -> String {
        let (s, tok) = self
            .call(
                "",
                "POST",
                "/api/v1/auth/token",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{tok}");
        tok["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn owner(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(&self.owner_token, method, path, body).await
    }

    pub async fn call(
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

    /// Posts one Vapi webhook message.
    pub async fn webhook(&self, message: Value) -> Value {
        let resp = self
            .http
            .post(self.app.url("/vapi/webhook"))
            .header("x-vapi-secret", SECRET)
            .json(&json!({"message": message}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    /// Calls one tool in call `call_id` and returns the parsed result.
    pub async fn tool(&self, call_id: &str, tool_id: &str, name: &str, args: Value) -> Value {
        let message = json!({"type": "tool-calls", "call": call(call_id), "toolCallList": [
            {"id": tool_id, "type": "function", "function": {"name": name, "arguments": args}}]});
        let answer = self.webhook(message).await;
        serde_json::from_str(answer["results"][0]["result"].as_str().unwrap()).unwrap()
    }

    /// A whole call: the agent checks the first free slot on [`booking_date`] and books it for `client`;
    /// then the call ends with a transcript. Returns the appointment id.
    pub async fn booking_call(&self, call_id: &str, client: &str) -> String {
        self.webhook(json!({"type": "assistant-request", "call": call(call_id)}))
            .await;
        let start = self.first_slot(call_id).await;
        let booked = self
            .tool(
                call_id,
                "tc3",
                "book_appointment",
                json!({"service": "haircut", "start": start, "client_name": client}),
            )
            .await;
        assert_eq!(booked["status"], "booked", "{booked}");
        booked["appointment_id"].as_str().unwrap().to_owned()
    }

    /// The first free Haircut slot on [`booking_date`] (asked as the agent asks: two tool calls).
    pub async fn first_slot(&self, call_id: &str) -> String {
        self.tool(call_id, "tc1", "get_business_services", json!({}))
            .await;
        let slots = self
            .tool(
                call_id,
                "tc2",
                "check_service_availability",
                json!({"service": "haircut", "date": booking_date()}),
            )
            .await;
        slots["slots"][0]["start"].as_str().unwrap().to_owned()
    }

    /// Ends call `call_id` with Vapi's end-of-call report.
    pub async fn end_call(&self, call_id: &str) {
        let mut c = call(call_id);
        c["costBreakdown"] = json!({"total": 0.1234});
        self.webhook(json!({"type": "status-update", "status": "ended", "endedReason": "customer-ended-call", "call": call(call_id)})).await;
        self.webhook(json!({"type": "end-of-call-report", "endedReason": "customer-ended-call",
            "startedAt": "2027-03-10T15:00:00.000Z", "endedAt": "2027-03-10T15:01:35.200Z", "cost": 0.1234,
            "artifact": {"transcript": "AI: Salon Ana, Sara speaking!\nUser: a haircut on Friday please", "messages": []},
            "analysis": {"summary": "Caller booked a haircut.", "successEvaluation": "true"}, "call": c}))
            .await;
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
           "customer": {"number": "+15551234567"}, "createdAt": "2027-03-10T15:00:00.000Z"})
}
