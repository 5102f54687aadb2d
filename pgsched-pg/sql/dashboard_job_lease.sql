-- dashboard job detail: the lease of a job ($1): its expiry and token (NULL: not held).
-- Reads only: no row lock.
SELECT lease_expires_at, lease_token FROM __SCHEMA__.jobs WHERE id = $1
