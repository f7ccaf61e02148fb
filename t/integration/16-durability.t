#!/usr/bin/perl
# Durability of stored files, watched with strace on the real httpd child:
# a tenant's first upload creates its storage directory, and the root
# directory is fsynced after that, so the new entry survives a crash (a job
# must never say `queued` for a file whose directory entry was lost).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep);

plan skip_all => 'strace is not installed' unless -x '/usr/bin/strace';

my $t = IngestTest->new(extra => $IngestTest::ONE_CHILD);
my $ppid = $t->httpd_pid;
sub parent_of {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/stat" or return 0;
    my ($pp) = (<$f> // '') =~ /^\d+ \(.*\) \S+ (\d+)/s;
    return $pp // 0;
}
sub traced {
    my ($pid) = @_;
    open my $s, '<', "/proc/$pid/status" or return 0;
    return scalar grep { /^TracerPid:\s+[1-9]/ } <$s>;
}
my @kids;
ok(wait_until('the child', 10, sub {
    @kids = grep { parent_of($_) == $ppid } map { m{/proc/(\d+)/} ? $1 : () } glob '/proc/[0-9]*/stat';
    @kids == 1 }), 'one child');
my $out = "$t->{dir}/strace.out";
my $pid = fork // die $!;
if (!$pid) {
    { exec '/usr/bin/strace', '-f', '-qq', '-e', 'trace=openat,mkdir,fsync,rename', '-o', $out, '-p', $kids[0] }
    POSIX::_exit(127);
}
ok(wait_until('strace to attach', 10, sub { traced($kids[0]) }),
    'strace attached to the child');

my $tok = $t->token('fresh-tenant', 'u1');
my $body = "a,b\n1,2\n";
my $init = $t->init_job($tok, filename => 'first.csv', file_size => length $body);
my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($init->{upload_url}),
    { headers => { 'Content-Type' => 'application/octet-stream' }, content => $body });
is($res->{status}, 200, "the tenant's first upload");
sleep 0.5;
kill 'INT', $pid;
waitpid $pid, 0;

open my $fh, '<', $out or die "$out: $!";
my @lines = <$fh>;
close $fh;
my $root = "$t->{dir}/storage";
my ($mkdir) = grep { /mkdir\("\Q$root\E\/fresh-tenant"/ && /= 0$/ } @lines;
ok($mkdir, 'the upload created the tenant directory') or diag(join '', @lines);
my ($tid) = ($mkdir // '') =~ /^(\d+)/;
my @mine = grep { /^\Q$tid\E / } @lines;
my ($at) = grep { $mine[$_] =~ /mkdir\("\Q$root\E\/fresh-tenant"/ } 0 .. $#mine;
my ($synced_at, $renamed_at);
for my $i (($at // 0) + 1 .. $#mine) {
    next unless $mine[$i] =~ /openat\(AT_FDCWD, "\Q$root\E", O_RDONLY\|O_DIRECTORY.*= (\d+)$/;
    my $fd = $1;
    ($synced_at) = grep { $mine[$_] =~ /fsync\($fd\) += 0/ } $i + 1 .. $#mine;
    last;
}
($renamed_at) = grep { $mine[$_] =~ /rename\(.*"\Q$root\E\/fresh-tenant\// } 0 .. $#mine;
ok(defined $synced_at, 'then fsynced the storage root, so the new directory entry is durable');
ok(defined $synced_at && defined $renamed_at && $synced_at < $renamed_at, 'before the file was renamed into place');

done_testing;
