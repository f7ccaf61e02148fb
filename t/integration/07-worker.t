#!/usr/bin/perl
# The background worker: simulate (success and failure, result_data, delays,
# progress), priority order, the external processor's deadline, retention,
# and the worker in the health check.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use Time::HiRes qw(sleep time);

sub terminal_count {
    my ($t, $tenant) = @_;
    return $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = '$tenant' AND status IN ('completed', 'failed')");
}

my $sim = <<'CONF';
IngestProcessor simulate
IngestSimulateDelay 0 1
IngestSimulateDuration 500ms
IngestWorkerInterval 100ms
CONF

# ---- failure rate 0: every job completes with the promised result_data
{
    my $t = IngestTest->new(extra => "$sim\nIngestSimulateFailureRate 0\n");
    my $tok = $t->token('sim', 'u1');
    my $init = $t->init_job($tok, filename => 'a.csv');
    is($init->{status}, 'queued', 'with a processor, init queues the job at once (no upload needed)');
    my @ids = ($init->{job_id}, map { $t->init_job($tok, filename => "f$_.csv")->{job_id} } 1 .. 19);
    ok(wait_until('20 completed jobs', 30, sub { terminal_count($t, 'sim') == 20 }), 'all 20 jobs finished');
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'sim' AND status = 'completed'"), 20,
        'failure rate 0: all completed');
    my $j = $t->request('GET', "/api/ingest/status/$ids[0]", token => $tok)->{json};
    is($j->{status}, 'completed', 'status completed');
    is($j->{progress}, 100, 'progress 100');
    my $rd = $j->{result_data};
    ok($rd->{rows_processed} >= 100 && $rd->{rows_processed} <= 10000, 'rows_processed 100..10000');
    ok($rd->{columns} >= 5 && $rd->{columns} <= 20, 'columns 5..20');
    ok($rd->{processing_time_ms} >= 400 && $rd->{processing_time_ms} < 10000,
        "processing_time_ms is the real running time ($rd->{processing_time_ms} ms for a 0.5 s phase)");
    is($rd->{summary}, 'File processed successfully (simulated)', 'summary');
    is(scalar @{ $rd->{data_preview} }, 3, 'three-row data_preview');
    is($j->{records_processed}, $rd->{rows_processed}, 'records_processed matches rows_processed');
    ok($j->{started_at} && $j->{completed_at} && $j->{started_at} le $j->{completed_at}, 'started before completed');
    ok(!defined $j->{error}, 'no error');
    my $bad = $t->psql(<<'SQL');
SELECT count(*) FROM (
  SELECT job_id, array_agg(coalesce(from_status::text, '-') || '>' || to_status ORDER BY id) AS path
  FROM ingest_job_transitions GROUP BY job_id) p
WHERE path <> ARRAY['->queued', 'queued>running', 'running>completed']
SQL
    is($bad, 0, 'every job went queued -> running -> completed exactly once');
    my $h = $t->request('GET', '/api/ingest/health');
    is($h->{status}, 200, 'health 200 with a worker');
    is($h->{json}{worker}{state}, 'ok', 'the worker is ticking');
    is($h->{json}{worker}{processor}, 'simulate', 'processor named');
    ok($h->{json}{worker}{last_tick_age_ms} < 5000, 'last tick is recent');
    is($h->{json}{queue_depth}, 0, 'queue empty');
}

# ---- failure rate 1: every job fails with a readable error
{
    my $t = IngestTest->new(extra => "$sim\nIngestSimulateFailureRate 1\n");
    my $tok = $t->token('fail', 'u1');
    my @ids = map { $t->init_job($tok, filename => "f$_.csv")->{job_id} } 1 .. 10;
    ok(wait_until('10 failed jobs', 30, sub { terminal_count($t, 'fail') == 10 }), 'all 10 jobs finished');
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'fail' AND status = 'failed'"), 10,
        'failure rate 1: all failed');
    my $j = $t->request('GET', "/api/ingest/status/$ids[0]", token => $tok)->{json};
    like($j->{error}, qr/^simulated failure: /, 'a readable error');
    ok(!defined $j->{result_data}, 'no result_data on failure');
    ok(defined $j->{completed_at}, 'completed_at set on failure too');
}

# ---- priority: HIGH before MEDIUM before LOW, oldest first within one
{
    my $t = IngestTest->new(extra => "IngestProcessor simulate\nIngestSimulateDuration 0\nIngestWorkerBatch 1\n"
        . "IngestSimulateFailureRate 0\nIngestWorkerInterval 100ms\n");
    # one statement, so the worker sees all nine at once
    $t->psql(<<'SQL');
INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status, priority, created_at)
SELECT 'prio', 'u', 'file_upload', p || n || '.csv', 'csv', 1, 'queued', p::ingest_job_priority,
       now() - make_interval(secs => 100 - n - CASE p WHEN 'LOW' THEN 0 WHEN 'MEDIUM' THEN 10 ELSE 20 END)
FROM unnest(ARRAY['LOW', 'MEDIUM', 'HIGH']) p, generate_series(1, 3) n
SQL
    ok(wait_until('nine jobs', 20, sub { terminal_count($t, 'prio') == 9 }), 'the nine jobs finished');
    my $order = $t->psql(<<'SQL');
SELECT string_agg(j.filename, ' ' ORDER BY tr.id) FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id)
WHERE tr.to_status = 'running' AND j.tenant_id = 'prio'
SQL
    is($order, 'HIGH1.csv HIGH2.csv HIGH3.csv MEDIUM1.csv MEDIUM2.csv MEDIUM3.csv LOW1.csv LOW2.csv LOW3.csv',
        'claimed by priority, oldest first within a priority');
}

# ---- external: handed over, then failed at the deadline; retention
{
    my $t = IngestTest->new(extra => "IngestProcessor external\nIngestExternalDeadline 2\nIngestWorkerInterval 100ms\n"
        . "IngestRetention 1\n");
    my $tok = $t->token('ext', 'u1');
    my $id = $t->init_job($tok)->{job_id};
    ok(wait_until('handover', 10, sub { $t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'") eq 'running' }),
        'the worker hands the queued job over (running)');
    is($t->psql("SELECT lease_owner FROM ingest_jobs WHERE job_id = '$id'"), 'external', 'held by the external pipeline');
    ok(wait_until('deadline', 15, sub { $t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'") eq 'failed' }),
        'failed once IngestExternalDeadline passed');
    like($t->request('GET', "/api/ingest/status/$id", token => $tok)->{json}{error}, qr/IngestExternalDeadline/,
        'the error names the deadline');

    $t->psql(<<'SQL');
INSERT INTO ingest_jobs (tenant_id, source_type, filename, file_type, file_size, status, created_at, completed_at)
SELECT 'old', 'file_upload', 'old' || n || '.csv', 'csv', 1, 'completed', now() - interval '3 days', now() - interval '2 days'
FROM generate_series(1, 1200) n
SQL
    $t->psql("INSERT INTO ingest_jobs (tenant_id, source_type, filename, status, completed_at) "
        . "VALUES ('old', 'file_upload', 'recent.csv', 'failed', now() - interval '1 hour')");
    # an old job's stored file goes with it
    mkdir "$t->{dir}/storage/old";
    open my $fh, '>', "$t->{dir}/storage/old/stored.1" or die $!;
    print $fh "a,b\n1,2\n";
    close $fh;
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('www-data');
        chown $uid, $gid, "$t->{dir}/storage/old", "$t->{dir}/storage/old/stored.1";
    }
    $t->psql("INSERT INTO ingest_jobs (tenant_id, source_type, filename, status, created_at, completed_at, storage_path) "
        . "VALUES ('old', 'file_upload', 'stored.csv', 'completed', now() - interval '3 days', now() - interval '2 days', 'old/stored.1')");
    ok(wait_until('pruning', 20, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'old'") == 1 }),
        'terminal jobs older than IngestRetention are pruned');
    is($t->psql("SELECT filename FROM ingest_jobs WHERE tenant_id = 'old'"), 'recent.csv', 'a recent one is kept');
    ok(!-e "$t->{dir}/storage/old/stored.1", "a pruned job's stored file is removed with it");
    like($t->error_log, qr/IG00404: worker: pruned 500 job/, 'pruned in batches of 500, not one transaction');

    # callback deliveries outlive their replay window by twice the tolerance (300 s by default)
    $t->psql("INSERT INTO ingest_webhook_deliveries (webhook_id, http_status, received_at) VALUES "
        . "('old-delivery', 404, now() - interval '11 minutes'), ('new-delivery', 404, now() - interval '9 minutes')");
    ok(wait_until('delivery pruning', 15,
        sub { $t->psql("SELECT count(*) FROM ingest_webhook_deliveries WHERE webhook_id = 'old-delivery'") == 0 }),
        'a delivery record older than twice IngestCallbackTolerance is pruned');
    is($t->psql("SELECT count(*) FROM ingest_webhook_deliveries WHERE webhook_id = 'new-delivery'"), 1,
        'a younger one is kept');
}

done_testing;
