#!/usr/bin/perl
# Signed notifications when a job ends (issue 15): notify_url on POST init
# and POST json, the sender on its own watchdog singleton, GET
# .../deliveries and POST .../deliveries/redeliver.
#
# A loopback receiver (forked here, allowed by IngestNotifyAllow 127.0.0.1)
# checks every request's Standard Webhooks signature with the configured
# secret and records what it got; by its path it answers 500 twice then
# 200 (/flaky), always 500 (/fail) or 200 (/ok). Checked: three attempts
# with one webhook-id, a good signature and GET status's body, nothing
# after the 200, the backoff (1 s, then 3 s), the attempt log; a failed
# job notifies too; IngestNotifyMaxAttempts ends in state failed and
# nothing more; redeliver sends again with the same webhook-id; a kill -9
# of the child holding the sender between two attempts loses nothing; and
# the refusals (SSRF policy, no IngestNotifySecret, not a string), which
# create no job.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use IngestJobs qw(ppid_of gone_or_zombie);
use Digest::SHA qw(hmac_sha256_base64);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Time::HiRes qw(sleep time);

my $T0 = time;
my $JSON = JSON::PP->new->canonical;
my $SECRET_B64 = 'bW9kX2luZ2VzdCBub3RpZnkgdGVzdCBrZXkgMDEy';    # "mod_ingest notify test key 012"
my $SECRET = "whsec_$SECRET_B64";
my $RECEIVED = "/tmp/ingest-notify-$$.jsonl";
unlink $RECEIVED;

# ---------------------------------------------------------------- receiver
note sprintf('%.1f s: receiver', time - $T0);
my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1, Proto => 'tcp')
    or die "receiver: $!";
my $RPORT = $listen->sockport;
my $receiver = fork // die "fork: $!";
if (!$receiver) {
    $SIG{PIPE} = 'IGNORE';    # a sender killed mid-request
    my %count;
    my $key = decode_base64($SECRET_B64);
    while (my $c = $listen->accept) {
        local $/ = "\r\n";
        my $line = <$c> // next;
        my %h;
        while (my $l = <$c>) {
            $l =~ s/\r\n$//;
            last if $l eq '';
            my ($k, $v) = split /:\s*/, $l, 2;
            $h{ lc $k } = $v;
        }
        my $body = '';
        my $len = $h{'content-length'} // 0;
        while (length($body) < $len) { read($c, my $buf, $len - length $body) or last; $body .= $buf }
        my ($method, $path) = split ' ', $line;
        my $id = $h{'webhook-id'} // '';
        my $n = ++$count{$id};
        my $status = $path =~ m{^/flaky} ? ($n <= 2 ? 500 : 200) : $path =~ m{^/fail} ? 500 : 200;
        # /slow: the first request is answered only after 1.5 s
        my $slow = $path =~ m{^/slow} && $n == 1;
        my $sig = hmac_sha256_base64("$id." . ($h{'webhook-timestamp'} // '') . ".$body", $key);
        $sig .= '=' while length($sig) % 4;
        my $sig_ok = grep { $_ eq "v1,$sig" } split / /, $h{'webhook-signature'} // '';
        open my $out, '>>', $RECEIVED or die $!;
        print $out $JSON->encode({ at => time, method => $method, path => $path, id => $id, n => $n,
            ts => $h{'webhook-timestamp'}, sig_ok => $sig_ok ? 1 : 0, body => $body, status => $status,
            ctype => $h{'content-type'}, ua => $h{'user-agent'} }), "\n";
        close $out;
        sleep 1.5 if $slow;
        print $c "HTTP/1.1 $status Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        close $c;
    }
    POSIX::_exit(0);
}
close $listen;
END { local $?; if ($receiver) { kill 'KILL', $receiver; waitpid $receiver, 0; unlink $RECEIVED } }

sub received {
    my ($path) = @_;
    my @got;
    if (open my $fh, '<', $RECEIVED) {
        @got = grep { $_->{path} eq $path } map { $JSON->decode($_) } <$fh>;
    }
    return @got;    # in scalar context, how many
}

sub hook { "http://127.0.0.1:$RPORT$_[0]" }

my $t = IngestTest->new(extra => <<CONF);
IngestProcessor parse
IngestWorkerInterval 200ms
IngestNotifySecret $SECRET
IngestNotifyAllow 127.0.0.1
IngestNotifyBackoff 1
IngestNotifyTimeout 2
IngestNotifyMaxAttempts 3
CONF
$t->expect_log(qr/exit signal Killed/, qr/IG00433:/, qr/IG00438:/, qr/IG00436:/, qr/IG00437:/,
    qr/IG00434: notification msg_\S+ to https:\/\/10\.0\.0\.1\/x not sent/);
my $tok = $t->token('acme', 'u1');
my $other = $t->token('globex', 'u9');
sub jobs { $t->psql('SELECT count(*) FROM ingest_jobs') }

# ---------------------------------------------------------------- refusals
note sprintf('%.1f s: refusals', time - $T0);
sub refused {
    my ($h, $path, $body, $like, $name) = @_;
    my $before = jobs();
    my $r = IngestTest::request($h, 'POST', $path, token => $tok, json => $body);
    IngestTest::problem_ok($r, 422, 'invalid-field', $name);
    like($r->{json}{detail} // '', $like, "$name: the detail says why") or diag $r->{content};
    is($r->{json}{field}, 'notify_url', "$name: names notify_url") if $r->{json} && exists $r->{json}{field};
    is(jobs(), $before, "$name: no job created");
}
my $init = { filename => 'a.csv', file_type => 'csv', file_size => 10 };
my $records = { records => [ { a => 1 } ] };
{
    # the same server's configuration without IngestNotifyAllow: nothing private
    my $strict = $t->start_second_httpd(sub { $_[0] =~ s/^IngestNotifyAllow .*$//m });
    refused($strict, '/api/ingest/init', { %$init, notify_url => 'https://127.0.0.1/hook' },
        qr/^notify_url: 127\.0\.0\.1 is a loopback address; add the host to IngestNotifyAllow to allow it$/, 'init to 127.0.0.1');
    refused($strict, '/api/ingest/json', { %$records, notify_url => 'https://10.0.0.1:8443/hook' },
        qr/^notify_url: 10\.0\.0\.1 is a private \(RFC 1918\) address/, 'json to 10.0.0.1');
    refused($strict, '/api/ingest/init', { %$init, notify_url => 'https://localhost/hook' },
        qr/^notify_url: localhost resolves to (127\.0\.0\.1|::1), a loopback address/, 'init to localhost');
    refused($strict, '/api/ingest/init', { %$init, notify_url => 'https://[::ffff:169.254.169.254]/latest' },
        qr/is a link-local address/, 'init to a mapped link-local address');
    refused($strict, '/api/ingest/json', { %$records, notify_url => hook('/ok') },
        qr/http:\/\/ is only allowed for a host in IngestNotifyAllow/, 'json by http to a host not allowed');

    my $nosecret = $t->start_second_httpd(sub { $_[0] =~ s/^IngestNotifySecret .*$//m });
    refused($nosecret, '/api/ingest/init', { %$init, notify_url => 'https://example.com/hook' },
        qr/no IngestNotifySecret/, 'init without IngestNotifySecret');
    refused($nosecret, '/api/ingest/json', { %$records, notify_url => 'https://example.com/hook' },
        qr/no IngestNotifySecret/, 'json without IngestNotifySecret');
    # both stopped before any job ends: the strict one's sender would
    # claim this server's deliveries and refuse them
    kill 'TERM', grep { $_ } map { IngestTest::httpd_pid($_) } $strict, $nosecret;
    IngestTest::stop_httpd($_) for $strict, $nosecret;

    refused($t, '/api/ingest/init', { %$init, notify_url => 'http://example.com/hook' },
        qr/^notify_url: http:\/\/ is only allowed for a host in IngestNotifyAllow, and example\.com is not/,
        'http to a public host not allowed');
    refused($t, '/api/ingest/init', { %$init, notify_url => 'https://user:pw@example.com/hook' },
        qr/userinfo/, 'userinfo');
    refused($t, '/api/ingest/init', { %$init, notify_url => 'https://example.com:0/hook' }, qr/port/, 'port 0');
    refused($t, '/api/ingest/json', { %$records, notify_url => 'ftp://example.com/x' }, qr/absolute https URL/, 'ftp');
    refused($t, '/api/ingest/init', { %$init, notify_url => 42 }, qr/^notify_url must be a string$/, 'not a string');
    refused($t, '/api/ingest/json', { %$records, notify_url => 'https://example.com/' . ('a' x 2040) },
        qr/longer than 2048 bytes/, 'too long');
}

# ---------------------------------------------------------------- delivered on the third attempt
note sprintf('%.1f s: delivered on the third attempt', time - $T0);
sub ingest_json {
    my ($path, $extra) = @_;
    my $r = $t->request('POST', '/api/ingest/json', token => $tok,
        json => { records => [ { a => 1 }, { a => 2 } ], ($path ? (notify_url => hook($path)) : ()), %{ $extra // {} } });
    is($r->{status}, 202, 'json ingestion ' . ($path // 'without notify_url') . ' accepted') or diag $r->{content};
    return $r->{json}{job_id};
}

sub deliveries {
    my ($id, $token) = @_;
    return $t->request('GET', "/api/ingest/status/$id/deliveries", token => $token // $tok);
}

my $flaky = ingest_json('/flaky/one');
my $fail = ingest_json('/fail/max');
# a failed job: a JSON file that is not JSON
my $bad = '{"not": json';
my $r = $t->request('POST', '/api/ingest/init', token => $tok,
    json => { filename => 'bad.json', file_type => 'json', file_size => length $bad, notify_url => hook('/ok/failed') });
is($r->{status}, 201, 'init with notify_url: 201') or diag $r->{content};
my $failed_job = $r->{json}{job_id};
my $put = HTTP::Tiny->new(timeout => 30)->request('PUT', $t->url($r->{json}{upload_url}),
    { headers => { 'Content-Type' => 'application/octet-stream' }, content => $bad });
is($put->{status}, 200, 'the bad JSON file uploaded');

ok(wait_until('three attempts at /flaky/one', 40, sub { received('/flaky/one') >= 3 }), 'flaky: three attempts made');
my @got = received('/flaky/one');
my $status = $t->request('GET', "/api/ingest/status/$flaky", token => $tok);
is($status->{json}{status}, 'completed', 'flaky: the job completed');
like($got[0]{id}, qr/^msg_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'flaky: webhook-id msg_<delivery id>');
is_deeply([ map { $_->{id} } @got ], [ ($got[0]{id}) x 3 ], 'flaky: the same webhook-id on every attempt');
is_deeply([ map { $_->{sig_ok} } @got ], [ 1, 1, 1 ], 'flaky: every signature verifies with the secret');
is_deeply([ map { $_->{body} } @got ], [ ($status->{content}) x 3 ], 'flaky: the body is GET status\'s, byte for byte');
is_deeply([ map { $_->{status} } @got ], [ 500, 500, 200 ], 'flaky: answered 500, 500, 200');
is($got[0]{method}, 'POST', 'flaky: POST');
is($got[0]{ctype}, 'application/json', 'flaky: Content-Type application/json');
like($got[0]{ua} // '', qr{^mod_ingest/\d+\.\d+\.\d+$}, 'flaky: User-Agent mod_ingest/<version>');
like($got[0]{ts} // '', qr/^\d+$/, 'flaky: webhook-timestamp in unix seconds');
cmp_ok(abs(($got[0]{ts} // 0) - $got[0]{at}), '<', 30, 'flaky: the timestamp is the time of sending');
my ($gap1, $gap2) = ($got[1]{at} - $got[0]{at}, $got[2]{at} - $got[1]{at});
diag sprintf 'flaky: gaps between attempts %.2f s, %.2f s', $gap1, $gap2;
cmp_ok($gap1, '>=', 0.9, 'backoff: the second attempt came at least IngestNotifyBackoff (1 s) after the first');
cmp_ok($gap2, '>=', 2.9, 'backoff: the third came at least 3 s (tripled) after the second');

# max attempts: three 500s, then failed and nothing more
ok(wait_until('the /fail delivery to fail', 30, sub {
    ((deliveries($fail)->{json}{deliveries} // [])->[0]{state} // '') eq 'failed' }), 'max attempts: state failed');
sleep 4.5;    # longer than the next backoff (9 s would be the 4th) would allow... and a few seconds past the 200
is(scalar(received('/flaky/one')), 3, 'flaky: nothing received after the 200');
is(scalar(received('/fail/max')), 3, 'max attempts: exactly IngestNotifyMaxAttempts (3) attempts, nothing after');
my $d = deliveries($fail)->{json}{deliveries}[0];
is($d->{attempts}, 3, 'max attempts: attempts 3');
is($d->{next_attempt_at}, undef, 'max attempts: nothing due');
is_deeply([ map { $_->{http_status} } @{ $d->{attempt_log} } ], [ 500, 500, 500 ], 'max attempts: log 500, 500, 500');

# GET deliveries of the delivered one
my $list = deliveries($flaky);
is($list->{status}, 200, 'GET deliveries: 200');
is($list->{json}{job_id}, $flaky, 'GET deliveries: job_id');
is($list->{json}{notify_url}, hook('/flaky/one'), 'GET deliveries: notify_url');
is(scalar @{ $list->{json}{deliveries} // [] }, 1, 'GET deliveries: one delivery');
$d = $list->{json}{deliveries}[0];
is($d->{webhook_id}, $got[0]{id}, 'GET deliveries: the webhook_id sent');
is($d->{state}, 'delivered', 'GET deliveries: state delivered');
is($d->{attempts}, 3, 'GET deliveries: attempts 3');
ok($d->{delivered_at} && $d->{created_at}, 'GET deliveries: delivered_at and created_at');
is($d->{next_attempt_at}, undef, 'GET deliveries: nothing due');
is_deeply([ map { $_->{attempt} } @{ $d->{attempt_log} } ], [ 1, 2, 3 ], 'GET deliveries: attempts 1, 2, 3 logged');
is_deeply([ map { $_->{http_status} } @{ $d->{attempt_log} } ], [ 500, 500, 200 ], 'GET deliveries: 500, 500, 200');
is($d->{attempt_log}[2]{error}, undef, 'GET deliveries: no error on the 200');
like($d->{attempt_log}[0]{error} // '', qr/500/, 'GET deliveries: the 500 is the error of attempt 1');
ok(!grep({ !defined $_->{duration_ms} || !defined $_->{at} } @{ $d->{attempt_log} }), 'GET deliveries: at and duration_ms on each');

# the failed job notified too
ok(wait_until('the failed job\'s notification', 30, sub { received('/ok/failed') >= 1 }), 'failed job: notified');
my ($f) = received('/ok/failed');
my $fstatus = $t->request('GET', "/api/ingest/status/$failed_job", token => $tok);
is($fstatus->{json}{status}, 'failed', 'failed job: the job failed');
is($f->{body}, $fstatus->{content}, 'failed job: the body is GET status\'s');
ok($f->{sig_ok}, 'failed job: signed');

# a mappings job notifies too, and init stores its notify_url
$r = $t->request('POST', '/api/ingest/json', token => $tok, json => {
    mappings => [ { id => 'm1', source => 'a', target => 'b' } ], notify_url => hook('/ok/map') });
is($r->{status}, 202, 'mappings with notify_url: 202') or diag $r->{content};
my $map = $r->{json}{job_id};
is($t->psql("SELECT notify_url FROM ingest_jobs WHERE job_id = '$map'"), hook('/ok/map'), 'mappings: notify_url stored');
ok(wait_until('the mappings job\'s notification', 30, sub { received('/ok/map') >= 1 }), 'mappings: notified');
my ($m) = received('/ok/map');
is($m->{body}, $t->request('GET', "/api/ingest/status/$map", token => $tok)->{content}, 'mappings: the body is GET status\'s');

# the tenant's view: another tenant's job, an unknown job, a job without notify_url, one not ended
my $plain = ingest_json(undef);
my $pending = $t->request('POST', '/api/ingest/init', token => $tok,
    json => { %$init, notify_url => hook('/ok/pending') })->{json}{job_id};
IngestTest::problem_ok(deliveries($flaky, $other), 404, 'not-found', 'GET deliveries of another tenant\'s job');
IngestTest::problem_ok(deliveries('01890000-0000-7000-8000-000000000000'), 404, 'not-found', 'GET deliveries of an unknown job');
is_deeply(deliveries($pending)->{json}{deliveries}, [], 'GET deliveries of a job not ended: empty');
is($t->psql("SELECT notify_url FROM ingest_jobs WHERE job_id = '$pending'"), hook('/ok/pending'), 'init: notify_url stored');
is_deeply(deliveries($plain)->{json}{deliveries}, [], 'GET deliveries of a job without notify_url: empty');
sub redeliver { $t->request('POST', "/api/ingest/status/$_[0]/deliveries/redeliver", token => $_[1] // $tok) }
IngestTest::problem_ok(redeliver($flaky, $other), 404, 'not-found', 'redeliver another tenant\'s job');
IngestTest::problem_ok(redeliver('01890000-0000-7000-8000-000000000000'), 404, 'not-found', 'redeliver an unknown job');
IngestTest::problem_ok(redeliver($plain), 409, 'no-notify-url', 'redeliver a job without notify_url');
$r = redeliver($pending);
IngestTest::problem_ok($r, 409, 'job-not-ended', 'redeliver a job not ended');
like($r->{json}{detail} // '', qr/the job is pending/, 'redeliver a job not ended: says its status');
is(IngestTest::request($t, 'GET', "/api/ingest/status/$flaky/deliveries/redeliver", token => $tok)->{status}, 405,
    'GET on redeliver: 405');

# redeliver: the same webhook-id again, attempts counting on
$r = redeliver($flaky);
is($r->{status}, 202, 'redeliver: 202') or diag $r->{content};
is($r->{json}{delivery}{webhook_id}, $got[0]{id}, 'redeliver: the same webhook-id');
is($r->{json}{delivery}{state}, 'pending', 'redeliver: pending again');
is($r->{json}{delivery}{attempts}, 3, 'redeliver: attempts so far kept');
ok(wait_until('the redelivery', 20, sub { received('/flaky/one') >= 4 }), 'redeliver: sent again');
my $again = (received('/flaky/one'))[3];
is($again->{id}, $got[0]{id}, 'redeliver: with the same webhook-id');
ok($again->{sig_ok}, 'redeliver: signed');
ok(wait_until('the redelivery recorded', 10, sub { (deliveries($flaky)->{json}{deliveries}[0]{state} // '') eq 'delivered' }),
    'redeliver: delivered');
is(deliveries($flaky)->{json}{deliveries}[0]{attempts}, 4, 'redeliver: attempt 4 recorded');
# a failed delivery gets a fresh budget of IngestNotifyMaxAttempts
is(redeliver($fail)->{status}, 202, 'redeliver of a failed delivery: 202');
ok(wait_until('the failed one resent', 20, sub { received('/fail/max') >= 4 }), 'redeliver of a failed delivery: sent again');

# a delivery row an operator deleted: redeliver makes a new one
$t->psql("DELETE FROM ingest_notify_deliveries WHERE job_id = '$failed_job'");
is_deeply(deliveries($failed_job)->{json}{deliveries}, [], 'deleted delivery: none listed');
$r = redeliver($failed_job);
is($r->{status}, 202, 'redeliver without a delivery row: 202') or diag $r->{content};
is($r->{json}{delivery}{attempts}, 0, 'redeliver without a delivery row: a new delivery');
ok(wait_until('the new delivery', 20, sub { received('/ok/failed') >= 2 }), 'redeliver without a delivery row: sent');
is((received('/ok/failed'))[1]{body}, $fstatus->{content}, 'redeliver without a delivery row: the same body');

# ---------------------------------------------------------------- kill -9 between attempts
note sprintf('%.1f s: kill -9 between attempts', time - $T0);
{
    my $id = ingest_json('/flaky/kill');
    ok(wait_until('the first attempt', 30, sub { received('/flaky/kill') >= 1 }), 'kill -9: first attempt made');
    my ($victim) = ($t->error_log =~ /.*IG00439: notification sender started in process (\d+)/s);
    my $parent = $t->httpd_pid;
    ok($victim && scalar(ppid_of($victim) // 0) == $parent, "kill -9: the sender runs in child $victim of $parent")
        or diag $t->error_log;
    ok($victim && kill('KILL', $victim), "kill -9 $victim between attempts");
    ok(wait_until('the child to die', 10, sub { gone_or_zombie($victim) }), 'kill -9: the child is gone');
    ok(wait_until('the delivery after the kill', 40, sub { received('/flaky/kill') >= 3 }), 'kill -9: delivered after it');
    my @k = received('/flaky/kill');
    is_deeply([ map { $_->{status} } @k ], [ 500, 500, 200 ], 'kill -9: 500, 500, 200, nothing lost or doubled');
    is(scalar(keys %{ { map { $_->{id} => 1 } @k } }), 1, 'kill -9: one webhook-id');
    ok(wait_until('recorded', 10, sub { (deliveries($id)->{json}{deliveries}[0]{state} // '') eq 'delivered' }),
        'kill -9: state delivered');
    like($t->error_log, qr/IG00439: notification sender started in process (?!$victim\b)\d+/,
        'kill -9: another child took the sender over');
}

# ---------------------------------------------------------------- kill -9 in the middle of an attempt
note sprintf('%.1f s: kill -9 in the middle of an attempt', time - $T0);
{
    my $id = ingest_json('/slow/kill');
    ok(wait_until('the attempt to start', 30, sub { received('/slow/kill') >= 1 }, 0.05), 'kill -9 mid-attempt: the attempt began');
    my ($victim) = ($t->error_log =~ /.*IG00439: notification sender started in process (\d+)/s);
    ok($victim && kill('KILL', $victim), "kill -9 $victim while the receiver holds the request");
    ok(wait_until('the child to die', 10, sub { gone_or_zombie($victim) }), 'kill -9 mid-attempt: the child is gone');
    my $d = deliveries($id)->{json}{deliveries}[0];
    is($d->{state}, 'pending', 'kill -9 mid-attempt: still pending, leased');
    is($d->{attempts}, 0, 'kill -9 mid-attempt: the attempt was not recorded');
    # the lease is IngestNotifyTimeout (2 s) + 5 s from the claim
    ok(wait_until('the delivery after the lease', 30, sub { received('/slow/kill') >= 2 }), 'kill -9 mid-attempt: sent again after the lease');
    my @k = received('/slow/kill');
    cmp_ok($k[1]{at} - $k[0]{at}, '>=', 6.5, 'kill -9 mid-attempt: not before the lease ended');
    is($k[1]{id}, $k[0]{id}, 'kill -9 mid-attempt: the same webhook-id');
    ok(wait_until('recorded', 10, sub { (deliveries($id)->{json}{deliveries}[0]{state} // '') eq 'delivered' }),
        'kill -9 mid-attempt: delivered');
    is(deliveries($id)->{json}{deliveries}[0]{attempts}, 1, 'kill -9 mid-attempt: one attempt recorded');
}

# ---------------------------------------------------------------- a graceful restart in the middle of an attempt
note sprintf('%.1f s: graceful restart', time - $T0);
{
    my $id = ingest_json('/slow/graceful');
    ok(wait_until('the attempt to start', 30, sub { received('/slow/graceful') >= 1 }, 0.05), 'graceful: the attempt began');
    # SIGUSR1 itself: "httpd -k graceful" first reads the whole config in a
    # new process, which on a loaded machine (or under ASan) can take
    # longer than the receiver holds the attempt (1.5 s)
    ok(kill('USR1', $t->httpd_pid), 'graceful: SIGUSR1 while the receiver holds the attempt');
    # in flight when the child stops (IG00436), or answered just before and
    # then not recorded, the child stopping (IG00437): either way the
    # attempt is left to its lease
    ok(wait_until('the old child to let go', 15, sub {
        $t->error_log =~ /IG00436: notifications: the child is stopping; 1 delivery|IG00437: notifications: 1 attempt\(s\) made but not recorded \(the child is stopping\)/ }),
        'graceful: the exiting child left the attempt to its lease (IG00436 or IG00437)') or diag $t->error_log;
    ok(wait_until('the delivery after the restart', 30, sub { received('/slow/graceful') >= 2 }), 'graceful: sent again after the restart');
    my @g = received('/slow/graceful');
    is($g[1]{id}, $g[0]{id}, 'graceful: the same webhook-id');
    ok(wait_until('recorded', 10, sub { (deliveries($id)->{json}{deliveries}[0]{state} // '') eq 'delivered' }), 'graceful: delivered');
}

# ---------------------------------------------------------------- checked again at send time
note sprintf('%.1f s: checked again at send time', time - $T0);
{
    # a URL that no longer passes (here: changed by SQL before the job
    # ends; in life: a name that now resolves to a private address)
    $t->psql("UPDATE ingest_jobs SET notify_url = 'https://10.0.0.1/x' WHERE job_id = '$pending'");
    $t->psql("UPDATE ingest_jobs SET status = 'failed', error = 'ended by hand', completed_at = now() WHERE job_id = '$pending'");
    ok(wait_until('the refused attempt', 20, sub { (deliveries($pending)->{json}{deliveries}[0]{attempts} // 0) >= 1 }),
        'send-time check: an attempt recorded');
    my $d = deliveries($pending)->{json}{deliveries}[0];
    like($d->{attempt_log}[0]{error} // '', qr/^refused: 10\.0\.0\.1 is a private \(RFC 1918\) address/,
        'send-time check: refused, with the reason');
    is($d->{attempt_log}[0]{http_status}, undef, 'send-time check: no HTTP status');
    like($t->error_log, qr/IG00434: notification msg_\S+ to https:\/\/10\.0\.0\.1\/x not sent: 10\.0\.0\.1 is a private/,
        'send-time check: logged (IG00434)');
}

# ---------------------------------------------------------------- the database down
note sprintf('%.1f s: the database down', time - $T0);
{
    # connections made while PostgreSQL is down, stopping or starting (the
    # sender opens one every second)
    $t->expect_log(
        qr/\[dbd:error\] .*(?:AH00629: Can't connect to pgsql|AH00639: DBD \[pgsql\] Error): connection to server at "127\.0\.0\.1", port $t->{pgport} failed: (?:Connection refused|FATAL:  (?:57P03: )?the database system is (?:shutting down|starting up))/,
        qr/\[dbd:error\] .*AH02655: Failed to acquire DBD connection from pool!$/);
    $t->stop_pg;
    for my $r (deliveries($flaky), redeliver($flaky)) {
        IngestTest::problem_ok($r, 503, 'database-unavailable', "$r->{json}{instance} with the database down");
        like($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
    }
    ok(wait_until('the sender to notice', 10, sub { $t->error_log =~ /IG00431:/ }), 'the sender says the database cannot be used (IG00431)');
    $t->start_pg;
    ok(wait_until('the sender to be back', 20, sub { $t->error_log =~ /IG00435:/ }), 'and that it is back (IG00435)');
    is(deliveries($flaky)->{status}, 200, 'GET deliveries answers again');
}

# ---------------------------------------------------------------- the directives (httpd -t; last: it rewrites the config)
note sprintf('%.1f s: the directives (httpd -t; last: it rewrites the config)', time - $T0);
for my $case (
    ["<VirtualHost 127.0.0.1:1>\nIngestNotifySecret $SECRET\n</VirtualHost>",
        qr/IngestNotifySecret cannot occur within <VirtualHost> section/],
    ["<VirtualHost 127.0.0.1:1>\nIngestNotifyAllow 127.0.0.1\n</VirtualHost>",
        qr/IngestNotifyAllow cannot occur within <VirtualHost> section/],
    ["IngestNotifyAllow http://hooks.example", qr/IngestNotifyAllow: 'http:\/\/hooks\.example' is not a host name pattern/],
    ["IngestNotifySecret whsec_c2hvcnQ=", qr/IngestNotifySecret: .*16/],
    ["IngestNotifySecret $SECRET\nIngestNotifySecret $SECRET\nIngestNotifySecret $SECRET",
        qr/IngestNotifySecret: at most 2 secrets/],
    ["IngestNotifyMaxAttempts 0", qr/IngestNotifyMaxAttempts/],
    ["IngestNotifyTimeout 301", qr/IngestNotifyTimeout/],
) {
    my ($ok, $out) = $t->configtest($case->[0]);
    (my $name = $case->[0]) =~ s/\n/ /g;
    ok(!$ok, "httpd -t refuses: $name");
    like($out, $case->[1], "httpd -t says why: $name");
}
my ($ok, $out) = $t->configtest("IngestNotifySecret $SECRET\nIngestNotifySecret whsec_MDEyMzQ1Njc4OWFiY2RlZg==\n"
    . "IngestNotifyAllow 127.0.0.1 *.corp.example\nIngestNotifyAllow ::1\nIngestNotifyMaxAttempts 100\n"
    . "IngestNotifyBackoff 86400\nIngestNotifyTimeout 300");
ok($ok, 'httpd -t accepts two secrets, several patterns and the largest values') or diag $out;

done_testing;
