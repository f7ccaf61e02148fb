-- 004: when each server's worker last got anything done (claimed, advanced
-- or finished a job, or wrote a long step's progress). The health check
-- reports a worker that keeps ticking but gets nothing done while work is
-- due as stuck.
ALTER TABLE ingest_workers ADD COLUMN last_progress timestamptz NOT NULL DEFAULT now();
