#!/usr/bin/perl
# Restarts under load, and a child killed in the middle of a parse.
#
# 1. 50 graceful restarts (apache2 -k graceful, 0.3 to 0.6 s apart) while
#    forked clients keep initialising and uploading CSV files, posting
#    mappings jobs (simulated external calls) and polling statuses,
#    listings, stats and health. Every request gets its answer, every job
#    reaches the state its requests call for (uploaded files completed with
#    their record count, mappings jobs terminal with every mapping
#    processed), along a valid walk of the state machine, and none is left
#    queued or running. The harness's teardown check then fails the test on
#    any child that died on a signal or assertion.
# 2. kill -9 of the child whose worker is parsing a large CSV, once it has
#    reported progress: the job is rescued and completed exactly once, by
#    another worker, with the file's record count, and each record lands
#    in ingest_records once (the second run replaces what the first
#    committed).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use IngestJobs qw(count_where ppid_of gone_or_zombie show_job state_machine_ok);
use HTTP::Tiny;
use IO::Handle;
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(sleep time);

use constant MiB => 1024 * 1024;

my $T0 = time;
my $RESTARTS = 50;

# ServerLimit above MaxRequestWorkers / ThreadsPerChild (4): room for the
# children of older generations that are still finishing their requests.
my $t = IngestTest->new(extra => <<'CONF');
ServerLimit 16
IngestProcessor parse
IngestWorkerInterval 100ms
IngestLeaseTime 3
IngestSimulateDuration 200ms
IngestSimulateSuccessRate 0.9
IngestBatchSize 4
CONF
my $stop = "$t->{dir}/stop-load";

# ---------------------------------------------------------------- load

sub small_csv {
    my ($rows) = @_;
    return "id,name,value\n" . join('', map { "$_,name $_," . ($_ * 7 % 1000) . "\n" } 1 .. $rows);
}

# One client process: repeats its kind of work until $stop exists, writing
# one line per request to load-<n>.txt:
# "<what> <http status> <milliseconds> [job_id [n]]".
sub client {
    my ($kind, $n) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    srand($$ ^ int(time * 1000));
    open my $out, '>', "$t->{dir}/load-$n.txt" or _exit(2);
    $out->autoflush(1);
    my $tok = $t->token('load', "$kind-$n");
    # one request, logged
    my $req = sub {
        my ($what, $method, $path, $log, %o) = @_;
        my $t0 = time;
        my $r = $t->request($method, $path, %o);
        my $id = $r->{json}{job_id} // '-';
        printf $out "%s %s %d %s\n", $what, $r->{status}, 1000 * (time - $t0), $log->($id);
        return $r;
    };
    # never out of here but through _exit: no END block, no harness teardown
    eval { load_loop($kind, $n, $tok, $req); 1 } or print $out "died 0 0 $@";
    close $out;
    _exit(0);
}

sub load_loop {
    my ($kind, $n, $tok, $req) = @_;
    my $get = sub { my ($what, $path, @id) = @_; return $req->($what, 'GET', $path, sub { "@id" }, token => $tok) };
    for (my $i = 1; !-e $stop; $i++) {
        if ($kind eq 'upload') {
            my $rows = 1 + int rand 300;
            my $csv = small_csv($rows);
            my $r = $req->('init', 'POST', '/api/ingest/init', sub { $_[0] }, token => $tok,
                json => { filename => "c$n-$i.csv", file_type => 'csv', file_size => length $csv });
            next unless $r->{status} == 201;
            my $id = $r->{json}{job_id};
            $req->('upload', 'PUT', $r->{json}{upload_url}, sub { "$id $rows" }, body => $csv,
                headers => { 'Content-Type' => 'application/octet-stream' });
            $get->('status', "/api/ingest/status/$id", $id) for 1 .. 2;
        }
        elsif ($kind eq 'json') {
            my $m = 3 + int rand 10;
            my $r = $req->('json', 'POST', '/api/ingest/json', sub { "$_[0] $m" }, token => $tok,
                json => { mappings => [ map { { id => "m$_", source => "s$i.$_", target => "t$_" } } 1 .. $m ] });
            $get->('status', "/api/ingest/status/$r->{json}{job_id}", $r->{json}{job_id}) if $r->{status} == 202;
        }
        else {
            my $l = $get->('jobs', '/api/ingest/jobs?limit=10');
            my $first = ($l->{json}{jobs} // [])->[0];
            $get->('status', "/api/ingest/status/$first->{job_id}", $first->{job_id}) if $first;
            $get->('stats', '/api/ingest/stats');
            $get->('health', '/api/ingest/health');
        }
        sleep 0.02;
    }
}

# what each request must be answered with
my %WANT = (init => 201, upload => 200, json => 202, status => 200, jobs => 200, stats => 200, health => 200);

my @kids = (client('upload', 1), client('upload', 2), client('json', 3), client('poll', 4));
END { kill 'KILL', grep { $_ } @kids if @kids }    # a test that died leaves no client behind
ok(wait_until('load running', 15, sub { count_where($t, "status = 'completed'") >= 5 }),
    'load: the clients have jobs completing before the first restart');

sub fd_count { my @f = glob "/proc/$_[0]/fd/*"; return scalar @f }
my $parent = $t->httpd_pid;
my $fds0 = fd_count($parent);
my $t_loop = time;
my @failed;
# The MPM clears its restart flag when a generation starts, so a SIGUSR1 that
# arrives while the parent is still re-reading the configuration is merged
# into that restart (slow under ASan). Each restart is therefore sent only
# once the previous generation logged AH00489, then after 0.3-0.6 s of load.
my $generations = sub { my $n = () = $t->error_log =~ /AH00489: /g; $n };
my $gen0 = $generations->();
for my $i (1 .. $RESTARTS) {
    sleep(0.3 + rand 0.3);
    eval { IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful')); 1 } or push @failed, "restart $i: $@";
    wait_until("generation $i", 30, sub { $generations->() >= $gen0 + $i }, 0.05) or push @failed, "restart $i: no AH00489 within 30 s";
}
sleep 1;    # load on the last generation too
my $loop_secs = time - $t_loop;
diag sprintf '%d restarts in %.1f s (%.1f s after the start)', $RESTARTS, $loop_secs, time - $T0;
is(scalar @failed, 0, "$RESTARTS graceful restarts sent") or diag join "\n", @failed;
is($t->httpd_pid, $parent, 'the same httpd parent throughout');
my $restarts_logged = () = $t->error_log =~ /AH00493: SIGUSR1 received\.  Doing graceful restart/g;
is($restarts_logged, $RESTARTS, "httpd logged $RESTARTS graceful restarts");

# stop the clients: each finishes its round (requests time out after 30 s)
open my $fh, '>', $stop or die $!;
close $fh;
my %left = map { ($_ => 1) } @kids;
wait_until('the clients to stop', 60, sub { delete $left{$_} for grep { waitpid($_, WNOHANG) } keys %left; !%left });
ok(!%left, 'every client stopped');
kill 'KILL', keys %left;
@kids = ();

# ---------------------------------------------------------------- answers
# What each job must have become, by what its requests were answered: in a
# table, so the checks are joins however many jobs there are.
my (%by, %ms, @unexpected, %expect);
for my $f (glob "$t->{dir}/load-*.txt") {
    open my $in, '<', $f or die $!;
    while (<$in>) {
        my ($what, $status, $ms, $id, $n) = split ' ', $_, 5;
        $by{$what}{$status}++;
        push @{ $ms{$what} }, $ms;
        push @unexpected, "$what $status" . ($id ? " $id" : '') if !$WANT{$what} || $status != $WANT{$what};
        next unless $id && $id =~ /^[0-9a-f-]{36}$/;
        chomp $n if defined $n;
        if ($what eq 'init' && $status == 201) { $expect{$id} //= ['created', 'NULL'] }
        elsif ($what eq 'upload' && $status == 200) { $expect{$id} = ['uploaded', $n] }
        elsif ($what eq 'json' && $status == 202) { $expect{$id} = ['mappings', $n] }
    }
}
diag sprintf('load over %.1f s of restarts: ', $loop_secs)
    . join(', ', map { my $w = $_; "$w " . join('/', map { "$_ x$by{$w}{$_}" } sort keys %{ $by{$w} }) } sort keys %by);
diag 'milliseconds per request (median, max): ' . join(', ', map { my @v = sort { $a <=> $b } @{ $ms{$_} };
    "$_ $v[$#v / 2] $v[-1]" } sort keys %ms);
is(scalar @unexpected, 0, 'every request got its expected answer across the restarts')
    or diag 'unexpected answers: ' . join(', ', @unexpected[0 .. ($#unexpected < 19 ? $#unexpected : 19)]);
my %kinds;
$kinds{ $_->[0] }++ for values %expect;
$kinds{$_} //= 0 for qw(created uploaded mappings);
cmp_ok($kinds{uploaded}, '>=', $RESTARTS / 2, "files were uploaded during the restarts ($kinds{uploaded})");
cmp_ok($kinds{mappings}, '>=', $RESTARTS / 2, "mappings jobs were posted during the restarts ($kinds{mappings})");

$t->psql('CREATE TABLE t13_expect (job_id uuid PRIMARY KEY, kind text NOT NULL, n int)');
my @rows = map { "('$_', '$expect{$_}[0]', $expect{$_}[1])" } sort keys %expect;
$t->psql('INSERT INTO t13_expect VALUES ' . join(', ', splice @rows, 0, 500)) while @rows;

# ---------------------------------------------------------------- jobs
is($t->psql('SELECT count(*) FROM t13_expect e LEFT JOIN ingest_jobs j USING (job_id) WHERE j.job_id IS NULL'), 0,
    'every job whose creation was answered 201/202 is in the database (' . scalar(keys %expect) . ')');
my $work = "j.job_id IN (SELECT job_id FROM t13_expect WHERE kind <> 'created')";
my $n_work = $kinds{uploaded} + $kinds{mappings};
my $t_drain = time;
ok(wait_until('uploaded and mappings jobs terminal', 60, sub {
    $t->psql("SELECT count(*) FROM ingest_jobs j WHERE $work AND status IN ('completed', 'failed')") == $n_work }),
    "all $n_work uploaded and mappings jobs reached a terminal state within 60 s");
diag sprintf 'the last of them ended %.1f s after the load stopped', time - $t_drain;
is(count_where($t, "status IN ('queued', 'running')"), 0, 'no job is left queued or running');
is(count_where($t, "status = 'running' AND lease_expires_at < now()"), 0, 'none is running on an expired lease');

# uploaded files: completed with their record count
my @wrong = grep { length } split /\n/, $t->psql(<<'SQL');
SELECT j.job_id || ': ' || e.n || ' rows, ' || j.status || ', processed_items ' || j.processed_items
       || ', records ' || coalesce(j.result_data->>'records', '-') || ', error ' || coalesce(j.error, '-')
FROM t13_expect e JOIN ingest_jobs j USING (job_id)
WHERE e.kind = 'uploaded' AND (j.status <> 'completed' OR j.processed_items <> e.n
   OR (j.result_data->>'records') IS DISTINCT FROM e.n::text)
SQL
is(scalar @wrong, 0, 'every uploaded CSV completed with processed_items and result_data.records = its rows')
    or diag join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)];
show_job($t, (split /:/, $wrong[0])[0]) if @wrong;

# mappings jobs: every mapping processed once, the counts agreeing
my @bad_maps = grep { length } split /\n/, $t->psql(<<'SQL');
SELECT j.job_id || ': ' || e.n || ' mappings, ' || j.status || ', total ' || j.total_items || ', processed '
       || j.processed_items || ', failed ' || j.failed_items || ', items ' || count(i.*) || ' (pending '
       || count(i.*) FILTER (WHERE i.status = 'pending') || ', failed ' || count(i.*) FILTER (WHERE i.status = 'failed') || ')'
FROM t13_expect e JOIN ingest_jobs j USING (job_id) LEFT JOIN ingest_job_items i USING (job_id)
WHERE e.kind = 'mappings'
GROUP BY j.job_id, e.n
HAVING j.total_items <> e.n OR j.processed_items <> e.n OR count(i.*) <> e.n
    OR count(i.*) FILTER (WHERE i.status = 'pending') > 0
    OR j.failed_items <> count(i.*) FILTER (WHERE i.status = 'failed')
SQL
is(scalar @bad_maps, 0, 'every mappings job processed each of its mappings once (items, processed, failed and total agree)')
    or diag join "\n", @bad_maps[0 .. ($#bad_maps < 9 ? $#bad_maps : 9)];

# a job whose upload was not answered 200 stays pending (or, had the
# upload landed before its answer was lost, completed)
is($t->psql("SELECT count(*) FROM t13_expect e JOIN ingest_jobs j USING (job_id) "
    . "WHERE e.kind = 'created' AND j.status NOT IN ('pending', 'completed')"), 0,
    "jobs without an answered upload are pending ($kinds{created})");

state_machine_ok($t, $work, $n_work, 'restarts');
my @workers = $t->error_log =~ /IG00406: worker (\S+) started/g;
diag scalar(@workers) . " worker starts over $RESTARTS restarts; parent fds before $fds0, after " . fd_count($parent);
cmp_ok(fd_count($parent), '<=', $fds0 + 2, 'the httpd parent did not leak file descriptors over the restarts');

# ---------------------------------------------------------------- kill -9 mid-parse
diag sprintf 'kill -9 part starts %.1f s after the start', time - $T0;
{
    # 256 MiB of CSV: a block of whole lines sent again and again
    my ($lines, $block) = (0, '');
    while (length($block) < MiB - 64) {
        $lines++;
        $block .= "$lines,name $lines," . ($lines * 7 % 100000) . '.' . sprintf('%02d', $lines % 100)
            . ",a comment of some length for row $lines\n";
    }
    my $size_blocks = 256;
    my $head = "id,name,amount,comment\n";
    my $size = length($head) + $size_blocks * length($block);
    my $records = $size_blocks * $lines;
    my $tok = $t->token('kill', 'u1');
    my $init = $t->init_job($tok, filename => 'big.csv', file_type => 'csv', file_size => $size);
    my $id = $init->{job_id};
    my $sent = -1;
    my $t_up = time;
    my $res = HTTP::Tiny->new(timeout => 120, keep_alive => 0)->request('PUT', $t->url($init->{upload_url}), {
        headers => { 'Content-Type' => 'application/octet-stream', 'Content-Length' => $size },
        content => sub { $sent++; return $sent == 0 ? $head . $block : $sent < $size_blocks ? $block : undef } });
    is($res->{status}, 200, sprintf('kill -9: %d MiB CSV (%d records) uploaded in %.1f s', $size / MiB, $records, time - $t_up))
        or diag $res->{content};

    my ($owner, $at_kill) = ('', 0);
    ok(wait_until('progress of the parse', 60, sub {
        ($owner, $at_kill) = split /\|/, $t->psql("SELECT coalesce(lease_owner, '') || '|' || processed_items "
            . "FROM ingest_jobs WHERE job_id = '$id' AND status = 'running'");
        $at_kill && $at_kill > 0 }, 0.05), 'kill -9: the parse reported progress (processed_items > 0)');
    my $victim = (split /:/, $owner // '')[-2] // 0;
    my $is_child = $victim =~ /^\d+$/ && $victim > 1 && (ppid_of($victim) // -1) == $t->httpd_pid;
    ok($is_child && kill('KILL', $victim), "kill -9 of $victim, the child of lease owner $owner, at processed_items $at_kill");
    ok(wait_until('the child to die', 10, sub { gone_or_zombie($victim) }), 'kill -9: the child is gone');
    cmp_ok($at_kill, '<', $records, "kill -9: it was in the middle of the parse ($at_kill of $records records)");

    ok(wait_until('the job to complete', 90, sub { count_where($t, "job_id = '$id' AND status IN ('completed', 'failed')") }),
        'kill -9: the job ended within 90 s')
        or diag "the database's sessions (a stuck step waits on what?):\n" . $t->psql(
            "SELECT pid || ' ' || coalesce(state, '-') || ' ' || coalesce(wait_event_type, '-') || '/'"
            . " || coalesce(wait_event, '-') || ' blocked by ' || coalesce(pg_blocking_pids(pid)::text, '{}')"
            . " || ' xact ' || coalesce((now() - xact_start)::text, '-') || ': ' || left(query, 160)"
            . " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    my ($st, $items, $recs, $attempts) = $t->job_outcome($id);
    is($st, 'completed', 'kill -9: the job completed');
    is($items, $records, "kill -9: processed_items is the file's record count ($records)");
    is($recs, $records, 'kill -9: result_data.records too');
    is($attempts, 1, 'kill -9: one attempt lost (the killed worker\'s)');
    # the killed run had committed batches of records: the second replaced
    # them, so every record is there exactly once
    is($t->psql("SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' || min(seq) || ' ' || max(seq)"
        . " || ' ' || sum((data->>'id')::bigint % 1000) FROM ingest_records WHERE job_id = '$id'"),
        "$records $records 1 $records " . ($size_blocks * sum_mod($lines)),
        "kill -9: ingest_records holds each of the $records records once, in order, with its data");
    my $path = $t->psql("SELECT string_agg(coalesce(from_status::text, '-') || '>' || to_status || ' '"
        . " || CASE WHEN lease_owner IS NULL THEN '-' WHEN lease_owner = '$owner' THEN 'killed' ELSE 'other' END,"
        . " ', ' ORDER BY id)"
        . " FROM ingest_job_transitions WHERE job_id = '$id'");
    is($path, '->pending -, pending>queued -, queued>running killed, running>queued killed, '
        . 'queued>running other, running>completed other',
        'kill -9: rescued from the killed worker (running -> queued), then run and completed once by another')
        or show_job($t, $id);
}

diag sprintf 'total %.1f s', time - $T0;

# The sum of id % 1000 over the ids 1..n of one block.
sub sum_mod {
    my ($n) = @_;
    my $s = 0;
    $s += $_ % 1000 for 1 .. $n;
    return $s;
}
done_testing;
