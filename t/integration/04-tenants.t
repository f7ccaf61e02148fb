#!/usr/bin/perl
# Tenant isolation on every job endpoint: another tenant's job is a 404
# indistinguishable from a job that does not exist, listings and stats are
# per tenant, Idempotency-Key is per tenant, and the rows carry the right
# tenant_id and user_id.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest;

my $t = IngestTest->new;

sub random_uuid {
    my $h = join '', map { sprintf '%02x', int rand 256 } 1 .. 16;
    substr($h, 12, 1) = '4';
    return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4), substr($h, 16, 4), substr($h, 20);
}

# The parts of a problem document that must not tell "not yours" from
# "does not exist" (instance is the request URI, so it differs by design).
sub problem_core {
    my ($r) = @_;
    my $j = $r->{json} // {};
    return { map { $_ => $j->{$_} } qw(type title status detail) };
}

sub ids { [sort map { $_->{job_id} } @{ $_[0]{json}{jobs} // [] }] }

sub db_row {
    my ($job_id) = @_;
    return $t->psql("SELECT tenant_id || '|' || coalesce(user_id, '<null>') FROM ingest_jobs WHERE job_id = '$job_id'");
}

my $alice = $t->token('org-a', 'alice');
my $bob   = $t->token('org-a', 'bob');
my $mal   = $t->token('org-b', 'mallory');

# --- A's jobs ---------------------------------------------------------------
my @a_alice = map { $t->init_job($alice, filename => "alice-$_.csv")->{job_id} } 1 .. 2;
my $a_bob = $t->init_job($bob, filename => 'bob.csv')->{job_id};
my @a_all = sort(@a_alice, $a_bob);
my $victim = $a_alice[0];

is(db_row($_), 'org-a|alice', "row $_ has tenant org-a and user alice") for @a_alice;
is(db_row($a_bob), 'org-a|bob', 'bob\'s row has tenant org-a and user bob');

# --- GET status across tenants ----------------------------------------------
my $ghost = random_uuid();
my $nf = $t->request('GET', "/api/ingest/status/$ghost", token => $mal);
is($nf->{status}, 404, 'unknown job id: 404');
is($nf->{headers}{'content-type'}, 'application/problem+json', 'unknown job id: problem+json');

my $r = $t->request('GET', "/api/ingest/status/$victim", token => $mal);
is($r->{status}, 404, 'B reading A\'s job: 404');
is($r->{headers}{'content-type'}, 'application/problem+json', 'B reading A\'s job: problem+json');
is_deeply(problem_core($r), problem_core($nf), 'B reading A\'s job: same body as an unknown job');
unlike($r->{content}, qr/org-a|alice/, 'the 404 names neither the owning tenant nor its user');

# A itself can read it
$r = $t->request('GET', "/api/ingest/status/$victim", token => $alice);
is($r->{status}, 200, 'A reads its own job');
is($r->{json}{tenant_id}, 'org-a', 'job shows tenant org-a');
is($r->{json}{user_id}, 'alice', 'job shows user alice');
# another user of the same tenant sees the tenant's job
$r = $t->request('GET', "/api/ingest/status/$victim", token => $bob);
is($r->{status}, 200, 'another user of tenant A reads the job');

# --- DELETE across tenants --------------------------------------------------
my $dnf = $t->request('DELETE', "/api/ingest/$ghost", token => $mal);
is($dnf->{status}, 404, 'DELETE of unknown job: 404');
$r = $t->request('DELETE', "/api/ingest/$victim", token => $mal);
is($r->{status}, 404, 'B deleting A\'s job: 404');
is($r->{headers}{'content-type'}, 'application/problem+json', 'B deleting A\'s job: problem+json');
is_deeply(problem_core($r), problem_core($dnf), 'B deleting A\'s job: same body as deleting an unknown job');
is_deeply(problem_core($r), problem_core($nf), 'and the same as the GET 404');

$r = $t->request('GET', "/api/ingest/status/$victim", token => $alice);
is($r->{status}, 200, 'after B\'s failed DELETE the job still exists for A');
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE job_id = '$victim'"), '1', 'and in the database');

# --- lists and stats ----------------------------------------------------------
$r = $t->request('GET', '/api/ingest/jobs', token => $mal);
is($r->{status}, 200, 'B lists');
is($r->{json}{total}, 0, 'fresh B: total 0');
is_deeply($r->{json}{jobs}, [], 'fresh B: no jobs');
is($r->{json}{has_more}, JSON::PP::false, 'fresh B: has_more false');

$r = $t->request('GET', '/api/ingest/stats', token => $mal);
is($r->{status}, 200, 'B stats');
is($r->{json}{total}, 0, 'fresh B stats: total 0');
is($r->{json}{$_}, 0, "fresh B stats: $_ 0") for qw(pending queued running completed failed);

$r = $t->request('GET', '/api/ingest/jobs', token => $alice);
is($r->{status}, 200, 'A lists');
is($r->{json}{total}, 3, 'A: total 3');
is_deeply(ids($r), \@a_all, 'A: exactly A\'s jobs');
is((grep { $_->{tenant_id} ne 'org-a' } @{ $r->{json}{jobs} }), 0, 'A: every listed job is tenant org-a');

$r = $t->request('GET', '/api/ingest/stats', token => $alice);
is($r->{json}{total}, 3, 'A stats: total 3');
is($r->{json}{pending}, 3, 'A stats: 3 pending');

# user=me
$r = $t->request('GET', '/api/ingest/jobs?user=me', token => $alice);
is($r->{status}, 200, 'user=me for alice');
is($r->{json}{total}, 2, 'alice: total 2');
is_deeply(ids($r), [sort @a_alice], 'alice: exactly her jobs');
$r = $t->request('GET', '/api/ingest/jobs?user=me', token => $bob);
is($r->{json}{total}, 1, 'bob: total 1');
is_deeply(ids($r), [$a_bob], 'bob: exactly his job');
$r = $t->request('GET', '/api/ingest/jobs?user=me', token => $mal);
is($r->{json}{total}, 0, 'mallory (tenant B): user=me is empty');
# a user of another tenant with the same sub does not see A's jobs
$r = $t->request('GET', '/api/ingest/jobs?user=me', token => $t->token('org-b', 'alice'));
is($r->{json}{total}, 0, 'sub "alice" in tenant B: user=me does not reach tenant A');
$r = $t->request('GET', '/api/ingest/jobs?user=me&status=pending', token => $alice);
is($r->{json}{total}, 2, 'user=me combines with status');

# B's own job does not leak into A
my $b_job = $t->init_job($mal, filename => 'b.csv')->{job_id};
is(db_row($b_job), 'org-b|mallory', 'B\'s row has tenant org-b');
$r = $t->request('GET', '/api/ingest/jobs', token => $mal);
is_deeply(ids($r), [$b_job], 'B lists only its job');
$r = $t->request('GET', '/api/ingest/jobs', token => $alice);
is($r->{json}{total}, 3, 'A still counts 3');
$r = $t->request('GET', "/api/ingest/status/$b_job", token => $alice);
is($r->{status}, 404, 'A reading B\'s job: 404');
is_deeply(problem_core($r), problem_core($nf), 'with the unknown-job body');

# --- Idempotency-Key is per tenant -------------------------------------------
my %key = ('Idempotency-Key' => 'shared-key-0001');
my $ra = $t->request('POST', '/api/ingest/init', token => $alice, headers => {%key},
    json => { filename => 'same.csv', file_type => 'csv', file_size => 10 });
my $rb = $t->request('POST', '/api/ingest/init', token => $mal, headers => {%key},
    json => { filename => 'same.csv', file_type => 'csv', file_size => 10 });
is($ra->{status}, 201, 'A with the key: 201');
is($rb->{status}, 201, 'B with the same key: 201');
isnt($ra->{json}{job_id}, $rb->{json}{job_id}, 'two distinct jobs');
is(db_row($ra->{json}{job_id}), 'org-a|alice', 'A\'s keyed job belongs to A');
is(db_row($rb->{json}{job_id}), 'org-b|mallory', 'B\'s keyed job belongs to B');
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE idempotency_key = 'shared-key-0001'"), '2', 'two rows with that key');
my $again = $t->request('POST', '/api/ingest/init', token => $mal, headers => {%key},
    json => { filename => 'same.csv', file_type => 'csv', file_size => 10 });
is($again->{status}, 200, 'B repeating its key: 200');
is($again->{json}{job_id}, $rb->{json}{job_id}, 'and gets its own job back, not A\'s');
$r = $t->request('GET', "/api/ingest/status/$ra->{json}{job_id}", token => $mal);
is($r->{status}, 404, 'B cannot read A\'s keyed job');

# --- integer org_id ------------------------------------------------------------
my $int_tok = $t->jwt({ org_id => 42, sub => 'n1', exp => time + 3600 });
my $str_tok = $t->token('42', 'n2');
$r = $t->request('POST', '/api/ingest/init', token => $int_tok,
    json => { filename => 'n.csv', file_type => 'csv', file_size => 1 });
is($r->{status}, 201, 'integer org_id is accepted');
my $n_job = $r->{json}{job_id};
is($r->{json}{tenant_id}, '42', 'integer org_id 42 is tenant "42"');
is(db_row($n_job), '42|n1', 'row has tenant_id 42');
$r = $t->request('GET', "/api/ingest/status/$n_job", token => $str_tok);
is($r->{status}, 200, 'string "42" reads the job of integer 42');
$r = $t->request('GET', '/api/ingest/jobs', token => $str_tok);
is_deeply(ids($r), [$n_job], 'string "42" lists it');
my $s_job = $t->init_job($str_tok)->{job_id};
$r = $t->request('GET', '/api/ingest/jobs', token => $int_tok);
is_deeply(ids($r), [sort($n_job, $s_job)], 'integer 42 lists the job of string "42"');
$r = $t->request('GET', "/api/ingest/status/$n_job", token => $t->token('042', 'x'));
is($r->{status}, 404, 'tenant "042" is not tenant "42"');
# two different integer org_ids are two different tenants
my $int7_tok = $t->jwt({ org_id => 7, sub => 'n7', exp => time + 3600 });
$r = $t->request('GET', "/api/ingest/status/$n_job", token => $int7_tok);
is($r->{status}, 404, 'integer org_id 7 cannot read the job of integer org_id 42');
$r = $t->request('GET', '/api/ingest/jobs', token => $int7_tok);
is($r->{json}{total}, 0, 'integer org_id 7 lists nothing');
# an integer sub is the user id in decimal too
my $int_sub = $t->jwt({ org_id => 'org-n', sub => 1001, exp => time + 3600 });
is(db_row($t->init_job($int_sub)->{job_id}), 'org-n|1001', 'integer sub 1001 is user "1001"');

# --- A deletes its own job; nothing else changes -----------------------------
$r = $t->request('DELETE', "/api/ingest/$victim", token => $alice);
is($r->{status}, 204, 'A deletes its job');
$r = $t->request('GET', "/api/ingest/status/$victim", token => $alice);
is($r->{status}, 404, 'now gone for A');
$r = $t->request('GET', '/api/ingest/jobs', token => $mal);
is($r->{json}{total}, 2, 'B still has its 2 jobs');

done_testing;
