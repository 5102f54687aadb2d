-- migrate, behind a transaction pooler: concurrent migrators wait for each other until this
-- transaction ends. The key ($1) is the one sqlx's migrator takes as a session lock, so a
-- direct migrator and a pooled one exclude each other too. A transaction-scoped lock cannot be
-- left behind on a server connection the pooler then hands to someone else.
SELECT pg_advisory_xact_lock($1)
