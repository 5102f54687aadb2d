//! Traces from enqueue to execution (the `opentelemetry` feature): a job scheduled inside a
//! span stores that span's W3C `traceparent`, and each attempt's `job` span continues it: the
//! first attempt as a child of the scheduling span, each retry as a trace of its own with a
//! link back to it (a retry hours later does not stretch the request's trace). It needs a
//! `tracing-opentelemetry` layer in the application's subscriber; without the feature or the
//! layer, nothing is stored and nothing is continued. See [`pgsched_core::trace`].

use pgsched_core::trace::ContinueTrace;

/// What the worker's attempts continue traces with: the feature's, or nothing.
pub(crate) const CONTINUE_TRACE: Option<ContinueTrace> = {
    #[cfg(feature = "opentelemetry")]
    {
        Some(otel::continue_trace)
    }
    #[cfg(not(feature = "opentelemetry"))]
    {
        None
    }
};

/// The trace context to store with a job scheduled now: the current span's `traceparent`,
/// or `None` outside a trace (or without the feature).
pub(crate) fn capture() -> Option<String> {
    #[cfg(feature = "opentelemetry")]
    {
        otel::capture()
    }
    #[cfg(not(feature = "opentelemetry"))]
    {
        None
    }
}

#[cfg(feature = "opentelemetry")]
mod otel {
    use std::collections::HashMap;

    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    /// The W3C header that carries the trace and parent span ids.
    const TRACEPARENT: &str = "traceparent";

    pub(super) fn capture() -> Option<String> {
        let context = tracing::Span::current().context();
        if !context.span().span_context().is_valid() {
            return None;
        }
        let mut carrier: HashMap<String, String> = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut carrier);
        carrier.remove(TRACEPARENT)
    }

    pub(super) fn continue_trace(span: &tracing::Span, stored: &str, attempt: u32) {
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), stored.to_owned())]);
        let scheduled_in = TraceContextPropagator::new().extract(&carrier);
        let parent = scheduled_in.span().span_context().clone();
        if !parent.is_valid() {
            tracing::debug!(stored, "the job's trace context is not a valid traceparent");
            return;
        }
        if attempt <= 1 {
            if let Err(error) = span.set_parent(scheduled_in) {
                tracing::debug!(%error, "the attempt's span cannot continue the job's trace");
            }
        } else {
            span.add_link(parent);
        }
    }
}
