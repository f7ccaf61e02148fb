#!/usr/bin/perl
# The worker is woken through LISTEN/NOTIFY (sql/012_notify.sql,
# IngestWorkerNotify): with IngestWorkerInterval 5s, a job queued through
# the API starts well within the interval; with IngestWorkerNotify off it
# waits for the next pass. Every job is created just after a pass (a fresh
# heartbeat in ingest_workers), and the next pass of the interval alone
# comes about 5 s after that one: a start less than 4.5 s after it is only
# possible through the notification, however long the machine took to
# create the job. Then: the LISTEN session killed by the server is
# reconnected (IG00414, IG00415) and wakes the worker again; a graceful
# restart leaves exactly one LISTEN session, the new generation's, and a
# clean error_log; without sql/012 the worker still runs, at the interval;
# the triggers send one notification per statement that leaves a due job
# queued and none otherwise, and none while another transaction holds the
# notifier lock; the directive parses (on, off) and bad values fail
# httpd -t with a precise message.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use POSIX ();
use Time::HiRes qw(sleep time);

my $APP = 'mod_ingest worker LISTEN';
my $conf = "IngestProcessor simulate\nIngestSimulateDelay 0 0\nIngestSimulateDuration 0\n"
    . "IngestSimulateFailureRate 0\nIngestWorkerInterval 5s\n";

sub listeners {
    my ($t) = @_;
    return $t->psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP'"
        . " AND query = 'LISTEN ingest_queued'");
}

sub listener_pids {
    my ($t) = @_;
    return $t->psql("SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '') FROM pg_stat_activity"
        . " WHERE application_name = '$APP'");
}

sub last_tick {
    my ($t) = @_;
    return $t->psql("SELECT coalesce(max(extract(epoch FROM last_tick)), 0) FROM ingest_workers");
}

# Creates a job with $make just after a pass; answers (seconds from
# created_at to started_at, seconds from that pass's heartbeat to
# created_at), or () if the job did not start within 15 s.
sub pickup {
    my ($t, $what, $make) = @_;
    my $before = last_tick($t);
    wait_until("a worker pass ($what)", 20, sub { last_tick($t) > $before }, 0.05) or return;
    my $tick = last_tick($t);
    my $id = $make->();
    wait_until("$what started", 15, sub {
        $t->psql("SELECT started_at IS NOT NULL FROM ingest_jobs WHERE job_id = '$id'") eq 't' }, 0.05) or return;
    my ($took, $after) = split /\|/, $t->psql("SELECT extract(epoch FROM started_at - created_at),"
        . " extract(epoch FROM created_at) - $tick FROM ingest_jobs WHERE job_id = '$id'");
    return ($took, $after);
}

# With IngestWorkerInterval 5s the pass after the one just before the job
# comes about 5 s after it, whatever the load (a slow pass only delays it).
# A job that started earlier than 4.5 s after that pass was woken for; one
# that waited for the interval started later than that.
sub before_next_poll {
    my ($took, $after) = @_;
    return defined $took && defined $after && $after + $took < 4.5;
}

sub at_next_poll {
    my ($took, $after) = @_;
    return defined $took && defined $after && $after + $took > 4.5;
}

sub when { sprintf('created %s s after a pass, started %s s later', map { $_ // '?' } @_[1, 0]) }

sub init_maker {
    my ($t, $tok) = @_;
    return sub { $t->init_job($tok, filename => 'n.csv')->{job_id} };
}

# ---- notify on (the default): picked up at once, from init and from POST json
{
    my $t = IngestTest->new(extra => $conf);
    my $tok = $t->token('notify', 'u1');
    ok(wait_until('the LISTEN session', 30, sub { listeners($t) == 1 }), 'the worker LISTENs on ingest_queued')
        or diag $t->error_log;
    for my $n (1 .. 3) {
        my ($took, $after) = pickup($t, "init $n", init_maker($t, $tok));
        ok(defined $took, "init $n: the job started");
        ok(before_next_poll($took, $after), "init $n: started before the interval's next pass (" . when($took, $after) . ')');
    }
    my ($took, $after) = pickup($t, 'json', sub {
        my $r = $t->request('POST', '/api/ingest/json', token => $tok,
            json => { mappings => [{ id => 'm1', source => 'a', target => 'b' }] });
        die "POST json: $r->{status} $r->{content}" unless $r->{status} == 202;
        return $r->{json}{job_id};
    });
    ok(before_next_poll($took, $after), 'POST /api/ingest/json (mappings): started before the next pass (' . when($took, $after) . ')');

    # ---- the server ends the LISTEN session: logged once, reconnected, wakes again
    my $old = listener_pids($t);
    $t->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$APP'");
    ok(wait_until('IG00414', 20, sub { $t->error_log =~ /IG00414: worker: no LISTEN connection/ }),
        'a lost LISTEN connection is logged (IG00414)');
    ok(wait_until('a new LISTEN session', 30, sub { listeners($t) == 1 && listener_pids($t) ne $old }),
        'and made again');
    ok(wait_until('IG00415', 10, sub { $t->error_log =~ /IG00415: worker: listening for queued jobs again/ }),
        'logged once it is back (IG00415)');
    my $n414 = () = $t->error_log =~ /IG00414/g;
    is($n414, 1, 'IG00414 once for the outage');
    ($took, $after) = pickup($t, 'after the reconnect', init_maker($t, $tok));
    ok(before_next_poll($took, $after), 'after the reconnect: started before the next pass (' . when($took, $after) . ')');

    # ---- graceful restart: the new generation listens, the old session is gone
    $old = listener_pids($t);
    IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful'));
    ok(wait_until('the new generation LISTENs', 30, sub { listener_pids($t) =~ /^\d+$/ && listener_pids($t) ne $old }),
        'after a graceful restart exactly one LISTEN session, a new one') or diag 'sessions: ' . listener_pids($t);
    ($took, $after) = pickup($t, 'after the graceful restart', init_maker($t, $tok));
    ok(before_next_poll($took, $after), 'after the graceful restart: started before the next pass (' . when($took, $after) . ')');
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE status NOT IN ('completed', 'failed')"), 0,
        'nothing left queued or running');
    $t->stop_httpd;
    ok(wait_until('no LISTEN session after stop', 10, sub { listeners($t) == 0 }), 'httpd stopped: no LISTEN session left');
}

# ---- notify off: the same job waits for the interval's next pass
{
    my $t = IngestTest->new(extra => "$conf\nIngestWorkerNotify off\n");
    my $tok = $t->token('poll', 'u1');
    my ($took, $after) = pickup($t, 'init, notify off', init_maker($t, $tok));
    ok(defined $took, 'notify off: the job started');
    ok(at_next_poll($took, $after), 'notify off: started at the next pass of the interval (' . when($took, $after) . ')');
    is(listeners($t), 0, 'notify off: no LISTEN session');
}

# ---- without sql/012 (optional): notify on, the worker listens, hears nothing, polls
{
    my $t = IngestTest->new(no_httpd => 1, extra => $conf);
    $t->psql("DROP TRIGGER ingest_jobs_notify_insert ON ingest_jobs; DROP TRIGGER ingest_jobs_notify_update ON ingest_jobs;"
        . " DROP FUNCTION ingest_notify_queued(); DELETE FROM schema_migrations WHERE version = 12");
    $t->start_httpd;
    my $tok = $t->token('no012', 'u1');
    ok(wait_until('the LISTEN session', 30, sub { listeners($t) == 1 }), 'without 012: the worker still LISTENs');
    my ($took, $after) = pickup($t, 'init, without 012', init_maker($t, $tok));
    ok(at_next_poll($took, $after), 'without 012: started at the next pass (' . when($took, $after) . ')');
    is($t->request('GET', '/api/ingest/health')->{status}, 200, 'without 012: healthy');
}

# ---- the triggers: one notification per statement that leaves a job queued, none otherwise
{
    my $t = IngestTest->new(no_httpd => 1);
    # a session's own notifications reach it at commit; psql prints each
    my $heard = sub {
        my ($sql) = @_;
        open my $fh, '-|', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', $t->{pgport},
            '-U', 'ingest', '-d', 'ingest', '-c', 'LISTEN ingest_queued', '-c', $sql, '-c', 'SELECT 1' or die $!;
        my $out = do { local $/; <$fh> } // '';
        close $fh or die "psql failed: $sql\n";
        return scalar(() = $out =~ /Asynchronous notification "ingest_queued"/g);
    };
    my $ins = "INSERT INTO ingest_jobs (tenant_id, source_type, filename, file_type, file_size, status)"
        . " SELECT 'trg', 'file_upload', 'f' || n || '.csv', 'csv', 1, %s FROM generate_series(1, 50) n";
    is($heard->(sprintf $ins, "'queued'"), 1, 'an INSERT of 50 queued jobs: one notification');
    is($heard->(sprintf $ins, "'pending'"), 0, 'an INSERT of 50 pending jobs: none');
    is($heard->("INSERT INTO ingest_jobs (tenant_id, source_type, status, due_at)"
        . " VALUES ('trg', 'json_records', 'queued', now() + interval '1 hour')"), 0,
        'an INSERT of a job queued for later (due_at ahead): none');
    is($heard->("UPDATE ingest_jobs SET status = 'running', lease_owner = 'x', lease_expires_at = now()"
        . " WHERE status = 'queued'"), 0, 'an UPDATE that claims every queued job: none');
    is($heard->("UPDATE ingest_jobs SET status = 'queued' WHERE status = 'pending'"), 1,
        'an UPDATE that queues 50 jobs: one notification');
    is($heard->("UPDATE ingest_jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL"
        . " WHERE status = 'running'"), 1, 'an UPDATE that gives running jobs back: one notification');
    is($heard->("UPDATE ingest_jobs SET status = 'queued' WHERE false"), 0, 'an UPDATE of no row: none');
    # one notifier at a time: while another session holds the notifier's
    # advisory lock (a transaction about to notify), a queuing statement
    # leaves the notification to it
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        exec 'psql', '-X', '-q', '-At', '-h', '127.0.0.1', '-p', $t->{pgport}, '-U', 'ingest', '-d', 'ingest',
            '-c', 'SELECT pg_advisory_lock(1229866068, 12), pg_sleep(3)' or POSIX::_exit(127);
    }
    ok(wait_until('the notifier lock held elsewhere', 10, sub { $t->psql("SELECT count(*) FROM pg_locks"
        . " WHERE locktype = 'advisory' AND classid = 1229866068 AND objid = 12 AND granted") == 1 }, 0.05),
        'another session holds the notifier lock');
    is($heard->(sprintf $ins, "'queued'"), 0, 'an INSERT of queued jobs meanwhile: left to the other session');
    waitpid $pid, 0;
    is($heard->(sprintf $ins, "'queued'"), 1, 'once it let go: one notification again');
}

# ---- the directive
{
    my $t = IngestTest->new(no_httpd => 1);
    my $configtest = sub { $t->configtest(@_) };
    for my $v ('on', 'off', 'On', 'OFF') {
        my ($ok, $out) = $configtest->("IngestProcessor simulate\nIngestWorkerNotify $v\n");
        ok($ok, "IngestWorkerNotify $v passes httpd -t") or diag $out;
    }
    for my $bad (["IngestWorkerNotify yes", qr/IngestWorkerNotify must be On or Off/],
        ["IngestWorkerNotify", qr/IngestWorkerNotify must be On or Off/],
        ["<VirtualHost 127.0.0.1:1>\nIngestWorkerNotify off\n</VirtualHost>",
            qr/IngestWorkerNotify cannot occur within <VirtualHost> section/]) {
        my ($ok, $out) = $configtest->("IngestProcessor simulate\n$bad->[0]\n");
        ok(!$ok, 'refused: ' . ($bad->[0] =~ s/\n/ /gr));
        like($out, $bad->[1], "  with: $bad->[1]");
    }
}

done_testing;
