#!/usr/bin/perl
# The database goes away and comes back under a running httpd; the schema
# is older than the module needs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest;
use POSIX qw(_exit);

my $t = IngestTest->new;
my $tok = $t->token('acme', 'alice');
# while PostgreSQL is stopped, mod_dbd says so each time it cannot connect
$t->expect_log(
    qr/\[dbd:error\] .*(?:AH00629: Can't connect to pgsql|AH00639: DBD \[pgsql\] Error): connection to server at "127\.0\.0\.1", port $t->{pgport} failed: Connection refused/,
    qr/\[dbd:error\] .*AH02655: Failed to acquire DBD connection from pool!$/);

sub unavailable_ok {
    my ($r, $type, $name) = @_;
    is($r->{status}, 503, "$name: 503");
    like($r->{headers}{'content-type'} // '', qr{^application/problem\+json}, "$name: problem+json");
    is($r->{json}{type}, "urn:mod-ingest:problem:$type", "$name: $type");
    is($r->{headers}{'retry-after'}, '5', "$name: Retry-After");
}

# Runs $clients processes doing $each requests (alternating reads and
# writes) and returns the status codes seen.
sub hammer {
    my ($clients, $each, $tag) = @_;
    pipe(my $rd, my $wr) or die $!;
    my @pids;
    for my $c (1 .. $clients) {
        my $pid = fork // die $!;
        if (!$pid) {
            close $rd;
            my @codes;
            for my $i (1 .. $each) {
                my $r = $i % 2
                    ? $t->request('POST', '/api/ingest/init', token => $tok,
                        json => { filename => "$tag-$c-$i.csv", file_type => 'csv', file_size => 1 })
                    : $t->request('GET', '/api/ingest/jobs?limit=5', token => $tok);
                push @codes, $r->{status};
            }
            syswrite $wr, "@codes\n";
            _exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    my @codes = map { split ' ' } <$rd>;
    waitpid $_, 0 for @pids;
    return @codes;
}

my $job = $t->init_job($tok)->{job_id};
my $rows = $t->psql('SELECT count(*) FROM ingest_jobs');

# ---- outage
$t->stop_pg;
unavailable_ok($t->request('GET', "/api/ingest/status/$job", token => $tok), 'database-unavailable', 'status while down');
unavailable_ok($t->request('POST', '/api/ingest/init', token => $tok,
    json => { filename => 'lost.csv', file_type => 'csv', file_size => 1 }), 'database-unavailable', 'init while down');
unavailable_ok($t->request('GET', '/api/ingest/jobs', token => $tok), 'database-unavailable', 'list while down');
unavailable_ok($t->request('GET', '/api/ingest/stats', token => $tok), 'database-unavailable', 'stats while down');
unavailable_ok($t->request('DELETE', "/api/ingest/$job", token => $tok), 'database-unavailable', 'delete while down');
my $h = $t->request('GET', '/api/ingest/health');
is($h->{status}, 503, 'health 503 while down');
is($h->{json}{database}, 'unreachable', 'health says unreachable');
# bad input is still judged without the database
is($t->request('POST', '/api/ingest/init', token => $tok, json => { filename => 'a/b' })->{status}, 422,
    'validation does not need the database');

$t->start_pg;
is($t->request('GET', "/api/ingest/status/$job", token => $tok)->{status}, 200, 'status 200 again, same httpd');
is($t->request('POST', '/api/ingest/init', token => $tok,
    json => { filename => 'back.csv', file_type => 'csv', file_size => 1 })->{status}, 201, 'init 201 again');
is($t->request('GET', '/api/ingest/health')->{status}, 200, 'health 200 again');
is($t->psql('SELECT count(*) FROM ingest_jobs'), $rows + 1, 'nothing was written while down; one job since');
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE filename = 'lost.csv'"), 0, 'the refused init left no row');

# ---- restart under load: every pooled connection goes stale at once
my @warm = hammer(8, 10, 'warm');
is(scalar(grep { $_ !~ /^20[01]$/ } @warm), 0, 'warm-up: 80 requests, all 2xx');
$t->stop_pg;
$t->start_pg;
my @after = hammer(8, 20, 'after');
is(scalar @after, 160, '160 requests after the restart');
is(scalar(grep { $_ !~ /^20[01]$/ } @after), 0, 'all 2xx: stale connections were re-opened and re-prepared')
    or diag "codes: @after";
is($t->psql("SELECT count(*) FROM ingest_jobs WHERE filename LIKE 'after-%'"), 80, 'every write after the restart landed once');
like($t->error_log, qr/IG00210/, 'the module logged the reconnect');

# ---- a database whose schema is older than the module needs
my $old = IngestTest->new(no_migrate => 1);
$old->expect_log(qr/\[ingest:error\] .*IG00203: database schema is version 0, this mod_ingest needs \d+: run sql\/migrate\.sh; answering 503 until then$/);
my $otok = $old->token('acme', 'alice');
$h = $old->request('GET', '/api/ingest/health');
is($h->{status}, 503, 'health 503 on an unmigrated database');
is($h->{json}{database}, 'schema_outdated', 'health says schema_outdated');
is($h->{json}{schema_version}, 0, 'schema version 0');
unavailable_ok($old->request('POST', '/api/ingest/init', token => $otok,
    json => { filename => 'a.csv', file_type => 'csv', file_size => 1 }), 'schema-outdated', 'init on an old schema');
unavailable_ok($old->request('GET', '/api/ingest/jobs', token => $otok), 'schema-outdated', 'list on an old schema');
my $complaints = () = $old->error_log =~ /IG00203/g;
ok($complaints >= 1 && $complaints <= 4, "the outdated schema is logged once per child process ($complaints)");
unlike($old->error_log, qr/IG00204|IG00206/, 'no statement was prepared or run against the old schema');

IngestTest::run_or_die("$IngestTest::TOP/sql/migrate.sh", '-h', '127.0.0.1', '-p', $old->{pgport}, '-U', 'ingest', '-d', 'ingest');
is($old->request('GET', '/api/ingest/health')->{status}, 200, 'after migrating, healthy without a restart');
is($old->request('POST', '/api/ingest/init', token => $otok,
    json => { filename => 'a.csv', file_type => 'csv', file_size => 1 })->{status}, 201, 'and serving');
my $again = IngestTest::run_or_die("$IngestTest::TOP/sql/migrate.sh", '-h', '127.0.0.1', '-p', $old->{pgport}, '-U', 'ingest', '-d', 'ingest');
my $latest = IngestTest::latest_schema();
like($again, qr/0 applied, schema version $latest/, 'migrate.sh a second time is a no-op');

# ---- 26000: the session lost our prepared statements but kept its pid
# (DEALLOCATE ALL, DISCARD ALL, a restarted server handing out the same
# pid): the statement is prepared again and runs once more. One child with
# a one-connection pool, so the next request uses that session.
{
    my $d = IngestTest->new(extra => $IngestTest::ONE_CHILD . "DBDMin 1\nDBDMax 1\nDBDKeep 1\n");
    my $dtok = $d->token('dealloc', 'u1');
    $d->psql(<<'SQL');
CREATE FUNCTION forget_statements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.filename = 'forget.csv' THEN EXECUTE 'DEALLOCATE ALL'; END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER forget_statements AFTER INSERT ON ingest_jobs FOR EACH ROW EXECUTE FUNCTION forget_statements();
SQL
    my $before = $d->psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'ingest' AND pid <> pg_backend_pid()");
    my $id = $d->init_job($dtok, filename => 'forget.csv')->{job_id};
    my $r = $d->request('GET', "/api/ingest/status/$id", token => $dtok);
    is($r->{status}, 200, 'a session whose statements were deallocated answers the next request (26000 handled)');
    is($r->{json}{job_id}, $id, 'with the right job');
    is($d->request('GET', '/api/ingest/stats', token => $dtok)->{status}, 200, 'and every request after it');
    like($d->error_log, qr/IG00213: statement ingest_\w+ is no longer prepared in its session; preparing again/,
        'IG00213 says so');
    is($d->psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'ingest' AND pid <> pg_backend_pid()"), $before,
        'on the same session (no reconnect)');
}

done_testing;
