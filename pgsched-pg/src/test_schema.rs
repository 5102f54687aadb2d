//! A fresh, uniquely named schema on the tests' PostgreSQL for the crate's own database tests,
//! with a pool and a connection on it; dropped by [`TestSchema::drop`] when the test passed.

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

use crate::schema_name::SchemaName;

pub(crate) struct TestSchema {
    pub(crate) schema: SchemaName,
    pub(crate) pool: PgPool,
    pub(crate) connection: PgConnection,
}

impl TestSchema {
    /// A schema named `{prefix}_{pid}_{nanos}` (not created: migrating creates it).
    pub(crate) async fn new(prefix: &str) -> TestSchema {
        let url = pgsched_devdb::shared_url().expect("a PostgreSQL for the tests");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .subsec_nanos();
        let schema =
            SchemaName::new(format!("{prefix}_{}_{nanos}", std::process::id())).expect("valid");
        TestSchema {
            schema,
            pool: PgPool::connect(url).await.expect("pool"),
            connection: PgConnection::connect(url).await.expect("connect"),
        }
    }

    /// Drops the schema and closes the pool.
    pub(crate) async fn drop(mut self) {
        self.connection
            .execute(AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.schema.quoted()
            )))
            .await
            .expect("schema dropped");
        self.pool.close().await;
    }
}
