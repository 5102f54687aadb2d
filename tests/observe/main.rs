//! Observability: the span every attempt runs in, and the metrics a small run records.
//!
//! A test binary of its own, because the tracing subscriber and the metrics recorder it
//! installs are process-wide. Both are installed once ([`observed`]); the tests take
//! [`SERIAL`] so they run one at a time (some counters carry no label to tell tests apart),
//! and start from a snapshot that resets every counter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use pgsched::{JobStatus, Priority, State, job};
use pgsched_tests::{Recorder, eventually, setup};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Completes.
#[job]
async fn observed_ok(rec: State<Recorder>) {
    tracing::info!("inside the job");
    rec.record("observed_ok", 1);
}

/// Fails once, then fails for good.
#[job(max_retries = 1)]
async fn observed_failing(rec: State<Recorder>) -> Result<(), String> {
    rec.record("observed_failing", 1);
    Err("nope".into())
}

/// Finishes when the test opens its gate.
#[job]
async fn fenced_completion(gate: State<Gate>, rec: State<Recorder>) {
    rec.record("fenced_started", 1);
    gate.0.notified().await;
}

/// Holds the only slot until the test opens its gate.
#[job(priority = Critical)]
async fn starving_critical(gate: State<Gate>, rec: State<Recorder>) {
    rec.record("critical_started", 1);
    gate.0.notified().await;
}

/// Held back by the critical job.
#[job(priority = Low)]
async fn starved_low(rec: State<Recorder>) {
    rec.record("low_ran", 1);
}

/// Opened by the test (`notify_one`) to let a waiting job finish.
#[derive(Clone, Default)]
struct Gate(Arc<tokio::sync::Notify>);

/// The fields of every `job` span created.
#[derive(Clone, Default)]
struct JobSpans(Arc<Mutex<Vec<HashMap<String, String>>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: tracing::Subscriber> Layer<S> for JobSpans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "job" {
            let mut fields = HashMap::new();
            attrs.record(&mut Fields(&mut fields));
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(fields);
        }
    }
}

type Metric = (
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
);

/// The sum of the counters named `name` carrying all of `labels`.
fn counter(snapshot: &[Metric], name: &str, labels: &[(&str, &str)]) -> u64 {
    snapshot
        .iter()
        .filter(|(key, _, _, _)| {
            key.kind() == MetricKind::Counter
                && key.key().name() == name
                && labels
                    .iter()
                    .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum()
}

/// What this process observes: every `job` span, and the metrics recorder's snapshots.
struct Observed {
    spans: JobSpans,
    snapshotter: Snapshotter,
}

/// Installs the tracing layer and the metrics recorder, once per process.
fn observed() -> &'static Observed {
    static OBSERVED: OnceLock<Observed> = OnceLock::new();
    OBSERVED.get_or_init(|| {
        let spans = JobSpans::default();
        let subscriber = tracing_subscriber::registry().with(spans.clone());
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().expect("first recorder");
        Observed { spans, snapshotter }
    })
}

/// Held by each test for its whole run: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The recorder, with every counter reset: the next snapshot holds what happens from now on.
fn fresh_metrics() -> &'static Snapshotter {
    let snapshotter = &observed().snapshotter;
    drop(snapshotter.snapshot());
    snapshotter
}

#[tokio::test]
async fn a_job_runs_in_a_span_with_its_fields_and_the_run_is_counted() {
    let _serial = SERIAL.lock().await;
    let spans = &observed().spans;
    let snapshotter = fresh_metrics();

    let t = setup().await;
    let scheduler = &t.scheduler;
    scheduler.start().await.expect("worker");
    let ok = observed_ok::enqueue(observed_ok::Args {})
        .priority(pgsched::Priority::High)
        .job_id("observed-1")
        .on(scheduler)
        .await
        .expect("scheduled");
    let failing = observed_failing::enqueue(observed_failing::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    for (id, status) in [
        (ok.as_str(), JobStatus::Completed),
        (failing.as_str(), JobStatus::Failed),
    ] {
        eventually("the outcome", || async {
            let job = scheduler.job(id).await.expect("inspect")?;
            (job.status == status).then_some(())
        })
        .await;
    }
    scheduler.shutdown().await.expect("shutdown");

    let recorded = spans
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let span = recorded
        .iter()
        .find(|fields| fields.get("id").map(String::as_str) == Some("observed-1"))
        .unwrap_or_else(|| panic!("no span for the job among {recorded:?}"));
    assert_eq!(span.get("name").map(String::as_str), Some("observed_ok"));
    assert_eq!(span.get("attempt").map(String::as_str), Some("1"));
    assert_eq!(span.get("priority").map(String::as_str), Some("high"));
    assert!(
        span.get("queue_lag_ms")
            .is_some_and(|lag| lag.parse::<u64>().is_ok()),
        "{span:?}"
    );
    let failing_spans = recorded
        .iter()
        .filter(|fields| fields.get("name").map(String::as_str) == Some("observed_failing"))
        .count();
    assert_eq!(failing_spans, 2, "one span per attempt");

    let snapshot = snapshotter.snapshot().into_vec();
    let ok_job = [("job", "observed_ok")];
    let failing_job = [("job", "observed_failing")];
    assert_eq!(
        counter(&snapshot, "pgsched_jobs_enqueued_total", &ok_job),
        1
    );
    assert_eq!(counter(&snapshot, "pgsched_jobs_claimed_total", &ok_job), 1);
    assert_eq!(
        counter(&snapshot, "pgsched_jobs_completed_total", &ok_job),
        1
    );
    assert_eq!(
        counter(&snapshot, "pgsched_jobs_claimed_total", &failing_job),
        2
    );
    assert_eq!(
        counter(
            &snapshot,
            "pgsched_jobs_retried_total",
            &[("job", "observed_failing"), ("reason", "error")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "pgsched_jobs_failed_total",
            &[("job", "observed_failing"), ("reason", "error")]
        ),
        1
    );
    assert_eq!(
        counter(&snapshot, "pgsched_jobs_completed_total", &failing_job),
        0
    );
    assert_eq!(counter(&snapshot, "pgsched_lease_lost_total", &[]), 0);
    let histograms = snapshot
        .iter()
        .filter(|(key, _, _, _)| key.key().name() == "pgsched_job_duration_seconds")
        .count();
    assert!(histograms >= 2, "a duration histogram per job name");
}

#[tokio::test]
async fn a_completion_that_was_fenced_out_is_not_counted() {
    let _serial = SERIAL.lock().await;
    let snapshotter = fresh_metrics();
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let gate = Gate::default();
    // A long heartbeat: the cancel is noticed by the completion's fenced write, not earlier.
    let scheduler = db
        .scheduler(|b| {
            b.state(rec.clone())
                .state(gate.clone())
                .lease_duration(Duration::from_secs(20))
                .heartbeat_interval(Duration::from_secs(10))
        })
        .await;
    scheduler.start().await.expect("worker");

    // One completion that is written, so the counter is known to count.
    let written = fenced_completion::enqueue(fenced_completion::Args {})
        .on(&scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("fenced_started", 1).await;
    gate.0.notify_one();
    eventually("the first completion written", || async {
        let job = scheduler.job(written.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(())
    })
    .await;

    // One whose lease is taken away while it runs (cancelled): it then returns Ok, and its
    // completion is fenced out.
    let fenced = fenced_completion::enqueue(fenced_completion::Args {})
        .on(&scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("fenced_started", 2).await;
    assert!(
        scheduler.cancel_job(fenced.as_str()).await.expect("cancel"),
        "cancelled while running"
    );
    gate.0.notify_one();
    // Shutdown waits for the attempt and writes (tries to write) every queued outcome.
    scheduler.shutdown().await.expect("shutdown");

    let job = scheduler
        .job(fenced.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(
        job.status,
        JobStatus::Cancelled,
        "the completion was fenced out: {job:?}"
    );
    let snapshot = snapshotter.snapshot().into_vec();
    let this_job = [("job", "fenced_completion")];
    assert_eq!(
        counter(&snapshot, "pgsched_jobs_completed_total", &this_job),
        1,
        "only the completion that was written is counted"
    );
}

#[tokio::test]
async fn a_job_held_back_by_capacity_past_its_grace_expires_and_is_counted() {
    let _serial = SERIAL.lock().await;
    let snapshotter = fresh_metrics();
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let gate = Gate::default();
    let scheduler = db
        .scheduler(|b| {
            b.state(rec.clone())
                .state(gate.clone())
                .max_concurrent_jobs(1)
        })
        .await;
    scheduler.start().await.expect("worker");
    let critical = starving_critical::enqueue(starving_critical::Args {})
        .on(&scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("critical_started", 1).await;

    // Due now, on time; only the busy slot holds it back.
    let low = starved_low::enqueue(starved_low::Args {})
        .misfire_grace(Duration::from_secs(1))
        .on(&scheduler)
        .await
        .expect("scheduled");
    let expired = eventually("the low job to expire", || async {
        let job = scheduler.job(low.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Expired).then_some(job)
    })
    .await;
    let holder = scheduler
        .job(critical.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(
        holder.status,
        JobStatus::Running,
        "the critical job held the only slot all along"
    );
    assert_eq!(expired.priority, Priority::Low);
    assert_eq!(expired.attempts, 0, "never started");
    assert!(rec.values("low_ran").is_empty());
    let error = expired.last_error.clone().unwrap_or_default();
    assert!(error.starts_with("misfire"), "{error:?}");

    gate.0.notify_one();
    eventually("the critical job to complete", || async {
        let job = scheduler.job(critical.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(())
    })
    .await;
    scheduler.shutdown().await.expect("shutdown");

    let snapshot = snapshotter.snapshot().into_vec();
    let labelled = snapshot.iter().any(|(key, _, _, _)| {
        key.key().name() == "pgsched_jobs_expired_total"
            && key.key().labels().any(|label| label.key() == "priority")
    });
    let labels: &[(&str, &str)] = if labelled {
        &[("priority", "low")]
    } else {
        &[]
    };
    assert_eq!(
        counter(&snapshot, "pgsched_jobs_expired_total", labels),
        1,
        "the expiry is counted (labels {labels:?})"
    );
    println!(
        "misfire starvation: expired with {error:?}; counted{}",
        if labelled {
            " with priority=low"
        } else {
            " without a priority label"
        }
    );
}
