//! Workflows across worker processes: a fan-out of 1 → 1,000 → 1 drained by two workers,
//! each job of the middle reading the root's output and the last one summing theirs; and a
//! worker killed while it holds a parent, which delays its dependent but never loses it.

use std::time::{Duration, Instant};

use pgsched::{ConflictResolution, JobSpec, JobStatus, Scheduled};

use crate::harness::{LEASE, Lab, gate, work_job, work_payload};

const WIDTH: u64 = 1_000;
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// A job of the test worker by name, its arguments encoded as postcard.
fn by_name(name: &str, args: &impl serde::Serialize) -> JobSpec {
    JobSpec::by_name(name, postcard::to_allocvec(args).expect("encode arguments"))
}

async fn status(lab: &Lab, id: &str) -> JobStatus {
    lab.scheduler
        .job(id)
        .await
        .expect("inspect")
        .expect("the job exists")
        .status
}

async fn wait_status(lab: &Lab, id: &str, wanted: JobStatus, limit: Duration) {
    let start = Instant::now();
    loop {
        let now = status(lab, id).await;
        if now == wanted {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "job {id} is {now}, not {wanted}, after {limit:?}: {:?}",
            lab.statuses().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_fan_out_and_fan_in_across_two_workers_combines_every_output() {
    let _permit = gate(2);
    let lab = Lab::new().await;
    let scheduler = &lab.scheduler;
    let root = scheduler
        .schedule(by_name("fan_root", &(WIDTH,)), ConflictResolution::Raise)
        .await
        .expect("root");
    let middle: Vec<JobSpec> = (0..WIDTH)
        .map(|i| by_name("fan_square", &(i,)).after([&root]))
        .collect();
    let middle = scheduler
        .schedule_bulk(middle, ConflictResolution::Raise, 500)
        .await
        .expect("fan-out");
    let middle: Vec<String> = middle
        .iter()
        .map(|result| result.id().to_string())
        .collect();
    let sink = scheduler
        .schedule(
            by_name("fan_sum", &()).after(&middle),
            ConflictResolution::Raise,
        )
        .await
        .expect("fan-in");
    assert_eq!(status(&lab, sink.as_str()).await, JobStatus::Blocked);

    let spec = lab.worker().set("concurrency", 8);
    let mut workers = [spec.spawn("a"), spec.spawn("b")];
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    wait_status(&lab, sink.as_str(), JobStatus::Completed, DRAIN_LIMIT).await;

    let bytes = scheduler
        .job(sink.as_str())
        .await
        .expect("inspect")
        .and_then(|job| job.output)
        .expect("the sum is stored");
    let sum: u64 = postcard::from_bytes(&bytes.bytes).expect("a u64");
    assert_eq!(sum, (0..WIDTH).map(|i| i * i).sum::<u64>());

    // Every job ran once; the middle on both workers; the sum after the last square.
    let runs = lab
        .i64(&format!(
            "SELECT count(*) FROM {} WHERE key = 'fan'",
            lab.t("effects")
        ))
        .await;
    assert_eq!(runs, i64::try_from(WIDTH).unwrap_or(i64::MAX));
    let processes = lab
        .i64(&format!(
            "SELECT count(DISTINCT pid) FROM {} WHERE key = 'fan'",
            lab.t("effects")
        ))
        .await;
    assert_eq!(processes, 2, "both workers ran part of the fan-out");
    let sum_after_all = lab
        .i64(&format!(
            "SELECT count(*) FROM {effects} AS s WHERE s.key = 'fan_sum' \
               AND s.t_start >= (SELECT max(t_start) FROM {effects} WHERE key = 'fan')",
            effects = lab.t("effects")
        ))
        .await;
    assert_eq!(sum_after_all, 1, "the fan-in ran once, after every square");
    let statuses = lab.statuses().await;
    assert_eq!(
        statuses.get("completed").copied(),
        Some(i64::try_from(WIDTH).unwrap_or(0) + 2),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_worker_killed_while_it_holds_a_parent_delays_its_dependent_but_never_loses_it() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let scheduler = &lab.scheduler;
    // A parent that runs long enough to be killed mid-attempt; its dependent.
    let results = scheduler
        .schedule_bulk(
            vec![
                work_job("slow-parent", "slow-parent", 60_000),
                work_job("child", "child", 0).after(["slow-parent"]),
            ],
            ConflictResolution::Raise,
            100,
        )
        .await
        .expect("scheduled");
    assert!(
        results
            .iter()
            .all(|result| matches!(result, Scheduled::Inserted(_)))
    );

    let spec = lab.worker().set("concurrency", 2);
    let mut first = spec.spawn("holder");
    first.wait_ready().await;
    // Killed once its attempt has begun, as its effect shows (its status says running from
    // the claim on, before the job's first instruction).
    lab.until_some(
        &format!(
            "SELECT count(*) FROM {} WHERE job_id = 'slow-parent'",
            lab.t("effects")
        ),
        Duration::from_secs(20),
        "the parent's first attempt has not begun",
    )
    .await;
    first.kill9();
    assert_eq!(status(&lab, "child").await, JobStatus::Blocked);

    // A second worker recovers the parent once its lease expires, runs it again (the 60 s
    // are cut short by a shorter second attempt: the oracle only records), and then the child.
    let short: String = work_payload("slow-parent", 0)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    lab.exec(&format!(
        "UPDATE {} SET payload = decode('{short}', 'hex') WHERE id = 'slow-parent'",
        lab.t("jobs")
    ))
    .await;
    let mut second = spec.spawn("recoverer");
    second.wait_ready().await;
    wait_status(&lab, "child", JobStatus::Completed, LEASE * 10).await;
    let attempts = lab
        .i64(&format!(
            "SELECT count(*) FROM {} WHERE job_id = 'slow-parent'",
            lab.t("effects")
        ))
        .await;
    assert_eq!(attempts, 2, "the killed attempt and the one that completed");
}
