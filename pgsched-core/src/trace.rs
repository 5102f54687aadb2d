//! Traces from enqueue to execution. A job stores the trace context it was scheduled in (a
//! W3C `traceparent`, [`NewJob::trace_context`](crate::NewJob::trace_context)), and each
//! attempt's `job` span continues it: the first attempt as a child of the scheduling span,
//! each retry as a trace of its own that links back to it. The core only carries the text;
//! capturing and continuing it is the `opentelemetry` feature of the `pgsched` crate.

/// Makes an attempt's `job` span continue the trace its job was scheduled in: `stored` is
/// the job's trace context (a W3C `traceparent`), `attempt` the attempt's number (1: the
/// span becomes a child of the scheduling span; a retry: it links to it). Called right after
/// the span is created, before it is entered.
pub type ContinueTrace = fn(span: &tracing::Span, stored: &str, attempt: u32);
