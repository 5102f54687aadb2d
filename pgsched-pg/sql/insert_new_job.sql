-- schedule one job whose id was generated for it (see insert_new_jobs.sql), with scalar
-- parameters.
INSERT INTO __SCHEMA__.jobs (__JOB_COLUMNS__)
SELECT __JOB_VALUES__
  FROM __JOB_SCALARS__
