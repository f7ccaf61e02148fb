#!/usr/bin/perl
# GET /api/ingest/status/{id}, GET /api/ingest/jobs, GET /api/ingest/stats,
# DELETE /api/ingest/{id}.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(problem_ok);

my $t = IngestTest->new;
my $alice = $t->token('acme', 'alice');
my $bob = $t->token('acme', 'bob');

my @ids;
for my $i (1 .. 25) {
    push @ids, $t->init_job($i % 5 ? $alice : $bob, filename => "f$i.csv", file_size => $i)->{job_id};
}
my %by_user = (alice => 20, bob => 5);

# ---- status
my $r = $t->request('GET', "/api/ingest/status/$ids[0]", token => $alice);
is($r->{status}, 200, 'status 200');
my @fields = qw(job_id tenant_id user_id source_type filename file_type file_size content_sha256 priority status error
    result_url result_data total_items processed_items records_processed failed_items attempts expires_at created_at
    submitted_at started_at completed_at updated_at progress);
ok(exists $r->{json}{$_}, "status has $_") for @fields;
is($r->{json}{filename}, 'f1.csv', 'the right job');
is($r->{json}{progress}, 0, 'progress 0 for a new job');
is($r->{headers}{'cache-control'}, 'no-store', 'status is not cacheable');

$t->psql("UPDATE ingest_jobs SET status = 'running', started_at = now(), total_items = 200, processed_items = 50 WHERE job_id = '$ids[0]'");
$r = $t->request('GET', "/api/ingest/status/$ids[0]", token => $alice);
is($r->{json}{status}, 'running', 'running');
is($r->{json}{progress}, 25, 'progress = processed/total');
is($r->{json}{records_processed}, 50, 'records_processed mirrors processed_items');
like($r->{json}{started_at}, qr/Z$/, 'started_at set');

$t->psql("UPDATE ingest_jobs SET status = 'completed', completed_at = now(), processed_items = 200,"
    . " result_data = '{\"rows_processed\": 200}' WHERE job_id = '$ids[0]'");
$r = $t->request('GET', "/api/ingest/status/$ids[0]", token => $alice);
is($r->{json}{progress}, 100, 'completed is 100%');
is_deeply($r->{json}{result_data}, { rows_processed => 200 }, 'result_data is JSON, not a string');

$r = $t->request('HEAD', "/api/ingest/status/$ids[1]", token => $alice);
is($r->{status}, 200, 'HEAD works');
is($r->{content} // '', '', 'HEAD has no body');

problem_ok($t->request('GET', '/api/ingest/status/00000000-0000-4000-8000-000000000000', token => $alice), 404, 'not-found',
    'unknown job');
problem_ok($t->request('GET', '/api/ingest/status/not-a-uuid', token => $alice), 404, 'no-route', 'not a job id');
problem_ok($t->request('GET', "/api/ingest/status/$ids[1]"), 401, 'unauthorized', 'status without a token');

# ---- list
$r = $t->request('GET', '/api/ingest/jobs', token => $alice);
is($r->{status}, 200, 'list 200');
is($r->{json}{total}, 25, 'total counts the tenant');
is($r->{json}{limit}, 20, 'default limit 20');
is($r->{json}{offset}, 0, 'default offset 0');
is(scalar @{ $r->{json}{jobs} }, 20, 'a page of 20');
ok($r->{json}{has_more}, 'has_more');
my @created = map { $_->{created_at} } @{ $r->{json}{jobs} };
is_deeply(\@created, [sort { $b cmp $a } @created], 'newest first');
is($r->{json}{jobs}[0]{job_id}, $ids[-1], 'the newest job leads');
ok(exists $r->{json}{jobs}[0]{progress}, 'listed jobs carry progress');

$r = $t->request('GET', '/api/ingest/jobs?offset=20', token => $alice);
is(scalar @{ $r->{json}{jobs} }, 5, 'the last page has 5');
ok(!$r->{json}{has_more}, 'and no more');
my %seen;
$seen{$_->{job_id}}++ for @{ $t->request('GET', '/api/ingest/jobs?limit=20', token => $alice)->{json}{jobs} }, @{ $r->{json}{jobs} };
is(scalar keys %seen, 25, 'pages cover every job once');
$r = $t->request('GET', '/api/ingest/jobs?offset=100', token => $alice);
is_deeply([$r->{json}{total}, scalar @{ $r->{json}{jobs} }, $r->{json}{has_more} ? 1 : 0], [25, 0, 0], 'offset past the end');
$r = $t->request('GET', '/api/ingest/jobs?limit=100', token => $alice);
is(scalar @{ $r->{json}{jobs} }, 25, 'limit 100');
$r = $t->request('GET', '/api/ingest/jobs?limit=1&offset=1', token => $alice);
is($r->{json}{jobs}[0]{job_id}, $ids[-2], 'limit 1 offset 1 is the second newest');

$r = $t->request('GET', '/api/ingest/jobs?status=completed', token => $alice);
is($r->{json}{total}, 1, 'status filter');
is($r->{json}{jobs}[0]{job_id}, $ids[0], 'the completed job');
$r = $t->request('GET', '/api/ingest/jobs?status=pending&limit=100', token => $alice);
is($r->{json}{total}, 24, 'pending filter');
for my $u (qw(alice bob)) {
    $r = $t->request('GET', '/api/ingest/jobs?user=me&limit=100', token => $u eq 'alice' ? $alice : $bob);
    is($r->{json}{total}, $by_user{$u}, "user=me for $u");
    is_deeply([sort keys %{ { map { $_->{user_id} => 1 } @{ $r->{json}{jobs} } } }], [$u], "only $u\'s jobs");
}
$r = $t->request('GET', '/api/ingest/jobs?user=me&status=completed', token => $bob);
is($r->{json}{total}, 0, 'filters combine');

for my $case (['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=abc', 'limit'], ['limit=-1', 'limit'],
    ['limit=', 'limit'], ['limit', 'limit'], ['limit=+5', 'limit'], ['offset=-1', 'offset'], ['offset=1.5', 'offset'],
    ['offset=99999999999', 'offset'], ['status=processing', 'status'], ['status=', 'status'], ['user=you', 'user'],
    ['page=2', 'page'], ['limit=5&limit=6', 'limit'], ['status=%zz', 'status'], ['%FF=1', '%FF']) {
    $r = $t->request('GET', "/api/ingest/jobs?$case->[0]", token => $alice);
    problem_ok($r, 422, 'invalid-field', "?$case->[0]");
    is($r->{json}{field}, $case->[1], "?$case->[0] names $case->[1]");
}
# a name that is not UTF-8 is named with its bytes %-escaped, in the detail too
like($r->{json}{detail} // '', qr/^%FF unknown query parameter/, '?%FF=1: the detail names %FF');
$r = $t->request('GET', '/api/ingest/status/%FF', token => $alice);
problem_ok($r, 404, 'no-route', 'a job path whose id is not UTF-8 (nor a UUID)');
is($r->{json}{instance}, '/api/ingest/status/%FF', '... its instance is the path, %-escaped');

# ---- stats
$r = $t->request('GET', '/api/ingest/stats', token => $alice);
is($r->{status}, 200, 'stats 200');
is_deeply($r->{json}, { total => 25, pending => 24, queued => 0, running => 0, completed => 1, failed => 0 }, 'counts per status');

# ---- delete
$r = $t->request('DELETE', "/api/ingest/$ids[3]", token => $alice);
is($r->{status}, 204, 'delete 204');
is($r->{content} // '', '', 'no body');
problem_ok($t->request('GET', "/api/ingest/status/$ids[3]", token => $alice), 404, 'not-found', 'deleted job is gone');
problem_ok($t->request('DELETE', "/api/ingest/$ids[3]", token => $alice), 404, 'not-found', 'delete twice');
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE job_id = '$ids[3]'"), 0, 'row removed');
is($t->request('GET', '/api/ingest/stats', token => $alice)->{json}{total}, 24, 'stats follow');
$r = $t->request('DELETE', "/api/ingest/$ids[0]", token => $bob);
is($r->{status}, 204, 'a colleague in the tenant may delete (completed job)');
$r = $t->request('GET', "/api/ingest/$ids[4]", token => $alice);
problem_ok($r, 405, 'method-not-allowed', 'GET on a job path');
is($r->{headers}{allow}, 'DELETE', 'Allow: DELETE');
problem_ok($t->request('DELETE', '/api/ingest/jobs', token => $alice), 405, 'method-not-allowed', 'DELETE on the listing');

done_testing;
