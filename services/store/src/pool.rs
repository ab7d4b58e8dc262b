//! The connection pool every application role uses.

use std::time::Duration;

use futures::FutureExt as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A pooled connection idle at least this long is checked with a round trip before it is handed out.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Connection options for `url` with the timeouts DESIGN.md §3 asks of application roles: a stuck
/// statement or transaction must not stall the feed for long (lag, never loss).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    Ok(options.options([
        ("statement_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "60s"),
    ]))
}

/// Pool settings of application roles.
///
/// sqlx checks a connection with a round trip (a `Sync` and its `ReadyForQuery`) when it goes back into
/// the pool, and by default again when it is taken out: two round trips per use on top of the statements.
/// `perf` once put a tenth of the platform process's CPU in them, when a booking took a connection four
/// times (it takes two now: the access check, and one for the whole command). The check on release stays
/// (it also drains what a cancelled query left behind); the check on acquire is only made for a connection
/// idle for [`PING_AFTER_IDLE`] or more — one released a moment ago passed the release check just then.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(32)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            }
            .boxed()
        })
}

#[cfg(test)]
mod tests {
    use sqlx::PgPool;

    use super::{PING_AFTER_IDLE, pool_options};

    async fn backend_pid(pool: &PgPool) -> Result<i32, sqlx::Error> {
        sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(pool)
            .await
    }

    /// Without the ping on every acquire, a connection that died while idle must still not reach a caller:
    /// one idle past [`PING_AFTER_IDLE`] is checked, found dead and replaced.
    #[sqlx::test]
    async fn a_connection_that_died_while_idle_is_replaced_before_use(admin: PgPool) {
        let options = (*admin.connect_options()).clone();
        let pool = pool_options()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let first = backend_pid(&pool).await.unwrap();
        // Back in the pool (the release check runs in a task of its own).
        for _ in 0..100 {
            if pool.num_idle() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
            .bind(first)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert!(killed);
        tokio::time::sleep(PING_AFTER_IDLE + std::time::Duration::from_millis(200)).await;
        let second = backend_pid(&pool).await.expect("a fresh connection");
        assert_ne!(first, second);
    }
}
