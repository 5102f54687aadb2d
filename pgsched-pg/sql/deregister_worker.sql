-- A worker leaves after a graceful shutdown.
DELETE FROM __SCHEMA__.workers WHERE id = $1
