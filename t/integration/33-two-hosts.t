#!/usr/bin/perl
# Two hosts, one database (issue 14): two httpd instances with separate
# server roots and local directories, one PostgreSQL, one S3 bucket (s3rver
# behind the SigV4-checking proxy of t/lib/IngestS3.pm) and one redis as the
# shared status cache.
#   1. Host A takes uploads and runs no worker (IngestProcessor none); the
#      worker of host B parses them from the bucket; statuses and records
#      read from either host agree.
#   2. A status read from B right after a change made through A is never
#      older than the change (the cache entry is dropped in redis).
#   The httpd balancer config of docs/deployment.md in front of both
#      spreads uploads and status reads over them.
#   3. Both run workers: 200 parse jobs uploaded through both hosts complete
#      exactly once each, and both workers took part.
#   4. 5,000 jobs queued at once (mappings: no file, so that S3 and the
#      proxy are not what is timed) complete exactly once on both workers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IngestTest qw(wait_until);
use IngestS3;

my $MODULES = IngestTest::run_or_die('apxs', '-q', 'LIBEXECDIR');
chomp $MODULES;

my $s3 = IngestS3->new(dir => tempdir('ingest-s3-XXXXXX', TMPDIR => 1, CLEANUP => 1), bucket => 'ingest-two');
my $t = IngestTest->new(no_httpd => 1);
my $redis = $t->start_redis;
$t->{extra} = "IngestProcessor none\nIngestWorkerInterval 50ms\nIngestSimulateSuccessRate 1\n"
    . "IngestStorage s3://ingest-two/files\nIngestS3Endpoint " . $s3->endpoint . "\n"
    . "IngestS3Credentials file:" . $s3->credentials_file . "\nIngestS3PathStyle On\n"
    . "LoadModule socache_redis_module $MODULES/mod_socache_redis.so\n"
    . "IngestStatusCache redis:127.0.0.1:$redis\nRedisTimeout 2\nIngestStatusCacheTTL 30\n";
$t->start_httpd;
my $b_storage = tempdir('ingest-b-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0777, $b_storage;
my $b = $t->start_second_httpd(sub {
    $_[0] =~ s/^IngestProcessor none$/IngestProcessor parse/m or die "no IngestProcessor line\n";
    $_[0] =~ s/^IngestStorageDir .*$/IngestStorageDir "$b_storage"/m or die "no IngestStorageDir line\n";
});
my $tok = $t->token('acme', 'alice');

sub on {
    my ($h, $method, $path, %o) = @_;
    return IngestTest::request($h, $method, $path, token => $tok, %o);
}

sub upload {
    my ($h, $name, $body) = @_;
    my $r = on($h, 'POST', '/api/ingest/init', json => { filename => "$name.csv", file_type => 'csv', file_size => length $body });
    die "init: $r->{status} $r->{content}" unless $r->{status} == 201;
    my $res = HTTP::Tiny->new(timeout => 60, keep_alive => 0)->request('PUT', IngestTest::url($h, $r->{json}{upload_url}),
        { headers => { 'Content-Type' => 'application/octet-stream' }, content => $body });
    return ($r->{json}{job_id}, $res->{status});
}

# ---- 1. uploads to A, parsed by B
my @ids;
for my $n (1 .. 5) {
    my ($id, $st) = upload($t, "a$n", "id,n\n" . join('', map { "$_,$n\n" } 1 .. $n));
    is($st, 200, "host A: upload $n taken");
    push @ids, $id;
}
ok(wait_until('B to parse them', 60, sub {
    !grep { (on($t, 'GET', "/api/ingest/status/$_")->{json}{status} // '') ne 'completed' } @ids }),
    'host B parsed every file uploaded to host A (A runs no worker)');
is($t->psql("SELECT count(DISTINCT split_part(lease_owner, ':', 2)) FROM ingest_job_transitions"
    . " WHERE to_status = 'running' AND job_id IN (" . join(',', map {"'$_'"} @ids) . ")"), 1,
    '... all by one worker, B\'s');
for my $i (0 .. $#ids) {
    my ($ja, $jb) = map { on($_, 'GET', "/api/ingest/status/$ids[$i]")->{json} } $t, $b;
    is_deeply([ @$jb{qw(status processed_items result_url)} ], [ @$ja{qw(status processed_items result_url)} ],
        "job " . ($i + 1) . ": A and B answer the same status");
    my $recs = on($b, 'GET', "/api/ingest/status/$ids[$i]/records")->{json}{records};
    is(scalar @$recs, $i + 1, "job " . ($i + 1) . ": its records, read from B");
}

# ---- 2. B never answers older than a change made through A
my $stale = 0;
for my $n (1 .. 20) {
    my $r = on($t, 'POST', '/api/ingest/init', json => { filename => "c$n.csv", file_type => 'csv', file_size => 4 });
    my $id = $r->{json}{job_id};
    on($b, 'GET', "/api/ingest/status/$id");    # B caches "pending" in redis
    my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', IngestTest::url($t, $r->{json}{upload_url}), { content => "a\n1\n" });
    my $seen = on($b, 'GET', "/api/ingest/status/$id")->{json}{status} // '';
    $stale++ if $res->{status} != 200 || $seen eq 'pending';
    on($t, 'DELETE', "/api/ingest/$id");
    $stale++ if on($b, 'GET', "/api/ingest/status/$id")->{status} != 404;
}
is($stale, 0, 'redis: 20 uploads and 20 deletes through A, each read from B at once: never the state before');

# ---- the balancer of docs/deployment.md in front of both
my $front = IngestTest::start_front(
    modules => [qw(mpm_event authz_core proxy proxy_http proxy_balancer lbmethod_byrequests slotmem_shm)],
    conf => <<"CONF");
<Proxy "balancer://ingest">
    BalancerMember "http://127.0.0.1:$t->{port}" retry=5
    BalancerMember "http://127.0.0.1:$b->{port}" retry=5
    ProxySet lbmethod=byrequests timeout=300
</Proxy>
ProxyPass        "/api/" "balancer://ingest/api/"
ProxyPassReverse "/api/" "balancer://ingest/api/"
CONF
my $inits = sub { open my $fh, "<", $_[0] or return 0; my $n = () = do { local $/; <$fh> } =~ m{"(?:GET|POST|PUT) /api/ingest/}g; $n };
my @logs = ("$t->{dir}/logs/access.log", "$b->{dir}/logs/access.log");
my @before = map { $inits->($_) } @logs;
my @via;
for my $n (1 .. 6) {
    my ($id, $st) = upload($front, "f$n", "id\n$n\n");
    is($st, 200, "through the balancer: upload $n");
    push @via, $id;
}
ok(wait_until('jobs sent through the balancer', 60, sub {
    !grep { (on($front, 'GET', "/api/ingest/status/$_")->{json}{status} // '') ne 'completed' } @via }),
    'through the balancer: every job completed, its status read through the balancer too');
my @after = map { $inits->($_) } @logs;
ok($after[0] > $before[0] && $after[1] > $before[1],
    "through the balancer: both hosts took requests (A " . ($after[0] - $before[0]) . ", B " . ($after[1] - $before[1]) . ")");

# ---- 3. both run workers
$t->{extra} =~ s/^IngestProcessor none$/IngestProcessor parse/m;
$t->write_conf;
IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful'));
ok(wait_until('two workers', 30, sub {
    $t->psql("SELECT count(*) FROM ingest_workers WHERE last_tick > now() - interval '3 seconds'") == 2 }),
    'both hosts run a worker');
my $from = $t->psql("SELECT now()");
my @many;
for my $n (1 .. 200) {
    my ($id, $st) = upload($n % 2 ? $t : $b, "m$n", "id\n$n\n");
    die "upload $n: $st" unless $st == 200;
    push @many, $id;
}
my $in = join(',', map {"'$_'"} @many);
ok(wait_until('200 parsed', 120, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE job_id IN ($in) AND status = 'completed'") == 200 }),
    '200 parse jobs uploaded through both hosts all completed');
is($t->psql("SELECT count(*) FROM (SELECT job_id FROM ingest_job_transitions WHERE job_id IN ($in)"
    . " GROUP BY job_id HAVING count(*) FILTER (WHERE to_status = 'running') <> 1"
    . " OR count(*) FILTER (WHERE to_status = 'completed') <> 1) x"), 0, '... each exactly once');
is($t->psql("SELECT count(*) FROM ingest_records WHERE job_id IN ($in)"), 200, '... one record each, no duplicate');
my $hosts = $t->psql("SELECT count(DISTINCT split_part(lease_owner, ':', 2)) FROM ingest_job_transitions"
    . " WHERE to_status = 'running' AND job_id IN ($in)");
is($hosts, 2, '... taken by the workers of both hosts');

# ---- 4. 5,000 jobs, both workers, each run exactly once
$t->psql("WITH j AS (INSERT INTO ingest_jobs (tenant_id, user_id, source_type, total_items, status, due_at)"
    . " SELECT 'five', 'u', 'mappings', 1, 'queued', now() FROM generate_series(1, 5000) RETURNING job_id)"
    . " INSERT INTO ingest_job_items (job_id, idx, item_id, source, target) SELECT job_id, 0, 'm', 's', 't' FROM j");
my $t5 = time;
ok(wait_until('5,000 jobs', 240, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'five' AND status = 'completed'") == 5000 }),
    '5,000 mappings jobs queued at once all completed');
diag sprintf '5,000 jobs on two hosts in %.1f s', time - $t5;
is($t->psql("SELECT count(*) FROM (SELECT t.job_id FROM ingest_job_transitions t JOIN ingest_jobs j USING (job_id)"
    . " WHERE j.tenant_id = 'five' GROUP BY t.job_id"
    . " HAVING count(*) FILTER (WHERE t.to_status = 'running') <> 1 OR count(*) FILTER (WHERE t.to_status = 'completed') <> 1) x"),
    0, '... each exactly once (one transition into running, one into completed)');
my $per = $t->psql("SELECT string_agg(n::text, ' ' ORDER BY n) FROM (SELECT count(*) n FROM ingest_job_transitions t"
    . " JOIN ingest_jobs j USING (job_id) WHERE j.tenant_id = 'five' AND t.to_status = 'running'"
    . " GROUP BY split_part(t.lease_owner, ':', 2)) x");
is(scalar(split / /, $per), 2, "... run by the workers of both hosts ($per)");
is(scalar(grep { !$_->{signature_ok} } @{ $s3->requests }), 0, 'every S3 request of both hosts was validly signed');

done_testing;
