-- release (shutdown): give claimed jobs back as pending, fenced by token. A job that never
-- started gets its attempt back. Wakes other workers at commit.
WITH released AS (
    UPDATE __SCHEMA__.jobs AS j
       SET status = 'pending',
           attempts = j.attempts - CASE WHEN d.refund THEN 1 ELSE 0 END,
           lease_token = NULL,
           lease_expires_at = NULL,
           worker_id = NULL
      FROM unnest($1::text[], $2::int8[], $3::bool[]) AS d(id, token, refund)
     WHERE j.id = d.id
       AND j.lease_token = d.token
    RETURNING j.id
)
SELECT count(*) AS released, pg_notify($4, '') IS NULL AS notified FROM released
