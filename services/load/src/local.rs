//! Throwaway Postgres and NATS servers started from the machine's binaries: `voiceappoint dev` uses them
//! when the configured ones do not answer, and the fault drills use them to stop and restart a server
//! that nobody else shares (the machine's own Postgres and NATS serve other tests and must stay up).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// Whether a NATS server answers at `url` within a few seconds.
pub async fn nats_answers(url: &str) -> bool {
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
pub struct LocalPostgres {
    pg_ctl: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<String>,
}

impl LocalPostgres {
    pub fn start(data: &Path) -> anyhow::Result<Self> {
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
        pg.start_again()?;
        tracing::info!(port, data = %data.display(), "throwaway Postgres started");
        Ok(pg)
    }

    /// Starts the stopped cluster again on the same port (after [`Self::stop`]).
    pub fn start_again(&self) -> anyhow::Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.display()
        );
        let status = command(&self.pg_ctl, self.run_as.as_deref())
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.join("server.log"))
            .args(["-o", &opts, "-w", "start"])
            .stdout(Stdio::null())
            .status()
            .context("running pg_ctl start")?;
        if !status.success() {
            bail!(
                "pg_ctl start failed; see {}",
                self.data.join("server.log").display()
            );
        }
        Ok(())
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `pg_ctl stop -m <mode>` (`fast`, `immediate`: a crash).
    pub fn stop(&self, mode: &str) {
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
pub struct LocalNats {
    child: Option<tokio::process::Child>,
    port: u16,
    store_dir: PathBuf,
}

impl LocalNats {
    pub async fn start(store_dir: &Path) -> anyhow::Result<Self> {
        let extra = [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")];
        let Some(server) = find_program("nats-server", &extra) else {
            bail!(
                "NATS is not reachable at NATS_URL and nats-server is not installed: install the \
                 Debian package `nats-server` (apt-get install nats-server) or set NATS_URL"
            );
        };
        std::fs::create_dir_all(store_dir)?;
        let mut nats = Self {
            child: None,
            port: free_port()?,
            store_dir: store_dir.to_owned(),
        };
        nats.spawn(&server)?;
        nats.wait_up().await?;
        Ok(nats)
    }

    fn spawn(&mut self, server: &Path) -> anyhow::Result<()> {
        let child = tokio::process::Command::new(server)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting nats-server")?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_up(&self) -> anyhow::Result<()> {
        for _ in 0..100 {
            if nats_answers(&self.url()).await {
                tracing::info!(port = self.port, "throwaway nats-server started");
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("nats-server did not come up on port {}", self.port)
    }

    /// Kills the server (SIGKILL: an outage, not a shutdown). Its JetStream data stays on disk.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port and data directory.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill().await;
        let extra = [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")];
        let server = find_program("nats-server", &extra).context("nats-server vanished")?;
        self.spawn(&server)?;
        self.wait_up().await
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}
