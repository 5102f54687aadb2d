//! Jobs used by the tests. Each reports to the test's `Recorder` (given as state).

use std::time::Duration;

use pgsched::{JobContext, JobError, State, job};
use pgsched_tests::Recorder;

/// Records `a + b` under "sum".
#[job]
pub(crate) async fn add(a: i64, b: i64, rec: State<Recorder>) {
    rec.record("sum", a + b);
}

/// Records `value` under `label`.
#[job]
pub(crate) async fn mark(label: String, value: i64, rec: State<Recorder>) {
    rec.record(&label, value);
}

/// Records its start under "start", sleeps, records "end"; tracks concurrency.
#[job]
pub(crate) async fn nap(millis: u64, rec: State<Recorder>) {
    rec.record("start", i64::try_from(millis).unwrap_or(i64::MAX));
    tokio::time::sleep(Duration::from_millis(millis)).await;
    rec.record("end", i64::try_from(millis).unwrap_or(i64::MAX));
}

/// Always fails; records each attempt under "attempt".
#[job(max_retries = 3)]
pub(crate) async fn flaky(ctx: JobContext, rec: State<Recorder>) -> Result<(), String> {
    rec.record("attempt", i64::from(ctx.attempt()));
    Err(format!("boom #{}", ctx.attempt()))
}

/// Fails with `JobError::fatal` on the first attempt, although it allows retries; records each
/// attempt under "fatal_attempt".
#[job(max_retries = 3)]
pub(crate) async fn refuse(ctx: JobContext, rec: State<Recorder>) -> Result<(), JobError> {
    rec.record("fatal_attempt", i64::from(ctx.attempt()));
    Err(JobError::fatal(format!(
        "no point retrying #{}",
        ctx.attempt()
    )))
}

/// Panics; records that it ran.
#[job]
pub(crate) async fn explode(rec: State<Recorder>) {
    rec.record("exploded", 1);
    panic!("kaboom");
}

/// Sleeps far past any test's patience unless cancelled; records "cancelled" if told to stop.
#[job(timeout = "300ms")]
pub(crate) async fn hang(ctx: JobContext, rec: State<Recorder>) {
    rec.record("hang_started", 1);
    tokio::select! {
        () = ctx.cancelled() => rec.record("cancelled", 1),
        () = tokio::time::sleep(Duration::from_secs(600)) => rec.record("woke", 1),
    }
}

/// Waits until cancelled (no timeout); records start and cancellation.
#[job]
pub(crate) async fn wait_for_cancel(ctx: JobContext, rec: State<Recorder>) {
    rec.record("waiting", 1);
    ctx.cancelled().await;
    rec.record("cancelled", 1);
}

/// Records `value` under "tenant"; one tenant's jobs share a concurrency key.
#[job(queue = "tenants", concurrency_key = tenant, concurrency = 2)]
pub(crate) async fn per_tenant(tenant: u32, value: i64, rec: State<Recorder>) {
    let _ = tenant;
    rec.record("tenant", value);
}
