#!/usr/bin/perl
# POST /api/pipeline/callback: Standard Webhooks signatures (bad, missing,
# wrong secret, tampered body, timestamp tolerance, secret rotation, several
# signature entries), the transitions and progress a pipeline reports,
# validation, replays answering exactly as the first delivery and changing
# nothing, concurrent copies of one delivery, the external processor,
# IngestCallbackAuth none and a server without a secret.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $JSON = $IngestTest::JSON;
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

# Two secrets for rotation: a whsec_ one (base64-decoded by the server) and
# a plain-text one (used as raw bytes); a third the server does not know.
my $KEY_A = join '', map { chr((7 * $_ + 3) % 256) } 0 .. 31;
my $SECRET_A = 'whsec_' . encode_base64($KEY_A, '');
my $KEY_B = 'plain-text-rotation-secret-0123456789';
my $KEY_C = 'a-third-secret-nobody-configured-42';

# "v1,<base64 HMAC-SHA256(key, id.ts.body)>"
sub sign {
    my ($key, $id, $ts, $body) = @_;
    return 'v1,' . encode_base64(hmac_sha256("$id.$ts.$body", $key), '');
}

my $seq = 0;
sub new_id { sprintf 'msg_%d_%d_%d', $$, int(time), ++$seq }

# A signed delivery: body (hash -> JSON text, or a string), id, ts, key.
sub delivery {
    my (%o) = @_;
    my $body = ref $o{body} ? $JSON->encode($o{body}) : $o{body};
    my $id = $o{id} // new_id();
    my $ts = $o{ts} // int(time);
    my $sig = $o{sig} // sign($o{key} // $KEY_A, $id, $ts, $o{signed_body} // $body);
    return { body => $body, id => $id, ts => $ts, sig => $sig, ctype => $o{ctype} // 'application/json' };
}

# Sends a delivery; omit => [header names] leaves headers out.
sub send_cb {
    my ($t, $d, %o) = @_;
    my %h = ('webhook-id' => $d->{id}, 'webhook-timestamp' => $d->{ts}, 'webhook-signature' => $d->{sig});
    $h{'Content-Type'} = $d->{ctype} if defined $d->{ctype};
    delete $h{$_} for @{ $o{omit} // [] };
    return $t->request('POST', '/api/pipeline/callback', body => $d->{body}, headers => \%h);
}

sub cb {
    my ($t, $body, %o) = @_;
    return send_cb($t, delivery(body => $body, %o));
}

sub unauthorized_ok {
    my ($r, $name, $detail) = @_;
    problem_ok($r, 401, 'unauthorized', $name);
    ok($r->{headers}{'www-authenticate'}, "$name: WWW-Authenticate set");
    like($r->{json}{detail} // '', $detail, "$name: detail") if $detail;
}

# Everything about a job a callback may change, and its transitions.
sub snapshot {
    my ($t, $id) = @_;
    return $t->psql("SELECT status || '|' || updated_at || '|' || processed_items || '|' || total_items || '|'"
            . " || coalesce(error, '-') || '|' || coalesce(result_data::text, '-') || '|' || coalesce(lease_owner, '-')"
            . " FROM ingest_jobs WHERE job_id = '$id'")
        . ' / ' . transitions($t, $id);
}

sub transitions {
    my ($t, $id) = @_;
    return $t->psql("SELECT coalesce(string_agg(coalesce(from_status::text, '') || '>' || to_status, ' ' ORDER BY id), '')"
            . " FROM ingest_job_transitions WHERE job_id = '$id'");
}

# Start of a fresh second, so a timestamp computed now is still the same
# distance from the server's clock when the request arrives.
sub fresh_second {
    my $f = time - int(time);
    sleep(1.02 - $f) if $f > 0.3;
}

# ====================================================================
# The main server: two secrets (rotation), default tolerance, no processor.
my $t = IngestTest->new(extra => "IngestCallbackSecret $SECRET_A\nIngestCallbackSecret \"$KEY_B\"\n");
my $tok = $t->token('acme', 'alice');
sub job { $t->init_job($tok)->{job_id} }

# ---- completed on a pending job
{
    my $id = job();
    is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'"), 'pending', 'the job starts pending');
    my $rd = { rows => 42, columns => ['a', 'b'], nested => { ok => JSON::PP::true } };
    my $d = delivery(body => { job_id => $id, status => 'completed', records_processed => 42, total_items => 42,
        result_url => 'https://results.example/out/1.json', result_data => $rd });
    my $r = send_cb($t, $d);
    is($r->{status}, 200, 'completed callback on a pending job: 200');
    like($r->{headers}{'content-type'} // '', qr{^application/json}, 'answered as application/json');
    my $j = $r->{json};
    is($j->{job_id}, $id, 'the job is returned');
    is($j->{status}, 'completed', 'status completed');
    is($j->{progress}, 100, 'progress 100');
    is_deeply($j->{result_data}, $rd, 'result_data returned');
    is($j->{result_url}, 'https://results.example/out/1.json', 'result_url returned');
    is($j->{records_processed}, 42, 'records_processed returned');
    ok($j->{completed_at}, 'completed_at set');
    ok($j->{started_at}, 'started_at set');
    ok(!defined $j->{error}, 'no error');
    is($t->psql("SELECT result_data = '{\"rows\":42,\"columns\":[\"a\",\"b\"],\"nested\":{\"ok\":true}}'::jsonb"
            . " AND result_url = 'https://results.example/out/1.json' AND completed_at IS NOT NULL"
            . " FROM ingest_jobs WHERE job_id = '$id'"), 't', 'result_data, result_url and completed_at stored');
    is(transitions($t, $id), '>pending pending>completed', 'transition pending -> completed recorded');
    my $s = $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
    is($s->{status}, 'completed', 'the status endpoint agrees');
    is_deeply($s->{result_data}, $rd, 'status endpoint shows result_data');

    # replay of the 200: identical answer, nothing changes (the job is
    # terminal by now, so only a replay can still answer 200)
    my $before = snapshot($t, $id);
    sleep 0.05;
    my $r2 = send_cb($t, $d);
    is($r2->{status}, 200, 'replay of a 200: 200');
    is($r2->{content}, $r->{content}, 'replay of a 200: same body, byte for byte');
    is($r2->{headers}{'content-type'}, $r->{headers}{'content-type'}, 'replay of a 200: same content type');
    is(snapshot($t, $id), $before, 'replay of a 200 changes nothing (updated_at, transitions)');

    # a new delivery for the terminal job: 409, and its own replay
    my $d3 = delivery(body => { job_id => $id, status => 'failed', error => 'too late' });
    my $r3 = send_cb($t, $d3);
    problem_ok($r3, 409, 'job-terminal', 'new webhook-id on a completed job');
    like($r3->{json}{detail} // '', qr/completed/, '409 detail names the status');
    is(snapshot($t, $id), $before, 'the 409 changed nothing');
    my $r4 = send_cb($t, $d3);
    is($r4->{status}, 409, 'replay of a 409: 409');
    is($r4->{content}, $r3->{content}, 'replay of a 409: same body');
    is(snapshot($t, $id), $before, 'replay of a 409 changes nothing');
    # progress on a terminal job is refused too
    problem_ok(cb($t, { job_id => $id, status => 'running', records_processed => 1 }), 409, 'job-terminal',
        'running on a completed job');
    is(snapshot($t, $id), $before, 'still unchanged');

    # a sender's retry: same webhook-id, re-signed with a later timestamp
    sleep 1.1;
    my $retry = delivery(body => $d->{body}, id => $d->{id});
    isnt($retry->{ts}, $d->{ts}, 'the retry has a new timestamp');
    my $r5 = send_cb($t, $retry);
    is($r5->{status}, 200, 'retry of a 200 with a new timestamp: 200');
    is($r5->{content}, $r->{content}, 'retry with a new timestamp: same body');
    # the webhook-id decides: a different body under a used id is a replay
    my $r6 = send_cb($t, delivery(body => { job_id => $id, status => 'failed' }, id => $d->{id}));
    is($r6->{status}, 200, 'a used webhook-id with another body: answered as the first delivery');
    is($r6->{content}, $r->{content}, 'same body as the first delivery');
    is(snapshot($t, $id), $before, 'and nothing changes');
}

# ---- two different deliveries finishing one job at once: one wins
{
    my $id = job();
    my @pids;
    pipe(my $rd, my $wr) or die $!;
    for my $k (1 .. 6) {
        my $pid = fork // die $!;
        if (!$pid) {
            close $rd;
            my $r = cb($t, { job_id => $id, status => $k % 2 ? 'completed' : 'failed' });
            syswrite $wr, "$r->{status}\n";
            _exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    my @st = <$rd>;
    close $rd;
    waitpid $_, 0 for @pids;
    chomp @st;
    is(join(' ', sort @st), '200 409 409 409 409 409', 'six different deliveries at once: one 200, five 409');
    like(transitions($t, $id), qr/^>pending pending>(completed|failed)$/, 'exactly one terminal transition');
}

# ---- progress reports, then completion
{
    my $id = job();
    my $r1 = cb($t, { job_id => $id, status => 'running', records_processed => 10, total_items => 100 });
    is($r1->{status}, 200, 'first progress report: 200');
    is($r1->{json}{status}, 'running', 'the job is running');
    is($r1->{json}{progress}, 10, 'progress 10');
    is($r1->{json}{total_items}, 100, 'total_items stored');
    ok($r1->{json}{started_at}, 'started_at set when it starts running');
    ok(!defined $r1->{json}{completed_at}, 'no completed_at while running');
    is($t->psql("SELECT lease_owner FROM ingest_jobs WHERE job_id = '$id'"), 'external', 'held by the external pipeline');
    my $r2 = cb($t, { job_id => $id, status => 'running', records_processed => 55, total_items => 100 });
    is($r2->{status}, 200, 'second progress report: 200');
    is($r2->{json}{status}, 'running', 'the job stays running');
    cmp_ok($r2->{json}{progress}, '>', $r1->{json}{progress}, 'progress grows');
    is($r2->{json}{progress}, 55, 'progress 55');
    is($r2->{json}{records_processed}, 55, 'records_processed 55');
    is($r2->{json}{started_at}, $r1->{json}{started_at}, 'started_at kept');
    my $s = $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
    is($s->{progress}, 55, 'the status endpoint shows the progress');
    my $r3 = cb($t, { job_id => $id, status => 'completed', records_processed => 100 });
    is($r3->{status}, 200, 'completion after progress: 200');
    is($r3->{json}{status}, 'completed', 'completed');
    is($r3->{json}{progress}, 100, 'progress 100');
    is($r3->{json}{total_items}, 100, 'total_items kept from the progress reports');
    is(transitions($t, $id), '>pending pending>running running>completed',
        'one transition per status change, none for progress');
}

# ---- failed, with and without error
{
    my $id = job();
    my $r = cb($t, { job_id => $id, status => 'failed', error => 'parser crashed at line 7' });
    is($r->{status}, 200, 'failed with error: 200');
    is($r->{json}{status}, 'failed', 'status failed');
    is($r->{json}{error}, 'parser crashed at line 7', 'the error is stored');
    ok($r->{json}{completed_at}, 'completed_at set on failure');
    is($t->psql("SELECT error FROM ingest_jobs WHERE job_id = '$id'"), 'parser crashed at line 7', 'error in the row');
    is(transitions($t, $id), '>pending pending>failed', 'transition pending -> failed');
    problem_ok(cb($t, { job_id => $id, status => 'completed' }), 409, 'job-terminal', 'completed on a failed job');

    my $id2 = job();
    my $r2 = cb($t, { job_id => $id2, status => 'failed', error => undef });
    is($r2->{status}, 200, 'failed without error: 200');
    is($r2->{json}{error}, 'the pipeline reported a failure', 'default error');
    is($t->psql("SELECT status || ' ' || error FROM ingest_jobs WHERE job_id = '$id2'"),
        'failed the pipeline reported a failure', 'default error stored');
}

# ---- signatures: every refusal is a 401 and changes nothing
{
    my $id = job();
    my $before = snapshot($t, $id);
    my $body = { job_id => $id, status => 'completed' };
    my @refused;
    my $try = sub {
        my ($d, $name, $detail, %o) = @_;
        push @refused, $d->{id};
        unauthorized_ok(send_cb($t, $d, %o), $name, $detail);
    };
    $try->(delivery(body => $body, sig => 'v1,' . encode_base64('x' x 32, '')), 'bad signature', qr/no valid signature/);
    $try->(delivery(body => $body, sig => 'v1,not base64 at all'), 'garbage signature');
    $try->(delivery(body => $body, key => $KEY_C), 'signed with a wrong secret', qr/no valid signature/);
    $try->(delivery(body => $body, key => $SECRET_A), 'whsec_ text used as raw key (secret must be decoded)');
    my $good = delivery(body => $body);
    $try->({ %$good, body => $JSON->encode({ job_id => $id, status => 'failed' }) }, 'body tampered after signing',
        qr/no valid signature/);
    $try->({ %$good, body => $good->{body} . ' ' }, 'one byte appended to the body');
    $try->({ %$good, ts => $good->{ts} - 1 }, 'timestamp changed after signing');
    $try->({ %$good, sig => 'v2,' . substr($good->{sig}, 3) }, 'right MAC under another version');
    $try->(delivery(body => $body), 'missing webhook-id', qr/webhook-id/, omit => ['webhook-id']);
    $try->(delivery(body => $body), 'missing webhook-timestamp', qr/webhook-timestamp/, omit => ['webhook-timestamp']);
    $try->(delivery(body => $body), 'missing webhook-signature', qr/webhook-signature/, omit => ['webhook-signature']);
    $try->(delivery(body => $body, ts => 'yesterday'), 'non-numeric timestamp', qr/webhook-timestamp/);
    fresh_second();
    $try->(delivery(body => $body, ts => int(time) - 301), 'timestamp 301 s old', qr/tolerance/);
    fresh_second();
    $try->(delivery(body => $body, ts => int(time) + 301), 'timestamp 301 s in the future', qr/tolerance/);
    is(snapshot($t, $id), $before, 'no refused delivery changed the job');
    my $list = join ',', map { my $x = $_; $x =~ s/'/''/g; "'$x'" } @refused;
    is($t->psql("SELECT count(*) FROM ingest_webhook_deliveries WHERE webhook_id IN ($list)"), 0,
        'no refused delivery was recorded');
    like($t->error_log, qr/IG00502: pipeline callback refused/, 'refusals are logged');

    fresh_second();
    my $r = send_cb($t, delivery(body => { job_id => $id, status => 'running' }, ts => int(time) - 299));
    is($r->{status}, 200, 'timestamp 299 s old: accepted');
    is($r->{json}{status}, 'running', 'and applied');
    fresh_second();
    $r = send_cb($t, delivery(body => { job_id => $id, status => 'running', records_processed => 1, total_items => 4 },
        ts => int(time) + 299));
    is($r->{status}, 200, 'timestamp 299 s in the future: accepted');
    unauthorized_ok(send_cb($t, delivery(body => { job_id => $id, status => 'running' }, ts => int(time * 1000))),
        'timestamp in milliseconds', qr/tolerance/);
    unauthorized_ok(send_cb($t, delivery(body => { job_id => $id, status => 'running' }, id => 'i' x 256)),
        '256-byte webhook-id', qr/webhook-id/);
    unauthorized_ok(send_cb($t, delivery(body => { job_id => $id, status => 'running' }, id => '')),
        'empty webhook-id', qr/webhook-id/);
    my $long = 'L' . ('i' x 253) . $$;
    $long = substr($long, 0, 255);
    is(send_cb($t, delivery(body => { job_id => $id, status => 'running' }, id => $long))->{status}, 200,
        '255-byte webhook-id accepted');
}

# ---- rotation: either configured secret, not a third
{
    my $id = job();
    my $r = cb($t, { job_id => $id, status => 'running', records_processed => 1, total_items => 10 }, key => $KEY_A);
    is($r->{status}, 200, 'signed with the first secret (whsec_): accepted');
    $r = cb($t, { job_id => $id, status => 'running', records_processed => 2, total_items => 10 }, key => $KEY_B);
    is($r->{status}, 200, 'signed with the second secret (raw text): accepted');
    is($r->{json}{progress}, 20, 'and applied');
    unauthorized_ok(cb($t, { job_id => $id, status => 'completed' }, key => $KEY_C), 'signed with a third secret');
    is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'"), 'running', 'the third secret changed nothing');

    # several entries: only the last is valid
    my $d = delivery(body => { job_id => $id, status => 'running', records_processed => 3, total_items => 10 });
    my $valid = $d->{sig};
    $d->{sig} = join ' ', 'v1,' . encode_base64('y' x 32, ''), sign($KEY_C, $d->{id}, $d->{ts}, $d->{body}),
        'v2,' . substr($valid, 3), 'v1a,' . substr($valid, 3), $valid;
    $r = send_cb($t, $d);
    is($r->{status}, 200, 'several signature entries, only the last valid: accepted');
    is($r->{json}{progress}, 30, 'and applied');
    $d = delivery(body => { job_id => $id, status => 'running', records_processed => 4, total_items => 10 });
    $d->{sig} = join ' ', sign($KEY_C, $d->{id}, $d->{ts}, $d->{body}), 'v1,' . encode_base64('z' x 32, '');
    unauthorized_ok(send_cb($t, $d), 'several signature entries, none valid');
}

# ---- unknown job: 404, and its replay answers 404 even once the job exists
{
    my $ghost = '0f0e0d0c-0b0a-4908-8706-050403020100';
    my $d = delivery(body => { job_id => $ghost, status => 'completed' });
    my $r = send_cb($t, $d);
    problem_ok($r, 404, 'not-found', 'unknown job');
    is($t->psql("SELECT http_status FROM ingest_webhook_deliveries WHERE webhook_id = '$d->{id}'"), 404,
        'the 404 delivery is recorded');
    $t->psql("INSERT INTO ingest_jobs (job_id, tenant_id, source_type, filename, status)"
        . " VALUES ('$ghost', 'acme', 'file_upload', 'late.csv', 'pending')");
    my $before = snapshot($t, $ghost);
    my $r2 = send_cb($t, $d);
    is($r2->{status}, 404, 'replay of a 404: 404 (even though the job now exists)');
    is($r2->{content}, $r->{content}, 'replay of a 404: same body');
    is(snapshot($t, $ghost), $before, 'replay of a 404 changes nothing');
    # upper-case job ids name the same job
    my $r3 = cb($t, { job_id => uc $ghost, status => 'running' });
    is($r3->{status}, 200, 'an upper-case job_id finds the job');
}

# ---- bad bodies: 422 naming the field, 400, 415; nothing changes
{
    my $id = job();
    my $before = snapshot($t, $id);
    my @bad = (
        [{ job_id => $id, status => 'running', records_processed => 11, total_items => 10 }, 'records_processed',
            'records_processed > total_items'],
        [{ job_id => $id, status => 'completed', error => 'oops' }, 'error', 'error with status completed'],
        [{ job_id => $id, status => 'running', error => 'oops' }, 'error', 'error with status running'],
        [{ job_id => $id, status => 'completed', colour => 'blue' }, 'colour', 'unknown field'],
        [{ job_id => 'not-a-uuid', status => 'completed' }, 'job_id', 'job_id not a UUID'],
        [{ job_id => 42, status => 'completed' }, 'job_id', 'numeric job_id'],
        [{ status => 'completed' }, 'job_id', 'missing job_id'],
        [{ job_id => $id }, 'status', 'missing status'],
        [{ job_id => $id, status => 'queued' }, 'status', 'status queued'],
        [{ job_id => $id, status => 'pending' }, 'status', 'status pending'],
        [{ job_id => $id, status => 'running', records_processed => -1 }, 'records_processed', 'negative count'],
        [{ job_id => $id, status => 'running', total_items => 1.5 }, 'total_items', 'fractional count'],
        [{ job_id => $id, status => 'running', total_items => '5' }, 'total_items', 'string count'],
        [{ job_id => $id, status => 'completed', result_data => 'text' }, 'result_data', 'scalar result_data'],
        [{ job_id => $id, status => 'completed', result_url => '' }, 'result_url', 'empty result_url'],
        [{ job_id => $id, status => 'completed', result_url => "http://x/\n" }, 'result_url', 'control char in result_url'],
        [{ job_id => $id, status => 'failed', error => 7 }, 'error', 'numeric error'],
    );
    for my $b (@bad) {
        my ($body, $field, $name) = @$b;
        my $r = cb($t, $body);
        problem_ok($r, 422, 'invalid-field', $name);
        is($r->{json}{field}, $field, "$name: names field $field");
    }
    problem_ok(cb($t, [1, 2]), 422, 'invalid-field', 'array body');
    my $r = cb($t, "{\n \"job_id\": }");
    problem_ok($r, 400, 'malformed-json', 'malformed JSON');
    is($r->{json}{line}, 2, 'malformed JSON: line named');
    problem_ok(cb($t, ''), 400, 'malformed-json', 'empty body');
    problem_ok(cb($t, qq({"job_id":"$id","job_id":"$id","status":"completed"})), 400, 'malformed-json', 'duplicate keys');
    my $ok = $JSON->encode({ job_id => $id, status => 'completed' });
    problem_ok(cb($t, $ok, ctype => 'text/plain'), 415, 'unsupported-media-type', 'text/plain');
    problem_ok(send_cb($t, { %{ delivery(body => $ok) }, ctype => undef }), 415, 'unsupported-media-type',
        'no Content-Type');
    is(snapshot($t, $id), $before, 'no bad body changed the job');
    # a correct body is still accepted, with charset
    $r = cb($t, $ok, ctype => 'application/json; charset=utf-8');
    is($r->{status}, 200, 'the fixed body is accepted (Content-Type with charset)');
    # null members are the same as absent ones
    my $id2 = job();
    $r = cb($t, { job_id => $id2, status => 'running', records_processed => undef, total_items => undef,
        result_url => undef, result_data => undef, error => undef });
    is($r->{status}, 200, 'null optional members are accepted');
    is($r->{json}{progress}, 0, 'progress 0 with no counts');
    # result_data as an array
    $r = cb($t, { job_id => $id2, status => 'completed', result_data => [1, { two => 2 }] });
    is($r->{status}, 200, 'result_data may be an array');
    is_deeply($r->{json}{result_data}, [1, { two => 2 }], 'array result_data stored');
    problem_ok($t->request('GET', '/api/pipeline/callback'), 405, 'method-not-allowed', 'GET on the callback');
}

# ---- the same delivery six times at once: one change, six identical 200s.
# Second round: the job row is held locked while the six arrive, so all of
# them pass the replay lookup and race in the apply statement.
sub six_copies {
    my ($d) = @_;
    my $n = 6;
    my @pids;
    pipe(my $rd, my $wr) or die $!;
    for (1 .. $n) {
        my $pid = fork // die $!;
        if (!$pid) {
            close $rd;
            my $r = send_cb($t, $d);
            syswrite $wr, "$r->{status} " . encode_base64($r->{content} // '', '') . "\n";
            _exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    my @answers = <$rd>;
    close $rd;
    waitpid $_, 0 for @pids;
    chomp @answers;
    return @answers;
}

for my $round ('plain', 'row locked') {
    my $id = job();
    my $d = delivery(body => { job_id => $id, status => 'completed', records_processed => 5, total_items => 5,
        result_data => { race => $round } });
    my $locker;
    if ($round eq 'row locked') {
        $locker = fork // die $!;
        if (!$locker) {
            eval { $t->psql("BEGIN; SELECT 1 FROM ingest_jobs WHERE job_id = '$id' FOR UPDATE; SELECT pg_sleep(2); COMMIT") };
            _exit(0);
        }
        wait_until('the row lock', 5, sub { $t->psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%'"
                . " AND state = 'active' AND pid <> pg_backend_pid()") > 0 });
    }
    my @answers = six_copies($d);
    waitpid $locker, 0 if $locker;
    is(scalar @answers, 6, "$round: 6 concurrent copies answered");
    is(scalar(grep { /^200 / } @answers), 6, "$round: all answered 200") or diag join "\n", @answers;
    my %bodies = map { $_ => 1 } @answers;
    is(scalar keys %bodies, 1, "$round: all six answers identical");
    is($t->psql("SELECT count(*) FROM ingest_job_transitions WHERE job_id = '$id' AND to_status = 'completed'"), 1,
        "$round: exactly one transition to completed");
    is(transitions($t, $id), '>pending pending>completed', "$round: pending -> completed once");
    is($t->psql("SELECT count(*) FROM ingest_webhook_deliveries WHERE webhook_id = '$d->{id}'"), 1,
        "$round: one delivery row");
    my $r = send_cb($t, $d);
    is($r->{status} . ' ' . encode_base64($r->{content}, ''), $answers[0], "$round: a later replay answers the same");
}
unlike($t->error_log, qr/IG00206: statement ingest_cb_apply failed/,
    'a copy that loses the race at the primary key is a conflict, not a logged failure');
undef $t;

# ====================================================================
# External processor: handed over, finished by the callback, never again.
{
    my $e = IngestTest->new(extra => "IngestCallbackSecret $SECRET_A\nIngestProcessor external\n"
        . "IngestExternalDeadline 3\nIngestWorkerInterval 100ms\n");
    my $etok = $e->token('ext', 'u1');
    my $id = $e->init_job($etok)->{job_id};
    my $late = $e->init_job($etok)->{job_id};
    ok(wait_until('handover', 10, sub { $e->psql("SELECT status || ' ' || coalesce(lease_owner, '-') FROM ingest_jobs"
            . " WHERE job_id = '$id'") eq 'running external' }), 'the worker hands the job over: running, lease_owner external');
    my $r = cb($e, { job_id => $id, status => 'running', records_processed => 3, total_items => 6 });
    is($r->{status}, 200, 'progress on the handed-over job: 200');
    is($r->{json}{progress}, 50, 'progress 50');
    $r = cb($e, { job_id => $id, status => 'completed', records_processed => 6, result_data => { done => 1 } });
    is($r->{status}, 200, 'completed callback on the external job: 200');
    is($r->{json}{status}, 'completed', 'completed');
    is($r->{json}{progress}, 100, 'progress 100');
    my $after = snapshot($e, $id);
    ok(wait_until('the deadline fails the other job', 10,
        sub { $e->psql("SELECT status FROM ingest_jobs WHERE job_id = '$late'") eq 'failed' }),
        'a job nobody finished fails at IngestExternalDeadline');
    sleep 0.5;
    is(snapshot($e, $id), $after, 'the finished job never transitions again (past the deadline)');
    is(transitions($e, $id), '>queued queued>running running>completed', 'queued -> running -> completed');
    ok(!defined $e->request('GET', "/api/ingest/status/$id", token => $etok)->{json}{error}, 'no deadline error');
    $r = cb($e, { job_id => $late, status => 'completed' });
    problem_ok($r, 409, 'job-terminal', 'a callback after the deadline failed the job');
    like($r->{json}{detail} // '', qr/failed/, '409 names the failed status');
}

# ====================================================================
# IngestCallbackAuth none: unsigned callbacks are taken, with a warning.
{
    my $n = IngestTest->new(extra => "IngestCallbackAuth none\n");
    # the port accepts connections before post_config has logged: wait for it
    ok(wait_until('IG00002', 5, sub { $n->error_log =~ /IG00001: / }), 'start-up finished');
    like($n->error_log, qr/\[ingest:warn\].*IG00002: IngestCallbackAuth none/, 'start-up warning IG00002 logged');
    my $ntok = $n->token('demo', 'u1');
    my $id = $n->init_job($ntok)->{job_id};
    my $r = $n->request('POST', '/api/pipeline/callback', json => { job_id => $id, status => 'completed' });
    is($r->{status}, 200, 'auth none: an unsigned callback is accepted');
    is($r->{json}{status}, 'completed', 'and applied');
    my $id2 = $n->init_job($ntok)->{job_id};
    $r = $n->request('POST', '/api/pipeline/callback', json => { job_id => $id2, status => 'running' },
        headers => { 'webhook-signature' => 'v1,bogus', 'webhook-timestamp' => 1 });
    is($r->{status}, 200, 'auth none: a bogus signature and ancient timestamp are ignored');
    problem_ok($n->request('POST', '/api/pipeline/callback', json => { job_id => $id2, status => 'sideways' }), 422,
        'invalid-field', 'auth none still validates the body');
    # a webhook-id, when sent, still makes a replay harmless
    my $id3 = $n->init_job($ntok)->{job_id};
    my %wh = ('webhook-id' => 'demo-1');
    my $a = $n->request('POST', '/api/pipeline/callback', json => { job_id => $id3, status => 'completed' }, headers => \%wh);
    is($a->{status}, 200, 'auth none with a webhook-id: 200');
    my $b = $n->request('POST', '/api/pipeline/callback', json => { job_id => $id3, status => 'completed' }, headers => \%wh);
    is($b->{status}, 200, 'auth none: its replay answers 200 again');
    is($b->{content}, $a->{content}, 'auth none: identical replay');
    is($n->psql("SELECT count(*) FROM ingest_job_transitions WHERE job_id = '$id3'"), 2, 'auth none: one transition');
}

# ====================================================================
# Delivery records are kept for twice the largest IngestCallbackTolerance
# of any virtual host, not the main server's: a vhost with a longer
# tolerance would otherwise accept a replay once the record is gone.
{
    my $port = IngestTest::free_port();
    my $v = IngestTest->new(port => $port, extra => "IngestCallbackSecret $SECRET_A\nIngestCallbackTolerance 1\n"
        . "IngestProcessor simulate\nIngestWorkerInterval 100ms\n"
        . "<VirtualHost 127.0.0.1:$port>\nServerName 127.0.0.1\n</VirtualHost>\n"
        . "<VirtualHost 127.0.0.1:$port>\nServerName patient.test\nIngestCallbackTolerance 600\n</VirtualHost>\n");
    my $vtok = $v->token('vh', 'u1');
    my $id = $v->init_job($vtok)->{job_id};
    my $d = delivery(body => { job_id => $id, status => 'running' }, ts => int(time) - 30);
    # HTTP::Tiny will not send another Host: a raw request
    my $req = "POST /api/pipeline/callback HTTP/1.1\r\nHost: patient.test\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\nwebhook-id: $d->{id}\r\nwebhook-timestamp: $d->{ts}\r\n"
        . "webhook-signature: $d->{sig}\r\nContent-Length: " . length($d->{body}) . "\r\n\r\n$d->{body}";
    my ($st, $first) = $v->raw($req);
    is($st, 200, 'a vhost with a 600 s tolerance takes a 30 s old delivery');
    # the worker prunes every 5 s; the main server's 1 s tolerance would
    # have dropped the record by now
    sleep 7;
    is($v->psql("SELECT count(*) FROM ingest_webhook_deliveries WHERE webhook_id = '$d->{id}'"), 1,
        'its delivery record outlives the main server\'s tolerance');
    my ($st2, $again) = $v->raw($req);
    my ($b1, $b2) = map { (split /\r\n\r\n/, $_, 2)[1] } $first, $again;
    is($b2, $b1, 'so its replay is still answered as the first delivery');
}

# ====================================================================
# No IngestCallbackSecret, default auth: every callback refused.
{
    my $s = IngestTest->new;
    $s->expect_log(qr/\[ingest:error\] .*IG00501: a pipeline callback arrived but no IngestCallbackSecret is set; refusing every callback$/);
    my $stok = $s->token('nosec', 'u1');
    my $id = $s->init_job($stok)->{job_id};
    my $r = cb($s, { job_id => $id, status => 'completed' });
    unauthorized_ok($r, 'no secret configured', qr/^callbacks are not configured on this server$/);
    unauthorized_ok($s->request('POST', '/api/pipeline/callback', json => { job_id => $id, status => 'completed' }),
        'no secret configured, unsigned');
    is($s->psql("SELECT status FROM ingest_jobs WHERE job_id = '$id'"), 'pending', 'nothing changed');
    like($s->error_log, qr/IG00501: /, 'the operator is told once');
}

done_testing;
