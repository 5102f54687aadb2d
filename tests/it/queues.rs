//! Named queues in one process: a worker runs only the queues it serves; a job's queue and
//! concurrency key come from its attribute or the call and are stored with it; settings are
//! listed and refused when invalid. (Flow control across processes: `tests/chaos/queues.rs`.)

use chrono::Utc;
use pgsched::{Error, QueueName};
use pgsched_tests::{eventually, next_event, setup_with};

use crate::jobs::{mark, per_tenant};

#[tokio::test]
async fn a_worker_runs_only_the_queues_it_serves() {
    let t = setup_with(|b| b.queue("fast", 2)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let earlier = Utc::now() - chrono::Duration::seconds(5);
    // Due first, in a queue this worker does not serve.
    let elsewhere = mark::schedule(
        earlier,
        mark::Args {
            label: "ran".into(),
            value: 1,
        },
    )
    .queue("slow")
    .on(scheduler)
    .await
    .expect("scheduled");
    mark::enqueue(mark::Args {
        label: "ran".into(),
        value: 2,
    })
    .queue("fast")
    .on(scheduler)
    .await
    .expect("scheduled");
    // In the default queue, which a worker listing its queues serves only if it lists it.
    mark::enqueue(mark::Args {
        label: "ran".into(),
        value: 3,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("ran", 1).await, [2]);
    // The job of `slow` went first in claim order (due earlier), yet the worker's claims in
    // its only queue passed it by, and the default queue's job too.
    let slow = scheduler
        .job(&elsewhere)
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(slow.queue.as_str(), "slow");
    assert_eq!(slow.status, pgsched::JobStatus::Pending);
    let waiting: Vec<(String, u64)> = scheduler
        .queues()
        .await
        .expect("queues")
        .into_iter()
        .filter(|queue| queue.name.as_str() != "fast")
        .map(|queue| (queue.name.to_string(), queue.pending))
        .collect();
    assert_eq!(waiting, [("default".into(), 1), ("slow".into(), 1)]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_attribute_sets_queue_and_key_and_the_call_overrides_them() {
    let t = setup_with(|b| b.queue("tenants", 4)).await;
    let scheduler = &t.scheduler;
    let from_attribute = per_tenant::enqueue(per_tenant::Args {
        tenant: 42,
        value: 1,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    let overridden = per_tenant::enqueue(per_tenant::Args {
        tenant: 42,
        value: 2,
    })
    .queue("default")
    .concurrency_key("account:7")
    .on(scheduler)
    .await
    .expect("scheduled");
    let job = scheduler
        .job(&from_attribute)
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.queue, QueueName::new("tenants").expect("valid"));
    assert_eq!(job.concurrency_key.as_deref(), Some("per_tenant:42"));
    let job = scheduler
        .job(&overridden)
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.queue, QueueName::DEFAULT);
    assert_eq!(job.concurrency_key.as_deref(), Some("account:7"));
    // The worker serves `tenants` only: the first runs, with its key's limit of 2.
    scheduler.start().await.expect("worker");
    assert_eq!(t.rec.wait_for("tenant", 1).await, [1]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn invalid_queue_settings_are_refused_with_the_reason() {
    let t = setup_with(|b| b).await;
    let scheduler = &t.scheduler;
    let refused = mark::enqueue(mark::Args {
        label: "x".into(),
        value: 0,
    })
    .queue("")
    .on(scheduler)
    .await
    .expect_err("empty queue name");
    assert!(
        matches!(
            &refused,
            Error::InvalidInput {
                what: "queue name",
                ..
            }
        ),
        "{refused}"
    );
    let refused = scheduler
        .set_queue_limit("emails", 0)
        .await
        .expect_err("a limit of 0");
    assert!(
        refused.to_string().contains("pause the queue instead"),
        "{refused}"
    );
    let refused = mark::enqueue(mark::Args {
        label: "x".into(),
        value: 0,
    })
    .concurrency_key("k")
    .concurrency(0)
    .on(scheduler)
    .await
    .expect_err("0 per key");
    assert!(refused.to_string().contains("at least 1"), "{refused}");
    // Limits past the largest are refused, saying which is the largest.
    let too_many = pgsched::MAX_CONCURRENCY_LIMIT + 1;
    let refused = scheduler
        .set_queue_limit("emails", too_many)
        .await
        .expect_err("a limit over the largest");
    assert!(
        refused
            .to_string()
            .contains(&pgsched::MAX_CONCURRENCY_LIMIT.to_string()),
        "{refused}"
    );
    let refused = mark::enqueue(mark::Args {
        label: "x".into(),
        value: 0,
    })
    .concurrency_key("k")
    .concurrency(too_many)
    .on(scheduler)
    .await
    .expect_err("a key limit over the largest");
    assert!(
        refused
            .to_string()
            .contains(&pgsched::MAX_CONCURRENCY_LIMIT.to_string()),
        "{refused}"
    );
    // Nothing was written by the refused calls.
    assert!(scheduler.queues().await.expect("queues").is_empty());
    // Settings round-trip.
    scheduler.set_queue_limit("emails", 4).await.expect("limit");
    scheduler
        .set_queue_rate("emails", Some("10/1s".parse().expect("rate")))
        .await
        .expect("rate");
    scheduler.pause_queue("emails").await.expect("pause");
    let emails = eventually("the settings are listed", || async {
        scheduler
            .queues()
            .await
            .ok()
            .and_then(|queues| queues.into_iter().find(|q| q.name.as_str() == "emails"))
    })
    .await;
    assert!(emails.settings.paused);
    assert_eq!(emails.settings.concurrency_limit, Some(4));
    assert_eq!(
        emails.settings.rate_limit.map(|rate| rate.to_string()),
        Some("10/1s".to_owned())
    );
    scheduler
        .set_queue_limit("emails", None)
        .await
        .expect("lift");
    scheduler
        .set_queue_rate("emails", None)
        .await
        .expect("lift");
    let rate_slots: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.rate_slots",
        t.schema()
    )))
    .fetch_one(t.pool())
    .await
    .expect("count");
    assert_eq!(rate_slots, 0, "a lifted rate limit leaves no slots");
}

/// Writes `count` due `mark` jobs into `queue`.
async fn due_in(scheduler: &pgsched::Scheduler, queue: &str, count: usize) {
    marks_due(scheduler, count, |spec| spec.queue(queue)).await;
}

/// Writes `count` due `mark` jobs, each spec as `shape` makes it.
async fn marks_due(
    scheduler: &pgsched::Scheduler,
    count: usize,
    shape: impl Fn(pgsched::JobSpec) -> pgsched::JobSpec,
) {
    for _ in 0..count {
        scheduler
            .schedule(
                shape(pgsched::JobSpec::by_name("mark", vec![])),
                pgsched::ConflictResolution::Raise,
            )
            .await
            .expect("scheduled");
    }
}

#[tokio::test]
async fn one_claim_takes_from_every_queue_it_asks_within_each_queues_own_limits() {
    use pgsched_core::store::{ClaimFloor, JobStore, QueueClaim};
    let t = setup_with(|b| b).await;
    let scheduler = &t.scheduler;
    for queue in ["open", "limited", "paused", "small"] {
        due_in(scheduler, queue, 5).await;
    }
    scheduler
        .set_queue_limit("limited", 2)
        .await
        .expect("limit");
    scheduler.pause_queue("paused").await.expect("pause");
    // Two jobs of one exclusive key in two queues: one claim takes only one of them.
    let jobs = format!(
        "{}.jobs",
        pgsched::__private::store(scheduler).schema().quoted()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {jobs} (id, name, payload, run_at, queue, exclusive_key) \
         VALUES ('x-open', 'mark', '\\x', now() - interval '1 minute', 'x1', 'only-one'), \
                ('x-other', 'mark', '\\x', now() - interval '1 minute', 'x2', 'only-one')"
    )))
    .execute(scheduler.pool())
    .await
    .expect("exclusive jobs written");
    let names: Vec<QueueName> = ["open", "limited", "paused", "small", "x1", "x2"]
        .into_iter()
        .map(|name| QueueName::new(name).expect("a queue name"))
        .collect();
    let limits = [3, 5, 5, 1, 1, 1];
    let asks: Vec<QueueClaim<'_>> = names
        .iter()
        .zip(limits)
        .map(|(queue, limit)| QueueClaim {
            queue,
            limit,
            floor: &ClaimFloor::FRONT,
            passing: &[],
        })
        .collect();
    let claimed = pgsched::__private::store(scheduler)
        .claim_queues("worker-a", &asks, std::time::Duration::from_secs(30))
        .await
        .expect("claimed");
    let by_queue: Vec<&str> = claimed.iter().map(|job| job.queue.as_str()).collect();
    // Each queue's take as if claimed alone: 3 of 5 asked, 2 under the limit of 2 though 5
    // were asked, none from the paused queue, 1 asked; grouped in the order asked.
    assert_eq!(
        by_queue[..6],
        ["open", "open", "open", "limited", "limited", "small"],
        "{by_queue:?}"
    );
    // And one job of the exclusive key, not one per queue.
    assert_eq!(by_queue.len(), 7, "{by_queue:?}");
    assert!(["x1", "x2"].contains(&by_queue[6]), "{by_queue:?}");
    let held: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.running_slots WHERE queue = 'limited'",
        pgsched::__private::store(scheduler).schema().quoted()
    )))
    .fetch_one(scheduler.pool())
    .await
    .expect("slots counted");
    assert_eq!(held, 2, "the limited queue's two slots are held");
}

#[tokio::test]
async fn a_queue_whose_slots_are_busy_does_not_hold_back_another_queue_of_the_worker() {
    let t = setup_with(|b| b.queue("busy", 1).queue("quick", 1)).await;
    let scheduler = &t.scheduler;
    // `busy` has more work than slots, each job 5 s long.
    for _ in 0..3 {
        crate::jobs::nap::enqueue(crate::jobs::nap::Args { millis: 5_000 })
            .queue("busy")
            .on(scheduler)
            .await
            .expect("scheduled");
    }
    scheduler.start().await.expect("worker");
    t.rec.wait_for("start", 1).await;
    // While `busy` holds its only slot, a job of `quick` arrives: the one claim loop that
    // serves both lanes runs it at once, not after `busy`'s backlog.
    mark::enqueue(mark::Args {
        label: "quick".into(),
        value: 1,
    })
    .queue("quick")
    .on(scheduler)
    .await
    .expect("scheduled");
    assert_eq!(t.rec.wait_for("quick", 1).await, [1]);
    assert_eq!(
        t.rec.values("start").len(),
        1,
        "`quick` ran while the first `busy` job still held its lane's only slot"
    );
    scheduler.shutdown().await.expect("shutdown");
}

/// One claim of up to `limit` jobs of `queue` for worker `w`, passing on the slots of
/// `passing`.
async fn claim_passing(
    scheduler: &pgsched::Scheduler,
    queue: &QueueName,
    limit: u32,
    passing: &[pgsched_core::store::Lease],
) -> Vec<pgsched_core::store::ClaimedJob> {
    use pgsched_core::store::{ClaimFloor, JobStore, QueueClaim};
    pgsched::__private::store(scheduler)
        .claim_queues(
            "w",
            &[QueueClaim {
                queue,
                limit,
                floor: &ClaimFloor::FRONT,
                passing,
            }],
            std::time::Duration::from_secs(30),
        )
        .await
        .expect("claimed")
}

/// The jobs holding a slot of `queue`, by slot.
async fn slot_holders(t: &pgsched_tests::Setup, queue: &str) -> Vec<(i32, String)> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT queue_slot, job_id FROM {}.running_slots WHERE queue = $1 ORDER BY queue_slot",
        t.schema()
    )))
    .bind(queue)
    .fetch_all(t.pool())
    .await
    .expect("slots read")
}

#[tokio::test]
async fn an_ended_jobs_slot_passes_to_the_next_claim_before_its_outcome_is_written() {
    use pgsched_core::store::{Finish, JobStore, Lease};
    let t = setup_with(|b| b).await;
    let scheduler = &t.scheduler;
    let store = pgsched::__private::store(scheduler);
    scheduler.set_queue_limit("one", 1).await.expect("limit");
    due_in(scheduler, "one", 4).await;
    let queue = QueueName::new("one").expect("a queue name");
    let status = |lease: &Lease| {
        let id = lease.id.clone();
        async move {
            scheduler
                .job(&id)
                .await
                .expect("inspect")
                .expect("exists")
                .status
        }
    };

    let first = claim_passing(scheduler, &queue, 1, &[]).await;
    assert_eq!(first.len(), 1);
    let ended = first[0].lease.clone();
    assert!(
        first[0].passes_slot,
        "an unkeyed job of a limited queue can pass its slot on"
    );
    assert!(
        claim_passing(scheduler, &queue, 1, &[]).await.is_empty(),
        "the limit of 1 is held"
    );

    // The job ended; its outcome is not written yet. The next claim takes its slot over.
    let second = claim_passing(scheduler, &queue, 1, std::slice::from_ref(&ended)).await;
    assert_eq!(
        second.len(),
        1,
        "the slot passed on let the claim take a job"
    );
    let next = second[0].lease.clone();
    assert_eq!(status(&ended).await, pgsched::JobStatus::Running);
    assert_eq!(slot_holders(&t, "one").await, [(0, next.id.to_string())]);
    // A slot passes on once: passing the same job again takes nothing, the slot being the
    // new holder's; so does a lease that is not the holder's.
    assert!(
        claim_passing(scheduler, &queue, 1, std::slice::from_ref(&ended))
            .await
            .is_empty()
    );
    let stale = Lease {
        id: next.id.clone(),
        token: next.token.wrapping_add(1),
    };
    assert!(
        claim_passing(scheduler, &queue, 1, &[stale])
            .await
            .is_empty()
    );

    // The ended job's outcome, written now, frees nothing: the slot is the new holder's.
    let written = store
        .finish(&[(ended.clone(), Finish::Completed)])
        .await
        .expect("outcome written");
    assert_eq!(written, [true]);
    assert_eq!(status(&ended).await, pgsched::JobStatus::Completed);
    assert_eq!(slot_holders(&t, "one").await, [(0, next.id.to_string())]);
    assert!(
        claim_passing(scheduler, &queue, 1, &[]).await.is_empty(),
        "still 1 running"
    );

    // A slot above a lowered limit is not passed on: it frees with its holder's outcome.
    scheduler
        .set_queue_limit("one", 2)
        .await
        .expect("limit raised");
    let above = claim_passing(scheduler, &queue, 1, &[]).await;
    assert_eq!(above.len(), 1);
    assert_eq!(
        slot_holders(&t, "one").await[1],
        (1, above[0].lease.id.to_string())
    );
    scheduler
        .set_queue_limit("one", 1)
        .await
        .expect("limit lowered");
    assert!(
        claim_passing(scheduler, &queue, 1, std::slice::from_ref(&above[0].lease))
            .await
            .is_empty(),
        "slot 1 is not passed on under a limit of 1"
    );
    assert_eq!(
        slot_holders(&t, "one").await.len(),
        2,
        "both holders keep their slots"
    );
}

#[tokio::test]
async fn a_job_recovered_before_its_slot_was_passed_on_passes_nothing() {
    use pgsched_core::store::JobStore;
    let t = setup_with(|b| b).await;
    let scheduler = &t.scheduler;
    let store = pgsched::__private::store(scheduler);
    scheduler.set_queue_limit("one", 1).await.expect("limit");
    due_in(scheduler, "one", 3).await;
    let queue = QueueName::new("one").expect("a queue name");
    let first = claim_passing(scheduler, &queue, 1, &[]).await;
    let zombie = first[0].lease.clone();
    // Its worker stalls after the job ended, before its next claim: the lease expires and
    // the sweep sends the job back, freeing its slot.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {}.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        t.schema()
    )))
    .bind(zombie.id.as_str())
    .execute(t.pool())
    .await
    .expect("lease expired");
    let recovered = store.recover_orphans(10).await.expect("recovered");
    assert_eq!(recovered.requeued, std::slice::from_ref(&zombie.id));
    assert!(slot_holders(&t, "one").await.is_empty());
    // The worker wakes and passes the slot it no longer has: its claim takes the free slot
    // for one job, and the queue's limit of 1 holds.
    let taken = claim_passing(scheduler, &queue, 1, std::slice::from_ref(&zombie)).await;
    assert_eq!(taken.len(), 1);
    assert_eq!(
        slot_holders(&t, "one").await,
        [(0, taken[0].lease.id.to_string())]
    );
    assert!(
        claim_passing(scheduler, &queue, 1, std::slice::from_ref(&zombie))
            .await
            .is_empty(),
        "the zombie's lease passes nothing: the limit of 1 is held"
    );
}

/// When the earliest claimable job of the queues `names` is due (the store's `next_due`).
async fn next_due_of(t: &pgsched_tests::Setup, names: &[&str]) -> Option<std::time::Duration> {
    use pgsched_core::store::JobStore;
    let names: Vec<QueueName> = names
        .iter()
        .map(|name| QueueName::new(*name).expect("a queue name"))
        .collect();
    pgsched::__private::store(&t.scheduler)
        .next_due(&names)
        .await
        .expect("next due")
}

/// Sets when every rate slot of `queue` is free again, as an interval from now: in the past
/// as an idle rate-limited queue's are once its jobs have run, or in the future as if taken.
async fn rate_slots_free_in(t: &pgsched_tests::Setup, queue: &str, from_now: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {}.rate_slots SET free_at = now() + $2::interval WHERE queue = $1",
        t.schema()
    )))
    .bind(queue)
    .bind(from_now)
    .execute(t.pool())
    .await
    .expect("rate slots set");
}

#[tokio::test]
async fn next_due_gives_the_earliest_claimable_job_of_all_the_queues_waited_on() {
    use std::time::Duration;
    let t = setup_with(|b| b).await;
    let scheduler = &t.scheduler;
    for name in ["idle_rated", "rated", "rated_keyed", "fresh_rated"] {
        scheduler
            .set_queue_rate(name, Some("2/1h".parse().expect("rate")))
            .await
            .expect("rate");
    }
    rate_slots_free_in(&t, "idle_rated", "-1 minute").await;
    rate_slots_free_in(&t, "rated", "1 hour").await;
    rate_slots_free_in(&t, "rated_keyed", "30 seconds").await;
    due_in(scheduler, "rated", 1).await;
    keyed_due_in(scheduler, "rated_keyed", "k", 1, 1).await;
    // A keyed job in a queue whose rate slots were never used (free since `-infinity`).
    keyed_due_in(scheduler, "fresh_rated", "k", 1, 1).await;
    due_in(scheduler, "open", 1).await;
    due_in(scheduler, "paused", 1).await;
    scheduler.pause_queue("paused").await.expect("pause");

    // Nothing pending: nothing due, however long ago its rate slots were used (not "due now",
    // which made an idle worker claim every few milliseconds).
    assert_eq!(next_due_of(&t, &["idle_rated"]).await, None);
    assert_eq!(next_due_of(&t, &["empty"]).await, None);
    assert_eq!(next_due_of(&t, &["paused"]).await, None, "a paused queue");
    // A keyed job with its queue's rate free waits on its key, whose freeing notifies.
    assert_eq!(next_due_of(&t, &["fresh_rated"]).await, None);
    assert_eq!(next_due_of(&t, &["open"]).await, Some(Duration::ZERO));
    // A pending job waits for its queue's first rate slot, keyed or not.
    let rated = next_due_of(&t, &["rated"]).await.expect("due in an hour");
    assert!(
        rated > Duration::from_secs(3_500) && rated <= Duration::from_secs(3_600),
        "{rated:?}"
    );
    let in_30_s = |due: Option<Duration>| {
        due.is_some_and(|due| due > Duration::from_secs(20) && due <= Duration::from_secs(30))
    };
    let keyed = next_due_of(&t, &["rated_keyed"]).await;
    assert!(in_30_s(keyed), "{keyed:?}");
    // Over several queues, the earliest of those that have one.
    assert_eq!(
        next_due_of(&t, &["paused", "idle_rated", "empty"]).await,
        None,
        "none of them has a claimable job"
    );
    let earliest = next_due_of(&t, &["rated", "idle_rated", "rated_keyed"]).await;
    assert!(in_30_s(earliest), "the keyed job's: {earliest:?}");
    assert_eq!(
        next_due_of(&t, &["rated", "open", "paused"]).await,
        Some(Duration::ZERO)
    );
}

#[tokio::test]
async fn an_idle_worker_on_a_rate_limited_queue_waits_for_its_poll_once_the_work_is_done() {
    use pgsched_core::runtime::{TickEvent, TickSource};
    use std::time::Duration;
    let poll = Duration::from_secs(3600);
    let ticks = TickSource::observed();
    let mut events = ticks.subscribe().expect("an observed source reports");
    let t = setup_with(|b| b.poll_interval(poll).tick_source(ticks)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    // Its one rate slot is free again 100 ms after the start: from then on its free time lies
    // in the past.
    scheduler
        .set_queue_rate("default", Some("1/100ms".parse().expect("rate")))
        .await
        .expect("rate");
    mark::enqueue(mark::Args {
        label: "rated".into(),
        value: 1,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    scheduler.start().await.expect("worker starts");
    assert_eq!(rec.wait_for("rated", 1).await, [1]);
    // Nothing is pending: the claim loop sleeps on its poll (a notification wakes it), where
    // it used to read the used rate slots as a job due now and claim every 10 ms.
    let mut short_waits = 0;
    next_event(&mut events, "an idle wait of the poll interval", |event| {
        match event {
            TickEvent::ClaimIdle { wait } if *wait == poll => return Some(()),
            TickEvent::ClaimIdle { .. } => short_waits += 1,
            _ => {}
        }
        None
    })
    .await;
    assert!(
        short_waits <= 1,
        "{short_waits} idle waits shorter than the poll"
    );
    scheduler.shutdown().await.expect("shutdown");
}

/// Writes `count` due `mark` jobs of concurrency key `key` into `queue`, `concurrency` of the
/// key's jobs allowed to run at once.
async fn keyed_due_in(
    scheduler: &pgsched::Scheduler,
    queue: &str,
    key: &str,
    concurrency: u32,
    count: usize,
) {
    marks_due(scheduler, count, |spec| {
        spec.queue(queue)
            .concurrency_key(key)
            .concurrency(concurrency)
    })
    .await;
}

#[tokio::test]
async fn a_per_key_rate_limit_holds_each_key_to_its_starts_until_its_period_has_passed() {
    use pgsched_core::store::{Finish, JobStore};
    use std::collections::BTreeMap;
    let t = setup_with(|b| b).await;
    let scheduler = &t.scheduler;
    let store = pgsched::__private::store(scheduler);
    let queue = QueueName::new("tenants").expect("a queue name");
    scheduler
        .set_queue_key_rate("tenants", Some("2/1h".parse().expect("rate")))
        .await
        .expect("key rate");
    let listed = scheduler.queues().await.expect("queues");
    assert_eq!(
        listed[0]
            .settings
            .key_rate_limit
            .map(|rate| rate.to_string()),
        Some("2/1h".to_owned())
    );
    // Three keys of four jobs each, up to five of a key running at once: the rate, not the
    // key's concurrency, is what holds them.
    for key in ["a", "b", "c"] {
        keyed_due_in(scheduler, "tenants", key, 5, 4).await;
    }
    let per_key = |jobs: &[pgsched_core::store::ClaimedJob]| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for job in jobs {
            *counts
                .entry(job.concurrency_key.clone().unwrap_or_default())
                .or_default() += 1;
        }
        counts
    };
    let two_each: BTreeMap<String, usize> = [("a", 2), ("b", 2), ("c", 2)]
        .map(|(k, n)| (k.to_owned(), n))
        .into();
    let first = claim_passing(scheduler, &queue, 20, &[]).await;
    assert_eq!(
        per_key(&first),
        two_each,
        "two starts per key, though 20 were asked"
    );
    let outcomes: Vec<_> = first
        .iter()
        .map(|job| (job.lease.clone(), Finish::Completed))
        .collect();
    store.finish(&outcomes).await.expect("finished");
    // Nothing runs now, yet every key used its starts for the hour.
    assert!(claim_passing(scheduler, &queue, 20, &[]).await.is_empty());
    let due = next_due_of(&t, &["tenants"]).await.expect("due in an hour");
    assert!(due > std::time::Duration::from_secs(3_500), "{due:?}");

    // An hour on for key `a` only (its slots' free times moved back): it starts two more.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {}.key_rate_slots SET free_at = now() - interval '1 second' \
          WHERE concurrency_key = 'a'",
        t.schema()
    )))
    .execute(t.pool())
    .await
    .expect("an hour passed for a");
    let second = claim_passing(scheduler, &queue, 20, &[]).await;
    assert_eq!(
        per_key(&second),
        [("a".to_owned(), 2)].into(),
        "only the key whose period passed"
    );
    // The sweep's prune removes only rate slots free again: none now (a's were taken again).
    assert_eq!(store.prune_key_rate_slots(100).await.expect("pruned"), 0);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {}.key_rate_slots SET free_at = now() - interval '1 second' \
          WHERE concurrency_key = 'b'",
        t.schema()
    )))
    .execute(t.pool())
    .await
    .expect("an hour passed for b");
    assert_eq!(store.prune_key_rate_slots(100).await.expect("pruned"), 2);
    // A slot without a row is free: b starts two more.
    let third = claim_passing(scheduler, &queue, 20, &[]).await;
    assert_eq!(per_key(&third), [("b".to_owned(), 2)].into());
    // Lifted: c's last two start at once.
    scheduler
        .set_queue_key_rate("tenants", None)
        .await
        .expect("lifted");
    let fourth = claim_passing(scheduler, &queue, 20, &[]).await;
    assert_eq!(per_key(&fourth), [("c".to_owned(), 2)].into());
    // Too many starts for one key are refused with the reason.
    let refused = scheduler
        .set_queue_key_rate("tenants", Some("5000/1s".parse().expect("rate")))
        .await
        .expect_err("over the largest per-key rate");
    assert!(refused.to_string().contains("1000 starts"), "{refused}");
}
