//! A claim that waited must not start an expired lease (issue 10).
//!
//! Two workers on one schema; another session holds `LOCK TABLE … IN ACCESS EXCLUSIVE MODE`
//! for longer than the lease while jobs are due and both workers are woken to claim them, so
//! their claims wait behind the lock. When the lock goes, the claims return. A lease computed
//! from when the claim *started* has expired by then: the other worker's sweep recovers the
//! job and runs it while the first still does. The jobs record their own execution
//! intervals (one process, one monotonic clock; the end is recorded even when an abandoned
//! attempt's future is dropped), and no two executions of one job may overlap.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use pgsched::{JobContext, JobStatus, Scheduler, State, job};
use pgsched_tests::{DEADLINE, TestDb, eventually, setup};
use sqlx::Connection;

const LEASE: Duration = Duration::from_secs(2);
/// How long the lock is held once the claims are waiting on it: well past the lease.
const HOLD: Duration = Duration::from_secs(3);
/// How long each job runs (shorter than a lease, longer than the cleanup window an abandoned
/// attempt gets, so an abandoned duplicate is still running when the other one starts).
const JOB_MILLIS: u64 = 1_000;
const JOBS_PER_ROUND: usize = 4;
/// Claim batch: every job of a round in one claim.
const BATCH: u32 = 4;
const ROUNDS: usize = 3;

/// Microseconds since the first call, on one monotonic clock shared by every execution.
fn now_micros() -> i64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    i64::try_from(epoch.elapsed().as_micros()).unwrap_or(i64::MAX)
}

/// One execution of a job: when it started and (once it stopped) ended.
#[derive(Debug, Clone)]
struct Execution {
    id: String,
    attempt: u32,
    start: i64,
    end: Option<i64>,
}

/// Every execution of the probe jobs, shared by both workers (given to each as state).
#[derive(Debug, Default, Clone)]
struct Executions(Arc<Mutex<Vec<Execution>>>);

impl Executions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Execution>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a start; the returned guard records the end when dropped, so an attempt whose
    /// future is dropped (abandoned) still gets an end.
    fn begin(&self, ctx: &JobContext) -> EndOnDrop {
        let mut all = self.lock();
        all.push(Execution {
            id: ctx.id().as_str().to_owned(),
            attempt: ctx.attempt(),
            start: now_micros(),
            end: None,
        });
        EndOnDrop {
            executions: self.clone(),
            index: all.len() - 1,
        }
    }

    fn all(&self) -> Vec<Execution> {
        self.lock().clone()
    }
}

struct EndOnDrop {
    executions: Executions,
    index: usize,
}

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        if let Some(execution) = self.executions.lock().get_mut(self.index) {
            execution.end = Some(now_micros());
        }
    }
}

/// Runs `millis`, ignoring cancellation on purpose (like user code that does not watch
/// `JobContext::cancelled()`), recording its execution interval.
#[job]
async fn claim_wait_probe(millis: u64, ctx: JobContext, executions: State<Executions>) {
    let _interval = executions.begin(&ctx);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// Pairs of executions of one job that overlap in time (an unfinished one runs forever).
fn overlaps(executions: &[Execution]) -> Vec<String> {
    let mut by_job: BTreeMap<&str, Vec<&Execution>> = BTreeMap::new();
    for execution in executions {
        by_job.entry(&execution.id).or_default().push(execution);
    }
    let mut found = Vec::new();
    for (id, runs) in by_job {
        for (i, a) in runs.iter().enumerate() {
            for b in &runs[i + 1..] {
                let a_end = a.end.unwrap_or(i64::MAX);
                let b_end = b.end.unwrap_or(i64::MAX);
                let overlap = a_end.min(b_end) - a.start.max(b.start);
                if overlap > 0 {
                    found.push(format!(
                        "{id}: attempt {} and attempt {} ran together for {:.3} s",
                        a.attempt,
                        b.attempt,
                        overlap as f64 / 1e6
                    ));
                }
            }
        }
    }
    found
}

/// Sleeps until `at` (the test's clock; the database runs on the same machine).
async fn sleep_until(at: chrono::DateTime<Utc>) {
    tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await;
}

async fn worker(db: &TestDb, executions: &Executions) -> Scheduler {
    let scheduler = db
        .scheduler(|b| {
            b.state(executions.clone())
                .lease_duration(LEASE)
                .heartbeat_interval(Duration::from_millis(500))
                .sweep_interval(Duration::from_millis(250))
                // One claim at a time, taking every job of a round; no polling claims, so
                // a claim is sent when a job becomes due (or on a notification).
                .max_concurrent_jobs(JOBS_PER_ROUND)
                .batch_claim_limit(BATCH)
                .poll_interval(Duration::from_secs(30))
        })
        .await;
    scheduler.start().await.expect("worker starts");
    scheduler
}

/// Waits until at least `count` sessions wait for a lock on the jobs table.
async fn lock_waiters(observer: &mut sqlx::PgConnection, db: &TestDb, count: i64) {
    let jobs = format!("\"{}\".jobs", db.schema());
    let start = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted",
        )
        .bind(&jobs)
        .fetch_one(&mut *observer)
        .await
        .expect("pg_locks");
        if waiting >= count {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{count} sessions never waited on {jobs} ({waiting} did)"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_claim_that_waited_past_the_lease_never_runs_a_job_twice_at_once() {
    let t = setup().await;
    let db = &t.db;
    let executions = Executions::default();
    let first = worker(db, &executions).await;
    let second = worker(db, &executions).await;
    let mut observer = db.connect().await;

    for round in 0..ROUNDS {
        // Jobs due a little later. Each worker's claim loop sleeps until they are due (its
        // poll interval is long, and nothing else wakes it), so the lock, taken before that,
        // catches both workers' claims *after* the jobs became due: the claims wait on it.
        let due = Utc::now() + chrono::Duration::milliseconds(800);
        let mut ids = Vec::new();
        for _ in 0..JOBS_PER_ROUND {
            let id = claim_wait_probe::schedule(due, claim_wait_probe::Args { millis: JOB_MILLIS })
                .on(&first)
                .await
                .expect("scheduled");
            ids.push(id);
        }
        sleep_until(due - chrono::Duration::milliseconds(400)).await;
        let mut locker = db.connect().await;
        let mut lock = locker.begin().await.expect("begin");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "LOCK TABLE \"{}\".jobs IN ACCESS EXCLUSIVE MODE",
            db.schema()
        )))
        .execute(&mut *lock)
        .await
        .expect("lock taken");
        sleep_until(due + chrono::Duration::milliseconds(50)).await;
        lock_waiters(&mut observer, db, 2).await;
        tokio::time::sleep(HOLD).await;
        lock.rollback().await.expect("lock released");
        drop(locker);

        for id in &ids {
            eventually(&format!("round {round}: job {id} to finish"), || async {
                let job = first.job(id.as_str()).await.expect("inspect")?;
                matches!(job.status, JobStatus::Completed | JobStatus::Failed).then_some(())
            })
            .await;
        }
        // Every execution (abandoned ones too) has ended before the next round.
        eventually(
            &format!("round {round}: every execution to end"),
            || async {
                executions
                    .all()
                    .iter()
                    .all(|execution| execution.end.is_some())
                    .then_some(())
            },
        )
        .await;
        let found = overlaps(&executions.all());
        assert!(
            found.is_empty(),
            "round {round}: executions of one job overlapped after a claim waited {HOLD:?} \
             behind a table lock with a {LEASE:?} lease:\n{}",
            found.join("\n")
        );
        for id in &ids {
            let job = first
                .job(id.as_str())
                .await
                .expect("inspect")
                .expect("exists");
            assert_eq!(
                job.status,
                JobStatus::Completed,
                "round {round}: {id} completed ({:?})",
                job.last_error
            );
        }
    }
    let all = executions.all();
    println!(
        "claim wait: {ROUNDS} rounds of {JOBS_PER_ROUND} jobs, lock held {HOLD:?} past a \
         {LEASE:?} lease: {} executions, 0 overlaps",
        all.len()
    );
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
}
