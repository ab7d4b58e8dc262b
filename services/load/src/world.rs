//! The businesses a load run calls, created the way customers create them: over the REST API (register,
//! hours, services, staff), then a pool number added by a platform admin and claimed by the owner.

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use events::catalog::PlatformRole;
use reqwest::Method;
use serde_json::{Value, json};
use store::EventStore;
use uuid::Uuid;

/// Booking dates are spread over this many days (from two days ahead, so minimum notice never bites).
pub const HORIZON_DAYS: u32 = 90;

/// One business as the load generator sees it.
#[derive(Debug, Clone)]
pub struct Business {
    pub slug: String,
    pub tenant_id: Uuid,
    /// The provider's id of its claimed number: what Vapi puts in `call.phoneNumberId`.
    pub phone_number_id: String,
    /// Service ids (for staff) and the names callers say.
    pub services: Vec<String>,
    pub service_names: Vec<String>,
}

/// A small REST client bound to the platform's base URL.
#[derive(Clone)]
pub struct Rest {
    pub http: reqwest::Client,
    pub base: String,
}

impl Rest {
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()
            .unwrap_or_default();
        Self { http, base }
    }

    /// Sends `body` as JSON (except for GET) with `token`; the status and the parsed body.
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<(reqwest::StatusCode, Value)> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if method != Method::GET {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn expect(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(token, method.clone(), path, body).await?;
        ensure!(
            status.is_success(),
            "{method} {path} answered {status}: {answer}"
        );
        Ok(answer)
    }
}

const ZONES: [&str; 4] = [
    "Europe/Madrid",
    "America/New_York",
    "Asia/Tokyo",
    "America/Los_Angeles",
];

/// Creates `count` businesses (two services, two staff each, open 08:00–20:00 every day) with claimed numbers.
pub async fn create(
    store: &EventStore,
    rest: &Rest,
    count: usize,
) -> anyhow::Result<Vec<Business>> {
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let admin_email = format!("ops-{run}@load.test");
    api::tenancy::admin::create_platform_user(
        store,
        &admin_email,
        "operator password",
        PlatformRole::PlatformAdmin,
    )
    .await
    .context("creating the platform admin")?;
    let tok = rest
        .expect(
            "",
            Method::POST,
            "/api/v1/auth/token",
            &json!({"email": admin_email, "password": "operator password"}),
        )
        .await?;
    let admin = tok["access_token"]
        .as_str()
        .context("admin token")?
        .to_owned();

    let mut registered = Vec::new();
    for i in 0..count {
        registered.push(register(rest, &run, i).await?);
    }
    // Staff refer to services, and claims to numbers: both are checked against read models.
    crate::platform::wait_caught_up(store, Duration::from_mins(1)).await?;
    let mut made = Vec::new();
    for (i, (business, owner)) in registered.into_iter().enumerate() {
        add_staff(rest, &owner, &business).await?;
        let number = format!("+1415555{i:04}");
        let provider_id = format!("pn_load_{run}_{i}");
        rest.expect(
            &admin,
            Method::POST,
            "/api/v1/admin/phone-numbers",
            &json!({"number": number, "provider_phone_number_id": provider_id,
                    "locality": "San Francisco", "region": "CA"}),
        )
        .await?;
        made.push((business, owner, number, provider_id));
    }
    crate::platform::wait_caught_up(store, Duration::from_mins(1)).await?;
    let mut out = Vec::new();
    for (mut business, owner, number, provider_id) in made {
        rest.expect(
            &owner,
            Method::POST,
            &format!("/api/v1/businesses/{}/phone-number", business.slug),
            &json!({"number": number}),
        )
        .await?;
        business.phone_number_id = provider_id;
        out.push(business);
    }
    crate::platform::wait_caught_up(store, Duration::from_mins(1)).await?;
    Ok(out)
}

/// Registers business `i` and sets its hours and services; returns it with the owner's token.
async fn register(rest: &Rest, run: &str, i: usize) -> anyhow::Result<(Business, String)> {
    let reg = rest
        .expect(
            "",
            Method::POST,
            "/api/v1/auth/register",
            &json!({
            "email": format!("owner{i}-{run}@load.test"), "password": "correct horse battery",
            "business": {"name": format!("Load Salon {i}"), "business_type": "salon",
                         "timezone": ZONES[i % ZONES.len()], "currency": "EUR"}}),
        )
        .await?;
    let token = reg["access_token"]
        .as_str()
        .context("owner token")?
        .to_owned();
    let slug = reg["business"]["slug"].as_str().context("slug")?.to_owned();
    let tenant_id: Uuid = reg["business"]["id"]
        .as_str()
        .context("business id")?
        .parse()?;
    let day = json!([["08:00", "20:00"]]);
    rest.expect(&token, Method::PUT, &format!("/api/v1/businesses/{slug}/hours"),
        &json!({"weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
                "overrides": {}}))
        .await?;
    let mut services = Vec::new();
    for (name, minutes) in [("Haircut", 30), ("Colour", 60)] {
        let s = rest
            .expect(
                &token,
                Method::POST,
                &format!("/api/v1/businesses/{slug}/services"),
                &json!({"name": name, "duration_minutes": minutes, "price": "35.00",
                        "slot_step_minutes": 30, "horizon_days": HORIZON_DAYS + 5}),
            )
            .await?;
        services.push(s["id"].as_str().context("service id")?.to_owned());
    }
    if slug.is_empty() {
        bail!("registration returned no slug");
    }
    Ok((
        Business {
            slug,
            tenant_id,
            phone_number_id: String::new(),
            services,
            service_names: vec!["Haircut".into(), "Colour".into()],
        },
        token,
    ))
}

async fn add_staff(rest: &Rest, owner: &str, business: &Business) -> anyhow::Result<()> {
    for name in ["Ann", "Bea"] {
        rest.expect(
            owner,
            Method::POST,
            &format!("/api/v1/businesses/{}/staff", business.slug),
            &json!({"name": name, "service_ids": business.services}),
        )
        .await?;
    }
    Ok(())
}
