//! Least privilege: a worker role with only the documented grants runs jobs, and cannot
//! change the schema.

use pgsched::JobStatus;
use pgsched_tests::{Recorder, database_url, eventually, setup};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::jobs::mark;

/// The grants of the README's "Least privilege" section, for schema `schema` and role `role`.
fn grants(schema: &str, role: &str) -> Vec<String> {
    vec![
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO {role}"),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \"{schema}\".jobs, \"{schema}\".workers, \"{schema}\".periodic_schedules, \"{schema}\".running_slots, \"{schema}\".rate_slots, \"{schema}\".key_rate_slots, \"{schema}\".queues, \"{schema}\".job_dependencies TO {role}"
        ),
        format!(
            "GRANT SELECT, INSERT, UPDATE ON \"{schema}\".vacuum_state, \"{schema}\".vacuum_stats TO {role}"
        ),
        format!("GRANT SELECT ON \"{schema}\"._pgsched_migrations TO {role}"),
    ]
}

async fn execute(connection: &mut PgConnection, statement: String) -> Result<(), sqlx::Error> {
    sqlx::query(AssertSqlSafe(statement))
        .execute(connection)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_worker_with_only_the_documented_grants_runs_jobs_without_ddl() {
    let t = setup().await;
    let db = &t.db;
    let owner = db.scheduler(|b| b).await; // migrates as the owner
    let role = format!("{}_worker", db.schema());
    let mut admin = db.connect().await;
    execute(&mut admin, format!("CREATE ROLE {role} LOGIN"))
        .await
        .expect("role");
    for grant in grants(db.schema(), &role) {
        execute(&mut admin, grant).await.expect("grant");
    }

    let options: PgConnectOptions = database_url()
        .parse::<PgConnectOptions>()
        .expect("url")
        .username(&role);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await
        .expect("connects as the worker role");
    let rec = Recorder::default();
    let worker = db
        .builder()
        .pool(pool)
        .state(rec.clone())
        .build()
        .await
        .expect("builds");
    worker
        .start()
        .await
        .expect("starts without DDL on a migrated schema");
    let id = mark::enqueue(mark::Args {
        label: "least".into(),
        value: 1,
    })
    .on(&worker)
    .await
    .expect("schedules");
    assert_eq!(rec.wait_for("least", 1).await, [1]);
    eventually("completion", || async {
        let job = owner.job(id.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(())
    })
    .await;
    worker.shutdown().await.expect("shutdown");

    let mut as_worker = PgConnection::connect_with(&options)
        .await
        .expect("connects");
    for ddl in [
        format!("CREATE TABLE \"{}\".intruder (x int)", db.schema()),
        format!("ALTER TABLE \"{}\".jobs ADD COLUMN x int", db.schema()),
        format!("TRUNCATE \"{}\".jobs", db.schema()),
        format!("DROP TABLE \"{}\".workers", db.schema()),
    ] {
        let refused = execute(&mut as_worker, ddl.clone()).await;
        assert!(
            refused.is_err(),
            "the worker role must not be able to run {ddl}"
        );
    }
    as_worker.close().await.expect("close");
    drop(worker);
    execute(&mut admin, format!("DROP OWNED BY {role}"))
        .await
        .expect("drop owned");
    execute(&mut admin, format!("DROP ROLE {role}"))
        .await
        .expect("drop role");
}
