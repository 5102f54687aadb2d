-- Workers seen within $1 ms, with the running jobs each holds (found through the partial
-- index of running jobs).
SELECT w.id, w.host, w.pid, w.started_at, w.last_seen_at,
       ARRAY(SELECT j.id
               FROM __SCHEMA__.jobs j
              WHERE j.status = 'running'
                AND j.worker_id = w.id
              ORDER BY j.id) AS job_ids
  FROM __SCHEMA__.workers w
 WHERE w.last_seen_at >= now() - $1 * interval '1 millisecond'
 ORDER BY w.started_at, w.id
