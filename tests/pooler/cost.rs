//! What the pooler mode costs per statement, measured (not asserted): sequential job lookups
//! (main pool) and empty claims (worker pool, `synchronous_commit = off`) directly in the
//! default mode, directly in the pooler mode, and through PgBouncer in the pooler mode.
//! Run with `cargo test -p pgsched-tests --test pooler -- --ignored --nocapture cost`.

use std::time::{Duration, Instant};

use pgsched::Scheduler;
use pgsched_core::store::JobStore;
use pgsched_tests::TestDb;

use crate::bouncer::{Bouncer, StartupParameters};

/// Calls per batch; the figure is the best batch of [`BATCHES`] (the least disturbed by
/// whatever else the machine does).
const ROUNDS: u32 = 400;
const BATCHES: u32 = 5;

async fn per_call<F, Fut>(mut call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..50 {
        call().await;
    }
    let mut best = Duration::MAX;
    for _ in 0..BATCHES {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            call().await;
        }
        best = best.min(started.elapsed() / ROUNDS);
    }
    best
}

async fn measure(label: &str, scheduler: &Scheduler) {
    let lookup = per_call(|| async {
        scheduler.job("missing").await.expect("lookup");
    })
    .await;
    let store = pgsched::__private::store(scheduler);
    let claim = per_call(|| async {
        store
            .claim(
                "cost",
                &pgsched_core::QueueName::DEFAULT,
                10,
                Duration::from_secs(30),
                &pgsched_core::store::ClaimFloor::FRONT,
            )
            .await
            .expect("claim");
    })
    .await;
    println!(
        "{label:<36} lookup {:>6.1} µs   empty claim {:>6.1} µs",
        lookup.as_secs_f64() * 1e6,
        claim.as_secs_f64() * 1e6
    );
}

#[tokio::test]
#[ignore = "a measurement: prints figures, asserts nothing"]
async fn cost_per_statement() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let direct = db.scheduler(|b| b).await;
    let direct_pooled = db.scheduler(|b| b.transaction_pooler(true)).await;
    let through_bouncer = crate::pooled(&db, &bouncer, |b| b).await;
    measure("direct, default mode", &direct).await;
    measure("direct, pooler mode", &direct_pooled).await;
    measure("PgBouncer, pooler mode", &through_bouncer).await;
    db.drop_schema().await;
}
