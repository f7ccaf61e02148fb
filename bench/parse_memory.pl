#!/usr/bin/perl
# Parse memory: uploads files of hostile shapes, SIZE_MB MiB each (default
# 64), to a real httpd with IngestProcessor parse, and prints for each the
# job's outcome and the peak resident memory growth (VmHWM) of the httpd
# children while it was uploaded and parsed; then (batch) 16 files, uploaded
# while no worker runs, that one worker pass parses. The bar: no child
# grows by more than 64 MiB, whatever the shape and size, each job either
# fails with a clear error or completes with a bounded, truncated summary,
# and a pass of many jobs holds the memory of one.
#   perl bench/parse_memory.pl [SIZE_MB [SHAPE...]]   (SIZE_MB 1..4096; 16 or more for batch)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use IngestMemory qw(children_memory);
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use constant MiB => 1024 * 1024;

my $mb = shift // 64;
die "SIZE_MB must be 1..4096\n" unless $mb =~ /^\d+$/ && $mb >= 1 && $mb <= 4096;
my $size = $mb * MiB;
my $TIMEOUT = 600;    # seconds a job may take to end

# A shape: file_type, the head, the unit repeated after it (a string, or a
# code ref giving the n-th), the tail, and the byte that pads the body to
# exactly SIZE bytes just before the tail (where the format ignores it or
# takes it as data).
sub keys_line {
    my ($n) = @_;
    return '{' . join(',', map { "\"k${n}_$_\":0" } 1 .. 60_000) . "}\n";    # under 1 MiB
}
my $zeros = '0,' x (MiB / 2 - 16);    # an array of just under 1 MiB
my $columns = 100_000;
my %SHAPES = (
    csv_header  => ['csv', '', 'a,', "a\n", ' '],                    # one header row of SIZE bytes
    csv_field   => ['csv', "a\n\"", 'x', "\"\n", 'x'],               # one quoted field of SIZE bytes
    json_array  => ['json', '[{"a":[', '0,', '0]}]', ' '],           # [{"a":[0,0,…]}]
    json_string => ['json', '[{"a":"', 'x', '"}]', 'x'],             # one string token
    ndjson_keys => ['ndjson', '', \&keys_line, '', ' '],             # 60,000 new keys on every line
    csv_wide    => ['csv', join(',', map { "c$_" } 1 .. $columns) . "\n", ('0,' x ($columns - 1)) . "0\n", '', ' '],
    json_wide   => ['json', '[', sub { ($_[0] ? ',' : '') . "{\"a\":[${zeros}0]}" }, ']', ' '],
    ndjson_wide => ['ndjson', '', "{\"a\":[${zeros}0]}\n", '', ' '],
    csv_plain   => ['csv', "id,name,amount\n", sub { "$_[0],name $_[0]," . ($_[0] * 7 % 1000) . "\n" }, '', ' '],
);
# batch: SIZE_MB of json_wide in $BATCH jobs, which one worker pass parses
my $BATCH = 16;
my @ORDER = qw(csv_header csv_field json_array json_string ndjson_keys csv_wide json_wide ndjson_wide csv_plain batch);
my @shapes = @ARGV ? @ARGV : @ORDER;
for (@shapes) { die "unknown shape $_ (one of @ORDER)\n" unless $SHAPES{$_} || $_ eq 'batch' }
die "SIZE_MB must be at least $BATCH for batch\n" if $mb < $BATCH && grep { $_ eq 'batch' } @shapes;

# Writes the body of a shape, exactly $bytes bytes, to $out in pieces of
# about 1 MiB.
sub send_body {
    my ($out, $shape, $bytes) = @_;
    my (undef, $head, $unit, $tail, $pad) = @{ $SHAPES{$shape} };
    my ($buf, $sent) = ($head, 0);
    my $room = $bytes - length($head) - length($tail);
    die "$shape does not fit in $bytes bytes\n" if $room < 0;
    my $flush = sub { print $out $buf or die "send: $!"; $sent += length $buf; $buf = '' };
    if (ref $unit) {
        for (my $n = 0;; ++$n) {
            my $u = $unit->($n);
            last if length($u) > $room;
            $buf .= $u;
            $room -= length $u;
            $flush->() if length $buf >= MiB;
        }
    }
    else {
        my $per = int(MiB / length $unit) || 1;
        while ($room >= length $unit) {
            my $k = int($room / length $unit);
            $k = $per if $k > $per;
            $buf .= $unit x $k;
            $room -= $k * length $unit;
            $flush->() if length $buf >= MiB;
        }
    }
    while ($room > 0) {
        my $k = $room < MiB ? $room : MiB;
        $buf .= $pad x $k;
        $room -= $k;
        $flush->();
    }
    $buf .= $tail;
    $flush->();
    die "$shape: sent $sent bytes, not $bytes\n" unless $sent == $bytes;
}

# pid => VmHWM (KiB) of every child of httpd's parent.
sub children_hwm {
    my $m = children_memory($_[0]);
    return { map { $_ => $m->{$_}{hwm} } keys %$m };
}

my $UPLOADS = "<Location /api/>\nIngestMaxUploadSize 8G\n</Location>\n";
my $t = IngestTest->new(log_level => 'warn', extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n$UPLOADS");
my $tok = $t->token('bench', 'u');

# httpd restarted with a processor: fresh children, whose VmHWM (a peak
# since the process started) tells what this run took. The parent listens
# before its children exist: they are waited for (StartServers 2), and
# for one to answer.
sub restart {
    my ($processor) = @_;
    $t->stop_httpd;
    $t->{extra} = "IngestProcessor $processor\nIngestWorkerInterval 100ms\n$UPLOADS";
    $t->start_httpd;
    my $deadline = time + 20;
    sleep 0.1 until time > $deadline || keys %{ children_hwm($t) } >= 2;
    $t->request('GET', '/api/ingest/health');
}

# A new job of $shape, its body of $bytes bytes uploaded; its id.
sub upload {
    my ($shape, $bytes) = @_;
    my $type = $SHAPES{$shape}[0];
    my $job = $t->init_job($tok, filename => "$shape.$type", file_type => $type, file_size => $bytes);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port}, Proto => 'tcp') or die $!;
    print $s "PUT $job->{upload_url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: $bytes\r\n"
        . "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
    send_body($s, $shape, $bytes);
    my $resp = '';
    while (sysread($s, my $buf, 65536)) { $resp .= $buf }
    close $s;
    my ($code) = $resp =~ m{^HTTP/1\.1 (\d+)};
    die "$shape: upload answered " . ($code // 'nothing') . "\n$resp\n" unless ($code // 0) == 200;
    return $job->{job_id};
}

sub ended { my ($st) = @_; return $st && $st->{status} =~ /^(completed|failed)$/ }

# What a job ended with: its error, or its summary in short.
sub outcome {
    my ($st) = @_;
    return "no end within $TIMEOUT s (status " . ($st ? $st->{status} : '?') . ')' unless ended($st);
    return $st->{error} // '' if $st->{status} eq 'failed';
    my $rd = $st->{result_data} // {};
    my $names = $rd->{columns} // $rd->{keys} // [];
    return sprintf('%d records, %d %s, result_data %.1f KiB%s', $rd->{records} // 0, scalar @$names,
        $rd->{columns} ? 'columns' : 'keys', length($IngestTest::JSON->encode($rd)) / 1024,
        $rd->{truncated} ? ', truncated' : '');
}

# One line of the table: $count jobs of $shape, SIZE_MB in all. A single
# job is uploaded while the worker runs; several are uploaded while none
# does, then one pass of the worker claims and parses them all.
sub run {
    my ($name, $shape, $count) = @_;
    my $bytes = int($size / $count);
    my @ids;
    restart($count > 1 ? 'none' : 'parse');
    if ($count > 1) {
        push @ids, upload($shape, $bytes) for 1 .. $count;
        restart('parse');
    }
    my $log0 = length $t->error_log;
    my %before = %{ children_hwm($t) };
    my $t0 = time;
    push @ids, upload($shape, $bytes) if $count == 1;

    # the jobs' end, sampling the children meanwhile (one may die)
    my (%peak, %st);
    my $deadline = time + $TIMEOUT;
    while (time < $deadline) {
        my $now = children_hwm($t);
        for (keys %$now) { $peak{$_} = $now->{$_} if $now->{$_} > ($peak{$_} // 0) }
        for my $id (grep { !ended($st{$_}) } @ids) {
            $st{$id} = $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
        }
        last unless grep { !ended($st{$_}) } @ids;
        sleep 0.1;
    }
    my $now = children_hwm($t);
    for (keys %$now) { $peak{$_} = $now->{$_} if $now->{$_} > ($peak{$_} // 0) }
    my $secs = time - $t0;

    # growth of each child over its peak before; a child the MPM started
    # meanwhile (marked *) over the smallest peak of the children before,
    # what a fresh child holds; one that is gone is said
    my ($fresh) = sort { $a <=> $b } values %before;
    my %growth = map { my $g = $peak{$_} - ($before{$_} // $fresh // 0); $_ => $g > 0 ? $g : 0 } keys %peak;
    my @by = sort { $growth{$b} <=> $growth{$a} } keys %growth;
    my $max = @by ? $growth{ $by[0] } : 0;
    my @gone = grep { !exists $now->{$_} } keys %before;
    my @crash = substr($t->error_log, $log0) =~ /(exit signal [^\n]*)/g;
    my (%outcomes, %statuses);
    $outcomes{ outcome($st{$_}) }++ for @ids;
    $statuses{ $st{$_} ? $st{$_}{status} : '-' } = 1 for @ids;
    my $outcome = join '; ', map { ($count > 1 ? "$outcomes{$_} jobs: " : '') . $_ } sort keys %outcomes;
    $outcome .= '; children gone: ' . scalar(@gone) if @gone;
    $outcome .= "; $crash[0]" if @crash;
    printf "%-12s %-6s %8d %-10s %8.2f %21.1f %-22s %s\n", $name, $SHAPES{$shape}[0], $mb,
        join('/', sort keys %statuses), $secs, $max / 1024,
        join(' ', map { sprintf('%.1f', $growth{$_} / 1024) . (exists $before{$_} ? '' : '*') } @by), $outcome;
}

printf "%-12s %-6s %8s %-10s %8s %21s %-22s %s\n", 'shape', 'type', 'size_MiB', 'status', 'seconds',
    'max_child_growth_MiB', 'each_child_MiB', 'outcome';
for my $shape (@shapes) {
    if ($shape eq 'batch') {
        run('batch', 'json_wide', $BATCH);
    }
    else {
        run($shape, $shape, 1);
    }
}
