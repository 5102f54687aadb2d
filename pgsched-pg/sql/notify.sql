-- Wakes the workers listening on the channel $1 (schedule_on writes inside the caller's
-- transaction: the notification is delivered when, and only if, it commits).
SELECT pg_notify($1, '')
