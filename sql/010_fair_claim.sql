-- 010: claims fair to every tenant.
--
-- The worker's claim took the queued jobs in (priority, created_at) order
-- across all tenants: a tenant that queued 100,000 HIGH jobs made every
-- other tenant wait behind them. It now takes the tenants with queued
-- jobs (from the counts of 006, a few rows per tenant), gives each an
-- equal share of the batch, and orders by priority and age only within a
-- tenant. This index is that per-tenant order: each share is an index
-- range read, whatever the backlog.

CREATE INDEX ingest_jobs_claim_tenant ON ingest_jobs (tenant_id, priority, created_at) WHERE status = 'queued';
-- the tenants with queued jobs, without reading every shard row
CREATE INDEX ingest_job_counts_queued ON ingest_job_counts (tenant_id) WHERE status = 'queued' AND n <> 0;
