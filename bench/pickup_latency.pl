#!/usr/bin/perl
# Pick-up latency (issue 12): how long a job that becomes queued waits for
# the worker. JOBS simulated jobs (no delay, no running phase, no failures)
# are created through the real HTTP API (POST /api/ingest/init, which
# queues them at once in simulate mode), one every SPACING ms (from
# CLIENTS processes taking turns, on one fixed schedule), against a
# worker with IngestWorkerInterval 200ms; then the database's own
# started_at - created_at of every job gives p50, p90, p99 and max, with
# IngestWorkerNotify on (LISTEN/NOTIFY, sql/012_notify.sql) and off (the
# interval alone). Prints a table.
# Loopback only; bounded: each mode stops waiting after 120 s.
#   perl bench/pickup_latency.pl [JOBS]      (default 500)
#   SPACING=20 CLIENTS=4 INTERVAL=200ms MODES=on,off DETAIL=1 perl bench/pickup_latency.pl 500
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(time sleep);

my $jobs = shift // 500;
my $clients = $ENV{CLIENTS} // 4;
my $spacing = $ENV{SPACING} // 20;
my $interval = $ENV{INTERVAL} // '200ms';
my @modes = split /,/, $ENV{MODES} // 'on,off';
die "JOBS must be 1..100000\n" unless $jobs =~ /^\d+$/ && $jobs >= 1 && $jobs <= 100_000;
die "SPACING is whole milliseconds, 0..10000\n" unless $spacing =~ /^\d+$/ && $spacing <= 10_000;
die "MODES is on, off or both\n" if grep { !/^(on|off)$/ } @modes;
die "CLIENTS must be 1..32\n" unless $clients =~ /^\d+$/ && $clients >= 1 && $clients <= 32;

sub run {
    my ($mode) = @_;
    my $t = IngestTest->new(log_level => 'warn',
        extra => "IngestProcessor simulate\nIngestSimulateDelay 0 0\nIngestSimulateDuration 0\n"
            . "IngestSimulateFailureRate 0\nIngestWorkerInterval $interval\nIngestWorkerNotify $mode\n");
    # the worker is up (and listening, with notify on) before the first job
    my $ready = $mode eq 'on'
        ? "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN ingest_queued'"
        : "SELECT count(*) FROM ingest_workers";
    my $deadline = time + 60;
    sleep 0.1 while time < $deadline && !$t->psql($ready);
    die "mode $mode: the worker did not start\n" unless $t->psql($ready);
    my $tok = $t->token('bench', 'u1');
    my $body = '{"filename":"b.csv","file_type":"csv","file_size":100}';
    my $t0 = time + 0.2;
    # CLIENTS processes share the schedule (job i from client i % CLIENTS),
    # so an answer slower than the spacing does not delay the next job
    my @kids;
    for my $c (0 .. $clients - 1) {
        my $pid = fork // die "fork: $!";
        if ($pid) { push @kids, $pid; next }
        my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        my $late = 0;
        for (my $i = $c; $i < $jobs; $i += $clients) {
            my $wait = $t0 + $i * $spacing / 1000 - time;
            if ($wait > 0) { sleep $wait } else { $late++ if $wait < -$spacing / 1000 }
            $http->request('POST', $t->url('/api/ingest/init'),
                { headers => { Authorization => "Bearer $tok", 'Content-Type' => 'application/json' }, content => $body });
        }
        POSIX::_exit($late > 255 ? 255 : $late);
    }
    my $late = 0;
    for (@kids) { waitpid $_, 0; $late += $? >> 8 }
    my $sent = time - $t0;
    my $created = $t->psql("SELECT count(*) FROM ingest_jobs");
    $deadline = time + 120;
    sleep 0.2 while time < $deadline
        && $t->psql("SELECT count(*) FROM ingest_jobs WHERE started_at IS NULL") > 0;
    my $row = $t->psql(<<'SQL');
SELECT count(*), count(started_at),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(max(ms)::numeric, 1)
FROM (SELECT started_at, extract(epoch FROM started_at - created_at) * 1000 AS ms FROM ingest_jobs) j
SQL
    my ($n, $started, @p) = split /\|/, $row;
    # DETAIL=1: the slowest jobs' latencies, to tell a missed wake-up (about
    # one interval) from a slow machine
    print "# $mode: slowest (ms): ", $t->psql("SELECT string_agg(round(ms)::text, ' ') FROM (SELECT extract(epoch"
        . " FROM started_at - created_at) * 1000 AS ms FROM ingest_jobs ORDER BY 1 DESC LIMIT 20) s"), "\n"
        if $ENV{DETAIL};
    $t->teardown;
    return ($created, $started, $late, $sent, @p);
}

printf "%-7s %-9s %6s %8s %6s %8s %9s %9s %9s %9s\n", 'notify', 'interval', 'jobs', 'started', 'late', 'sent s',
    'p50 ms', 'p90 ms', 'p99 ms', 'max ms';
for my $mode (@modes) {
    my ($created, $started, $late, $sent, @p) = run($mode);
    printf "%-7s %-9s %6d %8d %6d %8.1f %9s %9s %9s %9s\n", $mode, $interval, $created, $started, $late, $sent, @p;
}
printf "(jobs: created; late: requests sent more than one spacing behind their schedule; sent s: the\n"
    . " time the %d requests took, %.1f s on schedule: more means the answers took longer than %d ms)\n",
    $jobs, ($jobs - 1) * $spacing / 1000, $spacing;
