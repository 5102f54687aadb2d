//! Periodic jobs end to end: aligned windows, exactly one run per window across schedulers,
//! enable/disable/trigger/status, exclusive runs, chains that survive failures.
//!
//! A test binary of its own: every periodic job defined here is enqueued by every scheduler
//! in this binary, so they must not disturb the one-off tests in `it`.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched::{JobContext, JobStatus, Scheduler, State, periodic};
use pgsched_core::runtime::{ScheduleDecision, TickSource};
use pgsched_tests::{Recorder, Setup, enqueued, eventually, periodic_tick, setup};
use sqlx::{AssertSqlSafe, Row};

mod identity;

/// Every second; records its window (the job id ends with the window's Unix ms).
#[periodic(every = "1s")]
async fn every_second(ctx: JobContext, rec: State<Recorder>) {
    rec.record("every_second", window_ms(&ctx));
}

/// Every minute in New York.
#[periodic(cron = "* * * * *", tz = "America/New_York")]
async fn every_minute_ny(ctx: JobContext, rec: State<Recorder>) {
    rec.record("every_minute_ny", window_ms(&ctx));
}

/// Starts disabled.
#[periodic(every = "1s", enabled = false, dedup_key = "dormant")]
async fn dormant(rec: State<Recorder>) {
    rec.record("dormant", 1);
}

/// Fails every run; its chain must go on.
#[periodic(every = "1s", max_retries = 0, dedup_key = "always_failing")]
async fn always_failing(ctx: JobContext, rec: State<Recorder>) -> Result<(), String> {
    rec.record("always_failing", window_ms(&ctx));
    Err("broken on purpose".into())
}

/// Runs never overlap (`advisory_lock`), yet each run (1.2 s) outlasts the 1 s interval, so
/// every window's run has to wait for the previous one. Records when each run started and
/// ended, in ms of one monotonic clock shared by every worker of this process.
#[periodic(every = "1s", advisory_lock, dedup_key = "locked")]
async fn locked(rec: State<Recorder>) {
    rec.record("locked_start", monotonic_ms());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    rec.record("locked_end", monotonic_ms());
}

/// Never enabled by its attribute, and keyed apart from its name: for the management calls,
/// which take either.
#[periodic(every = "1h", enabled = false, dedup_key = "keyed-apart")]
async fn keyed_apart() {}

/// Milliseconds since this test process first asked.
fn monotonic_ms() -> i64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn window_ms(ctx: &JobContext) -> i64 {
    ctx.id()
        .as_str()
        .rsplit(':')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(-1)
}

fn key_of(scheduler_jobs: &[pgsched::PeriodicJobInfo], job: &str) -> String {
    scheduler_jobs
        .iter()
        .find(|info| info.job_name == job)
        .map(|info| info.key.clone())
        .expect("registered")
}

/// A started worker on the test's schema, ticking every 200 ms on `ticks`.
async fn worker(t: &Setup, ticks: TickSource) -> Scheduler {
    t.worker(|b| {
        b.periodic_tick(Duration::from_millis(200))
            .tick_source(ticks)
    })
    .await
}

/// How many jobs named `name` the schema holds, and how many of them are pending or running.
async fn runs_of(t: &Setup, name: &str) -> (i64, i64) {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT count(*), count(*) FILTER (WHERE status IN ('pending', 'running')) \
           FROM \"{}\".jobs WHERE name = $1",
        t.schema()
    )))
    .bind(name)
    .fetch_one(t.pool())
    .await
    .expect("count runs")
}

/// Waits until every job named `name` has run (none pending or running); returns how many
/// there are.
async fn settled_runs(t: &Setup, name: &str) -> i64 {
    eventually(&format!("the due runs of {name} to finish"), || async {
        let (total, open) = runs_of(t, name).await;
        (open == 0).then_some(total)
    })
    .await
}

#[tokio::test]
async fn interval_windows_are_aligned_and_run_once_each_across_two_workers() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let first = worker(&t, TickSource::default()).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = worker(&t, TickSource::default()).await; // starts late, same schema, same schedules
    rec.wait_for("every_second", 4).await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");

    let windows = rec.values("every_second");
    let distinct: HashSet<i64> = windows.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        windows.len(),
        "one run per window: {windows:?}"
    );
    assert!(
        windows.iter().all(|w| w % 1000 == 0),
        "aligned to whole seconds: {windows:?}"
    );
    let mut sorted = windows.clone();
    sorted.sort_unstable();
    assert!(
        sorted.windows(2).all(|pair| pair[1] - pair[0] == 1000),
        "no window missing while a worker lived: {sorted:?}"
    );

    let mut connection = db.connect().await;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT count(*) AS runs, count(DISTINCT id) AS windows FROM \"{}\".jobs WHERE name = 'every_second'",
        db.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("count");
    let (runs, windows): (i64, i64) = (rows.get("runs"), rows.get("windows"));
    assert_eq!(runs, windows);
    println!("every_second: {windows} windows, {runs} enqueues");
}

#[tokio::test]
async fn a_cron_schedule_in_a_zone_runs_its_current_minute_once() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    // The schedule was registered before the current minute began (by a management call;
    // the row's `schedule_since` is moved back to the minute) and no worker ran since: the
    // current minute's window was missed while no worker ran, and runs late, within its
    // misfire grace. (A brand-new schedule waits for the next minute: see `identity`.)
    let registering = db.scheduler(|b| b).await;
    registering.periodic_jobs().await.expect("registered");
    let mut connection = db.connect().await;
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE \"{}\".periodic_schedules SET schedule_since = date_trunc('minute', now()) \
         WHERE dedup_key = 'every_minute_ny'",
        db.schema()
    )))
    .execute(&mut connection)
    .await
    .expect("backdated");
    let first = worker(&t, TickSource::default()).await;
    let windows = rec.wait_for("every_minute_ny", 1).await;
    let window = windows[0];
    let at = DateTime::<Utc>::from_timestamp_millis(window).expect("valid");
    let ticks = TickSource::observed();
    let mut second_ticks = ticks.subscribe().expect("an observed source reports");
    let second = worker(&t, ticks).await;
    // A few ticks of the second worker, each deciding on the schedule: none enqueues the
    // minute the first worker ran.
    for _ in 0..3 {
        let tick = periodic_tick(
            &mut second_ticks,
            "a tick of the second worker that evaluates every_minute_ny",
            |tick| {
                matches!(
                    tick.decision("every_minute_ny"),
                    Some(ScheduleDecision::Evaluated { .. })
                )
            },
        )
        .await;
        assert!(
            !enqueued(&tick, "every_minute_ny").contains(&at),
            "the second worker enqueued the minute the first one ran: {tick:?}"
        );
    }
    // Whatever those ticks enqueued has run.
    settled_runs(&t, "every_minute_ny").await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    assert_eq!(window % 60_000, 0, "a minute boundary");
    assert!(Utc::now() - at < chrono::Duration::seconds(75));
    let runs = rec.values("every_minute_ny");
    let distinct: HashSet<i64> = runs.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        runs.len(),
        "each minute at most once: {runs:?}"
    );
}

#[tokio::test]
async fn enable_disable_trigger_and_status() {
    let t = setup().await;
    let rec = &t.rec;
    let ticks = TickSource::observed();
    let mut events = ticks.subscribe().expect("an observed source reports");
    let scheduler = worker(&t, ticks).await;
    let jobs = scheduler.periodic_jobs().await.expect("list");
    let dormant = jobs
        .iter()
        .find(|info| info.key == "dormant")
        .expect("listed");
    assert!(!dormant.enabled);
    assert_eq!(dormant.schedule, "every:1000ms");
    assert!(dormant.next_fire.is_some());
    let every_key = key_of(&jobs, "every_second");
    assert_eq!(
        every_key, "every_second",
        "the default key is the job's name"
    );
    let every_info = jobs
        .iter()
        .find(|info| info.key == every_key)
        .expect("listed");
    assert_eq!(every_info.schedule_in_force, every_info.schedule);
    eventually("the worker's start to register it", || async {
        let jobs = scheduler.periodic_jobs().await.expect("list");
        jobs.into_iter()
            .find(|info| info.key == "every_second")
            .and_then(|info| info.registered_by)
    })
    .await;

    // Disabled schedules never run: a tick found a window of `every_second` due (`dormant`
    // has the same interval, and was registered before the worker's first tick, so a window
    // of its own was due too) and enqueued nothing for `dormant`.
    let first_tick = periodic_tick(&mut events, "the worker's first periodic tick", |tick| {
        tick.now.is_some()
    })
    .await;
    let registered_by = first_tick
        .now
        .expect("a tick that decided read the database time");
    let due = periodic_tick(
        &mut events,
        "a tick that enqueues a window of every_second",
        |tick| {
            enqueued(tick, "every_second")
                .iter()
                .any(|window| *window > registered_by)
        },
    )
    .await;
    assert_eq!(
        due.decision("dormant"),
        Some(&ScheduleDecision::Disabled),
        "{due:?}"
    );
    assert_eq!(
        runs_of(&t, "dormant").await,
        (0, 0),
        "disabled schedules enqueue nothing"
    );
    assert!(
        rec.values("dormant").is_empty(),
        "disabled schedules never run"
    );

    let triggered = scheduler
        .trigger_periodic_job("dormant")
        .await
        .expect("trigger");
    assert!(triggered.as_str().starts_with("manual:dormant:"));
    rec.wait_for("dormant", 1).await;

    assert!(
        scheduler
            .enable_periodic_job("dormant")
            .await
            .expect("enable")
    );
    rec.wait_for("dormant", 3).await;
    assert!(
        scheduler
            .disable_periodic_job("dormant")
            .await
            .expect("disable")
    );
    // Every tick from the first one that reads the schedule disabled enqueues nothing for it.
    let disabled = periodic_tick(&mut events, "a tick that reads dormant disabled", |tick| {
        tick.decision("dormant") == Some(&ScheduleDecision::Disabled)
    })
    .await;
    let disabled_at = disabled
        .now
        .expect("a tick that decided read the database time");
    // Runs enqueued before (a window is enqueued up to a tick ahead) may still run: let them.
    let runs = settled_runs(&t, "dormant").await;
    let settled = rec.values("dormant").len();
    // A second later a window of `every_second` came due, and with it one of `dormant`'s
    // (same interval, same alignment, after its last enqueued window): nothing enqueued.
    let later = periodic_tick(
        &mut events,
        "a tick, over a second after the disable, that enqueues a window of every_second",
        |tick| {
            enqueued(tick, "every_second")
                .iter()
                .any(|window| *window > disabled_at + chrono::Duration::seconds(1))
        },
    )
    .await;
    assert_eq!(
        later.decision("dormant"),
        Some(&ScheduleDecision::Disabled),
        "{later:?}"
    );
    assert_eq!(
        runs_of(&t, "dormant").await,
        (runs, 0),
        "disabling stops the schedule: no run enqueued after it"
    );
    assert_eq!(
        rec.values("dormant").len(),
        settled,
        "disabling stops the schedule"
    );

    // Once that window has run, the next one is not enqueued (ahead) until a tick before it.
    let window = enqueued(&later, "every_second")
        .into_iter()
        .max()
        .expect("the tick enqueued a window")
        .timestamp_millis();
    eventually("the run of that window of every_second", || async {
        rec.values("every_second").contains(&window).then_some(())
    })
    .await;
    let status = scheduler
        .periodic_job_status(&every_key)
        .await
        .expect("status");
    assert!(status.info.enabled);
    assert!(status.last_window.is_some());
    assert!(status.info.next_fire > status.last_window);
    let last_run = eventually("the last window to run", || async {
        let status = scheduler
            .periodic_job_status(&every_key)
            .await
            .expect("status");
        status
            .last_run
            .filter(|job| job.status == JobStatus::Completed)
    })
    .await;
    assert_eq!(last_run.name, "every_second");
    assert!(matches!(
        scheduler.enable_periodic_job("no-such-key").await,
        Err(pgsched::Error::UnknownPeriodicJob { .. })
    ));
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_failing_run_does_not_end_the_chain() {
    let t = setup().await;
    let rec = &t.rec;
    let scheduler = worker(&t, TickSource::default()).await;
    let windows = rec.wait_for("always_failing", 3).await;
    scheduler.shutdown().await.expect("shutdown");
    assert!(
        windows.windows(2).all(|pair| pair[1] > pair[0]),
        "{windows:?}"
    );
    let status = scheduler
        .periodic_job_status("always_failing")
        .await
        .expect("status");
    assert!(status.info.enabled);
}

#[tokio::test]
async fn exclusive_runs_never_overlap_across_workers_and_none_is_skipped() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let first = worker(&t, TickSource::default()).await;
    let second = worker(&t, TickSource::default()).await;
    // Four runs of 1.2 s with windows every second: each window's run found the previous
    // one running (on either worker) and had to wait for it.
    rec.wait_for("locked_end", 4).await;
    let mut starts = rec.values("locked_start");
    let mut ends = rec.values("locked_end");
    starts.sort_unstable();
    ends.sort_unstable();
    // No overlap: every run ended before the next one started.
    for (end, next_start) in ends.iter().zip(starts.iter().skip(1)) {
        assert!(
            end <= next_start,
            "two runs of one exclusive schedule overlapped: starts {starts:?}, ends {ends:?}"
        );
    }
    let mut connection = db.connect().await;
    let (cancelled, running): (i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT count(*) FILTER (WHERE status = 'cancelled'), \
                count(*) FILTER (WHERE status = 'running') \
           FROM \"{}\".jobs WHERE name = 'locked'",
        db.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("query");
    assert_eq!(cancelled, 0, "a run that waited is not skipped");
    assert!(running <= 1, "at most one run of the key is running");
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn deleting_finished_runs_immediately_never_reopens_their_windows() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let vacuum = pgsched::VacuumConfig::new()
        .completed(pgsched::VacuumPolicy::immediate())
        .cancelled(pgsched::VacuumPolicy::immediate())
        .failed(pgsched::VacuumPolicy::immediate())
        .interval(Duration::from_millis(100))
        .track_metrics(true);
    let start = |rec: Recorder| {
        let db = db.clone();
        async move {
            let scheduler = db
                .scheduler(|b| {
                    b.state(rec)
                        .periodic_tick(Duration::from_millis(200))
                        .vacuum(vacuum)
                })
                .await;
            scheduler.start().await.expect("worker");
            scheduler
        }
    };
    let first = start(rec.clone()).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = start(rec.clone()).await;
    rec.wait_for("every_second", 5).await;
    let deleted = eventually("retention to delete finished runs", || async {
        let totals = first.total_vacuum_stats().await.expect("totals");
        (totals.deleted.completed >= 3).then_some(totals.deleted.completed)
    })
    .await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    let mut windows = rec.values("every_second");
    let runs = windows.len();
    windows.sort_unstable();
    windows.dedup();
    assert_eq!(
        windows.len(),
        runs,
        "one run per window although finished runs were deleted"
    );
    assert!(
        windows.windows(2).all(|pair| pair[1] - pair[0] == 1000),
        "{windows:?}"
    );
    println!("immediate retention: {runs} windows, {deleted} finished runs deleted, 0 duplicates");
}

#[tokio::test]
async fn management_calls_take_the_generated_key_or_the_job_name() {
    assert_eq!(keyed_apart::KEY, "keyed-apart", "the dedup key");
    assert_eq!(
        every_second::KEY,
        "every_second",
        "the default key: the name"
    );
    let t = setup().await;
    let scheduler = &t.scheduler;
    assert!(
        scheduler
            .enable_periodic_job(keyed_apart::NAME)
            .await
            .expect("enable by name")
    );
    let status = scheduler
        .periodic_job_status(keyed_apart::KEY)
        .await
        .expect("status by key");
    assert_eq!(status.info.key, "keyed-apart");
    assert!(status.info.enabled, "enabled through its job name");
    assert!(
        scheduler
            .disable_periodic_job(keyed_apart::KEY)
            .await
            .expect("disable by key")
    );
    let status = scheduler
        .periodic_job_status(keyed_apart::NAME)
        .await
        .expect("status by name");
    assert!(!status.info.enabled);
    let run = scheduler
        .trigger_periodic_job(keyed_apart::NAME)
        .await
        .expect("trigger by name");
    assert!(
        run.as_str().starts_with("manual:keyed-apart:"),
        "a run names the key: {run}"
    );
}
