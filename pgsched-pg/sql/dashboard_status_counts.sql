-- dashboard overview: jobs per stored status, each count capped at $1 (the page shows "at
-- least" past it). Each count reads one status's rows from an index whose predicate or
-- leading column is that status (claim order, scheduled, running, finished), with an
-- index-only scan stopped by the LIMIT, so a table of millions costs a bounded read, not a
-- scan. Reads only: takes no row lock.
SELECT (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'scheduled' LIMIT $1) s) AS scheduled,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'pending'   LIMIT $1) s) AS pending,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'running'   LIMIT $1) s) AS running,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'completed' LIMIT $1) s) AS completed,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'failed'    LIMIT $1) s) AS failed,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'cancelled' LIMIT $1) s) AS cancelled,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status = 'expired'   LIMIT $1) s) AS expired
