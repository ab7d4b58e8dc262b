//! Tenancy and catalog acceptance tests (issue 3), over HTTP against the real server, Postgres and NATS.
//! Shared helpers live here; each scenario group is a module under `tenancy/`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on a broken setup"
)]

#[path = "tenancy/bad_input.rs"]
mod bad_input;
#[path = "tenancy/isolation.rs"]
mod isolation;
#[path = "tenancy/numbers.rs"]
mod numbers;
#[path = "tenancy/onboarding.rs"]
mod onboarding;
#[path = "tenancy/roles.rs"]
mod roles;

use api::testkit::TestApp;
use events::catalog::PlatformRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// The platform plus an HTTP client.
pub struct Api {
    pub app: TestApp,
    http: reqwest::Client,
}

/// A registered owner and their business.
#[derive(Debug, Clone)]
pub struct Owner {
    pub token: String,
    pub user_id: Uuid,
    pub business_id: Uuid,
    pub slug: String,
}

impl Api {
    pub async fn spawn(pool: PgPool) -> Self {
        Self {
            app: TestApp::spawn(pool).await,
            http: reqwest::Client::new(),
        }
    }

    /// Sends a JSON request; answers the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Registers `email` with a business called `business` in Europe/Madrid.
    pub async fn register(&self, email: &str, business: &str) -> Owner {
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({
                    "email": email,
                    "password": "correct horse battery",
                    "business": {"name": business, "business_type": "salon", "timezone": "Europe/Madrid", "currency": "EUR"},
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Owner {
            token: body["access_token"].as_str().unwrap().to_owned(),
            user_id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            business_id: body["business"]["id"].as_str().unwrap().parse().unwrap(),
            slug: body["business"]["slug"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers a user without a business; answers their token and id.
    pub async fn register_user(&self, email: &str) -> (String, Uuid) {
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().parse().unwrap(),
        )
    }

    /// A platform admin made the way operators make one (the CLI's function), logged in over HTTP.
    pub async fn platform_admin(&self) -> String {
        api::tenancy::admin::create_platform_user(
            &self.app.store,
            "ops@voiceappoint.test",
            "operator password",
            PlatformRole::PlatformAdmin,
        )
        .await
        .unwrap();
        let (status, body) = self
            .post(
                "/api/v1/auth/token",
                None,
                json!({"email": "ops@voiceappoint.test", "password": "operator password"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Adds a number to the pool as platform admin.
    pub async fn pool_number(&self, admin: &str, number: &str, provider_id: &str) {
        let (status, body) = self
            .post(
                "/api/v1/admin/phone-numbers",
                Some(admin),
                json!({"number": number, "provider_phone_number_id": provider_id,
                       "locality": "San Francisco", "region": "CA"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// How many events the store holds.
    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events")
            .fetch_one(self.app.store.pool())
            .await
            .unwrap()
    }

    /// The event types of one stream, in order.
    pub async fn event_types(&self, stream: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select event_type from events where stream_id = $1 order by stream_version",
        )
        .bind(stream)
        .fetch_all(self.app.store.pool())
        .await
        .unwrap()
    }
}

/// Asserts an error answer: the status and `{"code": code, "message": …}`.
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(
        answer.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.1
    );
}

/// A week open Monday to Friday 09:00–17:00 (lunch break on Friday).
pub fn office_hours() -> Value {
    json!({
        "weekly": {
            "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
            "thu": [["09:00", "17:00"]], "fri": [["09:00", "13:00"], ["14:00", "17:00"]],
            "sat": [], "sun": []
        },
        "overrides": {"2027-12-24": [["09:00", "12:00"]], "2027-12-25": []}
    })
}
