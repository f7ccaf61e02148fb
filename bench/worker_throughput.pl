#!/usr/bin/perl
# Worker throughput: N simulated jobs (no delay, no running phase) queued in
# one statement, timed until all are terminal, for several IngestWorkerBatch
# sizes, against one httpd server. Prints a table.
# Loopback only; every run is bounded (N jobs, 300 s at most).
#   perl bench/worker_throughput.pl [JOBS]   (default 5000)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use Time::HiRes qw(time sleep);

my $jobs = shift // 5000;
die "JOBS must be 1..100000\n" unless $jobs =~ /^\d+$/ && $jobs >= 1 && $jobs <= 100000;

sub run {
    my ($batch) = @_;
    my $t = IngestTest->new(extra => "IngestProcessor simulate\nIngestSimulateDelay 0 0\nIngestSimulateDuration 0\n"
        . "IngestSimulateFailureRate 0\nIngestWorkerBatch $batch\nIngestWorkerInterval 50ms\n", log_level => 'warn');
    $t->psql("INSERT INTO ingest_jobs (tenant_id, source_type, filename, file_type, file_size, status) "
        . "SELECT 'bench', 'file_upload', 'f' || n || '.csv', 'csv', 1, 'queued' FROM generate_series(1, $jobs) n");
    my $t0 = time;
    my $done = 0;
    while (time - $t0 < 300) {
        $done = $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'completed'");
        last if $done == $jobs;
        sleep 0.1;
    }
    my $secs = time - $t0;
    return ($done, $secs);
}

printf "%-8s %-8s %10s %10s %12s\n", 'jobs', 'batch', 'completed', 'seconds', 'jobs/s';
for my $batch (10, 100, 500) {
    my ($done, $secs) = run($batch);
    printf "%-8d %-8d %10d %10.2f %12.0f\n", $jobs, $batch, $done, $secs, $done / $secs;
}
