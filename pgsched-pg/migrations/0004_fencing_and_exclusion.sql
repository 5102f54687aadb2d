-- pgsched schema, version 4: fencing that survives a crash or a failover, and exclusive runs
-- that follow leases instead of sessions.

-- Lease tokens are random 64-bit values drawn by the claim (see claim_jobs.sql). A sequence
-- could hand out the same token twice: its advance is lost with an asynchronously committed
-- claim after a crash, or on a failover to a replica that had not received it, and a zombie
-- holding token N would then match a new holder's token N.
DROP SEQUENCE lease_tokens;

-- Jobs sharing an exclusive key never run at the same time: at most one of them is running,
-- and so at most one holds a live lease. The claim skips a key that has a running job, and
-- this index makes that exact when two claims race for two jobs of one key (the second
-- claim's update fails and is retried; see claim_jobs.sql). A holder that stops renewing
-- keeps the key only until its lease expires and the recovery sweep makes its job pending:
-- the exclusion follows the lease, not a database session.
ALTER TABLE jobs ADD COLUMN exclusive_key text;
CREATE UNIQUE INDEX jobs_exclusive_running ON jobs (exclusive_key)
    WHERE status = 'running' AND exclusive_key IS NOT NULL;
