-- retention: bound the next statement of this transaction, so a delete never holds up claims.
SELECT set_config('statement_timeout', $1, true)
