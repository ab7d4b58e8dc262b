//! The demo data `voiceappoint dev` starts with. Idempotent: a second run adds nothing.

use events::NewEvent;
use serde_json::json;
use store::{EventStore, ExpectedVersion, StoreError};
use uuid::Uuid;

/// The stream that records that the demo seed ran.
pub const SEED_STREAM: &str = "other-demo-seed";

/// Seeds the demo once; returns a line describing what happened.
pub async fn demo(store: &EventStore) -> anyhow::Result<&'static str> {
    // A fixed event id makes the marker itself idempotent, and NoStream makes the seed run once.
    let marker = NewEvent {
        event_id: Uuid::from_u128(0x766f_6963_6561_7070_6f69_6e74_0000_0001),
        ..NewEvent::raw("DemoSeeded", json!({"seed_version": 1}))
    };
    match store
        .append(SEED_STREAM, ExpectedVersion::NoStream, vec![marker])
        .await
    {
        Ok(r) if r.appended => Ok("demo data seeded"),
        Ok(_) | Err(StoreError::Conflict { .. }) => Ok("demo data already present"),
        Err(err) => Err(err.into()),
    }
}
