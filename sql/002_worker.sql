-- 002: what the background worker and the pipeline callback need.

-- Claim order is priority, then age: HIGH before MEDIUM before LOW, the
-- oldest first within a priority, among the queued jobs that are due.
DROP INDEX ingest_jobs_claim;
CREATE INDEX ingest_jobs_claim ON ingest_jobs (priority, created_at) WHERE status = 'queued';
-- Running jobs by due time, for the holder of their lease.
CREATE INDEX ingest_jobs_running_due ON ingest_jobs (lease_owner, due_at) WHERE status = 'running';
-- Retention: terminal jobs by completion time.
CREATE INDEX ingest_jobs_terminal ON ingest_jobs (completed_at) WHERE status IN ('completed', 'failed');

-- Every status change of every job, written by a trigger, so that "no job
-- ever took a step twice" can be checked, and an operator can see how a job
-- went. Removed with its job.
CREATE TABLE ingest_job_transitions (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES ingest_jobs (job_id) ON DELETE CASCADE,
    from_status ingest_job_status,
    to_status   ingest_job_status NOT NULL,
    lease_owner text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ingest_job_transitions_job ON ingest_job_transitions (job_id, id);

CREATE FUNCTION ingest_record_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ingest_job_transitions (job_id, from_status, to_status, lease_owner)
            VALUES (NEW.job_id, NULL, NEW.status, NEW.lease_owner);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO ingest_job_transitions (job_id, from_status, to_status, lease_owner)
            VALUES (NEW.job_id, OLD.status, NEW.status, coalesce(NEW.lease_owner, OLD.lease_owner));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_transitions AFTER INSERT OR UPDATE OF status ON ingest_jobs
    FOR EACH ROW EXECUTE FUNCTION ingest_record_transition();

-- Terminal is terminal: no statement, ours or an operator's, moves a
-- completed or failed job anywhere (only DELETE removes it).
CREATE FUNCTION ingest_guard_terminal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('completed', 'failed') AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'job % is % and cannot become %', OLD.job_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ingest_jobs_terminal_guard BEFORE UPDATE OF status ON ingest_jobs
    FOR EACH ROW EXECUTE FUNCTION ingest_guard_terminal();

-- Signed pipeline callbacks already processed, by webhook-id: a replay is
-- answered as the first delivery was, and changes nothing.
CREATE TABLE ingest_webhook_deliveries (
    webhook_id   text PRIMARY KEY CHECK (length(webhook_id) BETWEEN 1 AND 255),
    job_id       uuid,
    http_status  integer NOT NULL,
    response     json,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_webhook_deliveries_received ON ingest_webhook_deliveries (received_at);

-- One row per httpd server running a worker: the health check reads the
-- age of its last pass.
CREATE TABLE ingest_workers (
    worker      text PRIMARY KEY,
    lease_owner text NOT NULL,
    processor   text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_tick   timestamptz NOT NULL DEFAULT now()
);
