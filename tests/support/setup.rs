//! The set-up bundle of one test (River's `setup` pattern): a fresh schema, migrated, a
//! scheduler on it with the test's [`Recorder`], and the tear-down on drop. A test that
//! passed drops its schema; a test that failed keeps it to be looked at, and the first
//! set-up of each test process prunes kept schemas older than [`KEEP_FAILED_FOR`].

use std::time::Duration;

use pgsched::{Scheduler, SchedulerBuilder};
use sqlx::{Connection, PgConnection, PgPool};

use crate::{Recorder, TestDb, database_url};

/// How long the schema of a failed test is kept before a later test run prunes it.
pub const KEEP_FAILED_FOR: &str = "1 day";

/// How the comment on a test schema begins; the creation time follows it.
const CREATED_MARK: &str = "pgsched-tests schema, created ";

/// How long dropping a schema waits for a lock (a worker a test left running holds some)
/// before it gives up and leaves the schema to the prune.
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
    prune_once().await;
    let db = TestDb::new();
    create_marked(&db).await;
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
            eprintln!(
                "test failed: keeping schema {schema} to look at (pruned after {KEEP_FAILED_FOR})"
            );
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

/// Creates the schema with its creation time in its comment, for the prune.
async fn create_marked(db: &TestDb) {
    let mut connection = db.connect().await;
    let create = format!("CREATE SCHEMA \"{}\"", db.schema());
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut connection)
        .await
        .expect("test schema created");
    // COMMENT takes no parameters: the creation time is the database's, formatted by it.
    let comment = format!(
        "DO $$ BEGIN EXECUTE format('COMMENT ON SCHEMA %I IS %L', '{schema}', \
         '{CREATED_MARK}' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')); END $$",
        schema = db.schema(),
    );
    sqlx::query(sqlx::AssertSqlSafe(comment))
        .execute(&mut connection)
        .await
        .expect("test schema marked with its creation time");
}

/// Drops `schema`, giving up after [`DROP_LOCK_TIMEOUT`] waiting for a lock.
async fn drop_schema(schema: &str) -> Result<(), String> {
    let failed = |error: sqlx::Error| {
        format!(
            "could not drop schema {schema} of a passed test ({error}); a later run prunes it \
             after {KEEP_FAILED_FOR}"
        )
    };
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

/// Prunes kept test schemas older than [`KEEP_FAILED_FOR`], once per test process.
async fn prune_once() {
    static PRUNED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    PRUNED.get_or_init(prune).await;
}

/// Drops every schema marked by [`create_marked`] more than [`KEEP_FAILED_FOR`] ago. A failure
/// is reported, not fatal: the next run tries again.
async fn prune() {
    let pruned = tokio::time::timeout(Duration::from_secs(60), async {
        let mut connection = PgConnection::connect(database_url())
            .await
            .map_err(|error| error.to_string())?;
        let old: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace \
              WHERE starts_with(coalesce(obj_description(oid, 'pg_namespace'), ''), $1) \
                AND substr(obj_description(oid, 'pg_namespace'), length($1) + 1)::timestamptz \
                    < now() - $2::interval",
        )
        .bind(CREATED_MARK)
        .bind(KEEP_FAILED_FOR)
        .fetch_all(&mut connection)
        .await
        .map_err(|error| error.to_string())?;
        for schema in old {
            drop_schema(&schema).await?;
            eprintln!(
                "pruned schema {schema}, kept from a test that failed over {KEEP_FAILED_FOR} ago"
            );
        }
        Ok::<(), String>(())
    })
    .await;
    match pruned {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("pruning old test schemas failed: {error}"),
        Err(_) => eprintln!("pruning old test schemas took over 60 s; left for the next run"),
    }
}
