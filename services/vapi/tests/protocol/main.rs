//! Protocol tests over realistic Vapi payloads (`tests/fixtures/`), plus property tests.

mod auth;
mod messages;
mod properties;
mod responses;
mod tool_args;

/// The bytes of a fixture under `tests/fixtures/`.
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
        .as_slice()
    };
}
pub(crate) use fixture;
