//! Test support for pgsched's end-to-end tests: a schema of its own per test, fast timings,
//! a recorder that jobs write to, waiting on events with a deadline, and the set-up bundle
//! that ties them together ([`setup`]).
//!
//! The database comes from `DATABASE_URL`, else the server on `127.0.0.1:5432`, else a
//! throwaway cluster started for this test binary (see `pgsched-devdb`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pgsched::{Scheduler, SchedulerBuilder};
use sqlx::{Connection, PgConnection};

mod setup;
mod ticks;
pub use setup::{KEEP_FAILED_FOR, Setup, setup, setup_with};
pub use ticks::{enqueued, next_event, periodic_tick};

/// How long a test waits for an expected event before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The URL of the database the tests use.
///
/// # Panics
/// When no PostgreSQL can be found or started (the message says how to provide one).
#[must_use]
pub fn database_url() -> &'static str {
    match pgsched_devdb::shared_url() {
        Ok(url) => url,
        Err(error) => panic!("no PostgreSQL for the tests: {error}"),
    }
}

/// A schema of its own for one test; dropped by [`TestDb::drop_schema`].
#[derive(Debug, Clone)]
pub struct TestDb {
    schema: String,
}

impl TestDb {
    /// A fresh, unique schema name (the schema itself is created by migration).
    #[must_use]
    pub fn new() -> TestDb {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        TestDb {
            schema: format!("t_{}_{n}_{}", std::process::id(), &nonce[24..]),
        }
    }

    /// The schema's name.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A builder for this schema with test timings: 100 ms poll, 3 s lease, 1 s heartbeat,
    /// 250 ms sweeps, 5 s shutdown grace, 50 ms retry backoff.
    #[must_use]
    pub fn builder(&self) -> SchedulerBuilder {
        Scheduler::builder()
            .url(database_url())
            .schema(self.schema.clone())
            .pool_size(5)
            .poll_interval(Duration::from_millis(100))
            .lease_duration(Duration::from_secs(3))
            .heartbeat_interval(Duration::from_secs(1))
            .sweep_interval(Duration::from_millis(250))
            .shutdown_grace(Duration::from_secs(5))
            .retry_policy(
                pgsched::RetryPolicy::new()
                    .initial(Duration::from_millis(50))
                    .factor(2.0)
                    .max(Duration::from_millis(400))
                    .jitter(0.0),
            )
    }

    /// A migrated scheduler for this schema, built with `configure` over the test builder.
    pub async fn scheduler(
        &self,
        configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
    ) -> Scheduler {
        let ready = async {
            let scheduler = configure(self.builder())
                .build()
                .await
                .expect("scheduler builds");
            scheduler.initialize_db().await.expect("migrations run");
            scheduler
        };
        match tokio::time::timeout(Duration::from_secs(90), ready).await {
            Ok(scheduler) => scheduler,
            Err(_) => panic!(
                "building and migrating the scheduler of {} took over 90 s",
                self.schema
            ),
        }
    }

    /// A direct connection (for inspecting and arranging rows).
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(database_url())
            .await
            .expect("connects")
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(&self) {
        let mut connection = self.connect().await;
        let statement = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await
            .expect("schema dropped");
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

/// What test jobs report: `(label, value)` pairs, in the order they happened. Cheap to
/// clone; give it to the scheduler as state and jobs receive it as `State<Recorder>`.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    inner: Arc<RecorderInner>,
}

#[derive(Debug, Default)]
struct RecorderInner {
    events: Mutex<Vec<(String, i64)>>,
    changed: tokio::sync::Notify,
}

impl Recorder {
    /// Records one event.
    pub fn record(&self, label: &str, value: i64) {
        self.inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((label.to_owned(), value));
        self.inner.changed.notify_waiters();
    }

    /// Every event so far.
    #[must_use]
    pub fn events(&self) -> Vec<(String, i64)> {
        self.inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The values recorded under `label`, in order.
    #[must_use]
    pub fn values(&self, label: &str) -> Vec<i64> {
        self.events()
            .into_iter()
            .filter(|(l, _)| l == label)
            .map(|(_, v)| v)
            .collect()
    }

    /// Waits until `label` has at least `count` events; panics after [`DEADLINE`].
    pub async fn wait_for(&self, label: &str, count: usize) -> Vec<i64> {
        let waited = tokio::time::timeout(DEADLINE, async {
            loop {
                let notified = self.inner.changed.notified();
                let values = self.values(label);
                if values.len() >= count {
                    return values;
                }
                notified.await;
            }
        })
        .await;
        match waited {
            Ok(values) => values,
            Err(_) => panic!(
                "waited {DEADLINE:?} for {count} {label:?} events; saw {:?}",
                self.values(label)
            ),
        }
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
