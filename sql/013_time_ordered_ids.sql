-- 013: job ids ordered by creation time (UUID version 7, RFC 9562).
--
-- gen_random_uuid() (version 4) spreads consecutive jobs over the whole
-- key space, so every index keyed by job_id takes each new entry on a
-- random leaf page: the primary key of ingest_jobs on every insert and on
-- every update that is not HOT (a status change: the statuses are indexed),
-- and the history's index (job_id, id) on every transition. A batch of
-- 1,000 jobs then dirties about 1,000 leaf pages of each such index, and
-- after each checkpoint writes each of them whole to the WAL.
--
-- A version 7 id starts with the Unix time in milliseconds (48 bits), then
-- the version, 74 random bits and the variant: jobs created close in time
-- have close ids, and a batch the worker claims (the oldest of each tenant)
-- touches a few leaf pages instead of a thousand. An id is still a UUID,
-- still unguessable (74 random bits from gen_random_uuid()'s source); it now
-- tells when the job was created, to the millisecond, which created_at
-- shows anyway. Ids already given are kept. Optional, like 008 to 012:
-- without it ids are random and the burn-down slower
-- (docs/worker.md, "Speed").
--
-- The module makes the ids of POST /api/ingest/json itself (its records
-- file is named after the job before the row exists), the same way.

CREATE FUNCTION ingest_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(set_byte(b, 6, (get_byte(b, 6) & 15) | 112), 'hex')::uuid
    FROM (SELECT overlay(uuid_send(gen_random_uuid())
            PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
            FROM 1 FOR 6) AS b) r
$$;

ALTER TABLE ingest_jobs ALTER COLUMN job_id SET DEFAULT ingest_uuid_v7();
