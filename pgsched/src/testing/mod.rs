//! Test helpers for applications that use pgsched (cargo feature `testing`; enable it in your
//! `[dev-dependencies]` only): the bar is Oban's `Oban.Testing` and River's `rivertest`.
//!
//! | helper | what it does |
//! |---|---|
//! | [`TestDb`] | a fresh, migrated, uniquely named schema per test on a real PostgreSQL, and a [`Scheduler`](crate::Scheduler) on it; dropped when the test passes, kept (and named) when it fails |
//! | [`drain`] | runs every due job now, one after another on the test's task, until none is due; returns each attempt ([`InlineRun`]: id, name, attempt, status, error) |
//! | [`enqueued`], [`assert_enqueued`], [`assert_not_enqueued`] | the jobs of one type waiting to run, with their arguments decoded; assertions on them, no SQL |
//! | [`PeriodicClock`] | a clock for periodic jobs: advance it to a schedule's next window and that window (exactly one run) is enqueued |
//! | [`devdb`] | the launcher that finds or starts the PostgreSQL, for tests that want a database or a cluster of their own |
//!
//! Everything runs through pgsched's real paths, never a fake: [`drain`] claims, runs and
//! writes outcomes with the statements, executor and fenced writes a worker uses (decoding,
//! the schema check, timeouts, panics, retries and failures behave as in production), and
//! [`PeriodicClock`] enqueues windows through the periodic enqueuer's compare-and-set. The
//! database is PostgreSQL, found as `pgsched-devdb` finds it: `DATABASE_URL`, else a server on
//! `127.0.0.1:5432`, else a throwaway cluster started from the system's PostgreSQL binaries
//! for the test process.
//!
//! ```no_run
//! use pgsched::job;
//! use pgsched::testing::{TestDb, assert_enqueued, assert_not_enqueued, drain};
//!
//! /// Sends the welcome email.
//! #[job(max_retries = 2)]
//! async fn send_welcome(to: String) -> Result<(), std::io::Error> {
//!     Ok(())
//! }
//!
//! /// Signing up enqueues the welcome email (the application code under test).
//! async fn sign_up(scheduler: &pgsched::Scheduler, email: &str) -> pgsched::Result<()> {
//!     send_welcome::enqueue(send_welcome::Args { to: email.to_owned() })
//!         .on(scheduler)
//!         .await?;
//!     Ok(())
//! }
//!
//! #[tokio::test]
//! async fn signing_up_sends_the_welcome_email() -> Result<(), Box<dyn std::error::Error>> {
//!     let db = TestDb::new().await?;
//!     sign_up(db.scheduler(), "ada@example.com").await?;
//!
//!     // Typed by the job's generated `Args`; the closure sees them decoded.
//!     assert_enqueued::<send_welcome::Args>(db.scheduler(), |args| args.to == "ada@example.com").await;
//!
//!     let runs = drain(db.scheduler()).await?;
//!     assert_eq!(runs.len(), 1);
//!     assert_eq!(runs[0].status, Some(pgsched::JobStatus::Completed), "{:?}", runs[0].error);
//!     assert_not_enqueued::<send_welcome::Args>(db.scheduler(), |_| true).await;
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! Periodic jobs, with a [`PeriodicClock`]:
//!
//! ```no_run
//! use pgsched::periodic;
//! use pgsched::testing::{PeriodicClock, TestDb, drain};
//!
//! /// Every night at 02:30 UTC.
//! #[periodic(cron = "30 2 * * *")]
//! async fn nightly_report() {}
//!
//! #[tokio::test]
//! async fn the_report_runs_once_a_night() -> Result<(), Box<dyn std::error::Error>> {
//!     let db = TestDb::new().await?;
//!     let mut clock = PeriodicClock::new(db.scheduler()).await?;
//!     // Nothing is due before the next 02:30.
//!     assert!(clock.advance(std::time::Duration::from_secs(60)).await?.is_empty());
//!     // At 02:30, that window, and only it, is enqueued: the schedule's key (its job's name
//!     // unless `dedup_key` says otherwise) or its job's name picks the schedule.
//!     let windows = clock.advance_to_next_window(nightly_report::NAME).await?;
//!     assert_eq!(windows.len(), 1);
//!     let runs = drain(db.scheduler()).await?;
//!     assert_eq!(runs.len(), 1);
//!     assert_eq!(runs[0].id, windows[0].id);
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! What these helpers do not do: [`drain`] runs only jobs that are due by the database clock
//! (a job scheduled for later, or a retry whose delay has not passed, stays for a later drain
//! — give the [`TestDb`] a `RetryPolicy` with a zero delay to have one drain run every
//! attempt); the [`PeriodicClock`] moves periodic decisions only, not the database clock that
//! due times, misfires and leases follow.

mod assertions;
mod clock;
mod db;
mod drain;
mod error;

pub use assertions::{EnqueuedJob, assert_enqueued, assert_not_enqueued, enqueued};
pub use clock::{EnqueuedWindow, PeriodicClock};
pub use db::TestDb;
pub use drain::{DRAIN_LIMIT_DEFAULT, Drain, drain};
pub use error::TestingError;
pub use pgsched_core::runtime::InlineRun;
/// The PostgreSQL launcher [`TestDb`] uses (`pgsched-devdb`), for tests that need more than a
/// schema: [`devdb::shared_url`] (the tests' server: `DATABASE_URL`, else `127.0.0.1:5432`,
/// else a throwaway cluster kept until the test process exits),
/// [`devdb::DevDatabase::start_throwaway`] (a cluster of the test's own), and
/// [`devdb::PrivateCluster`] (one a test may stop, crash or restart).
pub use pgsched_devdb as devdb;
