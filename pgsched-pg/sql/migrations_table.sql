-- migrate, behind a transaction pooler: the bookkeeping table, in exactly sqlx's layout, so a
-- schema migrated in either mode is recognised by the other.
CREATE TABLE IF NOT EXISTS __SCHEMA__._pgsched_migrations (
    version        bigint      PRIMARY KEY,
    description    text        NOT NULL,
    installed_on   timestamptz NOT NULL DEFAULT now(),
    success        boolean     NOT NULL,
    checksum       bytea       NOT NULL,
    execution_time bigint      NOT NULL
)
