//! Jobs of the pooler tests. They report to the test's `Recorder` (given as state).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pgsched::{JobContext, State, job, periodic};
use pgsched_tests::Recorder;

/// Records `value` under `label`.
#[job]
pub(crate) async fn mark(label: String, value: i64, rec: State<Recorder>) {
    rec.record(&label, value);
}

/// Always fails; records each attempt under "attempt".
#[job(max_retries = 3)]
pub(crate) async fn flaky(ctx: JobContext, rec: State<Recorder>) -> Result<(), String> {
    rec.record("attempt", i64::from(ctx.attempt()));
    Err(format!("boom #{}", ctx.attempt()))
}

/// Fails at once, for good.
#[job(max_retries = 0)]
pub(crate) async fn doomed(rec: State<Recorder>) -> Result<(), String> {
    rec.record("doomed", 1);
    Err("doomed".into())
}

/// How many `exclusive` runs are in progress at once, across every worker of the process.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overlap {
    inner: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Overlap {
    /// The most runs ever in progress at once.
    pub(crate) fn most(&self) -> usize {
        self.inner.1.load(Ordering::SeqCst)
    }
}

/// Every second, with the advisory lock, running longer than its interval (1.2 s): without
/// the exclusion, two workers would run consecutive windows at the same time. Disabled until
/// the periodic test enables it, so other tests' workers never run it.
#[periodic(
    every = "1s",
    advisory_lock,
    enabled = false,
    dedup_key = "pooled_exclusive"
)]
pub(crate) async fn exclusive(rec: State<Recorder>, overlap: State<Overlap>) {
    let (running, most) = &*overlap.inner;
    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
    most.fetch_max(now, Ordering::SeqCst);
    rec.record("exclusive_start", 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    running.fetch_sub(1, Ordering::SeqCst);
    rec.record("exclusive_end", 1);
}

/// How many runs are in progress at once, per group (a queue or a concurrency key), across
/// every worker of the process; and the most ever.
#[derive(Debug, Default, Clone)]
pub(crate) struct InProgress {
    inner: Arc<std::sync::Mutex<std::collections::HashMap<String, (usize, usize)>>>,
}

impl InProgress {
    fn enter(&self, groups: &[&str]) {
        let mut counts = self.lock();
        for group in groups {
            let (now, most) = counts.entry((*group).to_owned()).or_default();
            *now += 1;
            *most = (*most).max(*now);
        }
    }

    fn leave(&self, groups: &[&str]) {
        let mut counts = self.lock();
        for group in groups {
            if let Some((now, _)) = counts.get_mut(*group) {
                *now -= 1;
            }
        }
    }

    /// The most runs of `group` ever in progress at once.
    pub(crate) fn most(&self, group: &str) -> usize {
        self.lock().get(group).map_or(0, |(_, most)| *most)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (usize, usize)>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A 20 ms run in the queue `capped` (the test gives it a limit), counted in progress there.
#[job(queue = "capped")]
pub(crate) async fn capped(value: i64, rec: State<Recorder>, runs: State<InProgress>) {
    runs.enter(&["capped"]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    runs.leave(&["capped"]);
    rec.record("capped", value);
}

/// A 20 ms run in the queue `tenants`, one at a time per tenant, counted in progress there
/// and under its tenant.
#[job(queue = "tenants", concurrency_key = tenant, concurrency = 1)]
pub(crate) async fn per_tenant(
    tenant: u32,
    value: i64,
    rec: State<Recorder>,
    runs: State<InProgress>,
) {
    let key = format!("tenant:{tenant}");
    runs.enter(&["tenants", &key]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    runs.leave(&["tenants", &key]);
    rec.record("tenant", value);
}
