-- The status of existing jobs, to report conflicts.
SELECT id, status FROM __SCHEMA__.jobs WHERE id = ANY($1::text[])
