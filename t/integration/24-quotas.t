#!/usr/bin/perl
# Per-tenant quotas (IngestTenantMaxActiveJobs, IngestTenantMaxStorage):
# exact under concurrency (50 parallel inits at a quota of 10 create
# exactly 10), 429 with Retry-After / 507 as problem+json naming the
# directive, an Idempotency-Key replay still answered, nothing changed on
# a refusal, and no limit where the directives are not set.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use HTTP::Tiny;
use IngestTest qw(problem_ok);
use POSIX qw(_exit);

my $t = IngestTest->new(no_httpd => 1);
$t->{extra} = <<'CONF';
<Location /api/ingest/init>
    IngestTenantMaxActiveJobs 10
    IngestTenantMaxStorage 10000
    IngestRetryAfter 7
</Location>
<Location /api/ingest/json>
    IngestTenantMaxActiveJobs 10
    IngestTenantMaxStorage 10000
    IngestRetryAfter 7
</Location>
<Location /api/ingest/upload>
    IngestTenantMaxStorage 5000
</Location>
CONF
$t->start_httpd;
my %tok = map { $_ => $t->token($_, 'u1') } qw(acme globex initech);

sub rows { $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = '$_[0]'") + 0 }
sub files { my @f = split /\n/, `find $t->{dir}/storage -type f`; scalar @f }
sub init { $t->request('POST', '/api/ingest/init', token => $tok{ $_[0] },
        json => { filename => 'a.csv', file_type => 'csv', file_size => $_[1] // 100 }, headers => $_[2] // {}) }

# ---- 50 parallel inits at a quota of 10
my $out = "$t->{dir}/par";
mkdir $out;
my @kids;
for my $k (1 .. 50) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = init('acme');
        open my $fh, '>', "$out/$k" or _exit(1);
        print $fh join("\t", $r->{status}, $r->{headers}{'retry-after'} // '', $r->{json}{type} // '',
            $r->{json}{detail} // ''), "\n";
        close $fh;
        _exit(0);
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
my (%by, $retry_ok, $type_ok, $detail_ok);
for my $k (1 .. 50) {
    open my $fh, '<', "$out/$k" or die "$out/$k: $!";
    chomp(my $line = <$fh> // '');
    my ($status, $retry, $type, $detail) = split /\t/, $line;
    $by{$status}++;
    next unless $status == 429;
    $retry_ok++ if $retry eq '7';
    $type_ok++ if $type eq 'urn:mod-ingest:problem:tenant-quota-exceeded';
    $detail_ok++ if $detail =~ /^IngestTenantMaxActiveJobs: this tenant has 10 active jobs.* 10$/;
}
is($by{201}, 10, '50 parallel inits: exactly 10 created') or diag explain \%by;
is($by{429}, 40, '50 parallel inits: the other 40 refused with 429');
is($retry_ok, 40, 'every 429 has Retry-After (IngestRetryAfter)');
is($type_ok, 40, 'every 429 is tenant-quota-exceeded');
is($detail_ok, 40, 'every 429 names IngestTenantMaxActiveJobs and the limit');
is(rows('acme'), 10, 'the rows: exactly 10 jobs');
is($t->psql("SELECT sum(n) FROM ingest_job_counts WHERE tenant_id = 'acme'") + 0, 10, 'the counts agree');

# another tenant is not affected
is(init('globex')->{status}, 201, 'another tenant still creates jobs');

# ---- at the limit: a refusal, then room after a delete, and a replay
my $r = init('acme');
problem_ok($r, 429, 'tenant-quota-exceeded', 'init at the limit');
is($r->{headers}{'retry-after'}, '7', 'init at the limit: Retry-After');
my $victim = $t->psql("SELECT job_id FROM ingest_jobs WHERE tenant_id = 'acme' LIMIT 1");
is($t->request('DELETE', "/api/ingest/$victim", token => $tok{acme})->{status}, 204, 'one job deleted')
    or diag $t->request('DELETE', "/api/ingest/$victim", token => $tok{acme})->{content};
$r = init('acme', 100, { 'Idempotency-Key' => 'quota-k1' });
is($r->{status}, 201, 'after a delete one more is allowed');
$r = init('acme', 100, { 'Idempotency-Key' => 'quota-k1' });
is($r->{status}, 200, 'an Idempotency-Key replay at the limit answers the existing job');
problem_ok(init('acme'), 429, 'tenant-quota-exceeded', 'and the next new one is refused');
# a job that leaves the active statuses frees its place too
$t->psql("UPDATE ingest_jobs SET status = 'queued' WHERE job_id = (SELECT job_id FROM ingest_jobs WHERE tenant_id = 'acme' AND status = 'pending' LIMIT 1)");
$t->psql("UPDATE ingest_jobs SET status = 'running' WHERE tenant_id = 'acme' AND status = 'queued'");
$t->psql("UPDATE ingest_jobs SET status = 'completed', completed_at = now() WHERE tenant_id = 'acme' AND status = 'running'");
is(init('acme')->{status}, 201, 'after a job completes one more is allowed');
problem_ok(init('acme'), 429, 'tenant-quota-exceeded', 'and then the limit again');
is(rows('acme'), 11, 'the rows: 10 active and 1 completed');

# ---- POST json
my $files = files();
$r = $t->request('POST', '/api/ingest/json', token => $tok{acme},
    json => { mappings => [ { id => 'm', source => 's', target => 't' } ] });
problem_ok($r, 429, 'tenant-quota-exceeded', 'json mappings at the limit');
is($r->{headers}{'retry-after'}, '7', 'json at the limit: Retry-After');
$r = $t->request('POST', '/api/ingest/json', token => $tok{acme}, json => { records => [ { a => 1 } ] });
problem_ok($r, 429, 'tenant-quota-exceeded', 'json records at the limit');
is(files(), $files, 'json refused: its records file is removed');
is(rows('acme'), 11, 'json refused: no job');
$r = $t->request('POST', '/api/ingest/json', token => $tok{globex},
    json => { mappings => [ { id => 'm', source => 's', target => 't' } ] });
is($r->{status}, 202, 'json below the limit is accepted');

# ---- storage at init: stored + announced + this file
is(init('initech', 6000)->{status}, 201, 'init within IngestTenantMaxStorage');
my $before = rows('initech');
$r = init('initech', 5000);
problem_ok($r, 507, 'tenant-storage-exceeded', 'init past IngestTenantMaxStorage');
like($r->{json}{detail} // '', qr/^IngestTenantMaxStorage: .*10000 bytes/, '507 names the directive and the limit');
is(rows('initech'), $before, 'storage refusal: no job');
is(init('initech', 4000)->{status}, 201, 'an init that fits exactly is allowed');

# ---- storage at upload (the upload location's quota is lower: 5000)
my $gj = init('globex', 10)->{json};
$files = files();
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
my $put = sub {
    my ($job_json, $bytes) = @_;
    my $res = $http->request('PUT', $t->url($job_json->{upload_url}),
        { headers => { 'Content-Type' => 'application/octet-stream' }, content => $bytes });
    $res->{json} = eval { $IngestTest::JSON->decode($res->{content}) };
    return $res;
};
my $k = init('initech', 3000, { 'Idempotency-Key' => 'quota-up' });
is($k->{status}, 507, 'storage is full for a third file') or diag $k->{content};
$t->psql("DELETE FROM ingest_jobs WHERE tenant_id = 'initech' AND file_size = 4000");
$k = init('initech', 3000, { 'Idempotency-Key' => 'quota-up' });
is($k->{status}, 201, 'room again after a delete');
$r = $put->($k->{json}, 'x' x 3000);
# 6000 announced by another job + 3000 > 5000 here
is($r->{status}, 507, 'upload past the upload location\'s IngestTenantMaxStorage: 507') or diag $r->{content};
is($r->{json}{type}, 'urn:mod-ingest:problem:tenant-storage-exceeded', 'upload 507: type');
is($t->psql("SELECT status || coalesce(storage_path, '-') FROM ingest_jobs WHERE job_id = '$k->{json}{job_id}'"),
    'pending-', 'upload refused: the job still waits, no file named');
is(files(), $files, 'upload refused: no file kept');
$r = $put->($gj, 'y' x 10);
is($r->{status}, 200, 'an upload within the quota is stored') or diag $r->{content};
is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$gj->{job_id}'"), 'queued', 'and its job is queued');

# ---- storage at POST json: records are a stored file, mappings are not
# (initech: 6000 and 3000 announced by its pending jobs)
my $before_json = rows('initech');
$files = files();
$r = $t->request('POST', '/api/ingest/json', token => $tok{initech}, json => { records => [ { a => 'x' x 2000 } ] });
problem_ok($r, 507, 'tenant-storage-exceeded', 'json records past IngestTenantMaxStorage');
is(files(), $files, 'json records refused: the file is removed');
is(rows('initech'), $before_json, 'json records refused: no job');
$r = $t->request('POST', '/api/ingest/json', token => $tok{initech}, json => { records => [ { a => 1 } ] });
is($r->{status}, 202, 'json records that fit are accepted') or diag $r->{content};
$r = $t->request('POST', '/api/ingest/json', token => $tok{initech},
    json => { mappings => [ { id => 'm', source => 's', target => 't' } ] });
is($r->{status}, 202, 'json mappings do not count against the storage quota');

# a statement that fails inside the quota's transaction rolls it back
$t->expect_log(qr/IG00206.*ingest_job_create_nokey failed: .*quota test: refused/);
$t->psql(q{CREATE FUNCTION quota_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.filename = 'boom.csv' THEN RAISE EXCEPTION 'quota test: refused'; END IF; RETURN NEW; END $$});
$t->psql("CREATE TRIGGER quota_boom BEFORE INSERT ON ingest_jobs FOR EACH ROW EXECUTE FUNCTION quota_boom()");
my $gbefore = rows('globex');
for (1 .. 3) {
    $r = $t->request('POST', '/api/ingest/init', token => $tok{globex},
        json => { filename => 'boom.csv', file_type => 'csv', file_size => 10 });
    problem_ok($r, 500, 'internal', "a failed insert under the quota ($_)");
}
is(rows('globex'), $gbefore, 'the failed inserts left nothing');
is(init('globex')->{status}, 201, 'and the next init of that tenant is not blocked');
$t->psql("DROP TRIGGER quota_boom ON ingest_jobs");

# every pooled session is left clean: no transaction open, no lock held
is($t->psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'ingest' AND state LIKE 'idle in transaction%'"),
    0, 'no session is left in a transaction');
is($t->psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0, 'no quota lock is held');

# ---- a Location without the directives has no limit
# Stopping httpd while connections the test just closed are in the event
# MPM's lingering close: a child that exits closes its pollset under them,
# and mpm_event logs AH03092 (epoll_ctl on the closed pollset: EBADF).
# httpd's shutdown, not this module's; seen once in CI.
$t->expect_log(qr/\[mpm_event:error\] .*\(9\)Bad file descriptor: AH03092: process_lingering_close: apr_pollset_add failure/);
$t->stop_httpd;
$t->{extra} = '';
$t->start_httpd;
is(init('acme')->{status}, 201, 'without IngestTenantMaxActiveJobs: no limit');
is(init('initech', 1_000_000)->{status}, 201, 'without IngestTenantMaxStorage: no limit');

done_testing;
