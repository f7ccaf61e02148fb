#!/usr/bin/perl
# The worker under stress: the child holding the worker is killed (-9) in
# the middle of running jobs; graceful restarts while hundreds of jobs run;
# two httpd instances sharing one database. Every job must finish exactly
# once, along a valid walk of the state machine.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use File::Temp qw(tempdir);
use File::Path qw(remove_tree);
use IO::Socket::INET;
use Sys::Hostname qw(hostname);
use Time::HiRes qw(sleep time);

my $T0 = time;
my $HOST = hostname();

# The database's clock, so times compare with ingest_job_transitions.at.
sub db_now { $_[0]->psql('SELECT extract(epoch FROM clock_timestamp())') }

sub count_where {
    my ($t, $where) = @_;
    return $t->psql("SELECT count(*) FROM ingest_jobs WHERE $where");
}

# Parent pid of a process, from /proc (undef once it is gone).
sub ppid_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return;
    my $stat = <$fh>;
    # "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'
    my ($state, $ppid) = $stat =~ /\)\s+(\S)\s+(\d+)/ or return;
    return wantarray ? ($ppid, $state) : $ppid;
}

sub gone_or_zombie {
    my ($pid) = @_;
    my ($ppid, $state) = ppid_of($pid);
    return !defined $ppid || $state eq 'Z';
}

# Every job's transitions, as "-,queued queued,running ..." strings.
sub paths {
    my ($t, $where) = @_;
    $where //= 'true';
    my %p = map { split /\|/, $_, 2 } split /\n/, $t->psql(<<SQL);
SELECT tr.job_id, string_agg(coalesce(tr.from_status::text, '-') || '>' || tr.to_status, ' ' ORDER BY tr.id)
FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id) WHERE $where GROUP BY tr.job_id
SQL
    return \%p;
}

sub show_job {
    my ($t, $id) = @_;
    diag "transitions of $id:\n" . $t->psql(<<SQL);
SELECT id, coalesce(from_status::text, '-'), to_status, coalesce(lease_owner, '-'), at
FROM ingest_job_transitions WHERE job_id = '$id' ORDER BY id
SQL
    diag 'row: ' . $t->psql("SELECT status, attempts, coalesce(lease_owner, '-'), lease_expires_at, due_at, error "
        . "FROM ingest_jobs WHERE job_id = '$id'");
}

# The invariants that must hold whatever happened to the workers: checks
# $n jobs (selected by $where on ingest_jobs j) are all terminal, each with
# exactly one transition into a terminal state (its last), none out of one,
# and every path a walk of the state machine.
sub state_machine_ok {
    my ($t, $where, $n, $name) = @_;
    is($t->psql("SELECT count(*) FROM ingest_jobs j WHERE $where AND status IN ('completed', 'failed')"), $n,
        "$name: all $n jobs terminal");
    my $bad_terminal = $t->psql(<<SQL);
SELECT j.job_id FROM ingest_jobs j LEFT JOIN ingest_job_transitions tr
  ON tr.job_id = j.job_id AND tr.to_status IN ('completed', 'failed')
WHERE $where GROUP BY j.job_id HAVING count(tr.id) <> 1
SQL
    my @bt = grep { length } split /\n/, $bad_terminal;
    is(scalar @bt, 0, "$name: every job has exactly one transition into a terminal state");
    show_job($t, $bt[0]) if @bt;
    my $out = $t->psql(<<SQL);
SELECT tr.job_id FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id)
WHERE $where AND tr.from_status IN ('completed', 'failed') LIMIT 5
SQL
    my @out = grep { length } split /\n/, $out;
    is(scalar @out, 0, "$name: no transition out of a terminal state");
    show_job($t, $out[0]) if @out;
    # each step allowed, each step starts where the previous one ended, the
    # first is the INSERT into queued, and the last is the row's status
    my $walk = $t->psql(<<SQL);
SELECT DISTINCT job_id FROM (
  SELECT tr.job_id, tr.id, tr.from_status, tr.to_status, j.status AS now_status,
         lag(tr.to_status) OVER w AS prev, lead(tr.id) OVER w AS next_id
  FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id)
  WHERE $where WINDOW w AS (PARTITION BY tr.job_id ORDER BY tr.id)) x
WHERE from_status IS DISTINCT FROM prev
   OR (coalesce(from_status::text, '-') || '>' || to_status) NOT IN
      ('->queued', 'queued>running', 'running>queued', 'running>completed', 'running>failed')
   OR (next_id IS NULL AND to_status <> now_status)
SQL
    my @walk = grep { length } split /\n/, $walk;
    is(scalar @walk, 0, "$name: every job's transitions are a valid walk of the state machine")
        or diag scalar(@walk) . ' job(s) with an invalid path';
    show_job($t, $walk[0]) if @walk;
    my $hist = $t->psql(<<SQL);
SELECT path || ': ' || count(*) FROM (
  SELECT string_agg(coalesce(tr.from_status::text, '-') || '>' || tr.to_status, ' ' ORDER BY tr.id) AS path
  FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id) WHERE $where GROUP BY tr.job_id) p
GROUP BY path ORDER BY count(*) DESC
SQL
    diag "$name: paths seen:\n$hist";
}

sub log_lines {
    my ($t, $re, $text) = @_;
    return grep { /$re/ } split /\n/, $text // $t->error_log;
}

# Every lease owner a worker wrote is "host:ppid:pid:tid", with this host's
# name and the pid of one of the given httpd parents.
sub owners_ok {
    my ($t, $name, @parents) = @_;
    my %ok = map { ("$HOST:$_" => 1) } @parents;
    my @owners = grep { length } split /\n/, $t->psql(
        "SELECT DISTINCT lease_owner FROM ingest_job_transitions WHERE lease_owner IS NOT NULL ORDER BY 1");
    my @bad = grep { !/^([^:]+:\d+):\d+:\d+$/ || !$ok{$1} } @owners;
    is(scalar @bad, 0, "$name: every lease owner is host:ppid:pid:tid naming $HOST and the httpd parent")
        or diag "$name: malformed lease owners: @bad (expected prefix " . join(' or ', sort keys %ok) . ')';
}

# Second httpd instances still running when the script ends (a failed
# assertion that died, ^C): stopped here, whatever happened.
my @SECOND;
END { local $?; stop_second_httpd($_) for @SECOND }

# ---------------------------------------------------------------------------
# A second httpd against the first one's PostgreSQL: the first instance's
# config with Listen, ServerRoot, PidFile, DefaultRuntimeDir, ErrorLog and
# CustomLog moved to a directory of its own.
sub start_second_httpd {
    my ($t) = @_;
    my $dir = tempdir('ingest-t2-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $dir;
    mkdir "$dir/$_" for qw(run logs);
    my $port = IngestTest::free_port();
    open my $in, '<', $t->conf_file or die $!;
    my $conf = do { local $/; <$in> };
    close $in;
    my %seen;
    $seen{Listen} = $conf =~ s/^Listen\s+\S+$/Listen 127.0.0.1:$port/m;
    $seen{ServerRoot} = $conf =~ s/^ServerRoot\s+.*$/ServerRoot "$dir"/m;
    $seen{PidFile} = $conf =~ s/^PidFile\s+.*$/PidFile "$dir\/run\/httpd.pid"/m;
    $seen{DefaultRuntimeDir} = $conf =~ s/^DefaultRuntimeDir\s+.*$/DefaultRuntimeDir "$dir\/run"/m;
    $seen{ErrorLog} = $conf =~ s/^ErrorLog\s+.*$/ErrorLog "$dir\/logs\/error.log"/m;
    $seen{CustomLog} = $conf =~ s/^CustomLog\s+\S+/CustomLog "$dir\/logs\/access.log"/m;
    my @missing = grep { !$seen{$_} } sort keys %seen;
    die "second httpd: no @missing line in " . $t->conf_file . "\n" if @missing;
    my $cf = "$dir/httpd.conf";
    open my $out, '>', $cf or die $!;
    print $out $conf;
    close $out;
    my $h = { dir => $dir, port => $port, conf => $cf };
    push @SECOND, $h;
    IngestTest::run_or_die('/usr/sbin/apache2', '-f', $cf, '-d', $dir, '-k', 'start');
    my $deadline = time + 20;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp');
        if ($s && IngestTest::httpd_pid($h)) { close $s; return $h; }
        sleep 0.1;
    }
    die "second httpd did not start:\n" . IngestTest::error_log($h);
}

sub stop_second_httpd {
    my ($h) = @_;
    return if !$h || $h->{stopped}++;
    my $pid = IngestTest::httpd_pid($h) or return;
    kill 'TERM', $pid;
    my $deadline = time + 20;
    while (time < $deadline && kill(0, $pid)) { sleep 0.1 }
    my $exited = !kill(0, $pid);
    if (!$exited) {
        diag "second httpd $pid ignored SIGTERM for 20 s; killing it";
        kill 'KILL', $pid;
    }
    if ($ENV{INGEST_KEEP}) { diag "kept $h->{dir}" }
    else { remove_tree($h->{dir}) }
    return $exited;
}

# ===========================================================================
# 1. kill -9 of the child running the worker, in the middle of running jobs
{
    my $lease = 3;
    my $t = IngestTest->new(extra => <<CONF);
IngestProcessor simulate
IngestLeaseTime $lease
IngestSimulateDuration 4s
IngestSimulateDelay 0 0
IngestSimulateFailureRate 0
IngestWorkerInterval 100ms
CONF
    my $tok = $t->token('kill', 'u1');
    my @ids = map { $t->init_job($tok, filename => "k$_.csv")->{job_id} } 1 .. 30;
    is(scalar(grep { defined } @ids), 30, 'kill -9: 30 jobs created');
    ok(wait_until('running jobs', 15, sub { count_where($t, "status = 'running'") >= 20 }),
        'kill -9: jobs are running');
    my @owners = grep { length } split /\n/,
        $t->psql("SELECT DISTINCT lease_owner FROM ingest_jobs WHERE status = 'running'");
    is(scalar @owners, 1, 'kill -9: one worker holds the running jobs') or diag "owners: @owners";
    my $owner = $owners[0] // '';
    my $parent = $t->httpd_pid;
    like($owner, qr/^[^:()]+:\d+:\d+:\d+$/, "kill -9: lease owner '$owner' has the form host:ppid:pid:tid");
    my @f = split /:/, $owner;
    is($f[1], $parent, 'kill -9: the lease owner names the httpd parent') if @f == 4;
    # the pid is the third field of host:ppid:pid:tid; counted from the end
    # so that a malformed owner still lets the rest of the scenario run
    my $victim = $f[-2] // 0;
    ok($victim =~ /^\d+$/ && $victim > 1, "kill -9: lease owner names a pid ($victim)");
    is(scalar ppid_of($victim), $parent, "kill -9: pid $victim is a child of the httpd parent $parent");
    my $running_before = count_where($t, "status = 'running'");
    my $kill_at = db_now($t);
    # never signal a pid that is not one of this httpd's children
    my $is_child = (ppid_of($victim) // -1) == $parent;
    ok($is_child && kill('KILL', $victim), "kill -9 $victim with $running_before jobs running");
    ok(wait_until('the child to die', 10, sub { gone_or_zombie($victim) }), 'kill -9: the child is gone');

    ok(wait_until('all 30 terminal', 60, sub { count_where($t, "status IN ('completed', 'failed')") == 30 }),
        'kill -9: every job reached a terminal state within 60 s');
    diag sprintf 'kill -9: all terminal %.1f s after the kill', db_now($t) - $kill_at;
    is(count_where($t, "status = 'completed'"), 30, 'kill -9: all 30 completed (failure rate 0)');

    # the jobs the killed child was running when it died
    my @victims = grep { length } split /\n/, $t->psql(<<SQL);
SELECT DISTINCT job_id FROM ingest_job_transitions
WHERE to_status = 'running' AND lease_owner = '$owner'
  AND job_id NOT IN (SELECT job_id FROM ingest_job_transitions WHERE to_status = 'completed' AND lease_owner = '$owner')
SQL
    cmp_ok(scalar @victims, '>=', $running_before, 'kill -9: the killed child held ' . scalar(@victims) . ' running jobs');
    my $in = join ',', map { "'$_'" } @victims;
    $in ||= "'00000000-0000-0000-0000-000000000000'";
    my $rescued = $t->psql(<<SQL);
SELECT count(DISTINCT job_id) FROM ingest_job_transitions
WHERE job_id IN ($in) AND from_status = 'running' AND to_status = 'queued' AND lease_owner = '$owner'
SQL
    is($rescued, scalar @victims, 'kill -9: each of them got a running -> queued transition (rescued)');
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE job_id IN ($in) AND attempts >= 1"), scalar @victims,
        'kill -9: each rescued job has attempts >= 1');
    my $twice = $t->psql(<<'SQL');
SELECT count(*) FROM (SELECT job_id FROM ingest_job_transitions WHERE to_status = 'completed'
                      GROUP BY job_id HAVING count(*) > 1) x
SQL
    is($twice, 0, 'kill -9: no job has two transitions into completed');
    state_machine_ok($t, "j.tenant_id = 'kill'", 30, 'kill -9');
    owners_ok($t, 'kill -9', $parent);

    # how long until the rescued jobs ran again: rescue after the lease ran
    # out, claim after the 2^0 s backoff, plus mod_watchdog handing the
    # singleton to another child
    my $timing = $t->psql(<<SQL);
WITH r AS (
  SELECT job_id, min(at) FILTER (WHERE from_status = 'running' AND to_status = 'queued') AS requeued,
         min(at) FILTER (WHERE to_status = 'running' AND lease_owner <> '$owner') AS rerun
  FROM ingest_job_transitions WHERE job_id IN ($in) GROUP BY job_id)
SELECT round(max(extract(epoch FROM requeued) - $kill_at)::numeric, 2) || '|' ||
       round(max(extract(epoch FROM rerun) - $kill_at)::numeric, 2) || '|' ||
       count(*) FILTER (WHERE rerun IS NULL) FROM r
SQL
    my ($requeue_s, $rerun_s, $never) = split /\|/, $timing;
    my $limit = 2 * $lease + 12;
    diag "kill -9: rescued (running -> queued) at most ${requeue_s} s after the kill, running again at most ${rerun_s} s after it (limit $limit s)";
    is($never, 0, 'kill -9: every rescued job ran again under another worker');
    ok(defined $rerun_s && length $rerun_s && $rerun_s <= $limit,
        "kill -9: rescued jobs were running again within 2 lease times + 12 s ($rerun_s s)");
    my $new_owner = $t->psql("SELECT string_agg(DISTINCT lease_owner, ' ') FROM ingest_job_transitions "
        . "WHERE job_id IN ($in) AND to_status = 'completed'");
    diag "kill -9: the rescued jobs were completed by $new_owner";
    my $log = $t->error_log;
    my @log = log_lines($t, qr/IG0040[36]|exit signal|AH00/, $log);
    diag "kill -9: error_log:\n" . join("\n", @log[0 .. ($#log < 30 ? $#log : 29)]);
    ok(scalar(log_lines($t, qr/IG00403: worker: \d+ job\(s\) whose lease expired/, $log)),
        'kill -9: the rescue is logged');
}

# ===========================================================================
# 2. graceful restarts during 500 running simulated jobs
{
    my $t = IngestTest->new(extra => <<'CONF');
IngestProcessor simulate
IngestSimulateDuration 3s
IngestSimulateDelay 0 1
IngestSimulateFailureRate 0.1
IngestLeaseTime 5
IngestWorkerBatch 100
CONF
    my $started = time;
    $t->psql(<<'SQL');
INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status, due_at)
SELECT 'g', 'u', 'file_upload', 'g' || n || '.csv', 'csv', 1, 'queued', now() FROM generate_series(1, 500) n
SQL
    is(count_where($t, "tenant_id = 'g'"), 500, 'graceful: 500 jobs inserted');
    ok(wait_until('100 running', 20, sub { count_where($t, "status = 'running'") >= 100 }),
        'graceful: at least 100 jobs running');
    my @generations;
    for my $round (1, 2) {
        my $running = count_where($t, "status = 'running'");
        my $owners = $t->psql("SELECT string_agg(DISTINCT lease_owner, ' ') FROM ingest_jobs WHERE status = 'running'");
        my $at = db_now($t);
        my $ok = eval { IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful')); 1 };
        ok($ok, "graceful restart $round with $running jobs running (held by $owners)") or diag $@;
        push @generations, $at;
        last if $round == 2;
        # let the new generation pick the work up before the second restart
        wait_until('a new worker running jobs', 15, sub {
            $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'running' AND lease_owner IS NOT NULL "
                . "AND lease_owner NOT IN (" . join(',', map { "'$_'" } split ' ', $owners // '') . ")") >= 1
                || count_where($t, "status IN ('completed', 'failed')") == 500
        });
    }
    ok(wait_until('all 500 terminal', 120, sub { count_where($t, "status IN ('completed', 'failed')") == 500 }),
        'graceful: all 500 jobs reached a terminal state within 120 s');
    diag sprintf 'graceful: all terminal after %.1f s', time - $started;
    state_machine_ok($t, "j.tenant_id = 'g'", 500, 'graceful');
    my ($requeues, $rescued_jobs, $attempts) = split /\|/, $t->psql(<<'SQL');
SELECT (SELECT count(*) FROM ingest_job_transitions WHERE from_status = 'running' AND to_status = 'queued') || '|' ||
       (SELECT count(*) FROM ingest_jobs WHERE attempts > 0) || '|' || (SELECT coalesce(sum(attempts), 0) FROM ingest_jobs)
SQL
    my $log = $t->error_log;
    my @released = log_lines($t, qr/IG00405/, $log);
    my $released_tr = $requeues - $attempts;
    my @rescues = log_lines($t, qr/IG00403/, $log);
    my $released_n = 0;
    $released_n += $_ for map { /gave (\d+) running/ ? $1 : 0 } @released;
    diag "graceful: $requeues running -> queued transitions: $released_tr given back by stopping workers "
        . "($released_n in IG00405 x" . scalar(@released) . "), $attempts by lease rescue ($rescued_jobs jobs with "
        . "attempts > 0, IG00403 x" . scalar(@rescues) . ")";
    diag "graceful: outcome " . $t->psql("SELECT string_agg(status || ' ' || n, ', ') FROM "
        . "(SELECT status, count(*) n FROM ingest_jobs GROUP BY status ORDER BY status) s");
    diag "graceful: workers that held jobs: "
        . $t->psql("SELECT string_agg(o || ' (' || n || ')', ', ') FROM (SELECT lease_owner o, count(*) n "
            . "FROM ingest_job_transitions WHERE to_status = 'running' GROUP BY 1 ORDER BY min(id)) x");
    my @log = log_lines($t, qr/IG0040[356]|AH00/, $log);
    diag "graceful: error_log:\n" . join("\n", @log[0 .. ($#log < 40 ? $#log : 39)]);
    my @errors = log_lines($t, qr/\[(error|crit|alert|emerg)\]|IG00206/, $log);
    is(scalar @errors, 0, 'graceful: no errors in the error_log') or diag join "\n", @errors[0 .. ($#errors < 10 ? $#errors : 9)];
    # a graceful restart stops the old children: the worker's STOPPING
    # state gives its running jobs back (running -> queued, due now) rather
    # than leaving them to wait out their leases
    cmp_ok($released_tr, '>', 0, 'graceful: the stopping worker gave its running jobs back (IG00405)');
    my @crashes = log_lines($t, qr/AH00052: child pid \d+ exit signal|Assertion .* failed/, $log);
    is(scalar @crashes, 0, 'graceful: no child died on a signal during the graceful restarts')
        or diag join "\n", @crashes;
    owners_ok($t, 'graceful', $t->httpd_pid);
}

# ===========================================================================
# 3. two httpd instances, one database, 5,000 jobs
{
    my $cfg = <<'CONF';
IngestProcessor simulate
IngestSimulateDelay 0 0
IngestSimulateDuration 0
IngestSimulateFailureRate 0
IngestWorkerBatch 100
IngestWorkerInterval 50ms
CONF
    my $t = IngestTest->new(extra => $cfg);
    my $h2 = eval { start_second_httpd($t) };
    ok($h2, 'two instances: a second httpd started on the same database') or diag $@;
    SKIP: {
        skip 'no second httpd', 8 unless $h2;
        my $p1 = $t->httpd_pid;
        my $p2 = IngestTest::httpd_pid($h2);
        isnt($p1, $p2, "two instances: different parents ($p1, $p2)");
        is($t->request('GET', '/api/ingest/health')->{status}, 200, 'two instances: the first answers');
        my $r2 = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$h2->{port}/api/ingest/health");
        is($r2->{status}, 200, 'two instances: the second answers');
        ok(wait_until('two heartbeats', 20, sub {
            $t->psql("SELECT count(*) FROM ingest_workers WHERE last_tick > now() - interval '5 seconds'") == 2 }),
            'two instances: both workers are ticking');
        my $ins_at = db_now($t);
        my $t_ins = time;
        $t->psql(<<'SQL');
INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status, due_at)
SELECT 'two', 'u', 'file_upload', 'two' || n || '.csv', 'csv', 1, 'queued', now() FROM generate_series(1, 5000) n
SQL
        diag sprintf 'two instances: 5,000 jobs inserted in %.2f s', time - $t_ins;
        ok(wait_until('5000 completed', 180, sub { count_where($t, "status IN ('completed', 'failed')") == 5000 }),
            'two instances: all 5,000 jobs finished within 180 s');
        my $wall = time - $t_ins;
        is(count_where($t, "status = 'completed'"), 5000, 'two instances: all 5,000 completed');
        my $bad = $t->psql(<<'SQL');
SELECT count(*) FROM (
  SELECT job_id, count(*) FILTER (WHERE to_status = 'completed') c, count(*) FILTER (WHERE to_status = 'running') r
  FROM ingest_job_transitions GROUP BY job_id) x WHERE c <> 1 OR r <> 1
SQL
        is($bad, 0, 'two instances: each job has exactly one transition into running and one into completed');
        if ($bad) {
            my $id = $t->psql(<<'SQL');
SELECT job_id FROM ingest_job_transitions GROUP BY job_id
HAVING count(*) FILTER (WHERE to_status = 'completed') <> 1 OR count(*) FILTER (WHERE to_status = 'running') <> 1 LIMIT 1
SQL
            show_job($t, $id);
        }
        state_machine_ok($t, "j.tenant_id = 'two'", 5000, 'two instances');
        my $per = $t->psql(<<'SQL');
SELECT w || '=' || count(*) FROM (
  SELECT split_part(lease_owner, ':', 1) || ':' || split_part(lease_owner, ':', 2) AS w
  FROM ingest_job_transitions WHERE to_status = 'running') x GROUP BY w ORDER BY w
SQL
        my @per = grep { length } split /\n/, $per;
        is(scalar @per, 2, 'two instances: both workers took part (two distinct host:ppid prefixes)')
            or diag "workers: @per";
        is(join(' ', sort map { /^(.*)=/ } @per), join(' ', sort("$HOST:$p1", "$HOST:$p2")),
            'two instances: the prefixes name this host and the two httpd parents');
        owners_ok($t, 'two instances', $p1, $p2);
        my $span = $t->psql(<<SQL);
SELECT round((extract(epoch FROM max(at)) - $ins_at)::numeric, 2) FROM ingest_job_transitions WHERE to_status = 'completed'
SQL
        diag sprintf 'two instances: jobs per worker (running transitions): %s', join(', ', @per);
        diag sprintf 'two instances: 5,000 jobs in %.2f s by the database clock (%.0f jobs/s); %.2f s wall '
            . 'including polling (%.0f jobs/s)', $span, 5000 / ($span || 1), $wall, 5000 / ($wall || 1);
        my @errors = (log_lines($t, qr/\[(error|crit|alert|emerg)\]|IG00206/),
            log_lines($t, qr/\[(error|crit|alert|emerg)\]|IG00206/, IngestTest::error_log($h2)));
        is(scalar @errors, 0, 'two instances: no errors in either error_log')
            or diag join "\n", @errors[0 .. ($#errors < 10 ? $#errors : 9)];
    }
    if ($h2) {
        my $pid = IngestTest::httpd_pid($h2);
        ok(stop_second_httpd($h2), "two instances: the second httpd ($pid) exited on SIGTERM");
    }
}

diag sprintf 'total %.1f s', time - $T0;
done_testing;
