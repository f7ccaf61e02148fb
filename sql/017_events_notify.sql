-- 017: live updates pushed to browsers (GET /api/ingest/events, Server-Sent
-- Events) and signed notifications when a job ends (notify_url), issue 15.
--
-- A. The job event log.
--
-- One row per visible change of a job (its insert; any update that changes
-- what GET status shows: a status transition, progress, the result), with
-- the job as GET status showed it then (ingest_job_json), written by
-- statement triggers in the changing transaction, so it is committed with
-- the change or not at all. It extends the transition history of 002
-- (which keeps status changes only, for audits) with progress.
--
-- Ids in commit order. A stream resumes after the last id it saw
-- (Last-Event-ID), so an event must never become visible with an id below
-- one already sent. A sequence gives no such promise: a transaction can
-- take id 10, another id 11 and commit first. So the id is made of the
-- writing transaction's id and an ordinal within it:
--     id = (xid8 << 24) + n
-- and an event is only ever sent once its transaction is older than every
-- transaction still running (xid < pg_snapshot_xmin of the reader's
-- snapshot, ingest_events_horizon()): every transaction that could still
-- commit an event below the horizon has ended, so events below it are
-- final, and are sent in id order. The cost: an event waits for the
-- transactions that began before its own to end (the worker's steps and
-- the requests' are short; a long transaction anywhere in the cluster, an
-- operator's open psql session that wrote something, holds every stream
-- back until it ends, docs/operations.md). 24 bits of ordinal: one
-- transaction may write 16,777,215 events; 40 bits of xid8: 255 epochs of
-- 2^32 transactions.
--
-- Wake-up: each statement that writes events notifies the channel
-- ingest_events (empty payload) if it can take the transaction-level
-- advisory lock (1229866068, 13) at once, as 012 does for ingest_queued and
-- for the same reason (notifying transactions' commits are serialized);
-- each child's listener reads after a notification, again shortly after,
-- and at least every second while it has streams.
--
-- History: rows older than IngestEventsHistory are deleted by the worker's
-- sweep, which records the highest id it deleted in ingest_events_pruned; a
-- stream asked to resume below it is told to reload. A job's events go with
-- the job (ON DELETE CASCADE).
CREATE TABLE ingest_job_events (
    id        bigint PRIMARY KEY,
    job_id    uuid NOT NULL REFERENCES ingest_jobs (job_id) ON DELETE CASCADE,
    tenant_id text NOT NULL,
    terminal  boolean NOT NULL,
    job       json NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
-- a tenant's replay (tenant_id, id > after); a job's (job_id, id), which
-- the cascade of a job's delete also uses
CREATE INDEX ingest_job_events_tenant ON ingest_job_events (tenant_id, id);
CREATE INDEX ingest_job_events_job ON ingest_job_events (job_id, id);
-- the pruning's "older than IngestEventsHistory": rows are written in time
-- order, so a BRIN index (a few pages for millions of rows, next to no
-- cost per insert) finds the old ones without reading the table
CREATE INDEX ingest_job_events_at ON ingest_job_events USING brin (at);

CREATE TABLE ingest_events_pruned (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id bigint NOT NULL
);
INSERT INTO ingest_events_pruned VALUES (true, 0);

-- The lowest id an event not yet committed could have: events below it are
-- final.
CREATE FUNCTION ingest_events_horizon() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 24
$$;

-- This transaction's next event id.
CREATE FUNCTION ingest_events_next_id() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    base bigint := pg_current_xact_id()::text::bigint << 24;
    last bigint;
BEGIN
    SELECT max(id) INTO last FROM ingest_job_events WHERE id >= base AND id < base + 16777216;
    RETURN coalesce(last + 1, base);
END
$$;

CREATE FUNCTION ingest_events_wake() RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT pg_notify('ingest_events', '') WHERE pg_try_advisory_xact_lock(1229866068, 13)
$$;

CREATE FUNCTION ingest_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first bigint := ingest_events_next_id();
BEGIN
    INSERT INTO ingest_job_events (id, job_id, tenant_id, terminal, job)
        SELECT first + row_number() OVER (ORDER BY n.job_id) - 1, n.job_id, n.tenant_id,
               n.status IN ('completed', 'failed'), ingest_job_json(n)
          FROM new_rows n;
    IF FOUND THEN
        PERFORM ingest_events_wake();
    END IF;
    RETURN NULL;
END
$$;

-- what GET status shows (ingest_job_json, 007's list of visible columns)
CREATE FUNCTION ingest_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first bigint;
BEGIN
    -- most updates change nothing visible (a lease renewal): no id taken
    PERFORM 1 FROM new_rows LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    first := ingest_events_next_id();
    EXECUTE 'INSERT INTO ingest_job_events (id, job_id, tenant_id, terminal, job)'
         || ' SELECT $1 + row_number() OVER (ORDER BY n.job_id) - 1, n.job_id, n.tenant_id,'
         || '        n.status IN (''completed'', ''failed''), ingest_job_json(n)'
         || ' FROM new_rows n JOIN old_rows o USING (job_id)'
         || ' WHERE (n.status, n.error, n.result_url, n.result_data, n.total_items, n.processed_items,'
         || '        n.failed_items, n.attempts, n.priority, n.filename, n.file_type, n.file_size,'
         || '        n.content_sha256, n.started_at, n.completed_at, n.upload_expires_at, n.user_id)'
         || ' IS DISTINCT FROM'
         || '       (o.status, o.error, o.result_url, o.result_data, o.total_items, o.processed_items,'
         || '        o.failed_items, o.attempts, o.priority, o.filename, o.file_type, o.file_size,'
         || '        o.content_sha256, o.started_at, o.completed_at, o.upload_expires_at, o.user_id)'
    USING first;
    IF FOUND THEN
        PERFORM ingest_events_wake();
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_events_insert AFTER INSERT ON ingest_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_events_insert();
CREATE TRIGGER ingest_jobs_events_update AFTER UPDATE ON ingest_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ingest_events_update();

-- B. Notifications when a job ends.
--
-- notify_url: where POST init or POST json asked to be told. When the job
-- becomes completed or failed, whoever made it so (the worker, the
-- pipeline's callback, an operator's SQL), a delivery row is written in the
-- same transaction: at least once, never lost with a child. The sender
-- (a watchdog singleton of its own, polling every second) claims due
-- deliveries as the worker claims jobs (FOR UPDATE SKIP LOCKED, with a
-- lease: a claim pushes next_attempt_at past the attempt's time limit, so
-- the delivery of a child killed mid-attempt is due again after it), POSTs
-- the job's status JSON signed the Standard Webhooks way, with the same
-- webhook-id ("msg_" and the delivery id) on every attempt, and records the
-- attempt. A failed attempt is retried after IngestNotifyBackoff seconds,
-- tripled each time (at most a day), until IngestNotifyMaxAttempts.
-- POST .../deliveries/redeliver sets a delivery pending again, due now,
-- with the same id; its attempts keep counting, and the budget of
-- IngestNotifyMaxAttempts starts again from there (budget_from).
ALTER TABLE ingest_jobs ADD COLUMN notify_url text CHECK (length(notify_url) BETWEEN 1 AND 2048);

CREATE TABLE ingest_notify_deliveries (
    delivery_id     uuid PRIMARY KEY DEFAULT ingest_uuid_v7(),
    job_id          uuid NOT NULL UNIQUE REFERENCES ingest_jobs (job_id) ON DELETE CASCADE,
    tenant_id       text NOT NULL,
    url             text NOT NULL,
    job             json NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    -- attempts made before the last redeliver: IngestNotifyMaxAttempts
    -- counts the attempts since (attempts - budget_from)
    budget_from     integer NOT NULL DEFAULT 0 CHECK (budget_from >= 0),
    CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX ingest_notify_deliveries_due ON ingest_notify_deliveries (next_attempt_at)
    WHERE state = 'pending';

CREATE TABLE ingest_notify_attempts (
    delivery_id uuid NOT NULL REFERENCES ingest_notify_deliveries (delivery_id) ON DELETE CASCADE,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL DEFAULT now(),
    http_status integer,
    error       text,
    duration_ms integer,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE FUNCTION ingest_notify_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'INSERT INTO ingest_notify_deliveries (job_id, tenant_id, url, job, next_attempt_at)'
         || ' SELECT n.job_id, n.tenant_id, n.notify_url, ingest_job_json(n), now()'
         || ' FROM new_rows n JOIN old_rows o USING (job_id)'
         || ' WHERE n.notify_url IS NOT NULL AND n.status IN (''completed'', ''failed'')'
         || '   AND o.status NOT IN (''completed'', ''failed'')'
         || ' ON CONFLICT (job_id) DO NOTHING';
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_notify_ended AFTER UPDATE ON ingest_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ingest_notify_ended();
