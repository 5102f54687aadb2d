//! Leases and fencing at the store level: a stale token changes nothing; orphans are
//! recovered; releases give attempts back only to jobs that never started.

use std::time::Duration;

use pgsched::{ConflictResolution, JobSpec, JobStatus, Scheduler};
use pgsched_core::store::{Finish, JobStore, Release};
use pgsched_tests::{TestDb, setup, setup_with};

const LEASE: Duration = Duration::from_secs(30);

async fn one_job(scheduler: &Scheduler, id: &str) {
    scheduler
        .schedule(
            JobSpec::by_name("mark", vec![]).job_id(id),
            ConflictResolution::Raise,
        )
        .await
        .expect("scheduled");
}

async fn expire_lease(db: &TestDb, id: &str) {
    let mut connection = db.connect().await;
    let statement = format!(
        "UPDATE \"{}\".jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        db.schema()
    );
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(id)
        .execute(&mut connection)
        .await
        .expect("update");
}

#[tokio::test]
async fn a_write_with_a_stale_lease_token_changes_nothing() {
    let t = setup().await;
    let (db, scheduler) = (&t.db, &t.scheduler);
    let store = pgsched::__private::store(scheduler);
    one_job(scheduler, "fenced").await;

    let first = store
        .claim(
            "worker-a",
            &pgsched_core::QueueName::DEFAULT,
            10,
            LEASE,
            &pgsched_core::store::ClaimFloor::FRONT,
        )
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    let stale = first[0].lease.clone();
    assert!(
        store
            .claim(
                "worker-b",
                &pgsched_core::QueueName::DEFAULT,
                10,
                LEASE,
                &pgsched_core::store::ClaimFloor::FRONT
            )
            .await
            .expect("claim")
            .is_empty(),
        "claimed once"
    );

    expire_lease(db, "fenced").await;
    let recovered = store.recover_orphans(100).await.expect("recover");
    assert_eq!(recovered.requeued.len(), 1);
    let second = store
        .claim(
            "worker-b",
            &pgsched_core::QueueName::DEFAULT,
            10,
            LEASE,
            &pgsched_core::store::ClaimFloor::FRONT,
        )
        .await
        .expect("claim");
    assert_eq!(second.len(), 1);
    let current = second[0].lease.clone();
    assert_ne!(stale.token, current.token);
    assert_eq!(second[0].attempt, 2, "the lost attempt counts");

    let stale_write = store
        .finish(&[(stale.clone(), Finish::Completed)])
        .await
        .expect("finish");
    assert_eq!(stale_write, [false], "reported as lease lost");
    assert_eq!(
        store
            .renew_leases(std::slice::from_ref(&stale), LEASE)
            .await
            .expect("renew"),
        Vec::<i64>::new()
    );
    assert_eq!(
        store
            .release(&[Release::unstarted(stale)])
            .await
            .expect("release"),
        0
    );
    let job = scheduler
        .job("fenced")
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.worker_id.as_deref(), Some("worker-b"));

    let written = store
        .finish(&[(
            current,
            Finish::Failed {
                error: "error: x".into(),
            },
        )])
        .await
        .expect("finish");
    assert_eq!(written, [true]);
    let job = scheduler
        .job("fenced")
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.status, JobStatus::Failed);
}

#[tokio::test]
async fn a_job_that_keeps_losing_its_worker_fails_instead_of_looping() {
    let t = setup_with(|b| b.lost_lease_retries(1)).await;
    let (db, scheduler) = (&t.db, &t.scheduler);
    let store = pgsched::__private::store(scheduler);
    one_job(scheduler, "crashy").await;
    for attempt in 1..=2 {
        let claimed = store
            .claim(
                "w",
                &pgsched_core::QueueName::DEFAULT,
                1,
                LEASE,
                &pgsched_core::store::ClaimFloor::FRONT,
            )
            .await
            .expect("claim");
        assert_eq!(claimed[0].attempt, attempt);
        expire_lease(db, "crashy").await;
        store.recover_orphans(100).await.expect("recover");
    }
    let job = scheduler
        .job("crashy")
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.last_error.unwrap_or_default();
    assert!(
        error.starts_with("lease_expired: worker w stopped renewing its lease during attempt 2"),
        "{error}"
    );
}

#[tokio::test]
async fn release_returns_jobs_and_refunds_only_unstarted_attempts() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let store = pgsched::__private::store(scheduler);
    one_job(scheduler, "unstarted").await;
    one_job(scheduler, "started").await;
    let claimed = store
        .claim(
            "w",
            &pgsched_core::QueueName::DEFAULT,
            10,
            LEASE,
            &pgsched_core::store::ClaimFloor::FRONT,
        )
        .await
        .expect("claim");
    let releases: Vec<Release> = claimed
        .iter()
        .map(|job| {
            if job.lease.id == "unstarted" {
                Release::unstarted(job.lease.clone())
            } else {
                Release::interrupted(job.lease.clone(), "w")
            }
        })
        .collect();
    assert_eq!(store.release(&releases).await.expect("release"), 2);
    for (id, attempts, last_error) in [
        ("unstarted", 0, None),
        (
            "started",
            1,
            Some("shutdown: released by worker w before completion"),
        ),
    ] {
        let job = scheduler.job(id).await.expect("inspect").expect("exists");
        assert_eq!(job.status, JobStatus::Pending);
        assert_eq!(job.attempts, attempts, "{id}");
        assert_eq!(job.last_error.as_deref(), last_error, "{id}");
    }
    assert_eq!(
        store
            .claim(
                "w2",
                &pgsched_core::QueueName::DEFAULT,
                10,
                LEASE,
                &pgsched_core::store::ClaimFloor::FRONT
            )
            .await
            .expect("claim")
            .len(),
        2,
        "claimable again at once"
    );
}

#[tokio::test]
async fn the_claim_takes_each_job_once_across_concurrent_claimers() {
    let t = setup_with(|b| b.pool_size(8)).await;
    let scheduler = &t.scheduler;
    let specs = (0..500)
        .map(|i| JobSpec::by_name("mark", vec![]).job_id(format!("j{i}")))
        .collect();
    scheduler
        .schedule_bulk(specs, ConflictResolution::Raise, 1000)
        .await
        .expect("bulk");
    let mut claimers = Vec::new();
    for worker in 0..6 {
        let store = pgsched::__private::store(scheduler).clone();
        claimers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let claimed = store
                    .claim(
                        &format!("w{worker}"),
                        &pgsched_core::QueueName::DEFAULT,
                        7,
                        LEASE,
                        &pgsched_core::store::ClaimFloor::FRONT,
                    )
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    return ids;
                }
                ids.extend(claimed.into_iter().map(|job| job.lease.id.to_string()));
            }
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.expect("claimer"));
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (500, 500),
        "every job claimed exactly once"
    );
}
