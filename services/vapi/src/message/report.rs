//! Accessors for what a call leaves behind: cost, transcript, artifact and analysis.

use serde_json::Value;

use super::{Message, MessageType, at, f64_at, str_at};

/// `transcriptType` of a `transcript` message. Open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TranscriptType {
    /// `partial`: will be superseded.
    Partial,
    /// `final`: worth recording.
    Final,
    /// Anything else, verbatim.
    Other(String),
}

/// Provider cost split (`costBreakdown`), in USD as sent. See [`usd_to_micros`] for storage.
#[derive(Debug, Clone, PartialEq)]
pub struct CostBreakdown {
    /// Telephony transport.
    pub transport: Option<f64>,
    /// Speech-to-text.
    pub stt: Option<f64>,
    /// Language model.
    pub llm: Option<f64>,
    /// Text-to-speech.
    pub tts: Option<f64>,
    /// Vapi's own fee.
    pub vapi: Option<f64>,
    /// The total.
    pub total: Option<f64>,
    /// The whole object, token counts and unknown fields included.
    pub raw: Value,
}

/// One entry of `artifact.messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactMessage {
    /// `user`, `bot`, `assistant`, `system`, `tool_calls`, …
    pub role: Option<String>,
    /// The text (absent on tool-call entries).
    pub message: Option<String>,
    /// Epoch milliseconds.
    pub time: Option<f64>,
    /// Offset into the call.
    pub seconds_from_start: Option<f64>,
}

/// Converts a USD amount to integer micro-dollars (1 USD = 1 000 000).
///
/// Rounding: to the nearest micro-dollar, halves away from zero (`f64::round` on `usd × 10⁶`).
/// Provider costs are sent with at most about six decimals, so this is exact in practice; the
/// rule matters only for replays, which must give the same integer every time — and they do,
/// since the function is pure. Negative, non-finite or absurdly large (> 10¹² USD) amounts are
/// not costs and give `None`.
pub fn usd_to_micros(usd: f64) -> Option<i64> {
    const MAX_USD: f64 = 1.0e12;
    if !usd.is_finite() || !(0.0..=MAX_USD).contains(&usd) {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded to 10^18 just above"
    )]
    Some((usd * 1_000_000.0).round() as i64)
}

impl Message {
    /// `cost` in USD from the message, else from `call`.
    pub fn cost_usd(&self) -> Option<f64> {
        f64_at(self.msg(), &["cost"]).or_else(|| f64_at(self.call(), &["cost"]))
    }

    /// The provider cost in integer micro-dollars: `cost`, else `costBreakdown.total`.
    pub fn cost_micros(&self) -> Option<i64> {
        self.cost_usd()
            .or_else(|| self.cost_breakdown()?.total)
            .and_then(usd_to_micros)
    }

    /// `costBreakdown` from `call` (where the spec puts it), else from the message.
    pub fn cost_breakdown(&self) -> Option<CostBreakdown> {
        let raw = at(self.call(), &["costBreakdown"])
            .or_else(|| at(self.msg(), &["costBreakdown"]))
            .filter(|v| v.is_object())?;
        let part = |key: &str| f64_at(raw, &[key]);
        Some(CostBreakdown {
            transport: part("transport"),
            stt: part("stt"),
            llm: part("llm"),
            tts: part("tts"),
            vapi: part("vapi"),
            total: part("total"),
            raw: raw.clone(),
        })
    }

    /// `role` of a `transcript` message (`user` or `assistant`).
    pub fn role(&self) -> Option<&str> {
        str_at(self.msg(), &["role"])
    }

    /// `transcriptType` of a `transcript` message. The filtered type
    /// `transcript[transcriptType="final"]` implies `Final` when the field itself is absent.
    pub fn transcript_type(&self) -> Option<TranscriptType> {
        if let Some(raw) = str_at(self.msg(), &["transcriptType"]) {
            return Some(match raw {
                "partial" => TranscriptType::Partial,
                "final" => TranscriptType::Final,
                other => TranscriptType::Other(other.to_owned()),
            });
        }
        let wire_type = str_at(self.msg(), &["type"])?;
        wire_type
            .contains("transcriptType=\"final\"")
            .then_some(TranscriptType::Final)
    }

    /// The utterance of a `transcript` message.
    pub fn transcript(&self) -> Option<&str> {
        str_at(self.msg(), &["transcript"])
    }

    /// The whole-call transcript: `artifact.transcript`, else (on an `end-of-call-report`) the
    /// unofficial top-level `transcript`.
    pub fn artifact_transcript(&self) -> Option<&str> {
        str_at(self.msg(), &["artifact", "transcript"]).or_else(|| {
            (self.kind == MessageType::EndOfCallReport)
                .then(|| str_at(self.msg(), &["transcript"]))
                .flatten()
        })
    }

    /// `artifact.messages`, in order; malformed entries are skipped.
    pub fn artifact_messages(&self) -> Vec<ArtifactMessage> {
        let Some(Value::Array(items)) = at(self.msg(), &["artifact", "messages"]) else {
            return Vec::new();
        };
        items
            .iter()
            .filter(|item| item.is_object())
            .map(|item| ArtifactMessage {
                role: str_at(item, &["role"]).map(str::to_owned),
                message: str_at(item, &["message"]).map(str::to_owned),
                time: f64_at(item, &["time"]),
                seconds_from_start: f64_at(item, &["secondsFromStart"]),
            })
            .collect()
    }

    /// `artifact.recordingUrl`, else the unofficial top-level `recordingUrl`.
    pub fn recording_url(&self) -> Option<&str> {
        str_at(self.msg(), &["artifact", "recordingUrl"])
            .or_else(|| str_at(self.msg(), &["recordingUrl"]))
    }

    /// `analysis.summary`, else the unofficial top-level `summary`.
    pub fn analysis_summary(&self) -> Option<&str> {
        str_at(self.msg(), &["analysis", "summary"]).or_else(|| str_at(self.msg(), &["summary"]))
    }

    /// `analysis.successEvaluation` as text (the spec sends a string even for booleans; a bare
    /// boolean or number is turned into text too).
    pub fn success_evaluation(&self) -> Option<String> {
        match at(self.msg(), &["analysis", "successEvaluation"])? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// `analysis.structuredData`, untouched.
    pub fn structured_data(&self) -> Option<&Value> {
        at(self.msg(), &["analysis", "structuredData"])
    }
}
