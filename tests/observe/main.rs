//! Observability: the span every attempt runs in, and the metrics a small run records.
//!
//! A test binary of its own, because the tracing subscriber and the metrics recorder it
//! installs are process-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use pgsched::{JobStatus, State, job};
use pgsched_tests::{Recorder, TestDb, eventually};
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

#[tokio::test]
async fn a_job_runs_in_a_span_with_its_fields_and_the_run_is_counted() {
    let spans = JobSpans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("first recorder");

    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = db.scheduler(|b| b.state(rec.clone())).await;
    scheduler.start().await.expect("worker");
    let ok = observed_ok::enqueue(observed_ok::Args {})
        .priority(pgsched::Priority::High)
        .job_id("observed-1")
        .on(&scheduler)
        .await
        .expect("scheduled");
    let failing = observed_failing::enqueue(observed_failing::Args {})
        .on(&scheduler)
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
    db.drop_schema().await;
}
