//! What a user meets first: errors that say what to do (an unmigrated schema, a closed port, a
//! reserved schema name, no password in any message) and an API that takes what scheduling
//! returns (a `JobId`, the default bulk batch, the re-exported `chrono` and `sqlx`).

use pgsched::{ConflictResolution, Error, JobFilter, JobStatus, Scheduled};
use pgsched_tests::{TestDb, database_url, setup};

use crate::jobs::mark;

fn mark_args(value: i64) -> mark::Args {
    mark::Args {
        label: "usage".into(),
        value,
    }
}

/// Asserts that `result` is [`Error::NotMigrated`] for `schema`, with a message that says how
/// to migrate.
fn assert_not_migrated<T: std::fmt::Debug>(what: &str, result: pgsched::Result<T>, schema: &str) {
    match result {
        Err(error @ Error::NotMigrated { .. }) => {
            let Error::NotMigrated { schema: got, .. } = &error else {
                unreachable!()
            };
            assert_eq!(got, schema, "{what}");
            let message = error.to_string();
            for needle in ["initialize_db", "migrate", "run a worker once", schema] {
                assert!(message.contains(needle), "{what}: {message}");
            }
        }
        other => panic!("{what}: expected Error::NotMigrated, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unmigrated_schema_says_how_to_migrate() {
    // Not the set-up bundle: it migrates, and this schema must stay unmigrated.
    let db = TestDb::new();
    // Built, never migrated.
    let scheduler = db.builder().build().await.expect("builds");
    let schema = db.schema();
    assert_not_migrated(
        "schedule",
        mark::schedule(pgsched::chrono::Utc::now(), mark_args(1))
            .on(&scheduler)
            .await,
        schema,
    );
    assert_not_migrated(
        "schedule_many",
        scheduler
            .schedule_many(
                vec![mark::spec(pgsched::chrono::Utc::now(), mark_args(2))],
                ConflictResolution::Raise,
            )
            .await,
        schema,
    );
    assert_not_migrated("job", scheduler.job("some-id").await, schema);
    assert_not_migrated("cancel_job", scheduler.cancel_job("some-id").await, schema);
    assert_not_migrated("retry_job", scheduler.retry_job("some-id").await, schema);
    assert_not_migrated(
        "list_jobs",
        scheduler.list_jobs(&JobFilter::default()).await,
        schema,
    );
    assert_not_migrated("workers", scheduler.workers().await, schema);

    // Once migrated, the same calls work.
    scheduler.initialize_db().await.expect("migrates");
    let id = mark::schedule(pgsched::chrono::Utc::now(), mark_args(3))
        .on(&scheduler)
        .await
        .expect("schedules once migrated");
    assert!(scheduler.job(&id).await.expect("reads").is_some());
    db.drop_schema().await;
}

#[tokio::test]
async fn a_closed_port_is_named_with_the_password_hidden() {
    // A port nothing listens on: bound by us, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://app:s3cretpw@127.0.0.1:{port}/postgres");
    let result = pgsched::Scheduler::builder().url(url).build().await;
    let error = match result {
        Err(error) => error,
        Ok(_) => panic!("nothing listens on port {port}, yet the scheduler connected"),
    };
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("connection refused at 127.0.0.1:{port}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("postgres://app:***@127.0.0.1:{port}/postgres")),
        "{message}"
    );
    assert!(!message.contains("s3cretpw"), "{message}");
    assert!(!format!("{error:?}").contains("s3cretpw"), "{error:?}");
}

#[tokio::test]
async fn a_schema_starting_with_pg_is_refused_at_build() {
    for schema in ["pg_x", "pg_jobs"] {
        let result = pgsched::Scheduler::builder()
            .url(database_url())
            .schema(schema)
            .build()
            .await;
        match result {
            Err(Error::InvalidInput {
                what: "schema name",
                reason,
            }) => assert!(reason.contains("pg_"), "{reason}"),
            other => panic!("schema {schema}: expected a refused schema name, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_job_id_works_where_an_id_is_asked_for() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let later = pgsched::chrono::Utc::now() + pgsched::chrono::Duration::hours(1);
    let id = mark::schedule(later, mark_args(4))
        .on(scheduler)
        .await
        .expect("schedules");
    let info = scheduler.job(&id).await.expect("reads").expect("exists");
    assert_eq!(info.status, JobStatus::Pending);
    assert!(scheduler.cancel_job(&id).await.expect("cancels"));
    // Cancelled is neither failed nor expired: nothing to retry, but the call takes the id.
    assert!(!scheduler.retry_job(id.clone()).await.expect("answers"));
    assert_eq!(
        scheduler
            .job(id)
            .await
            .expect("reads")
            .expect("exists")
            .status,
        JobStatus::Cancelled
    );
}

#[tokio::test]
async fn schedule_many_uses_the_default_batch_and_reexports_suffice() {
    let t = setup().await;
    let db = &t.db;
    // The pool type comes from pgsched's own sqlx.
    let pool: pgsched::sqlx::PgPool = pgsched::sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url())
        .await
        .expect("connects");
    let scheduler = db.scheduler(|b| b.pool(pool)).await;
    let now: pgsched::chrono::DateTime<pgsched::chrono::Utc> = pgsched::chrono::Utc::now();
    let specs = (0..3)
        .map(|value| mark::spec(now, mark_args(value)).job_id(format!("many-{value}")))
        .chain([mark::spec(now, mark_args(9)).job_id("many-0")])
        .collect();
    let results = scheduler
        .schedule_many(specs, ConflictResolution::Ignore)
        .await
        .expect("schedules");
    let ids: Vec<&str> = results.iter().map(|result| result.id().as_str()).collect();
    assert_eq!(ids, ["many-0", "many-1", "many-2", "many-0"]);
    assert!(results[..3].iter().all(Scheduled::is_written));
    assert!(!results[3].is_written(), "{:?}", results[3]);
}
