//! End-to-end scenarios: the real `voiceappoint` binary, started as a process, over HTTP, against real
//! Postgres and NATS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use events::NewEvent;
use serde_json::json;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use store::{EventStore, ExpectedVersion};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_voiceappoint");

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, db: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    format!("{}/{db}", base.rsplit_once('/').map_or(base, |(b, _)| b))
}

/// A database of the test's own, dropped at the end.
struct TestDb {
    name: String,
}

impl TestDb {
    async fn new() -> Self {
        let name = format!("va_e2e_{}", &Uuid::new_v4().simple().to_string()[..12]);
        let mut conn = PgConnection::connect(&server_url()).await.unwrap();
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        Self { name }
    }

    /// A name that does not exist yet: `dev` must create it.
    fn fresh_name() -> Self {
        Self {
            name: format!("va_e2e_{}", &Uuid::new_v4().simple().to_string()[..12]),
        }
    }

    fn url(&self) -> String {
        with_database(&server_url(), &self.name)
    }

    async fn drop_db(self) {
        let mut conn = PgConnection::connect(&server_url()).await.unwrap();
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

/// A running `voiceappoint` process and the address its API printed.
struct Running {
    child: Child,
    addr: String,
}

impl Running {
    fn start(args: &[&str], env: &[(&str, String)]) -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("VOICEAPPOINT_HTTP_ADDR", "127.0.0.1:0")
            .env("VOICEAPPOINT_NATS_STREAM", format!("VA_E2E_{}", &tag[..12]))
            .env(
                "VOICEAPPOINT_SUBJECT_PREFIX",
                format!("vae2e{}", &tag[..12]),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("API:") {
                    let addr = rest
                        .trim()
                        .trim_start_matches("http://")
                        .trim_end_matches('/')
                        .to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(90))
            .expect("the binary never printed its API address");
        Self { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Polls `path` until its body contains `needle` (panics after 15 s).
    async fn wait_for_text(&self, path: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let body = reqwest::get(self.url(path))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if body.contains(needle) {
                return body;
            }
            if Instant::now() >= deadline {
                // What the process says of its roles, for the failure report.
                let ready = match reqwest::get(self.url("/readyz")).await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(err) => err.to_string(),
                };
                panic!("{path} never showed {needle}: {body}\n/readyz: {ready}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_ready(&self) -> serde_json::Value {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(resp) = client.get(self.url("/readyz")).send().await
                && resp.status() == 200
            {
                return resp.json().await.unwrap();
            }
            assert!(Instant::now() < deadline, "never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the exit status (graceful shutdown must exit 0).
    fn terminate(mut self) -> std::process::ExitStatus {
        let status = self.sigterm_and_wait();
        std::mem::forget(self);
        status
    }

    fn sigterm_and_wait(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not shut down within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    /// A failed assertion must not leave the platform running (and holding the test's output pipe).
    fn drop(&mut self) {
        let _ = self.sigterm_and_wait();
    }
}

async fn count(url: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

#[tokio::test]
async fn dev_creates_its_database_serves_and_a_second_run_does_not_duplicate_the_seed() {
    let db = TestDb::fresh_name();
    let env = [("DATABASE_URL", db.url())];
    for _ in 0..2 {
        let running = Running::start(&["dev"], &env);
        let ready = running.wait_ready().await;
        assert_eq!(ready["postgres"], true);
        assert_eq!(ready["nats"], true);
        let health = reqwest::get(running.url("/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        running
            .wait_for_text("/metrics", "va_relay_published_total")
            .await;
        running
            .wait_for_text("/metrics", "va_projector_position")
            .await;
        assert!(
            running.terminate().success(),
            "graceful shutdown must exit 0"
        );
    }
    let seeds = count(
        &db.url(),
        "select count(*) from events where event_type = 'BusinessRegistered'",
    )
    .await;
    assert_eq!(seeds, 1, "the second dev run seeded again");
    db.drop_db().await;
}

#[tokio::test]
async fn dev_starts_its_own_postgres_and_nats_when_none_answer() {
    let dir = std::env::temp_dir().join(format!("va-dev-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // Postgres refuses to run as root, so `dev` drops to an unprivileged user who must reach the dir.
    Command::new("chmod")
        .args(["755"])
        .arg(&dir)
        .status()
        .unwrap();
    let env = [
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/voiceappoint".to_owned(),
        ),
        ("NATS_URL", "nats://127.0.0.1:1".to_owned()),
        ("VOICEAPPOINT_DEV_DIR", dir.display().to_string()),
    ];
    let running = Running::start(&["dev"], &env);
    let ready = running.wait_ready().await;
    assert_eq!(ready["ready"], true);
    assert!(dir.join("postgres").join("PG_VERSION").exists());
    assert!(running.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn audit_verify_passes_on_an_intact_store_and_names_a_tampered_event() {
    let db = TestDb::new().await;
    let migrate = Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", db.url())
        .status()
        .unwrap();
    assert!(migrate.success());
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let store = EventStore::open(pool.clone()).await.unwrap();
    let events = (0..3)
        .map(|i| NewEvent::raw("Tested", json!({"i": i})))
        .collect();
    store
        .append("call-abc", ExpectedVersion::NoStream, events)
        .await
        .unwrap();

    let verify = || {
        Command::new(BIN)
            .args(["audit", "verify"])
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap()
    };
    let clean = verify();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );

    let target = store.read_stream_all("call-abc").await.unwrap()[2].event_id;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("update events set data = '{\"i\": 99}' where event_id = $1")
        .bind(target)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    pool.close().await;

    let tampered = verify();
    let out = String::from_utf8_lossy(&tampered.stdout);
    assert!(!tampered.status.success());
    assert!(
        out.contains(&target.to_string()) && out.contains("call-abc"),
        "{out}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn project_rebuild_from_the_command_line_rebuilds_the_read_model() {
    let db = TestDb::new().await;
    assert!(
        Command::new(BIN)
            .arg("migrate")
            .env("DATABASE_URL", db.url())
            .status()
            .unwrap()
            .success()
    );
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let store = EventStore::open(pool.clone()).await.unwrap();
    for i in 0..5 {
        store
            .append(
                "other-x",
                ExpectedVersion::Any,
                vec![NewEvent::raw("Tested", json!({"i": i}))],
            )
            .await
            .unwrap();
    }
    // The feed only shows what is below the cluster-wide xmin; under parallel tests that can lag a moment.
    for _ in 0..200 {
        if store
            .read_feed(store::FeedPosition::START, 100)
            .await
            .unwrap()
            .len()
            == 5
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = Command::new(BIN)
        .args(["project", "rebuild", "event_counts"])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 events applied"));
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local va.tenant_id = '*'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("select events from event_counts where event_type = 'Tested'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 5);
    drop(tx);
    pool.close().await;
    db.drop_db().await;
}

/// Runs the binary against `db` with `args`; returns (success, stdout).
fn voiceappoint(db: &TestDb, args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    (out.status.success(), out.stdout)
}

/// Rebuilds read the feed, which only shows what is below the cluster-wide xmin: wait for all of it.
async fn wait_for_feed(store: &EventStore) {
    let committed = store.committed_head().await.unwrap();
    while store.feed_head().await.unwrap() < committed {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn finance_commands_replay_reconcile_close_and_name_a_tampered_business() {
    use api::billing::simulate::{self, Simulation};
    let db = TestDb::new().await;
    assert!(voiceappoint(&db, &["migrate"]).0);
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let store = EventStore::open(pool.clone()).await.unwrap();
    let sim = Simulation {
        businesses: 3,
        calls: 150,
        period: domain::billing::Period::parse("2026-10").unwrap(),
        seed: 21,
        batch: 50,
    };
    let businesses = simulate::businesses(&store, &sim).await.unwrap();
    simulate::calls(&store, &sim, &businesses, |_| {})
        .await
        .unwrap();
    wait_for_feed(&store).await;
    assert!(voiceappoint(&db, &["project", "rebuild", "billing"]).0);

    let (ok, out) = voiceappoint(&db, &["billing", "reconcile", "--period", "2026-10"]);
    let out = String::from_utf8(out).unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains("3 businesses") && out.contains("0 differences"),
        "{out}"
    );

    let slug = businesses[1].slug.as_str();
    let invoice = |format: &str| {
        let (ok, bytes) = voiceappoint(
            &db,
            &[
                "invoice",
                "--business",
                slug,
                "--period",
                "2026-10",
                "--format",
                format,
            ],
        );
        assert!(ok);
        bytes
    };
    let (json_first, csv_first) = (invoice("json"), invoice("csv"));
    let doc: serde_json::Value = serde_json::from_slice(&json_first).unwrap();
    assert_eq!(doc["business"], slug);
    assert_eq!(doc["status"], "final");
    assert_eq!(invoice("json"), json_first, "two runs, different bytes");
    assert_eq!(invoice("csv"), csv_first);
    for name in [
        "event_counts",
        "call_log",
        "catalog",
        "availability",
        "appointments",
        "billing",
        "dashboard",
    ] {
        assert!(
            voiceappoint(&db, &["project", "rebuild", name]).0,
            "rebuild {name}"
        );
    }
    assert_eq!(
        invoice("json"),
        json_first,
        "a full rebuild changed the invoice"
    );

    let (ok, out) = voiceappoint(&db, &["billing", "close", "--period", "2026-10"]);
    assert!(ok && String::from_utf8_lossy(&out).contains("3 invoices issued"));
    let (ok, out) = voiceappoint(&db, &["billing", "close", "--period", "2026-10"]);
    assert!(ok && String::from_utf8_lossy(&out).contains("0 invoices issued, 3 already issued"));
    // The issued invoices reach the projection (no projector runs here: rebuild it), then all agree.
    wait_for_feed(&store).await;
    assert!(voiceappoint(&db, &["project", "rebuild", "billing"]).0);
    let (ok, out) = voiceappoint(&db, &["billing", "reconcile", "--period", "2026-10"]);
    assert!(ok, "{}", String::from_utf8_lossy(&out));
    assert!(
        !voiceappoint(
            &db,
            &["invoice", "--business", "nobody", "--period", "2026-10"]
        )
        .0
    );
    assert!(!voiceappoint(&db, &["billing", "reconcile", "--period", "2026-13"]).0);

    sqlx::query(
        "update billing_usage_daily set provider_cost_micros = provider_cost_micros + 1 \
         where tenant_id = $1 and day = (select min(day) from billing_usage_daily where tenant_id = $1)",
    )
    .bind(businesses[2].id)
    .execute(&pool)
    .await
    .unwrap();
    let (ok, out) = voiceappoint(&db, &["billing", "reconcile", "--period", "2026-10"]);
    let out = String::from_utf8(out).unwrap();
    assert!(!ok, "a tampered read model must fail reconcile: {out}");
    assert!(
        out.contains("1 differences") && out.contains(&businesses[2].slug),
        "{out}"
    );
    pool.close().await;
    db.drop_db().await;
}
