#!/usr/bin/perl
# The records of parsed files land in PostgreSQL (ingest_records) and are
# read back through GET /api/ingest/status/{id}/records: equal to the input
# for CSV (quoted fields, a line break inside quotes, UTF-8, an empty field,
# CRLF), JSON, NDJSON, text and POST /api/ingest/json; seq and line; paging
# to the end across several COPY batches; the query's validation; another
# tenant's 404; a re-run replacing what an earlier run left; a failed
# parse and DELETE leaving no records once the worker has swept them.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);

my $t = IngestTest->new(extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n");
my $acme = $t->token('acme', 'alice');
my $globex = $t->token('globex', 'bob');

# Every record of a job, through pages of $limit (bounded).
sub all_records {
    my ($tok, $id, $limit) = @_;
    my (@all, $after, $pages);
    for ($pages = 1; $pages < 1000; $pages++) {
        my $r = $t->request('GET', "/api/ingest/status/$id/records?limit=$limit" . (defined $after ? "&after=$after" : ''),
            token => $tok);
        return (undef, $pages) unless $r->{status} == 200;
        push @all, @{ $r->{json}{records} };
        return (\@all, $pages) unless $r->{json}{has_more};
        $after = $r->{json}{next_after};
    }
    return (\@all, $pages);
}

sub stored { $t->psql("SELECT count(*) FROM ingest_records WHERE job_id = '$_[0]'") }

# ---- CSV: quoting, a line break inside quotes, UTF-8, an empty field, CRLF
my $csv = "id,name,note\r\n1,\"Smith, Ann\",\"said \"\"hi\"\"\"\r\n2,Zoë,\"two\nlines\"\r\n3,,\r\n";
utf8::encode($csv);
my $job = $t->upload_parsed($acme, 'people', 'csv', $csv);
is($job->{status}, 'completed', 'a CSV completes') or diag explain $job;
my $r0 = my $r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records", token => $acme);
is($r->{status}, 200, 'its records are read back');
is_deeply($r->{json}{records}, [
    { seq => 1, line => 2, data => { id => '1', name => 'Smith, Ann', note => 'said "hi"' } },
    { seq => 2, line => 3, data => { id => '2', name => 'Zoë', note => "two\nlines" } },
    { seq => 3, line => 5, data => { id => '3', name => '', note => '' } },
], '... each row an object keyed by the header, with its seq and the line it begins on');
is($r->{json}{has_more}, JSON::PP::false, '... no more');
is($r->{json}{next_after}, 3, '... next_after is the last seq');
is($r->{json}{records_committed}, 3, '... all three committed');
is($r->{json}{status}, 'completed', "... with the job's status");
is($job->{records_processed}, 3, 'records_processed counts them');
is($job->{result_url}, "/api/ingest/status/$job->{job_id}/records.ndjson", 'result_url is the NDJSON export');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records.ndjson", token => $acme);
is($r->{status}, 200, 'the NDJSON export answers');
like($r->{headers}{'content-type'} // '', qr{^application/x-ndjson}, '... as application/x-ndjson');
is($r->{headers}{'content-disposition'}, 'attachment; filename="people.csv.records.ndjson"', '... named after the file');
is_deeply([ map { $IngestTest::JSON->decode($_) } split /\n/, $r->{content} ],
    [ map { $_->{data} } @{ $r0->{json}{records} } ], '... one line per record, the same data');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records.csv", token => $acme);
is($r->{status}, 200, 'the CSV export answers');
like($r->{headers}{'content-type'} // '', qr{^text/csv}, '... as text/csv');
is($r->{headers}{'content-disposition'}, 'attachment; filename="people.csv.records.csv"', '... named after the file');
(my $lf = $csv) =~ s/\r\n/\n/g;
is($r->{content}, $lf, '... equal to the uploaded file, line ends aside (a round trip)');

# ---- JSON: elements whole, nested values and numbers as they are
my $json = '[{"a":1,"b":{"c":[1,2.5,"x"]},"d":null},' . "\n" . '{"a":2,"e":true,"s":"\u00e9\"q"}]';
$job = $t->upload_parsed($acme, 'nested', 'json', $json);
is($job->{status}, 'completed', 'a JSON array completes') or diag explain $job;
my ($all) = all_records($acme, $job->{job_id}, 100);
is_deeply($all, [
    { seq => 1, line => 1, data => { a => 1, b => { c => [1, 2.5, 'x'] }, d => undef } },
    { seq => 2, line => 2, data => { a => 2, e => JSON::PP::true, s => "é\"q" } },
], '... every element whole, where it begins');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records.csv", token => $acme);
my $want = qq(a,b,d,e,s\n1,"{""c"": [1, 2.5, ""x""]}",,,\n2,,,true,"\x{e9}""q"\n);
utf8::encode($want);
is($r->{content}, $want, '... as CSV: the keys in the order first seen, nested values as JSON text');

# ---- NDJSON with blank lines; text with CRLF and no final line feed
$job = $t->upload_parsed($acme, 'events', 'ndjson', qq({"n":1}\n\n{"n":2,"tags":["a"]}\n   \n{"n":3}));
is($job->{status}, 'completed', 'NDJSON completes') or diag explain $job;
($all) = all_records($acme, $job->{job_id}, 100);
is_deeply([ map { [ $_->{seq}, $_->{line}, $_->{data} ] } @$all ],
    [ [ 1, 1, { n => 1 } ], [ 2, 3, { n => 2, tags => ['a'] } ], [ 3, 5, { n => 3 } ] ],
    '... one record per line that is not blank');
$job = $t->upload_parsed($acme, 'access', 'log', "GET / 200\r\n\r\nPOST /x 500");
is($job->{status}, 'completed', 'a log completes') or diag explain $job;
($all) = all_records($acme, $job->{job_id}, 100);
is_deeply([ map { [ $_->{seq}, $_->{line}, $_->{data} ] } @$all ],
    [ [ 1, 1, { line => 'GET / 200' } ], [ 2, 2, { line => '' } ], [ 3, 3, { line => 'POST /x 500' } ] ],
    '... every line a record {"line": ...}');
is($t->request('GET', "/api/ingest/status/$job->{job_id}/records.csv", token => $acme)->{content},
    "line\nGET / 200\n\nPOST /x 500\n", '... as CSV: one column, line');

# ---- POST /api/ingest/json: the records land the same way
$r = $t->request('POST', '/api/ingest/json', token => $acme,
    json => { records => [ { sku => 'A-1', qty => 3 }, { sku => 'B-2', qty => 0 } ] });
is($r->{status}, 202, 'a JSON ingest is accepted') or diag $r->{content};
my $jid = $r->{json}{job_id};
ok(wait_until('the JSON ingest', 60, sub { ($t->job_outcome($jid))[0] =~ /^(completed|failed)/ }), '... and ends');
($all) = all_records($acme, $jid, 100);
is_deeply([ map { $_->{data} } @{ $all // [] } ], [ { sku => 'A-1', qty => 3 }, { sku => 'B-2', qty => 0 } ],
    '... its records are the posted ones');

# ---- 25,000 rows: several COPY batches, paged to the end
my $big = "id,v\n" . join('', map { "$_,v$_\n" } 1 .. 25_000);
$job = $t->upload_parsed($acme, 'big', 'csv', $big);
is($job->{status}, 'completed', '25,000 rows complete') or diag explain $job;
is(stored($job->{job_id}), 25_000, '... 25,000 records stored');
my $pages;
($all, $pages) = all_records($acme, $job->{job_id}, 1000);
is(scalar @{ $all // [] }, 25_000, '... all read back in pages of 1000');
is($pages, 25, '... in 25 pages');
is_deeply([ grep { $all->[$_]{seq} != $_ + 1 || $all->[$_]{data}{v} ne 'v' . ($_ + 1) } 0 .. $#$all ], [],
    '... in order, each equal to its row');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records.ndjson", token => $acme);
my @lines = split /\n/, $r->{content};
is(scalar @lines, 25_000, 'its NDJSON export has 25,000 lines (25 pieces)');
is_deeply([ grep { $IngestTest::JSON->decode($lines[$_])->{v} ne 'v' . ($_ + 1) } 0 .. $#lines ], [],
    '... in order');
is(substr($r->{content}, -1), "\n", '... each ended by a line feed');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records?after=24999&limit=5", token => $acme);
is_deeply([ map { $_->{seq} } @{ $r->{json}{records} } ], [25_000], 'after= starts past a seq');
$r = $t->request('GET', "/api/ingest/status/$job->{job_id}/records?after=25000", token => $acme);
is_deeply([ $r->{json}{records}, $r->{json}{next_after}, $r->{json}{has_more} ], [ [], undef, JSON::PP::false ],
    '... past the end: an empty page');
my $big_id = $job->{job_id};

# ---- validation and isolation
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records?limit=0", token => $acme), 422, 'invalid-field',
    'limit=0');
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records?limit=1001", token => $acme), 422, 'invalid-field',
    'limit=1001');
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records?after=-1", token => $acme), 422, 'invalid-field',
    'after=-1');
$r = $t->request('GET', "/api/ingest/status/$big_id/records?page=2", token => $acme);
problem_ok($r, 422, 'invalid-field', 'an unknown parameter');
like($r->{json}{detail} // '', qr/expected limit, after/, '... naming what is allowed');
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records", token => $globex), 404, undef,
    "another tenant's job");
problem_ok($t->request('GET', '/api/ingest/status/00000000-0000-7000-8000-000000000000/records', token => $acme),
    404, undef, 'a job that does not exist');
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records.ndjson", token => $globex), 404, undef,
    "another tenant's export");
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records.ndjson?x=1", token => $acme), 422, 'invalid-field',
    'the export with a query parameter');

# ---- a re-run replaces what an earlier run left (here: rows put there by hand)
my $init = $t->init_job($acme, filename => 'again.csv', file_type => 'csv', file_size => 12);
$t->psql("INSERT INTO ingest_records (job_id, seq, line, tenant_id, data) SELECT '$init->{job_id}', n, n, 'acme',"
    . " '{\"stale\": true}' FROM generate_series(1, 7) n");
my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($init->{upload_url}),
    { headers => { 'Content-Type' => 'application/octet-stream' }, content => "k\nnew1\nnew2\n" });
is($res->{status}, 200, 'a job with stale records uploaded');
ok(wait_until('the re-run', 60, sub { ($t->job_outcome($init->{job_id}))[0] =~ /^completed/ }), '... completes');
($all) = all_records($acme, $init->{job_id}, 100);
is_deeply([ map { $_->{data} } @{ $all // [] } ], [ { k => 'new1' }, { k => 'new2' } ],
    '... with its own records only');

# ---- a failed parse keeps none: the bad row comes after a committed batch
my $bad = "id,v\n" . join('', map { "$_,x\n" } 1 .. 120_000) . "oops\n";
$job = $t->upload_parsed($acme, 'broken', 'csv', $bad);
is($job->{status}, 'failed', 'a CSV with a bad row fails');
like($job->{error} // '', qr/^line 120002, column 1: row 120001 has 1 fields, the header has 2/, '... naming the row');
ok(wait_until('the sweep of a failed job', 30, sub { stored($job->{job_id}) == 0 }),
    '... and the records it had committed are removed');
is_deeply($t->request('GET', "/api/ingest/status/$job->{job_id}/records", token => $acme)->{json}{records}, [],
    '... a failed job shows none');

# ---- DELETE: the job goes at once, its records in batches after
is($t->request('DELETE', "/api/ingest/$big_id", token => $acme)->{status}, 204, 'the big job is deleted');
problem_ok($t->request('GET', "/api/ingest/status/$big_id/records", token => $acme), 404, undef,
    'its records are no longer served');
ok(wait_until('the sweep of a deleted job', 30, sub { stored($big_id) == 0 }), '... and are removed');
is($t->psql('SELECT count(*) FROM ingest_records_gone'), 0, '... leaving nothing to sweep');

done_testing;
