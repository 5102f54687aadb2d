//! Periodic jobs across four worker processes: one replica killed (SIGKILL) and restarted
//! mid-run, one started late. Each window is enqueued exactly once, none is missing while a
//! replica lived; the same with the advisory lock on and finished runs deleted at once.

use std::time::Duration;

use crate::harness::{Lab, gate};

/// Enables the named schedules once the workers registered them (they start disabled).
async fn enable(lab: &Lab, keys: &[&str]) {
    let keys_sql = keys
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(",");
    for _ in 0..100 {
        let registered = lab
            .i64(&format!(
                "SELECT count(*) FROM {} WHERE dedup_key IN ({keys_sql})",
                lab.t("periodic_schedules")
            ))
            .await;
        if usize::try_from(registered).unwrap_or(0) == keys.len() {
            lab.exec(&format!(
                "UPDATE {} SET enabled = true WHERE dedup_key IN ({keys_sql})",
                lab.t("periodic_schedules")
            ))
            .await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the workers did not register {keys:?}");
}

/// Runs the scenario for `keys` and checks one run per window: returns (windows, enqueues,
/// runs, lateness p99 in ms) of the first key.
async fn four_replicas(keys: &[&str], vacuum_immediate: bool) -> (i64, i64, i64, f64) {
    let lab = Lab::new().await;
    let spec = lab
        .worker()
        .set("periodic_tick_ms", 200)
        .set("lease_ms", 30_000)
        .set("vacuum_immediate", vacuum_immediate);
    let mut workers: Vec<_> = (0..3).map(|i| spec.spawn(&format!("r{i}"))).collect();
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    enable(&lab, keys).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    workers[0].kill9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut restarted = spec.spawn("r0-again");
    restarted.wait_ready().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut late = spec.spawn("late");
    late.wait_ready().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    lab.exec(&format!(
        "UPDATE {} SET enabled = false",
        lab.t("periodic_schedules")
    ))
    .await;
    for worker in workers
        .iter_mut()
        .skip(1)
        .chain([&mut restarted, &mut late])
    {
        let status = worker.stop_gracefully(Duration::from_secs(15)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{status:?}\n{}",
            worker.stderr_tail(20)
        );
    }

    let mut first = None;
    for key in keys {
        let prefix = format!("periodic:{key}:");
        // Windows enqueued, from the schedule's own record (retention may have deleted rows).
        let windows = lab
            .i64(&format!(
                "SELECT count(DISTINCT job_id) FROM {} WHERE key = convert_to('{key}', 'UTF8')",
                lab.t("effects")
            ))
            .await;
        let runs = lab
            .i64(&format!(
                "SELECT count(*) FROM {} WHERE key = convert_to('{key}', 'UTF8')",
                lab.t("effects")
            ))
            .await;
        let reruns = lab
            .i64(&format!(
                "SELECT count(*) FROM {} WHERE key = convert_to('{key}', 'UTF8') AND attempt > 1",
                lab.t("effects")
            ))
            .await;
        assert_eq!(
            runs - reruns,
            windows,
            "{key}: each window ran once (plus re-runs of attempts a kill interrupted)"
        );
        let enqueued_rows = lab
            .i64(&format!(
                "SELECT count(*) FROM {} WHERE id LIKE '{prefix}%'",
                lab.t("jobs")
            ))
            .await;
        if !vacuum_immediate {
            // A window enqueued ahead just before the schedule was disabled is cancelled (or
            // still pending when the workers stopped); every other one ran, and nothing ran
            // that was not enqueued.
            let completed = lab
                .i64(&format!(
                    "SELECT count(*) FROM {} WHERE id LIKE '{prefix}%' AND status = 'completed'",
                    lab.t("jobs")
                ))
                .await;
            assert_eq!(
                completed, windows,
                "{key}: every window that ran completed once"
            );
            assert!(
                enqueued_rows - windows <= 2,
                "{key}: {enqueued_rows} enqueued, {windows} ran"
            );
            let orphans = lab
                .i64(&format!(
                    "SELECT count(*) FROM {e} WHERE key = convert_to('{key}', 'UTF8') \
                     AND job_id NOT IN (SELECT id FROM {j})",
                    e = lab.t("effects"),
                    j = lab.t("jobs")
                ))
                .await;
            assert_eq!(orphans, 0, "{key}: nothing ran without an enqueue");
        }
        if key.ends_with("tick") {
            // Consecutive 1 s windows from the first to the last: none missing.
            let span = lab
                .i64(&format!(
                    "SELECT (max(w) - min(w)) / 1000 + 1 FROM (SELECT split_part(job_id, ':', 3)::bigint AS w \
                     FROM {} WHERE key = convert_to('{key}', 'UTF8')) t",
                    lab.t("effects")
                ))
                .await;
            assert_eq!(
                span, windows,
                "{key}: no window missing while a replica lived"
            );
            assert!(windows >= 6, "{key}: only {windows} windows in ~8 s");
        }
        let lateness = lab
            .f64(&format!(
                "SELECT coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t_start) * 1000 \
                 - split_part(job_id, ':', 3)::float8), 0)::float8 FROM {} WHERE key = convert_to('{key}', 'UTF8') AND attempt = 1",
                lab.t("effects")
            ))
            .await;
        println!(
            "periodic replicas{}: {key}: {windows} windows, {} enqueues, {runs} runs ({reruns} re-runs after the kill), 0 duplicate windows, start lateness p99 {lateness:.0} ms",
            if vacuum_immediate {
                " (retention immediate)"
            } else {
                ""
            },
            if vacuum_immediate {
                windows
            } else {
                enqueued_rows
            },
        );
        first.get_or_insert((windows, enqueued_rows, runs, lateness));
    }
    drop(workers);
    lab.cleanup().await;
    first.unwrap_or_default()
}

#[tokio::test]
async fn four_replicas_enqueue_each_window_once_through_a_kill_and_a_late_start() {
    let _permit = gate(2);
    four_replicas(&["replica_tick", "replica_minute"], false).await;
}

#[tokio::test]
async fn the_same_with_the_advisory_lock_and_immediate_retention() {
    let _permit = gate(2);
    four_replicas(&["replica_locked_tick"], true).await;
}
