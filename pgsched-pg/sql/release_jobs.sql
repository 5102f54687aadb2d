-- release (shutdown): give claimed jobs back as pending, fenced by token. A job that never
-- started gets its attempt back. Wakes other workers at commit when it released any and
-- they listen ($4, the channel; NULL: nobody listens). $5 is each job's new last_error
-- (`shutdown: released by worker ...`, so an operator can tell why attempts grew); NULL keeps
-- the one it has. A release with a last_error ends an attempt that counts: the text is
-- appended to attempt_errors too, keeping the last $6 (migration 0016).
WITH released AS (
    UPDATE __SCHEMA__.jobs AS j
       SET status = 'pending',
           attempts = j.attempts - CASE WHEN d.refund THEN 1 ELSE 0 END,
           last_error = COALESCE(d.last_error, j.last_error),
           attempt_errors = CASE WHEN d.last_error IS NULL THEN j.attempt_errors
                                 ELSE __SCHEMA__.attempt_errors_append(j.attempt_errors, j.attempts,
                                                                       d.last_error, $6) END,
           lease_token = NULL,
           lease_expires_at = NULL,
           worker_id = NULL
      FROM unnest($1::text[], $2::int8[], $3::bool[], $5::text[]) AS d(id, token, refund, last_error)
     WHERE j.id = d.id
       AND j.lease_token = d.token
    RETURNING j.id
)
SELECT (SELECT count(*) FROM released) AS released,
       (SELECT count(*)
          FROM (SELECT pg_notify($4, '')
                 WHERE $4::text IS NOT NULL AND EXISTS (SELECT 1 FROM released)) AS sent) AS notified
