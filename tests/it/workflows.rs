//! Workflows: jobs that run after others. A dependent is blocked until every parent has
//! completed, follows its policy when one ends otherwise, refuses cycles and missing parents,
//! and is released exactly once when its last parents complete together.

use std::time::Duration;

use chrono::Utc;
use pgsched::{
    ConflictResolution, Error, JobInfo, JobSpec, JobStatus, OnParentFailure, Scheduled, Scheduler,
};
use pgsched_core::store::{ClaimFloor, Finish, JobStore};
use pgsched_tests::{eventually, setup};

use crate::jobs::{mark, refuse};

/// A `mark` job recording `value` under `label`.
fn marker(label: &str, value: i64) -> JobSpec {
    mark::spec(
        Utc::now(),
        mark::Args {
            label: label.into(),
            value,
        },
    )
}

async fn job(scheduler: &Scheduler, id: &str) -> JobInfo {
    scheduler
        .job(id)
        .await
        .expect("inspect")
        .expect("the job exists")
}

async fn settled(scheduler: &Scheduler, id: &str, status: JobStatus) -> JobInfo {
    eventually(&format!("job {id} to be {status}"), || async {
        let job = scheduler.job(id).await.expect("inspect")?;
        (job.status == status).then_some(job)
    })
    .await
}

async fn schedule(scheduler: &Scheduler, spec: JobSpec) -> String {
    scheduler
        .schedule(spec, ConflictResolution::Raise)
        .await
        .expect("scheduled")
        .to_string()
}

#[tokio::test]
async fn a_dependent_runs_once_every_parent_has_completed() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let first = schedule(scheduler, marker("parent", 1)).await;
    let second = schedule(scheduler, marker("parent", 2)).await;
    let child = schedule(scheduler, marker("child", 3).after([&first, &second])).await;

    let blocked = job(scheduler, &child).await;
    assert_eq!(blocked.status, JobStatus::Blocked);
    let mut parents = vec![first.clone(), second.clone()];
    parents.sort();
    let listed: Vec<String> = blocked.parents.iter().map(ToString::to_string).collect();
    assert_eq!(listed, parents);
    assert_eq!(
        job(scheduler, &first).await.dependents,
        std::slice::from_ref(&blocked.id),
        "a parent lists its dependents"
    );

    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("child", 1).await, [3]);
    let order: Vec<String> = rec.events().into_iter().map(|(label, _)| label).collect();
    assert_eq!(order, ["parent", "parent", "child"], "the child ran last");
    let done = settled(scheduler, &child, JobStatus::Completed).await;
    assert_eq!(done.last_error, None);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_failed_parent_cancels_its_dependents_and_theirs_by_default() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let parent = schedule(scheduler, refuse::spec(Utc::now(), refuse::Args {})).await;
    let child = schedule(scheduler, marker("child", 1).after([&parent])).await;
    let grandchild = schedule(scheduler, marker("grandchild", 2).after([&child])).await;
    scheduler.start().await.expect("worker");

    let cancelled = settled(scheduler, &child, JobStatus::Cancelled).await;
    let error = cancelled.last_error.expect("the reason is stated");
    assert!(
        error.contains(&format!("parent {parent} ended failed")) && error.contains("cancelled"),
        "{error}"
    );
    assert!(cancelled.finished_at.is_some());
    let cascaded = settled(scheduler, &grandchild, JobStatus::Cancelled).await;
    let error = cascaded.last_error.expect("the reason is stated");
    assert!(
        error.contains(&format!("parent {child} ended cancelled")),
        "{error}"
    );
    scheduler.shutdown().await.expect("shutdown");
    assert!(t.rec.values("child").is_empty() && t.rec.values("grandchild").is_empty());
}

#[tokio::test]
async fn a_dependent_that_runs_anyway_runs_after_a_failed_parent() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let store = pgsched::__private::store(scheduler);
    let failing = schedule(scheduler, marker("failing", 0).job_id("failing")).await;
    let fine = schedule(scheduler, marker("fine", 1).job_id("fine")).await;
    let child = schedule(
        scheduler,
        marker("child", 2)
            .after([&failing, &fine])
            .on_parent_failure(OnParentFailure::Run),
    )
    .await;
    // The first parent fails (on a worker of the test's own: the store's calls).
    let claimed = store
        .claim(
            "worker-a",
            &pgsched_core::QueueName::DEFAULT,
            1,
            Duration::from_secs(30),
            &ClaimFloor::FRONT,
        )
        .await
        .expect("claim");
    assert_eq!(claimed[0].lease.id.as_str(), failing);
    let failed = Finish::Failed {
        error: "error: broken".into(),
    };
    store
        .finish(&[(claimed[0].lease.clone(), failed)])
        .await
        .expect("finish");
    let waiting = job(scheduler, &child).await;
    assert_eq!(
        waiting.status,
        JobStatus::Blocked,
        "the other parent has not completed"
    );
    let error = waiting.last_error.expect("the parent's failure is stated");
    assert!(
        error.contains(&format!("parent {failing} ended failed")) && error.contains("runs anyway"),
        "{error}"
    );
    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("child", 1).await, [2]);
    settled(scheduler, &child, JobStatus::Completed).await;
    assert_eq!(rec.values("fine"), [1]);
    assert!(rec.values("failing").is_empty());
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn cancelled_and_expired_parents_apply_the_policy_too() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    // Cancelled while it waited: its dependent is cancelled (no worker runs).
    let waiting = schedule(
        scheduler,
        marker("never", 1).at(Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    let cancelled_child = schedule(scheduler, marker("never", 2).after([&waiting])).await;
    let run_anyway = schedule(
        scheduler,
        marker("never", 3)
            .after([&waiting])
            .on_parent_failure(OnParentFailure::Run),
    )
    .await;
    assert!(scheduler.cancel_job(&waiting).await.expect("cancel"));
    let child = job(scheduler, &cancelled_child).await;
    assert_eq!(
        child.status,
        JobStatus::Cancelled,
        "cancelled with its parent"
    );
    assert!(
        child
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("ended cancelled")),
        "{child:?}"
    );
    let anyway = job(scheduler, &run_anyway).await;
    assert_eq!(
        anyway.status,
        JobStatus::Pending,
        "released: it runs anyway"
    );

    // A blocked job can be cancelled itself; its own dependents follow.
    let root = schedule(
        scheduler,
        marker("never", 4).at(Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    let middle = schedule(scheduler, marker("never", 5).after([&root])).await;
    let leaf = schedule(scheduler, marker("never", 6).after([&middle])).await;
    assert!(scheduler.cancel_job(&middle).await.expect("cancel"));
    assert_eq!(job(scheduler, &leaf).await.status, JobStatus::Cancelled);

    // Expired (never started within its misfire grace): the sweep expires it.
    let late = schedule(
        scheduler,
        marker("never", 7)
            .at(Utc::now() - chrono::Duration::minutes(10))
            .misfire_grace(Duration::from_secs(1)),
    )
    .await;
    let after_late = schedule(scheduler, marker("never", 8).after([&late])).await;
    let expired = scheduler.expire_misfired_jobs().await.expect("sweep");
    assert!(expired.iter().any(|id| id.as_str() == late), "{expired:?}");
    let child = job(scheduler, &after_late).await;
    assert_eq!(child.status, JobStatus::Cancelled);
    assert!(
        child
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains(&format!("parent {late} ended expired"))),
        "{child:?}"
    );
}

#[tokio::test]
async fn a_dependency_on_a_job_that_already_ended_is_settled_at_once() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let done = schedule(scheduler, marker("first", 1)).await;
    settled(scheduler, &done, JobStatus::Completed).await;
    let failed = schedule(scheduler, refuse::spec(Utc::now(), refuse::Args {})).await;
    settled(scheduler, &failed, JobStatus::Failed).await;
    scheduler.shutdown().await.expect("shutdown");

    let satisfied = schedule(scheduler, marker("second", 2).after([&done])).await;
    let status = job(scheduler, &satisfied).await.status;
    assert_eq!(status, JobStatus::Pending, "claimable at once");
    let refused = schedule(scheduler, marker("never", 3).after([&done, &failed])).await;
    let child = job(scheduler, &refused).await;
    assert_eq!(
        child.status,
        JobStatus::Cancelled,
        "its policy applied at once"
    );
    assert!(
        child
            .last_error
            .is_some_and(|error| error.contains(&format!("parent {failed} ended failed")))
    );
    let anyway = schedule(
        scheduler,
        marker("anyway", 4)
            .after([&failed])
            .on_parent_failure(OnParentFailure::Run),
    )
    .await;
    assert_eq!(job(scheduler, &anyway).await.status, JobStatus::Pending);

    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("second", 1).await, [2]);
    assert_eq!(rec.wait_for("anyway", 1).await, [4]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn cycles_and_missing_parents_are_refused_and_nothing_is_written() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let cycle = vec![
        marker("a", 1).job_id("a").after(["c"]),
        marker("b", 2).job_id("b").after(["a"]),
        marker("c", 3).job_id("c").after(["b"]),
    ];
    let refused = scheduler
        .schedule_bulk(cycle, ConflictResolution::Raise, 1000)
        .await;
    let Err(Error::DependencyCycle { ids }) = refused else {
        panic!("a cycle is refused: {refused:?}");
    };
    assert_eq!(ids.len(), 4, "{ids:?}");
    let itself = scheduler
        .schedule(
            marker("self", 1).job_id("self").after(["self"]),
            ConflictResolution::Raise,
        )
        .await;
    assert!(
        matches!(itself, Err(Error::DependencyCycle { .. })),
        "{itself:?}"
    );

    let existing = schedule(scheduler, marker("x", 1).job_id("exists")).await;
    let missing = scheduler
        .schedule(
            marker("orphan", 1).after([existing.as_str(), "nowhere"]),
            ConflictResolution::Raise,
        )
        .await;
    let Err(Error::UnknownParents { ids }) = missing else {
        panic!("a missing parent is refused: {missing:?}");
    };
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].as_str(), "nowhere");
    let listed = scheduler
        .list_jobs(&pgsched::JobFilter::new())
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "only the parent exists: {listed:?}");
    assert!(
        job(scheduler, &existing).await.dependents.is_empty(),
        "no edge was written"
    );

    // Inside the caller's transaction: the refusal leaves it usable, with nothing written.
    let mut transaction = t.pool().begin().await.expect("begin");
    let refused = scheduler
        .schedule_in_tx(
            &mut transaction,
            marker("orphan", 2).after(["nowhere"]),
            ConflictResolution::Raise,
        )
        .await;
    assert!(matches!(refused, Err(Error::UnknownParents { .. })));
    let kept = scheduler
        .schedule_in_tx(
            &mut transaction,
            marker("kept", 3).after([existing.as_str()]),
            ConflictResolution::Raise,
        )
        .await
        .expect("the transaction goes on");
    transaction.commit().await.expect("commit");
    assert_eq!(
        job(scheduler, kept.as_str()).await.status,
        JobStatus::Blocked
    );

    let replace = scheduler
        .schedule(
            marker("r", 1).after([existing.as_str()]),
            ConflictResolution::Replace,
        )
        .await;
    assert!(
        matches!(
            replace,
            Err(Error::InvalidInput {
                what: "dependencies",
                ..
            })
        ),
        "{replace:?}"
    );
}

#[tokio::test]
async fn one_bulk_call_writes_a_whole_workflow_whose_jobs_refer_to_each_other() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let middle: Vec<String> = (0..20).map(|i| format!("middle-{i}")).collect();
    let mut specs = vec![marker("sink", 100).job_id("sink").after(&middle)];
    specs.extend(
        middle
            .iter()
            .enumerate()
            .map(|(i, id)| marker("middle", i as i64).job_id(id).after(["root"])),
    );
    specs.push(marker("root", -1).job_id("root"));
    // Small statements: the references cross statement boundaries.
    let results = scheduler
        .schedule_bulk(specs, ConflictResolution::Raise, 7)
        .await
        .expect("scheduled");
    assert!(
        results
            .iter()
            .all(|result| matches!(result, Scheduled::Inserted(_)))
    );
    assert_eq!(job(scheduler, "sink").await.status, JobStatus::Blocked);
    assert_eq!(job(scheduler, "root").await.dependents.len(), 20);

    let tree = scheduler
        .workflow("middle-3", 1000)
        .await
        .expect("workflow");
    assert_eq!(tree.len(), 22, "root, 20 in the middle, sink");

    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("sink", 1).await, [100]);
    assert_eq!(rec.values("middle").len(), 20);
    let order: Vec<String> = rec.events().into_iter().map(|(label, _)| label).collect();
    assert_eq!(order.first().map(String::as_str), Some("root"));
    assert_eq!(order.last().map(String::as_str), Some("sink"));
    scheduler.shutdown().await.expect("shutdown");
}

/// The last two parents of a job complete at the same instant, on two workers (two
/// connections, two finish statements in flight together): the job is released exactly once,
/// every time. Without the row lock on the child each would read the other's parent as
/// unfinished, and the job would stay blocked.
#[tokio::test]
async fn the_last_two_parents_completing_together_release_their_child_exactly_once() {
    const REPETITIONS: usize = 150;
    let t = setup().await;
    let scheduler = &t.scheduler;
    let store = pgsched::__private::store(scheduler);
    let lease = Duration::from_secs(30);
    for round in 0..REPETITIONS {
        let left = schedule(scheduler, marker("p", 1).job_id(format!("l{round}"))).await;
        let right = schedule(scheduler, marker("p", 2).job_id(format!("r{round}"))).await;
        let child = schedule(
            scheduler,
            marker("c", 3)
                .job_id(format!("c{round}"))
                .after([&left, &right]),
        )
        .await;
        let a = store
            .claim(
                "worker-a",
                &pgsched_core::QueueName::DEFAULT,
                1,
                lease,
                &ClaimFloor::FRONT,
            )
            .await
            .expect("claim");
        let b = store
            .claim(
                "worker-b",
                &pgsched_core::QueueName::DEFAULT,
                1,
                lease,
                &ClaimFloor::FRONT,
            )
            .await
            .expect("claim");
        assert_eq!((a.len(), b.len()), (1, 1), "round {round}");
        let finish_a = [(a[0].lease.clone(), Finish::Completed)];
        let finish_b = [(b[0].lease.clone(), Finish::Completed)];
        let (done_a, done_b) = tokio::join!(store.finish(&finish_a), store.finish(&finish_b));
        assert_eq!(done_a.expect("finish"), [true]);
        assert_eq!(done_b.expect("finish"), [true]);

        let released = job(scheduler, &child).await;
        assert_eq!(released.status, JobStatus::Pending, "round {round}");
        let claimed = store
            .claim(
                "worker-a",
                &pgsched_core::QueueName::DEFAULT,
                10,
                lease,
                &ClaimFloor::FRONT,
            )
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "round {round}: the child, once");
        assert_eq!(claimed[0].lease.id.as_str(), child);
        assert_eq!(claimed[0].attempt, 1);
        store
            .finish(&[(claimed[0].lease.clone(), Finish::Completed)])
            .await
            .expect("finish");
    }
    let mut connection = t.connect().await;
    let unsettled: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".jobs WHERE unfinished_parents <> 0 OR status <> 'completed'",
        t.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("count");
    assert_eq!(unsettled, 0);
}

/// The same race, its worst interleaving forced: the first parent's transaction has counted
/// the child down and holds its row when the second parent's update arrives; the second waits
/// for that lock, and once the first commits it must read the committed count (1 → 0) and
/// release the child, not the count it saw when its statement started.
#[tokio::test]
async fn the_second_of_two_concurrent_completions_reads_the_first_ones_count() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let left = schedule(scheduler, marker("p", 1).job_id("left")).await;
    let right = schedule(scheduler, marker("p", 2).job_id("right")).await;
    let child = schedule(scheduler, marker("c", 3).after([&left, &right])).await;
    let complete = format!(
        "UPDATE \"{}\".jobs SET status = 'completed', finished_at = now() WHERE id = $1",
        t.schema()
    );

    let mut first = t.connect().await;
    sqlx::query("BEGIN")
        .execute(&mut first)
        .await
        .expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(complete.clone()))
        .bind(&left)
        .execute(&mut first)
        .await
        .expect("first completion");
    let mut second = t.connect().await;
    let second_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut second)
        .await
        .expect("pid");
    let racing = tokio::spawn(async move {
        sqlx::query("BEGIN")
            .execute(&mut second)
            .await
            .expect("begin");
        sqlx::query(sqlx::AssertSqlSafe(complete))
            .bind(&right)
            .execute(&mut second)
            .await
            .expect("second completion");
        sqlx::query("COMMIT")
            .execute(&mut second)
            .await
            .expect("commit");
    });
    let observer = t.pool().clone();
    eventually("the second completion to wait for the child's row lock", || {
        let observer = observer.clone();
        async move {
            let waiting: bool = sqlx::query_scalar(
                "SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1",
            )
            .bind(second_pid)
            .fetch_one(&observer)
            .await
            .expect("activity");
            waiting.then_some(())
        }
    })
    .await;
    assert_eq!(job(scheduler, &child).await.status, JobStatus::Blocked);
    sqlx::query("COMMIT")
        .execute(&mut first)
        .await
        .expect("commit");
    racing.await.expect("the second completion ends");
    assert_eq!(job(scheduler, &child).await.status, JobStatus::Pending);
}

/// A worker that dies holding a parent on its last allowed attempt: the recovery sweep fails
/// the parent, and its dependent follows its policy instead of waiting forever.
#[tokio::test]
async fn a_parent_failed_by_orphan_recovery_releases_its_dependents_by_their_policy() {
    let t = pgsched_tests::setup_with(|builder| builder.lost_lease_retries(0)).await;
    let scheduler = &t.scheduler;
    let store = pgsched::__private::store(scheduler);
    let parent = schedule(scheduler, marker("p", 1)).await;
    let cancelled = schedule(scheduler, marker("c", 2).after([&parent])).await;
    let anyway = schedule(
        scheduler,
        marker("c", 3)
            .after([&parent])
            .on_parent_failure(OnParentFailure::Run),
    )
    .await;
    let claimed = store
        .claim(
            "doomed",
            &pgsched_core::QueueName::DEFAULT,
            1,
            Duration::from_secs(30),
            &ClaimFloor::FRONT,
        )
        .await
        .expect("claim");
    assert_eq!(claimed[0].lease.id.as_str(), parent);
    let mut connection = t.connect().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE \"{}\".jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        t.schema()
    )))
    .bind(&parent)
    .execute(&mut connection)
    .await
    .expect("lease expired");
    let recovered = store.recover_orphans(10).await.expect("recover");
    assert_eq!(recovered.failed.len(), 1, "{recovered:?}");
    let child = job(scheduler, &cancelled).await;
    assert_eq!(child.status, JobStatus::Cancelled);
    assert!(
        child
            .last_error
            .is_some_and(|error| error.contains(&format!("parent {parent} ended failed")))
    );
    assert_eq!(job(scheduler, &anyway).await.status, JobStatus::Pending);
}
