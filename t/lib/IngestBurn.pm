package IngestBurn;
# What the benchmarks of the worker share: the queued no-op jobs they burn
# down, and the burn-down by SQL alone that is their ceiling (a claim and
# a finish statement per batch, a commit each, every trigger of the
# schema, no worker).
use strict;
use warnings;
use Exporter qw(import);

our @EXPORT_OK = qw(queue_sql burn_sql);

# INSERT of $jobs queued jobs over $tenants tenants.
sub queue_sql {
    my ($jobs, $tenants) = @_;
    return "INSERT INTO ingest_jobs (tenant_id, source_type, filename, file_type, file_size, status) "
        . "SELECT 'bench-' || (n % $tenants), 'file_upload', 'f' || n || '.csv', 'csv', 1, 'queued'"
        . " FROM generate_series(1, $jobs) n";
}

# A DO block that burns every queued job down, $batch at a time.
sub burn_sql {
    my ($batch) = @_;
    return <<"SQL";
DO \$\$ DECLARE k int; BEGIN LOOP
  UPDATE ingest_jobs SET status = 'running', lease_owner = 'sql', started_at = now(),
    lease_expires_at = now() + interval '30 s', due_at = now()
  WHERE job_id = ANY (ARRAY(SELECT job_id FROM ingest_jobs WHERE status = 'queued'
    ORDER BY tenant_id, priority, created_at LIMIT $batch FOR UPDATE SKIP LOCKED));
  GET DIAGNOSTICS k = ROW_COUNT;
  COMMIT;
  EXIT WHEN k = 0;
  UPDATE ingest_jobs SET status = 'completed', completed_at = now(), result_data = '{"rows_processed": 1}',
    total_items = 1, processed_items = 1, lease_owner = NULL, lease_expires_at = NULL
  WHERE status = 'running' AND lease_owner = 'sql';
  COMMIT;
END LOOP; END \$\$
SQL
}

1;
