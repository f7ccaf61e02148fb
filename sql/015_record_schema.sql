-- 015: a job's record schema (issue 13, types and validation): the
-- optional "schema" of POST /api/ingest/init, applied by the parse
-- processor to every record before it lands in ingest_records.
ALTER TABLE ingest_jobs ADD COLUMN record_schema jsonb;
