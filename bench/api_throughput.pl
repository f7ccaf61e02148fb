#!/usr/bin/perl
# API throughput with wrk on loopback: a real httpd with the module and a
# private PostgreSQL, a tenant with 15,000 jobs, then 10 s of wrk per
# endpoint (2 threads, 32 connections). Prints a table. Bounded in time;
# targets 127.0.0.1 only. Needs wrk (apt-get install wrk).
#   perl bench/api_throughput.pl [SECONDS]   (default 10, at most 60)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;

my $secs = shift // 10;
die "SECONDS must be 1..60\n" unless $secs =~ /^\d+$/ && $secs >= 1 && $secs <= 60;
system('sh', '-c', 'command -v wrk >/dev/null') == 0 or die "wrk is not installed (apt-get install wrk)\n";

my $t = IngestTest->new(log_level => 'warn')->expect_log(qr/AH10159/);
my $tok = $t->token('bench', 'u1');
$t->psql("INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size) "
    . "SELECT 'bench', 'u1', 'file_upload', 'f' || n || '.csv', 'csv', n FROM generate_series(1, 15000) n");
my $job = $t->init_job($tok)->{job_id};

my $lua = "$t->{dir}/init.lua";
open my $fh, '>', $lua or die $!;
print $fh qq{wrk.method = "POST"\nwrk.body = '{"filename":"b.csv","file_type":"csv","file_size":1}'\n}
    . qq{wrk.headers["Content-Type"] = "application/json"\n};
close $fh;

my @cases = (
    ['GET /api/ingest/health', '/api/ingest/health', 0],
    ['GET /api/ingest/status/{id}', "/api/ingest/status/$job", 0],
    ['GET /api/ingest/jobs?limit=20', '/api/ingest/jobs?limit=20', 0],
    ['GET /api/ingest/stats', '/api/ingest/stats', 0],
    ['POST /api/ingest/init', '/api/ingest/init', 1],
);
printf "%-32s %12s %12s %12s %10s\n", 'endpoint', 'requests/s', 'latency_avg', 'latency_p99', 'non-2xx';
for my $c (@cases) {
    my ($name, $path, $post) = @$c;
    my @cmd = ('wrk', '-t2', '-c32', "-d${secs}s", '--latency', '-H', "Authorization: Bearer $tok",
        ($post ? ('-s', $lua) : ()), $t->url($path));
    open my $out, '-|', @cmd or die $!;
    my $text = do { local $/; <$out> };
    close $out;
    my ($rps) = $text =~ /Requests\/sec:\s+([\d.]+)/;
    my ($avg) = $text =~ /Latency\s+(\S+)/;
    my ($p99) = $text =~ /99%\s+(\S+)/;
    my ($bad) = $text =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    printf "%-32s %12.0f %12s %12s %10d\n", $name, $rps // 0, $avg // '-', $p99 // '-', $bad // 0;
}
