//! An invoice as a document: JSON (the API and `voiceappoint invoice`) or CSV (finance spreadsheets).
//! Both are pure functions of the invoice, so the same events always give the same bytes.

use chrono::{DateTime, Utc};
use domain::billing::{CURRENCY, Invoice, Period};
use domain::catalog::format_minor;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::replay::Issued;

/// `draft` while the period runs, `final` once it has ended.
pub fn status(period: Period, now: DateTime<Utc>) -> &'static str {
    if period.end() <= now {
        "final"
    } else {
        "draft"
    }
}

/// The SHA-256 (hex) of the invoice's canonical JSON.
pub fn invoice_hash(invoice: &Invoice) -> String {
    let bytes = serde_json::to_vec(invoice).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// An issued invoice's seal, as shown.
#[derive(Debug, Serialize)]
pub struct IssuedView<'a> {
    pub issued_at: DateTime<Utc>,
    pub total_minor: i64,
    pub usage_events: u64,
    pub usage_hash: &'a str,
    pub invoice_hash: &'a str,
}

/// The invoice with who and what state it is in.
#[derive(Debug, Serialize)]
pub struct InvoiceDocument<'a> {
    pub business_id: Uuid,
    pub business: &'a str,
    pub status: &'static str,
    #[serde(flatten)]
    pub invoice: &'a Invoice,
    pub total: String,
    pub issued: Option<IssuedView<'a>>,
}

impl<'a> InvoiceDocument<'a> {
    pub fn new(
        business_id: Uuid,
        business: &'a str,
        status: &'static str,
        invoice: &'a Invoice,
        issued: Option<&'a Issued>,
    ) -> Self {
        Self {
            business_id,
            business,
            status,
            invoice,
            total: format_minor(invoice.total_minor, CURRENCY),
            issued: issued.map(|i| IssuedView {
                issued_at: i.issued_at,
                total_minor: i.total_minor,
                usage_events: i.usage_events,
                usage_hash: &i.usage_hash,
                invoice_hash: &i.invoice_hash,
            }),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// One row per line and a final `total` row.
    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "business",
            "period",
            "status",
            "currency",
            "kind",
            "plan",
            "from",
            "to",
            "description",
            "quantity",
            "unit_price",
            "amount",
        ])?;
        let money = |minor| format_minor(minor, CURRENCY);
        for l in &self.invoice.lines {
            w.write_record([
                self.business,
                &self.invoice.period,
                self.status,
                CURRENCY,
                l.kind,
                l.plan,
                &l.from.to_string(),
                &l.to.to_string(),
                &l.description,
                &l.quantity.to_string(),
                &money(l.unit_price_minor),
                &money(l.amount_minor),
            ])?;
        }
        w.write_record([
            self.business,
            &self.invoice.period,
            self.status,
            CURRENCY,
            "total",
            "",
            "",
            "",
            "",
            "",
            "",
            &self.total,
        ])?;
        w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }
}
