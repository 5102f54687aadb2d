//! T6, listener loss: the worker's LISTEN connection is terminated; jobs enqueued right after
//! still start within the poll interval (plus slack), and the worker LISTENs again on a new
//! connection within seconds.

use std::time::{Duration, Instant};

use sqlx::Row;

use crate::harness::{Lab, POLL, gate, quantile, work_job};

/// Slack over the poll interval for a job's pickup on a loaded 2-core machine.
const PICKUP_SLACK: Duration = Duration::from_millis(700);
const JOBS_AFTER_KILL: usize = 20;

async fn listen_backends(lab: &Lab, channel_query: &str) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1",
    )
    .bind(channel_query)
    .fetch_all(lab.scheduler.pool())
    .await
    .expect("pg_stat_activity")
}

/// Seconds from each job's insert to its start (database clock), for ids LIKE `pattern`.
async fn pickups(lab: &Lab, pattern: &str) -> Vec<f64> {
    lab.rows(&format!(
        "SELECT extract(epoch FROM e.t_start - j.created_at)::float8
           FROM {} e JOIN {} j ON j.id = e.job_id
          WHERE j.id LIKE '{pattern}'",
        lab.t("effects"),
        lab.t("jobs")
    ))
    .await
    .iter()
    .map(|row| row.get(0))
    .collect()
}

#[tokio::test]
async fn a_terminated_listener_is_replaced_and_polling_covers_the_gap() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let mut worker = lab
        .worker()
        .set("concurrency", 4)
        .set("poll_ms", 500)
        .set("lease_ms", 30_000)
        .spawn("w");
    worker.wait_ready().await;
    let channel_query = format!("LISTEN \"pgsched_jobs_{}\"", lab.schema());

    // A job runs, woken by its notification.
    lab.enqueue(vec![work_job("warm", "w", 0)]).await;
    lab.wait_drained(Duration::from_secs(10), |_| {}).await;
    let start = Instant::now();
    let old = loop {
        let pids = listen_backends(&lab, &channel_query).await;
        if pids.len() == 1 {
            break pids[0];
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "expected one LISTEN backend for {channel_query}, saw {pids:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Kill exactly this worker's LISTEN connection, then keep enqueueing one job at a time.
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(old)
        .fetch_one(lab.scheduler.pool())
        .await
        .expect("terminate");
    assert!(terminated);
    let killed_at = Instant::now();
    let mut relisten: Option<(Duration, i32)> = None;
    for i in 0..JOBS_AFTER_KILL {
        lab.enqueue(vec![work_job(format!("gap{i:02}"), "g", 0)])
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if relisten.is_none()
            && let Some(&pid) = listen_backends(&lab, &channel_query)
                .await
                .iter()
                .find(|&&pid| pid != old)
        {
            relisten = Some((killed_at.elapsed(), pid));
        }
    }
    while relisten.is_none() && killed_at.elapsed() < Duration::from_secs(10) {
        if let Some(&pid) = listen_backends(&lab, &channel_query)
            .await
            .iter()
            .find(|&&pid| pid != old)
        {
            relisten = Some((killed_at.elapsed(), pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lab.wait_drained(Duration::from_secs(10), |_| {}).await;

    // After the new LISTEN: pickups are fast again.
    for i in 0..10 {
        lab.enqueue(vec![work_job(format!("after{i:02}"), "a", 0)])
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lab.wait_drained(Duration::from_secs(10), |_| {}).await;

    let mut gap = pickups(&lab, "gap%").await;
    let mut after = pickups(&lab, "after%").await;
    let gap_count = gap.len();
    let (gap_p50, gap_max) = (quantile(&mut gap, 0.5), quantile(&mut gap, 1.0));
    let (after_p50, after_max) = (quantile(&mut after, 0.5), quantile(&mut after, 1.0));
    let log = worker.stderr();
    let noticed: Vec<&str> = log.lines().filter(|line| line.contains("LISTEN")).collect();
    println!(
        "listener: terminated LISTEN backend {old}; new LISTEN backend {relisten:?} after the kill; \
         pickup of {gap_count} jobs enqueued during/after the kill p50 {:.0} ms max {:.0} ms \
         (bound {:.0} ms); after re-LISTEN p50 {:.0} ms max {:.0} ms; worker log: {noticed:?}",
        gap_p50 * 1000.0,
        gap_max * 1000.0,
        (POLL + PICKUP_SLACK).as_secs_f64() * 1000.0,
        after_p50 * 1000.0,
        after_max * 1000.0,
    );
    assert!(worker.exited().is_none(), "{}", worker.stderr_tail(20));
    assert_eq!(gap_count, JOBS_AFTER_KILL);
    assert!(
        gap_max <= (POLL + PICKUP_SLACK).as_secs_f64(),
        "a job waited {gap_max:.3} s"
    );
    assert!(
        after_max <= (POLL + PICKUP_SLACK).as_secs_f64(),
        "a job waited {after_max:.3} s after re-LISTEN"
    );
    let (took, _) = relisten.expect("no new LISTEN backend within 10 s");
    assert!(took <= Duration::from_secs(10));
    let status = worker.stop_gracefully(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    lab.cleanup().await;
}
