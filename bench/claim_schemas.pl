#!/usr/bin/perl
# What the schema allows the worker: JOBS queued no-op jobs burnt down by
# SQL alone (a claim and a finish statement per batch of 1,000, a commit
# each, the transition history and the counts kept by their triggers), on
# four schemas in one private cluster, in one run:
#   random ids        today's tables with job ids from gen_random_uuid()
#   time-ordered ids  today's tables (sql/013: UUID version 7)
#   HOT + side tables no index of ingest_jobs names a column the worker
#                     changes (fillfactor 50, so both updates are HOT);
#                     queued and running jobs in a narrow side table that
#                     holds the claim and lease indexes, and the by-status
#                     listing index in a side table updated per transition
#   HOT, no status index  the same without the by-status listing table
# The last two are experiments, not the module's schema: what a redesign
# would buy (docs/worker.md, "Speed").
#   perl bench/claim_schemas.pl [JOBS]     (default 200000; 10000..2000000)
# PostgreSQL runs durable with shared_buffers 1GB; loopback only.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use IngestBurn qw(queue_sql burn_sql);
use Time::HiRes qw(time);

my $jobs = shift // 200_000;
die "JOBS must be 10000..2000000\n" unless $jobs =~ /^\d+$/ && $jobs >= 10_000 && $jobs <= 2_000_000;
$ENV{PG_OPTS} = '-c shared_buffers=1GB';
my $t = IngestTest->new(no_httpd => 1, durable => 1);

my $fill = "TRUNCATE ingest_jobs CASCADE; " . queue_sql($jobs, 10);
my @vacuum = map { "VACUUM ANALYZE $_" } qw(ingest_jobs ingest_job_transitions ingest_job_counts);

# the burn-down of today's schema (as bench/worker_burndown.pl's ceiling)
my $burn_today = burn_sql(1000);

# HOT: the indexes that name status, due_at, lease_* or completed_at go
my $hot = <<'SQL';
DROP INDEX ingest_jobs_claim_tenant, ingest_jobs_lease, ingest_jobs_running_due,
  ingest_jobs_tenant_status_created, ingest_jobs_terminal, ingest_jobs_upload_expiry;
ALTER TABLE ingest_jobs SET (fillfactor = 50);
CREATE TABLE bench_queue (job_id uuid PRIMARY KEY, tenant_id text NOT NULL, priority ingest_job_priority NOT NULL,
  created_at timestamptz NOT NULL, running bool NOT NULL DEFAULT false, lease_owner text,
  lease_expires_at timestamptz);
CREATE INDEX bench_queue_claim ON bench_queue (tenant_id, priority, created_at) WHERE NOT running;
CREATE INDEX bench_queue_lease ON bench_queue (lease_expires_at) WHERE running;
CREATE TABLE bench_status (job_id uuid PRIMARY KEY, tenant_id text NOT NULL, status ingest_job_status NOT NULL,
  created_at timestamptz NOT NULL);
CREATE INDEX bench_status_list ON bench_status (tenant_id, status, created_at DESC, job_id DESC);
CREATE FUNCTION bench_status_sync() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  UPDATE bench_status s SET status = n.status FROM new_rows n WHERE s.job_id = n.job_id AND s.status <> n.status;
  RETURN NULL;
END $f$;
CREATE TRIGGER bench_status_sync AFTER UPDATE ON ingest_jobs REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bench_status_sync();
SQL
my $fill_queue = "TRUNCATE bench_queue; INSERT INTO bench_queue (job_id, tenant_id, priority, created_at)"
    . " SELECT job_id, tenant_id, priority, created_at FROM ingest_jobs";
my $fill_status = "TRUNCATE bench_status; INSERT INTO bench_status SELECT job_id, tenant_id, status, created_at"
    . " FROM ingest_jobs";
my $burn_side = <<'SQL';
DO $$ DECLARE ids uuid[]; BEGIN LOOP
  WITH c AS (UPDATE bench_queue SET running = true, lease_owner = 'sql', lease_expires_at = now() + interval '30 s'
     WHERE job_id = ANY (ARRAY(SELECT job_id FROM bench_queue WHERE NOT running
       ORDER BY tenant_id, priority, created_at LIMIT 1000 FOR UPDATE SKIP LOCKED)) RETURNING job_id),
  u AS (UPDATE ingest_jobs SET status = 'running', lease_owner = 'sql', started_at = now(),
    lease_expires_at = now() + interval '30 s', due_at = now()
    WHERE job_id IN (SELECT job_id FROM c) RETURNING job_id) SELECT array_agg(job_id) INTO ids FROM u;
  COMMIT;
  EXIT WHEN ids IS NULL;
  WITH d AS (DELETE FROM bench_queue WHERE job_id = ANY (ids))
  UPDATE ingest_jobs SET status = 'completed', completed_at = now(), result_data = '{"rows_processed": 1}',
    total_items = 1, processed_items = 1, lease_owner = NULL, lease_expires_at = NULL
  WHERE job_id = ANY (ids);
  COMMIT;
END LOOP; END $$
SQL
my $no_status = "DROP TRIGGER bench_status_sync ON ingest_jobs; DROP TABLE bench_status;";

sub run {
    my ($name, $burn, @side) = @_;
    $t->psql($fill);
    $t->psql($_) for @side;
    $t->psql($_) for @vacuum, map { /^TRUNCATE (\w+)/ ? "VACUUM ANALYZE $1" : () } @side;
    $t->psql('CHECKPOINT');
    my $t0 = time;
    $t->psql($burn);
    my $secs = time - $t0;
    my $bad = $t->psql("SELECT count(*) FROM (SELECT job_id FROM ingest_job_transitions GROUP BY job_id"
        . " HAVING string_agg(coalesce(from_status::text, '') || '>' || to_status::text, ' ' ORDER BY id)"
        . " <> '>queued queued>running running>completed') x");
    my $done = $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'completed'");
    my $hotpct = $t->psql("SELECT round(100.0 * n_tup_hot_upd / nullif(n_tup_upd, 0)) FROM pg_stat_user_tables"
        . " WHERE relname = 'ingest_jobs'");
    $t->psql('SELECT pg_stat_reset()');
    printf "%-22s %9d %9.2f %10.0f %10d %6s%%\n", $name, $done, $secs, $done / $secs, $bad, $hotpct // '-';
}

printf "%-22s %9s %9s %10s %10s %7s\n", 'schema', 'jobs', 'seconds', 'jobs/s', 'bad paths', 'HOT';
$t->psql('ALTER TABLE ingest_jobs ALTER COLUMN job_id SET DEFAULT gen_random_uuid()');
run('random ids', $burn_today);
$t->psql('ALTER TABLE ingest_jobs ALTER COLUMN job_id SET DEFAULT ingest_uuid_v7()');
run('time-ordered ids', $burn_today);
$t->psql($hot);
run('HOT + side tables', $burn_side, $fill_queue, $fill_status);
$t->psql($no_status);
run('HOT, no status index', $burn_side, $fill_queue);
print "\nSQL alone, batches of 1,000, a commit per statement, PostgreSQL durable with shared_buffers 1GB;\n"
    . "bad paths: jobs whose recorded transitions are not exactly queued, running, completed;\n"
    . "HOT: the share of ingest_jobs' updates that were heap-only (no index entries written).\n";
$t->teardown;
