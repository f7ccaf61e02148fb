-- 009: the job counts (006) spread over 1,024 shards instead of 16.
--
-- A session adds its deltas to the shard of its backend pid, and the row
-- stays locked until the session's transaction commits, that is until its
-- WAL is flushed. With 16 shards and 32 sessions inserting jobs, two
-- sessions shared each shard and waited for each other's commits: the
-- counts trigger halved POST init (pgbench, durable commits, 32 clients:
-- 3,080 inserts/s without it, 2,130 to 2,380 with 16 shards, 2,995 with
-- 1,024). A count is still the sum of its shards: at most 1,024 rows per
-- tenant and status, whatever the number of jobs.

ALTER TABLE ingest_job_counts DROP CONSTRAINT ingest_job_counts_shard_check;
ALTER TABLE ingest_job_counts ADD CONSTRAINT ingest_job_counts_shard_check CHECK (shard BETWEEN 0 AND 1023);

-- the shard of this session
CREATE FUNCTION ingest_counts_shard() RETURNS smallint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (pg_backend_pid() % 1024)::smallint
$$;

CREATE OR REPLACE FUNCTION ingest_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, ingest_counts_shard(), count(*) FROM new_rows
        GROUP BY tenant_id, status ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ingest_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, ingest_counts_shard(), -count(*) FROM old_rows
        GROUP BY tenant_id, status ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ingest_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, ingest_counts_shard(), sum(d) FROM (
            SELECT o.tenant_id, o.status, -1 AS d FROM old_rows o JOIN new_rows n USING (job_id)
                WHERE (o.status, o.tenant_id) IS DISTINCT FROM (n.status, n.tenant_id)
            UNION ALL
            SELECT n.tenant_id, n.status, 1 FROM old_rows o JOIN new_rows n USING (job_id)
                WHERE (o.status, o.tenant_id) IS DISTINCT FROM (n.status, n.tenant_id)) x
        GROUP BY tenant_id, status HAVING sum(d) <> 0 ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
