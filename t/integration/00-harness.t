#!/usr/bin/perl
# The harness's own promises: the teardown check sees a child that died on
# a signal and a sanitizer report, and lets through only what a test
# declared; httpd runs the module the run asked for (under INGEST_SANITIZE,
# the ASan+UBSan build with the runtime loaded).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use IngestJobs qw(ppid_of gone_or_zombie);

my $t = IngestTest->new;
my $parent = $t->httpd_pid;
my @kids;
ok(wait_until('the children', 10, sub {
    @kids = grep { (ppid_of($_) // 0) == $parent } map { m{^/proc/(\d+)$} ? $1 : () } glob '/proc/[0-9]*';
    @kids >= 2 }), 'httpd has its children (' . scalar(@kids) . ')');
my $child = $kids[0] // 0;

# the module this run is about, and the sanitizer runtime with it
my $maps = do { open my $fh, '<', "/proc/$child/maps" or die "maps of $child: $!"; local $/; <$fh> };
like($maps, qr{\Q${\ IngestTest::module_path()}\E}, 'the child maps ' . IngestTest::module_path());
if ($IngestTest::SANITIZE) {
    like($maps, qr{/libasan\.so}, 'INGEST_SANITIZE: the child has the ASan runtime');
    like($maps, qr{/libubsan\.so}, 'INGEST_SANITIZE: and the UBSan one');
}
else {
    unlike($maps, qr{/libasan\.so}, 'no sanitizer runtime in a plain run');
}

is_deeply([ $t->log_problems ], [], 'a fresh server has nothing to report');

# a child killed by a signal: reported until declared (SIGABRT, as a failed
# assertion sends: under INGEST_SANITIZE a SIGSEGV is ASan's to report)
ok($child && kill('ABRT', $child), "SIGABRT to child $child");
ok(wait_until('the child to die', 10, sub { gone_or_zombie($child) }), 'the child is gone');
# AH00051 instead when a core may have been written (INGEST_COREDIR)
ok(wait_until('AH00052', 10, sub { $t->error_log =~ /AH0005[12]: child pid $child exit signal/ }), 'httpd logged its death');
my @p = $t->log_problems;
is(scalar @p, 1, 'the check reports one line') or diag join "\n", @p;
like($p[0] // '', qr/^error_log line \d+: .*AH0005[12]: child pid $child exit signal Abort(ed)? \(6\)(, possible coredump in \S+)?$/,
    'the line of the crash');

# declared, the crash no longer counts
$t->expect_log(qr/AH0005[12]: child pid $child exit signal Abort/);
is_deeply([ $t->log_problems ], [], 'expect_log lets the declared line through');

# a sanitizer report in the server's report directory: never excused
my $report = "$t->{dir}/san/asan.$child";
open my $fh, '>', $report or die "$report: $!";
print $fh "=================================================================\n==$child==ERROR: AddressSanitizer: "
    . "heap-use-after-free on address 0x602000000010\nSUMMARY: AddressSanitizer: heap-use-after-free x.c:1 in f\n"
    . "Shadow bytes around the buggy address:\n";
close $fh;
@p = $t->log_problems;
is($p[0], "sanitizer report $report (4 lines):", 'a sanitizer report is named, whatever the test expects')
    or diag join "\n", @p;
like($p[-1] // '', qr/^  SUMMARY: AddressSanitizer: heap-use-after-free/, 'and shown up to its SUMMARY line, not past it');
unlink $report;

done_testing;
