-- A periodic run's exclusive lock, held on a dedicated connection for the whole run. The key
-- is derived from the schema and the dedup key, so schemas sharing a database do not collide.
SELECT pg_try_advisory_lock(hashtextextended($1, 0))
