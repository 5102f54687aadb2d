-- dashboard reads: bound this transaction's statements to $1 (e.g. `2000ms`), so a page
-- never holds a connection or a snapshot long on a big table; plan each statement for its
-- actual parameters (the jobs list's optional filters fold away; see
-- dashboard_jobs_newest.sql); and no JIT compilation, which costs a page 100 ms or more
-- whenever a big table's estimates cross jit_above_cost, for queries that read a bounded
-- number of index entries. Transaction-local: every setting ends with the transaction.
SELECT set_config('statement_timeout', $1, true),
       set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('jit', 'off', true)
