#!/usr/bin/perl
# One bad job never wedges the worker (issue 7 §1): a step the database
# refuses fails that job (an attempt counted, then failed after
# IngestMaxAttempts, with a readable error) while the rest of the batch and
# every other tenant's jobs go on; and /health says `stuck` when the worker
# ticks but gets nothing done while work is due.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use HTTP::Tiny;
use Time::HiRes qw(sleep time);

sub upload {
    my ($t, $tok, $name, $body, $type) = @_;
    my $init = $t->init_job($tok, filename => $name, file_size => length $body, file_type => $type // 'csv');
    my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($init->{upload_url}),
        { headers => { 'Content-Type' => 'application/octet-stream' }, content => $body });
    is($res->{status}, 200, "$name uploaded");
    return $init->{job_id};
}

sub col {
    my ($t, $id, $col) = @_;
    return $t->psql("SELECT $col FROM ingest_jobs WHERE job_id = '$id'");
}

my $conf = <<'CONF';
IngestProcessor parse
IngestWorkerInterval 100ms
IngestWorkerBatch 8
IngestMaxAttempts 2
CONF

{
    my $t = IngestTest->new(extra => $conf);
    # the statement the trigger below refuses, each time the poison job's step runs
    $t->expect_log(qr/\[ingest:error\] .*IG00206: statement ingest_w_finish failed: ERROR:  54000: total size of jsonb array elements exceeds the maximum\\nCONTEXT:  PL\/pgSQL function refuse_poison\(\)/);
    # The database refuses this job's result, as it refused a 300 MB
    # result_data (54000) before summaries were bounded: a trigger that
    # raises for one file name stands for any statement the job's own data
    # makes fail.
    $t->psql(<<'SQL');
CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.filename = 'poison.csv' AND NEW.status = 'completed' THEN
        RAISE EXCEPTION 'total size of jsonb array elements exceeds the maximum' USING ERRCODE = '54000';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_poison BEFORE UPDATE ON ingest_jobs FOR EACH ROW EXECUTE FUNCTION refuse_poison();
SQL
    my $bad = $t->token('tenant-bad', 'u1');
    my $good = $t->token('tenant-good', 'u2');
    # the poison first, so it is first in every batch
    my $poison = upload($t, $bad, 'poison.csv', "a,b\n1,2\n");
    my @ok = map { upload($t, $good, "ok$_.csv", "x,y\n$_,$_\n") } 1 .. 5;
    ok(wait_until('the good jobs', 20, sub {
        $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'tenant-good' AND status = 'completed'") == 5 }),
        "another tenant's jobs complete while the poison job fails its steps");
    ok(wait_until('the poison job to fail', 20, sub { col($t, $poison, 'status') eq 'failed' }),
        'the poison job fails after IngestMaxAttempts');
    is(col($t, $poison, 'attempts'), 2, 'each failed step counted an attempt');
    like(col($t, $poison, 'error'),
        qr/^the database refused the step: 54000: total size of jsonb array elements exceeds the maximum \(attempt 2; giving up after IngestMaxAttempts\)$/,
        'its error says what the database refused and that it gave up');
    my $path = $t->psql("SELECT string_agg(coalesce(from_status::text, '-') || '>' || to_status, ' ' ORDER BY id)"
        . " FROM ingest_job_transitions WHERE job_id = '$poison'");
    is($path, '->pending pending>queued queued>running running>queued queued>running running>failed',
        'retried once with backoff, then failed');
    like($t->error_log, qr/IG00413: worker: job \Q$poison\E: the database refused the step/, 'IG00413 logged');

    # a later job of the same tenant is not held back either
    my $after = upload($t, $bad, 'fine.csv', "a\n1\n");
    ok(wait_until('a later job', 20, sub { col($t, $after, 'status') eq 'completed' }), 'later jobs still complete');
    my $h = $t->request('GET', '/api/ingest/health');
    is($h->{status}, 200, 'health 200 after the poison job');
    is($h->{json}{worker}{state}, 'ok', 'worker ok');
    ok(defined $h->{json}{worker}{last_progress_age_ms}, 'health reports the age of the last progress');
}

# ---- stuck: the worker ticks, work has been due for longer than the
# window (30 s at this interval), and it got nothing done. A session that
# holds the only queued job's row lock makes the claim skip it.
{
    my $t = IngestTest->new(extra => "IngestProcessor simulate\nIngestWorkerInterval 100ms\nIngestSimulateDuration 0\n"
        . "IngestSimulateFailureRate 0\n");
    my $tok = $t->token('tenant-s', 'u1');
    # health says "starting" until the worker's first tick is recorded,
    # which on a loaded machine can come after the lock below is taken
    ok(wait_until('the first tick', 20, sub { ($t->request('GET', '/api/ingest/health')->{json}{worker}{state} // '') eq 'ok' }),
        'the worker ticked');
    my $id = $t->init_job($tok, filename => 'held.csv')->{job_id};
    my $pid = open(my $psql, '|-', 'psql', '-X', '-q', '-h', '127.0.0.1', '-p', $t->{pgport}, '-U', 'ingest', '-d', 'ingest')
        // die "psql: $!";
    print $psql "BEGIN; SELECT job_id FROM ingest_jobs WHERE job_id = '$id' FOR UPDATE;\n";
    $psql->flush;
    ok(wait_until('the lock', 10, sub {
        $t->psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.state = 'idle in transaction'") > 0 }),
        'a session holds the queued job');
    my $h = $t->request('GET', '/api/ingest/health');
    is($h->{json}{worker}{state}, 'ok', 'not stuck while the work has waited less than the window');
    my $stuck;
    ok(wait_until('health to say stuck', 45, sub {
        $stuck = $t->request('GET', '/api/ingest/health'); ($stuck->{json}{worker}{state} // '') eq 'stuck' }, 0.5),
        'health says stuck once due work has waited longer than the window with nothing done');
    is($stuck->{status}, 503, 'stuck answers 503');
    like($stuck->{json}{detail}, qr/got nothing done/, 'detail says why');
    ok($stuck->{json}{worker}{last_tick_age_ms} < 5000, 'while the worker still ticks');
    print $psql "ROLLBACK;\n\\q\n";
    close $psql;
    ok(wait_until('the job', 20, sub { col($t, $id, 'status') eq 'completed' }), 'released, the job completes');
    ok(wait_until('health ok', 10, sub { $t->request('GET', '/api/ingest/health')->{status} == 200 }),
        'health is ok again once work gets done');
}

# ---- jobs claimed with a long parse wait behind it: their leases stay
# fresh (a rescue elsewhere must not take them). Uploaded while no worker
# runs, so one claim takes all three, the big one first. They wait behind
# it on the worker's own thread (IngestWorkerThreads 0), or queued for the
# only step thread (1); with more threads they would not wait at all
# (27-worker-threads.t).
for my $threads (0, 1) {
    my $t = IngestTest->new(extra => '');
    my $tok = $t->token('tenant-w', 'u1');
    # many small tokens: about 3 s of parsing, three lease times
    my $lines = (q({"a":[) . join(',', (1) x 40) . qq(]}\n)) x 700_000;
    my $big = upload($t, $tok, 'big.ndjson', $lines, 'ndjson');
    my @small = map { upload($t, $tok, "s$_.csv", "a\n$_\n") } 1 .. 2;
    $t->stop_httpd;
    $t->{extra} = "IngestProcessor parse\nIngestWorkerInterval 100ms\nIngestLeaseTime 1\nIngestWorkerThreads $threads\n";
    $t->start_httpd;
    my ($samples, $expired, $first, $lastseen) = (0, 0);
    my $deadline = time + 30;
    while (time < $deadline) {
        my $row = $t->psql("SELECT (SELECT status || ':' || processed_items FROM ingest_jobs WHERE job_id = '$big') || '|' ||"
            . " (SELECT count(*) FROM ingest_jobs WHERE status = 'running' AND job_id <> '$big') || '|' ||"
            . " (SELECT count(*) FROM ingest_jobs WHERE status = 'running' AND lease_expires_at < now())");
        my ($st, $waiting, $exp) = split /\|/, $row;
        last if $st =~ /^(completed|failed)/;
        if ($st =~ /^running:(\d+)/ && $1 > 0 && $waiting == 2) {
            ++$samples;
            $expired += $exp;
            $first //= time;
            $lastseen = time;
        }
        sleep 0.1;
    }
    # watched for longer than a lease time: without the renewal the
    # waiting jobs' leases (1 s) would have run out (a slower machine
    # parses longer, so the window only grows)
    my $watched = defined $first ? $lastseen - $first : 0;
    ok($watched > 1.2, sprintf('%d step thread(s): the big parse ran %.1f s with two claimed jobs waiting behind it (%d samples)',
        $threads, $watched, $samples));
    is($expired, 0, "$threads step thread(s): no claimed job's lease expired while it waited");
    ok(wait_until('all three', 30, sub {
        $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'completed' AND attempts = 0") == 3 }),
        "$threads step thread(s): all three complete, none counted a lost attempt");
    $t->teardown;
}

done_testing;
