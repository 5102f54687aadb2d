-- Pauses ($2 true) or resumes queue $1 for every worker: claims read the flag in the same
-- statement that takes jobs (claim_jobs.sql), so a pause holds from the next claim on.
INSERT INTO __SCHEMA__.queues AS q (name, paused)
VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE
   SET paused = excluded.paused,
       updated_at = now()
