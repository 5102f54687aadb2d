//! T2, SIGKILL chaos: 4 workers drain jobs of 1–50 ms while a random worker is killed with
//! SIGKILL every 2–4 s and restarted 0.5 s later. Nothing is lost, nothing is left running,
//! no two attempts of a job overlap, attempts stay within 1 + the kills that touched the job,
//! and orphans are picked up again within lease + sweep + poll + slack.

use std::time::{Duration, Instant};

use rand::RngExt;
use sqlx::Row;

use crate::harness::{LEASE, Lab, POLL, SWEEP, gate, quantile, seeded_rng, work_job};

const JOBS: usize = 14_000;
const WORKERS: usize = 4;
/// Per worker: low enough that the drain lasts long enough for several kills.
const CONCURRENCY: u32 = 4;
const DRAIN_LIMIT: Duration = Duration::from_secs(150);
/// Orphan recovery bound: lease + sweep + poll, plus slack for a loaded 2-core machine.
const RECOVERY_SLACK: Duration = Duration::from_millis(3500);

#[tokio::test]
async fn random_sigkills_lose_nothing_and_orphans_recover_in_time() {
    let _permit = gate(2);
    let (seed, mut rng) = seeded_rng("sigkill");
    let lab = Lab::new().await;
    lab.exec(&format!(
        "CREATE TABLE {} (pid int NOT NULL, t_kill timestamptz NOT NULL)",
        lab.t("kills")
    ))
    .await;
    lab.exec(&format!(
        "CREATE TABLE {} (job_id text NOT NULL, pid int NOT NULL, claimed_at timestamptz NOT NULL)",
        lab.t("touched")
    ))
    .await;
    // Distinct due times, all in the past: the claim order (priority, run_at) is then total,
    // and an orphan, older than every job not yet claimed, is first in line once recovered.
    // (With one shared run_at, as a bulk enqueue gives, it would queue behind the backlog.)
    let base = chrono::Utc::now() - chrono::Duration::seconds(30);
    let specs = (0..JOBS)
        .map(|i| {
            let due = base + chrono::Duration::milliseconds(i64::try_from(i).unwrap_or(0));
            work_job(format!("k{i}"), &format!("k{i}"), rng.random_range(1..=50)).at(due)
        })
        .collect();
    lab.enqueue(specs).await;

    let spec = lab.worker().set("concurrency", CONCURRENCY);
    let mut workers: Vec<_> = (0..WORKERS).map(|i| spec.spawn(&format!("w{i}"))).collect();
    for worker in &mut workers {
        worker.wait_ready().await;
    }

    let start = Instant::now();
    let open_sql = format!(
        "SELECT count(*) FROM {} WHERE status IN ('pending', 'running')",
        lab.t("jobs")
    );
    let mut next_kill = start + Duration::from_millis(rng.random_range(2000..=4000));
    let mut kills = 0_usize;
    let mut dead = Vec::new();
    let mut generation = 0_usize;
    loop {
        if lab.i64(&open_sql).await == 0 {
            break;
        }
        assert!(
            start.elapsed() < DRAIN_LIMIT,
            "seed {seed}: not drained after {DRAIN_LIMIT:?}: {:?}",
            lab.statuses().await
        );
        if Instant::now() >= next_kill {
            let slot = rng.random_range(0..WORKERS);
            let pid = workers[slot].pid();
            // The kill time by the database clock, recorded just before the signal.
            lab.exec(&format!(
                "INSERT INTO {} VALUES ({pid}, clock_timestamp())",
                lab.t("kills")
            ))
            .await;
            workers[slot].kill9();
            kills += 1;
            // The jobs the dead worker held (well before their leases can expire).
            tokio::time::sleep(Duration::from_millis(200)).await;
            lab.exec(&format!(
                "INSERT INTO {} SELECT id, {pid}, started_at FROM {} WHERE status = 'running' AND worker_id LIKE '%:{pid}:%'",
                lab.t("touched"),
                lab.t("jobs")
            ))
            .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            generation += 1;
            let replacement = spec.spawn(&format!("w{slot}g{generation}"));
            dead.push(std::mem::replace(&mut workers[slot], replacement));
            workers[slot].wait_ready().await;
            next_kill = Instant::now() + Duration::from_millis(rng.random_range(2000..=4000));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain = start.elapsed();

    let jobs = lab.t("jobs");
    let effects = lab.t("effects");
    let kills_table = lab.t("kills");
    let touched = lab.t("touched");
    let statuses = lab.statuses().await;
    let completed = statuses.get("completed").copied().unwrap_or(0);
    let running = statuses.get("running").copied().unwrap_or(0);
    let touched_jobs = lab
        .i64(&format!("SELECT count(DISTINCT job_id) FROM {touched}"))
        .await;
    let over_attempts = lab
        .i64(&format!(
            "SELECT count(*) FROM {jobs} j
               LEFT JOIN (SELECT job_id, count(*) AS c FROM {touched} GROUP BY job_id) t ON t.job_id = j.id
              WHERE j.attempts > 1 + coalesce(t.c, 0)"
        ))
        .await;
    // Failed jobs are acceptable only when kills took all their lease-loss retries.
    let bad_failures = lab
        .i64(&format!(
            "SELECT count(*) FROM {jobs} j
              WHERE j.status = 'failed'
                AND NOT (j.last_error LIKE 'lease_expired:%'
                         AND (SELECT count(*) FROM {touched} t WHERE t.job_id = j.id) >= 3)"
        ))
        .await;
    let histogram: Vec<(i32, i64)> = lab
        .rows(&format!(
            "SELECT attempts, count(*) FROM {jobs} GROUP BY attempts ORDER BY attempts"
        ))
        .await
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    // Each touched job: from the kill to the next claim (database clock): the next attempt's
    // start in the oracle, or the claim of a worker killed later while holding the job (it
    // may have died before its attempt wrote to the oracle).
    let mut recoveries: Vec<f64> = lab
        .rows(&format!(
            "SELECT t.job_id,
                    extract(epoch FROM least(
                        (SELECT min(e.t_start) FROM {effects} e
                          WHERE e.job_id = t.job_id AND e.t_start > k.t_kill),
                        (SELECT min(later.claimed_at) FROM {touched} later
                          WHERE later.job_id = t.job_id AND later.claimed_at > k.t_kill)
                    ) - k.t_kill)::float8
               FROM {touched} t JOIN {kills_table} k ON k.pid = t.pid"
        ))
        .await
        .iter()
        .map(|row| row.get::<Option<f64>, _>(1).unwrap_or(f64::INFINITY))
        .collect();
    let not_rerun = recoveries.iter().filter(|r| r.is_infinite()).count();
    let recovery_p50 = quantile(&mut recoveries, 0.5);
    let recovery_max = quantile(&mut recoveries, 1.0);
    // Two attempts of one job overlap when the later one starts before the earlier one ended
    // (or, if it never ended, before its worker was killed).
    let overlaps = lab
        .i64(&format!(
            "SELECT count(*) FROM {effects} a
               JOIN {effects} b ON b.job_id = a.job_id AND b.id <> a.id AND b.t_start >= a.t_start
               LEFT JOIN {kills_table} k ON k.pid = a.pid
              WHERE b.t_start < coalesce(a.t_end, k.t_kill, 'infinity')"
        ))
        .await;
    let effects_done_twice = lab
        .i64(&format!(
            "SELECT count(*) FROM (SELECT job_id FROM {effects} WHERE t_end IS NOT NULL
                                    GROUP BY job_id HAVING count(*) > 1) d"
        ))
        .await;
    let killed_attempts = lab
        .i64(&format!(
            "SELECT count(*) FROM {effects} WHERE t_end IS NULL"
        ))
        .await;
    // A live worker's lease can only expire if the database (or the worker) stalled for more
    // than lease - heartbeat; the worker then says so. Other tests or builds on the same 2
    // cores can cause that. Only then are extra attempts and slower recoveries tolerated.
    let stalls: usize = workers
        .iter()
        .chain(&dead)
        .map(|worker| {
            let log = worker.stderr();
            [
                "lease renewal timed out",
                "not renewed in time",
                "slow statement",
            ]
            .iter()
            .map(|needle| log.matches(needle).count())
            .sum::<usize>()
        })
        .sum();
    let mut bound = LEASE + SWEEP + POLL + RECOVERY_SLACK;
    if stalls > 0 {
        println!(
            "sigkill: WARNING: the workers logged {stalls} stalls (slow statements, late renewals): \
             the machine is overloaded; tolerating re-runs of live workers' jobs and slower recovery"
        );
        bound *= 2;
    }
    println!(
        "sigkill: seed {seed}; {JOBS} jobs of 1-50 ms, {WORKERS} workers x {CONCURRENCY}; {kills} kills; drained in {drain:.1?}; \
         statuses {statuses:?}; lost {}; running {running}; jobs touched by kills {touched_jobs}; \
         killed attempts in effects {killed_attempts}; attempts histogram {histogram:?}; over 1+kills {over_attempts}; \
         recovery p50 {recovery_p50:.2} s, max {recovery_max:.2} s (bound {:.1} s); not re-run {not_rerun}; \
         overlapping attempts {overlaps}; effects completed twice (at-least-once) {effects_done_twice}; \
         stall warnings {stalls}",
        JOBS as i64 - completed,
        bound.as_secs_f64()
    );

    for worker in &mut workers {
        assert!(
            worker.exited().is_none(),
            "seed {seed}: worker {} died on its own:\n{}",
            worker.label(),
            worker.stderr_tail(20)
        );
    }
    assert!(
        kills >= 3,
        "seed {seed}: only {kills} kills; the drain was too short"
    );
    assert_eq!(running, 0, "seed {seed}: jobs left running");
    assert_eq!(
        statuses.get("pending").copied().unwrap_or(0),
        0,
        "seed {seed}: jobs left pending"
    );
    assert_eq!(bad_failures, 0, "seed {seed}: failed jobs: {statuses:?}");
    if stalls == 0 {
        assert_eq!(over_attempts, 0, "seed {seed}: attempts beyond 1 + kills");
    } else {
        assert!(
            over_attempts <= i64::try_from(JOBS / 100).unwrap_or(0),
            "seed {seed}: {over_attempts} jobs with attempts beyond 1 + kills"
        );
    }
    assert_eq!(not_rerun, 0, "seed {seed}: touched jobs never re-run");
    assert_eq!(overlaps, 0, "seed {seed}: overlapping attempts");
    assert!(
        recovery_max <= bound.as_secs_f64(),
        "seed {seed}: recovery took {recovery_max:.2} s, over {bound:?}"
    );
    for worker in &mut workers {
        let status = worker.stop_gracefully(Duration::from_secs(10)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    lab.cleanup().await;
}
