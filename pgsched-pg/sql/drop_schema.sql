-- drop the schema and everything in it: the throwaway schemas of pgsched::testing (never
-- run by a worker or by migrations).
DROP SCHEMA IF EXISTS __SCHEMA__ CASCADE
