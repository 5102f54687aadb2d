-- dashboard overview: jobs per stored status, each count capped at $1 (the page shows "at
-- least" past it). Each count reads one status's rows from jobs_status_c_created, whose
-- leading column is the status in the "C" collation (migration 0014: it is the dashboard's,
-- out of the workers' reach, so its comparisons say COLLATE "C"), with an index-only scan
-- stopped by the LIMIT, so a table of millions costs a bounded read, not a scan. Reads only:
-- takes no row lock.
SELECT (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'scheduled' LIMIT $1) s) AS scheduled,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'pending'   LIMIT $1) s) AS pending,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'running'   LIMIT $1) s) AS running,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'completed' LIMIT $1) s) AS completed,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'failed'    LIMIT $1) s) AS failed,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'cancelled' LIMIT $1) s) AS cancelled,
       (SELECT count(*) FROM (SELECT 1 FROM __SCHEMA__.jobs WHERE status COLLATE "C" = 'expired'   LIMIT $1) s) AS expired
