-- pgsched schema, version 9: a job keeps the trace it was scheduled in (a W3C `traceparent`,
-- NULL when it was scheduled outside a trace), so its attempts can continue that trace.
-- Nullable without a default: adding it rewrites nothing.
ALTER TABLE jobs ADD COLUMN trace_context text;
