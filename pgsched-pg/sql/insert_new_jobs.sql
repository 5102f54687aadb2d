-- schedule jobs whose ids were generated for them (UUIDv7): no other job can have those ids,
-- so they are inserted without ON CONFLICT's per-row speculative check and nothing comes back.
INSERT INTO __SCHEMA__.jobs (__JOB_COLUMNS__)
SELECT __JOB_VALUES__
  FROM __JOB_ARRAYS__
