#!/usr/bin/perl
# The API's speed in one run, every row next to its ceilings: the same
# httpd serving a 12-byte static file, and pgbench on the same database
# (SELECT 1, and a one-row INSERT as wide as a job). Builds the module,
# starts a private PostgreSQL cluster (fsync and synchronous_commit on, as
# in production: a 2xx is only sent once the row is committed) and an
# httpd loading the fresh build, loads a tenant with BENCH_SMALL jobs and
# one with BENCH_BIG, runs wrk against each row, and prints one table with
# the issue 11 targets marked pass or FAIL.
#
# Loopback only; bounded (each row BENCH_SECS seconds, the RSS phase at
# most BENCH_RSS_MAX_SECS); every server and directory it made is removed
# on any exit, Ctrl-C included.
#
#   perl bench/api.pl          (or bench/api.sh)
#
# Environment (defaults in brackets):
#   BENCH_SECS [5]         seconds of wrk / pgbench per row (1..60)
#   BENCH_WARMUP [1]       seconds of wrk before each measured row (0..10)
#   BENCH_CONNS [32]       connections (wrk) and clients (pgbench)
#   BENCH_THREADS [2]      wrk threads and pgbench jobs
#   BENCH_SMALL [1000]     jobs of the small tenant
#   BENCH_BIG [1000000]    jobs of the big tenant (loaded by SQL)
#   BENCH_RSS [1]          0 skips the httpd RSS rows (100,000 and 1,000,000 requests)
#   BENCH_RSS_MAX_SECS [900]  bound on the RSS phase
#   BENCH_CACHE [auto]     auto: measure "GET status, cache hit" with
#                          "IngestStatusCache shmcb" when this build accepts
#                          the directive (httpd -t); 0: never; any other
#                          value: the directive line(s) to use
#   BENCH_NO_BUILD [0]     1: use the module as built
# Needs wrk and pgbench (apt-get install wrk; pgbench comes with the postgresql package).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use MIME::Base64 qw(encode_base64url);
use Time::HiRes qw(time);

sub env_int {
    my ($name, $def, $min, $max) = @_;
    my $v = $ENV{$name} // $def;
    die "$name must be an integer from $min to $max\n" unless $v =~ /^\d+$/ && $v >= $min && $v <= $max;
    return $v;
}
my $SECS = env_int('BENCH_SECS', 5, 1, 60);
my $WARMUP = env_int('BENCH_WARMUP', 1, 0, 10);
my $CONNS = env_int('BENCH_CONNS', 32, 1, 128);
my $THREADS = env_int('BENCH_THREADS', 2, 1, 16);
my $SMALL = env_int('BENCH_SMALL', 1000, 1, 100_000_000);
my $BIG = env_int('BENCH_BIG', 1_000_000, 1, 100_000_000);
my $RSS = env_int('BENCH_RSS', 1, 0, 1);
my $RSS_MAX = env_int('BENCH_RSS_MAX_SECS', 900, 10, 3600);
my $CACHE = $ENV{BENCH_CACHE} // 'auto';
for my $tool (qw(wrk pgbench)) {
    system('sh', '-c', "command -v $tool >/dev/null") == 0 or die "$tool is not installed\n";
}

# Ctrl-C or a TERM: die, so that IngestTest's END stops httpd and
# PostgreSQL and removes the directory
$SIG{$_} = sub { die "interrupted\n" } for qw(INT TERM HUP);

unless ($ENV{BENCH_NO_BUILD}) {
    print STDERR "# building\n";
    system("$IngestTest::TOP/scripts/build.sh") == 0 or die "build failed\n";
}

# ------------------------------------------------------------------ the stack
print STDERR "# starting PostgreSQL and httpd\n";
# AH10159: httpd at MaxRequestWorkers under wrk; AH03093: the event MPM
# on a keep-alive connection wrk closed at the end of a run
my $t = IngestTest->new(log_level => 'warn', durable => 1, no_httpd => 1)->expect_log(qr/AH10159|AH03093/);
my $modules = IngestTest::run_or_die('apxs', '-q', 'LIBEXECDIR');
chomp $modules;

# The status cache, when this build has it: httpd -t on the config with it.
my $cache_conf;
if ($CACHE eq 'auto') {
    $cache_conf = "LoadModule socache_shmcb_module $modules/mod_socache_shmcb.so\nIngestStatusCache shmcb\n";
    $t->{extra} = $cache_conf;
    $t->write_conf;
    $cache_conf = undef if system(join(' ', map { "'$_'" } $t->httpd_cmd('-t')) . ' >/dev/null 2>&1') != 0;
}
elsif ($CACHE ne '0') {
    $cache_conf = "$CACHE\n";
}
$t->{extra} = '';
$t->start_httpd;

open my $fh, '>', "$t->{dir}/htdocs/static.txt" or die $!;
print $fh "hello world\n";    # 12 bytes
close $fh;
chmod 0644, "$t->{dir}/htdocs/static.txt";

# the tenants: BENCH_SMALL and BENCH_BIG jobs, one a second back from now,
# in every status (the counts triggers of sql/006 see the one statement)
print STDERR "# loading $SMALL + $BIG jobs\n";
my $t0 = time;
for my $c (['small', $SMALL], ['big', $BIG]) {
    my ($tenant, $n) = @$c;
    $t->psql("INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status,"
        . " created_at, completed_at)"
        . " SELECT '$tenant', 'u' || (n % 10), 'file_upload', 'f' || n || '.csv', 'csv', n, s::ingest_job_status,"
        . " now() - n * interval '1 second', CASE WHEN s IN ('completed', 'failed') THEN now() END"
        . " FROM generate_series(1, $n) n,"
        . " LATERAL (SELECT (ARRAY['pending', 'queued', 'completed', 'completed', 'failed'])[n % 5 + 1] AS s) x");
}
$t->psql("VACUUM ANALYZE ingest_jobs");
$t->psql('CREATE TABLE bench_insert (LIKE ingest_jobs INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)');
printf STDERR "# loaded in %.0f s\n", time - $t0;

my %tok = map { $_ => $t->token($_, 'u1') } qw(small big init);
# a cursor deep in each tenant: the position of its job at 90 %
sub deep_cursor {
    my ($tenant, $n) = @_;
    my $off = int($n * 0.9);
    my $row = $t->psql("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '~' || job_id"
        . " FROM ingest_jobs WHERE tenant_id = '$tenant' ORDER BY created_at DESC, job_id DESC OFFSET $off LIMIT 1");
    return encode_base64url($row);
}
my %deep = (small => deep_cursor('small', $SMALL), big => deep_cursor('big', $BIG));
my $status_job = $t->init_job($tok{small})->{job_id};

my $lua = "$t->{dir}/init.lua";
open $fh, '>', $lua or die $!;
print $fh qq{wrk.method = "POST"\nwrk.body = '{"filename":"b.csv","file_type":"csv","file_size":1}'\n}
    . qq{wrk.headers["Content-Type"] = "application/json"\n};
close $fh;

# ------------------------------------------------------------------ runners
# wrk against a path: (requests/s, non-2xx + socket errors, requests)
sub wrk {
    my ($path, $tok, %o) = @_;
    my @cmd = ('wrk', "-t$THREADS", "-c$CONNS", '-d' . ($o{secs} // $SECS) . 's', '--timeout', '10s',
        ($tok ? ('-H', "Authorization: Bearer $tok") : ()), ($o{script} ? ('-s', $o{script}) : ()), $t->url($path));
    open my $out, '-|', @cmd or die "wrk: $!";
    my $text = do { local $/; <$out> };
    close $out;
    my ($rps) = $text =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n) = $text =~ /(\d+) requests in/;
    my ($bad) = $text =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    # connections wrk itself cut at the end of its run count as read
    # errors; shown beside the non-2xx count, not in it
    my $errs = 0;
    $errs += $_ for ($text =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
    die "wrk failed on $path:\n$text" unless defined $rps;
    return ($rps, $bad // 0, $n // 0, $errs);
}

sub pgbench {
    my ($sql) = @_;
    my $file = "$t->{dir}/pgbench.sql";
    open my $f, '>', $file or die $!;
    print $f "$sql\n";
    close $f;
    open my $out, '-|', 'pgbench', '-n', '-M', 'prepared', "-c$CONNS", "-j$THREADS", "-T$SECS", '-f', $file,
        '-h', '127.0.0.1', '-p', $t->{pgport}, '-U', 'ingest', 'ingest' or die "pgbench: $!";
    my $text = do { local $/; <$out> };
    close $out;
    my ($tps) = $text =~ /tps = ([\d.]+)/;
    my ($failed) = $text =~ /number of failed transactions: (\d+)/;
    die "pgbench failed:\n$text" unless defined $tps;
    return ($tps, $failed // 0);
}

my @rows;    # [name, value, unit, non-2xx, ratio text, target text, verdict]
my $static;

sub row {
    my ($name, $rps, $bad, %o) = @_;
    push @rows, { name => $name, rps => $rps, bad => $bad, %o };
    printf STDERR "# %-44s %10.0f/s  non-2xx %d\n", $name, $rps, $bad;
}

sub measure {
    my ($name, $path, $tok, %o) = @_;
    wrk($path, $tok, %o, secs => $WARMUP) if $WARMUP;
    my ($rps, $bad, undef, $errs) = wrk($path, $tok, %o);
    row($name, $rps, $bad, %o, errs => $errs);
    return $rps;
}

# ------------------------------------------------------------------ the rows
$static = measure('static file (12 bytes), the ceiling', '/static.txt', undef);
row('pgbench SELECT 1', pgbench('SELECT 1;'));
# the row POST init writes, into a table like ingest_jobs (same columns,
# defaults, constraints and indexes; no triggers), one transaction each
my ($ins, $ins_failed) = pgbench("INSERT INTO bench_insert (tenant_id, user_id, source_type, filename, file_type,"
    . " file_size, upload_expires_at) VALUES ('pgbench', 'u1', 'file_upload', 'b.csv', 'csv', 1,"
    . " now() + interval '1 hour');");
row('pgbench INSERT (one job-wide row)', $ins, $ins_failed);
measure('GET status', "/api/ingest/status/$status_job", $tok{small});
my $init = measure('POST init', '/api/ingest/init', $tok{init}, script => $lua, target => 'init');
my %pair;
for my $what (['GET stats', '/api/ingest/stats'], ['GET jobs, first page (20)', '/api/ingest/jobs?limit=20'],
    ['GET jobs, deep page by cursor (20)', '/api/ingest/jobs?limit=20&cursor=%s']) {
    my ($name, $path) = @$what;
    for my $c (['small', $SMALL], ['big', $BIG]) {
        my ($tenant, $n) = @$c;
        (my $p = $path) =~ s/%s/$deep{$tenant}/;
        $pair{$name}{$tenant} = measure(sprintf('%s, %s jobs', $name, commify($n)), $p, $tok{$tenant},
            $tenant eq 'big' ? (pair => $name) : ());
    }
}

# the status cache: the same httpd restarted with it
if ($cache_conf) {
    $t->stop_httpd;
    $t->{extra} = $cache_conf;
    $t->start_httpd;
    measure('GET status, cache hit', "/api/ingest/status/$status_job", $tok{small}, target => 'cache');
}
else {
    push @rows, { name => 'GET status, cache hit', skip => 'IngestStatusCache not in this build' };
}

# httpd's memory after 100,000 and 1,000,000 requests of a mix, counted by
# wrk from a freshly started httpd
my @rss;
if ($RSS) {
    $t->stop_httpd;
    $t->start_httpd;
    my $mix = "$t->{dir}/mix.lua";
    open my $m, '>', $mix or die $!;
    my @paths = ("/api/ingest/status/$status_job", '/api/ingest/jobs?limit=20', '/api/ingest/stats',
        "/api/ingest/jobs?limit=20&cursor=$deep{small}", '/static.txt');
    print $m 'local paths = {' . join(', ', map {"\"$_\""} @paths) . "}\n" . <<'LUA';
local i = 0
request = function()
    i = i + 1
    return wrk.format("GET", paths[i % #paths + 1])
end
LUA
    close $m;
    my ($done, $t1) = (0, time);
    for my $goal (100_000, 1_000_000) {
        while ($done < $goal && time - $t1 < $RSS_MAX) {
            # a run long enough for what is left, at the rate seen so far
            my $rate = $done ? $done / (time - $t1) : 3000;
            my $secs = int(($goal - $done) / $rate) + 1;
            $secs = 60 if $secs > 60;
            my (undef, undef, $n) = wrk('/', $tok{small}, script => $mix, secs => $secs);
            $done += $n;
        }
        my ($kb, $procs) = httpd_rss();
        push @rss, [$goal, $done, $kb, $procs];
        push @rows, { name => sprintf('httpd RSS after %s requests', commify($done)), rss => $kb, procs => $procs,
            target => $goal == 1_000_000 ? 'rss' : undef };
        printf STDERR "# RSS after %d requests: %d kB in %d children\n", $done, $kb, $procs;
    }
}
else {
    push @rows, { name => 'httpd RSS after 100,000 / 1,000,000 requests', skip => 'BENCH_RSS=0' };
}

# the children of httpd's parent: their VmRSS, summed
sub httpd_rss {
    my $parent = $t->httpd_pid or return (0, 0);
    my ($kb, $n) = (0, 0);
    for my $dir (glob '/proc/[0-9]*') {
        open my $s, '<', "$dir/status" or next;
        my $st = do { local $/; <$s> };
        close $s;
        next unless $st =~ /^PPid:\s+$parent$/m;
        my ($rss) = $st =~ /^VmRSS:\s+(\d+) kB/m;
        $kb += $rss // 0;
        $n++;
    }
    return ($kb, $n);
}

sub commify {
    my $n = reverse shift;
    $n =~ s/(\d{3})(?=\d)/$1,/g;
    return scalar reverse $n;
}

# ------------------------------------------------------------------ the table
my %verdicts;
print "\n";
printf "Machine: %s, %d cores; %s; %s; %s\n", cpu_model(), cores(), first_line('apache2 -v'),
    first_line((sort { $a cmp $b } glob '/usr/lib/postgresql/*/bin/postgres')[-1] . ' --version'),
    (first_line('wrk -v 2>&1') =~ /^(wrk \S+)/)[0] // 'wrk';
printf "wrk -t%d -c%d, %d s per row (after %d s of warm-up); pgbench -M prepared -c%d -j%d -T%d; "
    . "PostgreSQL fsync and synchronous_commit on\n\n", $THREADS, $CONNS, $SECS, $WARMUP, $CONNS, $THREADS, $SECS;
printf "| %-50s | %10s | %9s | %7s | %-44s | %-6s |\n", 'what', 'req/s', 'x static', 'non-2xx', 'target', 'result';
print '|', join('|', map { '-' x ($_ + 2) } 50, 10, 9, 7, 44, 6), "|\n";
for my $r (@rows) {
    my ($target, $verdict) = ('', '');
    if ($r->{skip}) {
        printf "| %-50s | %10s | %9s | %7s | %-44s | %-6s |\n", $r->{name}, '-', '-', '-', "skipped: $r->{skip}", '';
        next;
    }
    if (defined $r->{rss}) {
        my $text = sprintf '%d MB', $r->{rss} / 1024;
        if (($r->{target} // '') eq 'rss' && @rss == 2 && $rss[0][2]) {
            my $ratio = $rss[1][2] / $rss[0][2];
            $target = sprintf '<= 1.10 x after 100,000: %.2f', $ratio;
            $verdict = $ratio <= 1.10 ? 'pass' : 'FAIL';
        }
        printf "| %-50s | %10s | %9s | %7s | %-44s | %-6s |\n", "$r->{name} ($r->{procs} children)", $text, '', '',
            $target, $verdict;
        next;
    }
    my $x = $static ? $r->{rps} / $static : 0;
    if (($r->{target} // '') eq 'cache') {
        $target = '>= 0.80 x static';
        $verdict = $x >= 0.8 ? 'pass' : 'FAIL';
    }
    elsif (($r->{target} // '') eq 'init') {
        $target = sprintf '>= 0.50 x static; %.2f x pgbench INSERT', $ins ? $r->{rps} / $ins : 0;
        $verdict = $x >= 0.5 ? 'pass' : 'FAIL';
    }
    elsif ($r->{pair}) {
        my ($a, $b) = ($pair{ $r->{pair} }{small}, $pair{ $r->{pair} }{big});
        my $ratio = $a && $b ? ($a > $b ? $a / $b : $b / $a) : 0;
        $target = sprintf '%s vs %s jobs within 1.5 x: %.2f', commify($BIG), commify($SMALL), $ratio;
        $verdict = $ratio && $ratio <= 1.5 ? 'pass' : 'FAIL';
    }
    printf "| %-50s | %10.0f | %9.2f | %7s | %-44s | %-6s |\n", $r->{name}, $r->{rps}, $x,
        $r->{bad} . ($r->{errs} ? " ($r->{errs} socket errors)" : ''), $target, $verdict;
}

sub first_line {
    my ($cmd) = @_;
    my $out = `$cmd 2>/dev/null` // '';
    my ($l) = split /\n/, $out;
    $l //= '?';
    $l =~ s/^Server version:\s*//;
    return $l;
}

sub cpu_model {
    open my $c, '<', '/proc/cpuinfo' or return '?';
    while (<$c>) { return $1 if /^model name\s*:\s*(.*)$/ }
    return '?';
}

sub cores {
    open my $c, '<', '/proc/cpuinfo' or return 0;
    return scalar grep {/^processor\s*:/} <$c>;
}
