//! Webhook authentication: static secret, bearer token, HMAC with timestamp window.

use std::collections::HashMap;
use std::time::Duration;

use vapi::auth::{self, AuthConfig, AuthError, secrets_match, sign, timestamp_ms, verify};

const SECRET: &str = "s3cret-value";
const HMAC_KEY: &str = "hmac-key-123";
const BODY: &[u8] = br#"{"message":{"type":"status-update","status":"in-progress"}}"#;
const NOW_MS: i64 = 1_790_000_000_000;
const NOW_S: i64 = NOW_MS / 1000;

fn config(webhook_secret: Option<&str>, hmac_secret: Option<&str>) -> AuthConfig {
    let Ok(cfg) = AuthConfig::new(webhook_secret.map(Into::into), hmac_secret.map(Into::into))
    else {
        panic!("a configuration with a secret is valid");
    };
    cfg
}

fn static_only() -> AuthConfig {
    config(Some(SECRET), None)
}

fn hmac_only() -> AuthConfig {
    config(None, Some(HMAC_KEY))
}

fn both() -> AuthConfig {
    config(Some(SECRET), Some(HMAC_KEY))
}

fn signed(timestamp: i64) -> Vec<(String, String)> {
    vec![
        ("X-Signature".into(), sign(HMAC_KEY, timestamp, BODY)),
        ("X-Timestamp".into(), timestamp.to_string()),
    ]
}

#[test]
fn the_static_secret_is_accepted_in_any_header_case() {
    for name in ["X-Vapi-Secret", "x-vapi-secret", "X-VAPI-SECRET"] {
        assert_eq!(
            verify(&[(name, SECRET)], BODY, &static_only(), NOW_MS),
            Ok(())
        );
    }
}

#[test]
fn the_static_secret_is_accepted_as_x_vapi_signature_and_as_a_bearer_token() {
    let cfg = static_only();
    assert_eq!(
        verify(&[("X-Vapi-Signature", SECRET)], BODY, &cfg, NOW_MS),
        Ok(())
    );
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(
        verify(&[("Authorization", bearer.as_str())], BODY, &cfg, NOW_MS),
        Ok(())
    );
    let lower = format!("bearer {SECRET}");
    assert_eq!(
        verify(&[("authorization", lower.as_str())], BODY, &cfg, NOW_MS),
        Ok(())
    );
}

#[test]
fn a_wrong_secret_is_refused_as_bad_secret() {
    let cfg = static_only();
    assert_eq!(
        verify(&[("X-Vapi-Secret", "nope")], BODY, &cfg, NOW_MS),
        Err(AuthError::BadSecret)
    );
    assert_eq!(
        verify(&[("Authorization", "Basic czNjcmV0")], BODY, &cfg, NOW_MS),
        Err(AuthError::Missing),
        "a non-bearer authorization header is not a credential of ours"
    );
}

#[test]
fn a_request_without_credentials_is_refused_as_missing() {
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        verify(&none, BODY, &static_only(), NOW_MS),
        Err(AuthError::Missing)
    );
    assert_eq!(
        verify(&none, BODY, &hmac_only(), NOW_MS),
        Err(AuthError::Missing)
    );
    assert_eq!(
        verify(&none, BODY, &both(), NOW_MS),
        Err(AuthError::Missing)
    );
}

#[test]
fn secrets_that_share_a_prefix_or_differ_in_length_do_not_match() {
    assert!(secrets_match(SECRET, SECRET));
    assert!(!secrets_match("s3cret", SECRET));
    assert!(!secrets_match("s3cret-value-and-more", SECRET));
    assert!(!secrets_match("s3cret-valuE", SECRET));
    assert!(!secrets_match("", ""), "an empty secret never matches");
}

#[test]
fn an_empty_configured_secret_is_treated_as_unset() {
    assert!(AuthConfig::new(Some(String::new()), None).is_err());
    assert!(AuthConfig::new(None, None).is_err());
    let cfg = AuthConfig::new(Some(String::new()), Some(HMAC_KEY.into())).unwrap();
    assert_eq!(
        verify(&[("X-Vapi-Secret", "")], BODY, &cfg, NOW_MS),
        Err(AuthError::Missing)
    );
}

#[test]
fn running_open_takes_an_explicit_insecure_config() {
    let cfg = AuthConfig::insecure_allow_all();
    assert!(cfg.is_insecure());
    let none: [(&str, &str); 0] = [];
    assert_eq!(verify(&none, BODY, &cfg, NOW_MS), Ok(()));
    assert!(!static_only().is_insecure());
}

#[test]
fn an_hmac_signature_with_a_seconds_timestamp_is_accepted() {
    assert_eq!(verify(&signed(NOW_S), BODY, &hmac_only(), NOW_MS), Ok(()));
}

#[test]
fn an_hmac_signature_with_a_milliseconds_timestamp_is_accepted() {
    assert_eq!(
        verify(&signed(NOW_MS - 1234), BODY, &hmac_only(), NOW_MS),
        Ok(())
    );
}

#[test]
fn a_sha256_prefixed_signature_is_accepted() {
    let sig = format!("sha256={}", sign(HMAC_KEY, NOW_S, BODY));
    let ts = NOW_S.to_string();
    let headers = [("x-signature", sig.as_str()), ("x-timestamp", ts.as_str())];
    assert_eq!(verify(&headers, BODY, &hmac_only(), NOW_MS), Ok(()));
}

#[test]
fn a_signature_over_another_body_is_refused() {
    let tampered = br#"{"message":{"type":"status-update","status":"ended"}}"#;
    assert_eq!(
        verify(&signed(NOW_S), tampered, &hmac_only(), NOW_MS),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn a_signature_made_with_another_key_or_unreadable_is_refused() {
    let ts = NOW_S.to_string();
    let other = sign("other-key", NOW_S, BODY);
    for sig in [other.as_str(), "zz-not-hex", ""] {
        let headers = [("x-signature", sig), ("x-timestamp", ts.as_str())];
        assert_eq!(
            verify(&headers, BODY, &hmac_only(), NOW_MS),
            Err(AuthError::BadSignature),
            "signature {sig:?}"
        );
    }
}

#[test]
fn a_signature_without_its_timestamp_is_missing_credentials() {
    let sig = sign(HMAC_KEY, NOW_S, BODY);
    assert_eq!(
        verify(&[("x-signature", sig.as_str())], BODY, &hmac_only(), NOW_MS),
        Err(AuthError::Missing)
    );
}

#[test]
fn a_correctly_signed_but_old_request_is_refused_as_stale() {
    let six_minutes_ms = 6 * 60 * 1000;
    let cfg = hmac_only();
    assert_eq!(
        verify(&signed(NOW_MS - six_minutes_ms), BODY, &cfg, NOW_MS),
        Err(AuthError::StaleTimestamp)
    );
    assert_eq!(
        verify(&signed(NOW_S - 6 * 60), BODY, &cfg, NOW_MS),
        Err(AuthError::StaleTimestamp),
        "the same window applies to a seconds timestamp"
    );
    assert_eq!(
        verify(&signed(NOW_MS + six_minutes_ms), BODY, &cfg, NOW_MS),
        Err(AuthError::StaleTimestamp),
        "a timestamp from the future is refused too"
    );
    assert_eq!(
        verify(&signed(NOW_MS - 4 * 60 * 1000), BODY, &cfg, NOW_MS),
        Ok(())
    );
}

#[test]
fn the_skew_window_is_configurable() {
    let cfg = hmac_only().with_max_skew(Duration::from_secs(10));
    assert_eq!(cfg.max_skew(), Duration::from_secs(10));
    assert_eq!(
        verify(&signed(NOW_S - 11), BODY, &cfg, NOW_MS),
        Err(AuthError::StaleTimestamp)
    );
    assert_eq!(verify(&signed(NOW_S - 9), BODY, &cfg, NOW_MS), Ok(()));
}

#[test]
fn with_both_methods_configured_either_valid_one_passes() {
    let cfg = both();
    assert_eq!(
        verify(&[("x-vapi-secret", SECRET)], BODY, &cfg, NOW_MS),
        Ok(())
    );
    assert_eq!(verify(&signed(NOW_S), BODY, &cfg, NOW_MS), Ok(()));
    let mut wrong_secret_good_sig = signed(NOW_S);
    wrong_secret_good_sig.push(("x-vapi-secret".into(), "wrong".into()));
    assert_eq!(verify(&wrong_secret_good_sig, BODY, &cfg, NOW_MS), Ok(()));
    let mut wrong_both = signed(NOW_S - 3600);
    wrong_both.push(("x-vapi-secret".into(), "wrong".into()));
    assert_eq!(
        verify(&wrong_both, BODY, &cfg, NOW_MS),
        Err(AuthError::StaleTimestamp),
        "the HMAC failure is the one reported"
    );
}

#[test]
fn the_hmac_key_is_not_accepted_as_a_static_secret() {
    assert_eq!(
        verify(&[("x-vapi-secret", HMAC_KEY)], BODY, &hmac_only(), NOW_MS),
        Err(AuthError::Missing)
    );
}

#[test]
fn a_closure_over_a_header_map_can_serve_as_headers() {
    let map: HashMap<String, String> = [("x-vapi-secret".to_owned(), SECRET.to_owned())].into();
    let headers = auth::from_fn(|name| map.get(name).map(String::as_str));
    assert_eq!(verify(&headers, BODY, &static_only(), NOW_MS), Ok(()));
}

#[test]
fn timestamp_units_are_told_apart_by_magnitude() {
    assert_eq!(timestamp_ms("1790000000"), Some(1_790_000_000_000));
    assert_eq!(timestamp_ms("1790000000000"), Some(1_790_000_000_000));
    assert_eq!(timestamp_ms(" 1790000000.9 "), Some(1_790_000_000_000));
    assert_eq!(timestamp_ms("yesterday"), None);
    assert_eq!(timestamp_ms(&i64::MIN.to_string()), Some(i64::MIN));
}

#[test]
fn the_config_never_prints_its_secrets() {
    let printed = format!("{:?}", both());
    assert!(
        !printed.contains(SECRET) && !printed.contains(HMAC_KEY),
        "{printed}"
    );
}
