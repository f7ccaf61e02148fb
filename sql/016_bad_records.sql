-- 016: bad records (issue 13, skip mode).
--
-- on_bad_record: what a job does with a record that is bad (a CSV row with
-- the wrong field count, an NDJSON line that is not an object, a value
-- that does not fit the job's record schema): 'fail' the job naming the
-- line, or 'skip' it (counted in failed_items, the first 1,000 kept in
-- ingest_record_errors). NULL: IngestOnBadRecord decides, when the worker
-- parses the job.
ALTER TABLE ingest_jobs ADD COLUMN on_bad_record text CHECK (on_bad_record IN ('fail', 'skip'));

-- The first 1,000 bad records of a job, written by the parse processor in
-- the transaction of the batch of records they were found in (so that a
-- re-run replaces them with its records, and a batch rolled back takes its
-- bad records with it). seq is the record's place among the file's records,
-- good and bad; field is NULL when the record as a whole is bad.
--
-- No foreign key, as for ingest_records: the worker's sweep of a deleted
-- job (ingest_records_gone) removes them with its records; nothing reads
-- them but through their job.
CREATE TABLE ingest_record_errors (
    job_id uuid NOT NULL,
    seq    bigint NOT NULL CHECK (seq >= 1),
    line   bigint NOT NULL CHECK (line >= 0),
    field  text,
    reason text NOT NULL,
    PRIMARY KEY (job_id, seq)
);
