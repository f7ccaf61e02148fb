-- 014: the records of a parsed file, kept in PostgreSQL (issue 13).
--
-- The parse processor writes every record of a file (a CSV row as an
-- object keyed by the header, a JSON array element, an NDJSON line, a text
-- line as {"line": ...}) here with the COPY protocol, in batches inside the
-- job's lease; seq counts from 1 in file order, line is where the record
-- begins in the file. Read back a page at a time by (job_id, seq), the
-- primary key, so a page costs the same however deep it is.
--
-- No foreign key to ingest_jobs: a job with millions of records must not be
-- deleted in one long transaction (ON DELETE CASCADE would). A job's rows
-- outlive its deletion only until the worker removes them, a batch at a
-- time (ingest_records_gone, below); nothing reads a record but through its
-- job, so they are never seen meanwhile.

CREATE TABLE ingest_records (
    job_id    uuid NOT NULL,
    seq       bigint NOT NULL CHECK (seq >= 1),
    line      bigint NOT NULL CHECK (line >= 1),
    tenant_id text NOT NULL,
    data      jsonb NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- The names a job's records are exported as CSV columns with, in order:
-- a CSV file's header, the keys of JSON and NDJSON records in the order
-- first seen (at most 1,000), ["line"] for text. jsonb keeps no key order,
-- so the order is kept here; written with each batch of records.
ALTER TABLE ingest_jobs ADD COLUMN record_columns jsonb;

-- A value of a record as a CSV field (RFC 4180): quoted when it holds a
-- quote, a comma or a line break; a JSON null or a missing key is empty;
-- objects and arrays are their JSON text.
CREATE FUNCTION ingest_csv_field(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN ''
                WHEN v ~ '[",\r\n]' THEN '"' || replace(v, '"', '""') || '"'
                ELSE v END
$$;

-- Jobs deleted (DELETE, retention, an expired upload pruned) whose records
-- may remain: the worker deletes them in batches and then the job's row
-- here. Filled by a statement-level trigger, one INSERT per statement.
CREATE TABLE ingest_records_gone (
    job_id     uuid PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ingest_records_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_records_gone (job_id)
        SELECT job_id FROM old_rows WHERE source_type IN ('file_upload', 'json_records')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_jobs_records_forget AFTER DELETE ON ingest_jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_records_forget();
