-- schedule (Raise / Ignore): write new jobs; ids that exist are left alone. One statement per
-- batch, arrays in; only the ids that were NOT inserted come back (usually none), so a bulk
-- insert does not ship every id back.
WITH input AS (
    SELECT * FROM __JOB_ARRAYS__
), inserted AS (
    INSERT INTO __SCHEMA__.jobs (__JOB_COLUMNS__)
    SELECT __JOB_VALUES__
      FROM input AS d
        ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT id FROM input WHERE id NOT IN (SELECT id FROM inserted)
