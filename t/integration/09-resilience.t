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
use IngestJobs qw(db_now count_where ppid_of gone_or_zombie show_job state_machine_ok owners_ok);
use Sys::Hostname qw(hostname);
use Time::HiRes qw(sleep time);

my $T0 = time;
my $HOST = hostname();

sub log_lines {
    my ($t, $re, $text) = @_;
    return grep { /$re/ } split /\n/, $text // $t->error_log;
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
    # a graceful restart stops the old children: the worker's STOPPING
    # state gives its running jobs back (running -> queued, due now) rather
    # than leaving them to wait out their leases
    cmp_ok($released_tr, '>', 0, 'graceful: the stopping worker gave its running jobs back (IG00405)');
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
    my $h2 = eval { $t->start_second_httpd };
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
    }
    if ($h2) {
        my $pid = IngestTest::httpd_pid($h2);
        ok(IngestTest::stop_httpd($h2), "two instances: the second httpd ($pid) exited on SIGTERM");
    }
}

diag sprintf 'total %.1f s', time - $T0;
done_testing;
