//! T19, hostile strings: a corpus of SQL metacharacters, format directives, bidi and
//! zero-width characters, NUL and 10 KB strings goes through every string input — job id, job
//! name (by name), a job argument, a job's error message, the schema name. Each is either
//! rejected with a typed `Error::InvalidInput` or round-trips byte-exactly; no other error
//! occurs, and a table outside pgsched's is unchanged.

use std::time::Duration;

use pgsched::{ConflictResolution, Error, JobSpec, JobStatus, Scheduler};
use sqlx::Row;

use crate::harness::{Lab, gate, work_payload};

/// The corpus: (label, value).
fn corpus() -> Vec<(&'static str, String)> {
    vec![
        ("sql comment", "'; DROP TABLE jobs;--".to_owned()),
        ("or true", "' OR '1'='1".to_owned()),
        ("double quote", "\"".to_owned()),
        (
            "quoted ident",
            "\"; DROP SCHEMA public CASCADE; --".to_owned(),
        ),
        ("backslash", "\\".to_owned()),
        ("escape string", "E'\\x00\\\\'".to_owned()),
        ("placeholder", "$1".to_owned()),
        ("dollar quote", "$$; DROP TABLE jobs; $$".to_owned()),
        ("printf", "%s".to_owned()),
        ("format ident", "%I".to_owned()),
        ("format many", "%s%s%s%n%x %1$s".to_owned()),
        ("braces", "{} {0} {name}".to_owned()),
        (
            "bidi and zero-width",
            "a\u{202e}b\u{200b}c\u{200d}d\u{feff}e\u{2066}f".to_owned(),
        ),
        ("controls", "\r\n\t\u{7}\u{1b}[31mred\u{7f}".to_owned()),
        ("unicode", "日本語 🦀 ñ Ω \u{1F600}".to_owned()),
        ("512 bytes", "i".repeat(512)),
        ("513 bytes", "i".repeat(513)),
        ("10 KB", "x".repeat(10 * 1024)),
        ("10 KB unicode", "🦀".repeat(10 * 1024 / 4)),
        ("empty", String::new()),
        ("NUL inside", "a\0b".to_owned()),
        ("only NUL", "\0".to_owned()),
    ]
}

fn valid_text(value: &str, max_bytes: usize) -> bool {
    !value.is_empty() && value.len() <= max_bytes && !value.contains('\0')
}

/// A typed rejection of `what`, or a failure naming the input.
fn expect_invalid<T: std::fmt::Debug>(result: pgsched::Result<T>, what: &str, label: &str) {
    match result {
        Err(Error::InvalidInput { what: got, .. }) if got == what => {}
        other => panic!("{label}: expected InvalidInput for {what}, got {other:?}"),
    }
}

async fn checksum(lab: &Lab) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id))
                || '/' || (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                            WHERE relnamespace = '\"{}\"'::regnamespace)
           FROM {}",
        lab.schema(),
        lab.t("canary")
    )))
    .fetch_one(lab.scheduler.pool())
    .await
    .expect("checksum")
}

#[tokio::test]
async fn hostile_strings_are_rejected_typed_or_round_trip_exactly() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    lab.exec(&format!(
        "CREATE TABLE {} AS SELECT i AS id, md5(i::text) AS v FROM generate_series(1, 100) i",
        lab.t("canary")
    ))
    .await;
    let before = checksum(&lab).await;
    let corpus = corpus();
    let scheduler = &lab.scheduler;
    // (job id, what it must end as)
    let mut scheduled: Vec<(String, &'static str, &'static str)> = Vec::new();
    let mut rejected = 0;

    for (n, (label, value)) in corpus.iter().enumerate() {
        // 1. As a job id.
        let spec = JobSpec::by_name("work", work_payload("id", 0)).job_id(value.clone());
        let result = scheduler.schedule(spec, ConflictResolution::Raise).await;
        if valid_text(value, 512) {
            let id = result.unwrap_or_else(|e| panic!("{label} as job id: {e:?}"));
            assert_eq!(id.as_str(), value, "{label}: id returned as given");
            scheduled.push((value.clone(), "completed", label));
        } else {
            expect_invalid(result, "job id", label);
            rejected += 1;
        }

        // 2. As a job name, scheduled by name (no worker knows it: it fails as unknown).
        let id = format!("name-{n:02}");
        let spec = JobSpec::by_name(value.clone(), vec![]).job_id(id.clone());
        let result = scheduler.schedule(spec, ConflictResolution::Raise).await;
        if valid_text(value, 128) {
            result.unwrap_or_else(|e| panic!("{label} as job name: {e:?}"));
            scheduled.push((id, "failed", label));
        } else {
            expect_invalid(result, "job name", label);
            rejected += 1;
        }

        // 3. As a job argument: always accepted (it is payload bytes).
        let spec = JobSpec::by_name("work", work_payload(value, 0)).job_id(format!("key-{n:02}"));
        scheduler
            .schedule(spec, ConflictResolution::Raise)
            .await
            .unwrap_or_else(|e| panic!("{label} as argument: {e:?}"));
        scheduled.push((format!("key-{n:02}"), "completed", label));

        // 4. As the error message a job returns. NUL cannot be stored in `last_error`; that
        //    case is `a_job_error_with_nul_fails_the_job_instead_of_wedging_the_worker`.
        if !value.contains('\0') {
            let payload = postcard::to_allocvec(&(value.as_str(),)).expect("encode");
            let spec = JobSpec::by_name("fails", payload).job_id(format!("err-{n:02}"));
            scheduler
                .schedule(spec, ConflictResolution::Raise)
                .await
                .unwrap_or_else(|e| panic!("{label} as error message: {e:?}"));
            scheduled.push((format!("err-{n:02}"), "failed", label));
        }

        // 5. As the schema name: rejected before any connection is made.
        let result = Scheduler::builder()
            .url(pgsched_tests::database_url())
            .schema(value.clone())
            .build()
            .await;
        expect_invalid(result, "schema name", label);

        // 6. Inspecting and cancelling by it (NUL: see
        //    `inspecting_an_id_with_nul_is_a_typed_rejection_not_a_sql_error`).
        if !value.contains('\0') {
            let found = scheduler
                .job(value)
                .await
                .unwrap_or_else(|e| panic!("{label}: job(): {e:?}"));
            assert_eq!(found.is_some(), valid_text(value, 512), "{label}: job()");
        }
    }
    for name in [
        "public; DROP SCHEMA public CASCADE",
        "a\"b",
        &"a".repeat(51),
        &"a".repeat(64),
        "Jobs",
        "1abc",
        "pg-sched",
        "a b",
        "ünï",
        "pgsched\0",
    ] {
        let result = Scheduler::builder()
            .url(pgsched_tests::database_url())
            .schema(name)
            .build()
            .await;
        expect_invalid(result, "schema name", name);
    }
    let longest = Scheduler::builder()
        .url(pgsched_tests::database_url())
        .schema("a".repeat(50))
        .pool_size(1)
        .build()
        .await
        .expect("a 50-character lowercase schema name is valid");
    longest.pool().close().await;

    let mut worker = lab
        .worker()
        .set("unknown_job_attempts", 2)
        .set("lease_ms", 30_000)
        .spawn("w");
    worker.wait_ready().await;
    lab.wait_drained(Duration::from_secs(30), |_| {}).await;

    let mut checked = 0;
    for (id, expected, label) in &scheduled {
        let job = scheduler
            .job(id)
            .await
            .unwrap_or_else(|e| panic!("{label}: job({id:?}): {e:?}"))
            .unwrap_or_else(|| panic!("{label}: job {id:?} vanished"));
        assert_eq!(job.id.as_str(), id, "{label}: id round-trips");
        assert_eq!(
            job.status.as_str(),
            *expected,
            "{label}: {id:?} {:?}",
            job.last_error
        );
        checked += 1;
    }
    for (n, (label, value)) in corpus.iter().enumerate() {
        if valid_text(value, 128) {
            let job = scheduler
                .job(&format!("name-{n:02}"))
                .await
                .expect("inspect")
                .expect("exists");
            assert_eq!(&job.name, value, "{label}: name round-trips");
            let error = job.last_error.unwrap_or_default();
            assert!(
                error.starts_with("unknown_job: no job named "),
                "{label}: {error}"
            );
        }
        let key_job = format!("key-{n:02}");
        let job = scheduler
            .job(&key_job)
            .await
            .expect("inspect")
            .expect("exists");
        assert_eq!(
            job.payload,
            work_payload(value, 0),
            "{label}: payload round-trips"
        );
        assert_eq!(job.status, JobStatus::Completed);
        let keys: Vec<Vec<u8>> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT key FROM {} WHERE job_id = $1",
            lab.t("effects")
        )))
        .bind(&key_job)
        .fetch_all(scheduler.pool())
        .await
        .expect("effects")
        .iter()
        .map(|row| row.get(0))
        .collect();
        assert_eq!(
            keys,
            [value.as_bytes().to_vec()],
            "{label}: the job saw the exact argument"
        );
        if !value.contains('\0') {
            let job = scheduler
                .job(&format!("err-{n:02}"))
                .await
                .expect("inspect")
                .expect("exists");
            assert_eq!(
                job.last_error.as_deref(),
                Some(format!("error: {value}").as_str()),
                "{label}: error message round-trips"
            );
        }
    }
    let after = checksum(&lab).await;
    println!(
        "injection: {} corpus strings x 5 inputs; {rejected} typed rejections of ids/names, every schema-name candidate rejected; \
         {checked} jobs round-tripped (ids, names, arguments, error messages); canary checksum unchanged: {}",
        corpus.len(),
        before == after
    );
    assert_eq!(
        before, after,
        "the canary table or the schema's relations changed"
    );
    assert!(worker.exited().is_none(), "{}", worker.stderr_tail(20));
    let status = worker.stop_gracefully(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    lab.cleanup().await;
}

/// A job id is "any text up to 512 bytes, no NUL": inspecting or cancelling by an id that
/// cannot exist is answered without a SQL error (nothing found, nothing cancelled).
#[tokio::test]
async fn inspecting_an_id_with_nul_is_a_typed_rejection_not_a_sql_error() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    for id in ["a\0b", "\0"] {
        match lab.scheduler.job(id).await {
            Ok(None) | Err(Error::InvalidInput { .. }) => {}
            other => panic!("job({id:?}): {other:?}"),
        }
        match lab.scheduler.cancel_job(id).await {
            Ok(false) | Err(Error::InvalidInput { .. }) => {}
            other => panic!("cancel_job({id:?}): {other:?}"),
        }
    }
    lab.cleanup().await;
}

/// A job that fails with an error message containing NUL: `last_error` (text) cannot hold NUL,
/// so the worker escapes it. The job fails with its message, and the worker's later outcomes
/// are written (a rejected batch would otherwise be retried forever and wedge the worker).
#[tokio::test]
async fn a_job_error_with_nul_fails_the_job_instead_of_wedging_the_worker() {
    let _permit = gate(1);
    let lab = Lab::new().await;
    let mut worker = lab.worker().spawn("w");
    worker.wait_ready().await;
    let payload = postcard::to_allocvec(&("bad\0byte",)).expect("encode");
    lab.enqueue(vec![JobSpec::by_name("fails", payload).job_id("nul-error")])
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    lab.enqueue(vec![
        JobSpec::by_name("work", work_payload("after", 0)).job_id("after"),
    ])
    .await;
    let statuses = pgsched_tests::eventually("both jobs to finish", || async {
        let failed = lab.scheduler.job("nul-error").await.expect("inspect")?;
        let after = lab.scheduler.job("after").await.expect("inspect")?;
        (failed.status.is_terminal() && after.status.is_terminal()).then_some((failed, after))
    })
    .await;
    let (failed, after) = statuses;
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|error| error.starts_with("error: bad")),
        "{:?}",
        failed.last_error
    );
    assert_eq!(after.status, JobStatus::Completed);
    drop(worker);
    lab.cleanup().await;
}
