//! T3, zombie fencing: a worker is frozen (SIGSTOP) mid-job for longer than its lease; a
//! second worker recovers and completes the job; when the first one thaws (SIGCONT), its late
//! completion changes nothing, and it reports "lease lost".

use std::time::{Duration, Instant};

use sqlx::Row;

use crate::harness::{Lab, gate, work_job};

/// The job runs 6 s: the frozen worker's attempt ends while it is stopped, so it tries to
/// write a completion as soon as it thaws; the rescuer's attempt (started ≥ 2 s into the
/// freeze) is still running then.
const JOB_MILLIS: u64 = 6_000;
const FREEZE: Duration = Duration::from_secs(6);

#[tokio::test]
async fn a_frozen_worker_past_its_lease_cannot_overwrite_the_rescuers_attempt() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let spec = lab.worker().set("concurrency", 2);
    let mut zombie = spec.spawn("zombie");
    zombie.wait_ready().await;
    lab.enqueue(vec![work_job("zombie-job", "z", JOB_MILLIS)])
        .await;

    let jobs = lab.t("jobs");
    let effects = lab.t("effects");
    let attempt_sql = |attempt: i32| {
        format!(
            "SELECT pid::int8 FROM {effects} WHERE job_id = 'zombie-job' AND attempt = {attempt}"
        )
    };
    let start = Instant::now();
    while lab.i64(&attempt_sql(1)).await == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "attempt 1 never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lab.i64(&attempt_sql(1)).await, i64::from(zombie.pid()));
    let mut rescuer = spec.spawn("rescuer");
    rescuer.wait_ready().await;

    // Freeze the first worker (the stop time by the database clock, just before the signal).
    let t_stop = lab.db_now().await;
    zombie.signal("STOP");
    tokio::time::sleep(FREEZE).await;
    let rescued = lab
        .rows(&format!(
            "SELECT e.pid, e.lease_token, extract(epoch FROM e.t_start)::float8
               FROM {effects} e WHERE e.job_id = 'zombie-job' AND e.attempt = 2"
        ))
        .await;
    assert_eq!(
        rescued.len(),
        1,
        "the rescuer took the job while the zombie was frozen"
    );
    let rescuer_pid: i32 = rescued[0].get(0);
    let rescuer_token: i64 = rescued[0].get(1);
    let rescue_latency = rescued[0].get::<f64, _>(2) - t_stop;
    assert_eq!(rescuer_pid, i32::try_from(rescuer.pid()).unwrap_or(0));

    // Thaw it, and watch the row until the job completes: it must reflect the rescuer's
    // attempt at every moment.
    let t_cont = lab.db_now().await;
    zombie.signal("CONT");
    let thawed = Instant::now();
    let row_sql = format!(
        "SELECT status, attempts, lease_token, worker_id,
                extract(epoch FROM finished_at)::float8,
                (SELECT extract(epoch FROM t_end)::float8 FROM {effects}
                  WHERE job_id = 'zombie-job' AND attempt = 2)
           FROM {jobs} WHERE id = 'zombie-job'"
    );
    let rescuer_tag = format!(":{}:", rescuer.pid());
    let mut observations = 0;
    let mut noticed_after = None;
    let (attempts, finished_at, rescuer_end) = loop {
        if noticed_after.is_none() && zombie.stderr().contains("lease lost") {
            noticed_after = Some(thawed.elapsed());
        }
        let row = &lab.rows(&row_sql).await[0];
        let status: String = row.get(0);
        let attempts: i32 = row.get(1);
        let token: Option<i64> = row.get(2);
        let worker: Option<String> = row.get(3);
        observations += 1;
        assert!(
            worker.as_deref().is_some_and(|w| w.contains(&rescuer_tag)),
            "row names worker {worker:?}, not the rescuer"
        );
        match status.as_str() {
            "running" => assert_eq!(token, Some(rescuer_token), "the rescuer's lease"),
            "completed" => break (attempts, row.get::<f64, _>(4), row.get::<Option<f64>, _>(5)),
            other => panic!("unexpected status {other}"),
        }
        assert!(
            thawed.elapsed() < Duration::from_secs(15),
            "job never completed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if noticed_after.is_none()
        && let Some(_) = zombie.wait_log("lease lost", Duration::from_secs(5)).await
    {
        noticed_after = Some(thawed.elapsed());
    }
    let zombie_log = zombie.stderr();
    let how: Vec<&str> = zombie_log
        .lines()
        .filter(|line| line.contains("lease lost"))
        .collect();
    let zombie_effect = lab
        .rows(&format!(
            "SELECT extract(epoch FROM t_end)::float8 FROM {effects}
              WHERE job_id = 'zombie-job' AND attempt = 1"
        ))
        .await;
    let zombie_end: Option<f64> = zombie_effect[0].get(0);
    println!(
        "zombie: frozen {FREEZE:?} with a 3 s lease; rescuer started attempt 2 {rescue_latency:.2} s after the freeze; \
         zombie's own attempt {} ; {observations} observations after thaw, all the rescuer's; \
         completed with attempts {attempts}, finished {:.2} s after thaw, rescuer's attempt ended {:.2} s after thaw; \
         zombie noticed lease loss {noticed_after:.2?} after thaw: {how:?}",
        match zombie_end {
            Some(end) => format!(
                "ended {:.2} s after the freeze (late completion attempted)",
                end - t_stop
            ),
            None => "was abandoned before it ended".to_owned(),
        },
        finished_at - t_cont,
        rescuer_end.unwrap_or(f64::NAN) - t_cont,
    );
    assert_eq!(attempts, 2);
    let rescuer_end = rescuer_end.expect("the rescuer's attempt ended");
    assert!(
        finished_at >= rescuer_end,
        "completed before the rescuer's attempt ended: a stale completion was accepted"
    );
    assert!(
        noticed_after.is_some_and(|after| after <= Duration::from_secs(4)),
        "zombie did not log `lease lost` within 4 s of thawing:\n{}",
        zombie.stderr_tail(20)
    );

    // Both workers are alive, and the thawed one works again.
    lab.enqueue(
        (0..20)
            .map(|i| work_job(format!("after{i}"), "a", 10))
            .collect(),
    )
    .await;
    lab.wait_drained(Duration::from_secs(20), |_| {}).await;
    assert!(zombie.exited().is_none() && rescuer.exited().is_none());
    for worker in [&mut zombie, &mut rescuer] {
        let status = worker.stop_gracefully(Duration::from_secs(10)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    lab.cleanup().await;
}
