#!/usr/bin/perl
# GET /api/ingest/metrics (the ingest-metrics handler) and mod_ingest's
# section of mod_status's server-status page: every scrape parses as strict
# Prometheus text; counters move by exactly what the requests and the
# worker did (inits, an upload of K bytes, callbacks of every outcome, the
# worker's claims and finishes, database errors), whichever child served
# them; they survive graceful restarts; the jobs gauges are the database's
# counts; the database down still answers 200 with ingest_database_up 0;
# and a tenant's token gets nothing where the Location denies access or
# is not configured.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use IngestJobs qw(ppid_of);
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use POSIX qw(_exit);
use Time::HiRes qw(time);

my $JSON = $IngestTest::JSON;
my $SECRET = 'metrics-callback-secret-0123456789';
my @STATUSES = qw(pending queued running completed failed);

# Who served what (%P), and children that last 4 connections each, so
# that the requests of this test are served by many processes.
my $BASE = qq(IngestCallbackSecret "$SECRET"\nLogFormat "%P %>s %U" pids\n)
    . qq(CustomLog "\@TESTDIR\@/logs/pids.log" pids\n);
my $SPREAD = "MaxConnectionsPerChild 4\n";

my $t = IngestTest->new(extra => $BASE . $SPREAD);
my $tok = $t->token('acme', 'alice');
my $tok2 = $t->token('globex', 'bob');
# while PostgreSQL is stopped, mod_dbd says so each time it cannot connect
$t->expect_log(
    qr/\[dbd:error\] .*(?:AH00629: Can't connect to pgsql|AH00639: DBD \[pgsql\] Error): connection to server at "127\.0\.0\.1", port $t->{pgport} failed: Connection refused/,
    qr/\[dbd:error\] .*AH02655: Failed to acquire DBD connection from pool!$/,
    # the access control test
    qr/\[authz_core:error\] .*AH01630: client denied by server configuration: .*\/api$/,
    # children that last 4 connections, around a graceful restart
    qr/\[mpm_event:error\] .*AH03490: scoreboard is full, not at MaxRequestWorkers/);

# ---------------------------------------------------------------- the parser

# A strict reading of the text exposition format 0.0.4: every line a HELP,
# a TYPE or a sample `name{labels} value`; every family with one HELP and
# one TYPE before its samples, which come together; counters named
# *_total with integer values; histogram buckets with increasing le,
# cumulative counts, +Inf last and equal to _count, and a _sum. Returns
# the samples by their written name and labels, and the problems found.
sub parse_prom {
    my ($text) = @_;
    my (%help, %type, %samples, %done, @err);
    my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
    my $VALUE = qr/[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN)/;
    my $cur;    # the family whose samples may follow
    my %hist;   # family => [[le, count], ...], sum, count
    push @err, 'the text does not end with a newline' unless $text =~ /\n\z/;
    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            my $f = $1;
            push @err, "second HELP for $f" if $help{$f}++;
            push @err, "HELP for $f after its samples" if $done{$f};
            $done{$cur} = 1 if defined $cur && $cur ne $f;
            $cur = $f;
        }
        elsif ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
            my ($f, $ty) = ($1, $2);
            push @err, "second TYPE for $f" if $type{$f};
            push @err, "TYPE for $f before its HELP" unless $help{$f};
            push @err, "TYPE for $f is not after its HELP" unless defined $cur && $cur eq $f;
            push @err, "counter $f is not named *_total" if $ty eq 'counter' && $f !~ /_total$/;
            $type{$f} = $ty;
        }
        elsif ($line =~ /^#/) {
            push @err, "a comment that is neither HELP nor TYPE: $line";
        }
        elsif ($line =~ /^($NAME)(\{(.*)\})? ($VALUE)$/) {
            my ($name, $labels, $inner, $v) = ($1, $2 // '', $3, $4);
            my %l;
            if (defined $inner) {
                my $rest = $inner;
                while (length $rest) {
                    $rest =~ s/^($NAME)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)// or do {
                        push @err, "bad labels in: $line";
                        last;
                    };
                    push @err, "label $1 twice in: $line" if exists $l{$1};
                    $l{$1} = $2;
                }
            }
            my $fam = $name;
            $fam =~ s/_(bucket|sum|count)$// if !$type{$name} && $name =~ /_(bucket|sum|count)$/;
            if (!defined $cur || $cur ne $fam || !$type{$fam}) {
                push @err, "sample $name outside its family's HELP and TYPE";
            }
            elsif ($type{$fam} eq 'counter') {
                push @err, "counter $name has a value that is not a count: $v" unless $v =~ /^\d+$/;
            }
            elsif ($type{$fam} eq 'histogram') {
                if ($name eq "${fam}_bucket") {
                    push @err, "a bucket without le: $line" unless exists $l{le};
                    push @{ $hist{$fam}{buckets} }, [ $l{le}, $v ];
                }
                elsif ($name eq "${fam}_sum") { $hist{$fam}{sum} = $v }
                elsif ($name eq "${fam}_count") { $hist{$fam}{count} = $v }
                else { push @err, "histogram $fam has a sample $name" }
            }
            my $key = $name . $labels;
            push @err, "sample $key twice" if exists $samples{$key};
            $samples{$key} = $v;
        }
        else {
            push @err, "not a line of the format: '$line'";
        }
    }
    push @err, map { "family $_ has HELP but no TYPE" } grep { !$type{$_} } sort keys %help;
    for my $f (sort keys %hist) {
        my @b = @{ $hist{$f}{buckets} // [] };
        push @err, "histogram $f has no buckets" unless @b;
        push @err, "histogram $f has no _sum" unless defined $hist{$f}{sum};
        push @err, "histogram $f has no _count" unless defined $hist{$f}{count};
        next unless @b;
        push @err, "histogram $f: the last bucket is not +Inf" unless $b[-1][0] eq '+Inf';
        for my $i (1 .. $#b) {
            my ($le0, $le1) = map { $_ eq '+Inf' ? 9**9**9 : $_ } $b[ $i - 1 ][0], $b[$i][0];
            push @err, "histogram $f: le $b[$i][0] does not increase" unless $le1 > $le0;
            push @err, "histogram $f: bucket $b[$i][0] is not cumulative" unless $b[$i][1] >= $b[ $i - 1 ][1];
        }
        push @err, "histogram $f: +Inf ($b[-1][1]) is not _count ($hist{$f}{count})"
            unless defined $hist{$f}{count} && $b[-1][1] == $hist{$f}{count};
    }
    return (\%samples, \@err);
}

# The parser refuses what it must (so that its silence means something).
{
    my $good = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
        . "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
    my (undef, $e) = parse_prom($good);
    is_deeply($e, [], 'parser: a good text passes');
    my %bad = (
        'no TYPE' => "# HELP a_total A.\na_total 1\n",
        'no HELP' => "# TYPE a_total counter\na_total 1\n",
        'counter without _total' => "# HELP a A.\n# TYPE a counter\na 1\n",
        'not cumulative' => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",
        '+Inf is not _count' => "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 3\n",
        'bad label quoting' => "# HELP g G.\n# TYPE g gauge\ng{s=\"a\"b\"} 1\n",
        'a family split' => "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP k K.\n# TYPE k gauge\nk 1\ng 2\n",
        'no final newline' => "# HELP g G.\n# TYPE g gauge\ng 1",
    );
    for my $k (sort keys %bad) {
        my (undef, $e2) = parse_prom($bad{$k});
        ok(scalar @$e2, "parser: refuses $k");
    }
}

# ---------------------------------------------------------------- helpers

# One scrape: 200, the content type, strict parse; the samples.
sub scrape {
    my ($name, %o) = @_;
    my $r = $t->request('GET', '/api/ingest/metrics', %o);
    is($r->{status}, 200, "$name: metrics 200") or diag $r->{content};
    is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8', "$name: Prometheus text");
    my ($m, $err) = parse_prom($r->{content} // '');
    is_deeply($err, [], "$name: parses as Prometheus text") or diag $r->{content};
    return $m;
}

# Every counter (and histogram count) of $after is that of $before plus
# what %delta says, 0 for all the others.
sub moved_ok {
    my ($name, $before, $after, %delta) = @_;
    my %got;
    for my $k (grep { /_total(\{|$)/ || /_count$/ } keys %$after) {
        my $d = $after->{$k} - ($before->{$k} // 0);
        $got{$k} = $d if $d;
    }
    my %want = map { $_ => $delta{$_} } grep { $delta{$_} } keys %delta;
    is_deeply(\%got, \%want, "$name: the counters moved by exactly that") or diag explain \%got;
}

# The jobs gauges are the rows' own counts, every status there.
sub jobs_gauges_ok {
    my ($name, $m) = @_;
    my %rows = map { $_ => 0 } @STATUSES;
    for (split /\n/, $t->psql('SELECT status, count(*) FROM ingest_jobs GROUP BY status')) {
        my ($s, $n) = split /\|/;
        $rows{$s} = $n;
    }
    is_deeply({ map { $_ => $m->{"ingest_jobs{status=\"$_\"}"} } @STATUSES }, \%rows, "$name: jobs by status = the rows");
}

sub sign {
    my ($id, $ts, $body) = @_;
    return 'v1,' . encode_base64(hmac_sha256("$id.$ts.$body", $SECRET), '');
}

my $seq = 0;
sub delivery {
    my ($body, %o) = @_;
    my $text = $JSON->encode($body);
    my $id = sprintf 'msg_%d_%d', $$, ++$seq;
    my $ts = int(time);
    return { body => $text, headers => { 'Content-Type' => 'application/json', 'webhook-id' => $id,
        'webhook-timestamp' => $ts, 'webhook-signature' => $o{sig} // sign($id, $ts, $text) } };
}

sub callback {
    my ($d) = @_;
    return $t->request('POST', '/api/pipeline/callback', body => $d->{body}, headers => $d->{headers});
}

sub status_auto {
    my $r = $t->request('GET', '/server-status?auto');
    my %kv = map { /^([^:]+): (.*)$/ ? ($1, $2) : () } split /\n/, $r->{content} // '';
    return ($r, \%kv);
}

# A graceful restart into another configuration; $ready says when the new
# generation answers.
sub graceful {
    my ($extra, $what, $ready) = @_;
    $t->{extra} = $extra;
    $t->write_conf;
    IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful'));
    ok(wait_until($what, 30, $ready), "graceful restart: $what");
}

# ---------------------------------------------------------------- a fresh server

my $m0 = scrape('fresh');
is($m0->{ingest_database_up}, 1, 'fresh: database up');
is($m0->{$_}, 0, "fresh: $_ is 0") for grep { /_total(\{|$)/ || /_count$/ } sort keys %$m0;
jobs_gauges_ok('fresh', $m0);
ok(exists $m0->{'ingest_worker_pass_duration_seconds_bucket{le="+Inf"}'}, 'fresh: the pass histogram is there');
ok(!exists $m0->{ingest_worker_last_pass_timestamp_seconds}, 'fresh: no last pass without a worker');
for my $k (qw(ingest_worker_claims_total ingest_worker_retries_total ingest_worker_rescues_total
    ingest_uploads_total ingest_upload_bytes_total ingest_cache_hits_total ingest_cache_misses_total
    ingest_cache_errors_total ingest_database_errors_total), (map { "ingest_callbacks_total{outcome=\"$_\"}" }
    qw(applied duplicate conflict not_found bad_signature unconfigured invalid error)),
    'ingest_worker_finishes_total{outcome="completed"}', 'ingest_worker_finishes_total{outcome="failed"}',
    'ingest_worker_passes_total{outcome="ok"}', 'ingest_worker_passes_total{outcome="error"}') {
    ok(exists $m0->{$k}, "fresh: $k is exposed");
}

my $head = $t->request('HEAD', '/api/ingest/metrics');
is($head->{status}, 200, 'HEAD: 200');
is($head->{content} // '', '', 'HEAD: no body');
my $post = $t->request('POST', '/api/ingest/metrics', body => '');
problem_ok($post, 405, 'method-not-allowed', 'POST metrics');
is($post->{headers}{allow}, 'GET, HEAD', 'POST metrics: Allow');

# ---------------------------------------------------------------- inits and an upload

my $N = 5;
my $K = 4321;
my @jobs = map { $t->init_job($tok, filename => "m$_.csv", file_size => $K) } 1 .. $N;
$t->init_job($tok2, filename => 'other.csv');
my $m1 = scrape('after inits');
moved_ok('after inits', $m0, $m1);
is($m1->{'ingest_jobs{status="pending"}'}, $N + 1, 'after inits: N+1 pending, two tenants together');
jobs_gauges_ok('after inits', $m1);

my $up = $t->request('PUT', $jobs[0]{upload_url}, body => 'x' x $K,
    headers => { 'Content-Type' => 'application/octet-stream' });
is($up->{status}, 200, 'upload of K bytes') or diag $up->{content};
my $m2 = scrape('after the upload');
moved_ok('after the upload', $m1, $m2, ingest_uploads_total => 1, ingest_upload_bytes_total => $K);
jobs_gauges_ok('after the upload', $m2);

# ---------------------------------------------------------------- callbacks by outcome

my $applied = delivery({ job_id => $jobs[1]{job_id}, status => 'completed' });
is(callback($applied)->{status}, 200, 'callback: applied');
is(callback($applied)->{status}, 200, 'callback: the same delivery again');
is(callback(delivery({ job_id => $jobs[1]{job_id}, status => 'running' }))->{status}, 409, 'callback: conflict');
is(callback(delivery({ job_id => '00000000-0000-4000-8000-000000000000', status => 'failed' }))->{status}, 404,
    'callback: not found');
is(callback(delivery({ job_id => 'nope', status => 'completed' }))->{status}, 422, 'callback: invalid');
is(callback(delivery({ job_id => $jobs[2]{job_id}, status => 'completed' }, sig => 'v1,AAAA'))->{status}, 401,
    'callback: bad signature');
my $m3 = scrape('after callbacks');
moved_ok('after callbacks', $m2, $m3,
    map { ("ingest_callbacks_total{outcome=\"$_\"}" => 1) } qw(applied duplicate conflict not_found invalid bad_signature));
jobs_gauges_ok('after callbacks', $m3);

# ---------------------------------------------------------------- many children

# 3 clients x 12 badly signed callbacks, a connection each, while children
# come and go every 4 connections
my $mark = -s "$t->{dir}/logs/pids.log" // 0;
my @kids;
for my $c (1 .. 3) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $bad = 0;
        for (1 .. 12) {
            $bad++ if callback(delivery({ job_id => $jobs[2]{job_id}, status => 'completed' }, sig => 'v1,AAAA'))->{status} != 401;
        }
        _exit($bad ? 1 : 0);
    }
    push @kids, $pid;
}
my $kids_ok = 0;
for (@kids) { waitpid $_, 0; $kids_ok++ if $? == 0 }
is($kids_ok, 3, '36 badly signed callbacks, all 401');
my $m4 = scrape('after 36 callbacks');
moved_ok('after 36 callbacks', $m3, $m4, 'ingest_callbacks_total{outcome="bad_signature"}' => 36);
my %pids;
if (open my $fh, '<', "$t->{dir}/logs/pids.log") {
    seek $fh, $mark, 0;
    while (<$fh>) { $pids{$1}++ if m{^(\d+) 401 /api/pipeline/callback$} }
}
is(eval { my $n = 0; $n += $_ for values %pids; $n }, 36, 'the access log has the 36 callbacks');
cmp_ok(scalar keys %pids, '>=', 3, 'served by ' . scalar(keys %pids) . ' child processes, every one counted');

# ---------------------------------------------------------------- server-status, no worker

$t->psql("UPDATE ingest_jobs SET status = 'queued' WHERE job_id IN ('$jobs[2]{job_id}', '$jobs[3]{job_id}')");
my $queued = $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'queued'");
is($queued, 3, 'three jobs queued');
my ($sa, $auto) = status_auto();
is($sa->{status}, 200, 'server-status?auto: 200');
is($auto->{IngestProcessor}, 'none', '?auto: IngestProcessor none');
is($auto->{IngestWorkerPid}, 0, '?auto: no process holds a worker');
is($auto->{IngestWorkerPasses}, 0, '?auto: no passes');
ok(!exists $auto->{IngestWorkerLastPassAge}, '?auto: no last pass');
is($auto->{IngestDatabase}, 'ok', '?auto: database ok');
is($auto->{IngestQueued}, 3, '?auto: 3 queued');
is($auto->{IngestRunning}, 0, '?auto: none running');
is($auto->{IngestQueueDepth}, 3, '?auto: queue depth 3');
is($auto->{IngestCacheHitRate}, 'n/a', '?auto: no cache look-ups yet');
my $html = $t->request('GET', '/server-status');
is($html->{status}, 200, 'server-status: 200');
like($html->{content}, qr{<h2>mod_ingest</h2>}, 'server-status: the mod_ingest section');
like($html->{content}, qr{<th[^>]*>Queue depth</th><td>3 \(queued 3, running 0\)</td>}, 'server-status: queue depth');
like($html->{content}, qr{<th[^>]*>Worker</th><td>off \(IngestProcessor none\)</td>}, 'server-status: worker off');
like($html->{content}, qr{<th[^>]*>Last pass</th><td>never</td>}, 'server-status: never a pass');
my $m5 = scrape('after server-status');
moved_ok('server-status changes no counter', $m4, $m5);

# ---------------------------------------------------------------- access control, graceful restarts

# Denied by Require: a tenant's token changes nothing.
graceful($BASE . "<Location /api/ingest/metrics>\n    Require ip 192.0.2.1\n</Location>\n", 'metrics denied',
    sub { $t->request('GET', '/api/ingest/metrics')->{status} == 403 });
my $denied = $t->request('GET', '/api/ingest/metrics', token => $tok);
is($denied->{status}, 403, 'denied by Require: 403 with a tenant token');
unlike($denied->{content} // '', qr/ingest_/, 'denied: no metrics in the body');
# Not configured: the path is the API's, which has no such route.
graceful($BASE . "<Location /api/ingest/metrics>\n    SetHandler ingest\n    Require all granted\n</Location>\n",
    'metrics not configured', sub { $t->request('GET', '/api/ingest/metrics')->{status} == 404 });
my $none = $t->request('GET', '/api/ingest/metrics', token => $tok);
problem_ok($none, 404, 'no-route', 'not configured, with a tenant token');
unlike($none->{content} // '', qr/ingest_jobs/, 'not configured: no metrics in the body');
graceful($BASE, 'metrics back', sub { $t->request('GET', '/api/ingest/metrics')->{status} == 200 });
my $m6 = scrape('after three graceful restarts');
moved_ok('the counters survived three graceful restarts', $m5, $m6);
is(scalar(() = $t->error_log =~ /AH00493: SIGUSR1 received/g), 3, 'three graceful restarts happened');

# A server without IngestCallbackSecret refuses every callback: unconfigured.
(my $nosecret = $BASE) =~ s/^IngestCallbackSecret .*\n//m;
$t->expect_log(qr/\[ingest:error\] .*IG00501: a pipeline callback arrived but no IngestCallbackSecret is set; refusing every callback$/);
graceful($nosecret, 'callbacks unconfigured',
    sub { $t->request('POST', '/api/pipeline/callback', body => '{}', headers => { 'Content-Type' => 'application/json' })
        ->{content} =~ /not configured/ });
my $m7 = scrape('callbacks unconfigured');
my $unconf = $m7->{'ingest_callbacks_total{outcome="unconfigured"}'};
cmp_ok($unconf, '>=', 1, 'unconfigured callbacks counted');
is(callback(delivery({ job_id => $jobs[2]{job_id}, status => 'completed' }))->{status}, 401,
    'a signed callback where no secret is configured: 401');
my $m8 = scrape('one more unconfigured');
moved_ok('one more unconfigured', $m7, $m8, 'ingest_callbacks_total{outcome="unconfigured"}' => 1);
graceful($BASE, 'callbacks configured again',
    sub { $t->request('POST', '/api/pipeline/callback', body => '{}', headers => { 'Content-Type' => 'application/json' })
        ->{content} !~ /not configured/ });
$m6 = scrape('callbacks configured again');

# ---------------------------------------------------------------- the database down

$t->stop_pg;
my $d1 = scrape('database down');
is($d1->{ingest_database_up}, 0, 'database down: ingest_database_up 0');
ok(!grep({ /^ingest_jobs\{/ } keys %$d1), 'database down: no jobs gauges');
moved_ok('database down: the scrape counted its own failure', $m6, $d1, ingest_database_errors_total => 1);
problem_ok($t->request('GET', '/api/ingest/stats', token => $tok), 503, 'database-unavailable', 'stats while down');
my ($sd, $autod) = status_auto();
is($sd->{status}, 200, 'server-status?auto while down: 200');
is($autod->{IngestDatabase}, 'unavailable', '?auto: database unavailable');
ok(!exists $autod->{IngestQueueDepth}, '?auto: no queue depth without the database');
my $htmld = $t->request('GET', '/server-status');
is($htmld->{status}, 200, 'server-status while down: 200');
like($htmld->{content}, qr{<th[^>]*>Queue depth</th><td>database unavailable</td>}, 'server-status: database unavailable');
my $d2 = scrape('database still down');
moved_ok('database down: stats, two status pages and a scrape, one error each', $d1, $d2,
    ingest_database_errors_total => 4);
$t->start_pg;
ok(wait_until('the database back', 20, sub { $t->request('GET', '/api/ingest/health')->{status} == 200 }),
    'the database is back');
my $d3 = scrape('database back');
is($d3->{ingest_database_up}, 1, 'database back: ingest_database_up 1');
jobs_gauges_ok('database back', $d3);

# ---------------------------------------------------------------- the worker

# the rest of the pending jobs too, and a mappings job (which ends by
# another statement): the worker gets 6 (5 of acme, 1 of globex)
$t->psql("UPDATE ingest_jobs SET status = 'queued' WHERE status = 'pending'");
is($t->request('POST', '/api/ingest/json', token => $tok,
    json => { mappings => [ map { { id => "m$_", source => "s$_", target => "t$_" } } 1 .. 3 ] })->{status}, 202,
    'a mappings job');
my $work = $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'queued'");
is($work, 6, 'six jobs queued for the worker');
my $WORKER = "IngestProcessor simulate\nIngestSimulateDelay 0 0\nIngestSimulateDuration 0\n"
    . "IngestSimulateFailureRate 0\nIngestSimulateSuccessRate 1\nIngestWorkerInterval 100ms\n";
graceful($BASE . $WORKER, 'the worker runs', sub { ((status_auto())[1]->{IngestProcessor} // "") eq 'simulate' });
ok(wait_until('the worker done', 60,
    sub { $t->psql("SELECT count(*) FROM ingest_jobs WHERE status IN ('queued', 'running')") == 0 }),
    'the worker completed every queued job');
my ($sw, $autow);
ok(wait_until('a worker pid', 30, sub { ($sw, $autow) = status_auto(); $autow->{IngestWorkerPid} }),
    '?auto: a process holds the worker');
is(scalar ppid_of($autow->{IngestWorkerPid}), $t->httpd_pid, '?auto: the worker pid is a child of httpd');
cmp_ok($autow->{IngestWorkerPasses}, '>=', 1, '?auto: passes counted');
like($autow->{IngestWorkerLastPassAge} // '', qr/^\d+\.\d{6}$/, '?auto: last pass age in seconds');
like($autow->{IngestWorkerLastPassDuration} // '', qr/^\d+\.\d{6}$/, '?auto: last pass duration in seconds');
is($autow->{IngestQueueDepth}, 0, '?auto: queue empty');
my $htmlw = $t->request('GET', '/server-status')->{content} // '';
like($htmlw, qr{<th[^>]*>Worker</th><td>running in process $autow->{IngestWorkerPid} since }, 'server-status: the worker process');
like($htmlw, qr{<th[^>]*>Last pass</th><td>\d+\.\d{6} s ago, took \d+\.\d{6} s</td>}, 'server-status: last pass');

# back to no worker, so that nothing moves while the numbers are compared
graceful($BASE, 'the worker stopped', sub { ((status_auto())[1]->{IngestProcessor} // "") eq 'none' });
ok(wait_until('the worker pid cleared', 30, sub { ((status_auto())[1]->{IngestWorkerPid} // "") eq '0' }),
    'the stopped worker gave up its pid');
my $w1 = scrape('after the worker');
my $w2 = scrape('after the worker, again');
moved_ok('nothing moves without a worker', $w1, $w2);
my $passes = $w1->{'ingest_worker_passes_total{outcome="ok"}'} + $w1->{'ingest_worker_passes_total{outcome="error"}'};
cmp_ok($passes, '>=', 1, "the worker made $passes pass(es)");
is($w1->{ingest_worker_pass_duration_seconds_count}, $passes, 'the histogram counted every pass');
ok($w1->{ingest_worker_last_pass_timestamp_seconds} > time - 600, 'the last pass timestamp is recent');
my %worker_delta = (
    ingest_worker_claims_total => 6,
    'ingest_worker_finishes_total{outcome="completed"}' => 6,
    'ingest_worker_passes_total{outcome="ok"}' => $w1->{'ingest_worker_passes_total{outcome="ok"}'},
    'ingest_worker_passes_total{outcome="error"}' => $w1->{'ingest_worker_passes_total{outcome="error"}'},
    ingest_worker_pass_duration_seconds_count => $passes,
    # the health checks that waited for the database to come back may
    # have met it still starting
    ingest_database_errors_total => $w1->{ingest_database_errors_total} - $d3->{ingest_database_errors_total},
);
moved_ok('the worker: 6 claims, 6 completed, no retry or rescue', $d3, $w1, %worker_delta);
is($w1->{ingest_database_errors_total} - $d3->{ingest_database_errors_total}, 0, 'the worker met no database error');
is($w1->{'ingest_jobs{status="completed"}'}, 7, 'seven jobs completed (one by callback)');
jobs_gauges_ok('after the worker', $w1);

# ---------------------------------------------------------------- the status cache

my $modules = IngestTest::run_or_die('apxs', '-q', 'LIBEXECDIR');
chomp $modules;
graceful($BASE . "LoadModule socache_shmcb_module $modules/mod_socache_shmcb.so\n"
    . qq(IngestStatusCache "shmcb:ingest-status(1048576)"\n), 'the status cache on',
    sub { $t->error_log =~ /IG00704: IngestStatusCache: shmcb/ });
my $c1 = scrape('cache on');
is($t->request('GET', "/api/ingest/status/$jobs[0]{job_id}", token => $tok)->{status}, 200, 'status: a miss');
is($t->request('GET', "/api/ingest/status/$jobs[0]{job_id}", token => $tok)->{status}, 200, 'status: a hit');
my $c2 = scrape('after two status requests');
moved_ok('the cache: one miss, one hit', $c1, $c2, ingest_cache_misses_total => 1, ingest_cache_hits_total => 1);
my (undef, $autoc) = status_auto();
is($autoc->{IngestCacheHitRate}, sprintf('%.3f', $c2->{ingest_cache_hits_total}
    / ($c2->{ingest_cache_hits_total} + $c2->{ingest_cache_misses_total})), '?auto: the cache hit rate');

done_testing;
