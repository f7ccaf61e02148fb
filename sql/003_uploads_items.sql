-- 003: stored uploads and per-item results (the mappings of seed 002).

-- Where the job's file lives, relative to IngestStorageDir. Each upload
-- attempt writes its own name, so two racing uploads never share a path.
ALTER TABLE ingest_jobs ADD COLUMN storage_path text CHECK (storage_path !~ '(^/|\.\.)');

-- Pending jobs by upload deadline, for the expiry sweep.
CREATE INDEX ingest_jobs_upload_expiry ON ingest_jobs (upload_expires_at) WHERE status = 'pending';

CREATE TABLE ingest_job_items (
    job_id         uuid NOT NULL REFERENCES ingest_jobs (job_id) ON DELETE CASCADE,
    idx            integer NOT NULL CHECK (idx >= 0),
    item_id        text NOT NULL CHECK (length(item_id) BETWEEN 1 AND 255),
    source         text NOT NULL,
    target         text NOT NULL,
    transformation jsonb,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'failed')),
    error          text,
    processed_at   timestamptz,
    PRIMARY KEY (job_id, idx),
    UNIQUE (job_id, item_id)
);
CREATE INDEX ingest_job_items_status ON ingest_job_items (job_id, status, idx);

CREATE FUNCTION ingest_item_json(i ingest_job_items) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'index', i.idx,
        'id', i.item_id,
        'source', i.source,
        'target', i.target,
        'transformation', i.transformation,
        'status', i.status,
        'error', i.error,
        'processed_at', ingest_ts(i.processed_at))
$$;
