-- link: record the edges (parent $1[i] -> child $2[i]) of jobs just written `blocked`, each
-- edge once, after lock_parents.sql locked and marked every parent. An edge whose parent
-- has already ended is written settled (its `parent_status`) and settled at once by
-- settle_dependents (migration 0018), all such edges together: a completed parent counts down
-- (a dependency on a completed job is satisfied), one that ended otherwise applies the
-- child's policy. Returns how many children became runnable.
WITH linked AS (
    INSERT INTO __SCHEMA__.job_dependencies (parent_id, child_id, parent_status)
    SELECT edge.parent_id, edge.child_id,
           CASE WHEN parent.status IN ('completed', 'failed', 'cancelled', 'expired')
                THEN parent.status END
      FROM unnest($1::text[], $2::text[]) AS edge(parent_id, child_id)
      JOIN __SCHEMA__.jobs AS parent ON parent.id = edge.parent_id
    RETURNING parent_id, child_id, parent_status
)
SELECT __SCHEMA__.settle_dependents(array_agg(child_id), array_agg(parent_id),
                                    array_agg(parent_status)) AS released
  FROM linked
 WHERE parent_status IS NOT NULL
