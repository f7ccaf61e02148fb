#!/usr/bin/perl
# GET /api/ingest/events (issue 15): Server-Sent Events of the tenant's
# jobs, fed by the event log of sql/017 through one LISTEN session per
# child.
#  - a stream sees pending -> queued -> running -> completed of an uploaded
#    and parsed job, in order, each within 100 ms of its commit, each
#    event's data the job as GET status showed it then;
#  - ids only grow; a stream cut after some events and resumed with
#    Last-Event-ID (or ?after=) gets the rest, none lost and none twice,
#    while 40 jobs are created by concurrent requests;
#  - another tenant's stream sees none of it;
#  - ?job_id= replays the job's history and ends after its terminal event;
#    resuming after that answers 204 (EventSource stops);
#  - bad ids and job ids are 422 (as every invalid field), another
#    tenant's job 404, no token 401;
#  - an id older than the kept history, or one never sent, answers a
#    "reload" event, then the stream goes on live; the worker prunes events
#    past IngestEventsHistory;
#  - heartbeats every IngestEventsHeartbeat;
#  - the LISTEN session killed by the server is made again (IG00440,
#    IG00441) and nothing is lost meanwhile;
#  - one LISTEN session per child, not one per stream;
#  - a graceful restart ends the streams, and the browser resumes with its
#    Last-Event-ID on the new generation, losing nothing;
#  - through a reverse-proxy httpd in front (mod_proxy, flushpackets=on);
#  - 200 streams on one child with IngestEventsMaxStreams 200 (40 and 40
#    under ASan) stay live,
#    the 201st is answered 503 with Retry-After; a stream closed by its
#    client frees its seat at once (it looks every 250 ms while it has
#    nothing to send), not at its next heartbeat.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use IngestSSE;
use JSON::PP;
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->canonical;
my $APP = 'mod_ingest events LISTEN';
my $t = IngestTest->new(
    extra => "IngestProcessor parse\nIngestWorkerInterval 5s\nIngestEventsHeartbeat 1\nIngestEventsHistory 60\n",
    expect_log => [qr/IG00440/]);
my $acme = $t->token('acme');
my $other = $t->token('other');
my $port = $t->{port};

sub stream { my (%o) = @_; IngestSSE->open($o{port} // $port, $o{path} // '/api/ingest/events', %o) }
sub statuses { my @s = map { $JSON->decode($_->{data})->{status} } @_; my @c; for (@s) { push @c, $_ unless @c && $c[-1] eq $_ } @c }

# ---- one job, pending to completed, as it happens
my $s = stream(token => $acme);
my $bs = stream(token => $other);
# a reader of its own, so that each event is stamped as it arrives, not
# when this process is done with its requests
pipe my $rd, my $wr or die $!;
my $stamped = "$t->{dir}/stamped.json";
my $reader = fork // die;
if (!$reader) {
    close $rd;
    my $r = stream(token => $acme);
    $r->read_until(10, sub { $_[0]->comments >= 1 });
    syswrite $wr, "ready\n";
    $r->read_until(60, sub { grep { $JSON->decode($_->{data})->{status} eq 'completed' } @{ $_[0]->jobs } });
    open my $fh, '>', $stamped or die $!;
    print $fh $JSON->encode($r->jobs);
    close $fh;
    POSIX::_exit(0);
}
close $wr;
is(scalar(<$rd>), "ready\n", 'a stream in another process is open');
is($s->status, 200, 'a stream opens');
like($s->header('Content-Type'), qr{^text/event-stream}, 'as text/event-stream');
is($s->header('Cache-Control'), 'no-cache', 'not cached');
ok($s->read_until(5, sub { $_[0]->comments >= 1 }), 'the stream starts with a comment (headers flushed)');

my $init = $t->init_job($acme, filename => 'e.csv', file_type => 'csv', file_size => 12);
my $id = $init->{job_id};
my $put = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($init->{upload_url}),
    { headers => { 'Content-Type' => 'application/octet-stream' }, content => "a,b\n1,2\n3,4\n" });
is($put->{status}, 200, 'uploaded');
ok($s->read_until(30, sub { grep { $JSON->decode($_->{data})->{status} eq 'completed' } @{ $_[0]->jobs } }),
    'the stream sees the job complete');
waitpid $reader, 0;
my $timed = do { open my $fh, '<', $stamped or die "$stamped: $!"; local $/; $JSON->decode(<$fh>) };
my @mine = grep { $JSON->decode($_->{data})->{job_id} eq $id } @{ $s->jobs };
is_deeply([ statuses(@mine) ], [qw(pending queued running completed)], 'pending -> queued -> running -> completed, in order');
my @ids = map { $_->{id} } @mine;
is_deeply(\@ids, [ sort { $a <=> $b } @ids ], 'ids grow');
is(scalar(grep { $_->{id} !~ /^\d+$/ } @mine), 0, 'every event has a numeric id');
my $final = $JSON->decode($mine[-1]{data});
my $status = $t->request('GET', "/api/ingest/status/$id", token => $acme)->{json};
is_deeply($final, $status, "the last event's data is GET status's answer");
is($final->{progress}, 100, 'with the derived progress');
# each status change arrived within 100 ms of the transition's commit
# (the history's clock_timestamp() is taken inside the transaction, just
# before its commit)
my %at = map { split /\|/ } split /\n/, $t->psql("SELECT to_status, extract(epoch FROM at) FROM ingest_job_transitions"
    . " WHERE job_id = '$id' ORDER BY id");
my %arrived;
for my $e (@$timed) { my $st = $JSON->decode($e->{data})->{status}; $arrived{$st} //= $e->{at} }
for my $st (qw(pending queued running completed)) {
    my $lag = $arrived{$st} - $at{$st};
    ok($lag < 0.1, sprintf('%s arrived %.1f ms after its commit', $st, 1000 * $lag));
}
is(scalar @{ $bs->jobs }, 0, "another tenant's stream saw none of it")
    or diag explain $bs->jobs;

# ---- many jobs from concurrent requests; a resumed stream loses and repeats nothing
my $before = $s->jobs->[-1]{id};
my @kids;
for my $k (1 .. 4) {
    my $pid = fork // die;
    if (!$pid) {
        for my $n (1 .. 10) {
            $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { k => $k, n => $n } ] });
        }
        exit 0;
    }
    push @kids, $pid;
}
my $cut = stream(token => $acme, headers => { 'Last-Event-ID' => $before });
ok($cut->read_until(30, sub { @{ $_[0]->jobs } >= 25 }), 'a resumed stream reads 25 events');
$cut->close;
waitpid $_, 0 for @kids;
my $seen = $cut->jobs;
ok(wait_until('40 json jobs completed', 60, sub {
    $t->psql("SELECT count(*) FROM ingest_jobs WHERE tenant_id = 'acme' AND source_type = 'json_records'"
        . " AND status = 'completed'") == 40 }), 'the 40 jobs completed');
my $expected = [ split /\n/, $t->psql("SELECT id FROM ingest_job_events WHERE tenant_id = 'acme' AND id > $before ORDER BY id") ];
my $rest = stream(token => $acme, path => "/api/ingest/events?after=$seen->[-1]{id}");
ok($rest->read_until(30, sub { @{ $_[0]->jobs } && $_[0]->jobs->[-1]{id} >= $expected->[-1] }),
    'resumed again with ?after=, it reads to the last event');
my @got = map { $_->{id} } @$seen, @{ $rest->jobs };
is_deeply(\@got, $expected, 'the two streams together: every event after the first id, once each, in order')
    or diag "got " . scalar(@got) . ", expected " . scalar(@$expected);
ok(wait_until('the live stream catches up', 10, sub { $s->pump(0.1); @{ $s->jobs } && $s->jobs->[-1]{id} >= $expected->[-1] }),
    'the live stream reads them all too');
is_deeply([ map { $_->{id} } grep { $_->{id} > $before } @{ $s->jobs } ], $expected,
    'the live stream: the same events, once each, in order');
ok($bs->read_until(3, sub { $_[0]->comments >= 3 }), 'the other tenant\'s stream had heartbeats (IngestEventsHeartbeat 1)');
is(scalar @{ $bs->jobs }, 0, "and still no event");
$rest->close;

# ---- one job
my $j = stream(token => $acme, path => "/api/ingest/events?job_id=$id");
ok($j->read_until(10, sub { $_[0]->closed }), 'a job stream of an ended job ends by itself');
is_deeply([ statuses(@{ $j->jobs }) ], [qw(pending queued running completed)], 'after replaying its history');
is($j->jobs->[-1]{id}, $mine[-1]{id}, 'its last id is the live stream\'s');
my $again = stream(token => $acme, path => "/api/ingest/events?job_id=$id",
    headers => { 'Last-Event-ID' => $j->jobs->[-1]{id} });
is($again->status, 204, 'resumed after its terminal event: 204, EventSource does not reconnect');
my $live1 = $t->init_job($acme, filename => 'l.csv', file_type => 'csv', file_size => 4);
my $js = stream(token => $acme, path => "/api/ingest/events?job_id=$live1->{job_id}");
ok($js->read_until(5, sub { @{ $_[0]->jobs } == 1 }), 'a live job stream starts with the job as it is');
HTTP::Tiny->new->request('PUT', $t->url($live1->{upload_url}), { content => "x\n1\n" });
ok($js->read_until(30, sub { $_[0]->closed }), 'and ends after its terminal event');
is_deeply([ statuses(@{ $js->jobs }) ], [qw(pending queued running completed)], 'having sent each status');
is(scalar(grep { $JSON->decode($_->{data})->{job_id} ne $live1->{job_id} } @{ $js->jobs }), 0, 'and no other job');

# ---- errors
my $r = stream(token => $acme, path => '/api/ingest/events', headers => { 'Last-Event-ID' => 'abc' });
is($r->status, 422, 'a Last-Event-ID not of digits: 422');
$r->read_until(2, sub { $_[0]->closed });
like($r->body, qr/Last-Event-ID/, 'naming it');
is(stream(token => $acme, path => '/api/ingest/events?after=-5')->status, 422, '?after=-5: 422');
is(stream(token => $acme, path => '/api/ingest/events?job_id=nope')->status, 422, 'a job_id not a UUID: 422');
is(stream(token => $acme, path => '/api/ingest/events?status=running')->status, 422, 'an unknown parameter: 422');
is(stream(token => $other, path => "/api/ingest/events?job_id=$id")->status, 404, "another tenant's job: 404");
is(stream(path => '/api/ingest/events')->status, 401, 'no token: 401');

# ---- ids: one transaction's events are consecutive, across its statements,
# and a savepoint rolled back gives its ids back
is($t->psql("BEGIN; INSERT INTO ingest_jobs (tenant_id, source_type) VALUES ('ordinals', 'file_upload'), ('ordinals', 'file_upload');"
    . " SAVEPOINT s; INSERT INTO ingest_jobs (tenant_id, source_type) VALUES ('ordinals', 'file_upload'); ROLLBACK TO s;"
    . " UPDATE ingest_jobs SET status = 'queued' WHERE tenant_id = 'ordinals';"
    . " SELECT string_agg((id - (pg_current_xact_id()::text::bigint << 24))::text, ',' ORDER BY id)"
    . " FROM ingest_job_events WHERE tenant_id = 'ordinals'; COMMIT;"), '0,1,2,3',
    'a transaction\'s event ids: its xid << 24, then 0, 1, 2, ... across statements, a rolled back savepoint\'s given back');
is($t->psql("SELECT count(*) FROM ingest_job_events WHERE tenant_id = 'ordinals'"
    . " AND id >> 24 = (SELECT min(id) >> 24 FROM ingest_job_events WHERE tenant_id = 'ordinals')"), 4,
    'and all four were committed with it');

# ---- history: reload when the id is gone, or was never sent
my $head = $t->psql("SELECT max(id) FROM ingest_job_events");
$t->psql("UPDATE ingest_events_pruned SET last_id = $head");
my $old = stream(token => $acme, headers => { 'Last-Event-ID' => $ids[0] });
ok($old->read_until(5, sub { grep { $_->{event} eq 'reload' } @{ $_[0]->events } }), 'an id below the pruned ones: a reload event');
my ($reload) = grep { $_->{event} eq 'reload' } @{ $old->events };
is($JSON->decode($reload->{data})->{last_event_id}, $ids[0], 'naming the id');
cmp_ok($reload->{id}, '>=', $head, 'with an id from which the stream goes on');
my $live2 = $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { z => 1 } ] })->{json};
ok($old->read_until(10, sub { grep { $JSON->decode($_->{data})->{job_id} eq $live2->{job_id} } @{ $_[0]->jobs } }),
    'then live');
my $future = stream(token => $acme, headers => { 'Last-Event-ID' => '9000000000000000000' });
ok($future->read_until(5, sub { grep { $_->{event} eq 'reload' } @{ $_[0]->events } }), 'an id never sent: a reload event');
$_->close for $old, $future;
$t->psql("UPDATE ingest_job_events SET at = at - interval '2 minutes' WHERE id <= $head");
ok(wait_until('events past IngestEventsHistory pruned', 20, sub {
    $t->psql("SELECT count(*) FROM ingest_job_events WHERE id <= $head") == 0 }), 'the worker prunes events past IngestEventsHistory');
cmp_ok($t->psql("SELECT count(*) FROM ingest_job_events"), '>', 0, 'and keeps the newer ones');

# ---- one LISTEN session per child; a lost one is made again, losing nothing
my @many = map { stream(token => $acme) } 1 .. 10;
$_->status for @many;
my $sessions = $t->psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP'");
cmp_ok($sessions, '<=', 2, "12 open streams, $sessions LISTEN session(s): one per child at most");
$_->close for @many;
my $newest = $t->psql("SELECT max(id) FROM ingest_job_events WHERE tenant_id = 'acme'");
ok($s->read_until(10, sub { $_[0]->jobs->[-1]{id} >= $newest }), 'the live stream is up to date');
my $mark = $s->jobs->[-1]{id};
$t->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$APP'");
my @lost = map { $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { lost => $_ } ] })->{json}{job_id} } 1 .. 3;
ok(wait_until('IG00440 and IG00441', 20, sub { $t->error_log =~ /IG00441/ }), 'the lost session is logged (IG00440) and made again (IG00441)');
ok($s->read_until(20, sub { my %w = map { $_ => 1 } @lost;
    for (@{ $_[0]->jobs }) { my $d = $JSON->decode($_->{data}); delete $w{ $d->{job_id} } if $d->{status} eq 'completed' } !%w }),
    'the events of jobs made meanwhile arrive');
my @after = map { $_->{id} } grep { $_->{id} > $mark } @{ $s->jobs };
is_deeply(\@after, [ split /\n/, $t->psql("SELECT id FROM ingest_job_events WHERE tenant_id = 'acme' AND id > $mark"
    . " AND id <= $after[-1] ORDER BY id") ], 'none lost, none twice');
$s->close;
$bs->close;

# ---- a graceful restart ends the streams; the browser resumes on the new generation
{
    my $g = stream(token => $acme);
    $g->status;
    my $gone = $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { g => 1 } ] })->{json};
    ok($g->read_until(10, sub { grep { $JSON->decode($_->{data})->{job_id} eq $gone->{job_id}
        && $JSON->decode($_->{data})->{status} eq 'completed' } @{ $_[0]->jobs } }), 'graceful restart: a stream is live');
    my $last = $g->jobs->[-1]{id};
    IngestTest::run_or_die($t->httpd_cmd('-k', 'graceful'));
    ok($g->read_until(15, sub { $_[0]->closed }), 'a graceful restart ends the stream (its child stops)');
    my $during = $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { g => 2 } ] })->{json};
    my $back = stream(token => $acme, headers => { 'Last-Event-ID' => $last });
    is($back->status, 200, 'the browser reconnects with its Last-Event-ID');
    ok($back->read_until(15, sub { grep { $JSON->decode($_->{data})->{job_id} eq $during->{job_id}
        && $JSON->decode($_->{data})->{status} eq 'completed' } @{ $_[0]->jobs } }),
        'and gets the events of a job made meanwhile');
    my @ids2 = map { $_->{id} } @{ $back->jobs };
    is_deeply(\@ids2, [ split /\n/, $t->psql("SELECT id FROM ingest_job_events WHERE tenant_id = 'acme'"
        . " AND id > $last AND id <= $ids2[-1] ORDER BY id") ], 'every event after its last one, once each');
    $back->close;
}

# ---- through a reverse proxy
# docs/deployment.md: the stream's events are sent on as they come
my $front = IngestTest::start_front(modules => [qw(mpm_event authz_core proxy proxy_http)], conf => <<"CONF");
ProxyPass        "/api/ingest/events" "http://127.0.0.1:$port/api/ingest/events" flushpackets=on
ProxyPass        "/api/" "http://127.0.0.1:$port/api/"
ProxyPassReverse "/api/" "http://127.0.0.1:$port/api/"
CONF
my $p = stream(token => $acme, port => $front->{port});
is($p->status, 200, 'through the proxy: the stream opens');
ok($p->read_until(5, sub { $_[0]->comments >= 2 }), 'through the proxy: heartbeats arrive as sent');
my $viaproxy = $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { proxy => 1 } ] })->{json};
my $sent = time;
ok($p->read_until(10, sub { grep { $JSON->decode($_->{data})->{status} eq 'completed' } @{ $_[0]->jobs } }),
    'through the proxy: the job\'s events arrive');
my ($first) = grep { $JSON->decode($_->{data})->{job_id} eq $viaproxy->{job_id} } @{ $p->jobs };
ok($first && $first->{at} - $sent < 1, 'through the proxy: its first event within a second of the request')
    or diag($first ? sprintf('%.0f ms', 1000 * ($first->{at} - $sent)) : 'no event of the job');
$p->close;

# ---- IngestEventsMaxStreams on one child (200 streams; 40 against the
# ASan+UBSan build, whose threads cost several times the memory and CPU, and
# which runs beside other sanitized tests: it checks memory, not scale)
my $N = $ENV{INGEST_SANITIZE} ? 40 : 200;
$t->stop_httpd;
$t->{extra} = "IngestProcessor parse\nIngestWorkerInterval 5s\nIngestEventsMaxStreams $N\nIngestEventsHeartbeat 15\n"
    . "<IfModule mpm_event_module>\nServerLimit 1\nStartServers 1\nThreadsPerChild 260\nMaxRequestWorkers 260\n"
    . "MinSpareThreads 1\nMaxSpareThreads 260\nThreadLimit 260\n</IfModule>\n";
$t->start_httpd;
my @open = map { stream(token => $acme) } 1 .. $N;
my $ok200 = grep { ($_->status // 0) == 200 } @open;
is($ok200, $N, "$N streams on one child: all open");
my $over = stream(token => $acme);
is($over->status, 503, 'one more: 503');
like($over->header('Retry-After') // '', qr/^\d+$/, 'with Retry-After');
$over->read_until(2, sub { $_[0]->closed });
like($over->body, qr/IngestEventsMaxStreams/, 'naming IngestEventsMaxStreams');
my $j200 = $t->request('POST', '/api/ingest/json', token => $acme, json => { records => [ { many => 1 } ] })->{json};
my $until = time + 20;
my $live = 0;
for my $st (@open) {
    $live++ if $st->read_until($until - time, sub { grep { $JSON->decode($_->{data})->{job_id} eq $j200->{job_id} } @{ $_[0]->jobs } });
}
is($live, $N, "all $N streams receive a new job's events");
$_->close for @open;
ok(wait_until('the seats are given back', 10, sub { my $x = stream(token => $acme); my $st = $x->status; $x->close; ($st // 0) == 200 }),
    'closed streams give their seats back');
# with nothing to send, a stream sees its client gone long before its next
# heartbeat (15 s here) would fail to be written
# $N streams if every one of them got a seat; otherwise none (closed)
my $all_seated = sub {
    my @x = map { stream(token => $acme) } 1 .. $N;
    return @x if $N == grep { ($_->status // 0) == 200 } @x;
    $_->close for @x;
    return;
};
my @again;
ok(wait_until("$N quiet streams open at once", 5, sub { @again = $all_seated->() }), "$N quiet streams open at once");
$_->close for @again;
my $closed_at = time;
ok(wait_until('every seat free again', 5, sub { my @x = $all_seated->(); $_->close for @x; scalar @x }),
    'quiet streams closed by their clients give their seats back before their next heartbeat')
    and note(sprintf 'seats free %.1f s after the close', time - $closed_at);

done_testing;
