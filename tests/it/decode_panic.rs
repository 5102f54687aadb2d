//! A panic in argument decoding is caught like a panic in the job body (issue 10).
//!
//! A user's `Deserialize` may panic. Decoding runs inside the attempt, so the panic must be
//! caught there too: the job fails with a `panic:` reason and the worker keeps running jobs,
//! instead of the attempt vanishing and leaving the job `running` under a lease the worker
//! keeps renewing.

use pgsched::{JobStatus, State, job};
use pgsched_tests::{Recorder, eventually, setup};
use serde::{Deserialize, Deserializer, Serialize};

use crate::jobs::mark;

/// Serializes like a unit; deserializing it panics (a bug in the user's code).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PanicsWhenDecoded;

impl<'de> Deserialize<'de> for PanicsWhenDecoded {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("deserializer exploded");
    }
}

/// Never runs: its argument cannot be decoded without a panic.
#[job]
async fn decode_panics(arg: PanicsWhenDecoded, rec: State<Recorder>) {
    let PanicsWhenDecoded = arg;
    rec.record("decode_panics_ran", 1);
}

#[tokio::test]
async fn a_panicking_deserializer_fails_the_job_and_the_worker_goes_on() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    let id = decode_panics::enqueue(decode_panics::Args {
        arg: PanicsWhenDecoded,
    })
    .max_retries(1)
    .on(scheduler)
    .await
    .expect("scheduled");
    let job = eventually(&format!("job {id} to fail"), || async {
        let job = scheduler.job(id.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Failed).then_some(job)
    })
    .await;
    let error = job.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("panic:") && error.contains("deserializer exploded"),
        "{error:?}"
    );
    assert!(
        (1..=2).contains(&job.attempts),
        "failed at once or after its one retry: {job:?}"
    );
    assert!(rec.values("decode_panics_ran").is_empty());

    // The worker keeps running other jobs.
    mark::enqueue(mark::Args {
        label: "alive".into(),
        value: 1,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    rec.wait_for("alive", 1).await;
    scheduler.shutdown().await.expect("shutdown");
}
