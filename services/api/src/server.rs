//! The connection loop: accepts TCP connections and serves the router on each with hyper, with the limits
//! `axum::serve` does not set. A client that opens a connection and sends its headers a byte at a time
//! (slowloris) is cut off after `HEADER_READ_TIMEOUT`; a request body that trickles in is ended by the
//! router's 15 s request timeout; and shutdown waits at most `SHUTDOWN_GRACE` for connections to finish, so a
//! slow client cannot hold the process open.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// A connection that has not sent a complete request head this long after it opened (or after its
/// previous response, on a kept-alive connection) is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for open connections to finish their requests before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Serves `app` on `listener` until `shutdown`; then stops accepting, lets in-flight requests finish
/// (at most `SHUTDOWN_GRACE`) and returns.
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // HTTP/1.1 only: Vapi and the browsers behind a proxy speak it, and hyper-util's HTTP/2-sniffing
    // builder waits for a new connection's first bytes with no timeout at all.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => tcp,
            Err(e) => {
                // Out of file descriptors or a connection reset before accept: neither is fatal to the
                // server. Pause briefly so a full descriptor table does not become a busy loop.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Responses are written whole; waiting for an ACK before sending a small one only adds latency.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|req: hyper::Request<Incoming>| req.map(Body::new)),
        );
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Clients that hang up, time out reading headers or send garbage end up here.
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open at the end of the shutdown grace; dropping them");
        }
    }
    Ok(())
}
