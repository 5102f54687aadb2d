//! Writing jobs: `schedule` and `schedule_on`, the insert, upsert and conflict paths
//! (statements `insert_*`, `upsert_jobs`, `job_statuses`, `notify`), and the dependencies of
//! jobs that run after others (`lock_parents`, `link_dependencies`).

use std::collections::{HashMap, HashSet};

use pgsched_core::dependencies::Batch;
use pgsched_core::{ConflictResolution, Error, JobId, JobStatus, NewJob, Result, Scheduled};
use sqlx::{Connection, PgConnection, Row};

use super::{PgStore, store_error};
use crate::job_row::{bind_job, bind_jobs};
use crate::pooler::Held;
use crate::rows::parse_status;

impl PgStore {
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
        let batch = Batch::new(jobs);
        batch.check(conflict)?;
        if batch.has_dependencies() {
            // Several statements, all or nothing: a transaction of its own, or a savepoint in
            // the caller's (a refused call leaves their transaction as it was).
            let mut transaction = connection.begin().await.map_err(store_error("begin"))?;
            let results = self
                .schedule_linked(&mut transaction, jobs, &batch, conflict, jobs.len())
                .await?;
            transaction.commit().await.map_err(store_error("commit"))?;
            return Ok(results);
        }
        if self.pooler.is_none() || connection.is_in_transaction() {
            return self.schedule_in(connection, jobs, conflict).await;
        }
        let mut transaction = connection.begin().await.map_err(store_error("begin"))?;
        let results = self.schedule_in(&mut transaction, jobs, conflict).await?;
        transaction.commit().await.map_err(store_error("commit"))?;
        Ok(results)
    }

    /// [`PgStore::schedule_on`] on a connection that needs nothing more.
    pub(super) async fn schedule_in(
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
                bind_jobs(self.sql.insert_jobs.query_scalar(), &chosen)
                    .fetch_all(self.on(&mut *connection))
                    .await
                    .map_err(self.sql.insert_jobs.error())?
            };
            self.conflicts(connection, &chosen, conflict, &existing)
                .await?
        };
        if self
            .notifier
            .as_ref()
            .is_some_and(|notifier| notifier.should_wake(jobs))
        {
            self.sql
                .notify
                .query()
                .bind(self.wake_channel())
                .execute(self.on(&mut *connection))
                .await
                .map_err(self.sql.notify.error())?;
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
    pub(super) async fn insert_new(
        &self,
        connection: &mut PgConnection,
        jobs: &[&NewJob],
    ) -> Result<()> {
        match jobs {
            [] => Ok(()),
            [job] => {
                bind_job(self.sql.insert_new_job.query(), job)
                    .execute(self.on(&mut *connection))
                    .await
                    .map_err(self.sql.insert_new_job.error())?;
                Ok(())
            }
            _ => {
                bind_jobs(self.sql.insert_new_jobs.query(), jobs)
                    .execute(self.on(&mut *connection))
                    .await
                    .map_err(self.sql.insert_new_jobs.error())?;
                Ok(())
            }
        }
    }

    /// `Replace`: inserts new jobs and rewrites existing ones that are not running.
    pub(super) async fn upsert<'j>(
        &self,
        connection: &mut PgConnection,
        jobs: &[&'j NewJob],
    ) -> Result<HashMap<&'j str, Scheduled>> {
        let rows = bind_jobs(self.sql.upsert_jobs.query(), jobs)
            .fetch_all(self.on(&mut *connection))
            .await
            .map_err(self.sql.upsert_jobs.error())?;
        let mut written: HashMap<String, bool> = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id").map_err(self.sql.upsert_jobs.error())?;
            let inserted: bool = row
                .try_get("inserted")
                .map_err(self.sql.upsert_jobs.error())?;
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
    pub(super) async fn conflicts<'j>(
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
            let rows = self
                .sql
                .job_statuses
                .query()
                .bind(existing)
                .fetch_all(self.on(&mut *connection))
                .await
                .map_err(self.sql.job_statuses.error())?;
            for row in rows {
                let id: String = row.try_get("id").map_err(self.sql.job_statuses.error())?;
                let status: String = row
                    .try_get("status")
                    .map_err(self.sql.job_statuses.error())?;
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

    /// Inserts one job with scalar parameters (the common case of `my_job::schedule`);
    /// returns its id if it already existed, like `insert_jobs` does for a batch.
    pub(super) async fn insert_one(
        &self,
        connection: &mut PgConnection,
        job: &NewJob,
    ) -> Result<Vec<String>> {
        let inserted: Option<String> = bind_job(self.sql.insert_job.query_scalar(), job)
            .fetch_optional(self.on(&mut *connection))
            .await
            .map_err(self.sql.insert_job.error())?;
        Ok(match inserted {
            Some(_) => Vec::new(),
            None => vec![job.id.as_str().to_owned()],
        })
    }

    /// See [`pgsched_core::store::JobStore::schedule`].
    pub(super) async fn schedule(
        &self,
        jobs: &[NewJob],
        conflict: ConflictResolution,
        batch_size: usize,
    ) -> Result<Vec<Scheduled>> {
        let batch_size = batch_size.max(1);
        let batch = Batch::new(jobs);
        batch.check(conflict)?;
        let linked = batch.has_dependencies();
        if jobs.len() <= batch_size && self.pooler.is_none() && !linked {
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
        let results = if linked {
            self.schedule_linked(&mut transaction, jobs, &batch, conflict, batch_size)
                .await?
        } else {
            let mut results = Vec::with_capacity(jobs.len());
            for chunk in jobs.chunks(batch_size) {
                results.extend(self.schedule_in(&mut transaction, chunk, conflict).await?);
            }
            results
        };
        transaction.commit().await.map_err(store_error("commit"))?;
        connection.finished();
        Ok(results)
    }

    /// Writes jobs of which some run after others, inside the caller's transaction: the
    /// parents outside the call are locked and checked first (none missing, or nothing is
    /// written), then the jobs are inserted (`batch_size` per statement; those with parents
    /// `blocked`), then the parents inside the call are locked, and the edges of every job
    /// written are recorded, settling at once those whose parent has already ended.
    async fn schedule_linked(
        &self,
        connection: &mut PgConnection,
        jobs: &[NewJob],
        batch: &Batch<'_>,
        conflict: ConflictResolution,
        batch_size: usize,
    ) -> Result<Vec<Scheduled>> {
        self.lock_parents(connection, &batch.outside_parents())
            .await?;
        let mut results = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(batch_size.max(1)) {
            results.extend(self.schedule_in(connection, chunk, conflict).await?);
        }
        self.lock_parents(connection, &batch.inside_parents())
            .await?;
        let (mut parents, mut children): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        for (job, result) in jobs.iter().zip(&results) {
            // A job kept or refused by its conflict policy was not written: its edges neither.
            if matches!(result, Scheduled::Inserted(_)) {
                for parent in &job.parents {
                    parents.push(parent.as_str());
                    children.push(job.id.as_str());
                }
            }
        }
        if parents.is_empty() {
            return Ok(results);
        }
        let released: i64 = self
            .sql
            .link_dependencies
            .query_scalar()
            .bind(&parents)
            .bind(&children)
            .fetch_one(self.on(&mut *connection))
            .await
            .map_err(self.sql.link_dependencies.error())?;
        if released > 0
            && let Some(channel) = self.wake_channel()
        {
            self.sql
                .notify
                .query()
                .bind(channel)
                .execute(self.on(&mut *connection))
                .await
                .map_err(self.sql.notify.error())?;
        }
        Ok(results)
    }

    /// Locks `parents` and marks them as having dependents (see lock_parents.sql).
    ///
    /// # Errors
    /// [`Error::UnknownParents`] when some do not exist (nothing is marked).
    async fn lock_parents(&self, connection: &mut PgConnection, parents: &[&JobId]) -> Result<()> {
        if parents.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = parents.iter().map(|id| id.as_str()).collect();
        let found: Vec<String> = self
            .sql
            .lock_parents
            .query_scalar()
            .bind(&ids)
            .fetch_all(self.on(&mut *connection))
            .await
            .map_err(self.sql.lock_parents.error())?;
        if found.len() == parents.len() {
            return Ok(());
        }
        let found: HashSet<&str> = found.iter().map(String::as_str).collect();
        Err(Error::UnknownParents {
            ids: parents
                .iter()
                .filter(|id| !found.contains(id.as_str()))
                .map(|&id| id.clone())
                .collect(),
        })
    }
}
