#!/usr/bin/perl
# The per-tenant, per-status counts behind GET /api/ingest/stats and the
# total of GET /api/ingest/jobs (sql/006_job_counts.sql) stay exact for
# every writer: the API (init, JSON, delete), the worker's transitions,
# concurrent inits from several connections, and SQL run by hand (a bulk
# insert, an update, a delete, a truncate). Each time the answers are
# compared with a count of the rows themselves.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use POSIX qw(_exit);

# No worker at first: nothing moves while the answers are compared with
# the rows; the worker's transitions come in their own phase.
my $t = IngestTest->new();
my %tok = map { $_ => $t->token($_, 'u1') } qw(acme globex);

# the rows' own counts, as stats answers them
sub truth {
    my ($tenant) = @_;
    my %c = (total => 0, map { $_ => 0 } qw(pending queued running completed failed));
    for my $line (split /\n/, $t->psql("SELECT status, count(*) FROM ingest_jobs WHERE tenant_id = '$tenant' GROUP BY status")) {
        my ($s, $n) = split /\|/, $line;
        $c{$s} = $n + 0;
        $c{total} += $n;
    }
    return \%c;
}

sub agrees {
    my ($name) = @_;
    for my $tenant (sort keys %tok) {
        my $want = truth($tenant);
        my $stats = $t->request('GET', '/api/ingest/stats', token => $tok{$tenant})->{json} // {};
        is_deeply({ map { $_ => $stats->{$_} } keys %$want }, $want, "$name: $tenant stats = the rows");
        my $list = $t->request('GET', '/api/ingest/jobs?limit=1', token => $tok{$tenant})->{json} // {};
        is($list->{total}, $want->{total}, "$name: $tenant list total = the rows");
        my $q = $t->request('GET', '/api/ingest/jobs?limit=1&status=completed', token => $tok{$tenant})->{json} // {};
        is($q->{total}, $want->{completed}, "$name: $tenant completed total = the rows");
    }
}

agrees('empty');
for (1 .. 20) { $t->init_job($tok{acme}, filename => "a$_.csv") }
for (1 .. 7) { $t->init_job($tok{globex}, filename => "g$_.csv") }
$t->request('POST', '/api/ingest/json', token => $tok{acme}, json => { mappings => [ { id => 'm', source => 's', target => 't' } ] });
agrees('after inits');

# concurrent inits, 4 processes x 25, over the pool's connections
my @kids;
for my $k (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        for (1 .. 25) { eval { $t->init_job($tok{acme}, filename => "c$k-$_.csv") } }
        _exit(0);
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
agrees('after concurrent inits');
is(truth('acme')->{total}, 121, 'concurrent inits: every job is there');

# the worker's transitions (with failures), checked once it is done
$t->stop_httpd;
$t->{extra} = "IngestProcessor simulate\nIngestSimulateDelay 0\nIngestSimulateDuration 200ms\n"
    . "IngestSimulateFailureRate 0.3\nIngestWorkerInterval 100ms\n";
$t->psql("UPDATE ingest_jobs SET status = 'queued' WHERE status = 'pending'");
$t->start_httpd;
wait_until('the worker done', 60, sub {
    $t->psql("SELECT count(*) FROM ingest_jobs WHERE status IN ('queued', 'running')") == 0;
}) or diag $t->psql('SELECT status, count(*) FROM ingest_jobs GROUP BY status');
$t->stop_httpd;
$t->{extra} = '';
$t->start_httpd;
ok($t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'failed'") > 0, 'the worker failed some');
agrees('after the worker');

my $some = $t->psql("SELECT job_id FROM ingest_jobs WHERE tenant_id = 'acme' LIMIT 1");
is($t->request('DELETE', "/api/ingest/$some", token => $tok{acme})->{status}, 204, 'a delete');
agrees('after a delete');

# SQL by hand: a bulk load, a status change, a tenant move, a delete
$t->psql("INSERT INTO ingest_jobs (tenant_id, source_type, filename, file_type, file_size, status, completed_at) "
    . "SELECT 'acme', 'file_upload', 'bulk' || n || '.csv', 'csv', 1, 'pending', NULL FROM generate_series(1, 500) n");
agrees('after a bulk insert');
$t->psql("UPDATE ingest_jobs SET status = 'failed', completed_at = now() WHERE filename LIKE 'bulk1%'");
agrees('after a bulk update');
$t->psql("UPDATE ingest_jobs SET tenant_id = 'globex' WHERE filename LIKE 'bulk2%'");
agrees('after moving jobs between tenants');
$t->psql("DELETE FROM ingest_jobs WHERE filename LIKE 'bulk3%'");
agrees('after a bulk delete');

# The transition history (statement triggers since sql/011): one row per
# job and per status change, for a many-row statement too, none for an
# update that changes no status; and the terminal guard still refuses.
$t->psql("UPDATE ingest_jobs SET status = 'queued' WHERE filename LIKE 'bulk4%'");
$t->psql("UPDATE ingest_jobs SET lease_owner = 'nobody' WHERE filename LIKE 'bulk4%'");
is($t->psql("SELECT count(*) || ' ' || count(DISTINCT j.job_id) FROM ingest_job_transitions t"
    . " JOIN ingest_jobs j USING (job_id) WHERE j.filename LIKE 'bulk4%' AND t.from_status = 'pending'"
    . " AND t.to_status = 'queued' AND t.lease_owner = 'nobody' IS NOT TRUE"),
    $t->psql("SELECT count(*) || ' ' || count(*) FROM ingest_jobs WHERE filename LIKE 'bulk4%'"),
    'a 111-job status update recorded one pending>queued transition per job; a lease update none');
my $paths = $t->psql("SELECT string_agg(coalesce(from_status::text, '') || '>' || to_status, ' ' ORDER BY id)"
    . " FROM ingest_job_transitions WHERE job_id = (SELECT job_id FROM ingest_jobs WHERE filename = 'bulk4.csv')");
is($paths, '>pending pending>queued', "one job's history: created pending, then queued");
my $failed = $t->psql("SELECT job_id FROM ingest_jobs WHERE status = 'failed' LIMIT 1");
ok(!eval { $t->psql("UPDATE ingest_jobs SET status = 'queued', completed_at = NULL WHERE job_id = '$failed'"); 1 },
    'the terminal guard refuses failed -> queued');
is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$failed'"), 'failed', 'and the job stays failed');
agrees('after the history checks');
$t->psql('TRUNCATE ingest_jobs CASCADE');
agrees('after a truncate');

$t->teardown;
done_testing;
