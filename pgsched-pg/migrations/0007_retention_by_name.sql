-- pgsched schema, version 7: `keep_last` retention reads each job name's newest rows from an
-- index instead of ranking a whole status.

-- Finished jobs by status, job name and finish time: purge_keep_last.sql finds each name's
-- N-th newest row with a short backward index scan, then deletes that name's older rows by
-- range, in bounded batches, without sorting anything.
CREATE INDEX jobs_finished_by_name ON jobs (status, name, finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled', 'expired');
