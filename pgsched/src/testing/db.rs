//! [`TestDb`]: a throwaway schema per test, migrated, with a scheduler on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pgsched_core::redact_url;
use pgsched_pg::{PgStore, SchemaName};
use sqlx::postgres::PgPoolOptions;

use super::TestingError;
use crate::{Scheduler, SchedulerBuilder};

/// Connections of a test scheduler's pool: a test enqueues, drains and asserts one thing at a
/// time, and many tests run at once against one server.
const TEST_POOL_SIZE: u32 = 4;

/// How long dropping a passed test's schema may take (a worker the test left running can
/// hold locks on it) before it is left in place with a message.
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// How every test schema's name begins, so that kept ones are easy to find (`\dn
/// pgsched_test_*`).
pub(crate) const SCHEMA_PREFIX: &str = "pgsched_test_";

/// A fresh schema of its own for one test, migrated, and a [`Scheduler`] on it (not started:
/// run jobs with [`super::drain`], or call [`Scheduler::start`] for a real worker).
///
/// The schema is dropped when the `TestDb` is dropped at the end of a test that passed; when
/// the test panicked (failed), it is kept so its rows can be looked at, and its name is
/// printed. Declare the `TestDb` first in the test, so schedulers built from it later are
/// dropped before it. [`TestDb::drop_schema`] drops it explicitly.
///
/// ```no_run
/// # async fn demo() -> Result<(), pgsched::testing::TestingError> {
/// use pgsched::testing::TestDb;
/// # struct Mailer;
/// // Application state for the jobs, as `SchedulerBuilder::state` gives it to a worker.
/// let db = TestDb::with(|builder| builder.state(Mailer)).await?;
/// println!("this test's jobs live in schema {}", db.schema());
/// # Ok(()) }
/// ```
pub struct TestDb {
    url: &'static str,
    schema: SchemaName,
    scheduler: Scheduler,
    /// Set once the schema was dropped explicitly: nothing left to do on drop.
    dropped: bool,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &redact_url(self.url))
            .field("schema", &self.schema.as_str())
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A fresh schema, migrated, with a scheduler on it built by [`TestDb::builder`].
    ///
    /// # Errors
    /// [`TestingError::NoDatabase`] when no PostgreSQL can be found or started, or
    /// [`TestingError::Pgsched`] when connecting or migrating fails.
    pub async fn new() -> Result<TestDb, TestingError> {
        TestDb::with(|builder| builder).await
    }

    /// As [`TestDb::new`], the scheduler built with `configure` over [`TestDb::builder`]
    /// (application state, a retry policy, …).
    ///
    /// # Errors
    /// As [`TestDb::new`].
    pub async fn with(
        configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
    ) -> Result<TestDb, TestingError> {
        let url = pgsched_devdb::shared_url()?;
        let schema = SchemaName::new(unique_schema_name())?;
        let scheduler = configure(builder(url, &schema)).build().await?;
        scheduler.initialize_db().await?;
        Ok(TestDb {
            url,
            schema,
            scheduler,
            dropped: false,
        })
    }

    /// A builder for another scheduler on this test's schema, with the test settings: the
    /// database URL, the schema, and a pool of 4 connections; everything else is
    /// pgsched's default.
    #[must_use]
    pub fn builder(&self) -> SchedulerBuilder {
        builder(self.url, &self.schema)
    }

    /// The scheduler on this test's schema (migrated, not started).
    #[must_use]
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The schema's name (`pgsched_test_<pid>_<n>_<nanos>`).
    #[must_use]
    pub fn schema(&self) -> &str {
        self.schema.as_str()
    }

    /// The database URL the tests use (it may carry a password: show it through
    /// [`crate::redact_url`]).
    #[must_use]
    pub fn url(&self) -> &str {
        self.url
    }

    /// Drops the schema and everything in it now.
    ///
    /// # Errors
    /// A store error (for example, a worker still running on the schema holds a lock).
    pub async fn drop_schema(mut self) -> Result<(), TestingError> {
        crate::__private::store(&self.scheduler)
            .drop_schema()
            .await?;
        self.dropped = true;
        Ok(())
    }
}

impl Drop for TestDb {
    /// A passed test drops its schema; a failed one keeps it and says so.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let schema = self.schema.clone();
        if std::thread::panicking() {
            eprintln!(
                "test failed: keeping its pgsched schema {schema} in {} to look at; drop it \
                 with DROP SCHEMA {} CASCADE",
                redact_url(self.url),
                schema.quoted()
            );
            return;
        }
        // Drop cannot await, and the test's runtime may be a current-thread one (which
        // blocking here would stall): drop the schema from a thread and runtime of its own,
        // with a connection of its own.
        let url = self.url;
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| format!("no runtime to drop it on: {error}"))?;
            runtime.block_on(async {
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .map_err(|error| format!("cannot connect: {error}"))?;
                let store = PgStore::new(pool.clone(), schema);
                let dropped = tokio::time::timeout(DROP_TIMEOUT, store.drop_schema()).await;
                pool.close().await;
                match dropped {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!(
                        "it took over {DROP_TIMEOUT:?} (a worker left running holds a lock?)"
                    )),
                }
            })
        })
        .join();
        let failure = match dropped {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error,
            Err(_) => "dropping it panicked".to_owned(),
        };
        eprintln!(
            "could not drop the pgsched schema {} of a passed test: {failure}",
            self.schema
        );
    }
}

/// The test settings over `url` and `schema` (see [`TestDb::builder`]).
fn builder(url: &str, schema: &SchemaName) -> SchedulerBuilder {
    Scheduler::builder()
        .url(url)
        .schema(schema.as_str())
        .pool_size(TEST_POOL_SIZE)
}

/// `pgsched_test_<pid>_<n>_<nanos>`: unique within the process (`n`) and across processes
/// (`pid`, and the clock against a recycled pid).
fn unique_schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    format!("{SCHEMA_PREFIX}{}_{n}_{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_unique_and_valid() {
        let first = unique_schema_name();
        let second = unique_schema_name();
        assert_ne!(first, second);
        for name in [first, second] {
            assert!(name.starts_with(SCHEMA_PREFIX), "{name}");
            SchemaName::new(name.clone()).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }
}
