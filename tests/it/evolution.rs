//! Payload evolution across deploys: a job whose arguments changed keeps running payloads
//! written with the earlier arguments (through its upgrade), and a payload whose argument
//! schema this worker does not know is left for a replica that knows it (retried like an
//! unknown job name), then failed with the job, the hash found and the hashes known.

use std::time::Duration;

use pgsched::{ArgsSchema, ConflictResolution, JobInfo, JobSpec, JobStatus, Scheduler, State, job};
use pgsched_tests::{Recorder, eventually, setup, setup_with};

/// `greet` as first deployed: one name.
#[pgsched::args]
pub(crate) struct GreetV1 {
    name: String,
}

/// Version 1 → today: the one name, greeted once.
fn from_v1(old: GreetV1) -> greet::Args {
    greet::Args {
        names: vec![old.name],
        times: 1,
    }
}

/// `greet` today: several names, several times. Records `times` under `greet:<names>`.
#[job(upgrade = from_v1)]
pub(crate) async fn greet(names: Vec<String>, times: i64, rec: State<Recorder>) {
    rec.record(&format!("greet:{}", names.join(",")), times);
}

/// The first version of `greet` as it was written, under another name (one binary cannot
/// register two jobs of one name): what an old replica encodes payloads with.
mod v1 {
    use pgsched::job;

    #[job(name = "evolution_greet_v1")]
    pub(crate) async fn greet(name: String) {
        let _ = name;
    }
}

async fn settled(scheduler: &Scheduler, id: &str, status: JobStatus) -> JobInfo {
    eventually(&format!("job {id} to be {status}"), || async {
        let job = scheduler.job(id).await.expect("inspect")?;
        (job.status == status).then_some(job)
    })
    .await
}

/// A payload as the old replica wrote it: the old job's arguments and schema hash, under
/// the job's (unchanged) name.
fn written_by_v1(name: &str) -> JobSpec {
    let payload = postcard::to_allocvec(&v1::greet::Args { name: name.into() }).expect("encode");
    JobSpec::by_name(greet::NAME, payload).schema_hash(v1::greet::SCHEMA_HASH)
}

#[tokio::test]
async fn a_payload_written_by_the_previous_version_runs_through_the_upgrade() {
    // The kept struct has the schema the old job had, so it recognises the old payloads.
    assert_eq!(GreetV1::SCHEMA, v1::greet::SCHEMA);
    assert_eq!(GreetV1::SCHEMA_HASH, v1::greet::SCHEMA_HASH);
    assert_ne!(GreetV1::SCHEMA_HASH, greet::SCHEMA_HASH);

    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let old = scheduler
        .schedule(written_by_v1("ada"), ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let current = greet::enqueue(greet::Args {
        names: vec!["bob".into(), "cy".into()],
        times: 2,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    assert_eq!(rec.wait_for("greet:ada", 1).await, [1], "upgraded: once");
    assert_eq!(rec.wait_for("greet:bob,cy", 1).await, [2]);
    for id in [old, current] {
        let job = settled(scheduler, id.as_str(), JobStatus::Completed).await;
        assert_eq!(job.attempts, 1, "{id}");
    }
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_payload_of_an_unknown_schema_is_left_for_another_replica_while_attempts_remain() {
    // A backoff longer than the test: the released job stays pending for a replica that
    // knows its schema.
    let t = setup_with(|b| {
        b.unknown_job_attempts(3)
            .retry_policy(pgsched::RetryPolicy::new().initial(Duration::from_secs(3600)))
    })
    .await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let payload = postcard::to_allocvec(&(vec!["ada".to_owned()], 5_i64)).expect("encode");
    let id = scheduler
        .schedule(
            JobSpec::by_name(greet::NAME, payload).schema_hash(0xdead_beef),
            ConflictResolution::Raise,
        )
        .await
        .expect("scheduled");
    let job = eventually("the attempt to be released", || async {
        let job = scheduler.job(id.as_str()).await.expect("inspect")?;
        (job.attempts == 1 && job.status == JobStatus::Pending).then_some(job)
    })
    .await;
    assert!(
        job.last_error
            .as_deref()
            .is_some_and(|error| error.starts_with("unknown_schema: job `greet`")),
        "{:?}",
        job.last_error
    );
    assert!(job.run_at > job.created_at, "waits out the backoff");
    assert_eq!(job.max_retries, 0, "kept although it allows no retries");
    assert!(
        rec.values("greet:ada").is_empty(),
        "never decoded as garbage"
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_payload_of_an_unknown_schema_fails_after_the_attempts_naming_the_hashes() {
    let t = setup_with(|b| b.unknown_job_attempts(3)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let payload = postcard::to_allocvec(&(vec!["ada".to_owned()], 5_i64)).expect("encode");
    let drifted = JobSpec::by_name(greet::NAME, payload.clone()).schema_hash(0xdead_beef);
    let id = scheduler
        .schedule(drifted, ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    assert_eq!(job.attempts, 3, "the worker's unknown_job_attempts");
    assert_eq!(
        job.last_error.unwrap_or_default(),
        format!(
            "unknown_schema: job `greet` has a payload written for argument schema \
             0x00000000deadbeef, which this worker does not know; it knows {:#018x} (current: \
             `names:Vec<String>,times:i64`) and {:#018x} (upgraded: `name:String`); a worker \
             built with that schema, or with an upgrade from it (#[job(upgrade = …)]), can run it",
            greet::SCHEMA_HASH,
            GreetV1::SCHEMA_HASH
        )
    );
    assert!(
        rec.values("greet:ada").is_empty(),
        "never decoded as garbage"
    );

    // The same bytes with the current hash run.
    let matching = JobSpec::by_name(greet::NAME, payload).schema_hash(greet::SCHEMA_HASH);
    scheduler
        .schedule(matching, ConflictResolution::Raise)
        .await
        .expect("scheduled");
    assert_eq!(rec.wait_for("greet:ada", 1).await, [5]);
    scheduler.shutdown().await.expect("shutdown");
}
