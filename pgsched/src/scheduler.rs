//! [`Scheduler`]: the handle an application keeps — schedule, inspect, cancel, and run a
//! worker — over the PostgreSQL store.

use std::sync::Arc;
use std::time::Duration;

use pgsched_core::store::{JobStore, Recovered, VacuumStatsDay, VacuumTotals};
use pgsched_core::{
    BulkPlan, ConflictResolution, Error, JobId, JobInfo, NewJob, QueueInfo, QueueName, RateLimit,
    Registry, Result, RetryPolicy, ScheduleDefaults, Scheduled, ShutdownReport, States,
    VacuumConfig, VacuumReport, Waiters, Worker, WorkerConfig, WorkerHandle, WorkerQueues,
};
use pgsched_pg::{PgStore, SchemaName};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, OnceCell};

use crate::spec::JobSpec;

/// Default pool size of a scheduler that opens its own pool.
pub const POOL_SIZE_DEFAULT: u32 = 10;
/// Jobs per statement of [`Scheduler::schedule_many`], and a good `batch_size` for
/// [`Scheduler::schedule_bulk`] (the seed's default).
pub const BULK_BATCH_SIZE_DEFAULT: usize = 1000;

static GLOBAL: OnceCell<Scheduler> = OnceCell::const_new();

/// Schedules, inspects and cancels jobs, manages periodic jobs and retention, and runs a
/// worker. Cheap to clone.
///
/// Build one with [`Scheduler::builder`] (every setting, see [`SchedulerBuilder`]), or with
/// [`Scheduler::connect`] / [`Scheduler::from_env`] for the defaults:
///
/// ```no_run
/// # async fn demo() -> pgsched::Result<()> {
/// use std::time::Duration;
/// let scheduler = pgsched::Scheduler::builder()
///     .url("postgres://postgres@localhost/app")
///     .schema("jobs")
///     .max_concurrent_jobs(50)
///     .misfire_grace_time(Some(Duration::from_secs(60)))
///     .build()
///     .await?;
/// scheduler.start().await?;          // migrates, then claims and runs jobs
/// // …
/// scheduler.shutdown().await?;       // stop claiming, finish or release running jobs
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

struct Inner {
    store: PgStore,
    /// Whether `build()` opened the main pool (else it was given with
    /// [`SchedulerBuilder::pool`], and [`Scheduler::close`] leaves it open).
    owns_pool: bool,
    registry: std::sync::OnceLock<Registry>,
    worker_config: WorkerConfig,
    defaults: ScheduleDefaults,
    states: States,
    worker: Mutex<Option<WorkerHandle>>,
    /// Waits for jobs to end ([`crate::JobHandle`]), with their listener.
    waiters: Waiters,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("schema", self.inner.store.schema())
            .field("worker_config", &self.inner.worker_config)
            .field("defaults", &self.inner.defaults)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A builder with the seed's defaults.
    #[must_use]
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::default()
    }

    /// Connects to `url` with every default.
    ///
    /// # Errors
    /// [`Error::Connect`] if the database cannot be reached (the message names the address and
    /// shows the URL with its password redacted).
    pub async fn connect(url: &str) -> Result<Scheduler> {
        Scheduler::builder().url(url).build().await
    }

    /// Builds from `DATABASE_URL` and the `PGSCHED_*` variables (listed on
    /// [`SchedulerBuilder`]), as [`crate::run()`] and the command line do. For settings
    /// only code gives (application state, a retry policy), start from
    /// [`Scheduler::builder_from_env`] instead. It does not migrate (see
    /// [`SchedulerBuilder::build`]).
    ///
    /// # Errors
    /// [`Error::Config`] for a missing or invalid variable, [`Error::InvalidInput`] for an
    /// invalid schema name, or [`Error::Connect`] if the database cannot be reached.
    pub async fn from_env() -> Result<Scheduler> {
        Scheduler::builder_from_env()?.build().await
    }

    /// A builder set from `DATABASE_URL` and the `PGSCHED_*` variables (listed on
    /// [`SchedulerBuilder`]), for settings only code can give — application
    /// [`state`](SchedulerBuilder::state), a [`RetryPolicy`] — on top of the environment's.
    ///
    /// ```no_run
    /// # async fn demo(pool: pgsched::sqlx::PgPool) -> pgsched::Result<()> {
    /// let scheduler = pgsched::Scheduler::builder_from_env()?
    ///     .state(pool)            // jobs taking `State<PgPool>` receive it
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable that is missing or invalid.
    pub fn builder_from_env() -> Result<SchedulerBuilder> {
        SchedulerBuilder::from_env(|key| std::env::var(key).ok())
    }

    /// The process-wide scheduler used by `my_job::schedule(..)` without `.on(..)` and by
    /// [`crate::run`]: the one installed with [`Scheduler::set_global`], else one built
    /// from the environment on first use.
    ///
    /// # Errors
    /// As [`Scheduler::from_env`].
    pub async fn global() -> Result<&'static Scheduler> {
        GLOBAL.get_or_try_init(Scheduler::from_env).await
    }

    /// Installs this scheduler as the process-wide one: what `my_job::schedule(..)` and
    /// `enqueue(..)` use without `.on(..)` (jobs that schedule jobs included) and what
    /// [`crate::run()`] runs. Call it once, early, before anything schedules without `.on`
    /// (which would build one from the environment); the scheduler is cheap to clone, so keep
    /// a handle:
    ///
    /// ```no_run
    /// # async fn demo() -> pgsched::Result<()> {
    /// let scheduler = pgsched::Scheduler::builder_from_env()?.build().await?;
    /// scheduler.clone().set_global()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::GlobalAlreadySet`] if one is already installed (or was built from the
    /// environment).
    pub fn set_global(self) -> Result<()> {
        GLOBAL.set(self).map_err(|_| Error::GlobalAlreadySet)
    }

    /// The PostgreSQL store (pool and schema); tests and tools reach it through
    /// `pgsched::__private::store`.
    #[must_use]
    pub(crate) fn store(&self) -> &PgStore {
        &self.inner.store
    }

    /// The main connection pool.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        self.inner.store.pool()
    }

    /// The jobs and periodic schedules linked into this binary (read once it is valid; an
    /// invalid one is read again on each call and gives the same error, the definitions
    /// being fixed at link time).
    ///
    /// # Errors
    /// [`Error::DuplicateJobName`] or [`Error::InvalidSchedule`].
    pub(crate) fn registry(&self) -> Result<&Registry> {
        if let Some(registry) = self.inner.registry.get() {
            return Ok(registry);
        }
        let registry = Registry::from_inventory()?;
        Ok(self.inner.registry.get_or_init(|| registry))
    }

    /// The waits for jobs to end, shared by every [`crate::JobHandle`] of this scheduler.
    pub(crate) fn waiters(&self) -> &Waiters {
        &self.inner.waiters
    }

    /// Defaults applied to scheduled jobs (`pgsched::__private::schedule_defaults`).
    #[must_use]
    pub(crate) fn schedule_defaults(&self) -> &ScheduleDefaults {
        &self.inner.defaults
    }

    /// The worker settings.
    #[must_use]
    pub fn worker_config(&self) -> &WorkerConfig {
        &self.inner.worker_config
    }

    /// Creates or upgrades pgsched's tables in the configured schema.
    ///
    /// # Errors
    /// A store error (for example, no permission to create the schema).
    pub async fn initialize_db(&self) -> Result<()> {
        self.inner.store.migrate().await
    }

    /// Migrates, then starts a worker in this process that runs every registered `#[job]`.
    ///
    /// # Errors
    /// [`Error::AlreadyRunning`], [`Error::EmptyRegistry`], [`Error::DuplicateJobName`], or a
    /// store error.
    pub async fn start(&self) -> Result<()> {
        let mut worker = self.inner.worker.lock().await;
        if worker.is_some() {
            return Err(Error::AlreadyRunning);
        }
        let registry = Registry::from_inventory()?;
        if registry.is_empty() {
            return Err(Error::EmptyRegistry);
        }
        self.initialize_db().await?;
        let handle = self.worker(registry).start().await?;
        *worker = Some(handle);
        Ok(())
    }

    /// A worker over this scheduler's store, settings and state that runs `registry`.
    fn worker(&self, registry: Registry) -> Worker {
        let store: Arc<dyn JobStore> = Arc::new(self.inner.store.clone());
        Worker::new(
            store,
            registry,
            self.inner.worker_config.clone(),
            self.inner.defaults,
            self.inner.states.clone(),
        )
    }

    /// A worker with no loops of its own that runs every registered `#[job]` on the caller's
    /// task when asked (what `pgsched::testing` drives).
    ///
    /// # Errors
    /// [`Error::EmptyRegistry`], [`Error::DuplicateJobName`] or [`Error::InvalidSchedule`].
    #[cfg(feature = "testing")]
    pub(crate) fn inline_worker(&self) -> Result<pgsched_core::runtime::InlineWorker> {
        let registry = self.registry()?.clone();
        if registry.is_empty() {
            return Err(Error::EmptyRegistry);
        }
        Ok(self.worker(registry).inline())
    }

    /// Whether a worker started by [`Scheduler::start`] is running.
    pub async fn is_running(&self) -> bool {
        self.inner.worker.lock().await.is_some()
    }

    /// Stops the worker gracefully: no more claims, running jobs get the grace period, the
    /// rest are cancelled and released, queued outcomes are written. Returns at once if no
    /// worker runs.
    ///
    /// # Errors
    /// None today (the report says what could not be written).
    pub async fn shutdown(&self) -> Result<ShutdownReport> {
        let handle = self.inner.worker.lock().await.take();
        match handle {
            Some(handle) => handle.shutdown().await,
            None => Ok(ShutdownReport::default()),
        }
    }

    /// Shuts the worker down if one runs ([`Scheduler::shutdown`]), then closes the
    /// connections this scheduler opened, waiting until each is closed (a pool given with
    /// [`SchedulerBuilder::pool`] stays open). Call it last: the scheduler, and its clones,
    /// cannot reach the database afterwards. Dropping a scheduler also closes them, but in the
    /// background: a process that stops its database server next (a throwaway test cluster)
    /// calls this first, so the server does not terminate connections still open (sqlx logs
    /// each as a warning).
    ///
    /// # Errors
    /// As [`Scheduler::shutdown`].
    pub async fn close(&self) -> Result<ShutdownReport> {
        let report = self.shutdown().await?;
        self.inner.waiters.stop();
        self.inner.store.close(self.inner.owns_pool).await;
        Ok(report)
    }

    /// Sends jobs whose lease expired (their worker died) back to pending, or fails those on
    /// their last attempt. Workers also do this on their own, every sweep interval.
    ///
    /// # Errors
    /// A store error.
    pub async fn recover_orphaned_jobs(&self) -> Result<Recovered> {
        self.inner
            .store
            .recover_orphans(self.inner.worker_config.sweep_batch)
            .await
    }

    /// Marks pending jobs past their misfire grace as expired (workers also do this on their
    /// own). Returns their ids.
    ///
    /// # Errors
    /// A store error.
    pub async fn expire_misfired_jobs(&self) -> Result<Vec<JobId>> {
        self.inner
            .store
            .expire_misfired(self.inner.worker_config.sweep_batch)
            .await
            .map(|expired| expired.into_iter().map(|(id, _)| id).collect())
    }

    /// Schedules many jobs in one transaction, [`BULK_BATCH_SIZE_DEFAULT`] per
    /// statement: [`Scheduler::schedule_bulk`] for callers that do not tune the batch size.
    ///
    /// ```no_run
    /// # async fn demo(scheduler: &pgsched::Scheduler, specs: Vec<pgsched::JobSpec>) -> pgsched::Result<()> {
    /// let results = scheduler
    ///     .schedule_many(specs, pgsched::ConflictResolution::Ignore)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Scheduler::schedule_bulk`].
    pub async fn schedule_many(
        &self,
        specs: Vec<JobSpec>,
        conflict: ConflictResolution,
    ) -> Result<Vec<Scheduled>> {
        self.schedule_bulk(specs, conflict, BULK_BATCH_SIZE_DEFAULT)
            .await
    }

    /// Schedules many jobs in one transaction, `batch_size` per statement
    /// ([`BULK_BATCH_SIZE_DEFAULT`] is a good default; [`Scheduler::schedule_many`]
    /// uses it). Larger batches mean fewer round trips and bigger statements. The results are
    /// aligned with `specs` index by index; entries sharing an id behave as if scheduled one
    /// after another. Conflicts are reported per entry, never as an error.
    ///
    /// # Errors
    /// A validation error (the whole call writes nothing), or a store error (nothing is
    /// written either: the transaction rolls back).
    pub async fn schedule_bulk(
        &self,
        specs: Vec<JobSpec>,
        conflict: ConflictResolution,
        batch_size: usize,
    ) -> Result<Vec<Scheduled>> {
        let jobs = self.prepare(specs)?;
        if jobs.iter().all(|job| job.fresh_id) {
            // Generated ids are unique: nothing to de-duplicate, results are already aligned.
            let results = self
                .inner
                .store
                .schedule(&jobs, conflict, batch_size)
                .await?;
            Self::record_enqueued(&jobs, &results);
            return Ok(results);
        }
        let ids: Vec<&JobId> = jobs.iter().map(|job| &job.id).collect();
        let plan = BulkPlan::new(&ids, conflict);
        let mut slots: Vec<Option<NewJob>> = jobs.into_iter().map(Some).collect();
        let sent: Vec<NewJob> = plan
            .sent
            .iter()
            .filter_map(|&index| slots[index].take())
            .collect();
        let results = self
            .inner
            .store
            .schedule(&sent, conflict, batch_size)
            .await?;
        Self::record_enqueued(&sent, &results);
        Ok(plan.assemble(&results))
    }

    /// Schedules one job (what awaiting a [`crate::ScheduleBuilder`] does).
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] (Raise), [`Error::JobRunning`] (Replace on a running job), a
    /// validation error, or a store error.
    pub async fn schedule(&self, spec: JobSpec, conflict: ConflictResolution) -> Result<JobId> {
        let job = self.prepare(vec![spec])?;
        let mut results = self.inner.store.schedule(&job, conflict, 1).await?;
        Self::record_enqueued(&job, &results);
        single(&mut results)
    }

    /// Schedules one job inside the caller's transaction (pass `&mut *tx`): the job exists,
    /// and workers are woken, only if that transaction commits (what
    /// [`crate::ScheduleBuilder::in_tx`] does).
    ///
    /// # Errors
    /// As [`Scheduler::schedule`].
    pub async fn schedule_in_tx(
        &self,
        connection: &mut PgConnection,
        spec: JobSpec,
        conflict: ConflictResolution,
    ) -> Result<JobId> {
        let job = self.prepare(vec![spec])?;
        let mut results = self
            .inner
            .store
            .schedule_on(connection, &job, conflict)
            .await?;
        Self::record_enqueued(&job, &results);
        single(&mut results)
    }

    /// Schedules one job by name with postcard-encoded arguments, for callers that do not
    /// link the job's crate. A job name is 1 to 128 bytes without NUL
    /// ([`Error::InvalidInput`] otherwise); ids are up to 512 bytes.
    ///
    /// # Errors
    /// As [`Scheduler::schedule`].
    pub async fn schedule_by_name(
        &self,
        name: &str,
        payload: Vec<u8>,
        conflict: ConflictResolution,
    ) -> Result<JobId> {
        self.schedule(JobSpec::by_name(name, payload), conflict)
            .await
    }

    /// Counts what a schedule call wrote, per job name, and traces it.
    fn record_enqueued(jobs: &[NewJob], results: &[Scheduled]) {
        let mut written: Vec<(&str, u64)> = Vec::new();
        for (job, result) in jobs.iter().zip(results) {
            if result.is_written() {
                match written.iter_mut().find(|(name, _)| *name == job.name) {
                    Some((_, count)) => *count += 1,
                    None => written.push((&job.name, 1)),
                }
            }
            tracing::debug!(id = %job.id, name = %job.name, run_at = ?job.run_at, priority = %job.options.priority, ?result, "enqueue");
        }
        for (name, count) in written {
            ::metrics::counter!(pgsched_core::metrics::ENQUEUED, "job" => name.to_owned())
                .increment(count);
        }
    }

    /// The jobs to write: each spec checked and completed against the scheduler's defaults,
    /// with the trace it is scheduled in (see `trace_context.rs`).
    fn prepare(&self, specs: Vec<JobSpec>) -> Result<Vec<NewJob>> {
        let trace_context = crate::trace_context::capture();
        specs
            .into_iter()
            .map(|spec| {
                let mut job = spec.into_job(&self.inner.defaults)?;
                job.trace_context.clone_from(&trace_context);
                Ok(job)
            })
            .collect()
    }

    /// Cancels a waiting (blocked or pending) or running job (a running attempt is stopped at
    /// its worker's next heartbeat); the jobs that run after it follow their
    /// [`OnParentFailure`](crate::OnParentFailure) policy. False if the job does not exist or
    /// already finished. Takes the id as text
    /// or as the [`JobId`] that scheduling returned.
    ///
    /// # Errors
    /// A store error.
    pub async fn cancel_job(&self, id: impl AsRef<str>) -> Result<bool> {
        match existing_id(id.as_ref()) {
            Some(id) => self.inner.store.cancel(&id).await,
            None => Ok(false),
        }
    }

    /// The workflow of a job: it and every job linked to it by dependencies (the jobs it runs
    /// after, the jobs that run after those, and so on, in both directions), at most
    /// `limit` of them, oldest first, each with its parents and dependents. Empty if the job
    /// does not exist.
    ///
    /// # Errors
    /// A store error.
    pub async fn workflow(&self, id: impl AsRef<str>, limit: u32) -> Result<Vec<JobInfo>> {
        match existing_id(id.as_ref()) {
            Some(id) => self.inner.store.workflow(&id, limit).await,
            None => Ok(Vec::new()),
        }
    }

    /// One job: status, priority, attempts, due time, last error, timestamps. Takes the id as
    /// text or as the [`JobId`] that scheduling returned.
    ///
    /// # Errors
    /// A store error.
    pub async fn job(&self, id: impl AsRef<str>) -> Result<Option<JobInfo>> {
        match existing_id(id.as_ref()) {
            Some(id) => self.inner.store.job(&id).await,
            None => Ok(None),
        }
    }
}

/// Queues and flow control: settings every worker obeys, persisted in the database and
/// changed at run time (see the README's "Queues and flow control").
impl Scheduler {
    /// Every queue that has settings or jobs waiting or running: its settings and counts.
    ///
    /// # Errors
    /// A store error.
    pub async fn queues(&self) -> Result<Vec<QueueInfo>> {
        self.store().queues().await
    }

    /// Pauses `queue` for every worker: no job of it starts until it is resumed (running
    /// ones finish). Holds from each worker's next claim.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid queue name; a store error.
    pub async fn pause_queue(&self, queue: impl AsRef<str>) -> Result<()> {
        let queue = QueueName::new(queue.as_ref())?;
        self.store().set_queue_paused(&queue, true).await
    }

    /// Resumes a paused `queue` (and wakes the workers).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid queue name; a store error.
    pub async fn resume_queue(&self, queue: impl AsRef<str>) -> Result<()> {
        let queue = QueueName::new(queue.as_ref())?;
        self.store().set_queue_paused(&queue, false).await
    }

    /// At most `limit` jobs of `queue` run at once across all workers (`None` lifts the
    /// limit). Jobs already running when a limit is set keep running and do not count
    /// against it; jobs started from then on do.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid queue name, a limit of 0 (pause the queue
    /// instead) or one over [`pgsched_core::MAX_CONCURRENCY_LIMIT`]; a store error.
    pub async fn set_queue_limit(
        &self,
        queue: impl AsRef<str>,
        limit: impl Into<Option<u32>>,
    ) -> Result<()> {
        let queue = QueueName::new(queue.as_ref())?;
        let limit = limit.into();
        if limit == Some(0) {
            return Err(Error::InvalidInput {
                what: "queue limit",
                reason: format!("a limit of 0 would never run `{queue}`; pause the queue instead"),
            });
        }
        if let Some(limit) = limit {
            pgsched_core::validate_concurrency_limit("queue limit", limit)?;
        }
        self.store()
            .set_queue_concurrency_limit(&queue, limit)
            .await
    }

    /// At most `rate.starts` jobs of `queue` start within any `rate.per`, across all workers,
    /// by the database clock (`None` lifts the limit).
    ///
    /// ```no_run
    /// # async fn f(scheduler: &pgsched::Scheduler) -> pgsched::Result<()> {
    /// scheduler.set_queue_rate("emails", Some("100/1m".parse()?)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid queue name; a store error.
    pub async fn set_queue_rate(
        &self,
        queue: impl AsRef<str>,
        rate: Option<RateLimit>,
    ) -> Result<()> {
        let queue = QueueName::new(queue.as_ref())?;
        self.store().set_queue_rate_limit(&queue, rate).await
    }

    /// At most `rate.starts` jobs of each concurrency key of `queue` start within any
    /// `rate.per`, across all workers, by the database clock (`None` lifts the limit). Jobs
    /// without a key are not limited by it; the queue's own rate ([`Scheduler::set_queue_rate`])
    /// counts every start of the queue together.
    ///
    /// ```no_run
    /// # async fn f(scheduler: &pgsched::Scheduler) -> pgsched::Result<()> {
    /// // Each tenant's digests: at most 10 a minute, however many tenants share the queue.
    /// scheduler.set_queue_key_rate("digests", Some("10/1m".parse()?)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid queue name, or a rate of more than
    /// [`MAX_KEY_RATE_STARTS`](crate::MAX_KEY_RATE_STARTS) starts; a store error.
    pub async fn set_queue_key_rate(
        &self,
        queue: impl AsRef<str>,
        rate: Option<RateLimit>,
    ) -> Result<()> {
        let queue = QueueName::new(queue.as_ref())?;
        if let Some(rate) = rate
            && rate.starts > pgsched_core::MAX_KEY_RATE_STARTS
        {
            return Err(Error::InvalidInput {
                what: "per-key rate limit",
                reason: format!(
                    "{rate} allows more than {} starts per period for one key; use a longer \
                     period with fewer starts, or the queue's rate (set_queue_rate)",
                    pgsched_core::MAX_KEY_RATE_STARTS
                ),
            });
        }
        self.store().set_queue_key_rate_limit(&queue, rate).await
    }
}

impl Scheduler {
    /// Runs a retention pass now, whatever the interval (each status's policy, in bounded
    /// batches); returns what it deleted. Records statistics when `track_metrics` is on.
    ///
    /// # Errors
    /// A store error; what was deleted before it stays deleted.
    pub async fn run_vacuum(&self) -> Result<VacuumReport> {
        let worker = format!("manual:{}", std::process::id());
        pgsched_core::retention::run_pass(
            self.store(),
            &self.inner.worker_config.vacuum,
            &worker,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
    }

    /// Retention statistics of the last `days` days (UTC), newest first (kept when
    /// `track_metrics` is on).
    ///
    /// # Errors
    /// A store error.
    pub async fn vacuum_stats(&self, days: u32) -> Result<Vec<VacuumStatsDay>> {
        self.store().retention_stats(days).await
    }

    /// Retention statistics over all time and workers.
    ///
    /// # Errors
    /// A store error.
    pub async fn total_vacuum_stats(&self) -> Result<VacuumTotals> {
        self.store().retention_totals().await
    }
}

/// An id that could belong to a job: one that [`JobId::new`] refuses (empty, too long, NUL)
/// can never have been written, so looking it up is answered without the database.
pub(crate) fn existing_id(id: &str) -> Option<JobId> {
    JobId::new(id).ok()
}

fn single(results: &mut Vec<Scheduled>) -> Result<JobId> {
    results
        .pop()
        .ok_or_else(|| Error::store("schedule", "no result for the scheduled job"))?
        .into_result()
}

/// Builds a [`Scheduler`]; every setting has the seed's default.
///
/// ```no_run
/// # async fn demo() -> pgsched::Result<()> {
/// use std::time::Duration;
/// use pgsched::{RetryPolicy, Scheduler};
/// let scheduler = Scheduler::builder()
///     .url("postgres://app:secret@db.internal/app")
///     .schema("jobs")
///     .pool_size(20)
///     .max_concurrent_jobs(50)
///     .lease_duration(Duration::from_secs(120))
///     .heartbeat_interval(Duration::from_secs(30))
///     .retry_policy(RetryPolicy::new().initial(Duration::from_secs(1)))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
///
/// # From the environment
///
/// [`pgsched::run()`](crate::run), [`Scheduler::from_env`] and [`SchedulerBuilder::from_env`]
/// read the variables below; each calls the setter of the same name, so it means what the
/// setter means. Durations are written like `500ms`, `30s`, `5m`; booleans `true`/`false`. In
/// code the defaults are the constants of [`crate::defaults`].
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `DATABASE_URL` | PostgreSQL URL ([`url`](SchedulerBuilder::url)) | required |
/// | `PGSCHED_SCHEMA` | schema of pgsched's tables (`^[a-z_][a-z0-9_]{0,49}$`, not starting with `pg_`, which PostgreSQL reserves) | `pgsched` |
/// | `PGSCHED_POOL_SIZE` | connections in the pool | 10 |
/// | `PGSCHED_QUEUES` | the queues this worker serves and their slots ([`SchedulerBuilder::queue`]), like `default:25,emails:10` | `default` only |
/// | `PGSCHED_MAX_CONCURRENT_JOBS` | jobs run at once by one worker (its slots in `default` when `PGSCHED_QUEUES` is not set) | 25 |
/// | `PGSCHED_BATCH_CLAIM_LIMIT` | most jobs per claim statement | 10 |
/// | `PGSCHED_MISFIRE_GRACE` | default misfire grace (`300s`, `5m`, `never`) ([`misfire_grace_time`](SchedulerBuilder::misfire_grace_time)) | 300s |
/// | `PGSCHED_POLL_INTERVAL` | longest wait between claims when no notification arrives | 1s |
/// | `PGSCHED_LEASE_DURATION` | lease written by a claim and by each renewal | 60s |
/// | `PGSCHED_HEARTBEAT_INTERVAL` | lease renewal period (at most half the lease) | 20s |
/// | `PGSCHED_SWEEP_INTERVAL` | orphan recovery and misfire expiry period | 5s |
/// | `PGSCHED_SHUTDOWN_GRACE` | time running jobs get at shutdown | 30s |
/// | `PGSCHED_DEAD_WORKER_AFTER` | a worker not seen this long is considered dead; its registration is removed (the seed's `HEARTBEAT_THRESHOLD`) | 120s |
/// | `PGSCHED_MAX_PAYLOAD_BYTES` | largest encoded arguments | 262144 |
/// | `PGSCHED_MAX_OUTPUT_BYTES` | largest encoded output a job may return ([`max_output_bytes`](SchedulerBuilder::max_output_bytes)) | 1048576 |
/// | `PGSCHED_VACUUM_ENABLED` | this worker runs retention passes on its timer | true |
/// | `PGSCHED_VACUUM_TRACK_METRICS` | keep per-day retention statistics ([`VacuumConfig::track_metrics`]) | false |
/// | `PGSCHED_VACUUM_INTERVAL` | time between retention passes, all replicas together ([`VacuumConfig::interval`]) | 1m |
/// | `PGSCHED_PERIODIC_TICK` | how often periodic schedules are checked | 1s |
/// | `PGSCHED_LISTEN` | wake on LISTEN/NOTIFY (polling still finds every job) | true; false behind a transaction pooler |
/// | `PGSCHED_TRANSACTION_POOLER` | `DATABASE_URL` is a transaction pooler such as PgBouncer ([`transaction_pooler`](SchedulerBuilder::transaction_pooler)) | false |
///
/// Only in code: a pool of your own ([`pool`](SchedulerBuilder::pool)), the
/// [`retry_policy`](SchedulerBuilder::retry_policy) (default: 5 s, doubling, capped at 10 min,
/// ±20 % jitter), the per-status retention policies ([`vacuum`](SchedulerBuilder::vacuum)),
/// [`unknown_job_attempts`](SchedulerBuilder::unknown_job_attempts) (5),
/// [`lost_lease_retries`](SchedulerBuilder::lost_lease_retries) (2) and application
/// [`state`](SchedulerBuilder::state).
#[derive(Debug, Clone, Default)]
pub struct SchedulerBuilder {
    url: Option<crate::connect::DatabaseUrl>,
    pool: Option<PgPool>,
    pool_size: Option<u32>,
    schema: Option<String>,
    worker: WorkerConfig,
    defaults: ScheduleDefaults,
    states: States,
    lost_lease_retries: Option<u32>,
    transaction_pooler: bool,
    /// `None`: on, except behind a transaction pooler.
    listen: Option<bool>,
    /// Queues given one by one with [`SchedulerBuilder::queue`], checked at build.
    queue_entries: Vec<(String, usize)>,
}

impl SchedulerBuilder {
    /// Connect to this URL (`postgres://user:password@host:port/database`).
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(crate::connect::DatabaseUrl(url.into()));
        self
    }

    /// Use this pool instead of opening one. For throughput, build it with
    /// `PgPoolOptions::test_before_acquire(false)`: sqlx otherwise pings the server before
    /// every statement.
    #[must_use]
    pub fn pool(mut self, pool: PgPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Most connections of the pool opened from [`SchedulerBuilder::url`]. Default
    /// [`POOL_SIZE_DEFAULT`].
    ///
    /// The budget is a ceiling, not what is opened: the pool opens a connection when a call
    /// finds none idle and closes it after ten idle minutes, so it holds about as many as
    /// calls run at once. A scheduler that only enqueues, one call at a time, holds one to
    /// three (`build()` opens one; a connection goes back to the pool in the background, so
    /// back-to-back calls sometimes open another). The worker's own pools (two connections
    /// for lease renewals, four for claims and outcomes, one for LISTEN) open only once
    /// [`Scheduler::start`] runs; waiting for jobs ([`crate::JobHandle::wait`]) holds one
    /// more, for LISTEN, from the first wait on. A process that enqueues from many tasks at once and must
    /// stay small sets a lower ceiling (`pool_size(2)`, `PGSCHED_POOL_SIZE=2`): its calls then
    /// wait their turn for a connection. [`Scheduler::pool`] shows what is open
    /// (`scheduler.pool().size()`).
    #[must_use]
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// The PostgreSQL schema of pgsched's tables. Default `pgsched`. It must match
    /// `^[a-z_][a-z0-9_]{0,49}$` and not start with `pg_` (reserved by PostgreSQL);
    /// [`SchedulerBuilder::build`] refuses any other name with [`Error::InvalidInput`].
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Jobs run at once by this process's worker. Default [`MAX_CONCURRENT_JOBS_DEFAULT`](crate::defaults::MAX_CONCURRENT_JOBS_DEFAULT).
    #[must_use]
    pub fn max_concurrent_jobs(mut self, jobs: usize) -> Self {
        self.worker.max_concurrent_jobs = jobs;
        self
    }

    /// Serves queue `name` with `slots` slots (jobs of it run at once in this process). The
    /// first call replaces the default set (only `default`, with `max_concurrent_jobs`
    /// slots): list `default` too if this worker should run it. A worker never claims from
    /// a queue it does not serve. Checked at [`SchedulerBuilder::build`].
    ///
    /// ```no_run
    /// # async fn f() -> pgsched::Result<()> {
    /// let scheduler = pgsched::Scheduler::builder()
    ///     .url("postgres://localhost/app")
    ///     .queue("default", 20)
    ///     .queue("emails", 5)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn queue(mut self, name: impl Into<String>, slots: usize) -> Self {
        self.queue_entries.push((name.into(), slots));
        self
    }

    /// Serves exactly `queues` (as parsed from `PGSCHED_QUEUES`, `"default:25,emails:10"`).
    #[must_use]
    pub fn queues(mut self, queues: WorkerQueues) -> Self {
        self.worker.queues = Some(queues);
        self.queue_entries.clear();
        self
    }

    /// Most jobs claimed per statement. Default [`BATCH_CLAIM_LIMIT_DEFAULT`](crate::defaults::BATCH_CLAIM_LIMIT_DEFAULT).
    #[must_use]
    pub fn batch_claim_limit(mut self, limit: u32) -> Self {
        self.worker.batch_claim_limit = limit;
        self
    }

    /// Default misfire grace: `Some(d)` or `None` (never expire). Default
    /// [`MISFIRE_GRACE_DEFAULT`](crate::defaults::MISFIRE_GRACE_DEFAULT).
    #[must_use]
    pub fn misfire_grace_time(mut self, grace: Option<Duration>) -> Self {
        self.defaults.misfire_grace = grace;
        self
    }

    /// Largest accepted encoded payload, in bytes. Default [`MAX_PAYLOAD_BYTES_DEFAULT`](crate::defaults::MAX_PAYLOAD_BYTES_DEFAULT).
    #[must_use]
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.defaults.max_payload_bytes = bytes;
        self
    }

    /// Largest encoded output a job may return, in bytes: a job whose output is bigger fails
    /// with `output_too_large` (nothing is truncated). Default
    /// [`MAX_OUTPUT_BYTES_DEFAULT`](crate::defaults::MAX_OUTPUT_BYTES_DEFAULT).
    #[must_use]
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.worker.max_output_bytes = bytes;
        self
    }

    /// Longest wait between claims without a notification. Default [`POLL_INTERVAL_DEFAULT`](crate::defaults::POLL_INTERVAL_DEFAULT).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.worker.poll_interval = interval;
        self
    }

    /// Lease written by claims and renewals. Default [`LEASE_DURATION_DEFAULT`](crate::defaults::LEASE_DURATION_DEFAULT).
    #[must_use]
    pub fn lease_duration(mut self, lease: Duration) -> Self {
        self.worker.lease_duration = lease;
        self
    }

    /// How often leases are renewed, at most half the lease. Default
    /// [`HEARTBEAT_INTERVAL_DEFAULT`](crate::defaults::HEARTBEAT_INTERVAL_DEFAULT).
    #[must_use]
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.worker.heartbeat_interval = interval;
        self
    }

    /// How often expired leases are recovered and misfired jobs expired. Default
    /// [`SWEEP_INTERVAL_DEFAULT`](crate::defaults::SWEEP_INTERVAL_DEFAULT).
    #[must_use]
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.worker.sweep_interval = interval;
        self
    }

    /// How long shutdown waits for running jobs. Default [`SHUTDOWN_GRACE_DEFAULT`](crate::defaults::SHUTDOWN_GRACE_DEFAULT).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.worker.shutdown_grace = grace;
        self
    }

    /// Backoff between retries.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.worker.retry = policy;
        self
    }

    /// Attempts a job of an unknown name, or with a payload of an unknown argument schema,
    /// gets before it fails: another replica (of the version that wrote it, during a rolling
    /// deploy) may run it meanwhile. Default
    /// [`UNKNOWN_JOB_ATTEMPTS_DEFAULT`](crate::defaults::UNKNOWN_JOB_ATTEMPTS_DEFAULT).
    #[must_use]
    pub fn unknown_job_attempts(mut self, attempts: u32) -> Self {
        self.worker.unknown_job_attempts = attempts;
        self
    }

    /// A worker not seen for this long is considered dead and its registration removed
    /// (the seed's `HEARTBEAT_THRESHOLD`). Default [`DEAD_WORKER_AFTER_DEFAULT`](crate::defaults::DEAD_WORKER_AFTER_DEFAULT).
    #[must_use]
    pub fn dead_worker_after(mut self, after: Duration) -> Self {
        self.worker.dead_worker_after = after;
        self
    }

    /// Retention of finished jobs (per-status policies, interval, statistics).
    #[must_use]
    pub fn vacuum(mut self, config: VacuumConfig) -> Self {
        self.worker.vacuum = config;
        self
    }

    /// Whether this process's worker runs retention passes on its timer. Default true.
    #[must_use]
    pub fn vacuum_enabled(mut self, enabled: bool) -> Self {
        self.worker.vacuum_enabled = enabled;
        self
    }

    /// How often each replica checks its periodic schedules. Default [`PERIODIC_TICK_DEFAULT`](crate::defaults::PERIODIC_TICK_DEFAULT).
    #[must_use]
    pub fn periodic_tick(mut self, tick: Duration) -> Self {
        self.worker.periodic_tick = tick;
        self
    }

    /// Where the worker's periodic and sweep loops take their ticks from (tests drive or
    /// observe them; see [`pgsched_core::runtime::TickSource`]). Default: real intervals.
    #[doc(hidden)]
    #[must_use]
    pub fn tick_source(mut self, ticks: pgsched_core::runtime::TickSource) -> Self {
        self.worker.ticks = ticks;
        self
    }

    /// Retries a job gets at least after its worker died mid-attempt. Default 2.
    #[must_use]
    pub fn lost_lease_retries(mut self, retries: u32) -> Self {
        self.lost_lease_retries = Some(retries);
        self
    }

    /// Whether workers subscribe to notifications (polling still finds every job). Default
    /// true, false behind a transaction pooler (where it cannot be turned on: LISTEN needs a
    /// session of its own).
    #[must_use]
    pub fn listen(mut self, listen: bool) -> Self {
        self.listen = Some(listen);
        self
    }

    /// Whether the database is reached through a transaction pooler (PgBouncer with
    /// `pool_mode = transaction`). Then every statement runs in a transaction of its own,
    /// prepared unnamed, connections carry no statement cache and no startup options,
    /// migrations take a transaction-scoped lock, and LISTEN is off. Costs a BEGIN and a
    /// COMMIT round trip per statement. A pool given with [`SchedulerBuilder::pool`] should be
    /// built with [`pgsched_pg::transaction_pooler_options`]. Default false.
    #[must_use]
    pub fn transaction_pooler(mut self, pooler: bool) -> Self {
        self.transaction_pooler = pooler;
        self
    }

    /// Application state that jobs receive as a `State<T>` parameter.
    #[must_use]
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states = self.states.with(value);
        self
    }

    /// Connects (unless given a pool) and builds the scheduler. It does not migrate: call
    /// [`Scheduler::initialize_db`] or start a worker before scheduling into a new schema
    /// (until then, calls fail with [`Error::NotMigrated`]).
    ///
    /// # Errors
    /// [`Error::Config`] for inconsistent settings, [`Error::InvalidInput`] for an invalid
    /// schema name, or [`Error::Connect`] if the database cannot be reached: at once when the
    /// server refuses the connection, after 10 s when it does not answer.
    pub async fn build(mut self) -> Result<Scheduler> {
        self.worker.listen = self.listen_setting()?;
        for (name, slots) in std::mem::take(&mut self.queue_entries) {
            let mut queues = self.worker.queues.take().unwrap_or(WorkerQueues::EMPTY);
            queues.serve(QueueName::new(name)?, slots)?;
            self.worker.queues = Some(queues);
        }
        self.worker.continue_trace = crate::trace_context::CONTINUE_TRACE;
        self.worker.validate()?;
        let schema = match &self.schema {
            Some(name) => SchemaName::new(name.clone())?,
            None => SchemaName::default(),
        };
        let owns_pool = self.pool.is_none();
        let pool = match (self.pool, self.url) {
            (Some(pool), _) => pool,
            (None, Some(crate::connect::DatabaseUrl(url))) => {
                let mut options: PgConnectOptions = url
                    .parse()
                    .map_err(|error| Error::config("DATABASE_URL", format!("{error}")))?;
                if self.transaction_pooler {
                    options = pgsched_pg::transaction_pooler_options(options);
                }
                PgPoolOptions::new()
                    .max_connections(self.pool_size.unwrap_or(POOL_SIZE_DEFAULT))
                    // No ping before every acquire: it doubles the round trips of every
                    // statement; a broken connection fails its statement, which is retried.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with({
                        crate::connect::probe(&url, &options).await?;
                        options.clone()
                    })
                    .await
                    .map_err(|error| crate::connect::connect_error(&url, &options, error))?
            }
            (None, None) => {
                return Err(Error::config(
                    "DATABASE_URL",
                    "no database given: set DATABASE_URL or call SchedulerBuilder::url / ::pool",
                ));
            }
        };
        let mut store = PgStore::new(pool, schema);
        if self.transaction_pooler {
            store = store.behind_transaction_pooler();
        }
        if let Some(retries) = self.lost_lease_retries {
            store = store.with_lost_lease_retries(retries);
        }
        store = store.with_notifications(self.worker.listen.then_some(self.worker.poll_interval));
        let waiters = Waiters::new(
            Arc::new(store.clone()),
            self.worker.listen,
            self.worker.poll_interval,
        );
        Ok(Scheduler {
            inner: Arc::new(Inner {
                store,
                owns_pool,
                registry: std::sync::OnceLock::new(),
                worker_config: self.worker,
                defaults: self.defaults,
                states: self.states,
                worker: Mutex::new(None),
                waiters,
            }),
        })
    }

    /// Whether workers LISTEN: as set, else on unless behind a transaction pooler.
    ///
    /// # Errors
    /// [`Error::Config`] if LISTEN is asked for behind a transaction pooler.
    pub(crate) fn listen_setting(&self) -> Result<bool> {
        match (self.listen, self.transaction_pooler) {
            (Some(true), true) => Err(Error::config(
                "PGSCHED_LISTEN",
                "LISTEN needs a session of its own, which a transaction pooler does not keep; \
                 leave it off with PGSCHED_TRANSACTION_POOLER (polling finds every job)",
            )),
            (Some(listen), _) => Ok(listen),
            (None, pooler) => Ok(!pooler),
        }
    }

    /// Whether [`SchedulerBuilder::transaction_pooler`] is on.
    #[cfg(test)]
    pub(crate) fn is_transaction_pooler(&self) -> bool {
        self.transaction_pooler
    }

    /// The worker settings as set so far.
    #[cfg(test)]
    pub(crate) fn worker_settings(&self) -> &WorkerConfig {
        &self.worker
    }
}
