//! Removes credentials from a JSON tree before it is stored or logged.
//!
//! Vapi echoes configuration back at us: a Twilio number carries `twilioAuthToken`, an assistant
//! may carry `serverUrlSecret` or `credentials`, a server block may carry an `Authorization`
//! header. None of that may reach the event store or a log line (DESIGN.md §8).

use serde_json::{Map, Value};

/// What a secret value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Key endings (compared case-insensitively, ignoring `_` and `-`) that mark a secret. Matching
/// on the ending catches `twilioAuthToken`, `twilioApiSecret`, `serverUrlSecret`, `x-vapi-secret`
/// and friends, while `promptTokens` or `credentialIds` (counts and references, not secrets) are
/// left alone.
const SECRET_ENDINGS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "privatekey",
    "credential",
    "credentials",
    "authorization",
    "signature",
];

/// A copy of `value` with the value of every secret-looking key, at any depth, replaced by
/// `"[redacted]"`. `null` stays `null`: it reveals nothing and shows the field was empty.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, child)| {
                    let child = if is_secret_key(key) && !child.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(child)
                    };
                    (key.clone(), child)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        scalar => scalar.clone(),
    }
}

/// Whether a key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let normalized: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_ENDINGS
        .iter()
        .any(|ending| normalized.ends_with(ending))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn twilio_credentials_are_replaced_wherever_they_sit() {
        let payload = json!({"message": {"phoneNumber": {
            "provider": "twilio", "twilioAccountSid": "AC123", "twilioAuthToken": "tok",
            "twilioApiSecret": "sec", "number": "+15550001111"},
            "call": {"phoneNumber": {"twilioAuthToken": "tok2"}}}});
        let clean = redact(&payload);
        let number = &clean["message"]["phoneNumber"];
        assert_eq!(number["twilioAuthToken"], REDACTED);
        assert_eq!(number["twilioApiSecret"], REDACTED);
        assert_eq!(number["twilioAccountSid"], "AC123");
        assert_eq!(number["number"], "+15550001111");
        assert_eq!(
            clean["message"]["call"]["phoneNumber"]["twilioAuthToken"],
            REDACTED
        );
        assert!(!clean.to_string().contains("tok"));
    }

    #[test]
    fn secret_keys_match_whatever_their_case_and_separators() {
        for key in [
            "apiKey",
            "API_KEY",
            "secret",
            "Password",
            "credentials",
            "token",
            "authToken",
            "serverUrlSecret",
            "X-Vapi-Secret",
            "Authorization",
        ] {
            assert!(is_secret_key(key), "{key} should be redacted");
        }
    }

    #[test]
    fn token_counts_and_ordinary_fields_are_kept() {
        for key in [
            "llmPromptTokens",
            "completionTokens",
            "credentialIds",
            "number",
            "id",
        ] {
            assert!(!is_secret_key(key), "{key} should be kept");
        }
    }

    #[test]
    fn a_secret_holding_an_object_is_replaced_whole() {
        let clean = redact(&json!([{"credentials": [{"provider": "x", "apiKey": "k"}]}]));
        assert_eq!(clean, json!([{"credentials": REDACTED}]));
    }

    #[test]
    fn a_null_secret_stays_null() {
        assert_eq!(redact(&json!({"apiKey": null})), json!({"apiKey": null}));
    }
}
