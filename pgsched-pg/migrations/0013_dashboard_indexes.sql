-- pgsched schema, version 13: the dashboard's jobs list reads one page from an index, by
-- keyset, whatever the size of the table.
--
-- The list is ordered by (created_at, id), newest or oldest first; the id makes every key
-- unique, so the next page seeks past exactly the last row shown (dashboard_jobs_newest.sql,
-- dashboard_jobs_oldest.sql). One index per filter that can be the only one a page has:
-- none, a status, a job name, an id prefix. Each read stops after a page of rows; a filter on
-- top of them (a time range, a second filter) is checked on the rows the index yields. The id
-- prefix index is in byte order (text_pattern_ops), which a LIKE prefix can seek in whatever
-- the database's collation: a rare prefix reads just its matches, a common one is read as a
-- filter on the creation order.
-- Each index costs every insert an index entry (and a status change of a job one more in the
-- status index); none is on a column a lease renewal writes, so renewals stay HOT.
--
-- On a large existing table these builds block writes while they run (a migration runs in a
-- transaction, which CREATE INDEX CONCURRENTLY cannot): to upgrade a big queue without that,
-- create the four indexes CONCURRENTLY by hand, under these names, before starting the new
-- version (IF NOT EXISTS then skips them here).
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at, id);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_name_created ON jobs (name, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_id_prefix ON jobs (id text_pattern_ops);
