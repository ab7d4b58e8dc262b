//! The platform the HTTP benchmarks measure: API + relay + every projector in this process (through
//! `api::testkit::TestApp`, the same wiring the acceptance tests use) on a throwaway database and a
//! JetStream stream of its own, a business onboarded over the REST API as an owner does it, and the checks
//! run after the load (no two appointments overlap; the allocation table matches the events).

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use api::tenancy::rate_limit::RateLimit;
use api::testkit::TestApp;
use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use events::catalog::PlatformRole;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::bench::BenchDb;
use crate::config::Config;

/// The business's zone; opening hours are 08:00–20:00 local, every day.
pub const TZ: Tz = chrono_tz::America::New_York;
/// Bookable starts per staff member and day: 08:00, 08:30, …, 19:30 (a 30-minute service on a 30-minute grid).
const STARTS_PER_DAY: usize = 24;

/// The running platform and a keep-alive client sized for the benchmark's concurrency.
pub struct Platform {
    pub app: TestApp,
    pub http: Client,
    db: BenchDb,
}

/// The onboarded business: owner token, slug, one 30-minute service, three staff who perform it, and the
/// provider id of the pool number it claimed, if it claimed one (what Vapi sends as `call.phoneNumberId`).
pub struct Business {
    pub token: String,
    pub slug: String,
    pub service_id: String,
    pub staff: Vec<String>,
    pub phone_id: Option<String>,
}

/// Pool numbers are +1 415 followed by seven digits, from this one on (an exchange may not start with 0 or 1).
const FIRST_POOL_NUMBER: usize = 2_000_000;
/// How many businesses can claim a pool number of their own.
pub const MAX_NUMBERED_BUSINESSES: usize = 10_000_000 - FIRST_POOL_NUMBER;

impl Platform {
    /// Creates the throwaway database, migrates it and starts every role on it.
    pub async fn start(config: &Config, clients: usize) -> anyhow::Result<Self> {
        let (db, cfg) = BenchDb::create(config).await?;
        let pool = match crate::platform::open_store_migrated(&cfg).await {
            Ok(store) => store.pool().clone(),
            Err(err) => {
                db.drop_db().await?;
                return Err(err);
            }
        };
        let app = TestApp::spawn(pool).await;
        // The server closes a kept-alive connection that sends no request for `HEADER_READ_TIMEOUT`; a
        // client that reuses one at that moment gets "error sending request" (seen once in a few thousand
        // bookings when the load paused between cases). Clients must drop idle connections sooner.
        let http = Client::builder()
            .pool_max_idle_per_host(clients.max(1))
            .pool_idle_timeout(api::server::HEADER_READ_TIMEOUT / 2)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { app, http, db })
    }

    /// Stops every role, deletes the JetStream stream and drops the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Self { app, db, .. } = self;
        let stream = app.bus.stream_name.clone();
        let js = store::bus::jetstream(app.nats.clone());
        let pool = app.store.pool().clone();
        drop(app);
        // Let the relay, the projectors and the server see the cancellation before their database goes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        pool.close().await;
        if let Err(err) = js.delete_stream(&stream).await {
            tracing::warn!(%stream, error = %err, "could not delete the benchmark's JetStream stream");
        }
        db.drop_db().await
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// One JSON request; the body is `null` when the answer is not JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| path.to_owned())?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
        ok: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method, path, token, Some(body)).await?;
        ensure!(
            status == ok,
            "onboarding: {path} answered {status}: {value}"
        );
        Ok(value)
    }

    /// `count` businesses, each registered by its owner, with hours 08:00–20:00 daily, a 30-minute service
    /// bookable two years ahead and three staff; the per-tenant rate limits (API and tool calls) are lifted,
    /// as the benchmark measures the platform, not the limiter. With `claim_numbers` a platform admin also
    /// adds one pool number per business, which its owner claims (so the webhook routes by
    /// `call.phoneNumberId`), and every owner names the agent. Returns once the projectors have them all.
    pub async fn onboard_many(
        &self,
        count: usize,
        claim_numbers: bool,
    ) -> anyhow::Result<Vec<Business>> {
        let mut businesses = Vec::with_capacity(count);
        for n in 0..count {
            businesses.push(self.register(n).await?);
        }
        if claim_numbers {
            self.claim_numbers(&mut businesses).await?;
        }
        self.settle(Duration::from_secs(30)).await?;
        Ok(businesses)
    }

    /// Onboards the `n`-th business of the run (its owner's e-mail and its name carry `n`).
    async fn register(&self, n: usize) -> anyhow::Result<Business> {
        self.app
            .state
            .tenancy()
            .limiter
            .set_limit(RateLimit::UNLIMITED);
        self.app
            .state
            .tenancy()
            .tool_limiter
            .set_limit(RateLimit::UNLIMITED);
        let reg = self
            .expect(
                Method::POST,
                "/api/v1/auth/register",
                None,
                json!({"email": format!("owner{n}@bench.test"), "password": "benchmark password",
                       "business": {"name": format!("Bench Salon {n}"), "business_type": "salon",
                                    "timezone": TZ.name(), "currency": "USD"}}),
                StatusCode::CREATED,
            )
            .await?;
        let token = reg["access_token"].as_str().context("no token")?.to_owned();
        let slug = reg["business"]["slug"]
            .as_str()
            .context("no slug")?
            .to_owned();
        let t = Some(token.as_str());
        let day = json!([["08:00", "20:00"]]);
        let week: serde_json::Map<String, Value> =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .map(|d| ((*d).to_owned(), day.clone()))
                .collect();
        let base = format!("/api/v1/businesses/{slug}");
        self.expect(
            Method::PUT,
            &format!("{base}/hours"),
            t,
            json!({"weekly": week, "overrides": {}}),
            StatusCode::OK,
        )
        .await?;
        let service = self
            .expect(
                Method::POST,
                &format!("{base}/services"),
                t,
                json!({"name": "Haircut", "duration_minutes": 30, "price": "35.00",
                       "slot_step_minutes": 30, "horizon_days": 730}),
                StatusCode::CREATED,
            )
            .await?;
        let service_id = service["id"].as_str().context("no service id")?.to_owned();
        let mut staff = Vec::new();
        for name in ["Ann", "Bea", "Cal"] {
            let member = self
                .expect(
                    Method::POST,
                    &format!("{base}/staff"),
                    t,
                    json!({"name": name, "service_ids": [service_id]}),
                    StatusCode::CREATED,
                )
                .await?;
            staff.push(member["id"].as_str().context("no staff id")?.to_owned());
        }
        Ok(Business {
            token,
            slug,
            service_id,
            staff,
            phone_id: None,
        })
    }

    /// A pool number per business (`pn_bench_<n>`), added by a platform admin and claimed by the owner,
    /// and the agent named.
    async fn claim_numbers(&self, businesses: &mut [Business]) -> anyhow::Result<()> {
        let (email, password) = ("ops@bench.test", "operator password");
        api::tenancy::admin::create_platform_user(
            &self.app.store,
            email,
            password,
            PlatformRole::PlatformAdmin,
        )
        .await
        .context("creating the platform admin")?;
        let admin = self
            .expect(
                Method::POST,
                "/api/v1/auth/token",
                None,
                json!({"email": email, "password": password}),
                StatusCode::OK,
            )
            .await?;
        let admin = admin["access_token"].as_str().context("no admin token")?;
        let number = |n: usize| format!("+1415{:07}", FIRST_POOL_NUMBER + n);
        let provider_id = |n: usize| format!("pn_bench_{n}");
        for n in 0..businesses.len() {
            self.expect(
                Method::POST,
                "/api/v1/admin/phone-numbers",
                Some(admin),
                json!({"number": number(n), "provider_phone_number_id": provider_id(n),
                       "locality": "San Francisco", "region": "CA"}),
                StatusCode::CREATED,
            )
            .await?;
        }
        // The pool listing is a read model: claim once the projector has it.
        self.settle(Duration::from_secs(30)).await?;
        for (n, business) in businesses.iter_mut().enumerate() {
            let base = format!("/api/v1/businesses/{}", business.slug);
            let token = Some(business.token.as_str());
            self.expect(
                Method::POST,
                &format!("{base}/phone-number"),
                token,
                json!({"number": number(n)}),
                StatusCode::OK,
            )
            .await?;
            self.expect(
                Method::PUT,
                &format!("{base}/agent"),
                token,
                json!({"name": "Sara", "greeting": format!("Bench Salon {n}, Sara speaking!")}),
                StatusCode::OK,
            )
            .await?;
            business.phone_id = Some(provider_id(n));
        }
        Ok(())
    }

    /// Waits until every projector has applied everything committed now (gives up after `limit`).
    pub async fn settle(&self, limit: Duration) -> anyhow::Result<()> {
        let head = self.app.store.committed_head().await?;
        let deadline = tokio::time::Instant::now() + limit;
        for projector in projections::all() {
            loop {
                let cp =
                    projections::runtime::load_checkpoint(self.app.store.pool(), projector.name())
                        .await?;
                if cp.position >= head {
                    break;
                }
                if tokio::time::Instant::now() > deadline {
                    bail!(
                        "projector {} still behind after {limit:?}",
                        projector.name()
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// After the load: appointments booked per the events, overlapping pairs among them (same staff,
    /// intervals with buffers intersecting), and differences between the allocation table and the events.
    pub async fn check_bookings(&self) -> anyhow::Result<BookingCheck> {
        let pool = self.app.store.pool();
        let booked: i64 = sqlx::query_scalar(
            "select count(*) from events where event_type = 'AppointmentBooked'",
        )
        .fetch_one(pool)
        .await?;
        // Derived from the events, not from the allocation table (whose exclusion constraint would make a
        // check against it vacuous). The benchmark never cancels or moves, so every booking still stands.
        let overlaps: i64 = sqlx::query_scalar(
            "with b as (select global_position as id, data->'placement'->>'staff_id' as staff, \
               tstzrange((data->'placement'->>'start')::timestamptz \
                           - make_interval(mins => (data->'placement'->>'buffer_before_minutes')::int), \
                         (data->'placement'->>'end')::timestamptz \
                           + make_interval(mins => (data->'placement'->>'buffer_after_minutes')::int)) as during \
               from events where event_type = 'AppointmentBooked') \
             select count(*) from b x join b y \
               on x.staff is not distinct from y.staff and x.id < y.id and x.during && y.during",
        )
        .fetch_one(pool)
        .await?;
        let report = api::booking::verify::verify(&self.app.store).await?;
        Ok(BookingCheck {
            booked: usize::try_from(booked)?,
            overlaps: usize::try_from(overlaps)?,
            differences: report.differences.len(),
        })
    }
}

/// What [`Platform::check_bookings`] found.
#[derive(Debug, Clone, Copy)]
pub struct BookingCheck {
    pub booked: usize,
    pub overlaps: usize,
    pub differences: usize,
}

impl BookingCheck {
    pub fn clean(&self) -> bool {
        self.overlaps == 0 && self.differences == 0
    }
}

/// Distinct free slots, handed out in order: staff first, then the next start of the day, then the next
/// day, from `first_day` for `days` days. Two different indexes never overlap.
#[derive(Debug, Clone)]
pub struct SlotPlan {
    first_day: NaiveDate,
    days: usize,
    staff: Vec<String>,
}

impl SlotPlan {
    /// `offset_days` after today (business-local) for `days` days; the service's horizon is 730 days.
    pub fn new(business: &Business, offset_days: u64, days: usize) -> anyhow::Result<Self> {
        let today = events::Clock::now(&events::SystemClock)
            .with_timezone(&TZ)
            .date_naive();
        let first_day = today
            .checked_add_days(Days::new(offset_days))
            .context("date out of range")?;
        Ok(Self {
            first_day,
            days,
            staff: business.staff.clone(),
        })
    }

    /// How many distinct slots the plan holds.
    pub fn capacity(&self) -> usize {
        self.days * STARTS_PER_DAY * self.staff.len()
    }

    /// The `k`-th day of the plan as `YYYY-MM-DD`.
    pub fn day(&self, k: usize) -> String {
        (self.first_day + Days::new((k % self.days.max(1)) as u64)).to_string()
    }

    /// The `k`-th slot: local start `YYYY-MM-DDTHH:MM` and the staff id; `None` past the capacity.
    pub fn slot(&self, k: usize) -> Option<(String, &str)> {
        let per_day = STARTS_PER_DAY * self.staff.len();
        let day = k / per_day;
        if day >= self.days {
            return None;
        }
        let start = self.start(day, (k % per_day) / self.staff.len());
        Some((start, self.staff[k % self.staff.len()].as_str()))
    }

    /// Local start of the `index`-th bookable time on the plan's `day`-th day.
    pub fn start(&self, day: usize, index: usize) -> String {
        let minutes = 8 * 60 + 30 * (index % STARTS_PER_DAY);
        format!(
            "{}T{:02}:{:02}",
            self.first_day + Days::new(day as u64),
            minutes / 60,
            minutes % 60
        )
    }
}
