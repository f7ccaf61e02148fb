#!/usr/bin/perl
# IngestAPIProfile: the seeds' own clients, unchanged, in the configuration
# the docs show (seed000 on /api/ingest/, seed001 on /api/job(s), seed002
# on /ingest, /status and /health, seed003 on /api/v1/). Each seed's
# requests as its document shows them, checked field by field; seed 000's
# flow end to end (pending -> processing -> completed with result_data,
# list, stats, delete); seed 002's flow to completed with results; the
# profiles' errors; another tenant 404 in every profile; the native API
# beside them unchanged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);

my $TOP = "$FindBin::Bin/../..";
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

my $t = IngestTest->new(extra => <<"EOC");
IngestProcessor simulate
IngestSimulateDelay 5s 5s
IngestSimulateDuration 3s
IngestSimulateFailureRate 0
IngestSimulateSuccessRate 1
IngestBatchSize 2
IngestWorkerInterval 100ms
IngestJWTAdminClaim role admin
IngestMockDataset "\@TESTDIR\@/mock_jobs.json"
<Location /api/ingest/>
    IngestAPIProfile seed000
</Location>
<LocationMatch "^/api/jobs?(/|\$)">
    SetHandler ingest
    IngestAPIProfile seed001
</LocationMatch>
<LocationMatch "^/(ingest|status|health)(/|\$)">
    SetHandler ingest
    IngestAPIProfile seed002
    IngestJWTSecret test-secret-0123456789abcdef
</LocationMatch>
<Location /api/v1/>
    IngestAPIProfile seed003
</Location>
EOC
my $tok = $t->token('acme', 'alice', role => 'admin');
my $other = $t->token('globex', 'bob');

sub req { my ($m, $path, %o) = @_; return $t->request($m, $path, token => $tok, %o) }

sub json_ok {
    my ($r, $status, $name) = @_;
    is($r->{status}, $status, "$name: $status") or diag $r->{content};
    like($r->{headers}{'content-type'} // '', qr{^application/json}, "$name: application/json");
    return $r->{json} // {};
}

# ====================================================================== seed000
{
    my $r = req('POST', '/api/ingest/init', json => { filename => 'project_data.csv', file_type => 'csv', file_size => 2048000 });
    my $b = json_ok($r, 201, 'seed000 init');
    is($b->{success}, JSON::PP::true, 'seed000 init: success true');
    is($b->{message}, 'Upload initiated successfully', 'seed000 init: message');
    is_deeply([ sort keys %{ $b->{data} } ], [qw(expires_at job_id status upload_url)], 'seed000 init: data members');
    like($b->{data}{job_id}, $UUID, 'seed000 init: data.job_id');
    is($b->{data}{status}, 'pending', 'seed000 init: data.status pending (queued, in the seed\'s words)');
    my $id = $b->{data}{job_id};

    $b = json_ok(req('GET', "/api/ingest/status/$id"), 200, 'seed000 status');
    is($b->{success}, JSON::PP::true, 'seed000 status: success');
    is($b->{data}{job}{job_id}, $id, 'seed000 status: data.job.job_id');
    is($b->{data}{job}{filename}, 'project_data.csv', 'seed000 status: data.job.filename');
    is($b->{data}{job}{status}, 'pending', 'seed000 status: pending at first');
    my %seen;
    my $job;
    wait_until('seed000 job completed', 60, sub {
        $job = json_ok(req('GET', "/api/ingest/status/$id"), 200, 'seed000 poll')->{data}{job} // {};
        $seen{ $job->{status} // '' } = 1;
        ($job->{status} // '') eq 'completed';
    }, 0.25);
    ok($seen{processing}, 'seed000 flow: processing seen on the way (running, in the seed\'s words)');
    is($job->{status}, 'completed', 'seed000 flow: completed');
    ok(ref $job->{result_data} eq 'HASH' && defined $job->{result_data}{rows_processed},
        'seed000 flow: result_data with rows_processed');
    like($job->{started_processing_at} // '', $ISO, 'seed000 flow: started_processing_at');
    like($job->{completed_at} // '', $ISO, 'seed000 flow: completed_at');
    ok(exists $job->{error_message}, 'seed000 flow: error_message');

    $b = json_ok(req('GET', '/api/ingest/jobs'), 200, 'seed000 jobs');
    is($b->{success}, JSON::PP::true, 'seed000 jobs: success');
    is($b->{data}{count}, 1, 'seed000 jobs: data.count');
    is($b->{data}{jobs}[0]{job_id}, $id, 'seed000 jobs: data.jobs');
    is($b->{data}{jobs}[0]{status}, 'completed', 'seed000 jobs: status in the seed\'s words');

    req('POST', '/api/ingest/init', json => { filename => 'second.csv', file_type => 'csv', file_size => 10 });
    $b = json_ok(req('GET', '/api/ingest/stats'), 200, 'seed000 stats');
    is_deeply($b->{data}{stats}, { total => 2, pending => 1, processing => 0, completed => 1, failed => 0 },
        'seed000 stats: data.stats in the seed\'s five counts');

    # errors: {"success": false, "message"} with the native codes
    $r = req('POST', '/api/ingest/init', json => { filename => 'x.csv', file_type => 'exe', file_size => 1 });
    $b = json_ok($r, 422, 'seed000 bad file_type');
    is($b->{success}, JSON::PP::false, 'seed000 error: success false');
    like($b->{message} // '', qr/file_type/, 'seed000 error: message names the field');
    $b = json_ok($t->request('GET', "/api/ingest/status/$id", token => $other), 404, 'seed000 other tenant');
    is_deeply($b, { success => JSON::PP::false, message => 'no such job' }, 'seed000 other tenant: not found');
    $b = json_ok($t->request('GET', '/api/ingest/stats'), 401, 'seed000 no token');
    is($b->{success}, JSON::PP::false, 'seed000 401: success false');

    $b = json_ok(req('DELETE', "/api/ingest/$id"), 200, 'seed000 delete');
    is_deeply($b, { success => JSON::PP::true, message => 'Job deleted successfully' }, 'seed000 delete: envelope');
    is(req('GET', "/api/ingest/status/$id")->{status}, 404, 'seed000 delete: gone');
}

# ================================================================ the callback
{
    # seed 000's pipelines say processing: the callback takes it as running
    my $n = IngestTest->new(extra => "IngestCallbackAuth none\nIngestProcessor external\n")
        ->expect_log(qr/IG00002/);
    my $nt = $n->token('acme', 'alice');
    my $id = $n->init_job($nt)->{job_id};
    wait_until('handed over', 10, sub { $n->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'") eq 'running' });
    my $r = $n->request('POST', '/api/pipeline/callback', json => { job_id => $id, status => 'processing' });
    is($r->{status}, 200, 'callback: processing accepted as running') or diag $r->{content};
    $r = $n->request('POST', '/api/pipeline/callback',
        json => { job_id => $id, status => 'completed', result_data => { rows_processed => 5000 } });
    is($r->{status}, 200, 'callback: completed');
    is($n->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'"), 'completed', 'callback: the job completed');
    $n->teardown;
}

# ====================================================================== seed001
{
    my $id = json_ok(req('POST', '/api/ingest/init', json => { filename => 's1.csv', file_type => 'csv', file_size => 5 }),
        201, 'seed001 setup')->{data}{job_id};
    my $b = json_ok(req('GET', "/api/job/$id"), 200, 'seed001 job');
    is_deeply([ sort keys %$b ], [qw(completed_at error job_id records_processed started_at status submitted_at)],
        'seed001 job: exactly the seed\'s members');
    is($b->{job_id}, $id, 'seed001 job: job_id');
    is($b->{status}, 'queued', 'seed001 job: queued');
    like($b->{submitted_at}, $ISO, 'seed001 job: submitted_at');
    is($b->{records_processed}, 0, 'seed001 job: records_processed');

    $b = json_ok(req('GET', '/api/jobs?limit=2&offset=0'), 200, 'seed001 jobs');
    is_deeply([ sort keys %$b ], [qw(limit offset results)], 'seed001 jobs: results, offset, limit');
    is($b->{limit}, 2, 'seed001 jobs: limit');
    is($b->{offset}, 0, 'seed001 jobs: offset');
    is(scalar @{ $b->{results} }, 2, 'seed001 jobs: two results');
    is_deeply([ sort keys %{ $b->{results}[0] } ], [qw(completed_at job_id records_processed status submitted_at)],
        'seed001 jobs: the seed\'s members per result');
    $b = json_ok(req('GET', '/api/jobs?status=completed'), 200, 'seed001 jobs by status');
    ok(!grep({ $_->{status} ne 'completed' } @{ $b->{results} }), 'seed001 jobs: status filter');

    $b = json_ok(req('GET', '/api/jobs?limit=101'), 422, 'seed001 limit over 100');
    is($b->{detail}[0]{loc}[0], 'query', 'seed001 422: FastAPI loc query');
    is($b->{detail}[0]{loc}[1], 'limit', 'seed001 422: names limit');
    ok($b->{detail}[0]{msg}, 'seed001 422: msg');
    $b = json_ok($t->request('GET', "/api/job/$id", token => $other), 404, 'seed001 other tenant');
    is_deeply($b, { detail => 'Job not found' }, 'seed001 404: {"detail": "Job not found"}');
    json_ok(req('GET', '/api/job/00000000-0000-4000-8000-000000000000'), 404, 'seed001 unknown job');
}

# ====================================================================== seed002
{
    my $body = { mappings => [ map { { id => "map_00$_", source => "source_system_$_", target => "target_system_$_",
        ($_ == 1 ? (transformation => { field1 => 'value1' }) : ()) } } 1 .. 3 ], priority => 'HIGH' };
    my $b = json_ok(req('POST', '/ingest', json => $body), 200, 'seed002 ingest');
    is_deeply([ sort keys %$b ], [qw(message request_id status)], 'seed002 ingest: request_id, status, message');
    like($b->{request_id}, $UUID, 'seed002 ingest: request_id');
    is($b->{status}, 'pending', 'seed002 ingest: pending');
    my $id = $b->{request_id};
    my $s;
    wait_until('seed002 completed', 30, sub {
        $s = json_ok(req('GET', "/status/$id"), 200, 'seed002 poll');
        ($s->{status} // '') eq 'completed';
    }, 0.25);
    is_deeply([ sort keys %$s ],
        [qw(details failed_mappings processed_mappings progress request_id status total_mappings)],
        'seed002 status: the seed\'s members');
    is($s->{status}, 'completed', 'seed002 flow: completed');
    is($s->{total_mappings}, 3, 'seed002 status: total_mappings');
    is($s->{processed_mappings}, 3, 'seed002 status: processed_mappings');
    is($s->{failed_mappings}, 0, 'seed002 status: failed_mappings');
    is($s->{progress}, 100, 'seed002 status: progress');
    $b = json_ok(req('GET', "/status/$id/results"), 200, 'seed002 results');
    is_deeply([ sort keys %$b ], [qw(failed_mappings processed_mappings request_id results status total_mappings)],
        'seed002 results: the seed\'s members');
    is($b->{status}, 'completed', 'seed002 results: status');
    is(scalar @{ $b->{results} }, 3, 'seed002 results: every mapping');
    is($b->{results}[0]{id}, 'map_001', 'seed002 results: a mapping\'s result');

    $b = json_ok(req('GET', '/health'), 200, 'seed002 health');
    is($b->{status}, 'healthy', 'seed002 health: healthy');
    like($b->{timestamp}, $ISO, 'seed002 health: timestamp');
    ok(defined $b->{active_requests}, 'seed002 health: active_requests');

    $b = json_ok(req('POST', '/ingest', json => { mappings => [ { id => 'a', source => 's' } ], priority => 'HIGH' }),
        422, 'seed002 missing target');
    is_deeply($b->{detail}[0]{loc}, [ 'body', 'mappings[0].target' ], 'seed002 422: loc names the field');
    $b = json_ok(req('POST', '/ingest', body => '{"mappings": [', headers => { 'Content-Type' => 'application/json' }),
        400, 'seed002 malformed JSON');
    ok(defined $b->{detail} && !ref $b->{detail}, 'seed002 400: {"detail": "..."}');
    $b = json_ok($t->request('GET', "/status/$id", token => $other), 404, 'seed002 other tenant');
    is_deeply($b, { detail => 'Request not found' }, 'seed002 404');
    json_ok($t->request('GET', "/status/$id/results", token => $other), 404, 'seed002 other tenant results');
}

# ====================================================================== seed003
{
    my $r = req('POST', '/api/v1/admin/ingest/jobs/mock');
    is($r->{status}, 202, 'seed003 mock load') or diag $r->{content};
    my $lid = $r->{json}{job_id};
    wait_until('seed003 load', 30, sub { $t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$lid'") eq 'completed' });
    my $b = json_ok(req('GET', '/api/v1/jobs?skip=0&limit=10'), 200, 'seed003 jobs');
    is_deeply([ sort keys %$b ], [qw(has_more jobs limit skip total)], 'seed003 jobs: jobs, total, skip, limit, has_more');
    is($b->{total}, 30, 'seed003 jobs: total');
    ok($b->{has_more}, 'seed003 jobs: has_more');
    $b = json_ok(req('GET', '/api/v1/jobs?team_id=recsys&status=completed&provider=aws'), 200, 'seed003 filters');
    ok(!grep({ $_->{team} ne 'recsys' || $_->{provider} ne 'aws' || $_->{status} ne 'completed' } @{ $b->{jobs} }),
        'seed003 filters: team_id, status, provider');
    for my $dim (qw(by-model by-team)) {
        $b = json_ok(req('GET', "/api/v1/analytics/cost/$dim?start=2026-01-01&end=2026-01-14"), 200, "seed003 $dim");
        is($b->{currency}, 'USD', "seed003 $dim: currency");
        ok(@{ $b->{results} }, "seed003 $dim: results");
        is(json_ok($t->request('GET', "/api/v1/analytics/cost/$dim", token => $other), 200, "seed003 $dim other")
            ->{total_cost_usd}, 0, "seed003 $dim: another tenant sees nothing");
    }
    $b = json_ok(req('GET', '/api/v1/analytics/cost/by-model?start=2026-13-01'), 422, 'seed003 bad date');
    is_deeply($b->{detail}[0]{loc}, [ 'query', 'start' ], 'seed003 422: names start');
    $b = json_ok($t->request('POST', '/api/v1/admin/ingest/jobs/mock', token => $other), 403, 'seed003 non-admin');
    ok(defined $b->{detail}, 'seed003 403: {"detail": ...}');
    is(json_ok($t->request('GET', '/api/v1/jobs', token => $other), 200, 'seed003 other tenant jobs')->{total}, 0,
        'seed003: another tenant sees none');
}

# ===================================================== native beside them
{
    # seed 002's ^/(ingest|status|health)(/|$) covers the dashboard's
    # /ingest/ too: what is none of its routes but a file is httpd's to serve
    my $r = $t->request('GET', '/ingest/');
    is($r->{status}, 200, 'the dashboard at /ingest/ beside seed002') or diag $r->{content};
    like($r->{headers}{'content-type'} // '', qr{^text/html}, 'the dashboard: text/html');
    $r = $t->request('GET', '/ingest/app.js');
    is($r->{status}, 200, 'the dashboard: its modules');
    $r = $t->request('GET', '/status/nope');
    is_deeply($r->{json}, { detail => 'Request not found' }, 'seed002: a path that is no file and no route: 404');

    $r = req('GET', '/api/analytics/jobs?limit=1');
    is($r->{status}, 200, 'native: /api/analytics/ unchanged');
    ok(!exists $r->{json}{success}, 'native: no seed envelope');
    $r = req('GET', '/api/nowhere');
    is($r->{status}, 404, 'native: unknown path 404');
    like($r->{headers}{'content-type'}, qr{^application/problem\+json}, 'native: problem+json');
    $r = req('GET', '/api/ingest/nowhere');
    is($r->{status}, 404, 'seed000: unknown path 404');
    is($r->{json}{success}, JSON::PP::false, 'seed000: in its envelope');
}

$t->teardown;
done_testing;
