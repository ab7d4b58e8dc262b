//! Billing acceptance tests (issue 6): a simulated month written as real events, the billing projector
//! killed and restarted while it is written, then the finance replay reconciled against the projection;
//! tampering, month close and late usage detected; invoices byte-identical across runs and rebuilds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;
use std::time::Duration;

use api::billing::ledger::{close_period, reconcile};
use api::billing::render::{InvoiceDocument, status};
use api::billing::replay::replay;
use api::billing::simulate::{self, SimBusiness, Simulation};
use api::billing::{read, simulate::late_call};
use chrono::{DateTime, TimeZone, Utc};
use domain::billing::{Period, invoice};
use projections::{ProjectorRunner, RunnerConfig};
use rand::Rng;
use sqlx::PgPool;
use store::EventStore;
use store::bus::BusConfig;
use store::relay::{Relay, RelayConfig};
use tokio_util::sync::CancellationToken;

struct Harness {
    store: EventStore,
    js: async_nats::jetstream::Context,
    bus: BusConfig,
    stop: CancellationToken,
}

impl Harness {
    async fn new(pool: PgPool) -> Self {
        let store = EventStore::open(pool).await.unwrap();
        let nats = store::bus::connect(&api::testkit::nats_url())
            .await
            .unwrap();
        let js = store::bus::jetstream(nats);
        let bus = BusConfig::unique("bill");
        let stop = CancellationToken::new();
        let relay = Relay::new(
            store.clone(),
            js.clone(),
            bus.clone(),
            RelayConfig {
                batch_size: 200,
                poll_interval: Duration::from_millis(50),
                ..RelayConfig::default()
            },
        );
        tokio::spawn(relay.run(stop.clone()));
        Self {
            store,
            js,
            bus,
            stop,
        }
    }

    fn billing(&self, batch_size: usize) -> tokio::task::JoinHandle<()> {
        let runner = ProjectorRunner::new(
            self.store.clone(),
            self.js.clone(),
            self.bus.clone(),
            Arc::new(projections::billing::Billing),
            RunnerConfig {
                batch_size,
                ..RunnerConfig::default()
            },
        );
        let stop = self.stop.clone();
        tokio::spawn(async move { runner.run(stop).await.unwrap() })
    }

    /// Waits until the billing projector has applied everything committed now.
    async fn caught_up(&self) {
        let head = self.store.committed_head().await.unwrap();
        for _ in 0..1200 {
            let cp = projections::runtime::load_checkpoint(self.store.pool(), "billing")
                .await
                .unwrap();
            if cp.position >= head {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the billing projector never caught up");
    }

    async fn simulate(&self, sim: &Simulation) -> Vec<SimBusiness> {
        let businesses = simulate::businesses(&self.store, sim).await.unwrap();
        simulate::calls(&self.store, sim, &businesses, |_| {})
            .await
            .unwrap();
        businesses
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn october() -> Period {
    Period::parse("2026-10").unwrap()
}

/// The instant the tests pretend it is: October has ended, November runs.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

async fn assert_reconciles(store: &EventStore, period: Period, businesses: usize) {
    let report = reconcile(store, period, |_| {}).await.unwrap();
    assert_eq!(report.businesses, businesses);
    assert!(
        report.differences.is_empty(),
        "{period}: {:#?}",
        report.differences
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_simulated_month_reconciles_after_projector_kills_and_a_tamper_names_the_business(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let sim = Simulation {
        businesses: 6,
        calls: 1_200,
        period: october(),
        seed: 11,
        batch: 20,
    };
    let businesses = simulate::businesses(&h.store, &sim).await.unwrap();
    let writer = {
        let (store, list) = (h.store.clone(), businesses.clone());
        tokio::spawn(async move { simulate::calls(&store, &sim, &list, |_| {}).await.unwrap() })
    };
    // The projector is killed at random moments while the month is being written, then restarted — for
    // as long as the writer runs (a fixed number of kills outlasted a faster writer and tested nothing).
    let mut kills_while_writing = 0;
    while !writer.is_finished() && kills_while_writing < 50 {
        let projector = h.billing(40);
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(20..120))).await;
        projector.abort();
        let _ = projector.await;
        if !writer.is_finished() {
            kills_while_writing += 1;
        }
    }
    let usage_events = writer.await.unwrap();
    assert!(
        kills_while_writing >= 2,
        "the kills must land while the month is being written, or they test nothing \
         ({kills_while_writing} did)"
    );
    let _projector = h.billing(500);
    h.caught_up().await;

    for period in ["2026-09", "2026-10", "2026-11"] {
        assert_reconciles(&h.store, Period::parse(period).unwrap(), 6).await;
    }

    // Every simulated call started in October, even the ones that ended in November.
    let replayed = replay(&h.store, None, |_| {}).await.unwrap();
    let calls = |period: Period| -> i64 {
        replayed
            .accounts
            .values()
            .map(|a| invoice(&a.history, period).usage.calls)
            .sum()
    };
    assert_eq!(calls(october()), 1_200);
    assert_eq!(calls(Period::parse("2026-11").unwrap()), 0);
    assert_eq!(replayed.events, usage_events + 6 + 4 + 2 * 2);
    // Business 1 moved from starter to growth on the 15th: both fees, pro-rated.
    let changed = invoice(&replayed.accounts[&businesses[1].id].history, october());
    let fees: Vec<(&str, i64)> = changed
        .lines
        .iter()
        .filter(|l| l.kind == "plan_fee")
        .map(|l| (l.plan, l.quantity))
        .collect();
    assert_eq!(fees, vec![("starter", 14), ("growth", 17)]);

    // A deliberate tamper with the read model: reconcile names exactly that business.
    let victim = &businesses[2];
    let tampered = sqlx::query(
        "update billing_usage_daily set billable_units = billable_units + 10 \
         where tenant_id = $1 and kind = 'voice_seconds' and day = '2026-10-10'",
    )
    .bind(victim.id)
    .execute(h.store.pool())
    .await
    .unwrap();
    assert_eq!(tampered.rows_affected(), 1);
    let report = reconcile(&h.store, october(), |_| {}).await.unwrap();
    assert_eq!(report.differences.len(), 1, "{:#?}", report.differences);
    assert_eq!(report.differences[0].business, victim.slug);
    assert!(report.differences[0].problem.contains("projection"));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn closing_a_month_issues_each_invoice_once_and_late_usage_is_reported(pool: PgPool) {
    let h = Harness::new(pool).await;
    let _projector = h.billing(200);
    let sim = Simulation {
        businesses: 3,
        calls: 90,
        period: october(),
        seed: 12,
        batch: 500,
    };
    let businesses = h.simulate(&sim).await;

    let november = Period::parse("2026-11").unwrap();
    assert!(
        close_period(&h.store, november, now()).await.is_err(),
        "a running month cannot be closed"
    );
    let closed = close_period(&h.store, october(), now()).await.unwrap();
    assert_eq!(closed.iter().filter(|c| c.issued_now).count(), 3);
    let again = close_period(&h.store, october(), now()).await.unwrap();
    assert!(
        again.iter().all(|c| !c.issued_now),
        "closing twice issues nothing new"
    );
    h.caught_up().await;
    assert_reconciles(&h.store, october(), 3).await;

    let projected = read::account(h.store.pool(), businesses[0].id)
        .await
        .unwrap()
        .unwrap();
    let issued = &projected.issued["2026-10"];
    assert_eq!(
        issued.total_minor,
        invoice(&projected.history, october()).total_minor
    );

    // A call of October whose report arrives after the close: the sealed usage no longer matches.
    late_call(&h.store, &businesses[0], october())
        .await
        .unwrap();
    h.caught_up().await;
    let report = reconcile(&h.store, october(), |_| {}).await.unwrap();
    assert!(!report.differences.is_empty());
    assert!(
        report
            .differences
            .iter()
            .all(|d| d.business == businesses[0].slug)
    );
    assert!(report.differences.iter().any(|d| {
        d.problem
            .contains("usage changed after the invoice was issued")
    }));
}

/// The replayed invoice document of `business` (JSON and CSV bytes), and the projection's JSON.
async fn documents(store: &EventStore, business: &SimBusiness) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let replayed = replay(store, Some(business.id), |_| {}).await.unwrap();
    let account = &replayed.accounts[&business.id];
    let inv = invoice(&account.history, october());
    let doc = InvoiceDocument::new(
        business.id,
        &business.slug,
        status(october(), now()),
        &inv,
        account.issued.get("2026-10"),
    );
    let projected = read::account(store.pool(), business.id)
        .await
        .unwrap()
        .unwrap();
    let pinv = invoice(&projected.history, october());
    let pdoc = InvoiceDocument::new(
        business.id,
        &business.slug,
        status(october(), now()),
        &pinv,
        projected.issued.get("2026-10"),
    );
    (doc.to_json(), doc.to_csv().unwrap(), pdoc.to_json())
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_invoice_is_byte_identical_across_runs_and_a_rebuild_of_every_projection(pool: PgPool) {
    let h = Harness::new(pool).await;
    let projector = h.billing(200);
    let sim = Simulation {
        businesses: 4,
        calls: 200,
        period: october(),
        seed: 13,
        batch: 500,
    };
    let businesses = h.simulate(&sim).await;
    h.caught_up().await;
    projector.abort();
    let _ = projector.await;

    let first = documents(&h.store, &businesses[1]).await;
    assert_eq!(
        first.0, first.2,
        "the projection's invoice differs from the replay's"
    );
    assert_eq!(documents(&h.store, &businesses[1]).await, first);
    for projector in projections::all() {
        projections::rebuild::rebuild(&h.store, projector.as_ref())
            .await
            .unwrap_or_else(|e| panic!("rebuilding {}: {e}", projector.name()));
    }
    assert_eq!(documents(&h.store, &businesses[1]).await, first);
    let csv = String::from_utf8(first.1).unwrap();
    assert!(csv.starts_with(
        "business,period,status,currency,kind,plan,from,to,description,quantity,unit_price,amount\n"
    ));
    assert!(csv.lines().last().unwrap().contains(",total,"), "{csv}");
}
