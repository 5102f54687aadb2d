//! The application's jobs, tested as a user of pgsched tests them: each test gets a schema of
//! its own on a real PostgreSQL (`TestDb`), runs what was enqueued with `drain`, checks what is
//! enqueued with typed assertions, and moves periodic jobs with a `PeriodicClock`.

use std::time::Duration;

use pgsched::JobStatus;
use pgsched::testing::{
    PeriodicClock, TestDb, assert_enqueued, assert_not_enqueued, drain, enqueued,
};
use testing_demo::{Mailer, nightly_digest, send_welcome_email, sign_up};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A schema of its own, with a mailer the jobs send through.
async fn setup() -> Result<(TestDb, Mailer), Box<dyn std::error::Error>> {
    let mailer = Mailer::default();
    let db = TestDb::with(|builder| builder.state(mailer.clone())).await?;
    Ok((db, mailer))
}

#[tokio::test]
async fn signing_up_enqueues_the_welcome_email_with_its_arguments() -> TestResult {
    let (db, mailer) = setup().await?;
    sign_up(db.scheduler(), "ada@example.com", "Ada").await?;

    let job = assert_enqueued::<send_welcome_email::Args>(db.scheduler(), |args| {
        args.to == "ada@example.com"
    })
    .await;
    assert_eq!(job.args.name, "Ada");
    assert_not_enqueued::<send_welcome_email::Args>(db.scheduler(), |args| {
        args.to == "grace@example.com"
    })
    .await;
    let waiting = enqueued::<send_welcome_email::Args>(db.scheduler()).await?;
    assert_eq!(waiting.len(), 1);
    assert!(mailer.sent().is_empty(), "nothing runs before the drain");
    Ok(())
}

#[tokio::test]
async fn draining_sends_the_welcome_email() -> TestResult {
    let (db, mailer) = setup().await?;
    sign_up(db.scheduler(), "ada@example.com", "Ada").await?;
    sign_up(db.scheduler(), "grace@example.com", "Grace").await?;

    let runs = drain(db.scheduler()).await?;
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        assert_eq!(run.name, send_welcome_email::NAME);
        assert_eq!(run.status, Some(JobStatus::Completed), "{run:?}");
        assert_eq!(run.attempt, 1);
    }
    assert_eq!(
        mailer.sent(),
        [
            ("ada@example.com".to_owned(), "Welcome, Ada!".to_owned()),
            ("grace@example.com".to_owned(), "Welcome, Grace!".to_owned()),
        ]
    );
    assert_not_enqueued::<send_welcome_email::Args>(db.scheduler(), |_| true).await;
    assert!(drain(db.scheduler()).await?.is_empty(), "nothing is left");
    Ok(())
}

#[tokio::test]
async fn an_undeliverable_address_fails_at_once_with_its_reason() -> TestResult {
    let (db, mailer) = setup().await?;
    sign_up(db.scheduler(), "not-an-address", "Nobody").await?;

    let runs = drain(db.scheduler()).await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, Some(JobStatus::Failed));
    let error = runs[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("not-an-address is not an email address"),
        "{error}"
    );
    assert!(mailer.sent().is_empty());
    let stored = db
        .scheduler()
        .job(&runs[0].id)
        .await?
        .ok_or("the job is stored")?;
    assert_eq!(stored.status, JobStatus::Failed);
    Ok(())
}

#[tokio::test]
async fn assert_enqueued_fails_when_no_job_matches_and_lists_those_that_are() -> TestResult {
    let (db, _mailer) = setup().await?;
    sign_up(db.scheduler(), "ada@example.com", "Ada").await?;
    let scheduler = db.scheduler().clone();
    // The assertion runs in a task of its own, so its panic is the task's and this test's
    // schema is dropped as for any passed test.
    let failed = tokio::spawn(async move {
        assert_enqueued::<send_welcome_email::Args>(&scheduler, |args| args.name == "Grace").await;
    })
    .await
    .expect_err("no job for Grace is enqueued");
    let message = match failed.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
        Err(error) => panic!("the assertion did not panic: {error}"),
    };
    assert!(
        message.contains("expected an enqueued `send_welcome_email` job whose arguments match"),
        "{message}"
    );
    assert!(
        message.contains(r#""to":"ada@example.com""#),
        "the message lists what is enqueued: {message}"
    );
    Ok(())
}

#[tokio::test]
async fn the_nightly_digest_runs_once_per_window_of_the_clock() -> TestResult {
    let (db, mailer) = setup().await?;
    let mut clock = PeriodicClock::new(db.scheduler()).await?;

    // Up to just before the next 02:30, nothing is due.
    let next = clock.next_window(nightly_digest::NAME).await?;
    let just_before = next - pgsched::chrono::Duration::seconds(1);
    if just_before > clock.now() {
        assert!(clock.advance_to(just_before).await?.is_empty());
    }
    assert!(drain(db.scheduler()).await?.is_empty());

    // At 02:30, that window and only it.
    let windows = clock.advance_to_next_window(nightly_digest::NAME).await?;
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0].window, next);
    assert_eq!(clock.now(), next);
    let runs = drain(db.scheduler()).await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id, windows[0].id);
    assert_eq!(runs[0].status, Some(JobStatus::Completed), "{runs:?}");
    assert_eq!(mailer.sent().len(), 1);

    // The same window is never enqueued twice; the next night's is.
    assert!(clock.advance(Duration::from_secs(60)).await?.is_empty());
    let tomorrow = clock.advance_to_next_window(nightly_digest::NAME).await?;
    assert_eq!(tomorrow.len(), 1, "{tomorrow:?}");
    assert_eq!(
        tomorrow[0].window,
        next + pgsched::chrono::Duration::days(1)
    );
    assert_eq!(drain(db.scheduler()).await?.len(), 1);
    assert_eq!(mailer.sent().len(), 2);
    Ok(())
}
