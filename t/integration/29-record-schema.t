#!/usr/bin/perl
# A job's record schema (POST /api/ingest/init "schema"): refused with the
# member at fault when malformed; applied by the parse processor to every
# record (CSV strings converted to the declared types, required fields,
# "additional": false); a record that does not fit fails the job naming
# its line, record and field, and lands nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use HTTP::Tiny;

my $t = IngestTest->new(extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n");
my $tok = $t->token('acme', 'alice');
my $schema = { fields => { id => { type => 'integer', required => JSON::PP::true }, price => { type => 'number' },
    day => { type => 'date' }, paid => { type => 'boolean' } }, additional => JSON::PP::false };

# A job with $schema, $body uploaded; its status once it has ended.
sub run_job {
    my ($name, $body) = @_;
    my $r = $t->request('POST', '/api/ingest/init', token => $tok,
        json => { filename => "$name.csv", file_type => 'csv', file_size => length $body, schema => $schema });
    is($r->{status}, 201, "$name: created with a schema") or diag $r->{content};
    my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($r->{json}{upload_url}), { content => $body });
    is($res->{status}, 200, "$name: uploaded");
    my $job;
    ok(wait_until("$name to end", 60, sub {
        $job = $t->request('GET', "/api/ingest/status/$r->{json}{job_id}", token => $tok)->{json};
        ($job->{status} // '') =~ /^(completed|failed)$/ }), "$name: ended");
    return $job;
}

my $job = run_job('typed', "id,price,day,paid\n1,12.50,2026-01-02,TRUE\n2,3,,false\n");
is($job->{status}, 'completed', 'typed rows complete') or diag explain $job;
my $r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records", token => $tok);
is_deeply([ map { $_->{data} } @{ $r->{json}{records} } ], [
    { id => 1, price => 12.5, day => '2026-01-02', paid => JSON::PP::true },
    { id => 2, price => 3, day => undef, paid => JSON::PP::false },
], '... each value converted to its declared type (an empty field: null)');

$job = run_job('bad-number', "id,price,day,paid\n1,1,2026-01-02,true\n2,abc,2026-01-02,true\n");
is($job->{status}, 'failed', 'a value that does not convert fails the job');
is($job->{error}, 'line 3: record 2: price must be a number', '... naming the line, the record and the field');
ok(wait_until('its records swept', 30, sub {
    $t->psql("SELECT count(*) FROM ingest_records WHERE job_id = '$job->{job_id}'") == 0 }), '... landing nothing');

$job = run_job('missing-id', "id,price,day,paid\n,1,2026-01-02,true\n");
is($job->{error}, 'line 2: record 1: id is required', 'a required field left empty fails it');
$job = run_job('extra', "id,price,day,paid,note\n1,1,2026-01-02,true,x\n");
is($job->{error}, 'line 2: record 1: note is not in the schema', 'a column the schema does not allow fails it');

for (
    [ { fields => { price => { type => 'money' } } }, 'schema.fields.price.type',
        'must be one of string, integer, number, boolean, date, timestamp' ],
    [ { fields => {} }, 'schema.fields', 'must be an object of at least one field' ],
    [ 'x', 'schema', 'must be an object with fields' ],
) {
    my ($bad, $field, $detail) = @$_;
    my $before = $t->psql('SELECT count(*) FROM ingest_jobs');
    $r = $t->request('POST', '/api/ingest/init', token => $tok,
        json => { filename => 'x.csv', file_type => 'csv', file_size => 10, schema => $bad });
    problem_ok($r, 422, 'invalid-field', "schema refused at $field");
    is($r->{json}{field}, $field, "... naming $field");
    is($r->{json}{detail}, "$field $detail", "... $detail");
    is($t->psql('SELECT count(*) FROM ingest_jobs'), $before, '... and no job created');
}

done_testing;
