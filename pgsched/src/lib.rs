//! # pgsched
//!
//! Durable, typed async jobs on PostgreSQL. Write an `async fn`, mark it [`#[job]`](macro@job),
//! schedule it with the generated `my_job::schedule(at, args)` — from a web handler, a CLI,
//! another job, or inside your own database transaction — and run workers with [`run`]. Jobs
//! live in PostgreSQL: they survive restarts, run at least once, are held by one worker at a
//! time under a fenced lease, and fail alone (a panic, a timeout or an undecodable payload
//! never takes the worker down).
//!
//! ```no_run
//! use pgsched::chrono::{Duration, Utc};
//! use pgsched::{ConflictResolution, JobContext, Priority, Scheduler, State, job};
//! # /// What `send_email` sends with (stands in for your mail client).
//! # pub struct Mailer;
//! # /// Why sending failed.
//! # pub type MailError = std::io::Error;
//! # impl Mailer {
//! #     pub fn new() -> Mailer { Mailer }
//! #     pub async fn send(&self, _to: &str, _subject: &str, _attempt: u32) -> Result<(), MailError> { Ok(()) }
//! # }
//!
//! /// Sends one email. The arguments become `send_email::Args`, stored as postcard bytes.
//! #[job(max_retries = 3, timeout = "30s")]
//! async fn send_email(
//!     to: String,
//!     subject: String,
//!     ctx: JobContext,
//!     mailer: State<Mailer>,
//! ) -> Result<(), MailError> {
//!     mailer.send(&to, &subject, ctx.attempt()).await
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), pgsched::Error> {
//!     // DATABASE_URL and PGSCHED_*, plus the state jobs receive as `State<T>`.
//!     let scheduler = Scheduler::builder_from_env()?
//!         .state(Mailer::new())
//!         .build()
//!         .await?;
//!     scheduler.initialize_db().await?; // create or upgrade pgsched's tables (idempotent)
//!     scheduler.clone().set_global()?; // what `schedule(..)` uses without `.on(&scheduler)`
//!
//!     // Typed and checked at compile time; returns the job id.
//!     let id = send_email::schedule(
//!         Utc::now() + Duration::seconds(5),
//!         send_email::Args {
//!             to: "a@b.c".into(),
//!             subject: "hi".into(),
//!         },
//!     )
//!     .priority(Priority::Critical)
//!     .job_id("welcome:42") // optional; `conflict` decides duplicates
//!     .conflict(ConflictResolution::Ignore)
//!     .await?;
//!     println!("scheduled {id}");
//!
//!     // The worker: runs every #[job] of the binary until SIGINT/SIGTERM, then shuts down
//!     // gracefully. `pgsched::run()` does the same with a scheduler built from the environment.
//!     scheduler.run().await
//! }
//! ```
//!
//! What lives where: [`Scheduler`] (schedule, inspect, cancel, manage, run a worker; built
//! with [`Scheduler::builder`]), [`SchedulerBuilder`] (every setting, and the `PGSCHED_*`
//! variables), [`ScheduleBuilder`] and [`JobSpec`] (what to schedule), [`run`] (a worker
//! process in one call), [`cli`] (the command line every worker binary carries), [`Error`]
//! (everything pgsched fails with). The job model and the runtime come from `pgsched-core`,
//! the SQL from `pgsched-pg`.
//!
//! # Jobs
//!
//! [`#[job]`](macro@job) keeps the function callable and generates a module of the same name:
//!
//! | item | what it is |
//! |---|---|
//! | `Args` | one public field per argument (owned types, serde), stored as postcard bytes; derives `Debug`, `Clone`, `PartialEq`, so argument types implement them too; it implements [`JobArgs`], so the type names its job where one is wanted (`pgsched::testing::enqueued::<send_email::Args>`) |
//! | `NAME` | the stable name stored with each job: the fn name, or `#[job(name = "...")]` (1–128 bytes, no NUL) |
//! | `SCHEMA`, `SCHEMA_HASH` | the argument list and its hash, stored with every payload |
//! | `schedule(at, args)` | a [`ScheduleBuilder`] for a run at `at` (UTC): await it, or set options first |
//! | `enqueue(args)` | the same, due now by the database clock |
//! | `spec(at, args)` | a [`JobSpec`] for [`Scheduler::schedule_many`] / [`Scheduler::schedule_bulk`] |
//! | `Output`, `OUTPUT_SCHEMA`, `OUTPUT_SCHEMA_HASH` | what the job returns (`T` of its `Result<T, E>`, `()` for none), the type as written and its hash, stored with every output |
//! | `handle(id)` | a [`JobHandle<Output>`](JobHandle) on a job of this kind, to wait for its output |
//!
//! Attribute options: `name` (at most 128 bytes), `priority` (`Critical`/`High`/`Normal`/`Low`), `max_retries`,
//! `misfire_grace` (`"5m"` or `"never"`), `timeout` (`"30s"`); the [`macro@job`] page has their
//! values and defaults. Mistakes are compile errors on the offending token, worded as the fix:
//! a non-`async` fn, a `self` receiver, generics, borrowed arguments (`&str`: use `String`),
//! non-identifier patterns, unknown options. Two jobs with the same name are refused when the
//! worker starts, naming both definitions ([`Error::DuplicateJobName`]).
//!
//! Parameters typed [`JobContext`] (job id, attempt, lease token, cancellation) or
//! [`State<T>`](State) (application state given with [`SchedulerBuilder::state`]) are filled
//! by the worker, not stored. A job returns `()` or `Result<T, E>` with `E: Display`; an
//! error is retried up to `max_retries` times with the [`RetryPolicy`] backoff, except
//! [`JobError::fatal`], which fails the job at once. `T` (`Serialize + DeserializeOwned`, `()`
//! for nothing) is the job's output, stored with it when it completes (at most
//! [`SchedulerBuilder::max_output_bytes`] encoded): wait for it with a [`JobHandle`]
//! (`my_job::enqueue(args).handle().await?.wait().await?`), read it later with
//! [`Scheduler::job_output`].
//!
//! A crate that only defines jobs must be named once by the binary that runs them
//! (`use my_jobs as _;`), or the linker drops its registrations; the worker logs the names it
//! knows at start-up and refuses to start with none ([`Error::EmptyRegistry`]).
//!
//! # Scheduling
//!
//! The builder returned by `schedule`/`enqueue` takes:
//!
//! | method | meaning | default |
//! |---|---|---|
//! | [`.priority(p)`](ScheduleBuilder::priority) | among due jobs, Critical (1) runs before High (3), Normal (5), Low (8) | attribute, else Normal |
//! | [`.max_retries(n)`](ScheduleBuilder::max_retries) | retries after the first failed attempt | attribute, else 0 |
//! | [`.job_id(id)`](ScheduleBuilder::job_id) | your id (any text up to 512 bytes, no NUL) | a UUIDv7 |
//! | [`.conflict(c)`](ScheduleBuilder::conflict) | `Raise`: [`Error::AlreadyExists`]; `Ignore`: keep the existing job, return its id; `Replace`: rewrite it as a new pending job — unless it is running, which is left alone and reported as [`Error::JobRunning`] | `Raise` |
//! | [`.misfire_grace(g)`](ScheduleBuilder::misfire_grace) | `Some(d)`: expire if not started `d` after the due time; `None`: never | attribute, else the scheduler's (300 s) |
//! | [`.timeout(d)`](ScheduleBuilder::timeout) | cancel an attempt that runs longer (it fails with `timeout`) | attribute, else none |
//! | [`.on(&scheduler)`](ScheduleBuilder::on) | use this scheduler instead of the process-wide one ([`Scheduler::global`], built from the environment) | global |
//! | [`.in_tx(&mut *tx)`](ScheduleBuilder::in_tx) | write inside your sqlx transaction: the job exists, and workers wake, only if it commits | — |
//!
//! Other ways in, on [`Scheduler`]:
//!
//! ```no_run
//! # async fn demo(scheduler: &pgsched::Scheduler, specs: Vec<pgsched::JobSpec>, payload: Vec<u8>, hash: u64) -> pgsched::Result<()> {
//! use pgsched::{ConflictResolution, JobSpec, Priority};
//! // Many jobs, one transaction, 1000 per statement (`BULK_BATCH_SIZE_DEFAULT`); results
//! // aligned with the input. `schedule_bulk(specs, conflict, batch_size)` picks the batch size.
//! let results = scheduler.schedule_many(specs, ConflictResolution::Ignore).await?;
//! // By name with postcard bytes, for callers that do not link the job's crate.
//! let id = scheduler.schedule_by_name("resize_image", payload.clone(), ConflictResolution::Raise).await?;
//! let spec = JobSpec::by_name("resize_image", payload).schema_hash(hash).priority(Priority::High);
//! // Inspect and cancel.
//! let job = scheduler.job(&id).await?;   // status, priority, attempts, run_at, last_error, timestamps
//! scheduler.cancel_job(&id).await?;      // a running attempt is stopped at its next heartbeat
//! scheduler.retry_job(&id).await?;       // a failed or expired job: pending again, attempts reset
//! # Ok(()) }
//! ```
//!
//! Bulk entries that share an id behave as if scheduled one after another (the first is
//! written under `Raise`/`Ignore`, the last under `Replace`); conflicts are reported per entry
//! as [`Scheduled::AlreadyExists`]/[`Kept`](Scheduled::Kept)/[`Running`](Scheduled::Running),
//! never as a database error. [`Scheduler::job`], [`Scheduler::cancel_job`] and
//! [`Scheduler::retry_job`] take the id as text or as the [`JobId`] scheduling returned.
//! pgsched re-exports the versions of `chrono` and `sqlx` its API uses, as [`pgsched::chrono`](chrono)
//! and [`pgsched::sqlx`](sqlx), so an application need not match them by hand.
//!
//! Scheduling inside your own transaction:
//!
//! ```no_run
//! # use pgsched::job;
//! # #[job] async fn send_email(to: String) {}
//! # async fn demo(scheduler: &pgsched::Scheduler) -> Result<(), Box<dyn std::error::Error>> {
//! let mut tx = scheduler.pool().begin().await?;
//! // … your own writes on `tx` …
//! send_email::enqueue(send_email::Args { to: "a@b.c".into() })
//!     .on(scheduler)
//!     .in_tx(&mut *tx)
//!     .await?;
//! tx.commit().await?; // the job exists, and workers wake, only now
//! # Ok(()) }
//! # fn main() {}
//! ```
//!
//! # Errors
//!
//! Every failure is an [`Error`]; match on its variants. Its `Display` is one sentence that
//! says what to do, and its `Debug` (what `main() -> Result<(), pgsched::Error>` prints) is
//! that sentence followed by its causes, one per line. The first ones a new setup meets:
//!
//! | variant | when | message |
//! |---|---|---|
//! | [`NotMigrated`](Error::NotMigrated) | a call into a schema that was never migrated, or was migrated by an older version | ``pgsched's schema `jobs` does not exist or is not migrated to this version: run a worker once (it migrates on start), call `Scheduler::initialize_db()`, or run the `migrate` command first`` |
//! | [`Connect`](Error::Connect) | [`build()`](SchedulerBuilder::build) cannot reach the server (reported at once, not after a pool timeout) | ``cannot connect to PostgreSQL at postgres://app:***@127.0.0.1:5433/app: connection refused at 127.0.0.1:5433 (is PostgreSQL running and accepting connections there?)`` |
//! | [`InvalidInput`](Error::InvalidInput) | a bad job id, job name or schema name, refused before the database sees it | ``invalid schema name: `pg_jobs` starts with `pg_`, which PostgreSQL reserves for system schemas; choose another name`` |
//!
//! No message or log line shows a database password: URLs are shown through [`redact_url`]
//! (`postgres://app:***@host/db`, `?password=***`). Job names, ids and keys appear as written
//! between backticks, with control characters escaped.
//!
//! # Periodic jobs
//!
//! ```no_run
//! use pgsched::periodic;
//!
//! /// Every weekday at 09:00 London time, once across all replicas.
//! #[periodic(cron = "0 9 * * MON-FRI", tz = "Europe/London", priority = High)]
//! async fn morning_report() -> Result<(), std::io::Error> { /* … */ Ok(()) }
//!
//! /// Every 15 minutes, windows aligned to the Unix epoch (…:00, :15, :30, :45).
//! #[periodic(every = "15m", advisory_lock)]
//! async fn cleanup_temp_files(db: pgsched::State<pgsched::sqlx::PgPool>) { /* … */ }
//! # fn main() {}
//! ```
//!
//! Options (the [`macro@periodic`] page has their values): exactly one of `cron = "…"` or
//! `every = "…"` (`"1s"`, `"15m"`, `"1h 30m"`); `tz` (cron only, an IANA zone; default UTC);
//! `advisory_lock`; `enabled = false`; `dedup_key = "…"` (default: the job's name — never the
//! schedule, see *Identity* below); and every `#[job]` option. Two schedules of one job need a
//! `dedup_key` each. An invalid cron, an unknown zone, `tz` with `every`, both or neither
//! schedule, or a zero interval are compile errors on the offending literal. A periodic fn
//! takes no arguments other than [`JobContext`] / [`State<T>`](State).
//!
//! - **Cron dialect**: the standard 5 fields (minute hour day-of-month month day-of-week) as in
//!   Vixie cron and croniter: `*`, lists, ranges — wrapping ones too (`FRI-MON`, `22-2`) —,
//!   steps (`*/15`, `1/2`), month and day names in any case, day-of-week `0` and `7` both
//!   Sunday, `?` as `*` in the day fields, and `@yearly @annually @monthly @weekly @daily
//!   @midnight @hourly`. When both day-of-month and day-of-week are restricted, either
//!   matching fires (the OR rule); a day field whose list has a bare `*` item is unrestricted,
//!   so `0 0 1 * *,MON` fires on the 1st of each month, not daily (croniter's reading, and
//!   cronie's when the `*` comes first; cronie reads `MON,*` as the OR rule and a leading
//!   `*/2` as unrestricted, croniter and pgsched do not). `saffron` evaluates the expression
//!   behind a small translation layer (`pgsched-cron`): it numbers weekdays from 1 = Sunday
//!   and mishandles wrapping ranges, both corrected there.
//! - **Time zones and DST** (cronie's rule): a fixed-time job (minute and hour fields not
//!   starting with `*`) whose time is skipped by spring-forward runs once, right after the
//!   gap; in a repeated fall-back hour it runs once, at the first occurrence; wildcard-hour
//!   jobs run at every real instant (so `*/15 * * * *` fires 92 times on a 23-hour day and 100
//!   on a 25-hour one). Times are stored in UTC.
//! - **Windows** are the schedule's fire instants (cron) or multiples of the interval since
//!   the Unix epoch — never relative to when a process started — so every replica computes
//!   the same windows. A window's run has the id `periodic:<dedup_key>:<window in Unix ms>`
//!   and is due at the window; each replica enqueues windows due within one tick
//!   ([`periodic_tick`](SchedulerBuilder::periodic_tick), 1 s) ahead, so runs start on time.
//! - **Exactly one enqueue per window**, across any number of replicas, any start order, any
//!   clock skew: one statement advances the schedule's `last_window` with a compare-and-set
//!   and inserts the run only if that succeeded; every decision uses the database clock.
//!   There is no leader to lose. The per-schedule row (`periodic_schedules`) is never deleted
//!   by retention, so removing finished runs cannot re-open their windows. A failed, expired
//!   or cancelled run does not end anything: the next window is enqueued on schedule.
//! - **Missed windows**: windows that passed while no replica ran are skipped (logged), except
//!   the latest one if it is still within the job's misfire grace (300 s by default), which
//!   runs late. A schedule never runs a window from before it was registered: a brand-new
//!   schedule starts with its first window at or after its registration (`schedule_since`),
//!   and a changed expression with its first window at or after the change.
//! - **Identity, redeploys and replicas that disagree**: a schedule is its key (the job's name
//!   or its `dedup_key`); its row in `periodic_schedules` records the expression in force.
//!   Changing the expression in code and redeploying changes that row, not the schedule: its
//!   `enabled` state (an operator's `disable`) and its last window are kept, whatever the
//!   redeploy. While replicas disagree about the expression (a rolling deploy), **the most
//!   recently started registration wins**: each worker writes its expression, the time and its
//!   worker id into the row when it starts; a replica whose expression (or job) differs from
//!   the row's enqueues nothing for that key — the enqueue statement itself checks the
//!   schedule text — and logs once why (`… enqueues nothing for "key" until it restarts or the
//!   schedule in force is its own again`), until the row agrees with it again. So no window
//!   runs twice, and after the last old replica is gone the new expression is the only one. A
//!   rollback is a deploy too: the old replicas follow their expression again once one of
//!   them *restarts*; stopping the new replicas alone leaves the key without an enqueuer.
//!   Management calls ([`Scheduler::periodic_jobs`], the CLI) only create missing rows and
//!   never change the schedule in force; they list it, who registered it and when, next to
//!   this binary's. Upgrading from a version whose default key hashed name and schedule: the
//!   first registration of a job under its name adopts the most recently updated of those
//!   rows (its `enabled` and last window) and deletes it.
//! - **`advisory_lock`**: runs of the schedule never overlap, across every replica. The
//!   exclusion follows leases, not database sessions: each run carries the schedule's key as
//!   its `exclusive_key`, and a claim never starts a run while another run of that key is
//!   `running` (a unique index makes this exact when two workers race). A run that finds its
//!   key busy stays pending and starts as soon as the holder ends — or, if the holder's worker
//!   stopped renewing (crashed, SIGSTOPped, partitioned), once its lease expires and the
//!   recovery sweep hands the job back: lease + sweep, never hours of TCP keepalive. Nothing is
//!   skipped as `cancelled`; a waiting run is subject to its misfire grace like any job. No
//!   session state is involved, so it works behind a transaction pooler.
//!
//! Management, on [`Scheduler`] (state is persisted, so every replica obeys):
//! [`periodic_jobs()`](Scheduler::periodic_jobs) (configuration, the schedule in force and who
//! registered it, enabled state, next fire time of the schedule in force),
//! [`enable_periodic_job(key)`](Scheduler::enable_periodic_job),
//! [`disable_periodic_job(key)`](Scheduler::disable_periodic_job) (also cancels its run
//! enqueued ahead), [`trigger_periodic_job(key)`](Scheduler::trigger_periodic_job) (a run
//! now, id `manual:<key>:<uuid>`, windows unaffected), and
//! [`periodic_job_status(key)`](Scheduler::periodic_job_status) (last window, that run's
//! status and error, next fire time). Each takes the schedule's key — `#[periodic]`
//! generates it as `my_job::KEY` (its `dedup_key`, else the job's name) — or the name of a
//! job that has one schedule.
//!
//! # Running workers
//!
//! [`run()`](run) is a worker process in one call. For more control, build a [`Scheduler`]
//! (every setting is a [`SchedulerBuilder`] method; the `PGSCHED_*` variables that
//! [`Scheduler::from_env`] reads are listed there):
//!
//! ```no_run
//! # async fn demo(my_pool: pgsched::sqlx::PgPool) -> pgsched::Result<()> {
//! let scheduler = pgsched::Scheduler::builder()
//!     .url("postgres://postgres@localhost/app")
//!     .schema("jobs")
//!     .max_concurrent_jobs(50)
//!     .state(my_pool.clone())
//!     .build()
//!     .await?;
//! scheduler.start().await?;        // migrates, registers the worker, claims and runs jobs
//! // …
//! scheduler.shutdown().await?;     // stop claiming; running jobs get the grace period; the rest are released
//! # Ok(()) }
//! ```
//!
//! # Retention ("vacuum")
//!
//! Finished jobs are deleted by per-status policies ([`VacuumConfig`], [`VacuumPolicy`]),
//! passes run on a timer by one replica at a time, and [`Scheduler::run_vacuum`] runs one
//! now. "Vacuum" is the public name of this retention (the seed's word); it is unrelated to
//! PostgreSQL's own `VACUUM`.
//!
//! ```no_run
//! # async fn demo(url: &str) -> pgsched::Result<()> {
//! use std::time::Duration;
//! use pgsched::{VacuumConfig, VacuumPolicy};
//!
//! let scheduler = pgsched::Scheduler::builder()
//!     .url(url)
//!     .vacuum(
//!         VacuumConfig::new()                              // what is not set keeps its default
//!             .completed(VacuumPolicy::after_days(1))      // age counted from when the job finished
//!             .failed(VacuumPolicy::keep_last(1000))       // the newest 1,000 per job name
//!             .cancelled(VacuumPolicy::immediate())
//!             .expired(VacuumPolicy::never())
//!             .interval(Duration::from_secs(3600))
//!             .track_metrics(true),
//!     )
//!     .build()
//!     .await?;
//! let deleted = scheduler.run_vacuum().await?;   // a pass now, whatever the timer
//! println!("deleted {} finished jobs", deleted.total());
//! # Ok(()) }
//! ```
//!
//! # Observability
//!
//! **Tracing.** Every attempt runs inside a `job` span with `id`, `name`, `attempt`,
//! `priority` and `queue_lag_ms` (start minus due time), so a job's own `tracing` events
//! carry them. pgsched's events: enqueue (debug), claim (debug), completion (debug), retry
//! with its delay (info), failure with its reason (warn), expiry (info), lease lost (warn),
//! orphan recovery (info), worker start and shutdown (info). `info` stays quiet in steady
//! state; `debug` explains every decision.
//!
//! **From enqueue to execution** (the `opentelemetry` feature): a job scheduled inside a span
//! stores that span's W3C `traceparent` with the job, and its first attempt's `job` span is a
//! child of it, so one trace shows request → enqueue → run. A retry is a trace of its own with
//! a link to the scheduling span (a retry hours later does not stretch the request's trace).
//! It needs a [`tracing-opentelemetry`](https://docs.rs/tracing-opentelemetry) layer in the
//! application's subscriber; a job scheduled outside any trace stores nothing.
//!
//! **Metrics**, through the [`metrics`](https://docs.rs/metrics) facade: install any
//! recorder, or build `pgsched` with the `prometheus` feature and set
//! `PGSCHED_METRICS_ADDR=0.0.0.0:9464` to have [`run()`](run) serve them for Prometheus:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `pgsched_jobs_enqueued_total` | counter | `job` |
//! | `pgsched_jobs_claimed_total` | counter | `job` |
//! | `pgsched_jobs_completed_total` | counter | `job` (counted once the outcome is written, never for a fenced-out attempt) |
//! | `pgsched_jobs_retried_total` | counter | `job`, `reason` (`error`, `panic`, `timeout`, `unknown_job`, `unknown_schema`) |
//! | `pgsched_jobs_failed_total` | counter | `job`, `reason` (also `fatal`, `decode`, `missing_state`) |
//! | `pgsched_late_claims_total` | counter | — (jobs given back unstarted: the claim answered too late to start them within their lease) |
//! | `pgsched_jobs_expired_total` | counter | `priority` (not started within the misfire grace: late, or starved by higher priorities) |
//! | `pgsched_jobs_recovered_total` | counter | `outcome` (`requeued`, `failed`) |
//! | `pgsched_lease_lost_total` | counter | — |
//! | `pgsched_job_duration_seconds` | histogram | `job` |
//! | `pgsched_job_queue_lag_seconds` | histogram | `job` |
//! | `pgsched_jobs_running` | gauge | — |
//! | `pgsched_worker_free_slots` | gauge | — |
//!
//! # Cargo features
//!
//! - `cli` (default): the admin command line of [`run`] and [`cli`] (and the `clap`
//!   dependency); a library user who does not want it depends on `pgsched` with
//!   `default-features = false`.
//! - `prometheus`: [`run`] serves the metrics on `PGSCHED_METRICS_ADDR`.
//! - `testing`: `pgsched::testing`, helpers for your own tests (a throwaway schema
//!   per test, running enqueued jobs inline, typed assertions, a clock for periodic jobs);
//!   enable it in `[dev-dependencies]` only.
//! - `opentelemetry`: traces from enqueue to execution (see *Observability*).

mod admin;
#[cfg(feature = "cli")]
pub mod cli;
mod connect;
#[cfg(feature = "dashboard")]
mod dashboard;
mod env;
mod handle;
mod output;
mod periodic;
mod run;
mod schedule_builder;
mod scheduler;
mod spec;
#[cfg(feature = "testing")]
pub mod testing;
mod trace_context;

/// The `chrono` pgsched's API takes and returns times in (`DateTime<Utc>`), re-exported so an
/// application uses the same version without matching it by hand.
pub use chrono;
pub use handle::JobHandle;
pub use periodic::{PeriodicJobInfo, PeriodicJobStatus};
pub use pgsched_core::store::{JobFilter, Recovered, VacuumStatsDay, VacuumTotals, WorkerInfo};
pub use pgsched_core::{
    ArgsSchema, ConflictResolution, Error, JobArgs, JobContext, JobError, JobId, JobInfo,
    JobStatus, MAX_CONCURRENCY_LIMIT, MAX_KEY_RATE_STARTS, MisfireGrace, OnParentFailure, Priority,
    QueueInfo, QueueName, QueueSettings, RateLimit, Result, RetryPolicy, Scheduled, ShutdownReport,
    State, VacuumConfig, VacuumPolicy, VacuumReport, VacuumTrigger, WorkerConfig, WorkerQueues,
    redact_url,
};
pub use pgsched_macros::{args, job, periodic};
pub use pgsched_pg::SchemaName;
pub use run::run;
pub use schedule_builder::ScheduleBuilder;
pub use scheduler::{Scheduler, SchedulerBuilder};
pub use spec::JobSpec;
pub mod defaults {
    //! Every default of [`crate::SchedulerBuilder`], each written once: the builder, the
    //! `PGSCHED_*` variables (which call the builder's setters) and the docs all use these.
    pub use crate::scheduler::{BULK_BATCH_SIZE_DEFAULT, POOL_SIZE_DEFAULT};
    pub use pgsched_core::config::{
        BATCH_CLAIM_LIMIT_DEFAULT, DEAD_WORKER_AFTER_DEFAULT, HEARTBEAT_INTERVAL_DEFAULT,
        LEASE_DURATION_DEFAULT, MAX_CONCURRENT_JOBS_DEFAULT, MAX_OUTPUT_BYTES_DEFAULT,
        MAX_PAYLOAD_BYTES_DEFAULT, MISFIRE_GRACE_DEFAULT, PERIODIC_TICK_DEFAULT,
        POLL_INTERVAL_DEFAULT, SHUTDOWN_GRACE_DEFAULT, SWEEP_BATCH_DEFAULT, SWEEP_INTERVAL_DEFAULT,
        UNKNOWN_JOB_ATTEMPTS_DEFAULT,
    };
    /// The defaults of [`crate::VacuumConfig`] (retention).
    pub use pgsched_core::retention::{
        BATCH_SIZE_DEFAULT as VACUUM_BATCH_SIZE_DEFAULT,
        CANCELLED_DEFAULT as VACUUM_CANCELLED_DEFAULT,
        COMPLETED_DEFAULT as VACUUM_COMPLETED_DEFAULT, EXPIRED_DEFAULT as VACUUM_EXPIRED_DEFAULT,
        FAILED_DEFAULT as VACUUM_FAILED_DEFAULT, INTERVAL_DEFAULT as VACUUM_INTERVAL_DEFAULT,
        STATEMENT_TIMEOUT_DEFAULT as VACUUM_STATEMENT_TIMEOUT_DEFAULT,
    };
}
/// The README's code blocks, compiled and run as doc-tests (`cargo test -p pgsched --doc`), so
/// what a reader pastes works; its tour, which runs a worker until a signal, is compiled here
/// and run by `tests/it/tour.rs`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The web dashboard (the `dashboard` feature; see [`Scheduler::dashboard`]).
#[cfg(feature = "dashboard")]
pub use pgsched_web as web;
/// The `sqlx` pgsched's API takes (`PgPool` for [`SchedulerBuilder::pool`], `PgConnection` and
/// transactions for scheduling inside your own transaction), re-exported so an application
/// uses the same version without matching it by hand.
pub use sqlx;

#[doc(hidden)]
pub mod __private {
    //! What code generated by `#[job]` refers to, the internals pgsched's own tests and tools
    //! reach into, and the tick source tests drive the worker's timers with. Not a public
    //! API: it changes without notice.
    pub use chrono;
    pub use inventory;
    pub use pgsched_core::codec::{
        args_from_json, args_to_json, decode_args, encode_output, output_to_json, schema_hash,
        upgrade_payload,
    };
    pub use pgsched_core::runtime::{
        PeriodicTick, ScheduleDecision, ScheduleTick, SweepPass, TickError, TickEvent, TickSource,
    };
    pub use pgsched_core::{
        ArgsUpgrade, FailureReason, FromContext, IntoJobResult, JobContext, JobDefinition,
        JobFuture, JobOptions, OutputDefinition, PeriodicDefinition, PeriodicSchedule,
        ScheduleDefaults,
    };
    pub use serde;
    pub use serde_json;

    use crate::{JobSpec, ScheduleBuilder, Scheduler};

    /// A typed job: what a job's generated `spec(at, args)` returns. `at: None` means now, by
    /// the database clock.
    pub fn typed_spec<A: serde::Serialize>(
        definition: &'static JobDefinition,
        at: Option<chrono::DateTime<chrono::Utc>>,
        args: &A,
    ) -> JobSpec {
        JobSpec::typed(definition, at, args)
    }

    /// A builder for a typed job: what a job's generated `schedule` and `enqueue` return.
    /// `O` is the job's output type.
    pub fn typed_schedule<A: serde::Serialize, O>(
        definition: &'static JobDefinition,
        at: Option<chrono::DateTime<chrono::Utc>>,
        args: &A,
    ) -> ScheduleBuilder<'static, O> {
        ScheduleBuilder::typed(definition, JobSpec::typed(definition, at, args))
    }

    /// A handle on the job `id` of `definition`, whose output type is `O`: what a job's
    /// generated `handle(id)` returns.
    pub fn job_handle<O: serde::de::DeserializeOwned + 'static>(
        definition: &'static JobDefinition,
        id: crate::JobId,
    ) -> crate::JobHandle<O> {
        crate::JobHandle::of(definition, id)
    }

    /// The scheduler's PostgreSQL store (pool and schema), for tests and tools that drive
    /// the store directly.
    #[must_use]
    pub fn store(scheduler: &Scheduler) -> &pgsched_pg::PgStore {
        scheduler.store()
    }

    /// The defaults the scheduler applies to scheduled jobs, for tests that build a worker
    /// by hand.
    #[must_use]
    pub fn schedule_defaults(scheduler: &Scheduler) -> &ScheduleDefaults {
        scheduler.schedule_defaults()
    }
}
