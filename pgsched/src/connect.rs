//! Reaching PostgreSQL when a [`crate::Scheduler`] opens its own pool, and saying plainly why
//! it could not.
//!
//! A pool retries a failing connect until its acquire timeout, so a closed port would surface
//! only after seconds as `PoolTimedOut`. One direct connection first answers at once: a
//! refusal becomes [`Error::Connect`] ("connection refused at HOST:PORT") right away, with the
//! URL shown with its password redacted.

use std::time::Duration;

use pgsched_core::{Error, Result, redact_url};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// A database URL as a builder keeps it: its `Debug` form hides the password, so printing a
/// `SchedulerBuilder` cannot leak it.
#[derive(Clone)]
pub(crate) struct DatabaseUrl(pub(crate) String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// How long the first connection may take before the server counts as unreachable.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens and closes one connection with `options`, so that an unreachable server is reported
/// at once and in words.
///
/// # Errors
/// [`Error::Connect`] saying what failed.
pub(crate) async fn probe(url: &str, options: &PgConnectOptions) -> Result<()> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => {
            // Closing politely is a courtesy; the pool opens its own connections.
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(connect_error(url, options, error)),
        Err(_elapsed) => Err(Error::Connect {
            url: redact_url(url),
            reason: format!(
                "no answer from {} within {} s",
                address(options),
                CONNECT_TIMEOUT.as_secs()
            ),
            error: "connect timed out".into(),
        }),
    }
}

/// A failed connect (or pool open) as [`Error::Connect`].
pub(crate) fn connect_error(url: &str, options: &PgConnectOptions, error: sqlx::Error) -> Error {
    let address = address(options);
    let reason = match &error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "connection refused at {address} (is PostgreSQL running and accepting connections there?)"
        ),
        sqlx::Error::Io(io) => format!("{address}: {io}"),
        sqlx::Error::Database(db) => format!("{address} answered: {}", db.message()),
        sqlx::Error::PoolTimedOut => {
            format!("no connection to {address} within the pool's acquire timeout")
        }
        other => format!("{address}: {other}"),
    };
    Error::Connect {
        url: redact_url(url),
        reason,
        error: error.into(),
    }
}

/// `HOST:PORT`, or the Unix socket path, that `options` connect to.
fn address(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => format!("{} (port {})", socket.display(), options.get_port()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_address_and_hides_the_password() {
        let url = "postgres://app:s3cretpw@127.0.0.1:1/jobs";
        let options: PgConnectOptions = url.parse().expect("valid URL");
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let error = connect_error(url, &options, refused);
        assert_eq!(
            error.to_string(),
            "cannot connect to PostgreSQL at postgres://app:***@127.0.0.1:1/jobs: connection refused at 127.0.0.1:1 (is PostgreSQL running and accepting connections there?)"
        );
        assert!(!format!("{error:?}").contains("s3cretpw"));
    }

    #[test]
    fn a_builder_prints_its_url_without_the_password() {
        let builder = crate::Scheduler::builder().url("postgres://app:s3cretpw@db:5432/jobs");
        let shown = format!("{builder:?}");
        assert!(shown.contains("postgres://app:***@db:5432/jobs"), "{shown}");
        assert!(!shown.contains("s3cretpw"), "{shown}");
    }
}
