//! Periodic jobs across four worker processes: one replica killed (SIGKILL) and restarted
//! mid-run, one started late. Each window is enqueued exactly once, none is missing while a
//! replica lived; the same with the advisory lock on and finished runs deleted at once. And
//! two processes that disagree about one job's expression (a rolling deploy): no window runs
//! twice, and the older one says why it stands down.

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
            // A schedule runs no window from before its registration, so a per-minute cron
            // registered just now would see a window only if the scenario (~8 s) crossed a
            // minute. As if registered before this minute began: its current window, missed
            // while it was disabled, is enqueued at once (late, within its misfire grace).
            lab.exec(&format!(
                "UPDATE {} SET schedule_since = date_trunc('minute', now()) \
                 WHERE dedup_key = 'replica_minute'",
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

/// Waits until `sql` (a count) reaches `at_least`; panics after 20 s.
async fn wait_count(lab: &Lab, sql: &str, at_least: i64, what: &str) -> i64 {
    let start = tokio::time::Instant::now();
    loop {
        let count = lab.i64(sql).await;
        if count >= at_least {
            return count;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waited 20 s for {what}: {count} of {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two processes with the same job name and different expressions, both live (a rolling
/// deploy): the most recently started registration wins, no window runs twice, and the older
/// process says once, in its log, why it enqueues nothing.
#[tokio::test]
async fn two_processes_with_different_expressions_run_no_window_twice() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let spec = lab.worker().set("periodic_tick_ms", 200);
    let runs = format!(
        "SELECT count(*) FROM {} WHERE key = convert_to('drift', 'UTF8')",
        lab.t("effects")
    );
    let mut old = spec.clone().set("drift_every_ms", 500).spawn("old");
    old.wait_ready().await;
    wait_count(&lab, &runs, 2, "the old schedule's runs").await;
    let mut new = spec.set("drift_every_ms", 1000).spawn("new");
    new.wait_ready().await;
    wait_count(
        &lab,
        &format!(
            "SELECT count(*) FROM {} WHERE schedule = 'every:1000ms'",
            lab.t("periodic_schedules")
        ),
        1,
        "the new process's registration",
    )
    .await;
    // Both live and tick (every 200 ms) through four more windows.
    let seen = lab.i64(&runs).await;
    wait_count(&lab, &runs, seen + 4, "more windows").await;
    for worker in [&mut new, &mut old] {
        let status = worker.stop_gracefully(Duration::from_secs(15)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{status:?}\n{}",
            worker.stderr_tail(20)
        );
    }

    let windows = format!(
        "SELECT split_part(job_id, ':', 3)::bigint AS w FROM {} \
         WHERE key = convert_to('drift', 'UTF8') AND attempt = 1",
        lab.t("effects")
    );
    let (total, distinct) = (
        lab.i64(&format!("SELECT count(w) FROM ({windows}) t"))
            .await,
        lab.i64(&format!("SELECT count(DISTINCT w) FROM ({windows}) t"))
            .await,
    );
    assert_eq!(total, distinct, "no window ran twice");
    let stood_down = |proc: &crate::harness::WorkerProc| {
        proc.stderr()
            .lines()
            .filter(|line| line.contains("enqueues nothing"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let said = stood_down(&old);
    assert_eq!(said.len(), 1, "the older process says why, once: {said:?}");
    assert!(
        said[0].contains("every:500ms") && said[0].contains("every:1000ms"),
        "{}",
        said[0]
    );
    assert!(stood_down(&new).is_empty(), "the newer one is in force");
    let after = lab
        .i64(&format!(
            "SELECT count(*) FROM ({windows}) t, {s} s \
             WHERE s.dedup_key = 'drift' AND t.w >= extract(epoch FROM s.schedule_since) * 1000",
            s = lab.t("periodic_schedules")
        ))
        .await;
    let off_schedule = lab
        .i64(&format!(
            "SELECT count(*) FROM ({windows}) t, {s} s WHERE s.dedup_key = 'drift' \
             AND t.w >= extract(epoch FROM s.schedule_since) * 1000 AND t.w % 1000 <> 0",
            s = lab.t("periodic_schedules")
        ))
        .await;
    assert!(after >= 3, "{after} windows after the switch");
    assert_eq!(
        off_schedule, 0,
        "after the new registration only its windows run"
    );
    println!(
        "two processes, 500 ms vs 1 s: {total} windows, 0 twice, {after} after the switch, \
         the older process logged once"
    );
    drop((old, new));
    lab.cleanup().await;
}
