#!/usr/bin/perl
# Parse memory: uploads files of hostile shapes, SIZE_MB MiB each (default
# 64), to a real httpd with IngestProcessor parse, and prints for each the
# job's outcome and the peak resident memory growth (VmHWM) of the httpd
# children while it was uploaded and parsed. The bar: no child grows by more
# than 64 MiB, whatever the shape and size, and each job either fails with
# a clear error or completes with a bounded, truncated summary.
#   perl bench/parse_memory.pl [SIZE_MB [SHAPE...]]   (SIZE_MB 1..4096)
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
my @ORDER = qw(csv_header csv_field json_array json_string ndjson_keys csv_wide json_wide ndjson_wide csv_plain);
my @shapes = @ARGV ? @ARGV : @ORDER;
for (@shapes) { die "unknown shape $_ (one of @ORDER)\n" unless $SHAPES{$_} }

# Writes the body of a shape, exactly $size bytes, to $out in pieces of
# about 1 MiB.
sub send_body {
    my ($out, $shape) = @_;
    my (undef, $head, $unit, $tail, $pad) = @{ $SHAPES{$shape} };
    my ($buf, $sent) = ($head, 0);
    my $room = $size - length($head) - length($tail);
    die "$shape does not fit in $size bytes\n" if $room < 0;
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
    die "$shape: sent $sent bytes, not $size\n" unless $sent == $size;
}

# pid => VmHWM (KiB) of every child of httpd's parent.
sub children_hwm {
    my $m = children_memory($_[0]);
    return { map { $_ => $m->{$_}{hwm} } keys %$m };
}

my $t = IngestTest->new(log_level => 'warn',
    extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n<Location /api/>\nIngestMaxUploadSize 8G\n</Location>\n");
my $tok = $t->token('bench', 'u');

printf "%-12s %-6s %8s %-10s %8s %21s %-22s %s\n", 'shape', 'type', 'size_MiB', 'status', 'seconds',
    'max_child_growth_MiB', 'each_child_MiB', 'outcome';
for my $shape (@shapes) {
    my $type = $SHAPES{$shape}[0];
    # fresh children: VmHWM is a peak since the process started
    $t->stop_httpd;
    $t->start_httpd;
    my $log0 = length $t->error_log;
    my $job = $t->init_job($tok, filename => "$shape.$type", file_type => $type, file_size => $size);
    my %before = %{ children_hwm($t) };
    my $t0 = time;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port}, Proto => 'tcp') or die $!;
    print $s "PUT $job->{upload_url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: $size\r\n"
        . "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
    send_body($s, $shape);
    my $resp = '';
    while (sysread($s, my $buf, 65536)) { $resp .= $buf }
    close $s;
    my ($code) = $resp =~ m{^HTTP/1\.1 (\d+)};
    die "$shape: upload answered " . ($code // 'nothing') . "\n$resp\n" unless ($code // 0) == 200;

    # the job's end, sampling the children meanwhile (one may die)
    my (%peak, $st);
    my $deadline = time + $TIMEOUT;
    while (time < $deadline) {
        my $now = children_hwm($t);
        for (keys %$now) { $peak{$_} = $now->{$_} if $now->{$_} > ($peak{$_} // 0) }
        $st = $t->request('GET', "/api/ingest/status/$job->{job_id}", token => $tok)->{json};
        last if $st && $st->{status} =~ /^(completed|failed)$/;
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
    my $log = substr($t->error_log, $log0);
    my @crash = $log =~ /(exit signal [^\n]*)/g;
    my $outcome;
    if (!$st || $st->{status} !~ /^(completed|failed)$/) {
        $outcome = 'no end within ' . $TIMEOUT . ' s (status ' . ($st ? $st->{status} : '?') . ')';
    }
    elsif ($st->{status} eq 'failed') {
        $outcome = $st->{error} // '';
    }
    else {
        my $rd = $st->{result_data} // {};
        my $names = $rd->{columns} // $rd->{keys} // [];
        $outcome = sprintf('%d records, %d %s, result_data %.1f KiB%s', $rd->{records} // 0, scalar @$names,
            $rd->{columns} ? 'columns' : 'keys', length($IngestTest::JSON->encode($rd)) / 1024,
            $rd->{truncated} ? ', truncated' : '');
    }
    $outcome .= '; children gone: ' . scalar(@gone) if @gone;
    $outcome .= "; $crash[0]" if @crash;
    printf "%-12s %-6s %8d %-10s %8.2f %21.1f %-22s %s\n", $shape, $type, $mb, $st ? $st->{status} : '-', $secs,
        $max / 1024, join(' ', map { sprintf('%.1f', $growth{$_} / 1024) . (exists $before{$_} ? '' : '*') } @by), $outcome;
}
