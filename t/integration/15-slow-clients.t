#!/usr/bin/perl
# Slow and lying clients cost no other tenant anything (issue 7 §3, §4):
# uploads trickling in hold no database connection while their body
# streams, a Content-Length that announces a large JSON body reserves no
# memory before the bytes arrive, and POST /api/ingest/json keeps its
# stored records when the job's INSERT may have committed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until problem_ok);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

# one child with a two-connection pool: two slow uploads take it all if
# they hold their connections
my $one_child = $IngestTest::ONE_CHILD . <<'CONF';
DBDMax 2
DBDKeep 2
IngestMaxBodySize 512M
CONF

sub children {
    my ($t) = @_;
    my $ppid = $t->httpd_pid or return ();
    my @c;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($pid, $pp) = (<$fh> // '') =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        push @c, $pid if $pp == $ppid;
    }
    return @c;
}

sub vm_data_kb {
    my ($t) = @_;
    my $sum = 0;
    for my $pid (children($t)) {
        open my $sf, '<', "/proc/$pid/status" or next;
        while (<$sf>) { $sum += $1 if /^VmData:\s+(\d+)/ }
    }
    return $sum;
}

# A client that sends its headers, then the body at about 2 KB/s.
sub slow_put {
    my ($t, $url, $size, $seconds) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port}, Proto => 'tcp') or POSIX::_exit(2);
    print $s "PUT $url HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        . "Content-Length: $size\r\nConnection: close\r\n\r\n";
    my $piece = int($size / ($seconds * 10));
    my $sent = 0;
    my $body = "a\n" . ('1' x ($size - 3)) . "\n";
    while ($sent < $size) {
        my $n = $size - $sent < $piece ? $size - $sent : $piece;
        print $s substr($body, $sent, $n);
        $s->flush;
        $sent += $n;
        sleep 0.1;
    }
    my $resp = join '', <$s>;
    POSIX::_exit($resp =~ m{^HTTP/1\.1 200} ? 0 : 1);
}

{
    my $t = IngestTest->new(extra => $one_child);
    ok(wait_until('the child', 10, sub { children($t) == 1 }), 'one child serves everything');
    my $up = $t->token('uploader', 'u1');
    my $other = $t->token('other', 'u2');
    my $size = 16_000;
    my @jobs = map { $t->init_job($up, filename => "slow$_.csv", file_size => $size) } 1 .. 2;
    my @pids = map { slow_put($t, $_->{upload_url}, $size, 8) } @jobs;
    sleep 1.5;    # both uploads are streaming
    my $t0 = time;
    my $stats = $t->request('GET', '/api/ingest/stats', token => $other);
    my $took = time - $t0;
    is($stats->{status}, 200, "another tenant's stats answer while two slow uploads stream");
    ok($took < 3, sprintf('without waiting for the uploads (%.2f s)', $took));
    $t0 = time;
    my $h = $t->request('GET', '/api/ingest/health');
    is($h->{status}, 200, 'health answers too');
    ok(time - $t0 < 3, sprintf('at once (%.2f s)', time - $t0));
    my $init = $t->request('POST', '/api/ingest/init', token => $other,
        json => { filename => 'x.csv', file_type => 'csv', file_size => 10 });
    is($init->{status}, 201, 'and inits commit');
    for my $pid (@pids) {
        waitpid $pid, 0;
        is($? >> 8, 0, 'the slow upload itself completes with 200');
    }
    is($t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'uploader' AND status = 'queued'"), 2,
        'both slow uploads queued their jobs');

    # ---- a JSON body announced at 400 MB, of which 10 bytes come: the
    # buffer grows with the data, so nothing is reserved for the rest
    my $before = vm_data_kb($t);
    my @socks;
    for (1 .. 4) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port}, Proto => 'tcp') or die $!;
        print $s "POST /api/ingest/json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $other\r\n"
            . "Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n{\"records\"";
        $s->flush;
        push @socks, $s;
    }
    sleep 1;
    my $grown = vm_data_kb($t) - $before;
    ok($grown < 64 * 1024, "four bodies announced at 400 MB reserve no memory before it arrives (VmData +$grown kB)");
    close $_ for @socks;
}

# ---- POST /api/ingest/json: a stored records file is removed when the
# INSERT was refused, and kept when the connection failed (the INSERT may
# have committed, and then its job names the file)
{
    my $t = IngestTest->new();
    # the INSERT the trigger below refuses
    $t->expect_log(qr/\[ingest:error\] .*IG00206: statement ingest_json_records failed: ERROR:  P0001: refused by a test trigger\\nCONTEXT:  PL\/pgSQL function fault\(\)/);
    my $tok = $t->token('rec', 'u1');
    $t->psql(<<'SQL');
CREATE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.user_id = 'refused' THEN
        RAISE EXCEPTION 'refused by a test trigger';
    ELSIF NEW.user_id = 'cut' THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fault BEFORE INSERT ON ingest_jobs FOR EACH ROW EXECUTE FUNCTION fault();
SQL
    my $files = sub { my @f = glob("$t->{dir}/storage/rec/*"); scalar @f };
    my $r = $t->request('POST', '/api/ingest/json', token => $t->token('rec', 'refused'), json => { records => [{ a => 1 }] });
    is($r->{status}, 500, 'a refused INSERT answers 500');
    is($files->(), 0, 'and its stored records are removed');
    $r = $t->request('POST', '/api/ingest/json', token => $t->token('rec', 'cut'), json => { records => [{ a => 1 }] });
    is($r->{status}, 503, 'a connection lost during the INSERT answers 503');
    is($files->(), 1, 'and the stored records are kept: the INSERT may have committed');
    like($t->error_log, qr/IG00609: records of job [0-9a-f-]+ stored as rec\//, 'IG00609 names the kept file');
    $r = $t->request('POST', '/api/ingest/json', token => $tok, json => { records => [{ a => 1 }] });
    is($r->{status}, 202, 'the next request works on a new connection');
}

done_testing;
