package IngestJobs;
# Checks on jobs and workers shared by the tests that stress the worker
# (09-resilience, 13-restarts): the state machine every job must have
# walked, lease owners, and the processes behind them.
use strict;
use warnings;
use Exporter qw(import);
use Sys::Hostname qw(hostname);
use Test::More;

our @EXPORT_OK = qw(db_now count_where ppid_of gone_or_zombie show_job state_machine_ok owners_ok);

my $HOST = hostname();

# The database's clock, so times compare with ingest_job_transitions.at.
sub db_now { $_[0]->psql('SELECT extract(epoch FROM clock_timestamp())') }

sub count_where {
    my ($t, $where) = @_;
    return $t->psql("SELECT count(*) FROM ingest_jobs WHERE $where");
}

# Parent pid of a process, from /proc (undef once it is gone).
sub ppid_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return;
    my $stat = <$fh>;
    # "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'
    my ($state, $ppid) = $stat =~ /\)\s+(\S)\s+(\d+)/ or return;
    return wantarray ? ($ppid, $state) : $ppid;
}

sub gone_or_zombie {
    my ($pid) = @_;
    my ($ppid, $state) = ppid_of($pid);
    return !defined $ppid || $state eq 'Z';
}

sub show_job {
    my ($t, $id) = @_;
    diag "transitions of $id:\n" . $t->psql(<<SQL);
SELECT id, coalesce(from_status::text, '-'), to_status, coalesce(lease_owner, '-'), at
FROM ingest_job_transitions WHERE job_id = '$id' ORDER BY id
SQL
    diag 'row: ' . $t->psql("SELECT status, attempts, coalesce(lease_owner, '-'), lease_expires_at, due_at, error "
        . "FROM ingest_jobs WHERE job_id = '$id'");
}

# The invariants that must hold whatever happened to the workers: checks
# $n jobs (selected by $where on ingest_jobs j) are all terminal, each with
# exactly one transition into a terminal state (its last), none out of one,
# and every path a walk of the state machine.
sub state_machine_ok {
    my ($t, $where, $n, $name) = @_;
    is($t->psql("SELECT count(*) FROM ingest_jobs j WHERE $where AND status IN ('completed', 'failed')"), $n,
        "$name: all $n jobs terminal");
    my $bad_terminal = $t->psql(<<SQL);
SELECT j.job_id FROM ingest_jobs j LEFT JOIN ingest_job_transitions tr
  ON tr.job_id = j.job_id AND tr.to_status IN ('completed', 'failed')
WHERE $where GROUP BY j.job_id HAVING count(tr.id) <> 1
SQL
    my @bt = grep { length } split /\n/, $bad_terminal;
    is(scalar @bt, 0, "$name: every job has exactly one transition into a terminal state");
    show_job($t, $bt[0]) if @bt;
    my $out = $t->psql(<<SQL);
SELECT tr.job_id FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id)
WHERE $where AND tr.from_status IN ('completed', 'failed') LIMIT 5
SQL
    my @out = grep { length } split /\n/, $out;
    is(scalar @out, 0, "$name: no transition out of a terminal state");
    show_job($t, $out[0]) if @out;
    # each step allowed, each step starts where the previous one ended, the
    # first is the INSERT (into pending or queued), and the last is the
    # row's status
    my $walk = $t->psql(<<SQL);
SELECT DISTINCT job_id FROM (
  SELECT tr.job_id, tr.id, tr.from_status, tr.to_status, j.status AS now_status,
         lag(tr.to_status) OVER w AS prev, lead(tr.id) OVER w AS next_id
  FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id)
  WHERE $where WINDOW w AS (PARTITION BY tr.job_id ORDER BY tr.id)) x
WHERE from_status IS DISTINCT FROM prev
   OR (coalesce(from_status::text, '-') || '>' || to_status) NOT IN
      ('->pending', '->queued', 'pending>queued', 'pending>failed', 'queued>running', 'running>queued',
       'running>completed', 'running>failed')
   OR (next_id IS NULL AND to_status <> now_status)
SQL
    my @walk = grep { length } split /\n/, $walk;
    is(scalar @walk, 0, "$name: every job's transitions are a valid walk of the state machine")
        or diag scalar(@walk) . ' job(s) with an invalid path';
    show_job($t, $walk[0]) if @walk;
    my $hist = $t->psql(<<SQL);
SELECT path || ': ' || count(*) FROM (
  SELECT string_agg(coalesce(tr.from_status::text, '-') || '>' || tr.to_status, ' ' ORDER BY tr.id) AS path
  FROM ingest_job_transitions tr JOIN ingest_jobs j USING (job_id) WHERE $where GROUP BY tr.job_id) p
GROUP BY path ORDER BY count(*) DESC
SQL
    diag "$name: paths seen:\n$hist";
}

# Every lease owner a worker wrote is "host:ppid:pid:tid", with this host's
# name and the pid of one of the given httpd parents.
sub owners_ok {
    my ($t, $name, @parents) = @_;
    my %ok = map { ("$HOST:$_" => 1) } @parents;
    my @owners = grep { length } split /\n/, $t->psql(
        "SELECT DISTINCT lease_owner FROM ingest_job_transitions WHERE lease_owner IS NOT NULL ORDER BY 1");
    my @bad = grep { !/^([^:]+:\d+):\d+:\d+$/ || !$ok{$1} } @owners;
    is(scalar @bad, 0, "$name: every lease owner is host:ppid:pid:tid naming $HOST and the httpd parent")
        or diag "$name: malformed lease owners: @bad (expected prefix " . join(' or ', sort keys %ok) . ')';
}

1;
