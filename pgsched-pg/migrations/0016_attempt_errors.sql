-- pgsched schema, version 16: every attempt's error, not only the last one (the dashboard's
-- job page lists them).
--
-- `attempt_errors`: a JSON array, oldest first, of one object per attempt that ended with an
-- error: {"attempt": <attempt number>, "at": <database clock, UTC, ISO 8601>, "error": <its
-- text>}. Written by the statements that end an attempt with an error, through
-- attempt_errors_append below: a failure or a retry (finish_jobs.sql), an expired lease
-- (recover_orphans.sql), a release at shutdown that counts the attempt (release_jobs.sql).
-- `last_error` stays what it was (the latest error, or why the job was cancelled, expired or
-- released), so every reader of it is unchanged.
--
-- A column of the row, not a table: retention deletes it with the job, and no statement that
-- deletes or claims a job changes. Nullable without a default, so adding it rewrites nothing
-- and a job that never failed stores nothing (NULL). A completed attempt writes nothing more
-- than before: finish_jobs.sql leaves the column as it is for a completion, which keeps the
-- stored (TOASTed) value in place. The column is in no index, so writing it keeps updates HOT.
--
-- Bounded: only the most recent `keep` errors are kept (the caller passes it:
-- pgsched_pg::ATTEMPT_ERRORS_KEPT, one constant for every statement), each error at most as
-- long as last_error already is (pgsched_core::store::MAX_ERROR_BYTES, cut before it reaches
-- the database), so a job allowed 10,000 retries holds at most `keep` of them.
ALTER TABLE jobs ADD COLUMN attempt_errors jsonb;

-- `history` with the error `error` of attempt `attempt` appended at the end, now by the
-- database clock, and only its last `keep` entries kept. The one place the rule is written;
-- an SQL function of one SELECT, inlined into the statements that call it.
CREATE FUNCTION attempt_errors_append(history jsonb, attempt integer, error text, keep integer)
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT jsonb_path_query_array(
                   coalesce(history, '[]'::jsonb)
                   || jsonb_build_array(jsonb_build_object(
                          'attempt', attempt,
                          'at', to_char(now() AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                          'error', error)),
                   '$[last - $keep + 1 to last]',
                   jsonb_build_object('keep', greatest(keep, 1)))
    $$;
