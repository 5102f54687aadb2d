//! T12, poison jobs: ~10% of 500 jobs panic, hang past their timeout, name no known job, carry
//! an undecodable payload or one written for an argument schema no worker knows, or return an error.
//! Each fails alone with its typed kind in `last_error`; every healthy job completes; no
//! worker process dies.

use std::collections::BTreeMap;
use std::time::Duration;

use pgsched::{JobSpec, JobStatus};
use rand::RngExt;
use rand::seq::SliceRandom;

use crate::harness::{Lab, gate, seeded_rng, work_job, work_payload};

const HEALTHY: usize = 450;
const PER_KIND: usize = 8;

/// One poison kind: how to schedule it, the `last_error` prefix and the attempts it ends with.
struct Poison {
    kind: &'static str,
    prefix: &'static str,
    attempts: u32,
    spec: fn(usize) -> JobSpec,
}

const POISONS: [Poison; 6] = [
    Poison {
        kind: "panic",
        prefix: "panic: job panicked: poisoned on purpose",
        attempts: 2,
        spec: |_| JobSpec::by_name("panics", vec![]).max_retries(1),
    },
    Poison {
        kind: "hang",
        prefix: "timeout: attempt cancelled after 1s",
        attempts: 1,
        // By name, the job's declared `timeout = "1s"` is not applied (see
        // `poison::declared_timeout_applies_to_jobs_scheduled_by_name`), so it is given here.
        spec: |_| JobSpec::by_name("hangs", vec![]).timeout(Duration::from_secs(1)),
    },
    Poison {
        kind: "unknown",
        prefix: "unknown_job: no job named \"no_such_job\"",
        attempts: 2, // the worker's unknown_job_attempts
        spec: |_| JobSpec::by_name("no_such_job", vec![]),
    },
    Poison {
        kind: "undecodable",
        prefix: "decode: could not decode the arguments",
        attempts: 1,
        spec: |_| JobSpec::by_name("work", vec![0xff, 0xff]).max_retries(3),
    },
    Poison {
        kind: "unknown_schema",
        prefix: "unknown_schema: job `work` has a payload written for argument schema 0x0000000000000001",
        attempts: 2, // the worker's unknown_job_attempts: left for a replica that knows it
        spec: |i| JobSpec::by_name("work", work_payload(&format!("m{i}"), 1)).schema_hash(1),
    },
    Poison {
        kind: "error",
        prefix: "error: refused on purpose",
        attempts: 3,
        spec: |_| {
            let payload = postcard::to_allocvec(&("refused on purpose",)).expect("encode");
            JobSpec::by_name("fails", payload).max_retries(2)
        },
    },
];

#[tokio::test]
async fn poison_jobs_fail_alone_with_their_typed_kind() {
    let _permit = gate(1);
    let (seed, mut rng) = seeded_rng("poison");
    let lab = Lab::new().await;
    let mut specs: Vec<JobSpec> = (0..HEALTHY)
        .map(|i| work_job(format!("ok{i:03}"), "ok", rng.random_range(1..=20)))
        .collect();
    for poison in &POISONS {
        specs
            .extend((0..PER_KIND).map(|i| (poison.spec)(i).job_id(format!("{}-{i}", poison.kind))));
    }
    specs.shuffle(&mut rng);
    let total = specs.len();
    lab.enqueue(specs).await;

    let spec = lab
        .worker()
        .set("concurrency", 8)
        .set("lease_ms", 30_000)
        .set("retry_initial_ms", 50)
        .set("retry_max_ms", 200)
        .set("unknown_job_attempts", 2);
    let mut workers = [spec.spawn("p0"), spec.spawn("p1")];
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    let drain = lab.wait_drained(Duration::from_secs(60), |_| {}).await;

    let mut report = BTreeMap::new();
    let mut wrong = Vec::new();
    for poison in &POISONS {
        let mut attempts = BTreeMap::new();
        for i in 0..PER_KIND {
            let id = format!("{}-{i}", poison.kind);
            let job = lab
                .scheduler
                .job(&id)
                .await
                .expect("inspect")
                .expect("exists");
            let error = job.last_error.clone().unwrap_or_default();
            *attempts.entry(job.attempts).or_insert(0) += 1;
            if job.status != JobStatus::Failed
                || !error.starts_with(poison.prefix)
                || job.attempts != poison.attempts
            {
                wrong.push(format!(
                    "{id}: {} after {} attempts: {error:?}",
                    job.status, job.attempts
                ));
            }
        }
        report.insert(poison.kind, attempts);
    }
    let statuses = lab.statuses().await;
    let healthy_done = lab
        .i64(&format!(
            "SELECT count(*) FROM {} WHERE id LIKE 'ok%' AND status = 'completed'",
            lab.t("jobs")
        ))
        .await;
    let healthy_effects = lab
        .i64(&format!(
            "SELECT count(DISTINCT job_id) FROM {} WHERE job_id LIKE 'ok%' AND t_end IS NOT NULL",
            lab.t("effects")
        ))
        .await;
    let poisoned_effects = lab
        .i64(&format!(
            "SELECT count(*) FROM {} WHERE job_id NOT LIKE 'ok%'",
            lab.t("effects")
        ))
        .await;
    println!(
        "poison: seed {seed}; {total} jobs ({} poison in {} kinds), 2 workers; drained in {drain:.1?}; \
         statuses {statuses:?}; healthy completed {healthy_done}/{HEALTHY}; attempts per kind {report:?}; \
         effects of poison jobs {poisoned_effects}; mismatches {wrong:?}",
        PER_KIND * POISONS.len(),
        POISONS.len()
    );
    for worker in &mut workers {
        assert!(
            worker.exited().is_none(),
            "worker {} died:\n{}",
            worker.label(),
            worker.stderr_tail(20)
        );
    }
    assert!(
        wrong.is_empty(),
        "poison jobs that did not fail as typed: {wrong:#?}"
    );
    assert_eq!(healthy_done, i64::try_from(HEALTHY).unwrap_or(0));
    assert_eq!(healthy_effects, i64::try_from(HEALTHY).unwrap_or(0));
    assert_eq!(
        poisoned_effects, 0,
        "no poison payload was decoded as garbage"
    );
    for worker in &mut workers {
        let status = worker.stop_gracefully(Duration::from_secs(10)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    lab.cleanup().await;
}

/// `#[job(timeout = "1s")]` declares the job's timeout; it applies to jobs scheduled by name
/// too (the path for callers that do not link the job's crate), which store no timeout.
#[tokio::test]
async fn declared_timeout_applies_to_jobs_scheduled_by_name() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let mut worker = lab.worker().spawn("w");
    worker.wait_ready().await;
    lab.enqueue(vec![
        JobSpec::by_name("hangs", vec![]).job_id("hang-by-name"),
    ])
    .await;
    let job = pgsched_tests::eventually("the hanging job to time out", || async {
        let job = lab.scheduler.job("hang-by-name").await.expect("inspect")?;
        (job.status == JobStatus::Failed).then_some(job)
    })
    .await;
    assert_eq!(
        job.last_error.as_deref(),
        Some("timeout: attempt cancelled after 1s")
    );
    drop(worker);
    lab.cleanup().await;
}
