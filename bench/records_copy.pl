#!/usr/bin/perl
# Records landing against PostgreSQL's own bulk path: a generated CSV of
# ROWS rows and 8 columns (about 100 bytes a row) is uploaded to a real
# httpd with IngestProcessor parse and landed in ingest_records, and the
# same rows, as (seq, line, data jsonb) text, are loaded with psql's \copy
# into a table of that shape (no index), in the same cluster in the same
# run. Prints both times, their ratio, the records/s, and the peak growth
# of the httpd children's resident memory (VmHWM) while the file was
# uploaded and landed.
#   perl bench/records_copy.pl [ROWS]      (default 1000000; 1000..5000000)
# PostgreSQL runs durable (fsync, synchronous_commit) with shared_buffers
# 1GB; loopback only; bounded: the job must end within 900 s.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use IngestMemory qw(children_memory);
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $rows = shift // 1_000_000;
die "ROWS must be 1000..5000000\n" unless $rows =~ /^\d+$/ && $rows >= 1000 && $rows <= 5_000_000;
$ENV{PG_OPTS} = '-c shared_buffers=1GB';

my $t = IngestTest->new(durable => 1, log_level => 'warn',
    extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n<Location /api/>\nIngestMaxUploadSize 8G\n</Location>\n");
my $tok = $t->token('bench', 'u');

# The two files, from the same rows: the CSV, and its records as \copy text.
my @cities = qw(Lisbon Porto Berlin Paris Oslo Rome Madrid Vienna);
my $csv = "$t->{dir}/bench.csv";
my $txt = "$t->{dir}/bench.copy";
open my $c, '>', $csv or die "$csv: $!";
open my $x, '>', $txt or die "$txt: $!";
print $c "id,name,email,city,amount,qty,day,active\n";
for my $n (1 .. $rows) {
    my @v = ($n, "customer number $n", "customer.number$n\@example.com", $cities[$n % 8],
        sprintf('%d.%02d', $n % 1000, $n % 100),
        $n % 97, sprintf('2026-%02d-%02d', $n % 12 + 1, $n % 28 + 1), $n % 3 ? 'true' : 'false');
    print $c join(',', @v), "\n";
    my @k = qw(id name email city amount qty day active);
    print $x "$n\t", $n + 1, "\t{", join(',', map { "\"$k[$_]\":\"$v[$_]\"" } 0 .. 7), "}\n";
}
close $c or die $!;
close $x or die $!;
my $bytes = -s $csv;

# PostgreSQL's own bulk load of the same records, the ceiling.
$t->psql('CREATE TABLE bench_copy (seq bigint, line bigint, data jsonb)');
my $t0 = time;
IngestTest::run_or_die('psql', '-X', '-q', '-h', '127.0.0.1', '-p', $t->{pgport}, '-U', 'ingest', '-d', 'ingest',
    '-c', "\\copy bench_copy FROM '$txt'");
my $copy_secs = time - $t0;
die "\\copy loaded the wrong count\n" unless $t->psql('SELECT count(*) FROM bench_copy') == $rows;
$t->psql('DROP TABLE bench_copy');
$t->psql('CHECKPOINT');

# The module: init, the upload streamed from the file, then the parse.
my $mem0 = children_memory($t);
my $job = $t->init_job($tok, filename => 'bench.csv', file_type => 'csv', file_size => $bytes);
$t0 = time;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port}, Proto => 'tcp') or die $!;
print $s "PUT $job->{upload_url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: $bytes\r\n"
    . "Content-Type: text/csv\r\nConnection: close\r\n\r\n";
open my $in, '<', $csv or die $!;
while (read($in, my $buf, 1 << 20)) { print $s $buf or die "send: $!" }
close $in;
my $resp = '';
while (sysread($s, my $buf, 65536)) { $resp .= $buf }
close $s;
die "upload answered: " . substr($resp, 0, 200) . "\n" unless $resp =~ m{^HTTP/1\.1 200};
my $uploaded = time - $t0;

my ($st, %peak);
my $deadline = time + 900;
while (time < $deadline) {
    my $m = children_memory($t);
    for (keys %$m) { $peak{$_} = $m->{$_}{hwm} if $m->{$_}{hwm} > ($peak{$_} // 0) }
    $st = $t->request('GET', "/api/ingest/status/$job->{job_id}", token => $tok)->{json};
    last if $st && $st->{status} =~ /^(completed|failed)$/;
    sleep 0.2;
}
my $total = time - $t0;
die "the job did not complete: " . ($st ? "$st->{status} " . ($st->{error} // '') : 'no status') . "\n"
    unless $st && $st->{status} eq 'completed';
my $stored = $t->psql("SELECT count(*) FROM ingest_records WHERE job_id = '$job->{job_id}'");
my ($fresh) = sort { $a <=> $b } map { $_->{hwm} } values %$mem0;
my $growth = 0;
for (keys %peak) {
    my $g = $peak{$_} - ($mem0->{$_} ? $mem0->{$_}{hwm} : $fresh // 0);
    $growth = $g if $g > $growth;
}
my $size = $t->psql("SELECT pg_total_relation_size('ingest_records')");

printf "\nPostgreSQL: shared_buffers 1GB, durable (fsync, synchronous_commit on)\n";
printf "%-9s %8s %9s %9s %9s %9s %7s %12s %10s %12s\n", 'rows', 'MiB', '\\copy s', 'upload s', 'parsed s',
    'total s', 'ratio', 'records/s', 'child MiB', 'table MiB';
printf "%-9d %8.1f %9.2f %9.2f %9.2f %9.2f %7.2f %12.0f %10.1f %12.0f\n", $rows, $bytes / 1048576, $copy_secs,
    $uploaded, $total - $uploaded, $total, $total / $copy_secs, $rows / $total, $growth / 1024, $size / 1048576;
print "\nrecords stored: $stored of $rows; ratio: the upload-to-completed time over \\copy's;\n"
    . "child MiB: the largest growth of an httpd child's peak resident memory (VmHWM) meanwhile.\n";
$t->teardown;
