#!/usr/bin/perl
# IngestStatusCache: GET /api/ingest/status/{id} from an ap_socache
# provider (shmcb, then a real redis-server), cache first, then the
# database.
#
# - A cached answer is the same bytes (and headers) as an uncached one: a
#   second httpd on the same database with the cache off is the reference.
# - A hit is a hit: a row changed by hand in SQL (which no cache hears of)
#   still answers the old bytes, until IngestStatusCacheTTL; the reference
#   shows the new ones at once.
# - Every writer forgets the job after its commit: upload, callback,
#   delete, and the worker (claim, progress, finish, upload expiry, lease
#   rescue, retention). While the worker moves jobs, an answer is never
#   older than what the database held just before the request.
# - Another tenant, another profile's words, a job that did not exist yet.
# - redis: shared by two httpds (one's change is seen by the other at
#   once), redis down (answers from the database, one log line, no 5xx),
#   redis back.
# - Directive errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(sleep time);
use IngestTest qw(wait_until);

my $MODULES = IngestTest::run_or_die('apxs', '-q', 'LIBEXECDIR');
chomp $MODULES;
my $TTL = 3;

# GET (or HEAD) on any of the servers (a handle with {port}).
sub get {
    my ($h, $path, $tok, $method) = @_;
    my $res = HTTP::Tiny->new(timeout => 30, keep_alive => 0)
        ->request($method // 'GET', "http://127.0.0.1:$h->{port}$path", { headers => { Authorization => "Bearer $tok" } });
    my $r = { status => $res->{status}, headers => $res->{headers}, content => $res->{content} };
    $r->{json} = eval { $IngestTest::JSON->decode($res->{content}) } if length($res->{content} // '');
    return $r;
}

# The answer and the parts of the headers a client sees.
sub shown {
    my ($r) = @_;
    return join "\n", $r->{status}, map({ "$_: " . ($r->{headers}{$_} // '-') } qw(content-type content-length cache-control)),
        $r->{content} // '';
}

sub status_path { "/api/ingest/status/$_[0]" }

# The cache off: the second httpd of the same database answers uncached.
sub uncached { $_[0] =~ s/^IngestStatusCache .*$/IngestStatusCache none/m or die "no IngestStatusCache line\n" }

# ------------------------------------------------------------------ shmcb
my $t = IngestTest->new(extra => <<"EOC");
LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so
IngestStatusCache "shmcb:ingest-status(1048576)"
IngestStatusCacheTTL $TTL
IngestCallbackAuth none
<LocationMatch "^/api/job/">
    IngestAPIProfile seed001
</LocationMatch>
EOC
$t->expect_log(qr/IG00002/);
my $ref = $t->start_second_httpd(\&uncached);
my $tok = $t->token('acme', 'u1');
my $other = $t->token('globex', 'u2');

sub same_as_reference {
    my ($id, $name, $path) = @_;
    $path //= status_path($id);
    my $got = get($t, $path, $tok);
    my $want = get($ref, $path, $tok);
    is(shown($got), shown($want), "$name: the cached server answers what the database holds");
    return $got;
}

{
    my $id = $t->init_job($tok)->{job_id};
    my $miss = get($t, status_path($id), $tok);
    is($miss->{status}, 200, 'first GET: 200');
    my $hit = get($t, status_path($id), $tok);
    is(shown($hit), shown($miss), 'second GET (from the cache): the same status, headers and bytes');
    is(shown(get($ref, status_path($id), $tok)), shown($hit), 'and the same as the uncached server');
    my $head = get($t, status_path($id), $tok, 'HEAD');
    is($head->{status}, 200, 'HEAD from the cache: 200');
    is($head->{headers}{'content-length'}, $hit->{headers}{'content-length'}, 'HEAD: the same Content-Length');
    is($head->{content} // '', '', 'HEAD: no body');

    # a change no module writer made: the cache keeps the old bytes until the TTL
    $t->psql("UPDATE ingest_jobs SET error = 'changed by hand' WHERE job_id = '$id'");
    is(shown(get($t, status_path($id), $tok)), shown($miss), 'a row changed by hand in SQL: the cached answer stays (a hit)');
    is(get($ref, status_path($id), $tok)->{json}{error}, 'changed by hand', 'the uncached server shows the change at once');
    ok(wait_until('the TTL', $TTL + 5, sub { (get($t, status_path($id), $tok)->{json}{error} // '') eq 'changed by hand' }),
        "after IngestStatusCacheTTL ($TTL s) the change shows");

    # another tenant never gets the cached answer
    my $r = get($t, status_path($id), $other);
    is($r->{status}, 404, 'another tenant: 404 while the job is cached');

    # profiles: each route's words, cached side by side
    for (1 .. 2) {
        same_as_reference($id, "native words (round $_)");
        same_as_reference($id, "seed001 words (round $_)", "/api/job/$id");
    }

    # a 404 is not kept: a job that appears later is found at once
    my $later = '00000000-0000-4000-8000-00000000cafe';
    is(get($t, status_path($later), $tok)->{status}, 404, 'an unknown id: 404');
    $t->psql("INSERT INTO ingest_jobs (job_id, tenant_id, source_type, status) VALUES ('$later', 'acme', 'json_records', 'queued')");
    is(get($t, status_path($later), $tok)->{status}, 200, 'the same id once it exists: 200 at once');
}

# ---- every API writer forgets the job (no TTL wait anywhere below)
{
    my $init = $t->init_job($tok, file_size => 12);
    my $id = $init->{job_id};
    get($t, status_path($id), $tok) for 1 .. 2;
    my $res = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($init->{upload_url}),
        { headers => { 'Content-Type' => 'application/octet-stream' }, content => "a,b\n1,2\n3,4\n" });
    ok($res->{success}, 'upload: 2xx') or diag $res->{content};
    is(same_as_reference($id, 'after the upload')->{json}{status}, 'queued', 'after the upload: queued at once');

    for my $step (['running', { records_processed => 1, total_items => 4 }], ['completed', { records_processed => 4 }]) {
        my ($status, $extra) = @$step;
        get($t, status_path($id), $tok);
        my $r = $t->request('POST', '/api/pipeline/callback', json => { job_id => $id, status => $status, %$extra });
        is($r->{status}, 200, "callback $status: 200") or diag $r->{content};
        is(same_as_reference($id, "after the $status callback")->{json}{status}, $status, "after the callback: $status at once");
    }

    get($t, status_path($id), $tok);
    is($t->request('DELETE', "/api/ingest/$id", token => $tok)->{status}, 204, 'delete: 204');
    is(get($t, status_path($id), $tok)->{status}, 404, 'after the delete: 404 at once');
}

# ---- the worker's writers: never an answer older than the database's
# state read just before the request
{
    my $w = IngestTest->new(extra => <<"EOC");
LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so
IngestStatusCache shmcb
IngestStatusCacheTTL 60
IngestProcessor simulate
IngestSimulateDelay 0 1
IngestSimulateDuration 1
IngestSimulateFailureRate 0.3
IngestWorkerInterval 100ms
IngestLeaseTime 30
IngestUploadTTL 2
IngestRetention 1
EOC
    my $wt = $w->token('acme', 'u1');
    # JSON records need no upload: queued at once, then claimed, run, finished
    my @ids = map {
        $w->request('POST', '/api/ingest/json', token => $wt, json => { records => [{ n => $_ }] })->{json}{job_id}
    } 1 .. 6;
    # jobs waiting for a file that never comes (made by hand: under simulate
    # an init needs no file): failed by the upload expiry
    for my $n (1 .. 2) {
        push @ids, "00000000-0000-4000-8000-00000000100$n";
        $w->psql("INSERT INTO ingest_jobs (job_id, tenant_id, source_type, status, upload_expires_at)"
            . " VALUES ('$ids[-1]', 'acme', 'file_upload', 'pending', now() + interval '2 seconds')");
    }
    is(scalar(grep { defined } @ids), 8, '8 jobs created');
    my $in = join ',', map { "'$_'" } @ids;
    my ($checks, $older, $deadline) = (0, 0, time + 30);
    while (time < $deadline) {
        my %db = map { split /\|/ } split /\n/, $w->psql("SELECT job_id, ingest_ts(updated_at) FROM ingest_jobs WHERE job_id IN ($in)");
        for my $id (@ids) {
            my $r = get($w, status_path($id), $wt);
            ++$checks;
            if (($r->{json}{updated_at} // '') lt $db{$id}) {
                ++$older;
                diag "job $id: answered $r->{json}{status} of $r->{json}{updated_at}, the database had $db{$id} before";
            }
        }
        last if $w->psql("SELECT count(*) FROM ingest_jobs WHERE job_id IN ($in) AND status IN ('completed', 'failed')") == @ids;
    }
    is($older, 0, "no answer older than the database before it ($checks answers while the worker ran)");
    is($w->psql("SELECT count(*) FROM ingest_jobs WHERE job_id IN ($in) AND status IN ('completed', 'failed')"), 8,
        'every job ended');
    my @failed = grep { get($w, status_path($_), $wt)->{json}{status} eq 'failed' } @ids[6, 7];
    is(scalar @failed, 2, 'the jobs without a file show failed (upload expired)');

    # lease rescue: a running job whose lease ran out goes back to queued
    # (a job made by hand, so no answer of it is cached yet)
    my $lost = '00000000-0000-4000-8000-0000000000aa';
    $w->psql("INSERT INTO ingest_jobs (job_id, tenant_id, source_type, status, started_at, lease_owner, lease_expires_at, due_at)"
        . " VALUES ('$lost', 'acme', 'json_records', 'running', now(), 'gone-host', now() + interval '1 hour', now() + interval '1 hour')");
    my $before = get($w, status_path($lost), $wt)->{json};
    is($before->{status}, 'running', 'cached before the rescue: running');
    # the lease runs out by hand: a column no answer shows, so no cache hears of it
    is($w->psql("UPDATE ingest_jobs SET lease_expires_at = now() + interval '2 hours' WHERE job_id = '$lost'"
        . " RETURNING ingest_ts(updated_at)"), $before->{updated_at}, 'a lease change alone does not move updated_at (schema 7)');
    is(get($w, status_path($lost), $wt)->{json}{updated_at}, $before->{updated_at}, 'and the cached answer stays');
    $w->psql("UPDATE ingest_jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = '$lost'");
    ok(wait_until('the rescue', 15, sub { $w->psql("SELECT attempts FROM ingest_jobs WHERE job_id = '$lost'") >= 1 }),
        'the worker rescues the job');
    my $after = get($w, status_path($lost), $wt)->{json};
    isnt($after->{updated_at}, $before->{updated_at}, 'after the rescue the answer is new at once')
        or diag explain [$before, $after];
    cmp_ok($after->{attempts}, '>=', 1, 'and counts the lost attempt');

    # retention: a finished job past IngestRetention is pruned, and its answer goes
    my $done = $ids[1];
    is(get($w, status_path($done), $wt)->{status}, 200, 'a finished job is answered (and cached)');
    $w->psql("UPDATE ingest_jobs SET completed_at = now() - interval '2 days' WHERE job_id = '$done'");
    ok(wait_until('the prune', 15, sub { $w->psql("SELECT count(*) FROM ingest_jobs WHERE job_id = '$done'") == 0 }),
        'the worker prunes it');
    is(get($w, status_path($done), $wt)->{status}, 404, 'after the prune: 404 at once');
}

# ------------------------------------------------------------------ redis
# Two more httpds on the same database, both keeping answers in one
# redis-server: two hosts sharing a cache.
{
    my $port = $t->start_redis;
    my $to_redis = sub {
        my $conf = "LoadModule socache_redis_module $MODULES/mod_socache_redis.so\n"
            . "IngestStatusCache redis:127.0.0.1:$port\nRedisTimeout 2";
        $_[0] =~ s/^IngestStatusCache .*$/$conf/m or die "no IngestStatusCache line\n";
        $_[0] =~ s/^IngestStatusCacheTTL .*$/IngestStatusCacheTTL 30/m;
        $_[0] .= $IngestTest::ONE_CHILD;
    };
    # mod_socache_redis' own lines while redis is down
    $t->expect_log(qr/AH0347[89]|AH03481/);
    my $r = $t->start_second_httpd($to_redis);
    my $b = $t->start_second_httpd($to_redis);
    my $id = $t->init_job($tok)->{job_id};
    my $first = get($r, status_path($id), $tok);
    my @keys = grep { /^ingest-status:/ } split /\n/, `redis-cli -p $port --scan`;
    is(scalar @keys, 1, 'the answer is kept in redis (one key, ingest-status:<id>)');
    like($keys[0] // '', qr/^ingest-status:[0-9a-f]{32}$/, 'keyed by the job id');
    $t->psql("UPDATE ingest_jobs SET error = 'by hand' WHERE job_id = '$id'");
    is(shown(get($r, status_path($id), $tok)), shown($first), 'redis: a hit answers the cached bytes');
    is(shown(get($b, status_path($id), $tok)), shown($first), 'the other host answers the same entry from redis');
    my $del = sub {
        my ($h, $job) = @_;
        return HTTP::Tiny->new->request('DELETE', "http://127.0.0.1:$h->{port}/api/ingest/$job",
            { headers => { Authorization => "Bearer $tok" } })->{status};
    };
    is($del->($r, $id), 204, 'delete on one host: 204');
    is(get($b, status_path($id), $tok)->{status}, 404, 'the other host: 404 at once (the entry left redis)');
    my $id2 = $t->init_job($tok)->{job_id};
    get($r, status_path($id2), $tok);
    is($del->($b, $id2), 204, 'delete on the other host: 204');
    is(get($r, status_path($id2), $tok)->{status}, 404, 'the first host: 404 at once');

    # redis goes away: every answer from the database, one line, no 5xx
    my $id3 = $t->init_job($tok)->{job_id};
    get($r, status_path($id3), $tok);
    $t->stop_redis;
    $t->psql("UPDATE ingest_jobs SET error = 'while redis is down' WHERE job_id = '$id3'");
    my @answers = map { get($r, status_path($id3), $tok) } 1 .. 20;
    is(scalar(grep { $_->{status} == 200 && ($_->{json}{error} // '') eq 'while redis is down' } @answers), 20,
        'redis down: 20 of 20 answers 200, from the database');
    my @lines = grep { /IG00706/ } split /\n/, IngestTest::error_log($r);
    is(scalar @lines, 1, 'one IG00706 line for the outage (one child)') or diag join "\n", @lines;
    like($lines[0] // '', qr/\[ingest:warn\].*IG00706: IngestStatusCache: a lookup failed on the redis cache; status answers come from the database/,
        'the line says what happened');

    # redis comes back: the cache is used again
    $t->start_redis;
    my $back = wait_until('the cache again', 30, sub {
        my $id4 = $t->init_job($tok)->{job_id};
        get($r, status_path($id4), $tok);
        $t->psql("UPDATE ingest_jobs SET error = 'x' WHERE job_id = '$id4'");
        return !defined get($r, status_path($id4), $tok)->{json}{error};
    }, 1);
    ok($back, 'redis back: answers come from the cache again');
    like(IngestTest::error_log($r), qr/IG00707: IngestStatusCache: the redis cache answers again/, 'and the log says so');
}

# ------------------------------------------------------------ directives
{
    # the first server's configuration file, rewritten for httpd -t only
    my $try = sub { $t->configtest(@_) };
    my ($ok, $out) = $try->("LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so\nIngestStatusCache shmcb\nIngestStatusCacheTTL 2mi\n");
    ok($ok, 'IngestStatusCache shmcb with a TTL of 2mi: valid') or diag $out;
    ($ok, $out) = $try->("IngestStatusCache none\n");
    ok($ok, 'IngestStatusCache none: valid') or diag $out;
    for my $bad (
        ["IngestStatusCache nosuch", qr/IngestStatusCache: unknown socache provider 'nosuch'; load its module first/],
        ["IngestStatusCache redis", qr/IngestStatusCache: unknown socache provider 'redis'/],
        ["LoadModule socache_redis_module $MODULES/mod_socache_redis.so\nIngestStatusCache redis",
            qr/IngestStatusCache redis: List of server names required/],
        ["LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so\nIngestStatusCache \"shmcb:x(12)\"",
            qr/IngestStatusCache shmcb:x\(12\): Invalid argument: size has to be >= 8192 bytes/],
        ["IngestStatusCacheTTL 0", qr/IngestStatusCacheTTL: '0' must be a duration from 1s to 3600s/],
        ["IngestStatusCacheTTL 2h", qr/IngestStatusCacheTTL: '2h' must be a duration/],
        ["<VirtualHost 127.0.0.1:1>\nIngestStatusCacheTTL 5\n</VirtualHost>", qr/IngestStatusCacheTTL cannot occur within <VirtualHost> section/],
        ["<Location /x>\nIngestStatusCache none\n</Location>", qr/IngestStatusCache not allowed in <Location> context/],
    ) {
        my ($conf, $re) = @$bad;
        ($ok, $out) = $try->("$conf\n");
        ok(!$ok, "refused: $conf");
        like($out, $re, "message for: $conf");
    }
}

done_testing;
