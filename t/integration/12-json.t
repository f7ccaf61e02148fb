#!/usr/bin/perl
# POST /api/ingest/json and GET /api/ingest/status/{id}/results: records
# stored as NDJSON and parsed by the worker; mappings processed in batches
# with a simulated external call each (success rates 1, 0 and 0.9); batch
# progress; priority; paging and filtering of per-item results; every
# validation rule naming its field and changing nothing; Idempotency-Key
# replays (also concurrent, and after the job was processed); tenant
# isolation; DELETE taking the stored file and the items along.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use Digest::SHA qw(sha256_hex);
use File::Find qw(find);
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $JSON = $IngestTest::JSON;
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

sub post_json {
    my ($t, $tok, $data, %o) = @_;
    return $t->request('POST', '/api/ingest/json', token => $tok, (ref $data ? (json => $data)
        : (body => $data, headers => { 'Content-Type' => 'application/json' })), %o);
}

sub status_of {
    my ($t, $tok, $id) = @_;
    return $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json} // {};
}

sub terminal {
    my ($t, $id) = @_;
    return $t->psql("SELECT status IN ('completed', 'failed') FROM ingest_jobs WHERE job_id = '$id'") eq 't';
}

# n mappings; every third carries a transformation
sub mappings {
    my ($n, $prefix) = @_;
    $prefix //= 'map';
    return [ map {
        my $m = { id => sprintf('%s_%03d', $prefix, $_), source => "source_system_$_", target => "target_system_$_" };
        $m->{transformation} = { field => "value$_", upper => JSON::PP::true } if $_ % 3 == 0;
        $m
    } 1 .. $n ];
}

# every result of a job, through pages of 100 (bounded)
sub all_results {
    my ($t, $tok, $id, $query) = @_;
    my (@all, $r);
    for (my $off = 0; $off < 100_000; $off += 100) {
        $r = $t->request('GET', "/api/ingest/status/$id/results?limit=100&offset=$off" . ($query ? "&$query" : ''),
            token => $tok);
        return undef unless $r->{status} == 200;
        push @all, @{ $r->{json}{results} };
        last unless $r->{json}{has_more};
    }
    return \@all;
}

sub files_under {
    my ($dir) = @_;
    my @f;
    find(sub { push @f, $File::Find::name if -f $_ }, $dir) if -d $dir;
    return scalar @f;
}

# no error, warning or worse from any module while the block ran
sub log_clean {
    my ($t, $name) = @_;
    my @bad = grep { /\[[a-z_]+:(?:warn|error|crit|alert|emerg)\]/ } split /\n/, $t->error_log;
    is(scalar @bad, 0, "$name: nothing worse than notice in the error_log") or diag join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)];
}

my $sim = "IngestProcessor simulate\nIngestSimulateDuration 0\nIngestWorkerInterval 100ms\n";

# =====================================================================
# One server for records (parsed for real), validation, idempotency and
# tenant isolation.
# =====================================================================
{
    my $common = "IngestWorkerInterval 100ms\nIngestSimulateDuration 0\nIngestMaxBodySize 64K\n";
    my $t = eval { IngestTest->new(extra => "IngestProcessor parse\n$common") };
    my $have_parse = ok($t, 'a server with IngestProcessor parse starts');
    if (!$t) {
        # keep the failure visible, and run the rest without the parse worker
        diag "IngestProcessor parse refused: $@";
        $t = IngestTest->new(extra => $common);
    }
    my $tok = $t->token('acme', 'alice');
    my $storage = "$t->{dir}/storage";

    # ---- records: stored as NDJSON, then parsed
    my @records = (
        { id => 1, name => 'alpha', price => 9.5, tags => [ 'a', 'b' ], active => JSON::PP::true },
        { id => 2, name => 'café ünïcode', meta => { nested => { deep => 1 } }, note => undef },
        { id => 3, name => 'gamma', qty => 0, active => JSON::PP::false },
        map { { id => $_, name => "record $_" } } 4 .. 7,
    );
    my $r = post_json($t, $tok, { records => \@records });
    is($r->{status}, 202, 'records: 202 Accepted') or diag $r->{content};
    my $job = $r->{json} // {};
    my $id = $job->{job_id} // '';
    like($id, $UUID, 'records: a job id');
    is($job->{source_type}, 'json_records', 'records: source_type json_records');
    is($job->{file_type}, 'ndjson', 'records: file_type ndjson');
    is($job->{status}, 'queued', 'records: status queued');
    is($job->{total_items}, scalar @records, 'records: total_items is the record count');
    is($job->{priority}, 'MEDIUM', 'records: priority MEDIUM by default');
    is($job->{tenant_id}, 'acme', 'records: tenant');
    is($job->{user_id}, 'alice', 'records: user');
    is($job->{status_url}, "/api/ingest/status/$id", 'records: status_url');
    ok(!exists $job->{results_url}, 'records: no results_url');
    is($r->{headers}{location}, "/api/ingest/status/$id", 'records: Location is the status URL');

    my $rel = $t->psql("SELECT storage_path FROM ingest_jobs WHERE job_id = '$id'");
    like($rel, qr{^acme/\Q$id\E\.}, "records: stored under the tenant's directory ($rel)");
    my $path = "$storage/$rel";
    ok(-f $path, 'records: the NDJSON file exists');
    my $bytes = do { open my $fh, '<:raw', $path or die "$path: $!"; local $/; <$fh> } // '';
    my @lines = split /\n/, $bytes, -1;
    is(pop(@lines), '', 'records: the file ends with a newline') if @lines;
    is(scalar @lines, scalar @records, 'records: one line per record');
    for my $i (0 .. $#records) {
        is($lines[$i], $JSON->encode($records[$i]), "records: line " . ($i + 1) . " is the compact object");
    }
    is($job->{file_size}, length $bytes, 'records: file_size is the NDJSON size');
    is($job->{content_sha256}, sha256_hex($bytes), 'records: content_sha256 of the NDJSON');

    SKIP: {
        skip 'no parse worker (IngestProcessor parse refused)', 8 unless $have_parse;
        ok(wait_until('records job', 15, sub { terminal($t, $id) }), 'records: the parse worker finished the job');
        my $s = status_of($t, $tok, $id);
        is($s->{status}, 'completed', 'records: completed') or diag "error: " . ($s->{error} // '');
        my $rd = $s->{result_data} // {};
        is($rd->{records}, scalar @records, 'records: result_data.records = N');
        is($rd->{format}, 'ndjson', 'records: result_data.format ndjson');
        is_deeply([ sort @{ $rd->{keys} // [] } ], [ sort { $a cmp $b } keys %{ { map { %$_ } @records } } ],
            'records: result_data.keys is the union of the keys');
        is_deeply($rd->{preview}, [ @records[0 .. 2] ], 'records: a 3-record preview equal to the first three');
        is($s->{processed_items}, scalar @records, 'records: processed_items = N');
        is($s->{progress}, 100, 'records: progress 100');
    }

    # results of a job that has no items: empty, not an error
    $r = $t->request('GET', "/api/ingest/status/$id/results", token => $tok);
    is($r->{status}, 200, 'results of a records job: 200');
    is($r->{json}{total}, 0, 'results of a records job: total 0');
    is_deeply($r->{json}{results}, [], 'results of a records job: no results');
    ok(!$r->{json}{has_more}, 'results of a records job: has_more false');
    my $upload = $t->init_job($tok)->{job_id};
    $r = $t->request('GET', "/api/ingest/status/$upload/results", token => $tok);
    is($r->{status}, 200, 'results of a file-upload job: 200');
    is($r->{json}{total}, 0, 'results of a file-upload job: total 0');

    # ---- mappings: the job and its items
    my $maps = mappings(4);
    $r = post_json($t, $tok, { mappings => $maps, priority => 'HIGH' });
    is($r->{status}, 202, 'mappings: 202 Accepted') or diag $r->{content};
    my $mid = $r->{json}{job_id} // '';
    is($r->{json}{source_type}, 'mappings', 'mappings: source_type mappings');
    is($r->{json}{status}, 'queued', 'mappings: status queued');
    is($r->{json}{total_items}, 4, 'mappings: total_items = count');
    is($r->{json}{priority}, 'HIGH', 'mappings: priority HIGH');
    is($r->{json}{results_url}, "/api/ingest/status/$mid/results", 'mappings: results_url');
    is($r->{headers}{location}, "/api/ingest/status/$mid", 'mappings: Location');
    is($t->psql("SELECT string_agg(idx || '=' || item_id || '/' || source || '/' || target"
        . " || '/' || coalesce(transformation::text, '-'), ' ' ORDER BY idx) FROM ingest_job_items WHERE job_id = '$mid'"),
        '0=map_001/source_system_1/target_system_1/- 1=map_002/source_system_2/target_system_2/- '
        . '2=map_003/source_system_3/target_system_3/{"field": "value3", "upper": true} '
        . '3=map_004/source_system_4/target_system_4/-',
        'mappings: one row per mapping, in order, as submitted');
    $r = post_json($t, $tok, { mappings => mappings(2) });
    is($r->{json}{priority}, 'MEDIUM', 'mappings: priority MEDIUM by default');

    # ---- tenant isolation
    my $bob = $t->token('other', 'bob');
    problem_ok($t->request('GET', "/api/ingest/status/$mid", token => $bob), 404, 'not-found',
        'status of another tenant\'s mappings job');
    problem_ok($t->request('GET', "/api/ingest/status/$mid/results", token => $bob), 404, 'not-found',
        'results of another tenant\'s mappings job');
    problem_ok($t->request('GET', "/api/ingest/status/$mid/results?status=failed&limit=5", token => $bob), 404,
        'not-found', 'filtered results of another tenant\'s job');
    problem_ok($t->request('GET', "/api/ingest/status/$id/results", token => $bob), 404, 'not-found',
        'results of another tenant\'s records job');
    problem_ok($t->request('GET', '/api/ingest/status/00000000-0000-4000-8000-000000000000/results', token => $tok), 404,
        'not-found', 'results of an unknown job');
    is($t->request('GET', '/api/ingest/jobs', token => $bob)->{json}{total}, 0, 'the other tenant lists no jobs');
    is($t->request('GET', "/api/ingest/status/$mid/results", token => $tok)->{status}, 200,
        'the owner still sees the results');
    problem_ok($t->request('GET', "/api/ingest/status/$mid/results"), 401, 'unauthorized', 'results without a token');

    # ---- validation: 422 naming the field; nothing is created
    my $tv = $t->token('val', 'v');
    my $counts = sub {
        join ' ', $t->psql("SELECT count(*) FROM ingest_jobs"), $t->psql("SELECT count(*) FROM ingest_job_items"),
            files_under($storage);
    };
    my $before = $counts->();
    my $ok = { id => 'a', source => 's', target => 't' };
    my @cases = (
        [ 'empty object (neither key)', {}, undef ],
        [ 'both records and mappings', { records => [ {} ], mappings => [$ok] }, undef ],
        [ 'body is an array', [ { records => [ {} ] } ], undef ],
        [ 'unknown top-level member', { mappings => [$ok], extra => 1 }, 'extra' ],
        [ 'bad priority', { mappings => [$ok], priority => 'URGENT' }, 'priority' ],
        [ 'priority not a string', { mappings => [$ok], priority => 1 }, 'priority' ],
        [ 'mappings empty', { mappings => [] }, 'mappings' ],
        [ 'mappings not an array', { mappings => $ok }, 'mappings' ],
        [ 'mapping not an object', { mappings => [ $ok, 'x' ] }, 'mappings[1]' ],
        [ 'source missing', { mappings => [ { id => 'a', target => 't' } ] }, 'mappings[0].source' ],
        [ 'target missing', { mappings => [ $ok, { id => 'b', source => 's' } ] }, 'mappings[1].target' ],
        [ 'id missing', { mappings => [ { source => 's', target => 't' } ] }, 'mappings[0].id' ],
        [ 'id not a string', { mappings => [ { %$ok, id => 7 } ] }, 'mappings[0].id' ],
        [ 'id empty', { mappings => [ { %$ok, id => '' } ] }, 'mappings[0].id' ],
        [ 'id too long', { mappings => [ { %$ok, id => 'i' x 256 } ] }, 'mappings[0].id' ],
        [ 'target not a string', { mappings => [ { %$ok, target => 42 } ] }, 'mappings[0].target' ],
        [ 'source with a control character', { mappings => [ { %$ok, source => "a\tb" } ] }, 'mappings[0].source' ],
        [ 'source too long', { mappings => [ { %$ok, source => 's' x 1025 } ] }, 'mappings[0].source' ],
        [ 'duplicate id', { mappings => [ $ok, { %$ok, id => 'b' }, { %$ok } ] }, 'mappings[2].id' ],
        [ 'unknown mapping member', { mappings => [ $ok, { %$ok, id => 'b', foo => 1 } ] }, 'mappings[1].foo' ],
        [ 'transformation not an object', { mappings => [ { %$ok, transformation => 'upper' } ] },
            'mappings[0].transformation' ],
        [ 'records empty', { records => [] }, 'records' ],
        [ 'records not an array', { records => { a => 1 } }, 'records' ],
        [ 'record not an object', { records => [ { a => 1 }, 5 ] }, 'records[1]' ],
        [ 'record is an array', { records => [ [1] ] }, 'records[0]' ],
    );
    for my $c (@cases) {
        my ($name, $body, $field) = @$c;
        $r = post_json($t, $tv, $body);
        problem_ok($r, 422, 'invalid-field', $name);
        is($r->{json}{field}, $field, "$name: field " . ($field // '(none)'));
    }
    is($counts->(), $before, 'no invalid body created a job, an item or a file (jobs items files)');
    is(post_json($t, $tv, { mappings => [ { %$ok, id => 'i' x 255, source => 's' x 1024 } ] })->{status}, 202,
        'an id of 255 and a source of 1024 characters are accepted');
    $before = $counts->();
    my $r400 = post_json($t, $tv, '{"mappings": [ {"id": "a", "source": "s", "target": "t"} ');
    problem_ok($r400, 400, 'malformed-json', 'truncated JSON');
    like($r400->{json}{detail} // '', qr/line \d+, column \d+/, 'malformed JSON: line and column');
    problem_ok(post_json($t, $tv, '{"records": [{"a": 1}], "records": [{"b": 2}]}'), 400, 'malformed-json',
        'duplicate keys');
    problem_ok(post_json($t, $tv, ''), 400, 'malformed-json', 'empty body');
    problem_ok($t->request('POST', '/api/ingest/json', token => $tv, body => '{"records":[{"a":1}]}',
        headers => { 'Content-Type' => 'text/plain' }), 415, 'unsupported-media-type', 'text/plain');
    problem_ok($t->request('POST', '/api/ingest/json', token => $tv, body => '{"records":[{"a":1}]}'), 415,
        'unsupported-media-type', 'no Content-Type');
    problem_ok(post_json($t, $tv, { records => [ { pad => 'x' x (65 * 1024) } ] }), 413, 'body-too-large',
        'records over IngestMaxBodySize (64K)');
    problem_ok(post_json($t, $tv, { mappings => [ map { { %$ok, id => "m$_", source => 's' x 1000 } } 1 .. 70 ] }),
        413, 'body-too-large', 'mappings over IngestMaxBodySize (64K)');
    problem_ok(post_json($t, $tv, { mappings => [$ok] }, headers => { 'Idempotency-Key' => 'k' x 256 }), 422,
        'invalid-field', 'overlong Idempotency-Key');
    problem_ok(post_json($t, undef, { mappings => [$ok] }), 401, 'unauthorized', 'no token');
    $r = $t->request('GET', '/api/ingest/json', token => $tv);
    problem_ok($r, 405, 'method-not-allowed', 'GET on /api/ingest/json');
    is($r->{headers}{allow}, 'POST', 'Allow: POST');
    is($counts->(), $before, 'no rejected request created a job, an item or a file (jobs items files)');

    # ---- Idempotency-Key: records
    my $ti = $t->token('idem', 'i');
    my $idem_files = sub { files_under("$storage/idem") };
    my %k1 = ('Idempotency-Key' => 'rec-1');
    my $body = { records => [ { a => 1 }, { a => 2 }, { a => 3 } ] };
    my $first = post_json($t, $ti, $body, headers => \%k1);
    is($first->{status}, 202, 'records with a key: 202');
    my $again = post_json($t, $ti, $body, headers => \%k1);
    is($again->{status}, 200, 'records replay: 200');
    is($again->{json}{job_id}, $first->{json}{job_id}, 'records replay: the same job');
    is($again->{json}{status_url}, $first->{json}{status_url}, 'records replay: the same status_url');
    is($again->{headers}{location}, $first->{headers}{location}, 'records replay: the same Location');
    is($idem_files->(), 1, 'records replay: no second file is kept');
    $r = post_json($t, $ti, { records => [ { a => 1 }, { a => 2 } ] }, headers => \%k1);
    problem_ok($r, 422, 'idempotency-key-reused', 'records: same key, different count');
    $r = post_json($t, $ti, { mappings => mappings(3) }, headers => \%k1);
    problem_ok($r, 422, 'idempotency-key-reused', 'same key, mappings instead of records');
    is($idem_files->(), 1, 'refused reuses leave no file behind');
    is($t->psql("SELECT count(*) FROM ingest_job_items i JOIN ingest_jobs j USING (job_id) WHERE j.tenant_id = 'idem'"), 0,
        'refused reuses leave no items behind');

    # ---- Idempotency-Key: mappings
    my %k2 = ('Idempotency-Key' => 'map-1');
    $first = post_json($t, $ti, { mappings => mappings(6), priority => 'LOW' }, headers => \%k2);
    is($first->{status}, 202, 'mappings with a key: 202');
    $again = post_json($t, $ti, { mappings => mappings(6), priority => 'LOW' }, headers => \%k2);
    is($again->{status}, 200, 'mappings replay: 200');
    is($again->{json}{job_id}, $first->{json}{job_id}, 'mappings replay: the same job');
    is($again->{json}{results_url}, $first->{json}{results_url}, 'mappings replay: the same results_url');
    my $fid = $first->{json}{job_id} // '';
    is($t->psql("SELECT count(*) FROM ingest_job_items WHERE job_id = '$fid'"), 6, 'mappings replay: still 6 items');
    $r = post_json($t, $ti, { mappings => mappings(7) }, headers => \%k2);
    problem_ok($r, 422, 'idempotency-key-reused', 'mappings: same key, different count');
    my $changed = mappings(6);
    $changed->[5]{target} = 'somewhere.else';
    $r = post_json($t, $ti, { mappings => $changed, priority => 'LOW' }, headers => \%k2);
    problem_ok($r, 422, 'idempotency-key-reused', 'mappings: same key, same count, a different mapping');
    $r = post_json($t, $ti, { records => [ map { { n => $_ } } 1 .. 6 ] }, headers => \%k2);
    problem_ok($r, 422, 'idempotency-key-reused', 'same key, records instead of mappings (same count)');
    my $init = $t->init_job($ti, headers => { 'Idempotency-Key' => 'init-1' });
    $r = post_json($t, $ti, { records => [ { a => 1 } ] }, headers => { 'Idempotency-Key' => 'init-1' });
    problem_ok($r, 422, 'idempotency-key-reused', 'a key first used by /init');
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'idem'"), 3, 'tenant idem: three jobs in all');
    is($t->psql("SELECT count(*) FROM ingest_job_items i JOIN ingest_jobs j USING (job_id) WHERE j.tenant_id = 'idem'"), 6,
        'tenant idem: six items in all');
    is($idem_files->(), 1, 'tenant idem: one file in all');
    $r = post_json($t, $t->token('idem2', 'x'), { mappings => mappings(6) }, headers => \%k2);
    is($r->{status}, 202, 'the same key in another tenant is another job');
    isnt($r->{json}{job_id}, $fid, '...with its own id');

    # ---- concurrent first uses of one key: one job, one set of items, one file
    for my $kind (qw(mappings records)) {
        my $n = 8;
        my $data = $kind eq 'mappings' ? { mappings => mappings(9) } : { records => [ map { { r => $_ } } 1 .. 9 ] };
        my $key = "race-$kind";
        my @pids;
        pipe(my $rd, my $wr) or die $!;
        for (1 .. $n) {
            my $pid = fork // die $!;
            if (!$pid) {
                close $rd;
                my $res = post_json($t, $t->token('race', 'r'), $data, headers => { 'Idempotency-Key' => $key });
                syswrite $wr, "$res->{status} " . ($res->{json}{job_id} // '-') . "\n";
                _exit(0);
            }
            push @pids, $pid;
        }
        close $wr;
        my @answers = <$rd>;
        close $rd;
        waitpid $_, 0 for @pids;
        chomp @answers;
        my %ids = map { (split ' ')[1] => 1 } @answers;
        is(scalar @answers, $n, "$kind race: $n answers");
        is(scalar keys %ids, 1, "$kind race: all name the same job") or diag "@answers";
        is(scalar(grep { /^202 / } @answers), 1, "$kind race: exactly one 202");
        is(scalar(grep { /^200 / } @answers), $n - 1, "$kind race: the others 200");
        is($t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'race' AND idempotency_key = '$key'"), 1,
            "$kind race: one job");
    }
    is($t->psql("SELECT count(*) FROM ingest_job_items i JOIN ingest_jobs j USING (job_id) WHERE j.tenant_id = 'race'"), 9,
        'mappings race: one set of 9 items');
    is(files_under("$storage/race"), 1, 'records race: one file kept');

    # ---- DELETE: the stored NDJSON and the items go with the job
    problem_ok($t->request('DELETE', "/api/ingest/$id", token => $bob), 404, 'not-found',
        'another tenant cannot delete the records job');
    ok(-f $path, '...and its file is still there');
    is($t->request('DELETE', "/api/ingest/$id", token => $tok)->{status}, 204, 'delete the records job: 204');
    ok(!-e $path, 'the NDJSON file is removed with its job');
    is($t->request('DELETE', "/api/ingest/$mid", token => $tok)->{status}, 204, 'delete the mappings job: 204');
    is($t->psql("SELECT count(*) FROM ingest_job_items WHERE job_id = '$mid'"), 0, 'its items are removed');
    problem_ok($t->request('GET', "/api/ingest/status/$mid/results", token => $tok), 404, 'not-found',
        'results of a deleted job');
    log_clean($t, 'records/validation server');
}

# =====================================================================
# Mappings, every call succeeds
# =====================================================================
{
    my $t = IngestTest->new(extra => "$sim\nIngestSimulateSuccessRate 1\nIngestSimulateFailureRate 0\n");
    my $tok = $t->token('ok', 'u');
    my $maps = mappings(12);
    my $r = post_json($t, $tok, { mappings => $maps, priority => 'HIGH' });
    is($r->{status}, 202, 'success rate 1: 202');
    my $id = $r->{json}{job_id} // '';
    ok(wait_until('mappings job', 15, sub { terminal($t, $id) }), 'success rate 1: the job finished');
    my $s = status_of($t, $tok, $id);
    is($s->{status}, 'completed', 'success rate 1: completed');
    is($s->{failed_items}, 0, 'success rate 1: failed_items 0');
    is($s->{processed_items}, 12, 'success rate 1: processed_items 12');
    is($s->{total_items}, 12, 'success rate 1: total_items 12');
    is($s->{progress}, 100, 'success rate 1: progress 100');
    ok(!defined $s->{error}, 'success rate 1: no error');
    ok($s->{completed_at}, 'success rate 1: completed_at');
    is_deeply($s->{result_data}, { mappings => 12, succeeded => 12, failed => 0,
        results_url => "/api/ingest/status/$id/results" }, 'success rate 1: result_data');
    my $res = all_results($t, $tok, $id) // [];
    is(scalar @$res, 12, 'success rate 1: 12 results');
    is(scalar(grep { $_->{status} eq 'success' } @$res), 12, 'success rate 1: all success');
    is(scalar(grep { defined $_->{error} } @$res), 0, 'success rate 1: no errors');
    is(scalar(grep { $_->{processed_at} } @$res), 12, 'success rate 1: every result has processed_at');
    is_deeply([ map { $_->{index} } @$res ], [ 0 .. 11 ], 'success rate 1: ordered by index');
    is_deeply([ map { { id => $_->{id}, source => $_->{source}, target => $_->{target},
        (defined $_->{transformation} ? (transformation => $_->{transformation}) : ()) } } @$res ], $maps,
        'success rate 1: id, source, target, transformation as submitted');
    ok(exists $res->[0]{transformation} && !defined $res->[0]{transformation}, 'no transformation: null');
    my $bad = $t->psql("SELECT string_agg(coalesce(from_status::text, '-') || '>' || to_status, ' ' ORDER BY id)"
        . " FROM ingest_job_transitions WHERE job_id = '$id'");
    is($bad, '->queued queued>running running>completed', 'success rate 1: queued -> running -> completed, once');

    # ---- a client's retry that arrives after the job was processed is
    # still a replay (the simulate processor handles records jobs here)
    for my $kind (qw(records mappings)) {
        my %k = ('Idempotency-Key' => "late-$kind");
        my $data = $kind eq 'records' ? { records => [ map { { n => $_ } } 1 .. 5 ] } : { mappings => mappings(5) };
        my $first = post_json($t, $tok, $data, headers => \%k);
        is($first->{status}, 202, "late retry ($kind): first request 202");
        my $jid = $first->{json}{job_id} // '';
        ok(wait_until("$kind job", 15, sub { terminal($t, $jid) }), "late retry ($kind): the job was processed");
        my $again = post_json($t, $tok, $data, headers => \%k);
        is($again->{status}, 200, "late retry ($kind): the same request after processing is a replay (200)")
            or diag "got $again->{status}: $again->{content}\njob now: "
            . $t->psql("SELECT status || ', total_items ' || total_items || ', result_data ' || coalesce(result_data::text, '-')"
            . " FROM ingest_jobs WHERE job_id = '$jid'");
        is($again->{json}{job_id}, $jid, "late retry ($kind): the same job");
    }
    log_clean($t, 'success rate 1');
}

# =====================================================================
# Mappings, every call fails
# =====================================================================
{
    my $t = IngestTest->new(extra => "$sim\nIngestSimulateSuccessRate 0\n");
    my $tok = $t->token('bad', 'u');
    my $maps = mappings(7);
    my $r = post_json($t, $tok, { mappings => $maps });
    my $id = $r->{json}{job_id} // '';
    ok(wait_until('mappings job', 15, sub { terminal($t, $id) }), 'success rate 0: the job finished');
    my $s = status_of($t, $tok, $id);
    is($s->{status}, 'failed', 'success rate 0: failed');
    like($s->{error} // '', qr/all \d+ mappings failed/, 'success rate 0: error says all mappings failed');
    is($s->{error}, 'all 7 mappings failed', 'success rate 0: the error counts them');
    is($s->{failed_items}, 7, 'success rate 0: failed_items 7');
    is($s->{processed_items}, 7, 'success rate 0: processed_items 7');
    is_deeply($s->{result_data}, { mappings => 7, succeeded => 0, failed => 7,
        results_url => "/api/ingest/status/$id/results" }, 'success rate 0: result_data');
    my $res = all_results($t, $tok, $id) // [];
    is(scalar(grep { $_->{status} eq 'failed' } @$res), 7, 'success rate 0: all 7 results failed');
    is(scalar(grep { index($_->{error} // '', $_->{target}) >= 0 } @$res), 7,
        'success rate 0: every error names the mapping\'s target');
    diag "a failed mapping's error: " . ($res->[0]{error} // '(none)');
    log_clean($t, 'success rate 0');
}

# =====================================================================
# Mappings at 0.9: a realistic mix; paging and filtering of results
# =====================================================================
{
    my $t = IngestTest->new(extra => "$sim\nIngestSimulateSuccessRate 0.9\n");
    my $tok = $t->token('mix', 'u');
    my $r = post_json($t, $tok, { mappings => mappings(200) });
    is($r->{status}, 202, '200 mappings: 202');
    my $id = $r->{json}{job_id} // '';
    my $r23 = post_json($t, $tok, { mappings => mappings(23, 'p') });
    my $id23 = $r23->{json}{job_id} // '';
    ok(wait_until('200 mappings', 30, sub { terminal($t, $id) && terminal($t, $id23) }), 'the two jobs finished');
    my $s = status_of($t, $tok, $id);
    is($s->{status}, 'completed', '0.9: completed');
    my $failed = $s->{failed_items} // -1;
    diag "0.9 success rate: $failed of 200 mappings failed";
    ok($failed >= 1 && $failed <= 60, "0.9: failed_items between 1 and 60 ($failed)");
    is($s->{processed_items}, 200, '0.9: processed_items 200');
    is($s->{result_data}{succeeded}, 200 - $failed, '0.9: result_data.succeeded');
    is($s->{result_data}{failed}, $failed, '0.9: result_data.failed');
    my %tot;
    for my $st (qw(success failed pending)) {
        my $x = $t->request('GET', "/api/ingest/status/$id/results?status=$st&limit=1", token => $tok);
        $tot{$st} = $x->{json}{total};
    }
    is($tot{success} + $tot{failed}, 200, "0.9: success + failed results = 200 ($tot{success} + $tot{failed})");
    is($tot{pending}, 0, '0.9: none pending');
    is($tot{failed}, $failed, '0.9: status=failed total = failed_items');
    my $fres = all_results($t, $tok, $id, 'status=failed') // [];
    is(scalar @$fres, $failed, '0.9: paging through status=failed yields failed_items results');
    is(scalar(grep { $_->{status} eq 'failed' && defined $_->{error} } @$fres), $failed,
        '0.9: each filtered result failed, with an error');
    is_deeply([ map { $_->{index} } @$fres ], [ sort { $a <=> $b } map { $_->{index} } @$fres ],
        '0.9: filtered results in index order');
    is($t->psql("SELECT count(DISTINCT processed_at) FROM ingest_job_items WHERE job_id = '$id'"), 40,
        '0.9: processed in 40 batches of 5 (default IngestBatchSize)');

    # ---- paging over 23 results
    my @pages;
    for my $off (0, 10, 20) {
        my $p = $t->request('GET', "/api/ingest/status/$id23/results?limit=10&offset=$off", token => $tok);
        is($p->{status}, 200, "page offset $off: 200");
        push @pages, $p->{json};
    }
    is_deeply([ map { scalar @{ $_->{results} } } @pages ], [ 10, 10, 3 ], 'limit 10: pages of 10, 10, 3');
    is_deeply([ map { $_->{has_more} ? 1 : 0 } @pages ], [ 1, 1, 0 ], 'has_more true, true, false');
    is_deeply([ map { $_->{total} } @pages ], [ 23, 23, 23 ], 'total 23 on every page');
    is_deeply([ map { $_->{limit} . '/' . $_->{offset} } @pages ], [ '10/0', '10/10', '10/20' ], 'limit and offset echoed');
    is($pages[0]{job_id}, $id23, 'job_id echoed');
    is_deeply([ map { $_->{index} } map { @{ $_->{results} } } @pages ], [ 0 .. 22 ], 'ordered by index, no gaps');
    is_deeply([ map { $_->{id} } map { @{ $_->{results} } } @pages ], [ map { sprintf 'p_%03d', $_ } 1 .. 23 ],
        'ids in submission order');
    my @keys = sort keys %{ $pages[0]{results}[0] // {} };
    is_deeply(\@keys, [ sort qw(index id source target transformation status error processed_at) ], 'result members');
    my $p = $t->request('GET', "/api/ingest/status/$id23/results", token => $tok)->{json};
    is(scalar @{ $p->{results} }, 20, 'default limit 20');
    is($p->{limit}, 20, 'default limit echoed');
    ok($p->{has_more}, 'default page: has_more');
    for my $off (23, 1000) {
        $p = $t->request('GET', "/api/ingest/status/$id23/results?offset=$off", token => $tok);
        is($p->{status}, 200, "offset $off (past the end): 200");
        is_deeply($p->{json}{results}, [], "offset $off: no results");
        is($p->{json}{total}, 23, "offset $off: total still 23");
        ok(!$p->{json}{has_more}, "offset $off: has_more false");
    }
    my $s23 = status_of($t, $tok, $id23);
    $p = $t->request('GET', "/api/ingest/status/$id23/results?status=failed&limit=100", token => $tok)->{json};
    is($p->{total}, $s23->{failed_items}, "status=failed total = failed_items ($s23->{failed_items})");
    $p = $t->request('GET', "/api/ingest/status/$id23/results?status=success&limit=100", token => $tok)->{json};
    is($p->{total}, 23 - $s23->{failed_items}, 'status=success total = 23 - failed_items');
    is(scalar(grep { $_->{status} ne 'success' } @{ $p->{results} }), 0, 'status=success: only successes');
    for my $c ([ 'limit=0', 'limit' ], [ 'limit=101', 'limit' ], [ 'limit=abc', 'limit' ], [ 'offset=-1', 'offset' ],
        [ 'status=bogus', 'status' ], [ 'status=completed', 'status' ], [ 'foo=1', 'foo' ],
        [ 'limit=10&page=2', 'page' ], [ 'limit=5&limit=6', 'limit' ]) {
        my $x = $t->request('GET', "/api/ingest/status/$id23/results?$c->[0]", token => $tok);
        problem_ok($x, 422, 'invalid-field', "results?$c->[0]");
        is($x->{json}{field}, $c->[1], "results?$c->[0] names $c->[1]");
    }

    # non-mapping jobs have no items; another tenant's job is not found
    my $upload = $t->init_job($tok)->{job_id};
    $p = $t->request('GET', "/api/ingest/status/$upload/results", token => $tok);
    is($p->{status}, 200, 'results of a file job: 200');
    is($p->{json}{total}, 0, 'results of a file job: total 0');
    my $other = $t->token('someone-else', 'x');
    problem_ok($t->request('GET', "/api/ingest/status/$id23/results", token => $other), 404, 'not-found',
        'results of another tenant\'s job');
    problem_ok($t->request('GET', "/api/ingest/status/$id23", token => $other), 404, 'not-found',
        'status of another tenant\'s job');
    log_clean($t, 'success rate 0.9');
}

# =====================================================================
# Batches: IngestBatchSize mappings per step, IngestSimulateDuration apart
# =====================================================================
{
    my $t = IngestTest->new(extra => "IngestProcessor simulate\nIngestSimulateDuration 300ms\nIngestWorkerInterval 100ms\n"
        . "IngestBatchSize 5\nIngestSimulateSuccessRate 1\n");
    my $tok = $t->token('batch', 'u');
    # The last batch waits for an advisory lock this test holds, so the
    # job is seen mid-way whatever the machine's speed.
    $t->psql(<<'SQL');
CREATE FUNCTION hold_last_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.idx >= 15 AND NEW.status <> 'pending' THEN PERFORM pg_advisory_xact_lock(4242); END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hold_last_batch BEFORE UPDATE ON ingest_job_items FOR EACH ROW EXECUTE FUNCTION hold_last_batch();
SQL
    open(my $holder, '|-', 'psql', '-X', '-q', '-h', '127.0.0.1', '-p', $t->{pgport}, '-U', 'ingest', '-d', 'ingest')
        // die "psql: $!";
    print $holder "SELECT pg_advisory_lock(4242);\n";
    $holder->flush;
    ok(wait_until('the advisory lock', 10, sub { $t->psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") > 0 }),
        'batches: the test holds the last batch');
    my $r = post_json($t, $tok, { mappings => mappings(20) });
    my $id = $r->{json}{job_id} // '';
    my $mid;
    ok(wait_until('15 of 20', 20, sub { $mid = status_of($t, $tok, $id); ($mid->{processed_items} // 0) == 15 }),
        'batches: three batches done, the last one held');
    is($mid->{status}, 'running', 'batches: the status endpoint shows the job running mid-way');
    is($mid->{progress}, 75, 'batches: with its progress (15 of 20: 75)');
    print $holder "SELECT pg_advisory_unlock(4242);\n\\q\n";
    close $holder;
    my (@seen, $last);
    my $deadline = time + 20;
    while (time < $deadline) {
        $last = status_of($t, $tok, $id);
        push @seen, [ $last->{status} // '?', $last->{processed_items} // -1, $last->{progress} // -1 ];
        last if ($last->{status} // '') =~ /^(completed|failed)$/;
        sleep 0.05;
    }
    is($last->{status}, 'completed', 'batches: completed');
    my @values = map { $_->[1] } @seen;
    my $grows = 1;
    $grows &&= $values[$_] >= $values[ $_ - 1 ] for 1 .. $#values;
    ok($grows, 'batches: processed_items only grows');
    my %mid = map { $_->[1] => 1 } grep { $_->[0] eq 'running' && $_->[1] > 0 && $_->[1] < 20 } @seen;
    my @mid = sort { $a <=> $b } keys %mid;
    is(scalar(grep { $_ % 5 } @mid), 0, 'batches: every intermediate value seen is a multiple of 5');
    is(scalar(grep { $_->[0] eq 'running' && $_->[2] != int($_->[1] * 100 / 20) } @seen), 0,
        'batches: progress follows processed_items');
    is($t->psql("SELECT count(DISTINCT processed_at) FROM ingest_job_items WHERE job_id = '$id'"), 4,
        'batches: 4 steps of 5');
    my $gap = $t->psql("SELECT min(d) FROM (SELECT extract(epoch FROM processed_at - lag(processed_at) OVER (ORDER BY processed_at))"
        . " AS d FROM (SELECT DISTINCT processed_at FROM ingest_job_items WHERE job_id = '$id') x) y WHERE d IS NOT NULL");
    cmp_ok($gap, '>=', 0.29, "batches: steps are at least IngestSimulateDuration apart (min gap ${gap}s)");
    log_clean($t, 'batches');
}

# =====================================================================
# Priority: a HIGH job submitted after LOW ones is claimed first
# =====================================================================
{
    # no processor while the jobs arrive, so the worker sees them all at once
    my $t = IngestTest->new;
    my $tok = $t->token('prio', 'u');
    my %name;
    for my $j ([ LOW => 'low1' ], [ LOW => 'low2' ], [ MEDIUM => 'medium' ], [ LOW => 'low3' ], [ HIGH => 'high' ]) {
        my $r = post_json($t, $tok, { mappings => mappings(3, $j->[1]), priority => $j->[0] });
        is($r->{status}, 202, "$j->[1] ($j->[0]) accepted");
        $name{ $r->{json}{job_id} // '' } = $j->[1];
        sleep 0.02;
    }
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'queued'"), 5, 'five queued jobs, no worker yet');
    $t->stop_httpd;
    $t->{extra} = "$sim\nIngestSimulateSuccessRate 1\nIngestWorkerBatch 1\n";
    $t->start_httpd;
    ok(wait_until('five jobs', 20, sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'completed'") == 5 }),
        'the five jobs completed');
    my @order = split /\n/, $t->psql("SELECT job_id FROM ingest_job_transitions WHERE to_status = 'running' ORDER BY id");
    is(join(' ', map { $name{$_} // $_ } @order), 'high medium low1 low2 low3', 'claimed HIGH, then MEDIUM, then LOW oldest first');
    my @started = split /\n/, $t->psql("SELECT job_id FROM ingest_jobs ORDER BY started_at, job_id");
    is($name{ $started[0] }, 'high', 'the HIGH job started first');
    log_clean($t, 'priority');
}

done_testing;
