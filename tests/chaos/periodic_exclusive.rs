//! Exclusive periodic runs follow the lease, not a session (issue 10).
//!
//! `replica_locked_slow` runs every second under `advisory_lock`, each run lasting 3 s. Two
//! worker processes; the one running the schedule is frozen (SIGSTOP) past its lease. A
//! frozen process keeps its database sessions, so an exclusion tied to a session would stay
//! held and every later run on the other worker would be skipped (recorded `cancelled`).
//! Tied to the lease, the other worker takes over once the frozen holder's lease expires:
//! within lease + sweep + poll, never while that lease is live, and no two runs of the key
//! overlap while their leases are.

use std::time::{Duration, Instant};

use sqlx::Row;

use crate::harness::{Lab, gate};

const KEY: &str = "replica_locked_slow";
const LEASE: Duration = Duration::from_secs(2);
const SWEEP: Duration = Duration::from_millis(250);
const POLL: Duration = Duration::from_millis(200);
/// Scheduling noise allowed on top of lease + sweep + poll on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1_500);

/// Enables the schedule once a worker registered it (it starts disabled).
async fn enable(lab: &Lab) {
    let schedules = lab.t("periodic_schedules");
    let start = Instant::now();
    while lab
        .i64(&format!(
            "SELECT count(*) FROM {schedules} WHERE dedup_key = '{KEY}'"
        ))
        .await
        == 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the workers did not register {KEY}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lab.exec(&format!(
        "UPDATE {schedules} SET enabled = true WHERE dedup_key = '{KEY}'"
    ))
    .await;
}

/// A run of the key as its worker recorded it, times by the database clock (epoch seconds).
#[derive(Debug)]
struct Run {
    job_id: String,
    attempt: i32,
    token: i64,
    pid: i32,
    start: f64,
    end: Option<f64>,
}

async fn runs(lab: &Lab) -> Vec<Run> {
    lab.rows(&format!(
        "SELECT job_id, attempt, lease_token, pid, extract(epoch FROM t_start)::float8,
                extract(epoch FROM t_end)::float8
           FROM {} WHERE key = convert_to('{KEY}', 'UTF8') ORDER BY t_start",
        lab.t("effects")
    ))
    .await
    .iter()
    .map(|row| Run {
        job_id: row.get(0),
        attempt: row.get(1),
        token: row.get(2),
        pid: row.get(3),
        start: row.get(4),
        end: row.get(5),
    })
    .collect()
}

/// The key's runs the database recorded as cancelled, other than the one enqueued ahead that
/// the final disable cancels: `(id, last_error)`.
async fn cancelled_runs(lab: &Lab) -> Vec<(String, Option<String>)> {
    lab.rows(&format!(
        "SELECT id, last_error FROM {} WHERE id LIKE 'periodic:{KEY}:%' AND status = 'cancelled'
            AND coalesce(last_error, '') <> 'cancelled: periodic job disabled' ORDER BY id",
        lab.t("jobs")
    ))
    .await
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect()
}

#[tokio::test]
async fn a_frozen_holder_keeps_an_exclusive_schedule_only_until_its_lease_expires() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let spec = lab
        .worker()
        .set("lease_ms", LEASE.as_millis())
        .set("heartbeat_ms", 500)
        .set("sweep_ms", SWEEP.as_millis())
        .set("poll_ms", POLL.as_millis())
        .set("periodic_tick_ms", 200)
        .set("grace_ms", 6_000);
    let mut workers = [spec.spawn("a"), spec.spawn("b")];
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    enable(&lab).await;

    // A run that started less than a second ago and still holds its lease: freeze its worker.
    let effects = lab.t("effects");
    let jobs = lab.t("jobs");
    let start = Instant::now();
    let (frozen_id, frozen_token, frozen_pid) = loop {
        let fresh = lab
            .rows(&format!(
                "SELECT e.job_id, e.lease_token, e.pid FROM {effects} e
                   JOIN {jobs} j ON j.id = e.job_id AND j.lease_token = e.lease_token
                  WHERE e.key = convert_to('{KEY}', 'UTF8') AND e.t_end IS NULL
                    AND j.status = 'running'
                    AND clock_timestamp() - e.t_start < interval '1 second'
                  LIMIT 1"
            ))
            .await;
        if let Some(row) = fresh.first() {
            break (
                row.get::<String, _>(0),
                row.get::<i64, _>(1),
                row.get::<i32, _>(2),
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no run of {KEY} started; cancelled: {:?}",
            cancelled_runs(&lab).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let holder = workers
        .iter()
        .position(|worker| i64::from(worker.pid()) == i64::from(frozen_pid))
        .expect("the run's pid is one of the workers");
    let other = 1 - holder;
    let other_pid = i32::try_from(workers[other].pid()).expect("pid");
    let t_stop = lab.db_now().await;
    workers[holder].signal("STOP");

    // Watch the frozen run's lease (renewals sent before the stop may still land) until a run
    // of the key starts on the other worker.
    let limit = LEASE + SWEEP + POLL + SLACK;
    let stopped = Instant::now();
    let mut lease_end: Option<f64> = None;
    let takeover = loop {
        let row = &lab
            .rows(&format!(
                "SELECT status, lease_token, extract(epoch FROM lease_expires_at)::float8
                   FROM {jobs} WHERE id = '{frozen_id}'"
            ))
            .await[0];
        if row.get::<String, _>(0) == "running"
            && row.get::<Option<i64>, _>(1) == Some(frozen_token)
        {
            lease_end = row.get(2);
        }
        let started = runs(&lab)
            .await
            .into_iter()
            .find(|run| run.pid == other_pid && run.start > t_stop);
        if let Some(run) = started {
            break run;
        }
        assert!(
            stopped.elapsed() < limit,
            "no run of {KEY} started on the other worker within {limit:?} (lease {LEASE:?} + \
             sweep {SWEEP:?} + poll {POLL:?} + {SLACK:?}) of freezing the holder; runs \
             recorded cancelled: {:?}; jobs of the key: {:?}",
            cancelled_runs(&lab).await,
            lab.rows(&format!(
                "SELECT status, count(*) FROM {jobs} WHERE id LIKE 'periodic:{KEY}:%' GROUP BY status"
            ))
            .await
            .iter()
            .map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1)))
            .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let frozen_lease_end = lease_end.expect("the frozen run's lease was seen");
    workers[holder].signal("CONT");

    // Both run on; the takeover run ends (3 s), then the schedule is disabled and both stop.
    let run_ended = Instant::now();
    while runs(&lab)
        .await
        .iter()
        .any(|run| run.token == takeover.token && run.end.is_none())
    {
        assert!(
            run_ended.elapsed() < Duration::from_secs(10),
            "the takeover run never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lab.exec(&format!(
        "UPDATE {} SET enabled = false WHERE dedup_key = '{KEY}'",
        lab.t("periodic_schedules")
    ))
    .await;
    for worker in &mut workers {
        let status = worker.stop_gracefully(Duration::from_secs(15)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{} exited {status:?}:\n{}",
            worker.label(),
            worker.stderr_tail(20)
        );
    }

    let all = runs(&lab).await;
    let takeover_after_stop = takeover.start - t_stop;
    let after_lease = takeover.start - frozen_lease_end;
    println!(
        "periodic exclusive: holder frozen with a {LEASE:?} lease; its lease ended {:.2} s after \
         the stop; the other worker started {} (attempt {}) {takeover_after_stop:.2} s after the \
         stop, {after_lease:.2} s after that lease ended; {} runs in all",
        frozen_lease_end - t_stop,
        takeover.job_id,
        takeover.attempt,
        all.len()
    );
    assert!(
        takeover.start >= frozen_lease_end,
        "the other worker started {} while the frozen holder's lease was live ({after_lease:.3} s)",
        takeover.job_id
    );
    // No two runs overlap while both hold a live lease: a run's interval is its recorded one,
    // except the frozen run's, whose lease ended when observed (its code ran on after thawing).
    let live = |run: &Run| {
        let end = run.end.unwrap_or(f64::INFINITY);
        let end = if run.token == frozen_token {
            end.min(frozen_lease_end)
        } else {
            end
        };
        (run.start, end)
    };
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            let ((a_start, a_end), (b_start, b_end)) = (live(a), live(b));
            let overlap = a_end.min(b_end) - a_start.max(b_start);
            assert!(
                overlap <= 0.0,
                "{} (pid {}, attempt {}) and {} (pid {}, attempt {}) overlapped {overlap:.3} s",
                a.job_id,
                a.pid,
                a.attempt,
                b.job_id,
                b.pid,
                b.attempt
            );
        }
    }
    let cancelled = cancelled_runs(&lab).await;
    assert!(
        cancelled.is_empty(),
        "runs recorded cancelled (a held lock must make a run wait, not skip it): {cancelled:?}"
    );
    drop(workers);
    lab.cleanup().await;
}
