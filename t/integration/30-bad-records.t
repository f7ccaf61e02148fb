#!/usr/bin/perl
# Bad records (issue 13): with IngestOnBadRecord skip (here the server's
# setting) or a job's own "on_bad_record": "skip", a CSV row with the wrong
# field count, an NDJSON line that is not an object and a value that does
# not fit the job's schema are stepped over: counted in failed_items, the
# first 1,000 kept and served by GET …/errors (paged, tenant-scoped), the
# good records landed with their own seq, and the job completes. A job's
# "on_bad_record": "fail" overrides the server; IngestMaxBadRecords fails a
# job with more; a re-run replaces the bad records kept; DELETE removes them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use HTTP::Tiny;

my $MAX = 1100;
my $t = IngestTest->new(
    extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\nIngestOnBadRecord skip\nIngestMaxBadRecords $MAX\n");
my $tok = $t->token('acme', 'alice');
my $other = $t->token('globex', 'bob');
my $schema = { fields => { id => { type => 'integer', required => JSON::PP::true }, price => { type => 'number' } } };

sub wait_end {
    my ($id, $name) = @_;
    my $job;
    ok(wait_until("$name to end", 60, sub {
        $job = $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
        ($job->{status} // '') =~ /^(completed|failed)$/ }), "$name: ended");
    return $job;
}

# A file job: init (with %o), upload, wait; the job once ended.
sub file_job {
    my ($name, $type, $body, %o) = @_;
    my $before = delete $o{before_upload};
    my $r = $t->request('POST', '/api/ingest/init', token => $tok,
        json => { filename => "$name.$type", file_type => $type, file_size => length $body, %o });
    is($r->{status}, 201, "$name: created") or diag $r->{content};
    $before->($r->{json}{job_id}) if $before;
    my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($r->{json}{upload_url}), { content => $body });
    is($res->{status}, 200, "$name: uploaded");
    return wait_end($r->{json}{job_id}, $name);
}

sub get_all {
    my ($id, $what, $limit) = @_;
    my (@all, $after, $pages);
    while (1) {
        my $q = "limit=$limit" . (defined $after ? "&after=$after" : '');
        my $r = $t->request('GET', "/api/ingest/status/$id/$what?$q", token => $tok);
        return (undef, $r) unless $r->{status} == 200;
        push @all, @{ $r->{json}{$what} };
        $pages++;
        last unless $r->{json}{has_more};
        $after = $r->{json}{next_after};
    }
    return (\@all, $pages);
}

# --- CSV: wrong field counts and schema failures stepped over ---------------
my $csv = "id,price\n1,2.5\n2\n3,abc\n4,4,4\n,5\n6,6\n";
my $job = file_job('mixed', 'csv', $csv, schema => $schema, on_bad_record => 'skip');
is($job->{status}, 'completed', 'skip: a CSV with bad rows completes') or diag explain $job;
is_deeply([ @$job{qw(processed_items failed_items total_items records_processed)} ], [ 6, 4, 6, 6 ],
    '... processed_items counts every record, failed_items the bad ones');
is($job->{result_data}{records}, 2, '... result_data.records: the records landed');
is($job->{result_data}{bad_records}, 4, '... result_data.bad_records: those stepped over');
my ($recs) = get_all($job->{job_id}, 'records', 100);
is_deeply([ map { [ $_->{seq}, $_->{line}, $_->{data} ] } @$recs ],
    [ [ 1, 2, { id => 1, price => 2.5 } ], [ 6, 7, { id => 6, price => 6 } ] ],
    '... the good records land, each keeping its place among the file\'s records (seq) and its line');
my $r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records", token => $tok);
is($r->{json}{records_committed}, 2, '... records_committed counts the records landed');
my ($errs, $pages) = get_all($job->{job_id}, 'errors', 3);
is($pages, 2, 'GET …/errors pages (limit 3: two pages)');
is_deeply($errs, [
    { seq => 2, line => 3, field => undef, reason => 'row 2 has 1 fields, the header has 2' },
    { seq => 3, line => 4, field => 'price', reason => 'must be a number' },
    { seq => 4, line => 5, field => undef, reason => 'row 4 has 3 fields, the header has 2' },
    { seq => 5, line => 6, field => 'id', reason => 'is required' },
], '... each bad record with its seq, line, field (null: the whole record) and reason');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/errors?limit=2", token => $tok);
is_deeply([ @{ $r->{json} }{qw(job_id status failed_items next_after)} ], [ $job->{job_id}, 'completed', 4, 3 ],
    '... with the job, its status, failed_items and next_after') or diag explain $r->{json};
ok($r->{json}{has_more}, '... and has_more');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/errors?after=5", token => $tok);
is_deeply([ $r->{json}{errors}, $r->{json}{has_more}, $r->{json}{next_after} ], [ [], JSON::PP::false, undef ],
    '... past the last: empty, no next_after');
my $export = $t->request('GET', "/api/ingest/status/$job->{job_id}/records.csv", token => $tok);
is($export->{content}, "id,price\n1,2.5\n6,6\n", 'the CSV export holds the good records only')
    or diag $export->{content};

# --- the errors endpoint's own answers ---------------------------------------
problem_ok($t->request('GET', "/api/ingest/status/$job->{job_id}/errors", token => $other), 404, 'not-found',
    'another tenant: 404');
problem_ok($t->request('GET', "/api/ingest/status/$job->{job_id}/errors?limit=0", token => $tok), 422,
    'invalid-field', 'limit=0: 422');
problem_ok($t->request('GET', "/api/ingest/status/$job->{job_id}/errors?page=2", token => $tok), 422,
    'invalid-field', 'an unknown parameter: 422');
problem_ok($t->request('GET', '/api/ingest/status/00000000-0000-0000-0000-000000000000/errors', token => $tok),
    404, 'not-found', 'no such job: 404');

# --- NDJSON lines that are not objects; the server's skip -------------------
$job = file_job('lines', 'ndjson', qq({"id":1}\n[1]\n{"id":\n\n"x"\n{"id":2}\n));
is($job->{status}, 'completed', 'IngestOnBadRecord skip: a job without on_bad_record steps over bad lines');
is_deeply([ @$job{qw(processed_items failed_items)} ], [ 5, 3 ], '... 2 records, 3 bad');
($errs) = get_all($job->{job_id}, 'errors', 100);
is_deeply([ map { "$_->{seq}\@$_->{line} $_->{reason}" } @$errs ], [
    '2@2 line 2 is not a JSON object',
    "3\@3 malformed JSON: unexpected token near end of file",
    '4@5 line 5 is not a JSON object',
], '... each bad line kept with its reason') or diag explain $errs;

# --- a job's own "fail" overrides the server --------------------------------
$job = file_job('strict', 'csv', "a,b\n1,2\n3\n", on_bad_record => 'fail');
is($job->{status}, 'failed', 'on_bad_record fail: the first bad record fails the job');
is($job->{error}, 'line 3, column 1: row 2 has 1 fields, the header has 2', '... naming it');

# --- POST /api/ingest/json: schema and on_bad_record --------------------------
$r = $t->request('POST', '/api/ingest/json', token => $tok, json => {
    records => [ { id => 1, price => '1.5' }, { id => 'two' }, { id => 3 } ], schema => $schema,
    on_bad_record => 'skip' });
is($r->{status}, 202, 'POST json takes a schema and on_bad_record') or diag $r->{content};
$job = wait_end($r->{json}{job_id}, 'json records');
is_deeply([ @$job{qw(status processed_items failed_items)} ], [ 'completed', 3, 1 ], '... and applies them');
($recs) = get_all($job->{job_id}, 'records', 10);
is_deeply([ map { $_->{data} } @$recs ], [ { id => 1, price => 1.5 }, { id => 3 } ], '... converting types');
($errs) = get_all($job->{job_id}, 'errors', 10);
is_deeply($errs, [ { seq => 2, line => 2, field => 'id', reason => 'must be an integer' } ], '... keeping the bad one');
$r = $t->request('POST', '/api/ingest/json', token => $tok, json => {
    records => [ { id => 'x' } ], schema => $schema, on_bad_record => 'fail' });
$job = wait_end($r->{json}{job_id}, 'json records, fail');
is($job->{error}, 'line 1: record 1: id must be an integer', 'POST json with on_bad_record fail: the job fails');
for (
    [ { mappings => [ { id => 'm', source => 's', target => 't' } ], schema => $schema }, 'schema',
        'is for records, not for mappings or jobs' ],
    [ { mappings => [ { id => 'm', source => 's', target => 't' } ], on_bad_record => 'skip' }, 'on_bad_record',
        'is for records, not for mappings or jobs' ],
    [ { records => [ {} ], on_bad_record => 'ignore' }, 'on_bad_record', 'must be one of fail, skip' ],
    [ { records => [ {} ], schema => { fields => {} } }, 'schema.fields', 'must be an object of at least one field' ],
) {
    my ($body, $field, $detail) = @$_;
    $r = $t->request('POST', '/api/ingest/json', token => $tok, json => $body);
    problem_ok($r, 422, 'invalid-field', "POST json: $field refused ($detail)");
    is_deeply([ @{ $r->{json} }{qw(field detail)} ], [ $field, "$field $detail" ], '... naming it')
        or diag explain $r->{json};
}
$r = $t->request('POST', '/api/ingest/init', token => $tok,
    json => { filename => 'x.csv', file_type => 'csv', file_size => 1, on_bad_record => 1 });
problem_ok($r, 422, 'invalid-field', 'POST init: on_bad_record must be a string');
$r = $t->request('POST', '/api/ingest/init', token => $tok, json => { filename => 'j.json', file_type => 'json',
    file_size => 1, source_type => 'job_metadata', on_bad_record => 'skip' });
problem_ok($r, 422, 'invalid-field', 'POST init: on_bad_record is not for job_metadata');

# --- the first 1,000 kept; IngestMaxBadRecords -------------------------------
my $many = "a,b\n" . ("x\n" x 1005) . "1,2\n";
$job = file_job('many', 'csv', $many);
is_deeply([ @$job{qw(status processed_items failed_items)} ], [ 'completed', 1006, 1005 ],
    '1,005 bad rows: all counted') or diag explain $job;
is($t->psql("SELECT count(*) || ' ' || min(seq) || ' ' || max(seq) FROM ingest_record_errors"
        . " WHERE job_id = '$job->{job_id}'"), '1000 1 1000', '... the first 1,000 kept');
my $many_id = $job->{job_id};
$job = file_job('too-many', 'csv', "a,b\n" . ("x\n" x ($MAX + 1)) . "1,2\n");
is($job->{status}, 'failed', "more than IngestMaxBadRecords ($MAX) fails the job");
is($job->{error}, sprintf('line %d, column 1: more than %d bad records (IngestMaxBadRecords); record %d: row %d has 1 '
        . 'fields, the header has 2', $MAX + 2, $MAX, $MAX + 1, $MAX + 1), '... saying so');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records", token => $tok);
is_deeply($r->{json}{records}, [], '... and keeps no records');

# --- a re-run replaces what an earlier run kept ------------------------------
$job = file_job('rerun', 'csv', "a,b\n1\n2,3\n", before_upload => sub {
    my ($id) = @_;
    # what an earlier run of this job would have left
    $t->psql("INSERT INTO ingest_record_errors (job_id, seq, line, reason) VALUES ('$id', 99, 99, 'stale')");
});
($errs) = get_all($job->{job_id}, 'errors', 10);
is_deeply([ map { $_->{seq} } @$errs ], [ 1 ], 'a run first clears the bad records an earlier run kept');

# --- DELETE removes them ---------------------------------------------------
$r = $t->request('DELETE', "/api/ingest/$many_id", token => $tok);
is($r->{status}, 204, 'DELETE of the job with 1,000 bad records kept');
ok(wait_until('its bad records swept', 30, sub {
    $t->psql("SELECT count(*) FROM ingest_record_errors WHERE job_id = '$many_id'") == 0 }),
    '... removes them with its records');

done_testing;
