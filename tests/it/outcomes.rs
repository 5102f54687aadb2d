//! One bad outcome must not stop all outcomes (issue 10).
//!
//! Outcomes are written in batches; a row PostgreSQL refuses must not block the batch it is
//! in, nor every later one. Two rows PostgreSQL refuses as they stand: an error text with a
//! character the database encoding cannot hold (an emoji in a LATIN1 database), and a retry
//! delay past the range of an `interval`. Each is written in some form (never left
//! `running`), and the healthy outcomes around it are written too.

use std::time::{Duration, Instant};

use chrono::Utc;
use pgsched::{
    ConflictResolution, JobContext, JobInfo, JobStatus, RetryPolicy, Scheduled, Scheduler, State,
    job,
};
use pgsched_tests::{DEADLINE, Recorder, TestDb, database_url, setup};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

/// Fails with a message a LATIN1 database cannot store.
#[job]
async fn outcome_emoji_error(rec: State<Recorder>) -> Result<(), String> {
    rec.record("emoji_ran", 1);
    Err("boom 🔥".into())
}

/// Completes.
#[job]
async fn outcome_healthy(n: i64, rec: State<Recorder>) {
    rec.record("healthy", n);
}

/// Fails once, to be retried after the scheduler's retry delay.
#[job(max_retries = 1)]
async fn outcome_retried(ctx: JobContext) -> Result<(), String> {
    Err(format!("attempt {} failed", ctx.attempt()))
}

/// Waits until every id is completed, failed or expired, or pending with an attempt behind it
/// (a retry written); returns them in order. Panics at the deadline with what is still open.
async fn written(scheduler: &Scheduler, ids: &[String]) -> Vec<JobInfo> {
    let start = Instant::now();
    loop {
        let mut jobs = Vec::new();
        for id in ids {
            jobs.push(
                scheduler
                    .job(id)
                    .await
                    .expect("inspect")
                    .expect("the job exists"),
            );
        }
        let open: Vec<String> = jobs
            .iter()
            .filter(|job| match job.status {
                JobStatus::Completed | JobStatus::Failed | JobStatus::Expired => false,
                JobStatus::Pending => job.attempts == 0,
                _ => true,
            })
            .map(|job| {
                format!(
                    "{} {} ({}, attempt {})",
                    job.name, job.id, job.status, job.attempts
                )
            })
            .collect();
        if open.is_empty() {
            return jobs;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "after {DEADLINE:?}, {} of {} outcomes are still not written: {open:?}",
            open.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A database of its own on the shared server, with the LATIN1 encoding; dropped (forcibly)
/// when this guard is, even if the test fails.
struct Latin1Database {
    name: String,
}

impl Latin1Database {
    async fn create() -> Latin1Database {
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        let name = format!("pgsched_latin1_{}_{}", std::process::id(), &nonce[20..]);
        let mut admin = PgConnection::connect(database_url())
            .await
            .expect("connects");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )))
        .execute(&mut admin)
        .await
        .expect("LATIN1 database created");
        Latin1Database { name }
    }

    fn options(&self) -> PgConnectOptions {
        database_url()
            .parse::<PgConnectOptions>()
            .expect("database URL")
            .database(&self.name)
    }
}

impl Drop for Latin1Database {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // The test's runtime may be unwinding: drop it from a runtime of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(async {
                    if let Ok(mut admin) = PgConnection::connect(database_url()).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                            .execute(&mut admin)
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

fn inserted(results: Vec<Scheduled>) -> Vec<String> {
    results
        .into_iter()
        .map(|result| match result {
            Scheduled::Inserted(id) => id.as_str().to_owned(),
            other => panic!("not inserted: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn an_error_text_the_database_encoding_cannot_hold_does_not_block_other_outcomes() {
    let database = Latin1Database::create().await;
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(database.options())
        .await
        .expect("connects to the LATIN1 database");
    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = db.scheduler(|b| b.pool(pool).state(rec.clone())).await;
    // Everything is written before the worker starts, so its claims (and outcome batches)
    // mix the bad job with healthy ones.
    let now = Utc::now();
    let mut specs = vec![outcome_emoji_error::spec(now, outcome_emoji_error::Args {})];
    for n in 0..12 {
        specs.push(outcome_healthy::spec(now, outcome_healthy::Args { n }));
    }
    let ids = inserted(
        scheduler
            .schedule_bulk(specs, ConflictResolution::Raise, 1000)
            .await
            .expect("scheduled"),
    );
    scheduler.start().await.expect("worker starts");
    rec.wait_for("emoji_ran", 1).await;

    let jobs = written(&scheduler, &ids).await;
    let emoji = &jobs[0];
    assert_eq!(emoji.status, JobStatus::Failed, "{emoji:?}");
    let error = emoji.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("boom") || error.to_lowercase().contains("encoding"),
        "last_error keeps the original error or says why it could not be stored: {error:?}"
    );
    for job in &jobs[1..] {
        assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    }
    // The worker still writes outcomes afterwards.
    let after = outcome_healthy::enqueue(outcome_healthy::Args { n: 100 })
        .on(&scheduler)
        .await
        .expect("scheduled");
    let after = written(&scheduler, &[after.as_str().to_owned()]).await;
    assert_eq!(after[0].status, JobStatus::Completed);
    println!("latin1: the emoji job failed with last_error {error:?}; 13 healthy outcomes written");
    scheduler.shutdown().await.expect("shutdown");
    scheduler.pool().close().await;
    drop(database);
}

#[tokio::test]
async fn a_retry_delay_past_the_interval_range_does_not_block_other_outcomes() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let huge = Duration::from_secs(u64::MAX / 4);
    let scheduler = db
        .scheduler(|b| {
            b.state(rec.clone()).retry_policy(
                RetryPolicy::new()
                    .initial(huge)
                    .factor(2.0)
                    .max(huge)
                    .jitter(0.0),
            )
        })
        .await;
    let now = Utc::now();
    let mut specs = vec![outcome_retried::spec(now, outcome_retried::Args {})];
    for n in 0..12 {
        specs.push(outcome_healthy::spec(now, outcome_healthy::Args { n }));
    }
    let ids = inserted(
        scheduler
            .schedule_bulk(specs, ConflictResolution::Raise, 1000)
            .await
            .expect("scheduled"),
    );
    scheduler.start().await.expect("worker starts");

    let jobs = written(&scheduler, &ids).await;
    let retried = &jobs[0];
    match retried.status {
        JobStatus::Pending => assert!(
            retried.run_at > Utc::now() + chrono::Duration::days(1),
            "a retry due far in the future: {retried:?}"
        ),
        JobStatus::Failed => {}
        other => panic!("the retry was written as {other}: {retried:?}"),
    }
    assert_eq!(retried.attempts, 1);
    for job in &jobs[1..] {
        assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    }
    println!(
        "retry overflow: written as {} due {} ({:?})",
        retried.status, retried.run_at, retried.last_error
    );
    scheduler.shutdown().await.expect("shutdown");
}
