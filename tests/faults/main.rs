//! Fault tests on private PostgreSQL clusters (`pgsched_devdb::PrivateCluster`): the test
//! starts its own servers, crashes them, makes replicas and promotes them, and never touches
//! the shared test database's server (only the failover test keeps its oracle table there,
//! because that server does not fail over).
//!
//! | module | issue 10 | fault |
//! |---|---|---|
//! | `crash` | fencing (1) | claims lost to `pg_ctl stop -m immediate`; a zombie's tokens after restart |
//! | `failover` | fencing (2) | primary stopped `-m immediate` mid-drain, async replica promoted on its port |
//!
//! A target of its own rather than modules of `tests/chaos`: these tests need servers of their
//! own with settings of their own, not the shared database the chaos labs use; the worker
//! processes and their helpers are reused from `tests/chaos/harness.rs`. Each test takes the
//! whole gate (`harness::gate(2)`), so they run one at a time. Each prints its figures
//! (`--nocapture` to see them).

// The chaos harness, shared: this target uses only part of it.
#[allow(dead_code)]
#[path = "../chaos/harness.rs"]
mod harness;

mod crash;
mod failover;

use std::time::{Duration, Instant};

use pgsched_devdb::PrivateCluster;

/// Starts a private cluster with `settings`, or fails with the reason (missing binaries
/// included: these tests are never skipped).
fn private_cluster(settings: &[(&str, &str)]) -> PrivateCluster {
    tokio::task::block_in_place(|| PrivateCluster::start(settings))
        .unwrap_or_else(|error| panic!("a private PostgreSQL cluster: {error}"))
}

/// Waits until `check` holds, polling every 20 ms; panics with `what` at `limit`. Returns how
/// long it took.
async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
