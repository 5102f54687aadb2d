-- A worker announces its periodic schedules. A new key starts with the attribute's
-- `enabled`; an existing one keeps its persisted state (enable/disable is an operator's
-- decision) and gets the current job name and schedule text.
INSERT INTO __SCHEMA__.periodic_schedules (dedup_key, job_name, schedule, enabled)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[])
    ON CONFLICT (dedup_key) DO UPDATE
   SET job_name = excluded.job_name,
       schedule = excluded.schedule,
       updated_at = now()
 WHERE periodic_schedules.job_name IS DISTINCT FROM excluded.job_name
    OR periodic_schedules.schedule IS DISTINCT FROM excluded.schedule
