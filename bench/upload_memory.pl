#!/usr/bin/perl
# Upload memory: streams one SIZE-byte presigned upload (default 1 GiB) to a
# real httpd on loopback and samples the RSS of every httpd child while it
# runs. Prints a table: the bar is that no child grows by more than 16 MiB
# whatever the size, because the body goes brigade by brigade to disk.
#   perl bench/upload_memory.pl [SIZE_MB]   (default 1024, at most 4096)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use IngestMemory qw(children_memory);
use IO::Socket::INET;
use POSIX qw(_exit);
use Time::HiRes qw(time sleep);

my $mb = shift // 1024;
die "SIZE_MB must be 1..4096\n" unless $mb =~ /^\d+$/ && $mb >= 1 && $mb <= 4096;
my $size = $mb * 1024 * 1024;

my $t = IngestTest->new(extra => "<Location /api/>\nIngestMaxUploadSize 8G\n</Location>\n", log_level => 'warn');
my $tok = $t->token('bench', 'u');
my $job = $t->init_job($tok, filename => 'big.txt', file_type => 'txt', file_size => $size);

# VmRSS (KiB) of every httpd child.
sub children_rss {
    my $m = children_memory($t);
    return { map { $_ => $m->{$_}{rss} } keys %$m };
}

my %before = %{ children_rss() };
pipe(my $rd, my $wr) or die $!;
my $sampler = fork // die $!;
if (!$sampler) {
    close $rd;
    my %peak = %before;
    my $stop = time + 900;
    while (time < $stop) {
        my $now = children_rss();
        for my $pid (keys %before) { my $r = $now->{$pid} // 0; $peak{$pid} = $r if $r > ($peak{$pid} // 0) }
        if (-e "$t->{dir}/run/bench.done") { last }
        sleep 0.05;
    }
    syswrite $wr, join(" ", map { "$_=$peak{$_}" } keys %peak) . "\n";
    _exit(0);
}
close $wr;

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port}, Proto => 'tcp') or die $!;
my $t0 = time;
print $s "PUT $job->{upload_url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: $size\r\nContent-Type: text/plain\r\n\r\n";
my $block = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?\n" x 1000);
$block = substr($block x 16, 0, 1024 * 1024);
for (1 .. $mb) { print $s $block or die "send: $!" }
my $resp = '';
while (sysread($s, my $buf, 65536)) { $resp .= $buf; last if $resp =~ /\r\n\r\n.*\}/s }
my $secs = time - $t0;
open my $done, '>', "$t->{dir}/run/bench.done"; close $done;
my $line = <$rd> // '';
my %peak = map { /^(\d+)=(\d+)$/ ? ($1, $2) : () } split ' ', $line;
waitpid $sampler, 0;
my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
my $grow = 0;
printf "# child %d: RSS %d KiB before, %d KiB at the peak\n", $_, $before{$_}, $peak{$_} // 0 for sort keys %before;
for my $pid (keys %before) { my $g = ($peak{$pid} // 0) - $before{$pid}; $grow = $g if $g > $grow }
printf "%-10s %-8s %10s %10s %22s\n", 'size_MiB', 'status', 'seconds', 'MiB/s', 'max_child_growth_MiB';
printf "%-10d %-8s %10.2f %10.1f %22.1f\n", $mb, $status // '-', $secs, $mb / $secs, $grow / 1024;
