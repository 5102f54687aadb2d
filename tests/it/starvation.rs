//! Heartbeats that cannot be starved (issue 10).
//!
//! The worker runs on a runtime of two threads. A well-behaved job holds a lease and runs
//! longer than it; then two jobs block both runtime threads with `std::thread::sleep` for
//! longer than the lease. Lease renewal must not depend on those threads: the well-behaved
//! job's lease is renewed on time, so a second worker — on a runtime of its own, sweeping
//! every 250 ms — never recovers it, and it completes on its first and only attempt.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use pgsched::{JobContext, JobId, JobStatus, Scheduler, State, job};
use pgsched_tests::{Recorder, TestDb, eventually, setup_with};

const LEASE: Duration = Duration::from_secs(2);
/// The well-behaved job runs twice the lease.
const PATIENT_MILLIS: u64 = 4_000;
/// Each blocker holds its thread well past the lease (and past lease + sweep + poll).
const BLOCK_MILLIS: u64 = 3_500;

/// An async job that sleeps politely; records each attempt's start and end.
#[job]
async fn starvation_patient(millis: u64, ctx: JobContext, rec: State<Recorder>) {
    rec.record("patient_start", i64::from(ctx.attempt()));
    tokio::time::sleep(Duration::from_millis(millis)).await;
    rec.record("patient_end", i64::from(ctx.attempt()));
}

/// Blocks its runtime thread on its first attempt (a synchronous call in async code); a
/// re-run returns at once. Records the blocked thread.
#[job]
async fn starvation_blocker(millis: u64, ctx: JobContext, rec: State<Recorder>) {
    if ctx.attempt() == 1 {
        let mut hasher = DefaultHasher::new();
        std::thread::current().id().hash(&mut hasher);
        rec.record(
            "blocker_thread",
            i64::from_ne_bytes(hasher.finish().to_ne_bytes()),
        );
        std::thread::sleep(Duration::from_millis(millis));
    }
    rec.record("blocker_end", i64::from(ctx.attempt()));
}

/// A second worker on a runtime (and thread) of its own, so the first worker's blocked
/// threads cannot hold it back. It starts once the blockers run on the first worker (so it
/// cannot take them first) and stops when `stop` is sent.
fn rescuer(
    db: TestDb,
    rec: Recorder,
    blockers: Vec<JobId>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rescuer runtime");
        runtime.block_on(async move {
            let scheduler = db
                .scheduler(|b| {
                    b.state(rec)
                        .lease_duration(LEASE)
                        .heartbeat_interval(Duration::from_millis(500))
                        .sweep_interval(Duration::from_millis(250))
                })
                .await;
            for id in &blockers {
                eventually(&format!("blocker {id} running"), || async {
                    let job = scheduler.job(id.as_str()).await.expect("inspect")?;
                    (job.status == JobStatus::Running).then_some(())
                })
                .await;
            }
            scheduler.start().await.expect("rescuer starts");
            let _ = stop.await;
            scheduler.shutdown().await.expect("rescuer shutdown");
        });
    })
}

async fn settled(scheduler: &Scheduler, id: &JobId) -> pgsched::JobInfo {
    eventually(&format!("job {id} to finish"), || async {
        let job = scheduler.job(id.as_str()).await.expect("inspect")?;
        matches!(job.status, JobStatus::Completed | JobStatus::Failed).then_some(job)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_runtime_threads_do_not_starve_lease_renewal() {
    let t = setup_with(|b| {
        b.lease_duration(LEASE)
            .heartbeat_interval(Duration::from_millis(500))
            .sweep_interval(Duration::from_millis(250))
            .max_concurrent_jobs(4)
    })
    .await;
    let (db, rec, scheduler) = (&t.db, &t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");

    let patient = starvation_patient::enqueue(starvation_patient::Args {
        millis: PATIENT_MILLIS,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    rec.wait_for("patient_start", 1).await;
    let mut blockers = Vec::new();
    for _ in 0..2 {
        blockers.push(
            starvation_blocker::enqueue(starvation_blocker::Args {
                millis: BLOCK_MILLIS,
            })
            .on(scheduler)
            .await
            .expect("scheduled"),
        );
    }
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let second = rescuer(db.clone(), rec.clone(), blockers.clone(), stopped);

    let threads = rec.wait_for("blocker_thread", 2).await;
    let patient_job = settled(scheduler, &patient).await;
    for id in &blockers {
        settled(scheduler, id).await;
    }
    let _ = stop.send(());
    tokio::task::spawn_blocking(move || second.join())
        .await
        .expect("join task")
        .expect("rescuer thread");

    assert_ne!(
        threads[0], threads[1],
        "premise: the two blockers held both runtime threads at once"
    );
    assert_eq!(
        rec.values("patient_start"),
        [1],
        "the well-behaved job ran once: its lease was renewed while both runtime threads were \
         blocked for {BLOCK_MILLIS} ms (lease {LEASE:?}); last_error {:?}",
        patient_job.last_error
    );
    assert_eq!(patient_job.status, JobStatus::Completed);
    assert_eq!(
        patient_job.attempts, 1,
        "never recovered: {:?}",
        patient_job.last_error
    );
    for id in &blockers {
        let job = scheduler
            .job(id.as_str())
            .await
            .expect("inspect")
            .expect("exists");
        assert_eq!(
            (job.status, job.attempts),
            (JobStatus::Completed, 1),
            "the blockers' own leases were renewed too: {:?}",
            job.last_error
        );
    }
    scheduler.shutdown().await.expect("shutdown");
}
