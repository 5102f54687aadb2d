-- retention statistics of the last $1 days (UTC), newest first.
SELECT stat_date, deleted_completed, deleted_failed, deleted_cancelled, deleted_expired,
       runs::bigint AS runs, last_run, last_worker
  FROM __SCHEMA__.vacuum_stats
 WHERE stat_date > (now() AT TIME ZONE 'UTC')::date - $1::integer
 ORDER BY stat_date DESC
