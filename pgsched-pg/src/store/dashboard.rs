//! What the web dashboard (`pgsched-web`) reads and does beyond the [`JobStore`] methods: the
//! overview's counts and per-minute figures, the jobs list by keyset, a job's lease, and the
//! operator's "run now" and "delete". Every read runs in a transaction bounded by
//! [`DASHBOARD_STATEMENT_TIMEOUT`] (see `dashboard_session.sql`), on the main pool: never on
//! the pools the worker claims, renews and finishes on.
//!
//! [`JobStore`]: pgsched_core::store::JobStore

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_core::{JobId, JobStatus, Priority, QueueName, Result};
use sqlx::{PgConnection, Postgres, Transaction};

use super::PgStore;
use crate::pooler::Held;
use crate::rows::JobHeadRow;

/// Longest a dashboard statement may run before PostgreSQL cancels it: a page on a huge table
/// or a filter that matches nothing fails fast instead of holding a connection.
pub const DASHBOARD_STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// Each status count of the overview stops here (the page shows "at least").
pub const STATUS_COUNT_CAP: u64 = 10_000;

/// Longest error text a jobs list row carries, in characters (the job's page shows it whole).
pub const LISTED_ERROR_CHARS: i32 = 200;

/// Most jobs on one page of the jobs list.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Jobs per stored status, each capped at [`STATUS_COUNT_CAP`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusCounts {
    /// Waiting for a later due time (public status "pending").
    pub scheduled: i64,
    /// Due and claimable.
    pub pending: i64,
    /// Held by a worker.
    pub running: i64,
    /// Completed.
    pub completed: i64,
    /// Failed for good.
    pub failed: i64,
    /// Cancelled.
    pub cancelled: i64,
    /// Expired (misfired).
    pub expired: i64,
}

/// One minute of the overview's charts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MinuteStats {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// Jobs that completed in it.
    pub completed: i64,
    /// Jobs that failed for good in it.
    pub failed: i64,
    /// Average queue lag (start minus due time) of those jobs, in milliseconds.
    pub lag_avg_ms: Option<f64>,
    /// Worst queue lag of those jobs, in milliseconds.
    pub lag_max_ms: Option<f64>,
}

/// What the overview shows of the jobs table.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Jobs per stored status.
    pub counts: StatusCounts,
    /// The last minutes, oldest first, each minute present.
    pub minutes: Vec<MinuteStats>,
    /// How long the longest-waiting due job has waited, in milliseconds (`None`: none waits).
    pub oldest_due_ms: Option<f64>,
    /// Every queue with due or running jobs or with settings, by name.
    pub queues: Vec<QueueCounts>,
}

/// A queue's settings and its due and running jobs, as the dashboard shows them (see
/// `dashboard_queue_counts.sql`: bounded reads, unlike [`pgsched_core::store::JobStore::queues`]' exact counts).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueCounts {
    /// The queue's name.
    pub name: String,
    /// Paused on every worker.
    pub paused: bool,
    /// Its cluster-wide concurrency limit, if any.
    pub concurrency_limit: Option<i32>,
    /// Its rate limit's starts per period, if any.
    pub rate_limit: Option<i32>,
    /// Its rate limit's period in milliseconds, if any.
    pub rate_period_ms: Option<i64>,
    /// Its per-key rate limit's starts per period, if any.
    pub key_rate_limit: Option<i32>,
    /// Its per-key rate limit's period in milliseconds, if any.
    pub key_rate_period_ms: Option<i64>,
    /// Its due jobs, capped at [`STATUS_COUNT_CAP`].
    pub due: i64,
    /// Its running jobs.
    pub running: i64,
}

impl QueueCounts {
    /// Its rate limit, if any.
    #[must_use]
    pub fn rate(&self) -> Option<pgsched_core::RateLimit> {
        crate::rows::stored_rate(self.rate_limit, self.rate_period_ms)
    }

    /// Its per-key rate limit, if any.
    #[must_use]
    pub fn key_rate(&self) -> Option<pgsched_core::RateLimit> {
        crate::rows::stored_rate(self.key_rate_limit, self.key_rate_period_ms)
    }
}

/// Which way the jobs list runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Newest created first.
    #[default]
    NewestFirst,
    /// Oldest created first.
    OldestFirst,
}

/// Where a page of the jobs list starts: after this row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    /// The last row's creation time.
    pub created_at: DateTime<Utc>,
    /// The last row's id.
    pub id: String,
}

/// One page of the jobs list: filters, order, where it starts and its size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// Only jobs in this public status.
    pub status: Option<JobStatus>,
    /// Only jobs of this name.
    pub name: Option<String>,
    /// Only jobs of this queue.
    pub queue: Option<String>,
    /// Only jobs whose id starts with this.
    pub id_prefix: Option<String>,
    /// Only jobs created at or after this.
    pub created_from: Option<DateTime<Utc>>,
    /// Only jobs created before this.
    pub created_before: Option<DateTime<Utc>>,
    /// The order.
    pub order: ListOrder,
    /// Start after this row (`None`: the first page).
    pub after: Option<PageCursor>,
    /// Rows on the page, at most [`MAX_PAGE_SIZE`].
    pub limit: u32,
}

/// A job as the jobs list shows it (no payload; the error cut to [`LISTED_ERROR_CHARS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    /// Its id.
    pub id: JobId,
    /// Its job name.
    pub name: String,
    /// Its queue.
    pub queue: QueueName,
    /// Its public status.
    pub status: JobStatus,
    /// Whether it waits for a later due time (stored `scheduled`, public "pending").
    pub waiting: bool,
    /// Its priority.
    pub priority: Priority,
    /// Attempts started.
    pub attempts: u32,
    /// Retries allowed.
    pub max_retries: u32,
    /// Due time.
    pub run_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Start of its last attempt.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// The start of its last error.
    pub last_error: Option<String>,
    /// The worker holding it or that last ran it.
    pub worker_id: Option<String>,
}

/// A job's lease (both `None`: not held).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaseInfo {
    /// When it expires unless renewed.
    #[sqlx(rename = "lease_expires_at")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The token the claim wrote.
    #[sqlx(rename = "lease_token")]
    pub token: Option<i64>,
}

/// The error an attempt of a job ended with (see [`crate::ATTEMPT_ERRORS_KEPT`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptError {
    /// The attempt's number (1 for the first; counting again from 1 after an operator's
    /// retry).
    pub attempt: u32,
    /// When it ended, by the database clock.
    pub at: DateTime<Utc>,
    /// Its error text, as `last_error` had it.
    pub error: String,
}

#[derive(sqlx::FromRow)]
struct AttemptErrorRow {
    attempt: i32,
    at: DateTime<Utc>,
    error: String,
}

impl From<AttemptErrorRow> for AttemptError {
    fn from(row: AttemptErrorRow) -> AttemptError {
        AttemptError {
            attempt: u32::try_from(row.attempt).unwrap_or(0),
            at: row.at,
            error: row.error,
        }
    }
}

/// The stored statuses a public status filter reads: the first, and a second read alongside
/// (public "pending" is stored `pending` and `scheduled`).
fn stored_statuses(status: Option<JobStatus>) -> (Option<&'static str>, Option<&'static str>) {
    match status {
        None => (None, None),
        Some(JobStatus::Pending) => (Some("pending"), Some("scheduled")),
        Some(other) => (Some(other.as_str()), None),
    }
}

/// A LIKE pattern matching the ids that start with `prefix` (its `%`, `_` and `\\` escaped).
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl PgStore {
    /// Begins a dashboard read on `connection`: bounded by [`DASHBOARD_STATEMENT_TIMEOUT`],
    /// planned for its parameters (see `dashboard_session.sql`).
    async fn dashboard_transaction<'c>(
        &self,
        connection: &'c mut PgConnection,
        operation: &'static str,
    ) -> Result<Transaction<'c, Postgres>> {
        use sqlx::Connection as _;
        let session = &self.sql.dashboard_session;
        let mut transaction = connection
            .begin()
            .await
            .map_err(super::store_error(operation))?;
        session
            .query()
            .bind(format!("{}ms", DASHBOARD_STATEMENT_TIMEOUT.as_millis()))
            .execute(self.on(&mut transaction))
            .await
            .map_err(session.error())?;
        Ok(transaction)
    }

    /// The overview: status counts, the last `minutes` minutes (completed, failed, queue
    /// lag), and the oldest due job's wait.
    ///
    /// # Errors
    /// A store error (a timeout on a very busy table among them).
    pub async fn dashboard_overview(&self, minutes: u32) -> Result<Overview> {
        const OPERATION: &str = "dashboard_overview";
        let mut connection = Held::acquire(&self.pool)
            .await
            .map_err(super::store_error(OPERATION))?;
        let mut transaction = self
            .dashboard_transaction(&mut connection, OPERATION)
            .await?;
        let counts: StatusCounts = self
            .sql
            .dashboard_status_counts
            .query_as()
            .bind(i64::try_from(STATUS_COUNT_CAP).unwrap_or(i64::MAX))
            .fetch_one(self.on(&mut transaction))
            .await
            .map_err(self.sql.dashboard_status_counts.error())?;
        let minutes: Vec<MinuteStats> = self
            .sql
            .dashboard_minutes
            .query_as()
            .bind(i32::try_from(minutes.max(1)).unwrap_or(i32::MAX))
            .fetch_all(self.on(&mut transaction))
            .await
            .map_err(self.sql.dashboard_minutes.error())?;
        let oldest_due_ms: Option<f64> = self
            .sql
            .dashboard_oldest_due
            .query_scalar()
            .fetch_one(self.on(&mut transaction))
            .await
            .map_err(self.sql.dashboard_oldest_due.error())?;
        let queues = self.queue_counts(&mut transaction).await?;
        transaction
            .commit()
            .await
            .map_err(super::store_error(OPERATION))?;
        connection.finished();
        Ok(Overview {
            counts,
            minutes,
            oldest_due_ms,
            queues,
        })
    }

    /// Every queue with due or running jobs or with settings, by name (the queues page).
    ///
    /// # Errors
    /// A store error.
    pub async fn dashboard_queues(&self) -> Result<Vec<QueueCounts>> {
        const OPERATION: &str = "dashboard_queues";
        let mut connection = Held::acquire(&self.pool)
            .await
            .map_err(super::store_error(OPERATION))?;
        let mut transaction = self
            .dashboard_transaction(&mut connection, OPERATION)
            .await?;
        let queues = self.queue_counts(&mut transaction).await?;
        transaction
            .commit()
            .await
            .map_err(super::store_error(OPERATION))?;
        connection.finished();
        Ok(queues)
    }

    /// The queues' counts, in a dashboard read (see `dashboard_queue_counts.sql`).
    async fn queue_counts(
        &self,
        transaction: &mut Transaction<'_, Postgres>,
    ) -> Result<Vec<QueueCounts>> {
        self.sql
            .dashboard_queue_counts
            .query_as()
            .bind(i64::try_from(STATUS_COUNT_CAP).unwrap_or(i64::MAX))
            .fetch_all(self.on(transaction))
            .await
            .map_err(self.sql.dashboard_queue_counts.error())
    }

    /// One page of the jobs list (see `dashboard_jobs_newest.sql`).
    ///
    /// # Errors
    /// A store error (a timeout when the filters match too few rows of a huge table among
    /// them: narrow by status, name or time).
    pub async fn dashboard_jobs(&self, query: &JobQuery) -> Result<Vec<JobSummary>> {
        let statement = match query.order {
            ListOrder::NewestFirst => &self.sql.dashboard_jobs_newest,
            ListOrder::OldestFirst => &self.sql.dashboard_jobs_oldest,
        };
        let (first, second) = stored_statuses(query.status);
        let mut connection = Held::acquire(&self.pool).await.map_err(statement.error())?;
        let mut transaction = self
            .dashboard_transaction(&mut connection, "dashboard_jobs")
            .await?;
        let rows: Vec<JobHeadRow> = statement
            .query_as()
            .bind(first)
            .bind(second)
            .bind(query.name.as_deref())
            .bind(query.id_prefix.as_deref().map(like_prefix))
            .bind(query.created_from)
            .bind(query.created_before)
            .bind(query.after.as_ref().map(|cursor| cursor.created_at))
            .bind(query.after.as_ref().map(|cursor| cursor.id.as_str()))
            .bind(i64::from(query.limit.clamp(1, MAX_PAGE_SIZE)))
            .bind(LISTED_ERROR_CHARS)
            .bind(query.queue.as_deref())
            .fetch_all(self.on(&mut transaction))
            .await
            .map_err(statement.error())?;
        transaction.commit().await.map_err(statement.error())?;
        connection.finished();
        // The list reads the head every job row has (the columns of JobRow without the
        // payload, output and dependencies, which a page of 500 rows must not read).
        rows.into_iter().map(JobSummary::try_from).collect()
    }

    /// A job's lease (`None`: no such job).
    ///
    /// # Errors
    /// A store error.
    pub async fn dashboard_job_lease(&self, id: &JobId) -> Result<Option<LeaseInfo>> {
        self.sql
            .dashboard_job_lease
            .query_as()
            .bind(id.as_str())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.dashboard_job_lease.error())
    }

    /// The errors the attempts of a job ended with, oldest first: the most recent
    /// [`crate::ATTEMPT_ERRORS_KEPT`] (empty: none, or no such job).
    ///
    /// # Errors
    /// A store error.
    pub async fn dashboard_attempt_errors(&self, id: &JobId) -> Result<Vec<AttemptError>> {
        let rows: Vec<AttemptErrorRow> = self
            .sql
            .dashboard_attempt_errors
            .query_as()
            .bind(id.as_str())
            .fetch_all(self.main())
            .await
            .map_err(self.sql.dashboard_attempt_errors.error())?;
        Ok(rows.into_iter().map(AttemptError::from).collect())
    }

    /// Makes a job waiting for its due time due now, and wakes workers; false if it is not
    /// waiting (see `dashboard_run_now.sql`).
    ///
    /// # Errors
    /// A store error.
    pub async fn run_job_now(&self, id: &JobId) -> Result<bool> {
        let moved: Option<String> = self
            .sql
            .dashboard_run_now
            .query_scalar()
            .bind(id.as_str())
            .bind(self.wake_channel())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.dashboard_run_now.error())?;
        Ok(moved.is_some())
    }

    /// Deletes a job that is not running; false if there is none such (see
    /// `dashboard_delete_job.sql`).
    ///
    /// # Errors
    /// A store error.
    pub async fn delete_job(&self, id: &JobId) -> Result<bool> {
        let deleted: Option<String> = self
            .sql
            .dashboard_delete_job
            .query_scalar()
            .bind(id.as_str())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.dashboard_delete_job.error())?;
        Ok(deleted.is_some())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::AssertSqlSafe;

    use super::*;

    #[test]
    fn public_pending_reads_both_stored_waiting_statuses() {
        assert_eq!(
            stored_statuses(Some(JobStatus::Pending)),
            (Some("pending"), Some("scheduled"))
        );
        assert_eq!(
            stored_statuses(Some(JobStatus::Failed)),
            (Some("failed"), None)
        );
        assert_eq!(stored_statuses(None), (None, None));
    }

    /// Every page of a filter, walked by keyset: ids in order.
    async fn walk(store: &PgStore, mut query: JobQuery) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let page = store.dashboard_jobs(&query).await.expect("a page");
            seen.extend(page.iter().map(|job| job.id.as_str().to_owned()));
            match page.last() {
                Some(last) if page.len() == query.limit as usize => {
                    query.after = Some(PageCursor {
                        created_at: last.created_at,
                        id: last.id.as_str().to_owned(),
                    });
                }
                _ => return seen,
            }
        }
    }

    #[tokio::test]
    async fn keyset_pages_cover_every_match_once_in_order() {
        use sqlx::Executor;

        let mut test = crate::test_schema::TestSchema::new("t_dashboard").await;
        let store = PgStore::new(test.pool.clone(), test.schema.clone());
        store.migrate().await.expect("migrated");
        // 30 jobs in one transaction (one created_at: the id breaks the tie), 10 each of
        // pending, scheduled (public "pending") and failed, names a and b, every fifth in the
        // queue q5; ids with LIKE characters.
        test.connection
            .execute(AssertSqlSafe(format!(
                "INSERT INTO {schema}.jobs (id, name, payload, run_at, status, created_at, queue) \
                 SELECT '50%_' || lpad(g::text, 2, '0'), CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, \
                        '\\x', now(), (ARRAY['pending', 'scheduled', 'failed'])[g % 3 + 1], \
                        '2030-01-01'::timestamptz, CASE WHEN g % 5 = 0 THEN 'q5' ELSE 'default' END \
                   FROM generate_series(1, 30) g; \
                 INSERT INTO {schema}.jobs (id, name, payload, run_at, status, created_at) \
                 VALUES ('500', 'a', '\\x', now(), 'failed', '2030-01-02')",
                schema = test.schema.quoted()
            )))
            .await
            .expect("rows");
        let all: Vec<String> = (1..=30).map(|g| format!("50%_{g:02}")).collect();
        let newest = walk(
            &store,
            JobQuery {
                limit: 7,
                ..JobQuery::default()
            },
        )
        .await;
        let mut expected: Vec<String> = std::iter::once("500".to_owned())
            .chain(all.iter().rev().cloned())
            .collect();
        assert_eq!(newest, expected, "newest first, every job once");
        let oldest = walk(
            &store,
            JobQuery {
                limit: 4,
                order: ListOrder::OldestFirst,
                ..JobQuery::default()
            },
        )
        .await;
        expected.reverse();
        assert_eq!(oldest, expected, "oldest first");
        let pending = walk(
            &store,
            JobQuery {
                limit: 3,
                status: Some(JobStatus::Pending),
                ..JobQuery::default()
            },
        )
        .await;
        assert_eq!(pending.len(), 20, "pending and scheduled: {pending:?}");
        assert!(
            pending.windows(2).all(|pair| pair[0] > pair[1]),
            "merged in order: {pending:?}"
        );
        let failed_a = walk(
            &store,
            JobQuery {
                limit: 2,
                status: Some(JobStatus::Failed),
                name: Some("a".into()),
                ..JobQuery::default()
            },
        )
        .await;
        assert_eq!(
            failed_a,
            ["500", "50%_26", "50%_20", "50%_14", "50%_08", "50%_02"]
        );
        let prefix = walk(
            &store,
            JobQuery {
                limit: 50,
                id_prefix: Some("50%_1".into()),
                ..JobQuery::default()
            },
        )
        .await;
        assert_eq!(prefix.len(), 10, "50%_10 to 50%_19: {prefix:?}");
        let q5 = walk(
            &store,
            JobQuery {
                limit: 4,
                queue: Some("q5".into()),
                ..JobQuery::default()
            },
        )
        .await;
        assert_eq!(
            q5,
            ["50%_30", "50%_25", "50%_20", "50%_15", "50%_10", "50%_05"]
        );
        let q5_failed = walk(
            &store,
            JobQuery {
                limit: 4,
                queue: Some("q5".into()),
                status: Some(JobStatus::Failed),
                ..JobQuery::default()
            },
        )
        .await;
        assert_eq!(q5_failed, ["50%_20", "50%_05"]);
        let page = store
            .dashboard_jobs(&JobQuery {
                limit: 1,
                id_prefix: Some("50%_10".into()),
                ..JobQuery::default()
            })
            .await
            .expect("a page");
        assert_eq!(page[0].queue.as_str(), "q5", "the row carries its queue");
        let before = walk(
            &store,
            JobQuery {
                limit: 50,
                created_before: Some("2030-01-02T00:00:00Z".parse().expect("time")),
                ..JobQuery::default()
            },
        )
        .await;
        assert_eq!(before.len(), 30);

        // Run now and delete, as the dashboard's actions do them.
        let scheduled = JobId::from_stored("50%_01".to_owned());
        assert!(store.run_job_now(&scheduled).await.expect("run now"));
        let lease = store
            .dashboard_job_lease(&scheduled)
            .await
            .expect("lease")
            .expect("exists");
        assert_eq!(lease, LeaseInfo::default());
        assert!(store.delete_job(&scheduled).await.expect("delete"));
        assert!(!store.delete_job(&scheduled).await.expect("delete again"));
        let overview = store.dashboard_overview(5).await.expect("overview");
        assert_eq!(overview.minutes.len(), 5);
        assert_eq!(overview.counts.failed, 11);
        assert_eq!(overview.counts.pending + overview.counts.scheduled, 19);

        test.drop().await;
    }

    #[test]
    fn an_id_prefix_matches_its_characters_literally() {
        assert_eq!(like_prefix("job-1"), "job-1%");
        assert_eq!(like_prefix("50%_a\\b"), "50\\%\\_a\\\\b%");
    }
}
