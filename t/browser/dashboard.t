#!/usr/bin/perl
# The dashboard (htdocs/, served by the harness at /ingest/) in a real
# browser: this file starts the server (IngestProcessor parse, a 100 ms
# worker interval) and makes one token per tenant; t/browser/dashboard.mjs
# drives Debian's chromium through playwright-core against it and runs the
# scenarios of issue 9 (sign-in, upload and its progress, the stats cards
# against GET /api/ingest/stats, a file that does not parse, the status
# filter, live updates pushed through GET /api/ingest/events (issue 15:
# the row of a job started elsewhere appears and its progress advances with
# no request), polling that stops and resumes when the stream is answered
# 503, delete with confirmation, tenant
# isolation, paging, cost analytics, console errors and failed requests,
# axe-core, screenshots in t/browser/artifacts/).
#
# How the two talk: dashboard.mjs prints one JSON object per line on
# stdout: {"ok": true|false, "name": "...", "diag": [...]} for a test,
# {"note": "..."} for a comment and {"done": N} once all N tests are sent.
# This file turns each test into a Test::More ok() (so the plan, the
# numbering and the harness' own teardown test stay Perl's), passes notes
# on, and fails when the script exits non-zero, prints no "done", or
# outlives its time (INGEST_BROWSER_TIMEOUT, 300 s; its process group is
# then killed). Anything else the script prints is shown as a diagnostic.
#
# Skipped when htdocs/index.html does not exist (a tree without the
# dashboard). Chromium (/usr/bin/chromium, Debian's `chromium`), node and
# node_modules (`npm ci`) missing: skipped with what to install, but a
# failure when INGEST_BROWSER_REQUIRED=1, which scripts/test.sh sets after
# installing them, so CI never skips silently.
#
# Alone: `npm ci && prove -v t/browser/dashboard.t` (after a build);
# INGEST_KEEP=1 keeps the server's directory, logs included.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest;
use File::Temp qw(tempdir);
use POSIX qw(setpgid);

my $TOP = $IngestTest::TOP;
my $CHROMIUM = $ENV{INGEST_CHROMIUM} // '/usr/bin/chromium';
my $SCRIPT = "$FindBin::Bin/dashboard.mjs";
my $ARTIFACTS = "$FindBin::Bin/artifacts";
my $TIMEOUT = $ENV{INGEST_BROWSER_TIMEOUT} // 300;

plan skip_all => "no dashboard in this tree ($TOP/htdocs/index.html)" unless -f "$TOP/htdocs/index.html";

my @missing;
push @missing, "$CHROMIUM (Debian package chromium)" unless -x $CHROMIUM;
push @missing, 'node (Debian package nodejs)' unless grep { -x "$_/node" } split /:/, $ENV{PATH} // '';
for my $f ('playwright-core/package.json', 'axe-core/axe.min.js') {
    push @missing, "node_modules/$f (run `npm ci` at the top of the tree)" unless -f "$TOP/node_modules/$f";
}
if (@missing) {
    plan skip_all => "browser test needs: " . join('; ', @missing) unless $ENV{INGEST_BROWSER_REQUIRED};
    fail("INGEST_BROWSER_REQUIRED is set but the browser test cannot run: missing $_") for @missing;
    done_testing;
    exit;
}

# Mappings jobs (the UI starts one to see polling resume) are stepped
# IngestSimulateDuration apart by the parse processor; set here so that a
# 30-mapping job stays active for about 10 s whatever the default, and
# every mapping succeeds.
my $t = IngestTest->new(extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\n"
    . "IngestSimulateDuration 2s\nIngestSimulateSuccessRate 1\nIngestBatchSize 5\n");

mkdir $ARTIFACTS;
my %env = (
    INGEST_BASE => $t->url(''),
    INGEST_TOKEN_A => $t->token('browser-a', 'alice'),       # the main tenant
    INGEST_TOKEN_B => $t->token('browser-b', 'bob'),         # isolation: sees none of A's jobs
    INGEST_TOKEN_C => $t->token('browser-c', 'carol'),       # paging: more jobs than a page
    INGEST_TOKEN_D => $t->token('browser-d', 'dave'),        # cost analytics: ML job metadata
    INGEST_ARTIFACTS => $ARTIFACTS,
    INGEST_CHROMIUM => $CHROMIUM,
    # chromium's fresh profile, removed at exit even if the script is killed
    INGEST_USER_DATA_DIR => tempdir('ingest-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1),
    INGEST_BROWSER_TIMEOUT => $TIMEOUT,
);

# The script, in a process group of its own (chromium's processes are in
# it too) so that a timeout can end all of it.
my $pid = open(my $out, '-|') // die "fork: $!";
if (!$pid) {
    setpgid(0, 0);
    @ENV{ keys %env } = values %env;
    open STDERR, '>&', \*STDOUT;
    exec 'node', $SCRIPT or do { print "exec node: $!\n"; POSIX::_exit(127) };
}

my ($done, $sent, $timed_out) = (undef, 0, 0);
eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm($TIMEOUT + 60);    # the script's own global timeout comes first
    while (my $line = <$out>) {
        chomp $line;
        my $m = $line =~ /^\{/ ? eval { $IngestTest::JSON->decode($line) } : undef;
        if (!$m || ref $m ne 'HASH') { diag("dashboard.mjs: $line") if length $line; next }
        if (exists $m->{ok}) {
            ++$sent;
            ok($m->{ok}, $m->{name}) or diag(join "\n", @{ $m->{diag} // [] });
        }
        elsif (exists $m->{note}) { note($m->{note}) }
        elsif (exists $m->{done}) { $done = $m->{done} }
        else { diag("dashboard.mjs: $line") }
    }
    alarm 0;
    1;
} or do {
    die $@ unless $@ eq "timeout\n";
    $timed_out = 1;
    kill 'KILL', -$pid;
};
close $out;
my $status = $?;
ok(!$timed_out, "dashboard.mjs finished within " . ($TIMEOUT + 60) . " s");
is($status, 0, 'dashboard.mjs exited 0') or diag(sprintf 'exit status %d, signal %d', $status >> 8, $status & 127);
ok(defined $done && $done == $sent, 'dashboard.mjs ran to its end, every test it counted reported')
    or diag('done: ' . ($done // 'never') . ", tests seen: $sent");
# whatever is left of the group (nothing, when the script closed chromium)
kill 'KILL', -$pid;

done_testing;
