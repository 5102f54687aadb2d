-- migrate, behind a transaction pooler: what is applied (read after the migration lock is
-- held, so a concurrent migrator's work is seen). A row with success = false is a migration
-- that failed half-way without a transaction: refuse to go on, as sqlx does.
SELECT version, checksum, success FROM __SCHEMA__._pgsched_migrations ORDER BY version
