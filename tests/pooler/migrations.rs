//! Migrations through the pooler: concurrent migrators of a fresh schema serialise on the
//! transaction-scoped lock, and the bookkeeping is exactly what a direct migration writes.

use pgsched_tests::TestDb;
use sqlx::AssertSqlSafe;

use crate::bouncer::{Bouncer, StartupParameters};
use crate::{chain, pooled};

async fn bookkeeping(db: &TestDb) -> Vec<(i64, String, bool, Vec<u8>)> {
    let mut connection = db.connect().await;
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT version, description, success, checksum FROM \"{}\"._pgsched_migrations \
         ORDER BY version",
        db.schema()
    )))
    .fetch_all(&mut connection)
    .await
    .expect("bookkeeping")
}

#[tokio::test]
async fn concurrent_migrators_through_the_pooler_serialise_and_match_a_direct_migration() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let builders: Vec<_> = (0..4)
        .map(|_| db.builder().url(bouncer.url()).transaction_pooler(true))
        .collect();
    let mut migrators = Vec::new();
    for builder in builders {
        migrators.push(tokio::spawn(async move {
            let scheduler = builder.build().await?;
            scheduler.initialize_db().await
        }));
    }
    for migrator in migrators {
        if let Err(error) = migrator.await.expect("migrator task") {
            panic!("a concurrent migrator failed: {}", chain(&error));
        }
    }
    // Usable, and a second pass changes nothing.
    let scheduler = pooled(&db, &bouncer, |b| b).await;
    assert!(scheduler.job("nothing").await.expect("query").is_none());

    let direct = TestDb::new();
    direct.scheduler(|b| b).await;
    let pooled_rows = bookkeeping(&db).await;
    assert!(!pooled_rows.is_empty());
    assert_eq!(pooled_rows, bookkeeping(&direct).await);
    db.drop_schema().await;
    direct.drop_schema().await;
}
