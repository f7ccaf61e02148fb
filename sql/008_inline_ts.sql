-- 008: ingest_ts declared STABLE, what its body (to_char) is.
--
-- Declared IMMUTABLE, its body was more volatile than the declaration, so
-- PostgreSQL never inlined it: every job shown ran it as a separate SQL
-- function call, six times per job, each call site parsed and planned again
-- on every execution of the statement (fmgr_sql in a profile of
-- GET /api/ingest/jobs: half the backend's time). STABLE lets the planner
-- inline it into ingest_job_json and the other *_json functions, which
-- answer the same text. Nothing stores its result (no index or generated
-- column uses it), so nothing depends on it being IMMUTABLE. The schema
-- version the module requires is unchanged: it runs on 6, only slower.

CREATE OR REPLACE FUNCTION ingest_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
