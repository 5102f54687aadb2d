-- prune: remove up to $1 keys' rate slots that are free again (free_at passed), by the
-- database clock. A slot without a row is free, so this changes no claim's decision; it keeps
-- the table to the keys that started a job within their last period. A claim taking such a
-- slot at this moment holds its row locked: SKIP LOCKED leaves it be. Returns how many went.
WITH gone AS (
    DELETE FROM __SCHEMA__.key_rate_slots AS k
     WHERE k.ctid = ANY (ARRAY(SELECT s.ctid
                                 FROM __SCHEMA__.key_rate_slots AS s
                                WHERE s.free_at <= now()
                                LIMIT $1
                                  FOR UPDATE SKIP LOCKED))
       AND k.free_at <= now()
    RETURNING 1
)
SELECT count(*) FROM gone
