//! Worker registration: a live worker whose registration was pruned as dead (a pause longer
//! than the dead-worker threshold) registers again on its next heartbeat (issue 10).

use pgsched_tests::{eventually, setup};

#[tokio::test]
async fn a_pruned_live_worker_registers_again() {
    let t = setup().await;
    let (db, scheduler) = (&t.db, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    let listed = scheduler.workers().await.expect("workers");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let id = listed[0].id.clone();

    // What a sweep does to a worker it considers dead.
    let mut connection = db.connect().await;
    let pruned = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM \"{}\".workers WHERE id = $1",
        db.schema()
    )))
    .bind(&id)
    .execute(&mut connection)
    .await
    .expect("delete");
    assert_eq!(pruned.rows_affected(), 1);
    assert!(scheduler.workers().await.expect("workers").is_empty());

    // Heartbeats every second (the test timings): it is listed again soon after.
    let again = eventually(&format!("worker {id} to register again"), || async {
        let workers = scheduler.workers().await.expect("workers");
        workers.into_iter().find(|worker| worker.id == id)
    })
    .await;
    assert_eq!(again.pid, std::process::id());
    scheduler.shutdown().await.expect("shutdown");
}
