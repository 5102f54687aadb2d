//! `impl JobStore for PgStore`: one short method per statement. The SQL itself lives in
//! `sql/*.sql` (see [`crate::statements`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pgsched_core::JobStatus;
use pgsched_core::claim_floor::ClaimKey;
use pgsched_core::retention::{PurgeRule, Purged, VacuumReport};
use pgsched_core::store::{
    ClaimFloor, ClaimedJob, Finish, JobFilter, JobStore, Lease, Listener, PeriodicRegistration,
    PeriodicState, Promotion, PromotionFloor, Recovered, Release, VacuumStatsDay, VacuumTotals,
    WorkerInfo, WorkerRecord,
};
use pgsched_core::{
    ConflictResolution, Error, JobId, JobInfo, NewJob, Priority, Result, Scheduled,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, Row};

use crate::errors::{is_exclusive_race, refusal_or_store_error};
use crate::job_row::{bind_job, bind_jobs};
use crate::listener::PgWakeups;
use crate::notifier::Notifier;
use crate::pooler::{Held, OnConnection, Route, TransactionPooler};
use crate::rows::{
    ClaimRow, JobRow, PeriodicRow, PromotionRow, VacuumStatsRow, VacuumTotalsRow, WorkerRow,
    parse_status, to_millis,
};
use crate::schema_name::SchemaName;
use crate::statements::Statements;

/// How many times a claim that lost an exclusive-key race is sent again at once.
const EXCLUSIVE_RACE_RETRIES: u32 = 3;
/// Connections in the heartbeat pool: renewals must not queue behind busy jobs.
const HEARTBEAT_POOL_SIZE: u32 = 2;
/// Connections in the LISTEN pool: the one listening connection.
const LISTEN_POOL_SIZE: u32 = 1;
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

/// [`crate::errors::store_error`] as a closure, for `map_err`.
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
    /// periodic windows and management statements stay on `pool`, fully durable.
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
            .connect_lazy_with(options.options([("synchronous_commit", "off")]));
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
        self.pooler = Some(TransactionPooler::new(&self.sql.async_commit));
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

    /// The schema this store works in.
    #[must_use]
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// Writes jobs on the caller's connection (inside their transaction, if one is open):
    /// they exist only if that transaction commits, and wake workers only then. Behind a
    /// transaction pooler, a connection outside a transaction gets one for these writes.
    ///
    /// # Errors
    /// A store error if a statement fails.
    pub async fn schedule_on(
        &self,
        connection: &mut PgConnection,
        jobs: &[NewJob],
        conflict: ConflictResolution,
    ) -> Result<Vec<Scheduled>> {
        if self.pooler.is_none() || connection.is_in_transaction() {
            return self.schedule_in(connection, jobs, conflict).await;
        }
        let mut transaction = connection.begin().await.map_err(store_error("begin"))?;
        let results = self.schedule_in(&mut transaction, jobs, conflict).await?;
        transaction.commit().await.map_err(store_error("commit"))?;
        Ok(results)
    }

    /// [`PgStore::schedule_on`] on a connection that needs nothing more.
    async fn schedule_in(
        &self,
        connection: &mut PgConnection,
        jobs: &[NewJob],
        conflict: ConflictResolution,
    ) -> Result<Vec<Scheduled>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let (fresh, chosen): (Vec<&NewJob>, Vec<&NewJob>) =
            jobs.iter().partition(|job| job.fresh_id);
        self.insert_new(connection, &fresh).await?;
        let mut results: HashMap<&str, Scheduled> = if chosen.is_empty() {
            HashMap::new()
        } else if conflict == ConflictResolution::Replace {
            self.upsert(connection, &chosen).await?
        } else {
            let existing: Vec<String> = if let [job] = chosen.as_slice() {
                self.insert_one(connection, job).await?
            } else {
                bind_jobs(
                    sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.insert_jobs))),
                    &chosen,
                )
                .fetch_all(self.on(&mut *connection))
                .await
                .map_err(store_error("insert_jobs"))?
            };
            self.conflicts(connection, &chosen, conflict, &existing)
                .await?
        };
        if self
            .notifier
            .as_ref()
            .is_some_and(|notifier| notifier.should_wake(jobs))
        {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(self.wake_channel())
                .execute(self.on(&mut *connection))
                .await
                .map_err(store_error("notify"))?;
        }
        Ok(jobs
            .iter()
            .map(|job| {
                results
                    .remove(job.id.as_str())
                    .unwrap_or_else(|| Scheduled::Inserted(job.id.clone()))
            })
            .collect())
    }

    /// Inserts jobs whose ids were generated for them: no conflict is possible.
    async fn insert_new(&self, connection: &mut PgConnection, jobs: &[&NewJob]) -> Result<()> {
        match jobs {
            [] => Ok(()),
            [job] => {
                bind_job(
                    sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.insert_new_job))),
                    job,
                )
                .execute(self.on(&mut *connection))
                .await
                .map_err(store_error("insert_new_job"))?;
                Ok(())
            }
            _ => {
                bind_jobs(
                    sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.insert_new_jobs))),
                    jobs,
                )
                .execute(self.on(&mut *connection))
                .await
                .map_err(store_error("insert_new_jobs"))?;
                Ok(())
            }
        }
    }

    /// `Replace`: inserts new jobs and rewrites existing ones that are not running.
    async fn upsert<'j>(
        &self,
        connection: &mut PgConnection,
        jobs: &[&'j NewJob],
    ) -> Result<HashMap<&'j str, Scheduled>> {
        let rows = bind_jobs(
            sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.upsert_jobs))),
            jobs,
        )
        .fetch_all(self.on(&mut *connection))
        .await
        .map_err(store_error("upsert_jobs"))?;
        let mut written: HashMap<String, bool> = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id").map_err(store_error("upsert_jobs"))?;
            let inserted: bool = row
                .try_get("inserted")
                .map_err(store_error("upsert_jobs"))?;
            written.insert(id, inserted);
        }
        Ok(jobs
            .iter()
            .map(|job| {
                let result = match written.get(job.id.as_str()) {
                    Some(true) => Scheduled::Inserted(job.id.clone()),
                    Some(false) => Scheduled::Replaced(job.id.clone()),
                    // No row came back: the existing job is running and was left alone.
                    None => Scheduled::Running(job.id.clone()),
                };
                (job.id.as_str(), result)
            })
            .collect())
    }

    /// Turns the ids a Raise/Ignore insert did not write into per-job results.
    async fn conflicts<'j>(
        &self,
        connection: &mut PgConnection,
        jobs: &[&'j NewJob],
        conflict: ConflictResolution,
        existing: &[String],
    ) -> Result<HashMap<&'j str, Scheduled>> {
        if existing.is_empty() {
            return Ok(HashMap::new());
        }
        let not_inserted: HashSet<&str> = existing.iter().map(String::as_str).collect();
        let mut statuses: HashMap<String, JobStatus> = HashMap::new();
        if conflict == ConflictResolution::Raise {
            let rows = sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.job_statuses)))
                .bind(existing)
                .fetch_all(self.on(&mut *connection))
                .await
                .map_err(store_error("job_statuses"))?;
            for row in rows {
                let id: String = row.try_get("id").map_err(store_error("job_statuses"))?;
                let status: String = row.try_get("status").map_err(store_error("job_statuses"))?;
                statuses.insert(id, parse_status(&status)?);
            }
        }
        Ok(jobs
            .iter()
            .map(|job| {
                let id = job.id.clone();
                let result = if !not_inserted.contains(job.id.as_str()) {
                    Scheduled::Inserted(id)
                } else if conflict == ConflictResolution::Ignore {
                    Scheduled::Kept(id)
                } else {
                    // Raise; a conflicting row that vanished before its status was read
                    // reads as pending.
                    let status = statuses
                        .get(job.id.as_str())
                        .copied()
                        .unwrap_or(JobStatus::Pending);
                    Scheduled::AlreadyExists { id, status }
                };
                (job.id.as_str(), result)
            })
            .collect())
    }
}

impl PgStore {
    /// Registers `worker`, or refreshes its registration (see register_worker.sql).
    async fn upsert_worker(&self, worker: &WorkerRecord, route: Route<'_>) -> Result<()> {
        sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.register_worker)))
            .bind(&worker.id)
            .bind(&worker.host)
            .bind(i32::try_from(worker.pid).unwrap_or(i32::MAX))
            .execute(route)
            .await
            .map_err(store_error("register_worker"))?;
        Ok(())
    }

    /// Inserts one job with scalar parameters (the common case of `my_job::schedule`);
    /// returns its id if it already existed, like `insert_jobs` does for a batch.
    async fn insert_one(&self, connection: &mut PgConnection, job: &NewJob) -> Result<Vec<String>> {
        let inserted: Option<String> = bind_job(
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.insert_job))),
            job,
        )
        .fetch_optional(self.on(&mut *connection))
        .await
        .map_err(store_error("insert_job"))?;
        Ok(match inserted {
            Some(_) => Vec::new(),
            None => vec![job.id.as_str().to_owned()],
        })
    }
}

fn lease_columns(leases: impl Iterator<Item = Lease>) -> (Vec<String>, Vec<i64>) {
    leases
        .map(|lease| (lease.id.into_string(), lease.token))
        .unzip()
}

#[async_trait]
impl JobStore for PgStore {
    async fn migrate(&self) -> Result<()> {
        match &self.pooler {
            None => crate::migrate::run(&self.pool, &self.schema).await,
            Some(_) => {
                crate::migrate::run_in_transaction(self.main(), &self.pool, &self.schema, &self.sql)
                    .await
            }
        }
    }

    async fn schedule(
        &self,
        jobs: &[NewJob],
        conflict: ConflictResolution,
        batch_size: usize,
    ) -> Result<Vec<Scheduled>> {
        let batch_size = batch_size.max(1);
        if jobs.len() <= batch_size && self.pooler.is_none() {
            // One statement is atomic on its own: no BEGIN/COMMIT round trips (behind a
            // pooler, a transaction holds Parse and Bind on one server connection).
            let mut connection = self.pool.acquire().await.map_err(store_error("acquire"))?;
            return self.schedule_in(&mut connection, jobs, conflict).await;
        }
        // Held: closed, not returned, if this is dropped mid-transaction (see pooler.rs).
        let mut connection = Held::acquire(&self.pool)
            .await
            .map_err(store_error("acquire"))?;
        let mut transaction = connection.begin().await.map_err(store_error("begin"))?;
        let mut results = Vec::with_capacity(jobs.len());
        for batch in jobs.chunks(batch_size) {
            results.extend(self.schedule_in(&mut transaction, batch, conflict).await?);
        }
        transaction.commit().await.map_err(store_error("commit"))?;
        connection.finished();
        Ok(results)
    }

    async fn claim(
        &self,
        worker: &str,
        limit: u32,
        lease: Duration,
        floor: &ClaimFloor,
    ) -> Result<Vec<ClaimedJob>> {
        let levels: Vec<i16> = Priority::ALL.iter().map(|p| p.db_value()).collect();
        let floors: Vec<Option<&ClaimKey>> = Priority::ALL.iter().map(|p| floor.at(*p)).collect();
        let floor_run_at: Vec<Option<DateTime<Utc>>> =
            floors.iter().map(|key| key.map(|k| k.run_at)).collect();
        let floor_created_at: Vec<Option<DateTime<Utc>>> =
            floors.iter().map(|key| key.map(|k| k.created_at)).collect();
        let floor_id: Vec<Option<&str>> = floors
            .iter()
            .map(|key| key.map(|k| k.id.as_str()))
            .collect();
        let mut attempt = 1;
        loop {
            let claimed: std::result::Result<Vec<ClaimRow>, sqlx::Error> =
                sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.claim_jobs)))
                    .bind(i64::from(limit))
                    .bind(to_millis(lease))
                    .bind(worker)
                    .bind(&levels)
                    .bind(&floor_run_at)
                    .bind(&floor_created_at)
                    .bind(&floor_id)
                    .fetch_all(self.worker())
                    .await;
            match claimed {
                Ok(rows) => return Ok(rows.into_iter().map(ClaimedJob::from).collect()),
                // Another claim took a job of the same exclusive key after this one's snapshot
                // (see claim_jobs.sql): the next claim sees it and skips the key.
                Err(error) if attempt < EXCLUSIVE_RACE_RETRIES && is_exclusive_race(&error) => {
                    tracing::debug!("claim raced another for an exclusive key; claiming again");
                    attempt += 1;
                }
                Err(error) => return Err(store_error("claim_jobs")(error)),
            }
        }
    }

    async fn finish(&self, outcomes: &[(Lease, Finish)]) -> Result<Vec<bool>> {
        let (ids, tokens) = lease_columns(outcomes.iter().map(|(lease, _)| lease.clone()));
        let mut statuses = Vec::with_capacity(outcomes.len());
        let mut delays = Vec::with_capacity(outcomes.len());
        let mut errors = Vec::with_capacity(outcomes.len());
        for (_, finish) in outcomes {
            let (status, delay, error) = match finish {
                Finish::Completed => ("completed", None, None),
                Finish::Failed { error } => ("failed", None, Some(error.clone())),
                Finish::Retry { delay, error } => {
                    ("pending", Some(to_millis(*delay)), Some(error.clone()))
                }
            };
            statuses.push(status);
            delays.push(delay);
            errors.push(error);
        }
        let written: Vec<i64> =
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.finish_jobs)))
                .bind(ids)
                .bind(&tokens)
                .bind(statuses)
                .bind(delays)
                .bind(errors)
                .fetch_all(self.worker())
                .await
                .map_err(|error| refusal_or_store_error("finish_jobs", error))?;
        let written: HashSet<i64> = written.into_iter().collect();
        Ok(tokens.iter().map(|token| written.contains(token)).collect())
    }

    async fn renew_leases(&self, leases: &[Lease], lease: Duration) -> Result<Vec<i64>> {
        let (ids, tokens) = lease_columns(leases.iter().cloned());
        sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.renew_leases)))
            .bind(ids)
            .bind(tokens)
            .bind(to_millis(lease))
            .fetch_all(self.heartbeat())
            .await
            .map_err(store_error("renew_leases"))
    }

    async fn release(&self, releases: &[Release]) -> Result<u64> {
        let (ids, tokens) = lease_columns(releases.iter().map(|release| release.lease.clone()));
        let refunds: Vec<bool> = releases
            .iter()
            .map(|release| release.refund_attempt)
            .collect();
        let released: i64 = sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.release_jobs)))
            .bind(ids)
            .bind(tokens)
            .bind(refunds)
            .bind(self.wake_channel())
            .fetch_one(self.worker())
            .await
            .map_err(store_error("release_jobs"))?;
        Ok(u64::try_from(released).unwrap_or(0))
    }

    async fn recover_orphans(&self, limit: u32) -> Result<Recovered> {
        let rows = sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.recover_orphans)))
            .bind(i64::from(limit))
            .bind(i32::try_from(self.lost_lease_retries).unwrap_or(i32::MAX))
            .fetch_all(self.worker())
            .await
            .map_err(store_error("recover_orphans"))?;
        let mut recovered = Recovered::default();
        for row in rows {
            let id: String = row.try_get("id").map_err(store_error("recover_orphans"))?;
            let status: String = row
                .try_get("status")
                .map_err(store_error("recover_orphans"))?;
            if status == "failed" {
                recovered.failed.push(JobId::from_stored(id));
            } else {
                recovered.requeued.push(JobId::from_stored(id));
            }
        }
        Ok(recovered)
    }

    async fn expire_misfired(&self, limit: u32) -> Result<Vec<(JobId, Priority)>> {
        let rows: Vec<(String, i16)> =
            sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.expire_misfired)))
                .bind(i64::from(limit))
                .fetch_all(self.worker())
                .await
                .map_err(store_error("expire_misfired"))?;
        Ok(rows
            .into_iter()
            .map(|(id, priority)| (JobId::from_stored(id), Priority::from_db_value(priority)))
            .collect())
    }

    async fn promote(&self, limit: u32, floor: &PromotionFloor) -> Result<Promotion> {
        let row: PromotionRow = sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.promote_jobs)))
            .bind(i64::from(limit))
            .bind(self.wake_channel())
            .bind(floor.lasting.as_ref().map(|(at, _)| *at))
            .bind(floor.lasting.as_ref().map(|(_, id)| id.as_str()))
            .bind(floor.expiring.as_ref().map(|(at, _)| *at))
            .bind(floor.expiring.as_ref().map(|(_, id)| id.as_str()))
            .fetch_one(self.worker())
            .await
            .map_err(store_error("promote_jobs"))?;
        Ok(Promotion::from(row))
    }

    async fn cancel(&self, id: &JobId) -> Result<bool> {
        let cancelled: Option<String> =
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.cancel_job)))
                .bind(id.as_str())
                .fetch_optional(self.main())
                .await
                .map_err(store_error("cancel_job"))?;
        Ok(cancelled.is_some())
    }

    async fn job(&self, id: &JobId) -> Result<Option<JobInfo>> {
        let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.get_job)))
            .bind(id.as_str())
            .fetch_optional(self.main())
            .await
            .map_err(store_error("get_job"))?;
        row.map(JobInfo::try_from).transpose()
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobInfo>> {
        let rows: Vec<JobRow> = sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.list_jobs)))
            .bind(filter.status.map(JobStatus::as_str))
            .bind(filter.name.as_deref())
            .bind(i64::from(filter.limit))
            .fetch_all(self.main())
            .await
            .map_err(store_error("list_jobs"))?;
        rows.into_iter().map(JobInfo::try_from).collect()
    }

    async fn retry_job(&self, id: &JobId) -> Result<bool> {
        let retried: Option<String> =
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.retry_job)))
                .bind(id.as_str())
                .bind(self.wake_channel())
                .fetch_optional(self.main())
                .await
                .map_err(store_error("retry_job"))?;
        Ok(retried.is_some())
    }

    async fn list_workers(&self, seen_within: Duration) -> Result<Vec<WorkerInfo>> {
        let rows: Vec<WorkerRow> =
            sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.list_workers)))
                .bind(to_millis(seen_within))
                .fetch_all(self.main())
                .await
                .map_err(store_error("list_workers"))?;
        Ok(rows.into_iter().map(WorkerInfo::from).collect())
    }

    async fn register_worker(&self, worker: &WorkerRecord) -> Result<()> {
        self.upsert_worker(worker, self.main()).await
    }

    async fn touch_worker(&self, worker: &WorkerRecord) -> Result<()> {
        self.upsert_worker(worker, self.heartbeat()).await
    }

    async fn deregister_worker(&self, worker_id: &str) -> Result<()> {
        sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.deregister_worker)))
            .bind(worker_id)
            .execute(self.main())
            .await
            .map_err(store_error("deregister_worker"))?;
        Ok(())
    }

    async fn prune_workers(&self, older_than: Duration) -> Result<Vec<String>> {
        sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.prune_workers)))
            .bind(to_millis(older_than))
            .fetch_all(self.main())
            .await
            .map_err(store_error("prune_workers"))
    }

    async fn next_due(&self) -> Result<Option<Duration>> {
        let millis: Option<i64> = sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.next_due)))
            .fetch_one(self.main())
            .await
            .map_err(store_error("next_due"))?;
        Ok(millis.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }

    async fn register_periodic(
        &self,
        schedules: &[PeriodicRegistration],
        owner: Option<&str>,
    ) -> Result<()> {
        if schedules.is_empty() {
            return Ok(());
        }
        // Rows of earlier versions, keyed by a hash SQL cannot compute, are recognised here.
        let (_, rows) = self.periodic_states().await?;
        let legacy = pgsched_core::periodic::legacy_adoptions(schedules, &rows);
        let keys: Vec<&str> = schedules.iter().map(|s| s.key.as_str()).collect();
        let names: Vec<&str> = schedules.iter().map(|s| s.job_name.as_str()).collect();
        let texts: Vec<&str> = schedules.iter().map(|s| s.schedule.as_str()).collect();
        let enabled: Vec<bool> = schedules.iter().map(|s| s.enabled).collect();
        sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.register_periodic)))
            .bind(keys)
            .bind(names)
            .bind(texts)
            .bind(enabled)
            .bind(legacy)
            .bind(owner)
            .execute(self.main())
            .await
            .map_err(store_error("register_periodic"))?;
        Ok(())
    }

    async fn periodic_states(&self) -> Result<(DateTime<Utc>, Vec<PeriodicState>)> {
        let rows: Vec<PeriodicRow> =
            sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.periodic_states)))
                .fetch_all(self.main())
                .await
                .map_err(store_error("periodic_states"))?;
        let now = match rows.first() {
            Some(row) => row.db_now,
            None => sqlx::query_scalar("SELECT now()")
                .fetch_one(self.main())
                .await
                .map_err(store_error("periodic_states"))?,
        };
        Ok((now, rows.into_iter().map(PeriodicState::from).collect()))
    }

    async fn periodic_state(&self, key: &str) -> Result<Option<PeriodicState>> {
        let row: Option<PeriodicRow> =
            sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.periodic_state)))
                .bind(key)
                .fetch_optional(self.main())
                .await
                .map_err(store_error("periodic_state"))?;
        Ok(row.map(PeriodicState::from))
    }

    async fn enqueue_periodic(
        &self,
        key: &str,
        schedule: &str,
        window: DateTime<Utc>,
        job: &NewJob,
    ) -> Result<bool> {
        // The row's run_at is the window (the statement's contract, whatever `job` says).
        let job = if job.run_at == Some(window) {
            Cow::Borrowed(job)
        } else {
            Cow::Owned(NewJob {
                run_at: Some(window),
                ..job.clone()
            })
        };
        let inserted: Option<String> = bind_job(
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.enqueue_periodic))),
            &job,
        )
        .bind(key)
        .bind(window)
        .bind(schedule)
        .fetch_optional(self.main())
        .await
        .map_err(store_error("enqueue_periodic"))?;
        Ok(inserted.is_some())
    }

    async fn set_periodic_enabled(&self, key: &str, enabled: bool) -> Result<bool> {
        let changed: i64 =
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.set_periodic_enabled)))
                .bind(key)
                .bind(enabled)
                .fetch_one(self.main())
                .await
                .map_err(store_error("set_periodic_enabled"))?;
        Ok(changed > 0)
    }

    async fn claim_vacuum_turn(&self, worker: &str, interval: Duration) -> Result<bool> {
        let won: Option<bool> =
            sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql.claim_vacuum_turn)))
                .bind(worker)
                .bind(to_millis(interval))
                .fetch_optional(self.main())
                .await
                .map_err(store_error("claim_vacuum_turn"))?;
        Ok(won.is_some())
    }

    async fn purge(
        &self,
        status: JobStatus,
        rule: PurgeRule,
        resume_at: Option<&str>,
        limit: u32,
        timeout: Duration,
    ) -> Result<Purged> {
        let operation = match rule {
            PurgeRule::FinishedBefore(_) => "purge_finished",
            PurgeRule::KeepLast(_) => "purge_keep_last",
        };
        let mut connection = Held::acquire(&self.pool)
            .await
            .map_err(store_error(operation))?;
        let mut transaction = connection.begin().await.map_err(store_error(operation))?;
        sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.limit_statement)))
            .bind(format!("{}ms", timeout.as_millis().max(1)))
            .execute(self.on(&mut transaction))
            .await
            .map_err(store_error(operation))?;
        let purged = match rule {
            PurgeRule::FinishedBefore(age) => {
                let deleted = sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.purge_finished)))
                    .bind(status.as_str())
                    .bind(to_millis(age))
                    .bind(i64::from(limit))
                    .execute(self.on(&mut transaction))
                    .await
                    .map_err(store_error(operation))?
                    .rows_affected();
                Purged {
                    deleted,
                    resume_at: None,
                }
            }
            PurgeRule::KeepLast(count) => {
                let (deleted, resume_at): (i64, Option<String>) =
                    sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.purge_keep_last)))
                        .bind(status.as_str())
                        .bind(i64::from(count))
                        .bind(i64::from(limit))
                        .bind(resume_at)
                        .fetch_one(self.on(&mut transaction))
                        .await
                        .map_err(store_error(operation))?;
                Purged {
                    deleted: u64::try_from(deleted).unwrap_or(0),
                    resume_at,
                }
            }
        };
        transaction.commit().await.map_err(store_error(operation))?;
        connection.finished();
        Ok(purged)
    }

    async fn record_vacuum(&self, worker: &str, deleted: &VacuumReport) -> Result<()> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        sqlx::query(AssertSqlSafe(Arc::clone(&self.sql.record_vacuum)))
            .bind(count(deleted.completed))
            .bind(count(deleted.failed))
            .bind(count(deleted.cancelled))
            .bind(count(deleted.expired))
            .bind(worker)
            .execute(self.main())
            .await
            .map_err(store_error("record_vacuum"))?;
        Ok(())
    }

    async fn vacuum_stats(&self, days: u32) -> Result<Vec<VacuumStatsDay>> {
        let rows: Vec<VacuumStatsRow> =
            sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.vacuum_stats)))
                .bind(i32::try_from(days).unwrap_or(i32::MAX))
                .fetch_all(self.main())
                .await
                .map_err(store_error("vacuum_stats"))?;
        Ok(rows.into_iter().map(VacuumStatsDay::from).collect())
    }

    async fn total_vacuum_stats(&self) -> Result<VacuumTotals> {
        let row: VacuumTotalsRow =
            sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql.total_vacuum_stats)))
                .fetch_one(self.main())
                .await
                .map_err(store_error("total_vacuum_stats"))?;
        Ok(row.into())
    }

    async fn listen(&self) -> Result<Box<dyn Listener>> {
        let wakeups = PgWakeups::connect(self.listen_pool.clone(), self.schema.channel())
            .await
            .map_err(store_error("listen"))?;
        Ok(Box::new(wakeups))
    }
}
