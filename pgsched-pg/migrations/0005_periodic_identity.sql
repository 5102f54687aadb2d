-- pgsched schema, version 5: a periodic schedule's identity is its key (the job's name, or an
-- explicit dedup_key), no longer a hash of name *and* schedule; the row records the schedule
-- in force, since when, and which worker registered it.

-- `schedule_since`: since when `schedule` is in force (the key's first registration, or the
-- last change of expression). The enqueuer never runs a window before it: a brand-new
-- schedule does not run the window just before its registration, and a changed expression
-- does not run its windows from before the change. The default keeps the INSERT of an older
-- binary (during a rolling upgrade) valid.
-- `registered_at` / `registered_by`: the worker start that last wrote the row's schedule. The
-- most recently started registration wins: replicas whose schedule differs from the row's
-- enqueue nothing for the key.
ALTER TABLE periodic_schedules
    ADD COLUMN schedule_since timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN registered_at  timestamptz,
    ADD COLUMN registered_by  text;

-- Existing rows: their schedule has been known since the row was created. (Windows they
-- already ran are after that, and `last_window` keeps them from running again.)
UPDATE periodic_schedules SET schedule_since = created_at;

-- Rows keyed by the old default key (16 hex digits hashing the job name and the schedule
-- text) are left as they are: SQL cannot recompute that hash, so it cannot re-key them here.
-- The first registration of the job under its new key (the job's name), by a worker or by a
-- management call, recognises them in Rust (a row whose key is the hash of its own job_name
-- and schedule) and adopts the most recently updated one in the same statement that creates
-- the new row: the new row starts with that row's `enabled` and `last_window` (so neither an
-- operator's disable nor a window already enqueued is lost), and the old row is deleted (so
-- an old binary still running during the upgrade stops enqueueing under it). Hashed rows of
-- jobs no binary registers any more stay, inert: nothing enqueues for a key no worker has.
