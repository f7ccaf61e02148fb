-- 001: the jobs table, its statuses, and the JSON a job is shown as.
--
-- Applied by sql/migrate.sh inside one transaction together with its
-- schema_migrations row, so a half-applied migration cannot exist.

CREATE TYPE ingest_job_status AS ENUM ('pending', 'queued', 'running', 'completed', 'failed');

-- Declared in claim order: ORDER BY priority takes HIGH first.
CREATE TYPE ingest_job_priority AS ENUM ('HIGH', 'MEDIUM', 'LOW');

CREATE TABLE ingest_jobs (
    job_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         text NOT NULL CHECK (length(tenant_id) BETWEEN 1 AND 128),
    user_id           text CHECK (length(user_id) <= 255),
    source_type       text NOT NULL CHECK (source_type IN ('file_upload', 'json_records', 'mappings', 'job_metadata')),
    filename          text CHECK (length(filename) BETWEEN 1 AND 255),
    file_type         text CHECK (file_type IN ('csv', 'json', 'ndjson', 'xml', 'pdf', 'xlsx', 'txt', 'log')),
    file_size         bigint CHECK (file_size >= 0),
    content_sha256    text CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    priority          ingest_job_priority NOT NULL DEFAULT 'MEDIUM',
    status            ingest_job_status NOT NULL DEFAULT 'pending',
    error             text,
    result_url        text,
    result_data       jsonb,
    total_items       bigint NOT NULL DEFAULT 0 CHECK (total_items >= 0),
    processed_items   bigint NOT NULL DEFAULT 0 CHECK (processed_items >= 0),
    failed_items      bigint NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- the worker's lease: who holds a running job and until when
    lease_owner       text,
    lease_expires_at  timestamptz,
    -- when the job's next step is due (the worker claims due jobs only)
    due_at            timestamptz NOT NULL DEFAULT now(),
    upload_expires_at timestamptz,
    idempotency_key   text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- a terminal job has its completion time, and only a terminal job does
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL))
);

-- A tenant's listing, newest first, optionally by status or by user.
CREATE INDEX ingest_jobs_tenant_created ON ingest_jobs (tenant_id, created_at DESC, job_id DESC);
CREATE INDEX ingest_jobs_tenant_status_created ON ingest_jobs (tenant_id, status, created_at DESC, job_id DESC);
CREATE INDEX ingest_jobs_tenant_user_created ON ingest_jobs (tenant_id, user_id, created_at DESC, job_id DESC);
-- Claiming: queued jobs that are due, HIGH before MEDIUM before LOW, oldest first.
CREATE INDEX ingest_jobs_claim ON ingest_jobs (priority, due_at, created_at) WHERE status = 'queued';
-- Lease rescue: running jobs by lease expiry.
CREATE INDEX ingest_jobs_lease ON ingest_jobs (lease_expires_at) WHERE status = 'running';
-- One job per (tenant, Idempotency-Key).
CREATE UNIQUE INDEX ingest_jobs_idempotency ON ingest_jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE FUNCTION ingest_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER ingest_jobs_updated_at BEFORE UPDATE ON ingest_jobs
    FOR EACH ROW EXECUTE FUNCTION ingest_touch_updated_at();

-- RFC 3339 in UTC with milliseconds, what browsers' Date.parse reads.
CREATE FUNCTION ingest_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- How a job is shown by the API: one place, so every endpoint agrees.
-- Internal columns (lease, due time, idempotency key) stay out. json, not
-- jsonb, so keys keep this order in the response.
CREATE FUNCTION ingest_job_json(j ingest_jobs) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'job_id', j.job_id,
        'tenant_id', j.tenant_id,
        'user_id', j.user_id,
        'source_type', j.source_type,
        'filename', j.filename,
        'file_type', j.file_type,
        'file_size', j.file_size,
        'content_sha256', j.content_sha256,
        'priority', j.priority,
        'status', j.status,
        'error', j.error,
        'result_url', j.result_url,
        'result_data', j.result_data,
        'total_items', j.total_items,
        'processed_items', j.processed_items,
        'records_processed', j.processed_items,
        'failed_items', j.failed_items,
        'attempts', j.attempts,
        'expires_at', ingest_ts(j.upload_expires_at),
        'created_at', ingest_ts(j.created_at),
        'submitted_at', ingest_ts(j.created_at),
        'started_at', ingest_ts(j.started_at),
        'completed_at', ingest_ts(j.completed_at),
        'updated_at', ingest_ts(j.updated_at))
$$;
