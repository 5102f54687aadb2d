-- retention statistics over all time.
SELECT coalesce(sum(deleted_completed), 0)::bigint AS deleted_completed,
       coalesce(sum(deleted_failed), 0)::bigint AS deleted_failed,
       coalesce(sum(deleted_cancelled), 0)::bigint AS deleted_cancelled,
       coalesce(sum(deleted_expired), 0)::bigint AS deleted_expired,
       coalesce(sum(runs), 0)::bigint AS runs,
       max(last_run) AS last_run
  FROM __SCHEMA__.vacuum_stats
