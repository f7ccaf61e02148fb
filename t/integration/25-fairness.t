#!/usr/bin/perl
# Claims are fair to every tenant: they rotate among the tenants with due
# work, and priority orders the jobs within one tenant, never across
# tenants. Tenant A queues 20,000 HIGH jobs, then tenant B 20 LOW ones;
# every one of B's jobs starts before A's 2,000th does (a claim ordered by
# priority alone would start all of A's first). Within A, HIGH still goes
# before LOW.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);

my $t = IngestTest->new(no_httpd => 1, extra => "IngestProcessor simulate\nIngestSimulateDelay 0 0\n"
    . "IngestSimulateDuration 0\nIngestSimulateFailureRate 0\nIngestWorkerInterval 100ms\nIngestWorkerBatch 100\n");

# A's backlog by SQL (20,000 inits would take a while), then B's jobs
# through the API, all before a worker runs
$t->psql("INSERT INTO ingest_jobs (tenant_id, source_type, status, priority, created_at)"
    . " SELECT 'tenant-a', 'json_records', 'queued', 'HIGH', now() - interval '1 hour' + g * interval '1 ms'"
    . " FROM generate_series(1, 20000) g");
# and a few LOW jobs of A's own, older than all the rest: within A they still wait for the HIGH ones
$t->psql("INSERT INTO ingest_jobs (tenant_id, source_type, status, priority, created_at)"
    . " SELECT 'tenant-a', 'json_records', 'queued', 'LOW', now() - interval '2 hours' FROM generate_series(1, 5)");
$t->start_httpd;
my $b = $t->token('tenant-b', 'u1');
# B's jobs are queued while the httpd has just started: the worker may be
# claiming A's already, which is the point
my @ids;
for my $i (1 .. 20) {
    my $r = $t->request('POST', '/api/ingest/json', token => $b, json => { records => [{ i => $i }], priority => 'LOW' });
    push @ids, $r->{json}{job_id} if $r->{status} == 202;
}
is(scalar @ids, 20, "B queued 20 LOW jobs");
ok(wait_until("B's jobs", 120, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-b'"
    . " AND started_at IS NOT NULL") == 20 }, 0.5), "all of B's jobs started");
ok(wait_until("A's 2,000th", 120, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-a'"
    . " AND started_at IS NOT NULL") >= 2000 }, 0.5), "A's 2,000th job started");

# the claims, numbered by their started_at (now() of the claiming statement)
my $claims = $t->psql("SELECT count(DISTINCT started_at) FROM ingest_jobs WHERE started_at IS NOT NULL");
cmp_ok($claims, '>', 2, "several claims ($claims)");
my $a_2000 = $t->psql("SELECT started_at FROM ingest_jobs WHERE tenant_id = 'tenant-a' AND started_at IS NOT NULL"
    . " ORDER BY started_at LIMIT 1 OFFSET 1999");
my $late = $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-b' AND started_at > '$a_2000'");
is($late, 0, "every one of B's jobs started no later than A's 2,000th (A's 2,000th at $a_2000)");
my $b_last = $t->psql("SELECT max(started_at) FROM ingest_jobs WHERE tenant_id = 'tenant-b'");
my $a_before = $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-a' AND started_at < '$b_last'");
cmp_ok($a_before, '<', 2000, "A's jobs started before B's last: $a_before");

# within A: HIGH before LOW, whatever the age (once all of A's ran)
ok(wait_until("A's jobs", 180, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-a'"
    . " AND status <> 'completed'") == 0 }, 0.5), "all of A's jobs completed");
my $low_early = $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-a' AND priority = 'LOW'"
    . " AND started_at < (SELECT max(started_at) FROM ingest_jobs WHERE tenant_id = 'tenant-a' AND priority = 'HIGH')");
is($low_early, 0, "A's 5 LOW jobs started after all of A's HIGH ones, older as they are");
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-b' AND status <> 'completed'"), 0,
    "B's jobs completed");

$t->teardown;

# ---- IngestTenantWeight: each claim shares the batch by weight
# W (weight 3) and V (default 1) queue 600 jobs each before the worker
# runs; every claim while both have queued jobs takes ceil(100 * 3/4) = 75
# of W's and ceil(100 * 1/4) = 25 of V's.
my $w = IngestTest->new(no_httpd => 1, extra => "IngestProcessor simulate\nIngestSimulateDelay 0 0\n"
    . "IngestSimulateDuration 0\nIngestSimulateFailureRate 0\nIngestWorkerInterval 100ms\nIngestWorkerBatch 100\n"
    . "IngestTenantWeight tenant-w 3\n");
$w->psql("INSERT INTO ingest_jobs (tenant_id, source_type, status)"
    . " SELECT t, 'json_records', 'queued' FROM generate_series(1, 600) g, unnest(ARRAY['tenant-w', 'tenant-v']) t");
$w->start_httpd;
ok(wait_until("W's jobs", 120, sub { $w->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-w'"
    . " AND started_at IS NOT NULL") == 600 }, 0.5), "all of W's jobs started");
# the claims (started_at is the claiming statement's now()) while W still had queued jobs
my @claims = split /\n/, $w->psql("SELECT count(*) FILTER (WHERE tenant_id = 'tenant-w') || ':'"
    . " || count(*) FILTER (WHERE tenant_id = 'tenant-v') FROM ingest_jobs WHERE started_at IS NOT NULL"
    . " GROUP BY started_at ORDER BY started_at"
    . " LIMIT 8");
is_deeply(\@claims, [('75:25') x 8], "8 claims took 75 of W's jobs and 25 of V's each (weights 3 and 1)")
    or diag explain \@claims;
ok(wait_until("V's jobs", 120, sub { $w->psql("SELECT count(*) FROM ingest_jobs WHERE status <> 'completed'") == 0 },
    0.5), "then V's other 400 ran too");

done_testing;
