//! pgsched behind a real PgBouncer in transaction pooling mode (`pool_mode = transaction`,
//! three server connections shared by every client), with the pooler mode on and LISTEN off:
//! scheduling, claiming across two workers, retries, exclusive periodic runs, retention and
//! migrations all work; and without the mode the same traffic fails, so these tests cannot
//! pass vacuously.
//!
//! Each test starts its own PgBouncer (`bouncer.rs`) in front of the tests' server and its
//! own schema; PgBouncer must be installed (`apt-get install -y pgbouncer`).

mod bouncer;
mod cost;
mod jobs;
mod migrations;
mod scheduling;
mod workers;

use std::error::Error as _;

use pgsched::{Scheduler, SchedulerBuilder};
use pgsched_tests::TestDb;

use crate::bouncer::Bouncer;

/// A migrated scheduler of `db`'s schema that reaches the database through `bouncer`, with the
/// pooler mode on (and so LISTEN off); migrations ran through the pooler too.
pub(crate) async fn pooled(
    db: &TestDb,
    bouncer: &Bouncer,
    configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
) -> Scheduler {
    db.scheduler(|builder| configure(builder.url(bouncer.url()).transaction_pooler(true)))
        .await
}

/// An error and its sources, as one line (what PostgreSQL said is at the end).
pub(crate) fn chain(error: &pgsched::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
