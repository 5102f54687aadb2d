//! End-to-end tests against a real PostgreSQL, one schema per test, run in parallel.
//!
//! The jobs they run are defined in `jobs.rs` and report to a per-test [`Recorder`] given to
//! the scheduler as state.

mod attempt_errors;
mod bulk;
mod claim_order;
mod claim_wait;
mod decode_panic;
mod evolution;
mod failures;
mod fencing;
mod jobs;
mod outcomes;
mod outputs;
mod priorities;
mod privileges;
mod queues;
mod retention;
mod retention_at_scale;
mod scheduling;
mod shutdown;
mod starvation;
mod steady_state;
mod tour;
mod usage_errors;
mod waiting;
mod workers;
mod workflows;
