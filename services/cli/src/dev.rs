//! `voiceappoint dev`: the newcomer's one command. Uses `DATABASE_URL`/`NATS_URL` when they answer;
//! otherwise starts throwaway Postgres (`initdb`/`pg_ctl`) and `nats-server -js` under `./.voiceappoint/`,
//! then migrates, seeds the demo data and runs API + relay + projectors in one process.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::{Context, bail};
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

async fn nats_answers(url: &str) -> bool {
    let attempt = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(url);
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}

/// Finds a program on PATH or in the given extra directories.
fn find_program(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Debian installs Postgres binaries under /usr/lib/postgresql/<major>/bin; newest first.
fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    dirs.into_iter().map(|(_, d)| d).collect()
}

/// A free TCP port on loopback.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A throwaway Postgres cluster, stopped when dropped.
struct LocalPostgres {
    pg_ctl: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<String>,
}

impl LocalPostgres {
    fn start(data: &Path) -> anyhow::Result<Self> {
        let dirs = postgres_bin_dirs();
        let (Some(initdb), Some(pg_ctl)) =
            (find_program("initdb", &dirs), find_program("pg_ctl", &dirs))
        else {
            bail!(
                "Postgres is not reachable at DATABASE_URL and initdb/pg_ctl are not installed: \
                 install the Debian package `postgresql` (apt-get install postgresql) or set DATABASE_URL"
            );
        };
        // Postgres refuses to run as root: run it as the `postgres` user (or `nobody`).
        let run_as = running_as_root().then(|| {
            let has_postgres_user = std::process::Command::new("id")
                .args(["-u", "postgres"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if has_postgres_user {
                "postgres"
            } else {
                "nobody"
            }
            .to_owned()
        });
        std::fs::create_dir_all(data)?;
        if let Some(user) = &run_as {
            command("chown", None)
                .args(["-R", user])
                .arg(data)
                .status()?;
        }
        if !data.join("PG_VERSION").exists() {
            let status = command(&initdb, run_as.as_deref())
                .arg("-D")
                .arg(data)
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
                .stdout(Stdio::null())
                .status()
                .context("running initdb")?;
            if !status.success() {
                bail!("initdb failed for {}", data.display());
            }
        }
        let port = free_port()?;
        let pg = Self {
            pg_ctl,
            data: data.to_owned(),
            port,
            run_as,
        };
        if data.join("postmaster.pid").exists() {
            pg.stop("immediate");
        }
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            data.display()
        );
        let status = command(&pg.pg_ctl, pg.run_as.as_deref())
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(data.join("server.log"))
            .args(["-o", &opts, "-w", "start"])
            .stdout(Stdio::null())
            .status()
            .context("running pg_ctl start")?;
        if !status.success() {
            bail!(
                "pg_ctl start failed; see {}",
                data.join("server.log").display()
            );
        }
        tracing::info!(port, data = %data.display(), "throwaway Postgres started");
        Ok(pg)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn stop(&self, mode: &str) {
        let _ = command(&self.pg_ctl, self.run_as.as_deref())
            .arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop("fast");
    }
}

/// `program`, run as `user` through runuser when given.
fn command(program: impl AsRef<std::ffi::OsStr>, user: Option<&str>) -> std::process::Command {
    match user {
        Some(user) => {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => std::process::Command::new(program),
    }
}

/// A throwaway `nats-server -js`, killed when dropped.
struct LocalNats {
    _child: tokio::process::Child,
    port: u16,
}

impl LocalNats {
    async fn start(store_dir: &Path) -> anyhow::Result<Self> {
        let extra = [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")];
        let Some(server) = find_program("nats-server", &extra) else {
            bail!(
                "NATS is not reachable at NATS_URL and nats-server is not installed: install the \
                 Debian package `nats-server` (apt-get install nats-server) or set NATS_URL"
            );
        };
        std::fs::create_dir_all(store_dir)?;
        let port = free_port()?;
        let child = tokio::process::Command::new(server)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting nats-server")?;
        let nats = Self {
            _child: child,
            port,
        };
        for _ in 0..100 {
            if nats_answers(&nats.url()).await {
                tracing::info!(port, "throwaway nats-server started");
                return Ok(nats);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("nats-server did not come up on port {port}")
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}
