#!/usr/bin/perl
# IngestWorkerThreads (issue 12, parallel steps), at its default of 2, with
# the parse processor:
# 1. A 200 MiB CSV is uploaded and its parse starts; then 20 small CSVs.
#    All 20 complete while the big one is still running (a trigger records
#    the big job's row as each small job ends), each job is claimed and
#    ends once, and the big one then completes with its record count.
#    With IngestWorkerThreads 0 the small ones wait behind it, and this
#    part fails.
# 2. A graceful restart while a 200 MiB parse runs on a step thread: the
#    old child stops the step at its next progress report, waits for its
#    threads, and gives the job back (running -> queued, no attempt
#    counted); the new generation parses it again to completion. The
#    harness's teardown fails the test on any crash, assertion (mod_dbd's
#    reslist aborts a child that exits with a connection out) or error in
#    the error_log.
# 3. httpd stopped while a 200 MiB parse runs: the job is given back
#    (queued, no attempt counted) and the stop does not wait for the file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use IngestJobs qw(count_where show_job state_machine_ok);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

use constant MiB => 1024 * 1024;

my $T0 = time;
# ingest at debug: IG00423 names each step handed to a step thread
my $t = IngestTest->new(log_level => 'info ingest:debug', extra => <<'CONF');
IngestProcessor parse
IngestWorkerInterval 100ms
CONF
my $tok = $t->token('threads', 'u1');

# ---------------------------------------------------------------- the big file
# 200 MiB of CSV on disk, written a 1 MiB block of whole lines at a time
# (never the whole file in memory), uploaded from disk in 1 MiB pieces.
# Rows of 100 bytes: every record lands in ingest_records (COPY), so the
# parse costs per record and per byte; 2 million rows take several seconds
# here, the 20 small jobs one to three (their uploads fsync).
my $BLOCKS = 200;
my $big_file = "$t->{dir}/big.csv";
my ($lines, $block) = (0, '');
while (length($block) < MiB - 16) {
    $lines++;
    $block .= ($lines % 10) . ('x' x 98) . "\n";
}
my $head = "a\n";
{
    open my $out, '>:raw', $big_file or die "$big_file: $!";
    print $out $head or die $!;
    print $out $block or die $! for 1 .. $BLOCKS;
    close $out or die $!;
}
my $BIG_SIZE = -s $big_file;
my $BIG_RECORDS = $BLOCKS * $lines;
is($BIG_SIZE, length($head) + $BLOCKS * length($block),
    sprintf('a %d MiB CSV of %d records on disk', $BIG_SIZE / MiB, $BIG_RECORDS));

sub init_big {
    my ($name) = @_;
    return $t->init_job($tok, filename => $name, file_type => 'csv', file_size => $BIG_SIZE);
}

sub upload_big {
    my ($init, $name) = @_;
    open my $in, '<:raw', $big_file or die "$big_file: $!";
    my $t_up = time;
    my $res = HTTP::Tiny->new(timeout => 120, keep_alive => 0)->request('PUT', $t->url($init->{upload_url}), {
        headers => { 'Content-Type' => 'application/octet-stream', 'Content-Length' => $BIG_SIZE },
        content => sub { my $n = read($in, my $buf, MiB); die "read: $!" unless defined $n; return $n ? $buf : undef } });
    close $in;
    is($res->{status}, 200, sprintf('%s: %d MiB uploaded in %.1f s', $name, $BIG_SIZE / MiB, time - $t_up))
        or diag $res->{content};
}

# status|processed_items|lease_owner of a job
sub job_state {
    my ($id) = @_;
    return split /\|/, $t->psql("SELECT status || '|' || processed_items || '|' || coalesce(lease_owner, '')"
        . " FROM ingest_jobs WHERE job_id = '$id'");
}

# Waits until the job is claimed (the pass that claims it hands its parse
# to a step thread at once) and, with $progress, has reported progress;
# answers its lease owner.
sub parse_running {
    my ($id, $what, $progress) = @_;
    my ($st, $done, $owner) = ('', 0, '');
    ok(wait_until("$what to run", 60, sub {
        ($st, $done, $owner) = job_state($id);
        return $st eq 'running' && (!$progress || $done > 0) }, 0.05),
        "$what: running" . ($progress ? ", parse under way ($done records so far)" : ''))
        or show_job($t, $id);
    return $owner;
}

sub big_done_ok {
    my ($id, $what) = @_;
    ok(wait_until("$what to end", 120, sub { count_where($t, "job_id = '$id' AND status IN ('completed', 'failed')") }),
        "$what ended");
    my ($st, $items, $recs, $attempts) = $t->job_outcome($id);
    is($st, 'completed', "$what completed");
    is($items, $BIG_RECORDS, "$what: processed_items $BIG_RECORDS");
    is($recs, $BIG_RECORDS, "$what: result_data.records $BIG_RECORDS");
    is($attempts, 0, "$what: no attempt counted");
}

# ---------------------------------------------------------------- 1. small jobs pass the big one
my $t1 = time;
# The 20 small jobs are created (pending) first, so that they can all be
# uploaded at once, in parallel, once the big parse runs.
my $SMALL = 20;
my (@small, %rows, %csv, %url);
for my $i (1 .. $SMALL) {
    my $n = 10 + $i;
    my $csv = "id,name,value\n" . join('', map { "$_,small $i row $_,$i\n" } 1 .. $n);
    my $init = $t->init_job($tok, filename => "small-$i.csv", file_type => 'csv', file_size => length $csv);
    push @small, $init->{job_id};
    ($rows{ $init->{job_id} }, $csv{ $init->{job_id} }, $url{ $init->{job_id} }) = ($n, $csv, $init->{upload_url});
}
my $in_small = join ', ', map { "'$_'" } @small;
my $big_init = init_big('big.csv');
my $big = $big_init->{job_id};

# "At the moment the last small one completes": a trigger records the big
# job's row as the statement that ends each small job sees it, in the same
# transaction; no polling from here can be late.
$t->psql(<<"SQL");
CREATE TABLE t27_seen (id serial PRIMARY KEY, small uuid, status text, big_status text, big_items bigint);
CREATE FUNCTION t27_seen() RETURNS trigger LANGUAGE plpgsql AS \$fn\$
BEGIN
    INSERT INTO t27_seen (small, status, big_status, big_items)
    SELECT NEW.job_id, NEW.status, b.status, b.processed_items FROM ingest_jobs b WHERE b.job_id = '$big';
    RETURN NULL;
END \$fn\$;
CREATE TRIGGER t27_seen AFTER UPDATE OF status ON ingest_jobs FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'failed') AND NEW.job_id IN ($in_small)) EXECUTE FUNCTION t27_seen();
SQL

upload_big($big_init, 'big.csv');
parse_running($big, 'the big parse');

# the small uploads, all at once: a process each
my $t_small = time;
my %kid;
for my $id (@small) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = $t->request('PUT', $url{$id}, body => $csv{$id}, headers => { 'Content-Type' => 'text/csv' });
        POSIX::_exit($r->{status} == 200 ? 0 : 1);
    }
    $kid{$pid} = $id;
}
my @failed_up;
while ((my $pid = wait) > 0) { push @failed_up, $kid{$pid} if $? }
is(scalar @failed_up, 0, sprintf('the %d small CSVs were uploaded (200) in %.1f s', $SMALL, time - $t_small))
    or diag "failed: @failed_up";

ok(wait_until('the small jobs to end', 60, sub {
    count_where($t, "job_id IN ($in_small) AND status IN ('completed', 'failed')") == $SMALL }, 0.05),
    "all $SMALL small jobs ended") or diag $t->psql("SELECT status, count(*) FROM ingest_jobs GROUP BY 1");
my ($n_seen, $big_then, $big_items_then) = split /\|/, $t->psql("SELECT (SELECT count(*) FROM t27_seen)"
    . " || '|' || big_status || '|' || big_items FROM t27_seen ORDER BY id DESC LIMIT 1");
is($n_seen, $SMALL, 'the trigger saw each small job end once');
is($big_then, 'running',
    "when the last small job ended, the big one was running (at $big_items_then of $BIG_RECORDS records)");
cmp_ok($big_items_then, '<', $BIG_RECORDS, 'the big parse was not through its file then');
diag sprintf 'the %d small jobs were done %.1f s after their uploads began; the big one was at %d of %d records',
    $SMALL, time - $t_small, $big_items_then, $BIG_RECORDS;

my @wrong = grep { length } split /\n/, $t->psql(
    "SELECT job_id || ': ' || status || ', processed ' || processed_items || ', error ' || coalesce(error, '-')"
    . " || ', records ' || coalesce(result_data->>'records', '-') FROM ingest_jobs WHERE job_id IN ($in_small)");
@wrong = grep { my ($id, $rest) = split /: /, $_, 2; $rest ne "completed, processed $rows{$id}, error -, records $rows{$id}" } @wrong;
is(scalar @wrong, 0, 'every small job completed with its record count') or diag join "\n", @wrong;
is($t->psql("SELECT count(DISTINCT lease_owner) FROM ingest_job_transitions WHERE job_id IN ($in_small, '$big')"
    . " AND to_status = 'running'"), 1, 'one worker ran the big parse and the small ones (on its step threads)');
is($t->psql("SELECT count(*) FROM ingest_jobs s, ingest_jobs b WHERE s.job_id IN ($in_small) AND b.job_id = '$big'"
    . " AND s.started_at > b.started_at"), $SMALL, 'every small job started after the big one');

big_done_ok($big, 'the big job');
is($t->psql("SELECT count(*) FROM ingest_jobs s, ingest_jobs b WHERE s.job_id IN ($in_small) AND b.job_id = '$big'"
    . " AND s.completed_at < b.completed_at"), $SMALL, 'every small job completed before the big one');
my $ptm = $t->psql("SELECT result_data->>'processing_time_ms' FROM ingest_jobs WHERE job_id = '$big'");
diag sprintf 'part 1: %.1f s; the big parse took %d ms (%.0f MB/s)', time - $t1, $ptm, $BIG_SIZE / 1e6 / (($ptm || 1) / 1000);
# one claim and one end per job: no job was handed over twice
state_machine_ok($t, "j.job_id IN ($in_small, '$big')", $SMALL + 1, 'part 1');
is($t->psql("SELECT count(*) FROM ingest_job_transitions WHERE job_id IN ($in_small, '$big') AND to_status = 'running'"),
    $SMALL + 1, 'each job was claimed once');
# the big job stayed running and due for seconds, returned by the due query
# of every pass (every 100 ms): still handed to a thread once
my %handed;
$handed{$_}++ for $t->error_log =~ /IG00423: worker: job (\S+): step handed to a step thread/g;
my @twice = grep { ($handed{$_} // 0) != 1 } @small, $big;
is(scalar @twice, 0, 'each job\'s step was handed to a step thread once (IG00423)')
    or diag join "\n", map { "$_: " . ($handed{$_} // 0) . ' times' } @twice;

# ---------------------------------------------------------------- 2. graceful restart mid-parse
my $t2 = time;
my $again_init = init_big('big-again.csv');
my $again = $again_init->{job_id};
upload_big($again_init, 'big-again.csv');
my $owner = parse_running($again, 'the second big parse', 1);
my $at_restart = (job_state($again))[1];
IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful'));
big_done_ok($again, 'after the graceful restart, the second big job');
my $path = $t->psql("SELECT string_agg(coalesce(from_status::text, '-') || '>' || to_status || ' '"
    . " || CASE WHEN lease_owner IS NULL THEN '-' WHEN lease_owner = '$owner' THEN 'old' ELSE 'new' END,"
    . " ', ' ORDER BY id) FROM ingest_job_transitions WHERE job_id = '$again'");
is($path, '->pending -, pending>queued -, queued>running old, running>queued old, queued>running new, '
    . 'running>completed new',
    "the old child gave the job back (running -> queued; it was at $at_restart records), the new generation parsed it")
    or show_job($t, $again);
my $log = $t->error_log;
like($log, qr/IG00405: worker: stopping; gave 1 running job\(s\) back to the queue/, 'the release was logged (IG00405)');
unlike($log, qr/IG00421|IG00212/, 'the exit waited neither on step threads past their bound nor on held connections');
diag sprintf 'part 2: %.1f s', time - $t2;

# ---------------------------------------------------------------- 3. stop mid-parse
# httpd stopped (SIGTERM) while a parse runs on a step thread: the child
# exits at once rather than after the file, and gives the job back.
my $t3 = time;
my $third_init = init_big('big-third.csv');
my $third = $third_init->{job_id};
upload_big($third_init, 'big-third.csv');
parse_running($third, 'the third big parse', 1);
my $t_stop = time;
ok($t->stop_httpd, 'httpd stopped while the third big parse ran');
my $stop_secs = time - $t_stop;
my ($st3, $done3, $owner3, $att3) = split /\|/, $t->psql("SELECT status || '|' || processed_items || '|' || "
    . "coalesce(lease_owner, '-') || '|' || attempts FROM ingest_jobs WHERE job_id = '$third'");
is("$st3 $owner3 $att3", 'queued - 0', "the job was given back: queued, no lease, no attempt counted (at $done3 records)");
cmp_ok($done3, '<', $BIG_RECORDS, 'it was in the middle of its parse');
my $released = () = $t->error_log =~ /IG00405: worker: stopping; gave 1 running job\(s\) back to the queue/g;
is($released, 2, 'the release was logged at the restart and at the stop');
unlike($t->error_log, qr/IG00421|IG00212/, 'the stop waited neither on step threads past their bound nor on held connections');
diag sprintf 'part 3: %.1f s; httpd stopped in %.1f s; total %.1f s', time - $t3, $stop_secs, time - $T0;
unlink $big_file;
done_testing;
