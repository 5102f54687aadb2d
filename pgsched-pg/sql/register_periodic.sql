-- Registers periodic schedules, in one statement for all of them.
-- $1 keys, $2 job names, $3 schedule texts, $4 `enabled` defaults, $5 per key: the key of a
-- row an earlier version wrote for the same schedule under its hashed default key (NULL:
-- none), whose state a newly created row takes over; $6 the registering worker's id (NULL: a
-- management call).
--
-- A new key starts with the attribute's `enabled` (or the adopted row's state), its schedule
-- in force from now: no window before this registration is ever run. An existing key keeps
-- its persisted `enabled` and `last_window` (enable/disable is an operator's decision and
-- survives every redeploy). A worker's registration ($6 set) then takes over the row: the
-- most recently started registration wins, so it writes its job name and schedule, with the
-- time and itself; a changed schedule is in force from now (`schedule_since`). A management
-- call only creates missing rows: looking at schedules never changes the one replicas follow.
-- When a worker's registration changes a key's schedule, the run the previous schedule
-- enqueued ahead (due later, not started) is cancelled: its window belongs to a schedule no
-- longer in force, and may lie after the new one's `schedule_since`.
WITH registering AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[])
           AS r(dedup_key, job_name, schedule, enabled, legacy_key)
), adopted AS (
    DELETE FROM __SCHEMA__.periodic_schedules AS legacy
     USING registering AS r
     WHERE legacy.dedup_key = r.legacy_key
       AND legacy.dedup_key <> r.dedup_key
    RETURNING r.dedup_key, legacy.enabled, legacy.last_window, legacy.last_job_id
), superseded AS (
    UPDATE __SCHEMA__.jobs AS j
       SET status = 'cancelled',
           finished_at = now(),
           last_error = 'cancelled: its periodic schedule changed before it was due'
      FROM __SCHEMA__.periodic_schedules AS p
      JOIN registering AS r USING (dedup_key)
     WHERE $6::text IS NOT NULL
       AND (p.schedule IS DISTINCT FROM r.schedule OR p.job_name IS DISTINCT FROM r.job_name)
       AND j.id = p.last_job_id
       AND j.status IN ('scheduled', 'pending')
       AND j.run_at > now()
    RETURNING j.id
)
INSERT INTO __SCHEMA__.periodic_schedules AS p
       (dedup_key, job_name, schedule, enabled, last_window, last_job_id,
        schedule_since, registered_at, registered_by)
SELECT r.dedup_key, r.job_name, r.schedule, coalesce(a.enabled, r.enabled), a.last_window,
       a.last_job_id, now(), CASE WHEN $6::text IS NOT NULL THEN now() END, $6::text
  FROM registering AS r
  LEFT JOIN adopted AS a USING (dedup_key)
    ON CONFLICT (dedup_key) DO UPDATE
   SET job_name = excluded.job_name,
       schedule = excluded.schedule,
       schedule_since = CASE
           WHEN p.schedule IS DISTINCT FROM excluded.schedule
             OR p.job_name IS DISTINCT FROM excluded.job_name
           THEN now() ELSE p.schedule_since END,
       registered_at = now(),
       registered_by = excluded.registered_by,
       updated_at = now()
 WHERE excluded.registered_by IS NOT NULL
