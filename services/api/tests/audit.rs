//! Auditors (issue 6): the call history and stream API straight from the event store, and the read-only
//! auditor role. Real server, Postgres and NATS; two businesses onboarded over REST, one Vapi call each.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "audit/read_only.rs"]
mod read_only;
#[path = "audit/trail.rs"]
mod trail;

use api::testkit::TestApp;
use events::catalog::PlatformRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The development secret from `.cargo/config.toml`.
const SECRET: &str = "dev-webhook-secret";
const PASSWORD: &str = "correct horse battery";

/// A business with its owner, number and one finished call.
pub struct Shop {
    pub token: String,
    pub user_id: String,
    pub business_id: String,
    pub slug: String,
    pub service_id: String,
    pub call_id: String,
}

/// The platform with two businesses (one call each) and an auditor.
pub struct World {
    pub app: TestApp,
    http: reqwest::Client,
    pub a: Shop,
    pub b: Shop,
    pub admin: String,
    pub auditor: String,
}

impl World {
    pub async fn new(pool: PgPool) -> Self {
        let app = TestApp::spawn(pool).await;
        let http = reqwest::Client::new();
        let mut world = Self {
            app,
            http,
            a: empty_shop(),
            b: empty_shop(),
            admin: String::new(),
            auditor: String::new(),
        };
        world.admin = world
            .platform_user("ops@va.test", PlatformRole::PlatformAdmin)
            .await;
        world.a = world
            .shop("ana@salon.test", "Salon Ana", "+14155550100", "pn_a")
            .await;
        world.b = world
            .shop("bo@barber.test", "Barber Bo", "+14155550101", "pn_b")
            .await;
        world.auditor = world
            .platform_user("audit@va.test", PlatformRole::Auditor)
            .await;
        world.app.wait_for_projections().await;
        world
    }

    /// A platform user made the way the CLI makes one, logged in over HTTP.
    pub async fn platform_user(&self, email: &str, role: PlatformRole) -> String {
        api::tenancy::admin::create_platform_user(
            &self.app.store,
            email,
            "operator password",
            role,
        )
        .await
        .unwrap();
        self.login(email, "operator password").await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let (s, tok) = self
            .call(
                "",
                Method::POST,
                "/api/v1/auth/token",
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{tok}");
        tok["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers a business, gives it hours, a service, a pool number and an agent, and plays a call.
    async fn shop(&self, email: &str, name: &str, number: &str, phone_id: &str) -> Shop {
        let (s, reg) = self
            .call("", Method::POST, "/api/v1/auth/register", Some(json!({"email": email, "password": PASSWORD,
                "business": {"name": name, "business_type": "salon", "timezone": "Europe/Madrid", "currency": "EUR"}})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reg}");
        let token = reg["access_token"].as_str().unwrap().to_owned();
        let slug = reg["business"]["slug"].as_str().unwrap().to_owned();
        let day = json!([["08:00", "20:00"]]);
        let hours = json!({"weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
            "sat": day, "sun": day}, "overrides": {}});
        self.ok(
            &token,
            Method::PUT,
            &format!("/api/v1/businesses/{slug}/hours"),
            hours,
        )
        .await;
        let service = self
            .ok(
                &token,
                Method::POST,
                &format!("/api/v1/businesses/{slug}/services"),
                json!({"name": "Haircut", "duration_minutes": 30, "price": "35.00"}),
            )
            .await;
        self.ok(
            &self.admin,
            Method::POST,
            "/api/v1/admin/phone-numbers",
            json!({"number": number, "provider_phone_number_id": phone_id, "locality": "San Francisco", "region": "CA"}),
        )
        .await;
        self.app.wait_for_projections().await;
        self.ok(
            &token,
            Method::POST,
            &format!("/api/v1/businesses/{slug}/phone-number"),
            json!({ "number": number }),
        )
        .await;
        self.ok(
            &token,
            Method::PUT,
            &format!("/api/v1/businesses/{slug}/agent"),
            json!({"name": "Sara", "greeting": format!("{name}, Sara speaking!")}),
        )
        .await;
        let call_id = format!("call-of-{phone_id}");
        self.play_call(&call_id, phone_id).await;
        Shop {
            token,
            user_id: reg["user"]["id"].as_str().unwrap().to_owned(),
            business_id: reg["business"]["id"].as_str().unwrap().to_owned(),
            slug,
            service_id: service["id"].as_str().unwrap().to_owned(),
            call_id,
        }
    }

    /// A short call as Vapi reports it: in progress, ended, end-of-call report (which records usage).
    async fn play_call(&self, call_id: &str, phone_id: &str) {
        let call = json!({"id": call_id, "orgId": "org_1", "type": "inboundPhoneCall", "phoneNumberId": phone_id,
            "customer": {"number": "+15551234567"}, "createdAt": "2027-03-10T15:00:00.000Z"});
        let messages = [
            json!({"type": "status-update", "status": "in-progress", "call": call}),
            json!({"type": "status-update", "status": "ended", "endedReason": "customer-ended-call", "call": call}),
            json!({"type": "end-of-call-report", "endedReason": "customer-ended-call",
                   "startedAt": "2027-03-10T15:00:00.000Z", "endedAt": "2027-03-10T15:01:35.200Z", "cost": 0.1234,
                   "artifact": {"transcript": "AI: hello\nUser: bye", "messages": []},
                   "analysis": {"summary": "Caller hung up."}, "call": call}),
        ];
        for message in messages {
            let resp = self
                .http
                .post(self.app.url("/vapi/webhook"))
                .header("x-vapi-secret", SECRET)
                .json(&json!({ "message": message }))
                .send()
                .await
                .unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::OK,
                "{}",
                resp.text().await.unwrap()
            );
        }
    }

    /// Sends a request (no bearer token when `token` is empty); answers the status and the JSON body.
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.app.url(path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
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

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }

    /// A request that must succeed (2xx); answers the body.
    pub async fn ok(&self, token: &str, method: Method, path: &str, body: Value) -> Value {
        let (s, b) = self.call(token, method.clone(), path, Some(body)).await;
        assert!(s.is_success(), "{method} {path}: {s} {b}");
        b
    }

    /// The number of events in the store.
    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events")
            .fetch_one(self.app.store.pool())
            .await
            .unwrap()
    }

    /// The event ids of one stream, in order, straight from the table.
    pub async fn event_ids(&self, stream: &str) -> Vec<String> {
        sqlx::query_scalar::<_, uuid::Uuid>(
            "select event_id from events where stream_id = $1 order by stream_version",
        )
        .bind(stream)
        .fetch_all(self.app.store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.to_string())
        .collect()
    }
}

fn empty_shop() -> Shop {
    Shop {
        token: String::new(),
        user_id: String::new(),
        business_id: String::new(),
        slug: String::new(),
        service_id: String::new(),
        call_id: String::new(),
    }
}

/// Asserts `{"code": code}` with `status`.
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str, what: &str) {
    assert_eq!(answer.0, status, "{what}: {}", answer.1);
    assert_eq!(answer.1["code"], code, "{what}: {}", answer.1);
}
