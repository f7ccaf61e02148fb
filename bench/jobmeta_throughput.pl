#!/usr/bin/perl
# ML job metadata ingestion (seed 003) against a ceiling in the same run:
# N records (default 50,000) as one NDJSON file through init + presigned
# upload, timed from the upload to the ingestion's completion by the
# database clock (started_at .. completed_at), next to psql \copy of the
# same rows into a bare table with the same columns (no validation, no
# upsert, no per-day rows, no results): the ratio is what the worker's
# checks and its batched upserts cost. Prints a table. A real httpd with
# the module and a private PostgreSQL on loopback; bounded in size.
#   perl bench/jobmeta_throughput.pl [RECORDS]   (1,000 .. 200,000)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest qw(wait_until);
use Time::HiRes qw(time);

my $n = shift // 50_000;
die "RECORDS must be 1000..200000\n" unless $n =~ /^\d+$/ && $n >= 1000 && $n <= 200_000;

my $t = IngestTest->new(log_level => 'warn', extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n");
my $tok = $t->token('bench', 'u1');
my @teams = qw(nlp-research vision-platform recsys);
my ($ndjson, $tsv) = ('', '');
for my $i (1 .. $n) {
    my $d = 1 + $i % 14;
    my ($s, $e) = (sprintf('2026-01-%02dT%02d:00:00Z', $d, $i % 24), sprintf('2026-01-%02dT%02d:30:00Z', $d + 1, $i % 24));
    my $team = $teams[ $i % 3 ];
    my $cost = sprintf('%.2f', 1 + ($i % 997) / 7);
    $ndjson .= qq({"job_id":"b-$i","team":"$team","model_name":"model-@{[$i % 11]}","gpu_type":"A100-80GB",)
        . qq("provider":"aws","status":"completed","started_at":"$s","ended_at":"$e","gpu_hours":8,"cost_usd":$cost}\n);
    $tsv .= join("\t", "b-$i", $team, 'model-' . ($i % 11), 'A100-80GB', 'aws', 'completed', $s, $e, 8, $cost) . "\n";
}

my $init = $t->request('POST', '/api/ingest/init', token => $tok,
    json => { source_type => 'job_metadata', filename => 'jobs.ndjson', file_type => 'ndjson', file_size => length $ndjson });
die "init: $init->{status} $init->{content}\n" unless $init->{status} == 201;
my $id = $init->{json}{job_id};
my $up = $t->request('PUT', $init->{json}{upload_url}, body => $ndjson);
die "upload: $up->{status}\n" unless $up->{status} =~ /^2/;
wait_until('the ingestion', 600, sub {
    $t->psql("SELECT status IN ('completed', 'failed') FROM ingest_jobs WHERE job_id = '$id'") eq 't';
}, 0.1) or die "the ingestion did not finish\n";
my ($status, $secs) = split /\|/, $t->psql("SELECT status, extract(epoch FROM completed_at - started_at) FROM ingest_jobs WHERE job_id = '$id'");
die "the ingestion $status\n" unless $status eq 'completed';
my $rows = $t->psql("SELECT count(*) FROM ingest_ml_jobs WHERE tenant_id = 'bench'");
my $days = $t->psql("SELECT count(*) FROM ingest_ml_costs WHERE tenant_id = 'bench'");

# the ceiling: the same rows, \copy into a bare table
my $file = "$t->{dir}/rows.tsv";
open my $fh, '>', $file or die $!;
print $fh $tsv;
close $fh;
$t->psql('CREATE TABLE bench_copy (job_id text, team text, model_name text, gpu_type text, provider text, '
    . 'status text, started_at timestamptz, ended_at timestamptz, gpu_hours numeric, cost_usd numeric)');
my $t0 = time;
system('psql', '-X', '-q', '-h', '127.0.0.1', '-p', $t->{pgport}, '-U', 'ingest', '-d', 'ingest', '-c',
    "\\copy bench_copy FROM '$file'") == 0 or die "\\copy failed\n";
my $copy = time - $t0;

printf "%-44s %10s %12s %10s\n", 'what', 'records', 'seconds', 'records/s';
printf "%-44s %10d %12.3f %10.0f\n", 'ingestion (validate, upsert, days, results)', $rows, $secs, $rows / $secs;
printf "%-44s %10d %12.3f %10.0f\n", 'psql \\copy into a bare table (ceiling)', $n, $copy, $n / $copy;
printf "ratio: the ingestion takes %.1fx the time of \\copy (%d cost-day rows written)\n", $secs / $copy, $days;
$t->teardown;
