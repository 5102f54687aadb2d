//! Job results (issue 14): a job's output is stored with it (postcard and a schema hash),
//! read back typed, refused over the size limit, and `()` jobs are unchanged.

use pgsched::{Error, JobInfo, JobStatus, Scheduler, job};
use pgsched_tests::{eventually, setup, setup_with};
use serde::{Deserialize, Serialize};

/// What `output_resize` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Thumbnail {
    pub(crate) path: String,
    pub(crate) width: u32,
    pub(crate) tags: Vec<String>,
}

/// Returns a thumbnail of `width`.
#[job]
pub(crate) async fn output_resize(path: String, width: u32) -> Result<Thumbnail, String> {
    Ok(Thumbnail {
        path: format!("{path}.thumb"),
        width,
        tags: vec!["small".into()],
    })
}

/// Returns `bytes` bytes.
#[job]
pub(crate) async fn output_blob(bytes: usize) -> std::io::Result<Vec<u8>> {
    Ok(vec![7; bytes])
}

/// Returns nothing.
#[job]
pub(crate) async fn output_nothing() -> Result<(), String> {
    Ok(())
}

pub(crate) async fn ended(scheduler: &Scheduler, id: &str) -> JobInfo {
    eventually(&format!("job {id} to end"), || async {
        let job = scheduler.job(id).await.expect("inspect")?;
        matches!(
            job.status,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled | JobStatus::Expired
        )
        .then_some(job)
    })
    .await
}

#[tokio::test]
async fn a_typed_output_round_trips_and_a_unit_job_stores_none() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    scheduler.start().await.expect("worker");
    let id = output_resize::enqueue(output_resize::Args {
        path: "a.png".into(),
        width: 64,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    let job = ended(scheduler, id.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    let stored = job.output.as_ref().expect("the output is stored");
    assert_eq!(stored.schema_hash, output_resize::OUTPUT_SCHEMA_HASH);
    assert_eq!(output_resize::OUTPUT_SCHEMA, "Thumbnail");
    let thumbnail: Thumbnail = scheduler.job_output(&id).await.expect("typed output");
    assert_eq!(
        thumbnail,
        Thumbnail {
            path: "a.png.thumb".into(),
            width: 64,
            tags: vec!["small".into()]
        }
    );
    // Asking for another type than the job returns is refused, not decoded.
    let err = scheduler
        .job_output::<u64>(&id)
        .await
        .expect_err("the job returns a Thumbnail");
    assert!(matches!(err, Error::OutputUnreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("returns `Thumbnail`"), "{err}");

    let unit = output_nothing::enqueue(output_nothing::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = ended(scheduler, unit.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.output, None, "a job that returns () stores nothing");
    scheduler
        .job_output::<()>(&unit)
        .await
        .expect("() reads a completed unit job");
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_output_over_the_limit_fails_the_job_and_is_not_stored() {
    let t = setup_with(|builder| builder.max_output_bytes(100)).await;
    let scheduler = &t.scheduler;
    scheduler.start().await.expect("worker");
    let small = output_blob::enqueue(output_blob::Args { bytes: 50 })
        .on(scheduler)
        .await
        .expect("scheduled");
    let big = output_blob::enqueue(output_blob::Args { bytes: 500 })
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = ended(scheduler, small.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed);
    let bytes: Vec<u8> = scheduler.job_output(&small).await.expect("fits");
    assert_eq!(bytes, vec![7; 50]);
    let job = ended(scheduler, big.as_str()).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    assert_eq!(
        job.attempts, 1,
        "not retried: the same output would not fit again"
    );
    assert!(job.output.is_none());
    let error = job.last_error.expect("says why");
    // 500 bytes and postcard's 2-byte length prefix.
    assert!(
        error.starts_with("output_too_large: 502 bytes > limit 100;"),
        "{error}"
    );
    let err = scheduler
        .job_output::<Vec<u8>>(&big)
        .await
        .expect_err("it failed");
    assert!(matches!(err, Error::JobFailed { .. }), "{err:?}");
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_output_of_another_schema_is_refused_and_a_missing_job_is_reported() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    scheduler.start().await.expect("worker");
    let id = output_resize::enqueue(output_resize::Args {
        path: "b.png".into(),
        width: 8,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    ended(scheduler, id.as_str()).await;
    // As if a worker whose job returned another type had completed it.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {}.jobs SET output_schema_hash = 42 WHERE id = $1",
        t.schema()
    )))
    .bind(id.as_str())
    .execute(t.pool())
    .await
    .expect("rewrite the hash");
    let err = scheduler
        .job_output::<Thumbnail>(&id)
        .await
        .expect_err("another schema");
    assert!(
        matches!(err, Error::OutputSchemaMismatch { stored: 42, .. }),
        "{err:?}"
    );
    let err = scheduler
        .job_output::<Thumbnail>("no-such-job")
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::JobNotFound { .. }), "{err:?}");
    scheduler.shutdown().await.expect("shutdown");
}
