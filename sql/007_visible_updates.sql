-- 007: updated_at changes when what a job shows changes, not when only its
-- lease is renewed.
--
-- A worker renews the leases of the jobs it holds every few seconds (and
-- of all of them on every progress step). Those UPDATEs set lease columns
-- only; touching updated_at for them changed every running job's status
-- answer several times a second for nothing, which also made every
-- cached status answer (IngestStatusCache) stale at once. The trigger now
-- fires only for UPDATEs that set a column GET /api/ingest/status shows
-- (ingest_job_json); lease_owner, lease_expires_at, due_at, storage_path
-- and idempotency_key are not among them.

DROP TRIGGER ingest_jobs_updated_at ON ingest_jobs;
CREATE TRIGGER ingest_jobs_updated_at
    BEFORE UPDATE OF job_id, tenant_id, user_id, source_type, filename, file_type, file_size,
                     content_sha256, priority, status, error, result_url, result_data, total_items,
                     processed_items, failed_items, attempts, upload_expires_at, created_at,
                     started_at, completed_at
    ON ingest_jobs FOR EACH ROW EXECUTE FUNCTION ingest_touch_updated_at();
