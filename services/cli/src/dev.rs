//! `voiceappoint dev`: the newcomer's one command. Uses `DATABASE_URL`/`NATS_URL` when they answer;
//! otherwise starts throwaway Postgres (`initdb`/`pg_ctl`) and `nats-server -js` under `./.voiceappoint/`,
//! then migrates, seeds the demo data and runs API + relay + projectors in one process.

use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context;
use load::local::{LocalNats, LocalPostgres, nats_answers};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::config::Config;
use crate::platform::{self, Projectors, Roles, out};
use crate::seed;

pub async fn run(mut config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.dev_dir)
        .with_context(|| format!("creating {}", config.dev_dir.display()))?;
    let dev_dir = config.dev_dir.canonicalize()?;

    let _postgres = if postgres_answers(&config.database_url).await {
        None
    } else {
        tracing::warn!("Postgres at DATABASE_URL does not answer; starting a throwaway one");
        let pg = LocalPostgres::start(&dev_dir.join("postgres"))?;
        config.database_url = pg.url("voiceappoint");
        Some(pg)
    };
    ensure_database(&config.database_url).await?;

    let _nats = if nats_answers(&config.nats_url).await {
        None
    } else {
        tracing::warn!("NATS at NATS_URL does not answer; starting a throwaway nats-server -js");
        let nats = LocalNats::start(&dev_dir.join("nats")).await?;
        config.nats_url = nats.url();
        Some(nats)
    };

    let store = platform::open_store_migrated(&config).await?;
    let shutdown = platform::shutdown_on_signal();
    let roles = Roles {
        api: true,
        relay: true,
        projectors: Projectors::All,
    };
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let seeding = tokio::spawn(async move {
        let Ok(addr) = addr_rx.await else { return };
        let base = format!("http://{addr}");
        let outcome = match seed::demo(&store, &base).await {
            Ok(line) => line,
            Err(err) => format!("demo seed failed: {err:#}"),
        };
        let secret =
            std::env::var("VAPI_WEBHOOK_SECRET").unwrap_or_else(|_| "<VAPI_WEBHOOK_SECRET>".into());
        out(&format!("VoiceAppoint is running: {outcome}"));
        out(&format!("  API:      {base}/"));
        out(&format!(
            "  health:   {base}/healthz  ready: {base}/readyz  metrics: {base}/metrics  OpenAPI: {base}/openapi.json"
        ));
        out("  a sample webhook call (the agent asking for the demo salon's services):");
        let sample = serde_json::json!({"message": {"type": "tool-calls",
            "call": {"id": "demo-call-1", "phoneNumberId": seed::DEMO_PHONE_ID, "customer": {"number": "+15551234567"}},
            "toolCallList": [{"id": "t1", "type": "function",
                "function": {"name": "get_business_services", "arguments": {}}}]}});
        out(&format!(
            "  curl -s {base}/vapi/webhook -H 'content-type: application/json' -H 'x-vapi-secret: {secret}' -d '{sample}'"
        ));
        out("  Ctrl-C stops everything.");
    });
    let result = platform::run_roles(&config, roles, shutdown, move |addr| {
        let _ = addr_tx.send(addr);
    })
    .await;
    seeding.abort();
    result
}

/// Whether the Postgres server of `url` accepts a connection (to its maintenance database).
async fn postgres_answers(url: &str) -> bool {
    let Ok(options) = PgConnectOptions::from_str(url) else {
        return false;
    };
    let options = options.database("postgres");
    let attempt = PgConnection::connect_with(&options);
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}

/// Creates the database named in `url` if it does not exist yet.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid URL")?;
    let name = options
        .get_database()
        .context("DATABASE_URL names no database")?
        .to_owned();
    let mut conn = PgConnection::connect_with(&options.database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let quoted = name.replace('"', "\"\"");
        if let Err(err) = sqlx::query(&format!("create database \"{quoted}\""))
            .execute(&mut conn)
            .await
        {
            // Someone else created it first: fine.
            if err
                .as_database_error()
                .and_then(sqlx::error::DatabaseError::code)
                .as_deref()
                != Some("42P04")
            {
                return Err(err.into());
            }
        }
        tracing::info!(database = %name, "created database");
    }
    Ok(())
}
