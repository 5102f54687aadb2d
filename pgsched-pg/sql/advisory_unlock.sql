-- Release a periodic run's lock on the connection that holds it.
SELECT pg_advisory_unlock(hashtextextended($1, 0))
