-- schedule one job (Raise / Ignore): the single-row form of insert_jobs.sql, with scalar
-- parameters (no arrays to unpack). Returns the id if it was inserted, nothing if it exists.
INSERT INTO __SCHEMA__.jobs (__JOB_COLUMNS__)
SELECT __JOB_VALUES__
  FROM __JOB_SCALARS__
    ON CONFLICT (id) DO NOTHING
RETURNING id
