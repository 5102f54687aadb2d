-- The database clock, which decides periodic windows (periodic_states reads it from its
-- rows; this is for when there are none).
SELECT now()
