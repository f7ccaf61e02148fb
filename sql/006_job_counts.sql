-- 006: exact per-tenant, per-status job counts, kept by triggers for every
-- writer (the module, the worker, retention, and SQL run by hand), so that
-- GET /api/ingest/stats and the total of GET /api/ingest/jobs read a few
-- rows instead of counting the tenant's jobs.
--
-- One counter row per (tenant, status) would serialize every concurrent
-- insert of a tenant on that row; the counts are spread over 16 shards
-- instead, a session writing to the shard of its backend pid, and a count
-- is the sum of its shards. The triggers are statement-level, with
-- transition tables: a statement that changes 100 jobs (a worker's claim)
-- writes one delta per (tenant, status, shard), not 100.

CREATE TABLE ingest_job_counts (
    tenant_id text NOT NULL,
    status    ingest_job_status NOT NULL,
    shard     smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
    n         bigint NOT NULL,
    PRIMARY KEY (tenant_id, status, shard)
);

CREATE FUNCTION ingest_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, (pg_backend_pid() % 16)::smallint, count(*) FROM new_rows
        GROUP BY tenant_id, status ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION ingest_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, (pg_backend_pid() % 16)::smallint, -count(*) FROM old_rows
        GROUP BY tenant_id, status ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

-- Only the rows whose status (or tenant) changed count; a status update
-- moves one job from the old (tenant, status) to the new.
CREATE FUNCTION ingest_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, (pg_backend_pid() % 16)::smallint, sum(d) FROM (
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

CREATE TRIGGER ingest_jobs_count_insert AFTER INSERT ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_counts_insert();
CREATE TRIGGER ingest_jobs_count_update AFTER UPDATE ON ingest_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_counts_update();
CREATE TRIGGER ingest_jobs_count_delete AFTER DELETE ON ingest_jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_counts_delete();

CREATE FUNCTION ingest_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ingest_job_counts;
    RETURN NULL;
END
$$;
CREATE TRIGGER ingest_jobs_count_truncate AFTER TRUNCATE ON ingest_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION ingest_counts_truncate();

-- The jobs already there (the migration runs in one transaction, with the
-- triggers above in place for whatever commits after it).
LOCK TABLE ingest_jobs IN SHARE MODE;
INSERT INTO ingest_job_counts (tenant_id, status, shard, n)
    SELECT tenant_id, status, 0, count(*) FROM ingest_jobs GROUP BY tenant_id, status;

-- A tenant's count of one status, or of all.
CREATE FUNCTION ingest_job_count(t text, s ingest_job_status) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(n), 0)::bigint FROM ingest_job_counts WHERE tenant_id = t AND (s IS NULL OR status = s)
$$;
