-- The jobs row every enqueue writes (a fragment, not a statement): one column a line,
-- `column = expression` over the input row `d`, whose columns job_row.rs binds. statements.rs
-- renders it into the statements as __JOB_COLUMNS__, __JOB_VALUES__ and
-- __EXCLUDED_JOB_COLUMNS__. run_at NULL means now by the database clock; a NULL grace never
-- expires (expires_at NULL); the status is `pending` or `scheduled` by when it is due.
id               = d.id
name             = d.name
payload          = d.payload
schema_hash      = d.schema_hash
run_at           = coalesce(d.run_at, now())
priority         = d.priority
max_retries      = d.max_retries
misfire_grace_ms = d.misfire_grace_ms
expires_at       = coalesce(d.run_at, now()) + d.misfire_grace_ms * interval '1 millisecond'
timeout_ms       = d.timeout_ms
exclusive_key    = d.exclusive_key
status           = __SCHEMA__.waiting_status(coalesce(d.run_at, now()), d.misfire_grace_ms)
