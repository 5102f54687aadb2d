-- dashboard action "delete" (operator): removes a job ($1) that is not running. A running
-- job is left alone (cancel it first: its worker holds a lease on it and would write an
-- outcome). The row lock of the DELETE waits for a claim or outcome writing the same row;
-- the status test is re-checked on the row it then sees, so a job claimed meanwhile stays.
DELETE FROM __SCHEMA__.jobs WHERE id = $1 AND status <> 'running' RETURNING id
