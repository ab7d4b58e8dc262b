//! The Vapi REST client against a local fake Vapi: retries on transient failures, stops on final ones,
//! sends what Vapi expects.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use api::vapi_client::{VapiClient, VapiClientError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::patch;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Clone, Default)]
struct Fake {
    calls: Arc<AtomicU32>,
    fail_first: u32,
    status_when_failing: u16,
    seen: Arc<Mutex<Vec<(String, String, Value)>>>,
}

async fn phone_number(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let n = fake.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    fake.seen
        .lock()
        .await
        .push((id.clone(), auth, body.clone()));
    if n <= fake.fail_first {
        return (
            StatusCode::from_u16(fake.status_when_failing).unwrap(),
            Json(json!({"message": "try later"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"id": id, "server": body["server"]})),
    )
}

async fn serve(fake: Fake) -> String {
    let app = Router::new()
        .route("/phone-number/{id}", patch(phone_number))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn assigning_a_number_retries_transient_failures_and_sends_the_server_url() {
    let fake = Fake {
        fail_first: 2,
        status_when_failing: 503,
        ..Fake::default()
    };
    let url = serve(fake.clone()).await;
    let client = VapiClient::new(&url, "key-123")
        .unwrap()
        .with_backoff(Duration::from_millis(10));
    let answer = client
        .assign_number("pn_1", "https://va.example/vapi/webhook", Some("asst_9"))
        .await
        .unwrap();
    assert_eq!(answer["id"], "pn_1");
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    let seen = fake.seen.lock().await;
    let (id, auth, body) = seen.last().unwrap();
    assert_eq!((id.as_str(), auth.as_str()), ("pn_1", "Bearer key-123"));
    assert_eq!(
        body,
        &json!({"server": {"url": "https://va.example/vapi/webhook"}, "assistantId": "asst_9"})
    );
}

#[tokio::test]
async fn a_final_rejection_is_not_retried() {
    let fake = Fake {
        fail_first: 10,
        status_when_failing: 404,
        ..Fake::default()
    };
    let url = serve(fake.clone()).await;
    let client = VapiClient::new(&url, "k")
        .unwrap()
        .with_backoff(Duration::from_millis(10));
    let err = client
        .assign_number("pn_x", "https://x", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VapiClientError::Rejected { status: 404, .. }),
        "{err}"
    );
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_vapi_fails_after_the_bounded_attempts() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = VapiClient::new(&format!("http://127.0.0.1:{port}"), "k")
        .unwrap()
        .with_backoff(Duration::from_millis(10));
    let err = client.release_number("pn_1").await.unwrap_err();
    assert!(
        matches!(err, VapiClientError::Unreachable { attempts: 3, .. }),
        "{err}"
    );
}
