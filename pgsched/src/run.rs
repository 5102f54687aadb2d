//! [`run`]: the worker process in one call.

use pgsched_core::{Error, Registry, Result};

use crate::scheduler::Scheduler;

/// Runs a worker until SIGINT or SIGTERM, then shuts down gracefully — or, when the process
/// was given arguments, runs the admin command line (`pgsched::cli`: `jobs list`, `jobs
/// enqueue NAME --args JSON`, `periodic list`, …; `--help` lists them) and exits the process
/// with its exit code. The command line is the `cli` feature, on by default; without it,
/// arguments are ignored and the worker runs.
///
/// Reads `DATABASE_URL` and `PGSCHED_*` (through [`Scheduler::global`]), checks that jobs are
/// registered, migrates, and runs every `#[job]` linked into the binary. A second signal
/// during shutdown stops waiting for running jobs (their leases expire and other workers
/// recover them).
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), pgsched::Error> {
///     pgsched::run().await
/// }
/// ```
///
/// # Errors
/// [`Error::EmptyRegistry`] with no job in the binary, [`Error::Config`] for a bad setting, or a
/// store error when the database cannot be reached.
pub async fn run() -> Result<()> {
    #[cfg(feature = "cli")]
    if std::env::args_os().len() > 1 {
        let code = crate::cli::run_from(std::env::args_os()).await;
        std::process::exit(i32::from(code));
    }
    let registry = Registry::from_inventory()?;
    if registry.is_empty() {
        return Err(Error::EmptyRegistry);
    }
    #[cfg(feature = "prometheus")]
    install_prometheus_exporter()?;
    let scheduler = Scheduler::global().await?;
    scheduler.start().await?;
    let signal = wait_for_signal().await?;
    tracing::info!(signal, "stopping: finishing running jobs");
    tokio::select! {
        report = scheduler.shutdown() => { report?; }
        second = wait_for_signal() => {
            tracing::warn!(signal = second?, "second signal: stopping without waiting for running jobs");
        }
    }
    Ok(())
}

/// With the `prometheus` feature: serves the metrics on `PGSCHED_METRICS_ADDR` (e.g.
/// `0.0.0.0:9464`), if set.
#[cfg(feature = "prometheus")]
fn install_prometheus_exporter() -> Result<()> {
    const KEY: &str = "PGSCHED_METRICS_ADDR";
    let Ok(address) = std::env::var(KEY) else {
        return Ok(());
    };
    let address: std::net::SocketAddr = address
        .parse()
        .map_err(|error| Error::config(KEY, format!("{address:?}: {error}")))?;
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(address)
        .install()
        .map_err(|error| Error::config(KEY, error.to_string()))?;
    tracing::info!(%address, "serving Prometheus metrics");
    Ok(())
}

/// Waits for SIGINT or SIGTERM and returns its name.
async fn wait_for_signal() -> Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|source| Error::Io {
        operation: "install the SIGINT handler",
        source,
    })?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|source| Error::Io {
        operation: "install the SIGTERM handler",
        source,
    })?;
    Ok(tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    })
}
