//! The set-up bundle of one test (River's `setup` pattern): a fresh schema, migrated, a
//! scheduler on it with the test's [`Recorder`], and the tear-down on drop. A test that
//! passed drops its schema; a test that failed keeps it to be looked at.

use pgsched::{Scheduler, SchedulerBuilder};
use sqlx::{Connection, PgConnection, PgPool};

use crate::{Recorder, TestDb, database_url};

/// How long dropping a schema waits for a lock (a worker a test left running holds some)
/// before it gives up and leaves the schema behind.
const DROP_LOCK_TIMEOUT: &str = "5s";

/// One test's schema, scheduler and recorder. Drop it at the end of the test (declare it
/// first, so workers and connections declared later are dropped before it).
pub struct Setup {
    /// The test's schema.
    pub db: TestDb,
    /// What the test's jobs record (the scheduler's state).
    pub rec: Recorder,
    /// A migrated scheduler on the schema, with [`Setup::rec`] as state; not started.
    pub scheduler: Scheduler,
}

/// A fresh schema, migrated, with a scheduler on the test builder (see [`TestDb::builder`]).
pub async fn setup() -> Setup {
    setup_with(|builder| builder).await
}

/// As [`setup`], the scheduler built with `configure` over the test builder.
pub async fn setup_with(configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder) -> Setup {
    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = db
        .scheduler(|builder| configure(builder.state(rec.clone())))
        .await;
    Setup { db, rec, scheduler }
}

impl Setup {
    /// The schema's name.
    #[must_use]
    pub fn schema(&self) -> &str {
        self.db.schema()
    }

    /// The scheduler's pool, for assertions on the schema's rows.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        self.scheduler.pool()
    }

    /// A direct connection (for inspecting and arranging rows).
    pub async fn connect(&self) -> PgConnection {
        self.db.connect().await
    }

    /// Another scheduler on the schema with [`Setup::rec`] as state, built with `configure`
    /// over the test builder; not started.
    pub async fn scheduler(
        &self,
        configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
    ) -> Scheduler {
        self.db
            .scheduler(|builder| configure(builder.state(self.rec.clone())))
            .await
    }

    /// As [`Setup::scheduler`], started.
    pub async fn worker(
        &self,
        configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
    ) -> Scheduler {
        let scheduler = self.scheduler(configure).await;
        scheduler.start().await.expect("worker starts");
        scheduler
    }
}

impl Drop for Setup {
    /// A passed test drops its schema; a failed one keeps it and says so.
    fn drop(&mut self) {
        let schema = self.db.schema().to_owned();
        if std::thread::panicking() {
            eprintln!("test failed: keeping schema {schema} to look at");
            return;
        }
        // Drop cannot await, and the test's runtime may be a current-thread one: drop the
        // schema from a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| format!("no runtime to drop the schema: {error}"))?;
            runtime.block_on(drop_schema(&schema))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("{error}"),
            Err(_) => eprintln!("dropping the schema of {} panicked", self.db.schema()),
        }
    }
}

/// Drops `schema`, giving up after [`DROP_LOCK_TIMEOUT`] waiting for a lock.
async fn drop_schema(schema: &str) -> Result<(), String> {
    let failed =
        |error: sqlx::Error| format!("could not drop schema {schema} of a passed test: {error}");
    let mut connection = PgConnection::connect(database_url())
        .await
        .map_err(failed)?;
    let timeout = format!("SET lock_timeout = '{DROP_LOCK_TIMEOUT}'");
    sqlx::query(sqlx::AssertSqlSafe(timeout))
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    let statement = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    Ok(())
}
