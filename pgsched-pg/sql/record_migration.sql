-- migrate, behind a transaction pooler: one applied migration, in the same transaction as its
-- script (execution_time in nanoseconds, as sqlx records it).
INSERT INTO __SCHEMA__._pgsched_migrations
       (version, description, success, checksum, execution_time)
VALUES ($1, $2, TRUE, $3, $4)
