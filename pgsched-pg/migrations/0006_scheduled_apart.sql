-- pgsched schema, version 6: jobs due later wait apart from jobs due now, claims take equal
-- jobs in insertion order, and writes notify only when a job becomes runnable.

-- `scheduled`: a job whose due time is still ahead. It is not in the claim's index, so a
-- million jobs due tomorrow cost the claim nothing. The promotion (promote_jobs.sql) makes
-- it `pending` when it comes due by the database clock; one that is past its misfire grace
-- by then stays out of the claim's way until the misfire sweep expires it. Readers see
-- both `scheduled` and `pending` as the public status "pending".
ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
    CHECK (status IN ('scheduled', 'pending', 'running', 'completed', 'failed', 'cancelled', 'expired'));

-- The status a job written with due time `run_at` and misfire grace `grace_ms` (NULL: never
-- expires) starts in: `pending` when it can be claimed now, else `scheduled` (due later, or
-- already past its grace: the misfire sweep expires it, and the claim never sees it). One definition, used by every statement that writes a waiting job; an inlined SQL
-- function, so it costs nothing.
CREATE FUNCTION waiting_status(run_at timestamptz, grace_ms bigint) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT CASE WHEN run_at <= now()
                         AND (grace_ms IS NULL OR run_at + grace_ms * interval '1 millisecond' >= now())
                    THEN 'pending' ELSE 'scheduled' END
    $$;

-- Jobs already waiting for a later due time move out of the claim's way.
UPDATE jobs SET status = 'scheduled' WHERE status = 'pending' AND run_at > now();

-- The claim: due jobs by priority, due time, then insertion order: `created_at` (the
-- inserting transaction's start) orders separate schedule calls, and the id orders the jobs
-- of one transaction (generated ids are time-ordered UUIDv7s, in the order they were made).
-- No sequence: a worker role needs no extra grant. The id also makes every key unique, so
-- a claim can seek past exactly the jobs it already took (see claim_jobs.sql). Only
-- `pending` rows are in it, and they are all due, so the claim reads from the front of each
-- priority's range and stops.
DROP INDEX jobs_claim_order;
CREATE INDEX jobs_claim_order ON jobs (priority, run_at, created_at, id) WHERE status = 'pending';
-- The promotion (promote_jobs.sql) reads scheduled jobs from three indexes, so that neither
-- jobs due later nor jobs already past their grace are ever walked over (the id makes keys
-- unique, so a pass can seek past exactly what the one before promoted):
-- jobs that never expire, by due time (the due ones are the front of the index);
CREATE INDEX jobs_scheduled ON jobs (run_at, id) WHERE status = 'scheduled' AND expires_at IS NULL;
-- jobs that can expire, by expiry: the ones still in their window start at now(), and the
-- misfire sweep (expire_misfired.sql) finds the expired ones at the front;
CREATE INDEX jobs_scheduled_expiring ON jobs (expires_at, id)
    WHERE status = 'scheduled' AND expires_at IS NOT NULL;
-- and the same by due time, for when the next one comes due (the expired ones are before
-- now() and never read).
CREATE INDEX jobs_scheduled_expiring_due ON jobs (run_at)
    WHERE status = 'scheduled' AND expires_at IS NOT NULL;

-- Notifications are sent by the statements that make a job runnable soon, when the writer
-- has LISTEN on (see insert_jobs.sql), not by a trigger on every insert: a notifying commit
-- takes a cluster-wide lock, and most inserts (future jobs, conflicts, bulk loads without
-- listeners) have nobody to wake.
DROP TRIGGER jobs_written ON jobs;
DROP FUNCTION notify_jobs_written();

-- Lease renewals update a running job every heartbeat, changing only lease_expires_at. With
-- no index on that column (and room on the page) the update is HOT: no new index entry in
-- any index, and the old version is pruned in place. So running jobs are indexed by their
-- worker instead (list_workers.sql); the orphan sweep reads the running rows (as many as the
-- workers run at once) and filters on the lease.
DROP INDEX jobs_lease_expiry;
CREATE INDEX jobs_running ON jobs (worker_id) WHERE status = 'running';

-- A queue table churns: every job is inserted, updated two or three times and deleted. Let
-- autovacuum visit it after 2 % of its rows changed (not the default 20 %), without its
-- cost-based sleeps, so dead rows are reclaimed while they are few; see README "Operating".
-- Fill factor 90 leaves each page room for those in-place renewals.
ALTER TABLE jobs SET (
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 0
);
