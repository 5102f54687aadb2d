-- migrate, behind a transaction pooler: this transaction's settings, where a direct migrator
-- sets its session's. Migrations use unqualified names, so search_path is the schema ($1,
-- quoted); a migrator stuck behind a forgotten lock fails after 60 s instead of hanging a
-- start-up forever. Returns the database's name, from which the migration lock's key comes.
SELECT current_database()::text,
       set_config('search_path', $1, true),
       set_config('lock_timeout', '60s', true)
