//! Test support: read back what a JetStream stream holds, and run a private nats-server.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this support module"
)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use async_nats::jetstream;
use store::StoredEvent;
use store::bus::BusConfig;

/// Every event in the installation's JetStream stream, in stream order.
pub async fn stream_events(js: &jetstream::Context, bus: &BusConfig) -> Vec<StoredEvent> {
    let Ok(mut stream) = js.get_stream(&bus.stream_name).await else {
        return Vec::new();
    };
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        let msg = stream.get_raw_message(seq).await.unwrap();
        out.push(serde_json::from_slice(&msg.payload).unwrap());
    }
    out
}

/// Waits until the stream holds `n` messages (panics after `secs`).
pub async fn wait_for_count(js: &jetstream::Context, bus: &BusConfig, n: u64, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(mut stream) = js.get_stream(&bus.stream_name).await
            && let Ok(info) = stream.info().await
            && info.state.messages >= n
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "JetStream never reached {n} messages"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A nats-server of the test's own on a fixed port and store directory, so it can be stopped and
/// started again with its data.
pub struct PrivateNats {
    child: Option<tokio::process::Child>,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl PrivateNats {
    pub async fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut nats = Self {
            child: None,
            port,
            dir: dir.to_owned(),
        };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    pub async fn restart(&mut self) {
        let child = tokio::process::Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server must be installed (Debian package nats-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private nats-server did not start");
    }
}
