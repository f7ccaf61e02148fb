-- 011: triggers that cost per statement, not per row, for the worker's
-- batches (a claim or a finish changes up to IngestWorkerBatch jobs).
--
-- 1. The counts of 006/009 joined old_rows to new_rows on job_id. In a
--    long-lived connection (httpd's pooled ones) plpgsql caches a generic
--    plan for that join, made while statements changed one row: a nested
--    loop over the two transition tables, so a statement changing n jobs
--    compared n * n pairs (45% of PostgreSQL's time in a 1,000-job batch
--    burn-down). A job whose (tenant, status) did not change adds -1 and +1
--    to the same count, so no join is needed: the old rows subtract, the
--    new rows add, and the pairs that cancel are dropped.
-- 2. The transition history was a row trigger: one plpgsql call and one
--    INSERT per job. It is now one INSERT per statement, from the same
--    transition tables; the join it needs is planned afresh each time
--    (EXECUTE), with the row counts of this statement. Every status change
--    is still recorded exactly once, in the same transaction as the change.
-- 3. The terminal guard called plpgsql for every status change to find
--    that it had nothing to refuse; its condition is now the trigger's
--    WHEN clause, evaluated without a function call, and the function
--    only raises the error.
-- 4. ingest_jobs_claim (priority, created_at), the claim order across all
--    tenants before 010, is no longer read by any statement, but was
--    maintained on every change to a queued job and kept the planner off
--    the per-tenant index of 010.

CREATE OR REPLACE FUNCTION ingest_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_counts AS c (tenant_id, status, shard, n)
        SELECT tenant_id, status, ingest_counts_shard(), sum(d) FROM (
            SELECT tenant_id, status, -1 AS d FROM old_rows
            UNION ALL
            SELECT tenant_id, status, 1 FROM new_rows) x
        GROUP BY tenant_id, status HAVING sum(d) <> 0 ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

DROP TRIGGER ingest_jobs_transitions ON ingest_jobs;
DROP FUNCTION ingest_record_transition();

CREATE FUNCTION ingest_record_insert_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_job_transitions (job_id, from_status, to_status, lease_owner)
        SELECT job_id, NULL, status, lease_owner FROM new_rows;
    RETURN NULL;
END
$$;

CREATE FUNCTION ingest_record_update_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'INSERT INTO ingest_job_transitions (job_id, from_status, to_status, lease_owner)'
         || ' SELECT n.job_id, o.status, n.status, coalesce(n.lease_owner, o.lease_owner)'
         || ' FROM new_rows n JOIN old_rows o USING (job_id) WHERE n.status IS DISTINCT FROM o.status';
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_insert_transitions AFTER INSERT ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_record_insert_transitions();
CREATE TRIGGER ingest_jobs_update_transitions AFTER UPDATE ON ingest_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ingest_record_update_transitions();

DROP TRIGGER ingest_jobs_terminal_guard ON ingest_jobs;
CREATE TRIGGER ingest_jobs_terminal_guard BEFORE UPDATE OF status ON ingest_jobs
    FOR EACH ROW WHEN (OLD.status IN ('completed', 'failed') AND NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION ingest_guard_terminal();

DROP INDEX ingest_jobs_claim;
