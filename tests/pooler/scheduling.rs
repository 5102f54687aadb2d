//! Scheduling through the pooler from several clients at once: single jobs, bulk batches,
//! conflicts, transactional enqueue; and the same traffic without the pooler mode, which fails.

use std::time::Duration;

use chrono::Utc;
use pgsched::{ConflictResolution, Error, JobId, JobSpec, Scheduled, Scheduler};
use pgsched_tests::TestDb;
use sqlx::AssertSqlSafe;

use crate::bouncer::{Bouncer, StartupParameters};
use crate::jobs::mark;
use crate::{chain, pooled};

/// `clients` tasks at once, each scheduling `per_client` jobs one by one and reading each back.
async fn traffic(
    scheduler: &Scheduler,
    clients: i64,
    per_client: i64,
) -> Result<Vec<JobId>, Error> {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let scheduler = scheduler.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..per_client {
                let id = mark::schedule(
                    Utc::now(),
                    mark::Args {
                        label: "traffic".into(),
                        value: client * 1000 + n,
                    },
                )
                .on(&scheduler)
                .await?;
                let job = scheduler.job(id.as_str()).await?;
                assert!(job.is_some(), "{id} reads back");
                ids.push(id);
            }
            Ok::<_, Error>(ids)
        }));
    }
    let mut ids = Vec::new();
    let mut first_error = None;
    for task in tasks {
        match task.await.expect("client task") {
            Ok(mut written) => ids.append(&mut written),
            Err(error) => first_error = first_error.or(Some(error)),
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(ids),
    }
}

async fn count(db: &TestDb) -> i64 {
    let mut connection = db.connect().await;
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".jobs",
        db.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("count")
}

fn spec(value: i64, id: Option<String>) -> JobSpec {
    let spec = mark::spec(
        Utc::now() + chrono::Duration::hours(1),
        mark::Args {
            label: "bulk".into(),
            value,
        },
    );
    match id {
        Some(id) => spec.job_id(id),
        None => spec,
    }
}

#[tokio::test]
async fn scheduling_single_bulk_and_in_a_transaction_from_many_clients() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let scheduler = pooled(&db, &bouncer, |b| b).await;
    let other = pooled(&db, &bouncer, |b| b).await;

    // Single jobs, 8 clients on two schedulers at once, each read back.
    let (a, b) = tokio::join!(traffic(&scheduler, 4, 20), traffic(&other, 4, 20));
    let written = a.expect("pooled traffic").len() + b.expect("pooled traffic").len();
    assert_eq!(written, 160);

    // Bulk: 250 jobs in one transaction, 100 per statement, chosen ids; then the same ids
    // again from two clients at once (Ignore keeps them all) and once more with Raise.
    let ids: Vec<String> = (0..250).map(|n| format!("bulk-{n}")).collect();
    let specs = |ids: &[String]| -> Vec<JobSpec> {
        ids.iter()
            .enumerate()
            .map(|(n, id)| spec(i64::try_from(n).expect("small"), Some(id.clone())))
            .collect()
    };
    let inserted = scheduler
        .schedule_bulk(specs(&ids), ConflictResolution::Ignore, 100)
        .await
        .expect("bulk");
    assert!(inserted.iter().all(|r| matches!(r, Scheduled::Inserted(_))));
    let (again, again_other) = tokio::join!(
        scheduler.schedule_bulk(specs(&ids), ConflictResolution::Ignore, 100),
        other.schedule_bulk(specs(&ids), ConflictResolution::Ignore, 100),
    );
    for results in [again.expect("bulk again"), again_other.expect("bulk again")] {
        assert!(results.iter().all(|r| matches!(r, Scheduled::Kept(_))));
    }
    let raised = scheduler
        .schedule_bulk(specs(&ids[..3]), ConflictResolution::Raise, 100)
        .await
        .expect("bulk raise");
    assert!(
        raised
            .iter()
            .all(|r| matches!(r, Scheduled::AlreadyExists { .. })),
        "{raised:?}"
    );
    let fresh = scheduler
        .schedule_bulk(
            (0..30).map(|n| spec(n, None)).collect(),
            ConflictResolution::Ignore,
            7,
        )
        .await
        .expect("bulk of generated ids");
    assert_eq!(fresh.len(), 30);

    // One chosen id twice: the second is refused.
    mark::enqueue(mark::Args {
        label: "once".into(),
        value: 1,
    })
    .job_id("chosen")
    .on(&scheduler)
    .await
    .expect("first");
    let second = mark::enqueue(mark::Args {
        label: "once".into(),
        value: 2,
    })
    .job_id("chosen")
    .on(&other)
    .await;
    assert!(
        matches!(second, Err(Error::AlreadyExists { .. })),
        "{second:?}"
    );

    // In a transaction: exists only if it commits. And on a pooled connection outside any
    // transaction, which the store wraps in one of its own.
    let mut tx = scheduler.pool().begin().await.expect("begin");
    let rolled_back = mark::enqueue(mark::Args {
        label: "tx".into(),
        value: 1,
    })
    .on(&scheduler)
    .in_tx(&mut tx)
    .await
    .expect("scheduled in tx");
    tx.rollback().await.expect("rollback");
    let mut tx = scheduler.pool().begin().await.expect("begin");
    let committed = mark::enqueue(mark::Args {
        label: "tx".into(),
        value: 2,
    })
    .on(&scheduler)
    .in_tx(&mut tx)
    .await
    .expect("scheduled in tx");
    tx.commit().await.expect("commit");
    let mut bare = scheduler.pool().acquire().await.expect("connection");
    let on_bare = mark::enqueue(mark::Args {
        label: "tx".into(),
        value: 3,
    })
    .on(&scheduler)
    .in_tx(&mut bare)
    .await
    .expect("scheduled on a bare connection");
    drop(bare);
    assert!(
        scheduler
            .job(rolled_back.as_str())
            .await
            .expect("inspect")
            .is_none()
    );
    assert!(
        scheduler
            .job(committed.as_str())
            .await
            .expect("inspect")
            .is_some()
    );
    assert!(
        other
            .job(on_bare.as_str())
            .await
            .expect("inspect")
            .is_some()
    );

    assert_eq!(count(&db).await, 160 + 250 + 30 + 1 + 2);
    db.drop_schema().await;
}

#[tokio::test]
async fn without_the_pooler_mode_the_same_traffic_fails() {
    // PgBouncer set to ignore sqlx's extra_float_digits, so a client without the mode can
    // connect at all: what fails is then the statements themselves.
    let bouncer = Bouncer::start(StartupParameters::IgnoreExtraFloatDigits);
    let db = TestDb::new();
    // Migrated directly: sqlx's session-locked migrator through the pooler is not the point.
    db.scheduler(|b| b).await;

    let plain = db
        .builder()
        .url(bouncer.url())
        .listen(false)
        .build()
        .await
        .expect("builds");
    let failed = tokio::time::timeout(Duration::from_secs(30), traffic(&plain, 4, 20))
        .await
        .expect("the plain traffic ends (fails) in time")
        .expect_err("prepared statements do not survive a transaction pooler");
    let text = chain(&failed);
    assert!(
        text.contains("prepared statement"),
        "fails on a statement prepared on one server connection and bound on another: {text}"
    );
    println!("without the pooler mode: {text}");

    // The same traffic, same PgBouncer, with the mode: every job written.
    let with_mode = pooled(&db, &bouncer, |b| b).await;
    let written = traffic(&with_mode, 4, 20).await.expect("pooled traffic");
    assert_eq!(written.len(), 80);
    db.drop_schema().await;
}

#[tokio::test]
async fn statements_given_up_mid_flight_leave_no_server_connection_in_a_transaction() {
    // Callers give up on statements (a select! in the dispatcher, a timeout). A future dropped
    // after its BEGIN was sent but before sqlx read the answer must not leave its pooled
    // connection inside a transaction: that keeps one of PgBouncer's three server connections
    // until the pooled connection happens to be used again, and three of them stop everyone.
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let quitter = pooled(&db, &bouncer, |b| b).await;
    let other = pooled(&db, &bouncer, |b| b).await;
    let mut given_up = 0;
    for cycle in 0..3_u64 {
        for round in 0..40_u64 {
            // Five lookups at once on the quitter's five connections (two of them queue for
            // a server connection in PgBouncer), all dropped together after ~0.3-1.5 ms.
            let lookups = async {
                tokio::join!(
                    quitter.job("a"),
                    quitter.job("b"),
                    quitter.job("c"),
                    quitter.job("d"),
                    quitter.job("e"),
                )
            };
            let limit = Duration::from_micros(300 + (cycle * 40 + round) * 97 % 1200);
            if tokio::time::timeout(limit, lookups).await.is_err() {
                given_up += 1;
            }
        }
        // The quitter now stays idle: the other scheduler's statements need server
        // connections that no given-up transaction holds.
        let written = tokio::time::timeout(pgsched_tests::DEADLINE, traffic(&other, 6, 5))
            .await
            .expect("no server connection is held by a transaction the quitter gave up on")
            .expect("pooled traffic");
        assert_eq!(written.len(), 30);
    }
    assert!(given_up > 0, "some lookups were given up mid-flight");
    println!("{given_up} of 120 rounds given up mid-flight; no server connection stayed taken");
    db.drop_schema().await;
}
