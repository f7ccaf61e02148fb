#!/usr/bin/perl
# Worker burn-down: JOBS simulated no-op jobs (no delay, no running phase,
# no failures) queued over TENANTS tenants before httpd starts, then timed
# until every one is completed, at one or more backlog sizes. Prints, per
# size: the wall time and jobs/s seen by polling, the database's own
# timing (first started_at to last completed_at), the transitions recorded
# (each job must have exactly queued>running and running>completed), and
# whether the stats counters still equal a count(*) of the jobs.
# With EXPLAIN=1 it also prints the plans (EXPLAIN ANALYZE, BUFFERS, through
# auto_explain, which slows the run) of the worker's first claim, due and
# finish statements at that backlog.
# Loopback only; bounded: each size stops after 600 s.
#   perl bench/worker_burndown.pl [JOBS ...]      (default 10000 1000000)
#   BATCH=1000 TENANTS=10 EXPLAIN=1 DURABLE=0 SHARED_BUFFERS=128MB perl bench/worker_burndown.pl 10000
# STATEMENTS=1 also prints the statements that took the most time while the
# worker ran (pg_stat_statements: total ms, calls, rows, text).
# PostgreSQL runs durable (fsync, synchronous_commit) unless DURABLE=0, with
# shared_buffers 1GB unless SHARED_BUFFERS says otherwise: a million jobs
# and their indexes (about 900 MB) do not fit in the default 128MB, and
# every batch then waits for evictions that have nothing to do with the
# queue's length.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use IngestBurn qw(queue_sql burn_sql);
use Time::HiRes qw(time sleep);

my @sizes = @ARGV ? @ARGV : (10_000, 1_000_000);
my $batch = $ENV{BATCH} // 1000;
my $tenants = $ENV{TENANTS} // 10;
my $durable = $ENV{DURABLE} // 1;
my $shared_buffers = $ENV{SHARED_BUFFERS} // '1GB';
die "SHARED_BUFFERS is a size such as 1GB or 128MB\n" unless $shared_buffers =~ /^\d+[kMG]B$/;
$ENV{PG_OPTS} = "-c shared_buffers=$shared_buffers";
$ENV{PG_OPTS} .= " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    if $ENV{STATEMENTS};
for (@sizes, $batch, $tenants) {
    die "sizes, BATCH and TENANTS are positive integers (sizes up to 2,000,000)\n"
        unless /^\d+$/ && $_ >= 1 && $_ <= 2_000_000;
}

# The first plan auto_explain logged for a statement matching $re.
sub first_plan {
    my ($t, $re) = @_;
    open my $fh, '<', "$t->{pgdata}/server.log" or return "(no server.log)\n";
    local $/;
    my $log = <$fh>;
    for my $entry (split /^(?=\S.*LOG:  duration: )/m, $log) {
        next unless $entry =~ /Query Text:.*$re/s;
        $entry =~ s/^/    /mg;
        return $entry;
    }
    return "(not logged)\n";
}

sub run {
    my ($jobs) = @_;
    my $t = IngestTest->new(no_httpd => 1, durable => $durable, log_level => 'warn',
        extra => "IngestProcessor simulate\nIngestSimulateDelay 0 0\nIngestSimulateDuration 0\n"
            . "IngestSimulateFailureRate 0\nIngestWorkerBatch $batch\nIngestWorkerInterval 50ms\n");
    my $t0 = time;
    $t->psql(queue_sql($jobs, $tenants));
    $t->psql("VACUUM ANALYZE $_") for qw(ingest_jobs ingest_job_transitions ingest_job_counts);
    my $queued_in = time - $t0;
    if ($ENV{EXPLAIN}) {
        $t->psql("ALTER DATABASE ingest SET session_preload_libraries = 'auto_explain';"
            . " ALTER DATABASE ingest SET auto_explain.log_min_duration = 0;"
            . " ALTER DATABASE ingest SET auto_explain.log_analyze = on;"
            . " ALTER DATABASE ingest SET auto_explain.log_buffers = on;"
            . " ALTER DATABASE ingest SET auto_explain.log_timing = off");
    }
    $t->psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
        if $ENV{STATEMENTS};
    $t->start_httpd;
    $t0 = time;
    my $done = 0;
    while (time - $t0 < 600) {
        $done = $t->psql("SELECT coalesce(sum(n), 0) FROM ingest_job_counts WHERE status = 'completed'");
        last if $done >= $jobs;
        sleep 0.5; # a psql per poll: rarely, not to steal the CPU measured
    }
    my $wall = time - $t0;
    $t->stop_httpd;
    if ($ENV{STATEMENTS}) {
        print "## $jobs queued, batch $batch: the statements by total time (ms), while the worker ran\n";
        print $t->psql("SELECT lpad(round(total_exec_time)::text, 8) || lpad(calls::text, 8) || lpad(rows::text, 9)"
            . " || '  ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 110)"
            . " FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"), "\n";
    }
    my ($db_secs) = split /\|/, $t->psql("SELECT extract(epoch FROM max(completed_at) - min(started_at))"
        . " FROM ingest_jobs");
    my $bad_paths = $t->psql("SELECT count(*) FROM (SELECT job_id FROM ingest_job_transitions GROUP BY job_id"
        . " HAVING string_agg(coalesce(from_status::text, '') || '>' || to_status::text, ' ' ORDER BY id)"
        . " <> '>queued queued>running running>completed') x");
    my $counts_ok = $t->psql("SELECT (SELECT coalesce(sum(n), 0) FROM ingest_job_counts WHERE status = 'completed')"
        . " = (SELECT count(*) FROM ingest_jobs WHERE status = 'completed')");
    # The ceiling, in the same cluster: the same jobs queued again and
    # burnt down by SQL alone, batch by batch, one commit per statement as
    # the worker does: a claim (the same fair-share claim is not
    # reproduced; a plain SKIP LOCKED range) and a finish, with every
    # trigger, index and transition row of the schema, but no worker.
    $t->psql("TRUNCATE ingest_jobs CASCADE");
    $t->psql(queue_sql($jobs, $tenants));
    $t->psql("VACUUM ANALYZE $_") for qw(ingest_jobs ingest_job_transitions ingest_job_counts);
    my $s0 = time;
    $t->psql(burn_sql($batch));
    my $sql_secs = time - $s0;
    my $sql_done = $t->psql("SELECT count(*) FROM ingest_jobs WHERE status = 'completed'");
    if ($ENV{EXPLAIN}) {
        for (['claim', qr/WITH t AS/], ['due', qr/'elapsed_ms'/], ['finish', qr/json_to_recordset/]) {
            print "## $jobs queued, batch $batch: the first $_->[0]\n", first_plan($t, $_->[1]);
        }
    }
    $t->teardown;
    return { jobs => $jobs, queued_in => $queued_in, done => $done, wall => $wall, db => $db_secs,
        bad_paths => $bad_paths, counts_ok => $counts_ok eq 't' ? 'yes' : 'NO', sql => $sql_done / $sql_secs };
}

my @rows = map { run($_) } @sizes;
printf "\nPostgreSQL: shared_buffers %s, %s\n", $shared_buffers,
    $durable ? 'durable (fsync, synchronous_commit on)' : 'fsync and synchronous_commit off';
printf "%-9s %-6s %-8s %9s %9s %9s %10s %10s %10s %8s %10s %8s\n", 'jobs', 'batch', 'tenants', 'queue s', 'wall s',
    'db s', 'jobs/s', 'db jobs/s', 'bad paths', 'counts', 'SQL jobs/s', 'ratio';
for my $r (@rows) {
    printf "%-9d %-6d %-8d %9.1f %9.2f %9.2f %10.0f %10.0f %10d %8s %10.0f %8.2f\n", $r->{jobs}, $batch, $tenants,
        $r->{queued_in}, $r->{wall}, $r->{db}, $r->{done} / $r->{wall}, $r->{done} / ($r->{db} || 1e-9),
        $r->{bad_paths}, $r->{counts_ok}, $r->{sql}, $r->{done} / $r->{wall} / $r->{sql};
}
print "\nSQL jobs/s: the same jobs burnt down by SQL alone in the same cluster (claim and finish\n"
    . "statements of BATCH jobs, a commit each, all triggers): the ceiling for this schema and server.\n"
    . "ratio: the worker's jobs/s over it.\n";
