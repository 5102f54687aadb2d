-- pgsched schema, version 20: a queue's per-key rate limit. Every concurrency key of the
-- queue may start at most `key_rate_limit` jobs per `key_rate_period_ms`, cluster-wide, by the
-- database clock (the queue's own `rate_limit` counts all its starts together).
ALTER TABLE queues ADD COLUMN key_rate_limit int4 CHECK (key_rate_limit > 0),
                   ADD COLUMN key_rate_period_ms int8 CHECK (key_rate_period_ms > 0),
                   ADD CHECK ((key_rate_limit IS NULL) = (key_rate_period_ms IS NULL));

-- A key's rate slots in a queue: slot s (0 .. key_rate_limit-1) is free again at `free_at`,
-- one period after the start that took it, as a queue's rate_slots. A key has thousands of
-- peers, so its rows are written by the claim that first takes them (a slot without a row is
-- free) and removed by the sweep once free again (prune_key_rate_slots.sql): the table holds
-- only the keys that started a job within the last period. `job_id` is the job that took the
-- slot last, so a claim can tell which of its jobs got theirs.
CREATE TABLE key_rate_slots (
    queue           text NOT NULL,
    concurrency_key text NOT NULL,
    slot            int4 NOT NULL,
    free_at         timestamptz NOT NULL,
    job_id          text NOT NULL,
    PRIMARY KEY (queue, concurrency_key, slot)
);
-- The sweep finds the slots free again, and the idle wait the next one to come free, by time.
CREATE INDEX key_rate_slots_free_at ON key_rate_slots (free_at);

-- Every claim writes to this table (with no rows when no queue has a per-key rate). A role
-- granted privileges on rate_slots gets the same on it, so a worker role granted as the
-- README's "Least privilege" section says keeps claiming after this upgrade.
DO $$
DECLARE
    granted record;
BEGIN
    FOR granted IN
        SELECT a.grantee, a.privilege_type
          FROM pg_class AS c, aclexplode(c.relacl) AS a
         WHERE c.oid = 'rate_slots'::regclass
           AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON key_rate_slots TO %s', granted.privilege_type,
                       CASE WHEN granted.grantee = 0 THEN 'PUBLIC'
                            ELSE quote_ident(pg_get_userbyid(granted.grantee)) END);
    END LOOP;
END
$$;
