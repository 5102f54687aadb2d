//! T1, claim exclusivity: 4 worker processes drain 20,000 no-op jobs; none is lost, none runs
//! twice.

use std::time::Duration;

use crate::harness::{Lab, gate, work_job};

const JOBS: i64 = 20_000;
const WORKERS: usize = 4;

#[tokio::test]
async fn four_workers_drain_20k_jobs_each_exactly_once() {
    let _permit = gate(2);
    let lab = Lab::new().await;
    let specs = (0..JOBS)
        .map(|i| work_job(format!("x{i}"), &format!("k{i}"), 0))
        .collect();
    lab.enqueue(specs).await;

    // A 30 s lease (heartbeat still every second): a database stall on a shared 2-core
    // machine cannot expire a live worker's lease, so a second run of a job could only come
    // from a double claim.
    let spec = lab
        .worker()
        .set("concurrency", 8)
        .set("batch", 16)
        .set("lease_ms", 30_000);
    let mut workers: Vec<_> = (0..WORKERS).map(|i| spec.spawn(&format!("w{i}"))).collect();
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    let drain = lab.wait_drained(Duration::from_secs(150), |_| {}).await;

    let statuses = lab.statuses().await;
    let completed = statuses.get("completed").copied().unwrap_or(0);
    let effects = lab.t("effects");
    let jobs = lab.t("jobs");
    let effect_rows = lab.i64(&format!("SELECT count(*) FROM {effects}")).await;
    let distinct = lab
        .i64(&format!("SELECT count(DISTINCT job_id) FROM {effects}"))
        .await;
    let run_twice = lab
        .i64(&format!(
            "SELECT count(*) FROM (SELECT job_id FROM {effects} GROUP BY job_id HAVING count(*) > 1) d"
        ))
        .await;
    let max_attempts = lab
        .i64(&format!("SELECT max(attempts)::int8 FROM {jobs}"))
        .await;
    let not_once = lab
        .i64(&format!("SELECT count(*) FROM {jobs} WHERE attempts <> 1"))
        .await;
    let orphan_effects = lab
        .i64(&format!(
            "SELECT count(*) FROM {effects} e WHERE NOT EXISTS (SELECT 1 FROM {jobs} j WHERE j.id = e.job_id)"
        ))
        .await;
    let per_worker = lab
        .rows(&format!(
            "SELECT pid, count(*) FROM {effects} GROUP BY pid ORDER BY pid"
        ))
        .await
        .iter()
        .map(|row| {
            use sqlx::Row;
            format!("{}:{}", row.get::<i32, _>(0), row.get::<i64, _>(1))
        })
        .collect::<Vec<_>>();
    let throughput = JOBS as f64 / drain.as_secs_f64();
    // Every job ran once and no lease can have expired: any "lease lost" is spurious (see
    // `spurious_lease_lost`).
    let lease_lost: usize = workers
        .iter()
        .map(|worker| worker.stderr().matches("lease lost").count())
        .sum();
    println!(
        "exclusivity: {JOBS} jobs, {WORKERS} workers x 8: drained in {drain:.2?} ({throughput:.0} jobs/s); \
         statuses {statuses:?}; lost {}; effects {effect_rows} ({distinct} distinct), run twice {run_twice}, \
         max attempts {max_attempts}; per worker pid:jobs {per_worker:?}; spurious `lease lost` warnings {lease_lost}",
        JOBS - completed
    );

    for worker in &mut workers {
        assert!(
            worker.exited().is_none(),
            "worker {} exited during the drain:\n{}",
            worker.label(),
            worker.stderr_tail(20)
        );
    }
    assert_eq!(completed, JOBS, "lost jobs: {statuses:?}");
    assert_eq!(run_twice, 0, "jobs run more than once");
    assert_eq!((effect_rows, distinct), (JOBS, JOBS), "one effect per job");
    assert_eq!(orphan_effects, 0);
    assert_eq!(
        (max_attempts, not_once),
        (1, 0),
        "every job claimed exactly once"
    );

    for worker in &mut workers {
        let status = worker.stop_gracefully(Duration::from_secs(10)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "worker {} did not stop cleanly: {status:?}\n{}",
            worker.label(),
            worker.stderr_tail(20)
        );
    }
    lab.cleanup().await;
}

/// "lease lost" is how a worker says another worker (or a cancel) took a job from it — the
/// signal of a zombie. With a 30 s lease that nothing can expire, one worker and jobs that all
/// run exactly once, it must never be logged — including when a renewal runs right after a
/// completion committed but before the worker forgot that lease.
#[tokio::test]
async fn no_lease_lost_is_reported_for_jobs_that_completed_normally() {
    let _permit = gate(2);
    let lab = Lab::new().await;
    lab.enqueue(
        (0..10_000)
            .map(|i| work_job(format!("s{i}"), "s", 0))
            .collect(),
    )
    .await;
    let mut worker = lab
        .worker()
        .set("concurrency", 32)
        .set("lease_ms", 30_000)
        .set("heartbeat_ms", 100)
        .spawn("w");
    worker.wait_ready().await;
    lab.wait_drained(Duration::from_secs(90), |_| {}).await;
    let reruns = lab
        .i64(&format!(
            "SELECT count(*) FROM {} WHERE attempts <> 1",
            lab.t("jobs")
        ))
        .await;
    assert_eq!(reruns, 0, "no job was taken from the worker");
    let log = worker.stderr();
    let lost: Vec<&str> = log.lines().filter(|l| l.contains("lease lost")).collect();
    assert!(
        lost.is_empty(),
        "{} spurious `lease lost` warnings, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    drop(worker);
    lab.cleanup().await;
}
