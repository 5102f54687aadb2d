//! Traces from enqueue to execution (pgsched's `opentelemetry` feature): a job scheduled in a
//! span stores its `traceparent`, the first attempt's `job` span is a child of that span, and
//! a retry's span starts a trace of its own that links back to it.
//!
//! A test binary of its own: the subscriber it installs (a `tracing-opentelemetry` layer over
//! an exporter that keeps every finished span in memory) is process-wide.

use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use pgsched::{JobContext, State, job};
use pgsched_tests::{Recorder, setup};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// Completes at once.
#[job]
async fn traced_ok(rec: State<Recorder>) {
    rec.record("traced_ok", 1);
}

/// Fails its first attempt, completes its retry.
#[job(max_retries = 1)]
async fn traced_retried(ctx: JobContext, rec: State<Recorder>) -> Result<(), String> {
    rec.record("traced_retried", i64::from(ctx.attempt()));
    if ctx.attempt() == 1 {
        return Err("the first attempt fails".into());
    }
    Ok(())
}

/// Scheduled outside any span.
#[job]
async fn untraced(rec: State<Recorder>) {
    rec.record("untraced", 1);
}

/// Keeps every exported span.
#[derive(Debug, Clone, Default)]
struct KeptSpans(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for KeptSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().expect("not poisoned").extend(batch);
        Ok(())
    }
}

/// The process's subscriber, installed once: every span goes to OpenTelemetry, exported as it
/// ends into the returned [`KeptSpans`].
fn traced() -> &'static (KeptSpans, SdkTracerProvider) {
    static TRACED: OnceLock<(KeptSpans, SdkTracerProvider)> = OnceLock::new();
    TRACED.get_or_init(|| {
        let kept = KeptSpans::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(kept.clone())
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("pgsched-tests"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the only subscriber of this binary");
        (kept, provider)
    })
}

/// The value of attribute `key` of `span`.
fn attribute<'s>(span: &'s SpanData, key: &str) -> Option<&'s Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .map(|KeyValue { value, .. }| value)
}

/// The text of attribute `key` of `span` (tracing-opentelemetry records numbers as text).
fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|value| value.as_str().into_owned())
}

/// The `job` span of `name`'s attempt `attempt`.
fn job_span<'s>(spans: &'s [SpanData], name: &str, attempt: u32) -> &'s SpanData {
    let is_it = |span: &&SpanData| {
        span.name == "job"
            && text(span, "name").as_deref() == Some(name)
            && text(span, "attempt") == Some(attempt.to_string())
    };
    spans.iter().find(is_it).unwrap_or_else(|| {
        let seen: Vec<_> = spans
            .iter()
            .map(|span| (&span.name, text(span, "name"), text(span, "attempt")))
            .collect();
        panic!("no job span for {name} attempt {attempt} among {seen:?}")
    })
}

#[tokio::test]
async fn the_first_attempt_continues_the_scheduling_trace_and_a_retry_links_to_it() {
    let (kept, provider) = traced();
    let t = setup().await;

    let request = tracing::info_span!("request");
    let (ok, retried) = async {
        let ok = traced_ok::enqueue(traced_ok::Args {})
            .on(&t.scheduler)
            .await
            .expect("scheduled");
        let retried = traced_retried::enqueue(traced_retried::Args {})
            .on(&t.scheduler)
            .await
            .expect("scheduled");
        (ok, retried)
    }
    .instrument(request.clone())
    .await;
    drop(request);
    let outside = untraced::enqueue(untraced::Args {})
        .on(&t.scheduler)
        .await
        .expect("scheduled");

    // What each job stores: the request's traceparent, or nothing outside a trace.
    let stored = |id: pgsched::JobId| {
        let pool = t.pool().clone();
        let schema = t.schema().to_owned();
        async move {
            sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(format!(
                "SELECT trace_context FROM {schema}.jobs WHERE id = $1"
            )))
            .bind(id.as_str())
            .fetch_one(&pool)
            .await
            .expect("the job's row")
        }
    };
    let ok_stored = stored(ok)
        .await
        .expect("a traceparent for a job scheduled in a span");
    assert_eq!(stored(retried).await.as_ref(), Some(&ok_stored));
    assert_eq!(stored(outside).await, None, "nothing outside a trace");

    let worker = t.worker(|builder| builder).await;
    t.rec.wait_for("traced_ok", 1).await;
    t.rec.wait_for("traced_retried", 2).await;
    t.rec.wait_for("untraced", 1).await;
    worker.shutdown().await.expect("shutdown");
    provider.force_flush().expect("flushed");

    let spans = kept.0.lock().expect("not poisoned").clone();
    let request = spans
        .iter()
        .find(|span| span.name == "request")
        .expect("the request span");
    let trace: TraceId = request.span_context.trace_id();
    let parent: SpanId = request.span_context.span_id();
    assert_eq!(
        ok_stored,
        format!("00-{trace}-{parent}-01"),
        "the stored traceparent names the scheduling span"
    );

    for (name, what) in [
        ("traced_ok", "a first attempt"),
        ("traced_retried", "a first attempt that failed"),
    ] {
        let first = job_span(&spans, name, 1);
        assert_eq!(
            first.span_context.trace_id(),
            trace,
            "{what} is in the request's trace"
        );
        assert_eq!(
            first.parent_span_id, parent,
            "{what} is a child of the scheduling span"
        );
    }

    let retry = job_span(&spans, "traced_retried", 2);
    assert_ne!(
        retry.span_context.trace_id(),
        trace,
        "a retry is a trace of its own"
    );
    assert!(
        retry
            .links
            .iter()
            .any(|link| link.span_context.trace_id() == trace
                && link.span_context.span_id() == parent),
        "a retry links to the scheduling span: {:?}",
        retry.links.links
    );

    let alone = job_span(&spans, "untraced", 1);
    assert_ne!(alone.span_context.trace_id(), trace);
    assert!(alone.links.is_empty());
}
