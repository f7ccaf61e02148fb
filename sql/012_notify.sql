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
-- One notifier at a time. A transaction that notifies takes PostgreSQL's
-- notification lock at commit and holds it through the commit (and its WAL
-- flush): the commits of notifying transactions are serialized across all
-- sessions. With one notification per queuing statement, POST init fell
-- from about 700 to about 310 requests/s (32 connections, durable commits,
-- docs/worker.md). So a statement notifies only if it can take the
-- transaction-level advisory lock (1229866068, 12) at once: when another
-- transaction holds it, that one is about to notify, and this one leaves
-- it at that. Its job is claimed by the pass that notification starts if
-- it has committed by then; the worker also passes again 20 ms after any
-- pass that found work, and its interval poll remains (docs/worker.md).
-- (The two-key advisory locks are a key space of their own: the quota's
-- one-key hashtextextended() locks cannot collide with this one.)
--
-- Optional, like 008-010: the module needs schema 7 and runs without this
-- file; the worker then finds new jobs at its interval only.

CREATE FUNCTION ingest_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'queued' AND due_at <= now())
       AND pg_try_advisory_xact_lock(1229866068, 12) THEN
        PERFORM pg_notify('ingest_queued', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_notify_insert AFTER INSERT ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_notify_queued();
CREATE TRIGGER ingest_jobs_notify_update AFTER UPDATE ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_notify_queued();
