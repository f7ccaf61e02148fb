#!/usr/bin/perl
# ML job metadata and cost analytics (seed 003): the bundled dataset loaded
# by an admin through the ingestion path; cost by model and by team equal
# to sums this test computes itself from the file (for the whole range and
# for one that cuts through jobs spanning midnight); an idempotent reload;
# a changed record replacing the old values and days; bad records reported
# by index and field with the good ones kept; a file upload (NDJSON);
# validation of every parameter; another tenant seeing nothing; 403 for a
# non-admin loader.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use POSIX qw(floor);
use Time::Local qw(timegm);

my $JSON = $IngestTest::JSON;
my $TOP = "$FindBin::Bin/../..";
my $DATASET = "$TOP/data/mock_jobs.json";

# ---------------------------------------------------------------- the oracle

# RFC 3339 with an offset -> epoch seconds (fractions kept).
sub epoch {
    my ($s) = @_;
    my ($y, $mo, $d, $h, $mi, $sec, $frac, $z, $sign, $oh, $om) =
        $s =~ /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([Zz])|([+-])(\d\d):(\d\d))$/
        or die "not RFC 3339: $s";
    my $t = timegm($sec, $mi, $h, $d, $mo - 1, $y) + ($frac // 0);
    $t -= ($sign eq '+' ? 1 : -1) * ($oh * 3600 + $om * 60) unless $z;
    return $t;
}

sub day_name {
    my @t = gmtime($_[0] * 86400);
    return sprintf('%04d-%02d-%02d', $t[5] + 1900, $t[4] + 1, $t[3]);
}

# {day => [cost, gpu_hours]} of one job: spread by the seconds of
# [started, ended) on each UTC day; no end (or no length): the start's day.
sub days_of {
    my ($j) = @_;
    my $s = epoch($j->{started_at});
    my $e = defined $j->{ended_at} ? epoch($j->{ended_at}) : $s;
    my ($cost, $gh) = ($j->{cost_usd}, $j->{gpu_hours} // 0);
    return { day_name(floor($s / 86400)) => [ $cost, $gh ] } if $e <= $s;
    my %d;
    for (my $day = floor($s / 86400); $day * 86400 < $e; ++$day) {
        my ($lo, $hi) = ($day * 86400, ($day + 1) * 86400);
        $lo = $s if $s > $lo;
        $hi = $e if $e < $hi;
        next if $hi <= $lo;
        my $share = ($hi - $lo) / ($e - $s);
        $d{ day_name($day) } = [ $cost * $share, $gh * $share ];
    }
    return \%d;
}

# {name => {cost, gpu_hours, jobs}} by a record's field, over [start, end].
sub expected {
    my ($jobs, $field, $start, $end) = @_;
    my %by;
    for my $j (@$jobs) {
        my $days = days_of($j);
        my @in = grep { (!$start || $_ ge $start) && (!$end || $_ le $end) } keys %$days;
        next unless @in;
        my $e = $by{ $j->{$field} } //= { cost => 0, gpu_hours => 0, jobs => 0 };
        $e->{cost} += $days->{$_}[0] for @in;
        $e->{gpu_hours} += $days->{$_}[1] for @in;
        $e->{jobs}++;
    }
    return \%by;
}

# The answer agrees with the oracle: the same names, each amount within the
# rounding to cents, the counts equal, sorted by cost (cents) then name.
sub cost_matches {
    my ($r, $key, $want, $name) = @_;
    is($r->{status}, 200, "$name: 200") or return diag $r->{content};
    my $got = $r->{json};
    is($got->{currency}, 'USD', "$name: currency USD");
    is_deeply([ sort map { $_->{$key} } @{ $got->{results} } ], [ sort keys %$want ], "$name: the same ${key}s");
    my $total = 0;
    $total += $_->{cost} for values %$want;
    ok(abs($got->{total_cost_usd} - $total) < 0.0051, "$name: total_cost_usd $got->{total_cost_usd} ~ $total");
    my ($bad, $prev) = (0, undef);
    for my $row (@{ $got->{results} }) {
        my $w = $want->{ $row->{$key} } or next;
        $bad++, diag("$name: $row->{$key}: cost $row->{total_cost_usd}, want $w->{cost}")
            unless abs($row->{total_cost_usd} - $w->{cost}) < 0.0051;
        $bad++, diag("$name: $row->{$key}: gpu_hours $row->{gpu_hours}, want $w->{gpu_hours}")
            unless abs($row->{gpu_hours} - $w->{gpu_hours}) < 0.0051;
        $bad++, diag("$name: $row->{$key}: job_count $row->{job_count}, want $w->{jobs}")
            unless $row->{job_count} == $w->{jobs};
        $bad++, diag("$name: $row->{$key} out of order")
            if $prev && ($prev->{total_cost_usd} < $row->{total_cost_usd}
                || ($prev->{total_cost_usd} == $row->{total_cost_usd} && $prev->{$key} gt $row->{$key}));
        $prev = $row;
    }
    is($bad, 0, "$name: every row's cost, GPU hours and job count, in order");
}

# ---------------------------------------------------------------- helpers

sub ingestion_done {
    my ($t, $tok, $id) = @_;
    my $job;
    wait_until("ingestion $id", 30, sub {
        $job = $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
        $job && ($job->{status} // '') =~ /^(completed|failed)$/;
    });
    return $job // {};
}

sub results_of {
    my ($t, $tok, $id) = @_;
    my $r = $t->request('GET', "/api/ingest/status/$id/results?limit=100", token => $tok);
    return $r->{json}{results} // [];
}

my $dataset = $JSON->decode(do { open my $fh, '<:raw', $DATASET or die "$DATASET: $!"; local $/; <$fh> });
my @jobs = @{ $dataset->{jobs} };
is(scalar @jobs, 30, 'the bundled dataset has 30 jobs');

my $t = IngestTest->new(extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n"
    . "IngestJWTAdminClaim role admin\nIngestMockDataset \"\@TESTDIR\@/mock_jobs.json\"\n");
my $admin = $t->token('acme', 'root', role => [ 'ops', 'admin' ]);
my $user = $t->token('acme', 'alice', role => 'viewer');
my $other = $t->token('globex', 'bob', role => 'admin');

# ---- only an admin loads the dataset
my $r = $t->request('POST', '/api/admin/ingest/jobs/mock', token => $user);
problem_ok($r, 403, 'forbidden', 'a token without the admin claim');
$r = $t->request('POST', '/api/admin/ingest/jobs/mock');
is($r->{status}, 401, 'no token: 401');
is($t->psql('SELECT count(*) FROM ingest_jobs'), 0, 'refused loads created no ingestion');

$r = $t->request('POST', '/api/admin/ingest/jobs/mock', token => $admin);
is($r->{status}, 202, 'admin (role array holding admin): 202') or diag $r->{content};
my $load = $r->{json} // {};
is($load->{source_type}, 'job_metadata', 'the load is a job_metadata ingestion');
is($load->{total_items}, 30, 'total_items 30');
like($load->{results_url} // '', qr{/results$}, 'results_url');
my $done = ingestion_done($t, $admin, $load->{job_id});
is($done->{status}, 'completed', 'the load completed') or diag explain $done;
is($done->{processed_items}, 30, 'processed_items 30');
is($done->{failed_items}, 0, 'failed_items 0');
is($done->{result_data}{changed}, 30, 'result_data: 30 jobs changed');
is($t->psql("SELECT count(*) FROM ingest_ml_jobs WHERE tenant_id = 'acme'"), 30, '30 ML jobs stored');
is($t->psql("SELECT count(*) FROM ingest_ml_teams WHERE tenant_id = 'acme'"), 3, '3 teams created by name');
my $results = results_of($t, $admin, $load->{job_id});
is(scalar @$results, 30, '30 per-item results');
is_deeply($results->[0], { index => 0, job_id => $jobs[0]{job_id}, status => 'success', error => undef,
    processed_at => $results->[0]{processed_at} }, 'a result names the record by index and job_id');

# ---- cost over the whole range, and one cutting through midnight
for my $dim ([ 'by-model', 'model_name' ], [ 'by-team', 'team' ]) {
    my ($path, $key) = @$dim;
    cost_matches($t->request('GET', "/api/analytics/cost/$path?start=2026-01-01&end=2026-01-14", token => $user),
        $key, expected(\@jobs, $key, '2026-01-01', '2026-01-14'), "$path, Jan 1-14");
    cost_matches($t->request('GET', "/api/analytics/cost/$path", token => $user), $key, expected(\@jobs, $key),
        "$path, all time");
}
# a range that begins on the day after a job that spans midnight began
my ($span) = grep { $_->{ended_at} && keys %{ days_of($_) } > 1 } @jobs;
ok($span, "the dataset has a job spanning midnight ($span->{job_id})");
my @span_days = sort keys %{ days_of($span) };
my ($lo, $hi) = ($span_days[1], day_name(floor(epoch($span->{started_at}) / 86400) + 3));
for my $dim ([ 'by-model', 'model_name' ], [ 'by-team', 'team' ]) {
    my ($path, $key) = @$dim;
    $r = $t->request('GET', "/api/analytics/cost/$path?start=$lo&end=$hi", token => $user);
    is($r->{json}{start}, $lo, "$path: start echoed");
    is($r->{json}{end}, $hi, "$path: end echoed");
    cost_matches($r, $key, expected(\@jobs, $key, $lo, $hi), "$path, $lo..$hi (cuts $span->{job_id})");
}
my $part = days_of($span)->{$lo}[0];
ok($part > 0 && $part < $span->{cost_usd}, "the cut job counts only its share on $lo ($part of $span->{cost_usd})");

# ---- the jobs listing
$r = $t->request('GET', '/api/analytics/jobs', token => $user);
is($r->{status}, 200, 'jobs: 200');
is($r->{json}{total}, 30, 'jobs: total 30');
is($r->{json}{limit}, 50, 'jobs: limit 50 by default');
is($r->{json}{skip}, 0, 'jobs: skip 0');
ok(!$r->{json}{has_more}, 'jobs: no more');
my %by_id = map { $_->{job_id} => $_ } @{ $r->{json}{jobs} };
my $j0 = $by_id{ $jobs[0]{job_id} } // {};
for my $f (qw(job_id team model_name gpu_type provider status)) {
    is($j0->{$f}, $jobs[0]{$f}, "jobs: $f shown");
}
ok(abs($j0->{cost_usd} - $jobs[0]{cost_usd}) < 1e-9, 'jobs: cost_usd shown');
is(epoch($j0->{started_at}), epoch($jobs[0]{started_at}), 'jobs: started_at shown (UTC)');
like($j0->{updated_at} // '', qr/^\d{4}-\d\d-\d\dT/, 'jobs: updated_at shown');
my @starts = map { epoch($_->{started_at}) } @{ $r->{json}{jobs} };
is_deeply(\@starts, [ sort { $b <=> $a } @starts ], 'jobs: newest first');
my $team = $jobs[0]{team};
$r = $t->request('GET', "/api/analytics/jobs?team=$team&limit=2&skip=1", token => $user);
my $n_team = grep { $_->{team} eq $team } @jobs;
is($r->{json}{total}, $n_team, "jobs: team=$team filters ($n_team)");
is(scalar @{ $r->{json}{jobs} }, 2, 'jobs: limit 2');
is($r->{json}{skip}, 1, 'jobs: skip 1');
ok($r->{json}{has_more}, 'jobs: has_more');
$r = $t->request('GET', "/api/analytics/jobs?team=$team&limit=2&offset=1", token => $user);
is($r->{json}{skip}, 1, 'jobs: offset is skip');
for my $f (qw(model_name status provider gpu_type)) {
    my $v = $jobs[3]{$f};
    my $n = grep { ($_->{$f} // '') eq $v } @jobs;
    $r = $t->request('GET', "/api/analytics/jobs?$f=$v&limit=100", token => $user);
    is($r->{json}{total}, $n, "jobs: $f=$v filters ($n)");
    is(scalar(grep { $_->{$f} ne $v } @{ $r->{json}{jobs} }), 0, "jobs: $f=$v shows only those");
}

# ---- loading twice changes nothing
my $before = $t->psql("SELECT md5(string_agg(job_id || updated_at || cost_usd, ',' ORDER BY job_id)) FROM ingest_ml_jobs");
my $costs_before = $t->psql("SELECT md5(string_agg(ml_job || day::text || cost_usd, ',' ORDER BY ml_job, day)) FROM ingest_ml_costs");
$r = $t->request('POST', '/api/admin/ingest/jobs/mock', token => $admin);
is($r->{status}, 202, 'reload: 202');
$done = ingestion_done($t, $admin, $r->{json}{job_id});
is($done->{status}, 'completed', 'reload: completed');
is($done->{result_data}{changed}, 0, 'reload: no job changed');
is($t->psql("SELECT md5(string_agg(job_id || updated_at || cost_usd, ',' ORDER BY job_id)) FROM ingest_ml_jobs"), $before,
    'reload: every row as it was, updated_at too');
is($t->psql("SELECT md5(string_agg(ml_job || day::text || cost_usd, ',' ORDER BY ml_job, day)) FROM ingest_ml_costs"),
    $costs_before, 'reload: the same cost rows');

# ---- a changed record replaces the old values and its days
my %changed = (%{ $span }, cost_usd => $span->{cost_usd} * 2, team => 'new-team', started_at => $span->{ended_at});
$r = $t->request('POST', '/api/ingest/json', token => $user, json => { jobs => [ \%changed ] });
is($r->{status}, 202, 'changed record: 202') or diag $r->{content};
$done = ingestion_done($t, $user, $r->{json}{job_id});
is($done->{status}, 'completed', 'changed record: completed');
is($done->{result_data}{changed}, 1, 'changed record: one job changed');
$r = $t->request('GET', "/api/analytics/jobs?team=new-team", token => $user);
is($r->{json}{total}, 1, 'changed record: now in its new team');
ok(abs(($r->{json}{jobs}[0]{cost_usd} // 0) - 2 * $span->{cost_usd}) < 1e-9, 'changed record: the new cost');
is($t->psql("SELECT count(*) FROM ingest_ml_costs c JOIN ingest_ml_jobs j ON j.id = c.ml_job WHERE j.job_id = '$span->{job_id}'"),
    1, 'changed record: its days replaced (one day now)');
my @now = map { $_->{job_id} eq $span->{job_id} ? \%changed : $_ } @jobs;
cost_matches($t->request('GET', '/api/analytics/cost/by-team', token => $user), 'team', expected(\@now, 'team'),
    'by-team after the change');

# ---- bad records fail alone, named by index and field
my %good = (job_id => 'extra-1', team => 'recsys', model_name => 'm', gpu_type => 'L4', provider => 'aws',
    started_at => '2026-02-01T10:00:00+01:00', cost_usd => 5);
my @batch = (
    \%good,
    { %good, job_id => 'bad-cost', cost_usd => -1 },
    { %good, job_id => 'bad-start', started_at => '2026-02-30T10:00:00Z' },
    { %good, job_id => undef },
    'not an object',
    { %good, job_id => 'bad-status', status => 'exploded' },
    { %good, job_id => 'bad-end', ended_at => '2026-02-01T08:59:59Z' },
    { %good, job_id => 'extra-2', gpu_hours => 1.5, ended_at => '2026-02-02T10:00:00+01:00', unknown_field => [1] },
);
$r = $t->request('POST', '/api/ingest/json', token => $user, json => { jobs => \@batch });
is($r->{status}, 202, 'bad records: 202') or diag $r->{content};
$done = ingestion_done($t, $user, $r->{json}{job_id});
is($done->{status}, 'completed', 'bad records: the ingestion completes');
is($done->{total_items}, 8, 'bad records: total_items 8');
is($done->{failed_items}, 6, 'bad records: failed_items 6');
$results = results_of($t, $user, $r->{json}{job_id});
my %want_err = (1 => qr/^cost_usd: /, 2 => qr/^started_at: /, 3 => qr/^job_id: /, 4 => qr/object/, 5 => qr/^status: /,
    6 => qr/^ended_at: /);
for my $res (@$results) {
    my $i = $res->{index};
    if ($want_err{$i}) {
        is($res->{status}, 'failed', "bad records: [$i] failed");
        like($res->{error} // '', $want_err{$i}, "bad records: [$i] names the field ($res->{error})");
    }
    else {
        is($res->{status}, 'success', "bad records: [$i] succeeded");
    }
}
is($results->[1]{job_id}, 'bad-cost', 'bad records: a failed record keeps its job_id');
is($results->[3]{job_id}, undef, 'bad records: one without a job_id has null');
$r = $t->request('GET', '/api/analytics/jobs?provider=aws&model_name=m', token => $user);
is_deeply([ sort map { $_->{job_id} } @{ $r->{json}{jobs} } ], [ 'extra-1', 'extra-2' ], 'bad records: the good ones kept');
is($t->psql("SELECT day FROM ingest_ml_costs c JOIN ingest_ml_jobs j ON j.id = c.ml_job WHERE j.job_id = 'extra-1'"),
    '2026-02-01', 'an offset counts: 10:00+01:00 is on Feb 1 UTC');

# every record bad: the ingestion fails, still with its results
$r = $t->request('POST', '/api/ingest/json', token => $user, json => { jobs => [ 1, { job_id => 'x' } ] });
$done = ingestion_done($t, $user, $r->{json}{job_id});
is($done->{status}, 'failed', 'all bad: failed');
like($done->{error} // '', qr/all 2 records failed/, 'all bad: says so');
is(scalar @{ results_of($t, $user, $r->{json}{job_id}) }, 2, 'all bad: results kept');

# ---- a file: init with source_type job_metadata, then the presigned upload
my $ndjson = join '', map { $JSON->encode({ %good, job_id => "file-$_", cost_usd => $_ }) . "\n" } 1 .. 1200;
$r = $t->request('POST', '/api/ingest/init', token => $user,
    json => { source_type => 'job_metadata', filename => 'jobs.ndjson', file_type => 'ndjson', file_size => length $ndjson });
is($r->{status}, 201, 'file: init 201') or diag $r->{content};
is($r->{json}{status}, 'pending', 'file: pending until the upload');
my $fid = $r->{json}{job_id};
my $up = $t->request('PUT', $r->{json}{upload_url}, body => $ndjson);
ok($up->{status} >= 200 && $up->{status} < 300, "file: uploaded ($up->{status})");
$done = ingestion_done($t, $user, $fid);
is($done->{status}, 'completed', 'file: completed');
is($done->{processed_items}, 1200, 'file: 1200 records (three batches)');
$r = $t->request('GET', '/api/analytics/jobs?model_name=m&limit=1', token => $user);
is($r->{json}{total}, 1202, 'file: every record upserted');
$r = $t->request('POST', '/api/ingest/init', token => $user,
    json => { source_type => 'job_metadata', filename => 'jobs.csv', file_type => 'csv', file_size => 10 });
problem_ok($r, 422, 'invalid-field', 'file: csv is not job metadata');
like($r->{content}, qr/file_type/, 'file: names file_type');
$r = $t->request('POST', '/api/ingest/init', token => $user,
    json => { source_type => 'ml', filename => 'a.json', file_type => 'json', file_size => 10 });
problem_ok($r, 422, 'invalid-field', 'file: unknown source_type');

# ---- the parameters, each named
my @bad_q = (
    [ 'cost/by-model?start=2026-13-01', 'start' ],
    [ 'cost/by-model?start=2026-02-30', 'start' ],
    [ 'cost/by-model?start=20260101', 'start' ],
    [ 'cost/by-team?end=yesterday', 'end' ],
    [ 'cost/by-team?start=2026-01-10&end=2026-01-09', 'end' ],
    [ 'cost/by-team?start=2025-01-01&end=2026-01-02', 'end' ],
    [ 'cost/by-team?start=2026-01-01&start=2026-01-02', 'start' ],
    [ 'cost/by-model?from=2026-01-01', 'from' ],
    [ 'jobs?limit=0', 'limit' ],
    [ 'jobs?limit=101', 'limit' ],
    [ 'jobs?skip=-1', 'skip' ],
    [ 'jobs?skip=1&offset=1', 'skip' ],
    [ 'jobs?status=exploded', 'status' ],
    [ 'jobs?team=', 'team' ],
    [ 'jobs?colour=red', 'colour' ],
);
for my $q (@bad_q) {
    $r = $t->request('GET', "/api/analytics/$q->[0]", token => $user);
    problem_ok($r, 422, 'invalid-field', $q->[0]);
    like($r->{content}, qr/"$q->[1]"/, "$q->[0]: names $q->[1]");
}
for my $q ('cost/by-model?start=%zz', 'jobs?team=%zz') {
    $r = $t->request('GET', "/api/analytics/$q", token => $user);
    problem_ok($r, 422, 'invalid-field', "$q: not %-encoded");
    ok($r->{json}, "$q: one problem document, nothing after it");
}
$r = $t->request('GET', '/api/analytics/cost/by-model', token => $user);
unlike($r->{content}, qr/\d\.\d{3}/, 'amounts are written to the cent, not as 17-digit doubles');
$r = $t->request('GET', '/api/analytics/cost/by-team?start=2025-01-14&end=2026-01-14', token => $user);
is($r->{status}, 200, 'a range of exactly 366 days is fine');

# ---- another tenant sees none of it
for my $path ('cost/by-model', 'cost/by-team', 'jobs') {
    $r = $t->request('GET', "/api/analytics/$path", token => $other);
    is($r->{status}, 200, "other tenant: $path 200");
    ok(!@{ $r->{json}{results} // $r->{json}{jobs} // [1] }, "other tenant: $path empty");
}
is($t->request('GET', '/api/analytics/cost/by-model', token => $other)->{json}{total_cost_usd}, 0,
    'other tenant: total 0');
is($t->request('GET', "/api/ingest/status/$load->{job_id}/results", token => $other)->{status}, 404,
    "other tenant: the load's results are not found");
# its own load stays its own
$r = $t->request('POST', '/api/admin/ingest/jobs/mock', token => $other);
ingestion_done($t, $other, $r->{json}{job_id});
is($t->request('GET', '/api/analytics/jobs', token => $other)->{json}{total}, 30, 'other tenant: its own 30 jobs');
is($t->request('GET', '/api/analytics/jobs?model_name=m', token => $other)->{json}{total}, 0,
    "other tenant: none of acme's");

$t->teardown;

# ---- with IngestTenantEnv, httpd's own access control decides who is an
# admin: IngestTenantEnvAdmin On where it is (here an <If>, in real life a
# <Location "/api/admin/"> with Require)
{
    my $e = IngestTest->new(extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n"
        . "IngestMockDataset \"\@TESTDIR\@/mock_jobs.json\"\nSetEnvIf X-Tenant \"^([a-z]+)\$\" TEST_TENANT=\$1\n"
        . "<Location /api/>\n  IngestTenantEnv TEST_TENANT\n</Location>\n"
        . "<Location /api/admin/>\n  <If \"%{HTTP:X-Admin} == 'yes'\">\n    IngestTenantEnvAdmin On\n  </If>\n</Location>\n");
    my $r2 = $e->request('POST', '/api/admin/ingest/jobs/mock', headers => { 'X-Tenant' => 'initech' });
    problem_ok($r2, 403, 'forbidden', 'IngestTenantEnv identity where IngestTenantEnvAdmin is Off');
    $r2 = $e->request('POST', '/api/admin/ingest/jobs/mock', headers => { 'X-Tenant' => 'initech', 'X-Admin' => 'yes' });
    is($r2->{status}, 202, 'IngestTenantEnv identity where IngestTenantEnvAdmin is On: 202') or diag $r2->{content};
    is($r2->{json}{tenant_id}, 'initech', "loaded into the identity's tenant");
    $e->teardown;
}
done_testing;
