//! [`TestingError`]: what the test helpers fail with.

use pgsched_core::{Error, JobId, Shown};

/// Why a test helper failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// No PostgreSQL could be found or started for the test (the message says how to provide
    /// one).
    #[error("no PostgreSQL for the test: {0}")]
    NoDatabase(#[from] pgsched_devdb::DevDbError),
    /// pgsched failed (building the scheduler, migrating, a statement, …).
    #[error(transparent)]
    Pgsched(#[from] Error),
    /// A job of the type asked for is stored with arguments that do not decode as its `Args`
    /// (written by another version of the job, or scheduled by name with other bytes).
    #[error(
        "job {} ({}) is stored with arguments that do not decode as its Args: {reason}",
        Shown(id.as_str()),
        Shown(name)
    )]
    Undecodable {
        /// The job.
        id: JobId,
        /// Its name.
        name: String,
        /// Why it did not decode.
        reason: String,
    },
    /// No periodic schedule of this binary has this key or job name.
    #[error(
        "no periodic schedule has the key or job name {}: the periodic jobs of this test \
         binary are {known:?} (is the crate defining it linked into the test, e.g. `use my_jobs as _;`?)",
        Shown(asked)
    )]
    UnknownPeriodic {
        /// The key or job name asked for.
        asked: String,
        /// The keys this binary has.
        known: Vec<String>,
    },
    /// The schedule asked for never fires again (or it is disabled and was never enqueued).
    #[error("periodic schedule {} has no next window", Shown(key))]
    NoNextWindow {
        /// Its key.
        key: String,
    },
    /// A clock was asked to go back in time.
    #[error("a PeriodicClock only moves forward: it reads {now}, and {asked} is earlier")]
    ClockBackwards {
        /// What the clock reads.
        now: chrono::DateTime<chrono::Utc>,
        /// The instant asked for.
        asked: chrono::DateTime<chrono::Utc>,
    },
    /// A periodic tick could not read or write the schedules.
    #[error("the periodic tick failed: {0}")]
    Tick(String),
}
