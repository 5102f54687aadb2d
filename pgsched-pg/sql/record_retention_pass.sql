-- retention statistics: add one pass to today's (UTC) row.
INSERT INTO __SCHEMA__.vacuum_stats AS s
       (stat_date, deleted_completed, deleted_failed, deleted_cancelled, deleted_expired,
        runs, last_run, last_worker)
VALUES ((now() AT TIME ZONE 'UTC')::date, $1, $2, $3, $4, 1, now(), $5)
    ON CONFLICT (stat_date) DO UPDATE
   SET deleted_completed = s.deleted_completed + excluded.deleted_completed,
       deleted_failed = s.deleted_failed + excluded.deleted_failed,
       deleted_cancelled = s.deleted_cancelled + excluded.deleted_cancelled,
       deleted_expired = s.deleted_expired + excluded.deleted_expired,
       runs = s.runs + 1,
       last_run = excluded.last_run,
       last_worker = excluded.last_worker
