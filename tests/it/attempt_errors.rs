//! Every attempt's error, at the store level (`attempt_errors`, migration 0016): each attempt
//! that ends with an error (a retry, a failure, an expired lease, a counted release) appends
//! its error in order; a completion appends nothing; the history is bounded by
//! `ATTEMPT_ERRORS_KEPT`; a Replace starts it afresh.

use std::time::Duration;

use pgsched::{ConflictResolution, JobSpec, Scheduler};
use pgsched_core::JobId;
use pgsched_core::store::{ClaimFloor, ClaimedJob, Finish, JobStore, Release};
use pgsched_pg::ATTEMPT_ERRORS_KEPT;
use pgsched_tests::{TestDb, setup};

const LEASE: Duration = Duration::from_secs(30);

async fn schedule(scheduler: &Scheduler, id: &str, max_retries: u32, replace: bool) {
    scheduler
        .schedule(
            JobSpec::by_name("mark", vec![])
                .job_id(id)
                .max_retries(max_retries),
            if replace {
                ConflictResolution::Replace
            } else {
                ConflictResolution::Raise
            },
        )
        .await
        .expect("scheduled");
}

/// Claims the one due job.
async fn claim_one(scheduler: &Scheduler) -> ClaimedJob {
    let mut claimed = pgsched::__private::store(scheduler)
        .claim(
            "worker-a",
            &pgsched_core::QueueName::DEFAULT,
            1,
            LEASE,
            &ClaimFloor::FRONT,
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "one job due");
    claimed.remove(0)
}

async fn finish(scheduler: &Scheduler, job: &ClaimedJob, finish: Finish) {
    let written = pgsched::__private::store(scheduler)
        .finish(&[(job.lease.clone(), finish)])
        .await
        .expect("finish");
    assert_eq!(written, [true]);
}

fn retry(error: &str) -> Finish {
    Finish::Retry {
        delay: Duration::ZERO,
        error: error.to_owned(),
    }
}

/// The job's attempt errors as (attempt, error).
async fn errors(scheduler: &Scheduler, id: &str) -> Vec<(u32, String)> {
    pgsched::__private::store(scheduler)
        .dashboard_attempt_errors(&JobId::new(id).expect("id"))
        .await
        .expect("attempt errors")
        .into_iter()
        .map(|entry| (entry.attempt, entry.error))
        .collect()
}

/// Whether the job's `attempt_errors` column is NULL (nothing stored).
async fn nothing_stored(db: &TestDb, id: &str) -> bool {
    let mut connection = db.connect().await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT attempt_errors IS NULL FROM \"{}\".jobs WHERE id = $1",
        db.schema()
    )))
    .bind(id)
    .fetch_one(&mut connection)
    .await
    .expect("row")
}

#[tokio::test]
async fn a_job_failing_three_attempts_shows_three_errors_in_order() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    schedule(scheduler, "thrice", 2, false).await;
    let before = pgsched::chrono::Utc::now() - pgsched::chrono::Duration::seconds(5);
    for attempt in 1..=2 {
        let job = claim_one(scheduler).await;
        assert_eq!(job.attempt, attempt);
        finish(
            scheduler,
            &job,
            retry(&format!("error: attempt {attempt} <b>")),
        )
        .await;
    }
    let job = claim_one(scheduler).await;
    finish(
        scheduler,
        &job,
        Finish::Failed {
            error: "error: attempt 3, for good".into(),
        },
    )
    .await;

    let entries = pgsched::__private::store(scheduler)
        .dashboard_attempt_errors(&JobId::new("thrice").expect("id"))
        .await
        .expect("attempt errors");
    let listed: Vec<(u32, &str)> = entries
        .iter()
        .map(|entry| (entry.attempt, entry.error.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, "error: attempt 1 <b>"),
            (2, "error: attempt 2 <b>"),
            (3, "error: attempt 3, for good"),
        ]
    );
    assert!(
        entries
            .windows(2)
            .all(|pair| pair[0].at <= pair[1].at && pair[0].at >= before),
        "times by the database clock, in order: {entries:?}"
    );
    let job = scheduler.job("thrice").await.expect("job").expect("exists");
    assert_eq!(
        job.last_error.as_deref(),
        Some("error: attempt 3, for good"),
        "last_error is unchanged"
    );
    assert!(errors(scheduler, "no-such-job").await.is_empty());
}

#[tokio::test]
async fn a_completion_appends_nothing_and_lost_or_released_attempts_do() {
    let t = setup().await;
    let scheduler = &t.scheduler;

    // Completes at once: nothing stored at all.
    schedule(scheduler, "fine", 0, false).await;
    let job = claim_one(scheduler).await;
    finish(scheduler, &job, Finish::Completed).await;
    assert!(nothing_stored(&t.db, "fine").await);

    // Fails once, loses its lease once, is released at shutdown once, then completes: three
    // errors, and the completion keeps them.
    schedule(scheduler, "bumpy", 5, false).await;
    let job = claim_one(scheduler).await;
    finish(scheduler, &job, retry("error: first")).await;
    claim_one(scheduler).await;
    let mut connection = t.db.connect().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE \"{}\".jobs SET lease_expires_at = now() - interval '1 second' WHERE id = 'bumpy'",
        t.db.schema()
    )))
    .execute(&mut connection)
    .await
    .expect("lease expired");
    let recovered = pgsched::__private::store(scheduler)
        .recover_orphans(10)
        .await
        .expect("recover");
    assert_eq!(recovered.requeued.len(), 1);
    let job = claim_one(scheduler).await;
    let released = pgsched::__private::store(scheduler)
        .release(&[Release::interrupted(job.lease.clone(), "worker-a")])
        .await
        .expect("release");
    assert_eq!(released, 1);
    let job = claim_one(scheduler).await;
    finish(scheduler, &job, Finish::Completed).await;

    let entries = errors(scheduler, "bumpy").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0], (1, "error: first".to_owned()));
    assert_eq!(entries[1].0, 2);
    assert!(
        entries[1].1.starts_with("lease_expired: worker worker-a"),
        "{entries:?}"
    );
    assert_eq!(entries[2].0, 3);
    assert!(entries[2].1.starts_with("shutdown: "), "{entries:?}");
}

#[tokio::test]
async fn the_history_keeps_only_the_most_recent_attempts_and_a_replace_clears_it() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let attempts = ATTEMPT_ERRORS_KEPT + 5;
    schedule(scheduler, "stubborn", attempts + 10, false).await;
    for attempt in 1..=attempts {
        let job = claim_one(scheduler).await;
        finish(scheduler, &job, retry(&format!("error: attempt {attempt}"))).await;
    }
    let entries = errors(scheduler, "stubborn").await;
    let expected: Vec<(u32, String)> = (6..=attempts)
        .map(|attempt| (attempt, format!("error: attempt {attempt}")))
        .collect();
    assert_eq!(
        entries, expected,
        "the last {ATTEMPT_ERRORS_KEPT}, in order"
    );

    // Replaced by a new job of the same id: a fresh history.
    schedule(scheduler, "stubborn", 0, true).await;
    assert!(nothing_stored(&t.db, "stubborn").await);
}
