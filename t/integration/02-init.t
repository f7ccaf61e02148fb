#!/usr/bin/perl
# POST /api/ingest/init: creation, every validation error, body limits,
# content types, idempotency, and that bad input changes nothing.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(problem_ok);
use POSIX qw(_exit);
use Time::HiRes qw(time);

my $t = IngestTest->new;
my $tok = $t->token('acme', 'alice');
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

sub rows { $t->psql("SELECT count(*) FROM ingest_jobs") }
sub init { my ($body, %o) = @_; $t->request('POST', '/api/ingest/init', token => $tok, %o, (ref $body ? (json => $body) : (body => $body, headers => { 'Content-Type' => 'application/json', %{ $o{headers} // {} } }))) }

# ---- success
my $t0 = time;
my $r = init({ filename => 'report.csv', file_type => 'csv', file_size => 2048 });
is($r->{status}, 201, 'init answers 201');
my $j = $r->{json};
like($j->{job_id}, $UUID, 'job_id is a uuid');
is($j->{status}, 'pending', 'status pending');
is($j->{filename}, 'report.csv', 'filename echoed');
is($j->{file_type}, 'csv', 'file_type echoed');
is($j->{file_size}, 2048, 'file_size echoed');
is($j->{source_type}, 'file_upload', 'source_type file_upload');
is($j->{priority}, 'MEDIUM', 'priority defaults to MEDIUM');
is($j->{progress}, 0, 'progress 0');
is($j->{status_url}, "/api/ingest/status/$j->{job_id}", 'status_url');
is($r->{headers}{location}, $j->{status_url}, 'Location header is the status URL');
like($j->{upload_url}, qr{^/api/ingest/upload/\Q$j->{job_id}\E\?expires=(\d+)&sig=[A-Za-z0-9_-]{43}$}, 'presigned upload_url');
my ($exp) = $j->{upload_url} =~ /expires=(\d+)/;
cmp_ok(abs($exp - ($t0 + 3600)), '<', 30, 'upload URL expires in IngestUploadTTL (1 h)');
like($j->{expires_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'expires_at is RFC 3339 UTC');
like($j->{created_at}, qr/Z$/, 'created_at in UTC');
is($t->psql("SELECT status || ' ' || tenant_id || ' ' || user_id FROM ingest_jobs WHERE job_id = '$j->{job_id}'"),
    'pending acme alice', 'the row is committed with tenant and user');

for my $ft (qw(csv json ndjson xml pdf xlsx txt log)) {
    is(init({ filename => "f.$ft", file_type => $ft, file_size => 0 })->{status}, 201, "file_type $ft accepted");
}
is(init({ filename => 'résumé 2024 😀.csv', file_type => 'csv', file_size => 1 })->{status}, 201, 'UTF-8 filename accepted');
is(init({ filename => 'x' x 255, file_type => 'csv', file_size => 1 })->{status}, 201, '255-byte filename accepted');
is(init({ filename => 'big.csv', file_type => 'csv', file_size => 1073741824 })->{status}, 201, 'file_size at IngestMaxUploadSize accepted');
is(init('{"filename":"a.csv","file_type":"csv","file_size":1}', headers => { 'Content-Type' => 'application/json; charset=utf-8' })->{status},
    201, 'Content-Type with charset accepted');

# ---- validation: 422 naming the field, nothing written
my $before = rows();
my @bad = (
    [{ file_type => 'csv', file_size => 1 }, 'filename', 'missing filename'],
    [{ filename => '', file_type => 'csv', file_size => 1 }, 'filename', 'empty filename'],
    [{ filename => 'x' x 256, file_type => 'csv', file_size => 1 }, 'filename', '256-byte filename'],
    [{ filename => 'a/b.csv', file_type => 'csv', file_size => 1 }, 'filename', 'slash in filename'],
    [{ filename => 'a\\b.csv', file_type => 'csv', file_size => 1 }, 'filename', 'backslash in filename'],
    [{ filename => "a\tb.csv", file_type => 'csv', file_size => 1 }, 'filename', 'control character in filename'],
    [{ filename => "a\x{85}b.csv", file_type => 'csv', file_size => 1 }, 'filename', 'C1 control in filename'],
    [{ filename => 42, file_type => 'csv', file_size => 1 }, 'filename', 'numeric filename'],
    [{ filename => 'a.csv', file_size => 1 }, 'file_type', 'missing file_type'],
    [{ filename => 'a.csv', file_type => 'exe', file_size => 1 }, 'file_type', 'unknown file_type'],
    [{ filename => 'a.csv', file_type => 'CSV', file_size => 1 }, 'file_type', 'file_type is case-sensitive'],
    [{ filename => 'a.csv', file_type => 'csv' }, 'file_size', 'missing file_size'],
    [{ filename => 'a.csv', file_type => 'csv', file_size => -1 }, 'file_size', 'negative file_size'],
    [{ filename => 'a.csv', file_type => 'csv', file_size => 1.5 }, 'file_size', 'fractional file_size'],
    [{ filename => 'a.csv', file_type => 'csv', file_size => '10' }, 'file_size', 'string file_size'],
    [{ filename => 'a.csv', file_type => 'csv', file_size => 1073741825 }, 'file_size', 'file_size over IngestMaxUploadSize'],
    [{ filename => 'a.csv', file_type => 'csv', file_size => 1, priority => 'HIGH' }, 'priority', 'unknown field'],
);
for my $b (@bad) {
    my ($body, $field, $name) = @$b;
    my $res = init($body);
    problem_ok($res, 422, 'invalid-field', $name);
    is($res->{json}{field}, $field, "$name: names field $field");
}
$r = init([1, 2]);
problem_ok($r, 422, 'invalid-field', 'array body');
ok(!defined $r->{json}{field}, 'array body: no field named');

# ---- malformed JSON: 400 with jansson's line and column
$r = init("{\n  \"filename\": }");
problem_ok($r, 400, 'malformed-json', 'malformed JSON');
is($r->{json}{line}, 2, 'line of the error');
ok($r->{json}{column} > 0, 'column of the error');
like($r->{json}{detail}, qr/line 2, column \d+/, 'detail names line and column');
problem_ok(init(''), 400, 'malformed-json', 'empty body');
problem_ok(init('{"filename":"a","filename":"b","file_type":"csv","file_size":1}'), 400, 'malformed-json', 'duplicate keys');
problem_ok(init(qq({"filename":"\xff.csv","file_type":"csv","file_size":1})), 400, 'malformed-json', 'invalid UTF-8');
problem_ok(init('{"filename":"a\\u0000b","file_type":"csv","file_size":1}'), 400, 'malformed-json', 'NUL escape');

# ---- content type
problem_ok(init('{}', headers => { 'Content-Type' => 'text/plain' }), 415, 'unsupported-media-type', 'text/plain');
$r = $t->request('POST', '/api/ingest/init', token => $tok, body => '{}');
problem_ok($r, 415, 'unsupported-media-type', 'no Content-Type');
problem_ok(init('{}', headers => { 'Content-Type' => 'application/jsonx' }), 415, 'unsupported-media-type', 'application/jsonx');

# ---- body size: IngestMaxBodySize defaults to 1 MiB
my $pad = 'x' x (1024 * 1024);
$r = init(qq({"filename":"a.csv","file_type":"csv","file_size":1,"pad":"$pad"}));
problem_ok($r, 413, 'body-too-large', 'body over 1 MiB with Content-Length');
my @chunks = (('{"filename":"a.csv","pad":"'), ('y' x 65536) x 20, '"}');
$r = $t->request('POST', '/api/ingest/init', token => $tok, headers => { 'Content-Type' => 'application/json' },
    body => sub { shift @chunks });
problem_ok($r, 413, 'body-too-large', 'chunked body over 1 MiB');
my ($st, $resp) = $t->raw("POST /api/ingest/init HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $tok\r\n"
    . "Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{", 1);
is($st, 413, 'announced oversize body refused before it is sent');
my $small = '{"filename":"a.csv","file_type":"csv","file_size":1,"pad":"' . ('z' x (1024 * 1024 - 80)) . '"}';
cmp_ok(length $small, '<=', 1024 * 1024, 'a body just under the limit...');
is(init($small)->{json}{field}, 'pad', '...is read and validated (422 for the unknown field)');

is(rows(), $before, 'no rejected request created a row');

# ---- idempotency
my %h = ('Idempotency-Key' => 'order-42');
my $a = init({ filename => 'same.csv', file_type => 'csv', file_size => 5 }, headers => \%h);
is($a->{status}, 201, 'first use of a key: 201');
my $b = init({ filename => 'same.csv', file_type => 'csv', file_size => 5 }, headers => \%h);
is($b->{status}, 200, 'retry with the same key: 200');
is($b->{json}{job_id}, $a->{json}{job_id}, 'retry returns the same job');
is($b->{json}{upload_url}, $a->{json}{upload_url}, 'and the same upload URL');
$r = init({ filename => 'other.csv', file_type => 'csv', file_size => 5 }, headers => \%h);
problem_ok($r, 422, 'idempotency-key-reused', 'same key, different request');
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE idempotency_key = 'order-42'"), 1, 'one job for the key');
$r = init({ filename => 'k.csv', file_type => 'csv', file_size => 5 }, headers => { 'Idempotency-Key' => 'k' x 256 });
problem_ok($r, 422, 'invalid-field', 'overlong Idempotency-Key');
is($r->{json}{field}, 'Idempotency-Key', 'names the header');

# concurrent first uses of one key: one job, every answer names it
my $n = 8;
my @pids;
pipe(my $rd, my $wr) or die $!;
for (1 .. $n) {
    my $pid = fork // die $!;
    if (!$pid) {
        close $rd;
        my $res = init({ filename => 'race.csv', file_type => 'csv', file_size => 9 }, headers => { 'Idempotency-Key' => 'race' });
        syswrite $wr, "$res->{status} " . ($res->{json}{job_id} // '-') . "\n";
        _exit(0);
    }
    push @pids, $pid;
}
close $wr;
my @answers = <$rd>;
waitpid $_, 0 for @pids;
chomp @answers;
is(scalar @answers, $n, "$n concurrent requests answered");
my %ids = map { (split ' ')[1] => 1 } @answers;
is(scalar keys %ids, 1, 'all name the same job');
is(scalar(grep { /^201 / } @answers), 1, 'exactly one 201');
is(scalar(grep { /^200 / } @answers), $n - 1, 'the others 200');
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE idempotency_key = 'race'"), 1, 'one row');

# ---- routing
$r = $t->request('GET', '/api/ingest/init', token => $tok);
problem_ok($r, 405, 'method-not-allowed', 'GET on init');
is($r->{headers}{allow}, 'POST', 'Allow: POST');
$r = $t->request('PUT', '/api/ingest/init', token => $tok);
is($r->{headers}{allow}, 'POST', 'a literal route is not taken for a job id');
problem_ok($t->request('GET', '/api/ingest/nope', token => $tok), 404, 'no-route', 'unknown route');
problem_ok($t->request('GET', '/api/other', token => $tok), 404, 'no-route', 'unknown route outside ingest');
problem_ok($t->request('POST', '/api/ingest/init/', token => $tok, json => {}), 404, 'no-route', 'trailing slash');

done_testing;
