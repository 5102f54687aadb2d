//! The PostgreSQL store: [`PgStore`], its pools and where each statement runs, and
//! `impl JobStore for PgStore`, which routes each method to the module of its concern:
//! [`scheduling`], [`claiming`], [`periodic`], [`retention`], [`admin`], [`workers`]. Each
//! there is one short method per statement, whose SQL lives in `sql/*.sql` and whose errors
//! name it (see [`crate::statements`]).

mod admin;
mod claiming;
pub mod dashboard;
mod periodic;
mod queues;
mod retention;
mod scheduling;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pgsched_core::retention::{DeletedBatch, RetentionBatch, VacuumReport};
use pgsched_core::store::{
    ClaimedJob, EndListener, Finish, JobFilter, JobStore, Lease, Listener, PeriodicRegistration,
    PeriodicState, Promotion, PromotionFloor, QueueClaim, Recovered, Release, VacuumStatsDay,
    VacuumTotals, WorkerInfo, WorkerRecord,
};
use pgsched_core::{
    ConflictResolution, Error, JobId, JobInfo, NewJob, Priority, QueueInfo, QueueName, RateLimit,
    Result, Scheduled,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};

use crate::listener::PgWakeups;
use crate::notifier::Notifier;
use crate::pooler::{OnConnection, Route, TransactionPooler};
use crate::schema_name::SchemaName;
use crate::statements::Statements;

/// Connections in the heartbeat pool: renewals must not queue behind busy jobs.
const HEARTBEAT_POOL_SIZE: u32 = 2;
/// Connections in the LISTEN pool: the worker's wake-ups, and the waiters' "job ended"
/// notifications (each connection is held while it listens).
const LISTEN_POOL_SIZE: u32 = 2;
/// Connections in the worker pool: two claims in flight, the finisher, the sweeps.
const WORKER_POOL_SIZE: u32 = 4;

/// The PostgreSQL store of one schema.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Claims, outcomes, releases and sweeps, with `synchronous_commit = off` (see
    /// [`PgStore::new`]).
    worker_pool: PgPool,
    heartbeat_pool: PgPool,
    /// The LISTEN connection (and its replacement after a reconnect).
    listen_pool: PgPool,
    schema: SchemaName,
    sql: Arc<Statements>,
    /// How many times a job whose worker died is retried at least, whatever its max_retries.
    lost_lease_retries: u32,
    /// Set behind a transaction pooler: every statement runs in a transaction of its own.
    pooler: Option<TransactionPooler>,
    /// When writes wake listening workers (`None`: never; nobody listens).
    notifier: Option<Notifier>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// [`crate::errors::store_error`] as a closure, for `map_err`, for what is not one of the
/// statements (a connection, a transaction).
fn store_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |error| crate::errors::store_error(operation, error)
}

impl PgStore {
    /// A store over `pool`, in `schema`.
    ///
    /// Three small pools with the same connection options sit beside it. Heartbeats get their
    /// own, so busy jobs holding connections cannot starve lease renewals; its connections
    /// never idle out, because they belong to the heartbeat thread's runtime, where nothing
    /// else would close them. LISTEN gets one connection of its own. The worker's claims,
    /// outcome writes, releases and sweeps get another, whose sessions run with
    /// `synchronous_commit = off`: those commits do not wait for the WAL flush. That is safe
    /// because pgsched promises at least once: if PostgreSQL crashes before such a commit is
    /// flushed, the claim or the outcome is lost and the job simply runs again. Enqueues,
    /// periodic windows and management statements stay on `pool`, fully durable. Its sessions
    /// also use generic plans (`plan_cache_mode = force_generic_plan`): the worker's statements
    /// are written to read their indexes by their parameters, and in PostgreSQL's automatic
    /// mode the claim (whose planning takes milliseconds: flow control made it a statement of
    /// many parts) was planned anew at every execution.
    #[must_use]
    pub fn new(pool: PgPool, schema: SchemaName) -> PgStore {
        let options = (*pool.connect_options()).clone();
        let heartbeat_pool = PgPoolOptions::new()
            .max_connections(HEARTBEAT_POOL_SIZE)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_lazy_with(options.clone());
        let listen_pool = PgPoolOptions::new()
            .max_connections(LISTEN_POOL_SIZE)
            .min_connections(0)
            .connect_lazy_with(options.clone());
        let worker_pool = PgPoolOptions::new()
            .max_connections(WORKER_POOL_SIZE)
            .min_connections(0)
            .test_before_acquire(false)
            .connect_lazy_with(options.options([
                ("synchronous_commit", "off"),
                ("plan_cache_mode", "force_generic_plan"),
            ]));
        PgStore {
            sql: Arc::new(Statements::render(&schema)),
            schema: schema.clone(),
            pool,
            worker_pool,
            heartbeat_pool,
            listen_pool,
            lost_lease_retries: 2,
            pooler: None,
            notifier: Some(Notifier::new(
                schema.channel(),
                pgsched_core::config::POLL_INTERVAL_DEFAULT,
            )),
        }
    }

    /// Sets when writes wake listening workers: `Some(soon)` when a job written is due within
    /// `soon` (the workers' poll interval; by default
    /// [`pgsched_core::config::POLL_INTERVAL_DEFAULT`]), at
    /// most once per [`pgsched_core::store::NOTIFY_COALESCE`]; `None` never (no worker
    /// listens, `PGSCHED_LISTEN=false`).
    #[must_use]
    pub fn with_notifications(mut self, soon: Option<Duration>) -> PgStore {
        self.notifier = soon.map(|soon| Notifier::new(self.schema.channel(), soon));
        self
    }

    /// The channel statements that make jobs runnable notify on (`None`: nobody listens).
    fn wake_channel(&self) -> Option<&str> {
        self.notifier
            .as_ref()
            .map(|notifier| notifier.channel.as_str())
    }

    /// Sets how many times a job is retried at least after its worker died mid-attempt
    /// (default 2); the job's own `max_retries` applies when larger.
    #[must_use]
    pub fn with_lost_lease_retries(mut self, retries: u32) -> PgStore {
        self.lost_lease_retries = retries;
        self
    }

    /// Works behind a transaction pooler (PgBouncer's `pool_mode = transaction`): every
    /// statement runs in a transaction of its own, prepared unnamed, so its Parse and Bind
    /// meet the same server connection; the side pools carry no startup options and no
    /// statement cache (the worker's `synchronous_commit = off` is set per transaction);
    /// migrations take a transaction-scoped lock. Costs a BEGIN and a COMMIT round trip per
    /// statement. Build `pool` with [`crate::transaction_pooler_options`], and do not LISTEN
    /// through the pooler.
    #[must_use]
    pub fn behind_transaction_pooler(mut self) -> PgStore {
        // `new`'s side pools, same settings, from the pooler's connection options (which
        // also drops the worker pool's `synchronous_commit` startup option).
        let options =
            crate::pooler::transaction_pooler_options((*self.pool.connect_options()).clone());
        let rebuild = |pool: &PgPool| pool.options().clone().connect_lazy_with(options.clone());
        self.heartbeat_pool = rebuild(&self.heartbeat_pool);
        self.worker_pool = rebuild(&self.worker_pool);
        self.listen_pool = rebuild(&self.listen_pool);
        self.pooler = Some(TransactionPooler::new(self.sql.async_commit.sql()));
        self
    }

    /// Where statements of the main pool run (every statement goes through one of
    /// `main`, `worker`, `heartbeat` or `on`: straight, or in a transaction behind a pooler).
    fn main(&self) -> Route<'_> {
        self.route(&self.pool, false)
    }

    /// Where the worker's claims, outcomes, releases and sweeps run.
    fn worker(&self) -> Route<'_> {
        self.route(&self.worker_pool, true)
    }

    /// Where lease renewals and worker heartbeats run.
    fn heartbeat(&self) -> Route<'_> {
        self.route(&self.heartbeat_pool, false)
    }

    fn route<'a>(&'a self, pool: &'a PgPool, async_commit: bool) -> Route<'a> {
        match &self.pooler {
            None => Route::direct(pool),
            Some(pooler) if async_commit => Route::in_transaction(pool, &pooler.begin_async_commit),
            Some(pooler) => Route::in_transaction(pool, &pooler.begin),
        }
    }

    /// Statements on a connection the caller holds (in a transaction behind a pooler).
    fn on<'c>(&self, connection: &'c mut PgConnection) -> OnConnection<'c> {
        OnConnection {
            connection,
            unnamed: self.pooler.is_some(),
        }
    }

    /// The main connection pool.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pools this store opened beside the main one (lease renewals, the worker's
    /// statements, LISTEN), waiting for their connections to be returned and closed; with
    /// `main` also the main pool. The store cannot run statements on a closed pool afterwards.
    pub async fn close(&self, main: bool) {
        if main {
            self.pool.close().await;
        }
        self.worker_pool.close().await;
        self.heartbeat_pool.close().await;
        self.listen_pool.close().await;
    }

    /// The schema this store works in.
    #[must_use]
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }
}

impl PgStore {
    /// Creates or upgrades the schema (see [`crate::migrate`]).
    async fn migrate(&self) -> Result<()> {
        match &self.pooler {
            None => crate::migrate::run(&self.pool, &self.schema).await,
            Some(_) => {
                crate::migrate::run_in_transaction(self.main(), &self.pool, &self.schema, &self.sql)
                    .await
            }
        }
    }

    /// A LISTEN connection of its own on the schema's channel.
    async fn listen(&self) -> Result<Box<dyn Listener>> {
        let wakeups = PgWakeups::connect(self.listen_pool.clone(), self.schema.channel())
            .await
            .map_err(store_error("listen"))?;
        Ok(Box::new(wakeups))
    }

    /// A LISTEN connection of its own on the schema's "awaited job ended" channel.
    async fn listen_ended(&self) -> Result<Box<dyn EndListener>> {
        let ended = PgWakeups::connect(self.listen_pool.clone(), self.schema.done_channel())
            .await
            .map_err(store_error("listen_ended"))?;
        Ok(Box::new(ended))
    }
}

/// `impl JobStore for PgStore`: each method calls the inherent method of the same name, in
/// the module of its concern (an inherent method takes precedence over the trait's).
macro_rules! route {
    ($($name:ident($($arg:ident: $type:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait]
        impl JobStore for PgStore {
            $(async fn $name(&self, $($arg: $type),*) -> Result<$ret> {
                PgStore::$name(self, $($arg),*).await
            })*
        }
    };
}

route! {
    migrate() -> ();
    schedule(jobs: &[NewJob], conflict: ConflictResolution, batch_size: usize) -> Vec<Scheduled>;
    claim_queues(worker: &str, queues: &[QueueClaim<'_>], lease: Duration) -> Vec<ClaimedJob>;
    finish(outcomes: &[(Lease, Finish)]) -> Vec<bool>;
    renew_leases(leases: &[Lease], lease: Duration) -> Vec<i64>;
    release(releases: &[Release]) -> u64;
    recover_orphans(limit: u32) -> Recovered;
    expire_misfired(limit: u32) -> Vec<(JobId, Priority)>;
    promote(limit: u32, floor: &PromotionFloor) -> Promotion;
    next_due(queues: &[QueueName]) -> Option<Duration>;
    queues() -> Vec<QueueInfo>;
    set_queue_paused(queue: &QueueName, paused: bool) -> ();
    set_queue_concurrency_limit(queue: &QueueName, limit: Option<u32>) -> ();
    set_queue_rate_limit(queue: &QueueName, rate: Option<RateLimit>) -> ();
    set_queue_key_rate_limit(queue: &QueueName, rate: Option<RateLimit>) -> ();
    prune_key_rate_slots(limit: u32) -> u64;
    register_periodic(schedules: &[PeriodicRegistration], owner: Option<&str>) -> ();
    periodic_states() -> (DateTime<Utc>, Vec<PeriodicState>);
    periodic_state(key: &str) -> Option<PeriodicState>;
    enqueue_periodic(key: &str, schedule: &str, window: DateTime<Utc>, job: &NewJob) -> bool;
    set_periodic_enabled(key: &str, enabled: bool) -> bool;
    claim_retention_turn(worker: &str, interval: Duration) -> bool;
    delete_finished(batch: RetentionBatch<'_>) -> DeletedBatch;
    record_retention_pass(worker: &str, deleted: &VacuumReport) -> ();
    retention_stats(days: u32) -> Vec<VacuumStatsDay>;
    retention_totals() -> VacuumTotals;
    cancel(id: &JobId) -> bool;
    job(id: &JobId) -> Option<JobInfo>;
    workflow(id: &JobId, limit: u32) -> Vec<JobInfo>;
    parents(child: &JobId, parent: Option<&JobId>) -> Vec<JobInfo>;
    list_jobs(filter: &JobFilter) -> Vec<JobInfo>;
    retry_job(id: &JobId) -> bool;
    list_workers(seen_within: Duration) -> Vec<WorkerInfo>;
    register_worker(worker: &WorkerRecord) -> ();
    touch_worker(worker: &WorkerRecord) -> ();
    deregister_worker(worker_id: &str) -> ();
    prune_workers(older_than: Duration) -> Vec<String>;
    listen() -> Box<dyn Listener>;
    await_job(id: &JobId) -> Option<JobInfo>;
    listen_ended() -> Box<dyn EndListener>;
}
