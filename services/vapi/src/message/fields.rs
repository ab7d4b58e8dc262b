//! Accessors for the call, routing and lifecycle fields of a message.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{CallStatus, Message, at, str_at};

impl Message {
    /// `message.timestamp` in epoch milliseconds (sent as an integer or a float; an RFC 3339
    /// string is accepted too).
    pub fn timestamp_ms(&self) -> Option<i64> {
        match at(self.msg(), &["timestamp"])? {
            Value::Number(n) => n.as_i64().or_else(|| float_ms(n.as_f64()?)),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| float_ms(s.trim().parse().ok()?))
                .or_else(|| Some(rfc3339(s)?.timestamp_millis())),
            _ => None,
        }
    }

    /// `call.id`.
    pub fn call_id(&self) -> Option<&str> {
        str_at(self.call(), &["id"])
    }

    /// `call.orgId`.
    pub fn org_id(&self) -> Option<&str> {
        str_at(self.call(), &["orgId"])
    }

    /// `call.type` (`inboundPhoneCall`, `outboundPhoneCall`, `webCall`, …).
    pub fn call_type(&self) -> Option<&str> {
        str_at(self.call(), &["type"])
    }

    /// `call.assistantId`.
    pub fn assistant_id(&self) -> Option<&str> {
        str_at(self.call(), &["assistantId"])
    }

    /// The Vapi phone-number id the call came through: `call.phoneNumberId`, else
    /// `phoneNumber.id`. The primary tenant-routing key.
    pub fn phone_number_id(&self) -> Option<&str> {
        str_at(self.call(), &["phoneNumberId"])
            .or_else(|| str_at(self.msg(), &["phoneNumber", "id"]))
    }

    /// The dialled number (`phoneNumber.number`, else `call.phoneNumber.number`), E.164.
    pub fn dialled_number(&self) -> Option<&str> {
        str_at(self.msg(), &["phoneNumber", "number"])
            .or_else(|| str_at(self.call(), &["phoneNumber", "number"]))
    }

    /// The caller: `call.customer.number`, else `customer.number`, E.164.
    pub fn customer_number(&self) -> Option<&str> {
        str_at(self.call(), &["customer", "number"])
            .or_else(|| str_at(self.msg(), &["customer", "number"]))
    }

    /// A tenant hint: `call.assistantOverrides.metadata.tenant_id`, else
    /// `call.metadata.tenant_id`. Only a hint — it must name a real business.
    pub fn tenant_hint(&self) -> Option<&str> {
        str_at(
            self.call(),
            &["assistantOverrides", "metadata", "tenant_id"],
        )
        .or_else(|| str_at(self.call(), &["metadata", "tenant_id"]))
    }

    /// `message.status` of a `status-update`.
    pub fn status(&self) -> Option<CallStatus> {
        str_at(self.msg(), &["status"]).map(CallStatus::from_wire)
    }

    /// `call.status` as carried on any message.
    pub fn call_status(&self) -> Option<CallStatus> {
        str_at(self.call(), &["status"]).map(CallStatus::from_wire)
    }

    /// `endedReason` from the message, else from `call` (an open string).
    pub fn ended_reason(&self) -> Option<&str> {
        str_at(self.msg(), &["endedReason"]).or_else(|| str_at(self.call(), &["endedReason"]))
    }

    /// `startedAt` from the message, else from `call`.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.instant("startedAt")
    }

    /// `endedAt` from the message, else from `call`.
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.instant("endedAt")
    }

    /// `endedAt − startedAt`, when both are known and in order. Reported duration fields are
    /// ignored on purpose: they are not in the spec and not always present (VAPI.md).
    pub fn duration(&self) -> Option<chrono::Duration> {
        let duration = self.ended_at()? - self.started_at()?;
        (duration >= chrono::Duration::zero()).then_some(duration)
    }

    fn instant(&self, key: &str) -> Option<DateTime<Utc>> {
        str_at(self.msg(), &[key])
            .and_then(rfc3339)
            .or_else(|| str_at(self.call(), &[key]).and_then(rfc3339))
    }
}

fn rfc3339(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn float_ms(ms: f64) -> Option<i64> {
    // Beyond ±2^53 a float holds no millisecond precision anyway; refusing keeps the cast exact.
    const LIMIT: f64 = 9_007_199_254_740_992.0;
    if !ms.is_finite() || ms.abs() >= LIMIT {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, reason = "range checked just above")]
    Some(ms.trunc() as i64)
}
