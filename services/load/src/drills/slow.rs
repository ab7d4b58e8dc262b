//! The `slow` drill: clients that open connections and then dawdle, beside real traffic. Three kinds, in
//! equal shares, each replaced as soon as the server ends it: one that sends nothing, one that sends its
//! request head a byte at a time and never finishes it (slowloris), and one that sends a complete,
//! authenticated head and then trickles the body. The server must end every one of them within its
//! limits (header read timeout, request timeout) while real calls go on being answered.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::invariants::Check;
use crate::traffic;

/// How often a dawdling client sends its next byte.
const TRICKLE: Duration = Duration::from_millis(500);
/// Slack on top of the server's own limit before a connection counts as held too long.
const SLACK: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    /// Connects and sends nothing.
    Silent,
    /// Sends a request head one byte per `TRICKLE`, never finishing it.
    SlowHead,
    /// Sends a whole head (right secret, large content-length), then the body one byte per `TRICKLE`.
    SlowBody,
}

impl Kind {
    const ALL: [Self; 3] = [Self::Silent, Self::SlowHead, Self::SlowBody];

    /// The longest the server may let this client hold its connection.
    fn limit(self) -> Duration {
        match self {
            Self::Silent | Self::SlowHead => api::server::HEADER_READ_TIMEOUT + SLACK,
            Self::SlowBody => api::REQUEST_TIMEOUT + SLACK,
        }
    }
}

/// How one dawdling connection ended.
enum End {
    /// The server closed it (or reset it) after this long.
    Closed(Duration),
    /// The server answered with this status after this long.
    Answered(u16, Duration),
    /// Still open when the drill ended (not judged if it opened less than its limit before the end).
    StillOpen { opened_at: Instant },
    /// Could not even connect.
    ConnectFailed,
}

/// Keeps `connections` dawdling connections open against `base` (`http://host:port`) until `deadline`.
pub(super) async fn play(
    base: &str,
    connections: usize,
    deadline: Instant,
) -> (Vec<String>, Vec<Check>) {
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let secret = traffic::webhook_secret();
    let mut tasks = tokio::task::JoinSet::new();
    let spawn = |tasks: &mut tokio::task::JoinSet<(Kind, End)>, kind: Kind| {
        let (addr, secret) = (addr.clone(), secret.clone());
        tasks.spawn(async move { (kind, dawdle(&addr, kind, &secret, deadline).await) });
    };
    for i in 0..connections {
        spawn(&mut tasks, Kind::ALL[i % Kind::ALL.len()]);
    }
    let mut ends: Vec<(Kind, End)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((kind, end)) = joined else { continue };
        let replace = Instant::now() + Duration::from_millis(100) < deadline
            && !matches!(end, End::ConnectFailed | End::StillOpen { .. });
        ends.push((kind, end));
        if replace {
            spawn(&mut tasks, kind);
        }
    }
    judge(&ends, deadline)
}

/// One dawdling client, from connect to whatever ends it.
async fn dawdle(addr: &str, kind: Kind, secret: &str, deadline: Instant) -> End {
    let opened_at = Instant::now();
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        return End::ConnectFailed;
    };
    let head = match kind {
        Kind::Silent | Kind::SlowHead => Vec::new(),
        Kind::SlowBody => format!(
            "POST /vapi/webhook HTTP/1.1\r\nhost: slow\r\ncontent-type: application/json\r\n\
             x-vapi-secret: {secret}\r\ncontent-length: 100000\r\n\r\n"
        )
        .into_bytes(),
    };
    if tcp.write_all(&head).await.is_err() {
        return End::Closed(opened_at.elapsed());
    }
    // What gets trickled: a head that never ends, or a body that never completes.
    let mut drip = match kind {
        Kind::Silent => Vec::new(),
        Kind::SlowHead => b"POST /vapi/webhook HTTP/1.1\r\nhost: slow\r\nx-padding: ".to_vec(),
        Kind::SlowBody => b"{\"message\": {\"type\": \"status-update\", \"padding\": \"".to_vec(),
    }
    .into_iter();
    let mut ticker = tokio::time::interval(TRICKLE);
    let mut buf = [0_u8; 512];
    loop {
        tokio::select! {
            read = tcp.read(&mut buf) => {
                return match read {
                    Ok(n) if n > 0 => End::Answered(status_of(&buf[..n]), opened_at.elapsed()),
                    _ => End::Closed(opened_at.elapsed()),
                };
            }
            _ = ticker.tick(), if kind != Kind::Silent => {
                let byte = drip.next().unwrap_or(b'a');
                if tcp.write_all(&[byte]).await.is_err() {
                    return End::Closed(opened_at.elapsed());
                }
            }
            () = tokio::time::sleep_until(deadline.into()) => return End::StillOpen { opened_at },
        }
    }
}

/// The status code of an HTTP/1.1 response's first line (0 if it is not one).
fn status_of(bytes: &[u8]) -> u16 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.strip_prefix("HTTP/1.1 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Every connection that had its kind's limit to live must have been ended by the server within it.
fn judge(ends: &[(Kind, End)], deadline: Instant) -> (Vec<String>, Vec<Check>) {
    #[derive(Default)]
    struct Tally {
        opened: u64,
        ended: BTreeMap<String, u64>,
        longest: Duration,
        held_too_long: u64,
    }
    let mut tallies: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut connect_failed = 0_u64;
    for (kind, end) in ends {
        let t = tallies.entry(*kind).or_default();
        t.opened += 1;
        let (label, held) = match end {
            End::Closed(d) => ("closed by the server".to_owned(), Some(*d)),
            End::Answered(status, d) => (format!("answered {status}"), Some(*d)),
            End::StillOpen { opened_at } => {
                let lived = deadline.saturating_duration_since(*opened_at);
                if lived > kind.limit() {
                    t.held_too_long += 1;
                }
                ("still open at the end".to_owned(), None)
            }
            End::ConnectFailed => {
                connect_failed += 1;
                ("could not connect".to_owned(), None)
            }
        };
        *t.ended.entry(label).or_default() += 1;
        if let Some(d) = held {
            t.longest = t.longest.max(d);
            if d > kind.limit() {
                t.held_too_long += 1;
            }
        }
    }
    let notes = tallies
        .iter()
        .map(|(kind, t)| {
            let ended: Vec<String> = t.ended.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!(
                "slow clients, {kind:?}: {} connections ({}), longest held {:.1} s (limit {:.0} s)",
                t.opened,
                ended.join(", "),
                t.longest.as_secs_f64(),
                kind.limit().as_secs_f64()
            )
        })
        .collect();
    let too_long: u64 = tallies.values().map(|t| t.held_too_long).sum();
    let judged: u64 = tallies.values().map(|t| t.opened).sum();
    let ended_by_server = tallies.values().all(|t| {
        t.ended
            .keys()
            .any(|k| k != "still open at the end" && k != "could not connect")
    });
    let checks = vec![Check {
        name: "slow clients are cut off within the server's limits",
        passed: too_long == 0 && ended_by_server && connect_failed == 0,
        detail: format!(
            "{judged} connections, {too_long} held past their limit, {connect_failed} could not connect"
        ),
    }];
    (notes, checks)
}
