-- 005: ML job metadata (seed 003): teams, jobs and each job's cost per UTC
-- day, every row a tenant's; and per-item results that name a record by
-- its external job_id.

CREATE TABLE ingest_ml_teams (
    team_id    bigserial PRIMARY KEY,
    tenant_id  text NOT NULL CHECK (length(tenant_id) BETWEEN 1 AND 128),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE ingest_ml_jobs (
    id           bigserial PRIMARY KEY,
    tenant_id    text NOT NULL CHECK (length(tenant_id) BETWEEN 1 AND 128),
    job_id       text NOT NULL CHECK (length(job_id) BETWEEN 1 AND 100),
    team_id      bigint NOT NULL REFERENCES ingest_ml_teams (team_id),
    model_name   text NOT NULL CHECK (length(model_name) BETWEEN 1 AND 200),
    gpu_type     text NOT NULL CHECK (length(gpu_type) BETWEEN 1 AND 100),
    provider     text NOT NULL CHECK (length(provider) BETWEEN 1 AND 100),
    status       text CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz CHECK (ended_at >= started_at),
    gpu_hours    numeric CHECK (gpu_hours >= 0),
    cost_usd     numeric NOT NULL CHECK (cost_usd >= 0),
    -- the ingestion that last changed the row (no reference: retention
    -- may remove the ingestion, never the data)
    ingestion_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, job_id)
);
-- The listing: newest first, by any of its filters.
CREATE INDEX ingest_ml_jobs_listing ON ingest_ml_jobs (tenant_id, started_at DESC, job_id);
CREATE TRIGGER ingest_ml_jobs_updated_at BEFORE UPDATE ON ingest_ml_jobs
    FOR EACH ROW EXECUTE FUNCTION ingest_touch_updated_at();

-- A job's cost and GPU hours on each UTC day it ran: a date range is a
-- plain sum. Written by the worker (ingest_jobmeta_days) with the job.
CREATE TABLE ingest_ml_costs (
    ml_job    bigint NOT NULL REFERENCES ingest_ml_jobs (id) ON DELETE CASCADE,
    tenant_id text NOT NULL,
    day       date NOT NULL,
    cost_usd  numeric NOT NULL CHECK (cost_usd >= 0),
    gpu_hours numeric NOT NULL CHECK (gpu_hours >= 0),
    PRIMARY KEY (ml_job, day)
);
CREATE INDEX ingest_ml_costs_tenant_day ON ingest_ml_costs (tenant_id, day);

CREATE FUNCTION ingest_ml_job_json(j ingest_ml_jobs, team text) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'job_id', j.job_id,
        'team', team,
        'model_name', j.model_name,
        'gpu_type', j.gpu_type,
        'provider', j.provider,
        'status', j.status,
        'started_at', ingest_ts(j.started_at),
        'ended_at', ingest_ts(j.ended_at),
        'gpu_hours', j.gpu_hours,
        'cost_usd', j.cost_usd,
        'created_at', ingest_ts(j.created_at),
        'updated_at', ingest_ts(j.updated_at))
$$;

-- A job-metadata record's result names the record by its job_id, which it
-- may lack (that is why it failed) or share with another record of the
-- file (the later one wins); it has no source or target.
ALTER TABLE ingest_job_items ALTER COLUMN item_id DROP NOT NULL,
    ALTER COLUMN source DROP NOT NULL, ALTER COLUMN target DROP NOT NULL,
    DROP CONSTRAINT ingest_job_items_job_id_item_id_key;

CREATE OR REPLACE FUNCTION ingest_item_json(i ingest_job_items) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN i.target IS NULL THEN json_build_object(
        'index', i.idx,
        'job_id', i.item_id,
        'status', i.status,
        'error', i.error,
        'processed_at', ingest_ts(i.processed_at))
    ELSE json_build_object(
        'index', i.idx,
        'id', i.item_id,
        'source', i.source,
        'target', i.target,
        'transformation', i.transformation,
        'status', i.status,
        'error', i.error,
        'processed_at', ingest_ts(i.processed_at)) END
$$;
