//! A pgsched worker binary, and with arguments pgsched's admin command line for its jobs.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run -p worker              # a worker
//! cargo run -p worker -- jobs enqueue send_email --args '{"to":"a@b.c","subject":"hi"}'   # enqueue
//! cargo run -p worker -- jobs list                                                          # inspect
//! cargo run -p worker -- --help                                                             # the rest
//! ```
//!
//! `RUST_LOG` sets the log level (default `info`).

use std::time::Duration;

use pgsched::{JobContext, job, periodic};

/// Why a job failed.
#[derive(Debug)]
pub struct JobFailed(String);

impl std::fmt::Display for JobFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sends one email (here: logs it). Refuses addresses without an `@`, so a failure is easy to
/// produce from the command line.
#[job(max_retries = 3, timeout = "30s")]
async fn send_email(to: String, subject: String, ctx: JobContext) -> Result<(), JobFailed> {
    if !to.contains('@') {
        return Err(JobFailed(format!("{to:?} is not an email address")));
    }
    tracing::info!(id = %ctx.id(), attempt = ctx.attempt(), %to, %subject, "email sent");
    Ok(())
}

/// Resizes an image to `width` pixels (here: pretends to, for a moment). Bad input does not get
/// better by retrying, so it has no retries: a zero width fails the job at once.
#[job(priority = Low)]
async fn resize_image(path: String, width: u32) -> Result<(), JobFailed> {
    if width == 0 {
        return Err(JobFailed("width must be positive".into()));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    tracing::info!(%path, width, "image resized");
    Ok(())
}

/// Builds a month's report: a few seconds of (simulated) work, in steps, stopping early when
/// the job is cancelled (`jobs cancel ID` reaches a running attempt at its next heartbeat).
#[job(timeout = "10m")]
async fn export_report(month: String, ctx: JobContext) {
    for _ in 0..40 {
        if ctx.is_cancelled() {
            tracing::info!(%month, "report export cancelled");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tracing::info!(%month, "report exported");
}

/// Every day at 03:00 UTC, once across all replicas: removes stale temporary files.
#[periodic(cron = "0 3 * * *", dedup_key = "nightly-cleanup")]
async fn cleanup_temp_files() {
    tracing::info!("temporary files cleaned up");
}

#[tokio::main]
async fn main() -> Result<(), pgsched::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // No arguments: a worker until SIGINT/SIGTERM. Arguments: the admin command line.
    pgsched::run().await
}
