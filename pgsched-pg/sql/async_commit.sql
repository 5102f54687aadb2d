-- Behind a transaction pooler (no startup options reach the server): the worker's claims,
-- outcomes, releases and sweeps commit without waiting for the WAL flush, as the direct mode's
-- `synchronous_commit = off` sessions do (a crash may lose such a commit; the job runs again).
-- Sent together with BEGIN, in the same message: no extra round trip.
SET LOCAL synchronous_commit = off
