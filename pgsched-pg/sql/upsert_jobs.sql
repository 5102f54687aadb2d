-- schedule (Replace): write new jobs and rewrite existing ones as new waiting jobs, unless
-- they are running: a running attempt is never disturbed (no row comes back for it, and the
-- caller reports it). Every written column takes the new value (the id is the same one); the
-- attempt's traces, the attempts' errors and a finished job's output are cleared. `xmax = 0`
-- tells an insert from an update.
INSERT INTO __SCHEMA__.jobs AS j (__JOB_COLUMNS__)
SELECT __JOB_VALUES__
  FROM __JOB_ARRAYS__
    ON CONFLICT (id) DO UPDATE
   SET (__JOB_COLUMNS__,
        attempts, lease_token, lease_expires_at, worker_id, last_error, started_at, finished_at,
        output, output_schema_hash, attempt_errors)
     = ROW(__EXCLUDED_JOB_COLUMNS__,
           0, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL)
 WHERE j.status <> 'running'
RETURNING id, (xmax = 0) AS inserted
