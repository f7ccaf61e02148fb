-- 012: wake the worker when a job becomes queued (issue 12, pick-up latency).
--
-- After any INSERT or UPDATE statement on ingest_jobs that leaves at least
-- one row queued and due (an init in simulate or external mode, an upload
-- that finished, POST /api/ingest/json, a rescue, release or retry back to
-- the queue, SQL run by hand), the statement sends one notification on the
-- channel ingest_queued, with an empty payload. A job queued for later (a
-- simulate delay, a retry's backoff: due_at after now()) sends nothing: a
-- worker woken now could not claim it, and its interval poll finds it once
-- it is due. The worker LISTENs on it
-- (IngestWorkerNotify, docs/worker.md) and claims at once instead of at its
-- next IngestWorkerInterval.
--
-- Statement-level, with transition tables (as the counts of 006, whose
-- transition tables the same statements already build): one notification
-- per statement, never one per row; PostgreSQL folds identical
-- notifications of one transaction into one, and delivers them at commit.
-- A claim (queued -> running), a finish or a lease renewal leaves no row
-- queued and sends nothing.
--
-- Optional, like 008-010: the module needs schema 7 and runs without this
-- file; the worker then finds new jobs at its interval only.

CREATE FUNCTION ingest_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'queued' AND due_at <= now()) THEN
        PERFORM pg_notify('ingest_queued', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_notify_insert AFTER INSERT ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_notify_queued();
CREATE TRIGGER ingest_jobs_notify_update AFTER UPDATE ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_notify_queued();
