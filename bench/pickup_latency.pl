#!/usr/bin/perl
# Pick-up latency (issue 12): how long a job that becomes queued waits for
# the worker. JOBS simulated jobs (no delay, no running phase, no failures)
# are created through the real HTTP API (POST /api/ingest/init, which
# queues them at once in simulate mode), one every SPACING ms, against a
# worker with IngestWorkerInterval 200ms; then the database's own
# started_at - created_at of every job gives p50, p90, p99 and max, with
# IngestWorkerNotify on (LISTEN/NOTIFY, sql/012_notify.sql) and off (the
# interval alone). Prints a table.
# Loopback only; bounded: each mode stops waiting after 120 s.
#   perl bench/pickup_latency.pl [JOBS]      (default 500)
#   SPACING=20 INTERVAL=200ms MODES=on,off perl bench/pickup_latency.pl 500
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use HTTP::Tiny;
use Time::HiRes qw(time sleep);

my $jobs = shift // 500;
my $spacing = $ENV{SPACING} // 20;
my $interval = $ENV{INTERVAL} // '200ms';
my @modes = split /,/, $ENV{MODES} // 'on,off';
die "JOBS must be 1..100000\n" unless $jobs =~ /^\d+$/ && $jobs >= 1 && $jobs <= 100_000;
die "SPACING is whole milliseconds, 0..10000\n" unless $spacing =~ /^\d+$/ && $spacing <= 10_000;
die "MODES is on, off or both\n" if grep { !/^(on|off)$/ } @modes;

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
    my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
    my $body = '{"filename":"b.csv","file_type":"csv","file_size":100}';
    my ($created, $late) = (0, 0);
    my $t0 = time;
    for my $i (0 .. $jobs - 1) {
        # on a fixed schedule: a slow answer does not push the later jobs
        my $at = $t0 + $i * $spacing / 1000;
        my $wait = $at - time;
        if ($wait > 0) { sleep $wait } else { $late++ if $wait < -$spacing / 1000 }
        my $r = $http->request('POST', $t->url('/api/ingest/init'),
            { headers => { Authorization => "Bearer $tok", 'Content-Type' => 'application/json' }, content => $body });
        $created++ if $r->{status} == 201;
    }
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
    $t->teardown;
    return ($created, $started, $late, @p);
}

printf "%-7s %-9s %6s %8s %8s %9s %9s %9s %9s\n", 'notify', 'interval', 'jobs', 'started', 'late', 'p50 ms',
    'p90 ms', 'p99 ms', 'max ms';
for my $mode (@modes) {
    my ($created, $started, $late, @p) = run($mode);
    printf "%-7s %-9s %6d %8d %8d %9s %9s %9s %9s\n", $mode, $interval, $created, $started, $late, @p;
}
print "(jobs: created with 201; late: requests sent more than one spacing ($spacing ms) behind schedule)\n";
