package IngestS3;
# A real S3-protocol server on loopback for the tests: s3rver 3.7.1 (from
# node_modules) on one free port, behind a verifying proxy written here on
# another. s3rver only checks that the access key id exists; the proxy
# checks every request the way AWS S3 does before it forwards it:
#
#   - AWS Signature Version 4 in the Authorization header (canonical
#     request, string to sign, signing key from the secret of the key id);
#     the credential scope's date, region (the configured one) and service
#     (s3); x-amz-date within 15 minutes; every x-amz-* header signed (but
#     x-amz-content-sha256, which the payload hash already covers);
#   - x-amz-content-sha256 present, UNSIGNED-PAYLOAD or the SHA-256 of the
#     body actually received (400 XAmzContentSHA256Mismatch);
#   - and it answers what s3rver lacks: AbortMultipartUpload (DELETE
#     ?uploadId=, 204, or 404 NoSuchUpload), ListMultipartUploads (GET
#     /bucket?uploads), NoSuchUpload for a part or a completion of an upload
#     that is not open, and CompleteMultipartUpload's checks of the part
#     list (InvalidPart, InvalidPartOrder, EntityTooSmall: every part but
#     the last at least 5 MiB).
#
# One request per connection, answered with Connection: close. Each
# request is logged as a JSON line (requests()). Both processes are in
# process groups of their own, killed at DESTROY and at END, and watch
# this process: if it dies without either (SIGKILL) they exit within a
# second or two.
#
#   my $s3 = IngestS3->new(dir => $dir, bucket => 'ingest-test', region => 'us-east-1');
#   $s3->endpoint; $s3->bucket; $s3->region; $s3->credentials_file;
#   $s3->requests; $s3->clear_requests; $s3->objects; $s3->object($key);
#   $s3->uploads; $s3->stop; $s3->start; $s3->request(PUT => $key, body => ...);
#   $s3->vanish_on_get($key_prefix);
#
# s3rver quirks (3.7.1) the proxy does not hide: Range "bytes=0-0" returns
# the whole object (206, Content-Range 0-(size-1)), and a suffix range
# "bytes=-N" returns the first N+1 bytes, not the last N; the rest of
# Range (bytes=a-b, bytes=a-) is right.
use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex sha256_hex);
use Errno qw(EINTR EAGAIN);
use Fcntl qw(:flock O_WRONLY O_APPEND O_CREAT);
use File::Basename qw(dirname);
use File::Find ();
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(strftime WNOHANG);
use Scalar::Util qw(refaddr weaken);
use Socket qw(SHUT_WR);
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use Exporter qw(import);

use lib dirname(__FILE__);
use IngestTest ();

our @EXPORT_OK = qw(sigv4 sigv4_verify uri_encode canonical_uri canonical_query sign_headers);

our $TOP = abs_path(dirname(__FILE__) . '/../..');
our $S3RVER = "$TOP/node_modules/s3rver";
our $JSON = JSON::PP->new->utf8->canonical;
our $MIN_PART = 5 * 1024 * 1024;
my $EMPTY_SHA = sha256_hex('');

# ------------------------------------------------------------ SigV4, pure

# RFC 3986 as S3 wants it: every byte but A-Z a-z 0-9 - _ . ~ as %XX
# (upper-case hex); '/' kept when $keep_slash.
sub uri_encode {
    my ($s, $keep_slash) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    my $re = $keep_slash ? qr{([^A-Za-z0-9\-_.~/])} : qr{([^A-Za-z0-9\-_.~])};
    $s =~ s/$re/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub uri_decode {
    my ($s) = @_;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}

# The canonical URI of a path as sent: S3 decodes it and encodes each
# segment once (no double encoding, no normalisation of . or //), so a
# path sent encoded is its own canonical URI and "/test$file.text" is
# "/test%24file.text".
sub canonical_uri {
    my ($path) = @_;
    return '/' if !defined $path || $path eq '';
    return uri_encode(uri_decode($path), 1);
}

# The canonical query string of a raw query: each name=value decoded and
# encoded again, an empty or missing value as "name=", sorted by name
# (then value). Names in %skip are left out (X-Amz-Signature, presigned).
sub canonical_query {
    my ($query, %skip) = @_;
    return '' unless defined $query && length $query;
    my @p;
    for my $piece (split /&/, $query) {
        next if $piece eq '';
        my ($n, $v) = split /=/, $piece, 2;
        $n = uri_encode(uri_decode($n));
        next if $skip{$n};
        push @p, [ $n, uri_encode(uri_decode($v // '')) ];
    }
    return join '&', map { "$_->[0]=$_->[1]" } sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @p;
}

sub _trim {
    my ($v) = @_;
    $v =~ s/^\s+|\s+$//g;
    $v =~ s/\s+/ /g;
    return $v;
}

# sigv4(method => 'GET', path => '/test.txt' (as sent), query => 'a=b&c'
#       (raw, without '?'), headers => [[name, value], ...] or {name =>
#       value}, signed_headers => [lower-case names] (default: all given),
#       payload_hash => hex or UNSIGNED-PAYLOAD, date => '20130524T000000Z',
#       region => 'us-east-1', service => 's3', secret => '...')
# Returns a hash: canonical_request, string_to_sign, scope, signed_headers
# (the ';' list), signature (hex). The test checks it against AWS's
# published examples; the proxy verifies with it.
sub sigv4 {
    my (%a) = @_;
    my @h = ref $a{headers} eq 'HASH' ? map { [ $_, $a{headers}{$_} ] } sort keys %{ $a{headers} } : @{ $a{headers} // [] };
    my %val;
    for (@h) {
        my $n = lc $_->[0];
        push @{ $val{$n} }, _trim($_->[1] // '');
    }
    my @signed = sort map { lc } @{ $a{signed_headers} // [ keys %val ] };
    my $canonical_headers = join '', map { "$_:" . join(',', @{ $val{$_} // [] }) . "\n" } @signed;
    my $signed = join ';', @signed;
    my $payload = $a{payload_hash} // $EMPTY_SHA;
    my $creq = join "\n", uc $a{method}, canonical_uri($a{path}), canonical_query($a{query}, %{ $a{skip_query} // {} }),
        $canonical_headers, $signed, $payload;
    my $date = $a{date};
    my $day = substr $date, 0, 8;
    my $region = $a{region} // 'us-east-1';
    my $service = $a{service} // 's3';
    my $scope = "$day/$region/$service/aws4_request";
    my $sts = join "\n", 'AWS4-HMAC-SHA256', $date, $scope, sha256_hex($creq);
    my $k = hmac_sha256($day, "AWS4$a{secret}");
    $k = hmac_sha256($region, $k);
    $k = hmac_sha256($service, $k);
    $k = hmac_sha256('aws4_request', $k);
    return (canonical_request => $creq, string_to_sign => $sts, scope => $scope, signed_headers => $signed,
        signature => hmac_sha256_hex($sts, $k));
}

# The headers to add to a request to sign it: x-amz-date,
# x-amz-content-sha256 and Authorization. Signs host, x-amz-date,
# x-amz-content-sha256 and every header in %o{headers}.
# sign_headers(method, url, body => ..., headers => {...}, key_id, secret,
#              region, payload_hash => (default: sha256 of body), time)
sub sign_headers {
    my ($method, $url, %o) = @_;
    my ($hostport, $path, $query) = $url =~ m{^https?://([^/?#]+)([^?#]*)(?:\?([^#]*))?} or die "bad url $url\n";
    my $date = strftime('%Y%m%dT%H%M%SZ', gmtime($o{time} // time));
    my $payload = $o{payload_hash} // sha256_hex($o{body} // '');
    my %h = (%{ $o{headers} // {} }, 'x-amz-date' => $date, 'x-amz-content-sha256' => $payload);
    my %sig = sigv4(method => $method, path => $path, query => $query,
        headers => { %h, host => $hostport }, payload_hash => $payload, date => $date,
        region => $o{region} // 'us-east-1', secret => $o{secret});
    my $day = substr $date, 0, 8;
    my $region = $o{region} // 'us-east-1';
    $h{Authorization} = "AWS4-HMAC-SHA256 Credential=$o{key_id}/$day/$region/s3/aws4_request, "
        . "SignedHeaders=$sig{signed_headers}, Signature=$sig{signature}";
    return \%h;
}

# Checks a request's SigV4 authorization as S3 does. $r: method, path,
# query (raw), headers ([[name, value], ...]), body (undef: not read yet,
# the payload hash is not checked). %o: keys ({id => secret}), region,
# now (epoch). Returns () when it passes, else (http status, S3 error code,
# message, {extra XML members}); $o{info} (a hashref) gets key_id.
sub sigv4_verify {
    my ($r, %o) = @_;
    my $info = $o{info} // {};
    my %h;
    push @{ $h{ lc $_->[0] } }, $_->[1] for @{ $r->{headers} };
    my $auth = $h{authorization} ? $h{authorization}[0] : undef;
    my %q = map { my ($n) = split /=/, $_, 2; (uri_decode($n) => 1) } grep { length } split /&/, $r->{query} // '';
    if (!defined $auth) {
        return (403, 'AccessDenied', 'Query-string (presigned) authentication is not supported by the test proxy')
            if $q{'X-Amz-Algorithm'} || $q{Signature};
        return (403, 'AccessDenied', 'Access Denied (the request is not signed)');
    }
    my ($alg, $rest) = $auth =~ /^\s*(\S+)\s+(.*)$/s or return (400, 'AuthorizationHeaderMalformed',
        'The authorization header is malformed');
    return (400, 'InvalidArgument', "Unsupported Authorization Type $alg (only AWS4-HMAC-SHA256)")
        unless $alg eq 'AWS4-HMAC-SHA256';
    my %c;
    for my $part (split /\s*,\s*/, $rest) {
        my ($n, $v) = $part =~ /^\s*(\w+)=(.*?)\s*$/ or return (400, 'AuthorizationHeaderMalformed',
            "The authorization header is malformed; bad component '$part'");
        $c{$n} = $v;
    }
    for (qw(Credential SignedHeaders Signature)) {
        return (400, 'AuthorizationHeaderMalformed', "The authorization header is malformed; missing $_.")
            unless defined $c{$_};
    }
    my ($key_id, $day, $region, $service, $term) = split m{/}, $c{Credential}, -1;
    return (400, 'AuthorizationHeaderMalformed',
        "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        unless defined $term && $term eq 'aws4_request' && length $key_id;
    $info->{key_id} = $key_id;
    my $secret = $o{keys}{$key_id};
    return (403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.',
        { AWSAccessKeyId => $key_id }) unless defined $secret;
    my $want_region = $o{region} // 'us-east-1';
    return (400, 'AuthorizationHeaderMalformed',
        "The authorization header is malformed; the region '$region' is wrong; expecting '$want_region'",
        { Region => $want_region }) unless $region eq $want_region;
    return (400, 'AuthorizationHeaderMalformed',
        "The authorization header is malformed; incorrect service '$service'. This endpoint belongs to 's3'.")
        unless $service eq 's3';
    my $date = $h{'x-amz-date'} ? $h{'x-amz-date'}[0] : undef;
    return (403, 'AccessDenied', 'AWS authentication requires a valid x-amz-date header')
        unless defined $date && $date =~ /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/;
    my $t = eval { timegm($6, $5, $4, $3, $2 - 1, $1) };
    return (403, 'AccessDenied', 'AWS authentication requires a valid x-amz-date header') unless defined $t;
    return (400, 'AuthorizationHeaderMalformed',
        "The authorization header is malformed; Invalid credential date \"$day\". This date is not the same as X-Amz-Date: \"" . substr($date, 0, 8) . '".')
        unless $day eq substr($date, 0, 8);
    my $now = $o{now} // time;
    return (403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.',
        { RequestTime => $date, ServerTime => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $now), MaxAllowedSkewMilliseconds => 900000 })
        if abs($now - $t) > 900;
    my $payload = $h{'x-amz-content-sha256'} ? $h{'x-amz-content-sha256'}[0] : undef;
    return (400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256') unless defined $payload;
    return (501, 'NotImplemented', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked) is not supported by the test proxy')
        if $payload =~ /^STREAMING-/;
    return (400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.',
        { ArgumentName => 'x-amz-content-sha256', ArgumentValue => $payload })
        unless $payload eq 'UNSIGNED-PAYLOAD' || $payload =~ /^[0-9a-f]{64}$/;
    my @signed = split /;/, $c{SignedHeaders};
    my %signed = map { $_ => 1 } @signed;
    return (400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; SignedHeaders must include host')
        unless $signed{host};
    for (@signed) {
        return (403, 'SignatureDoesNotMatch', "The signed header '$_' is not in the request") unless $h{$_};
    }
    my @unsigned = grep { /^x-amz-/ && $_ ne 'x-amz-content-sha256' && !$signed{$_} } sort keys %h;
    return (403, 'AccessDenied', 'There were headers present in the request which were not signed',
        { HeadersNotSigned => join(', ', @unsigned) }) if @unsigned;
    my %sig = sigv4(method => $r->{method}, path => $r->{path}, query => $r->{query}, headers => $r->{headers},
        signed_headers => \@signed, payload_hash => $payload, date => $date, region => $region,
        service => $service, secret => $secret);
    # a SignedHeaders list not in order signs another canonical request
    my $given_order = join ';', @signed;
    if ($sig{signature} ne lc $c{Signature} || $given_order ne $sig{signed_headers}) {
        return (403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you '
            . 'provided. Check your key and signing method.',
            { AWSAccessKeyId => $key_id, StringToSign => $sig{string_to_sign}, SignatureProvided => $c{Signature},
              CanonicalRequest => $sig{canonical_request} });
    }
    $info->{signature_ok} = 1;
    if (defined $r->{body} && $payload ne 'UNSIGNED-PAYLOAD') {
        my $got = sha256_hex($r->{body});
        return (400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.",
            { ClientComputedContentSHA256 => $payload, S3ComputedContentSHA256 => $got }) if $got ne $payload;
    }
    return ();
}

# ------------------------------------------------------------ the harness

my %LIVE;

# new(dir => DIR (default: a temp dir removed at the end), bucket =>
#     'ingest-test', region => 'us-east-1', keys => {id => secret, ...}
#     (more keys the proxy and s3rver accept), credentials_owner => user
#     (who may read the credentials file; as root: www-data),
#     lenient_abort => 1 (abort of an unknown upload: 204, not 404))
sub new {
    my ($class, %o) = @_;
    my $self = bless { bucket => 'ingest-test', region => 'us-east-1', %o }, $class;
    $self->{owner_pid} = $$;
    my $node = $o{node} // _which('node');
    die "IngestS3: node is not installed (s3rver needs node >= 10); apt-get install nodejs\n" unless $node;
    die "IngestS3: s3rver is not installed in $S3RVER (run npm ci in $TOP)\n" unless -f "$S3RVER/lib/s3rver.js";
    $self->{node} = $node;
    if (!defined $self->{dir}) {
        $self->{dir} = tempdir('ingest-s3-XXXXXX', TMPDIR => 1, CLEANUP => 0);
        chmod 0755, $self->{dir};
        $self->{own_dir} = 1;
    }
    mkdir $self->{dir};
    -d $self->{dir} or die "IngestS3: no directory $self->{dir}\n";
    $self->{data} = "$self->{dir}/s3data";
    mkdir $self->{data};
    $self->{log} = "$self->{dir}/s3-requests.jsonl";
    open my $fh, '>', $self->{log} or die "IngestS3: $self->{log}: $!\n";
    close $fh;
    $self->{other} = [ 'INGESTOTHERKEY000001', 'other-secret/0123456789+abcdefghijklmnopq' ];
    $self->{keys} = { S3RVER => 'S3RVER', $self->{other}[0] => $self->{other}[1], %{ $o{keys} // {} } };
    $self->write_credentials;
    weaken($LIVE{ refaddr $self } = $self);
    $self->start_s3rver;
    $self->{port} = $o{port} // IngestTest::free_port();
    $self->start;
    return $self;
}

sub _which {
    my ($cmd) = @_;
    for (split /:/, $ENV{PATH} // '/usr/bin:/bin') { return "$_/$cmd" if -x "$_/$cmd" }
    return;
}

sub endpoint { "http://127.0.0.1:$_[0]->{port}" }
sub port { $_[0]->{port} }
sub bucket { $_[0]->{bucket} }
sub region { $_[0]->{region} }
sub dir { $_[0]->{dir} }
sub credentials_file { $_[0]->{credentials} }
sub key_table { +{ %{ $_[0]->{keys} } } }
# The [other] profile's key pair.
sub other_key { @{ $_[0]->{other} } }
sub s3rver_endpoint { "http://127.0.0.1:$_[0]->{s3_port}" }
# The pids of s3rver and of the proxy (undef while stopped).
sub pids { ($_[0]->{s3_pid}, $_[0]->{proxy_pid}) }

sub write_credentials {
    my ($self) = @_;
    my $f = $self->{credentials} = "$self->{dir}/aws-credentials";
    open my $fh, '>', $f or die "IngestS3: $f: $!\n";
    print $fh "# AWS shared credentials for the test's S3 (IngestS3): s3rver's own key,\n",
        "# and [other], a second key pair the proxy and s3rver both accept.\n",
        "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n\n",
        "[other]\naws_access_key_id = $self->{other}[0]\naws_secret_access_key = $self->{other}[1]\n";
    close $fh;
    chmod 0600, $f;
    # httpd's children (www-data) read it when the tests run as root
    my $owner = $self->{credentials_owner} // ($> == 0 ? 'www-data' : undef);
    if (defined $owner) {
        my (undef, undef, $uid, $gid) = getpwnam $owner;
        chown $uid, $gid, $f if defined $uid;
    }
}

# s3rver through its API rather than bin/s3rver.js: the same server and
# options (-d, -a, -p, --configure-bucket, --silent), plus the extra key
# pairs registered on its one account, and a watchdog that ends it when
# this process is gone.
my $NODE_MAIN = <<'JS';
const [dir, port, bucket, owner, keysJson, s3rverDir] = process.argv.slice(1);
const S3rver = require(s3rverDir);
const account = require(s3rverDir + '/lib/models/account');
for (const [id, secret] of Object.entries(JSON.parse(keysJson))) {
  if (id !== 'S3RVER') account.DUMMY_ACCOUNT.createKeyPair(id, secret);
}
setInterval(() => {
  if (process.ppid !== Number(owner)) process.exit(0);
  try { process.kill(Number(owner), 0); } catch (e) { process.exit(0); }
}, 500).unref();
process.on('SIGTERM', () => process.exit(0));
new S3rver({ directory: dir, address: '127.0.0.1', port: Number(port), silent: true,
             configureBuckets: [{ name: bucket, configs: [] }] })
  .run()
  .then(({ address, port }) => {
    console.log('S3rver listening on %s:%d', address, port);
    // keep the watchdog's timer from being the only thing alive
    setInterval(() => {}, 1 << 30);
  })
  .catch(err => { console.error(err); process.exit(1); });
JS

sub start_s3rver {
    my ($self) = @_;
    $self->{s3_port} //= IngestTest::free_port();
    my $log = "$self->{dir}/s3rver.log";
    my $owner = $$;
    my $pid = fork // die "IngestS3: fork: $!\n";
    if (!$pid) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        exec $self->{node}, '-e', $NODE_MAIN, $self->{data}, $self->{s3_port}, $self->{bucket}, $owner,
            $JSON->encode($self->{keys}), $S3RVER
            or do { print STDERR "exec $self->{node}: $!\n"; POSIX::_exit(127) };
    }
    $self->{s3_pid} = $pid;
    my $deadline = time + 30;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{s3_pid};
            die "IngestS3: s3rver exited at start (status $?):\n" . _slurp($log);
        }
        if (_slurp($log) =~ /S3rver listening on/) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{s3_port}, Proto => 'tcp');
            if ($s) { close $s; return 1 }
        }
        sleep 0.05;
    }
    die "IngestS3: s3rver did not start on port $self->{s3_port} in 30 s:\n" . _slurp($log);
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

# Starts the proxy on its port (the same one again after stop). The socket
# is listening when this returns.
sub start {
    my ($self) = @_;
    return 1 if $self->{proxy_pid};
    my $listen;
    my $deadline = time + 10;
    until ($listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $self->{port}, Proto => 'tcp',
            Listen => 128, ReuseAddr => 1)) {
        die "IngestS3: cannot listen on 127.0.0.1:$self->{port}: $!\n" if time > $deadline;
        sleep 0.1;
    }
    my $owner = $$;
    my $pid = fork // die "IngestS3: fork: $!\n";
    if (!$pid) {
        my $rc = eval { $self->_proxy_main($listen, $owner); 0 } // do { print STDERR "IngestS3 proxy: $@"; 1 };
        POSIX::_exit($rc);
    }
    close $listen;
    $self->{proxy_pid} = $pid;
    return 1;
}

# Stops the proxy (and any request it is serving): connections to the
# endpoint are refused until start.
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{proxy_pid} or return;
    _kill_group($pid);
}

sub _kill_group {
    my ($pid) = @_;
    kill 'TERM', -$pid;
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        last if $r == $pid || $r == -1;
        sleep 0.02;
    }
    if (kill 0, $pid) {
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    # the group's other members (a proxy's connection children)
    kill 'KILL', -$pid;
}

sub teardown {
    my ($self) = @_;
    return if ($self->{owner_pid} // 0) != $$ || $self->{down}++;
    local ($?, $@);
    $self->stop;
    _kill_group(delete $self->{s3_pid}) if $self->{s3_pid};
    delete $LIVE{ refaddr $self };
    if ($self->{own_dir}) {
        if ($ENV{INGEST_KEEP}) { print STDERR "# kept $self->{dir}\n" }
        else { remove_tree($self->{dir}) }
    }
}

sub DESTROY { $_[0]->teardown }
END { $_->teardown for grep { defined } values %LIVE }

# ------------------------------------------------------------ inspection

# The requests the proxy answered, in order: hashrefs with method, path,
# query, status, signature_ok (0/1), bytes (request body), and key_id,
# code (the proxy's own error code), op (what the proxy answered itself),
# upload_id, time.
sub requests {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return [];
    flock $fh, LOCK_SH;
    my @r;
    while (my $l = <$fh>) {
        my $e = eval { $JSON->decode($l) } or next;
        $e->{signature_ok} = $e->{signature_ok} ? 1 : 0;
        push @r, $e;
    }
    close $fh;
    return \@r;
}

sub clear_requests {
    my ($self) = @_;
    open my $fh, '+<', $self->{log} or return;
    flock $fh, LOCK_EX;
    truncate $fh, 0;
    close $fh;
}

sub _bucket_dir { "$_[0]->{data}/$_[0]->{bucket}" }

# Object keys in the bucket, sorted, from s3rver's data directory.
sub objects {
    my ($self) = @_;
    my $root = $self->_bucket_dir;
    my @k;
    return [] unless -d $root;
    File::Find::find({ no_chdir => 1, wanted => sub {
        if (-d $_ && m{/\._S3rver_uploads$}) { $File::Find::prune = 1; return }
        return unless -f $_ && m{\._S3rver_object$};
        (my $k = substr($_, length($root) + 1)) =~ s/\._S3rver_object$//;
        push @k, $k;
    } }, $root);
    return [ sort @k ];
}

sub _object_file {
    my ($self, $key) = @_;
    my @parts = split m{/}, $key, -1;
    my $last = pop @parts;
    return join '/', $self->_bucket_dir, @parts, "$last._S3rver_object";
}

# An object's bytes, or undef.
sub object {
    my ($self, $key) = @_;
    my $f = $self->_object_file($key);
    return undef unless -f $f;
    open my $fh, '<:raw', $f or return undef;
    local $/;
    my $s = <$fh>;
    return $s // '';
}

sub _uploads_dir { "$_[0]->{data}/$_[0]->{bucket}/._S3rver_uploads" }

# The multipart uploads open (initiated, neither completed nor aborted):
# [{key, upload_id, parts => [part numbers]}], by key then id.
sub uploads {
    my ($self) = @_;
    return [ map { { key => $_->{key}, upload_id => $_->{upload_id}, parts => [ sort { $a <=> $b } keys %{ $_->{parts} } ] } }
        _list_uploads($self->_uploads_dir) ];
}

sub _list_uploads {
    my ($dir) = @_;
    my @u;
    opendir my $dh, $dir or return ();
    for my $id (sort grep { !/^\./ } readdir $dh) {
        my $u = _upload_info($dir, $id) or next;
        push @u, $u;
    }
    return sort { $a->{key} cmp $b->{key} || $a->{upload_id} cmp $b->{upload_id} } @u;
}

sub _upload_info {
    my ($dir, $id) = @_;
    return undef unless $id =~ /^[\w-]+$/ && -f "$dir/$id/key";
    my $key = _slurp("$dir/$id/key");
    my %parts;
    opendir my $dh, "$dir/$id" or return undef;
    for (readdir $dh) {
        next unless /^(\d+)$/;
        $parts{$1} = { size => -s "$dir/$id/$_", md5 => _slurp("$dir/$id/$_.md5") };
    }
    return { key => $key, upload_id => $id, parts => \%parts, initiated => (stat "$dir/$id/key")[9] };
}

# A signed request through the proxy, for tests: request(METHOD, KEY,
# body => bytes, query => 'raw query', headers => {...}, key_id, secret
# (default S3RVER), payload_hash (sent and signed instead of the body's),
# send_body => bytes (sent instead of the signed body), path => '/raw/path'
# (instead of /bucket/KEY encoded)). Returns {status, headers, content}.
sub request {
    my ($self, $method, $key, %o) = @_;
    my $path = $o{path} // ('/' . $self->{bucket} . (defined $key && length $key ? '/' . uri_encode($key, 1) : ''));
    my $url = $self->endpoint . $path . (defined $o{query} ? "?$o{query}" : '');
    my $h = sign_headers($method, $url, body => $o{body}, headers => $o{headers}, key_id => $o{key_id} // 'S3RVER',
        secret => $o{secret} // $self->{keys}{ $o{key_id} // 'S3RVER' } // 'S3RVER', region => $o{region} // $self->{region},
        payload_hash => $o{payload_hash}, time => $o{time});
    my %args = (headers => $h);
    my $body = exists $o{send_body} ? $o{send_body} : $o{body};
    $args{content} = $body if defined $body;
    my $res = HTTP::Tiny->new(timeout => 60, keep_alive => 0)->request($method, $url, \%args);
    return { status => $res->{status}, headers => $res->{headers}, content => $res->{content} };
}

# ------------------------------------------------------------ the proxy

my $BLOCK = 4 * 1024 * 1024;

sub _proxy_main {
    my ($self, $listen, $owner) = @_;
    setpgrp(0, 0);
    $0 = "IngestS3 proxy :$self->{port} -> :$self->{s3_port}";
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', "$self->{dir}/s3proxy.log";
    open STDERR, '>&', \*STDOUT;
    $SIG{PIPE} = 'IGNORE';
    $SIG{CHLD} = 'IGNORE';
    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{INT} = 'DEFAULT';
    $SIG{ALRM} = 'DEFAULT';
    my $sel = IO::Select->new($listen);
    while (1) {
        # the test is gone (killed without its END): so are we
        if (getppid() != $owner || !kill(0, $owner)) {
            kill 'TERM', -$$;
            POSIX::_exit(0);
        }
        next unless $sel->can_read(0.5);
        my $c = $listen->accept or next;
        my $pid = fork;
        if (!defined $pid) { close $c; next }
        if (!$pid) {
            close $listen;
            $SIG{TERM} = 'DEFAULT';
            alarm 600;
            eval { $self->_serve($c) };
            print STDERR "IngestS3 proxy: $@" if $@;
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub _read_head {
    my ($c, $buf) = @_;
    while ($$buf !~ /\r?\n\r?\n/) {
        my $n = sysread $c, $$buf, 65536, length $$buf;
        next if !defined $n && $! == EINTR;
        return undef unless $n;
        return undef if length $$buf > 256 * 1024;
    }
    my $i = $$buf =~ /\r\n\r\n/ ? index($$buf, "\r\n\r\n") + 4 : index($$buf, "\n\n") + 2;
    my $head = substr $$buf, 0, $i, '';
    return $head;
}

sub _write_all {
    my ($fh, $data) = @_;
    my $off = 0;
    my $len = length $data;
    while ($off < $len) {
        my $n = syswrite $fh, $data, ($len - $off > $BLOCK ? $BLOCK : $len - $off), $off;
        if (!defined $n) { next if $! == EINTR || $! == EAGAIN; return 0 }
        $off += $n;
    }
    return 1;
}

sub _xml_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g;
    return $s;
}

sub _log {
    my ($self, $e) = @_;
    $e->{time} = time;
    $e->{signature_ok} = $e->{signature_ok} ? JSON::PP::true : JSON::PP::false;
    sysopen my $fh, $self->{log}, O_WRONLY | O_APPEND | O_CREAT or return;
    flock $fh, LOCK_EX;
    syswrite $fh, $JSON->encode($e) . "\n";
    close $fh;
}

# Answers on $c and closes it, after the client had its chance to finish
# sending (so that a close with unread data does not reset the answer).
sub _answer {
    my ($c, $status, $headers, $body, $head_only) = @_;
    my %reason = (200 => 'OK', 204 => 'No Content', 400 => 'Bad Request', 403 => 'Forbidden', 404 => 'Not Found',
        405 => 'Method Not Allowed', 411 => 'Length Required', 413 => 'Payload Too Large', 501 => 'Not Implemented',
        502 => 'Bad Gateway');
    $body //= '';
    my $h = "HTTP/1.1 $status " . ($reason{$status} // 'Status') . "\r\n";
    $h .= "$_->[0]: $_->[1]\r\n" for @$headers;
    $h .= 'Date: ' . strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime) . "\r\n";
    $h .= "x-amz-request-id: " . sprintf('%016X', int(rand(2**32)) * 2**16 + $$ % 65536) . "\r\n";
    $h .= 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n" unless $status == 204;
    $h .= "Connection: close\r\n\r\n" if $status == 204;
    _write_all($c, $h . ($head_only || $status == 204 ? '' : $body));
    _linger($c);
}

sub _linger {
    my ($c) = @_;
    shutdown $c, SHUT_WR;
    my $sel = IO::Select->new($c);
    my $deadline = time + 2;
    while (time < $deadline && $sel->can_read($deadline - time)) {
        my $junk;
        my $n = sysread $c, $junk, 65536;
        last unless $n;
    }
    close $c;
}

sub _error {
    my ($c, $r, $status, $code, $msg, $extra, %log) = @_;
    my $xml = qq(<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>$code</Code><Message>) . _xml_escape($msg)
        . '</Message>';
    $xml .= "<$_>" . _xml_escape($extra->{$_}) . "</$_>" for sort keys %{ $extra // {} };
    $xml .= '<RequestId>' . sprintf('%08X', $$) . "</RequestId></Error>";
    _answer($c, $status, [ [ 'Content-Type', 'application/xml' ] ], $xml, ($r->{method} // '') eq 'HEAD');
    return ($status, $code);
}

sub _serve {
    my ($self, $c) = @_;
    binmode $c;
    my $buf = '';
    my $head = _read_head($c, \$buf);
    return close $c unless defined $head;
    my ($line, @hl) = split /\r?\n/, $head;
    my ($method, $target, $ver) = $line =~ m{^([A-Z]+) (\S+) HTTP/(1\.[01])$};
    my $r = { method => $method // '', headers => [] };
    my %log = (method => $r->{method}, path => '', query => '', bytes => 0, signature_ok => 0);
    if (!$method) {
        _error($c, $r, 400, 'BadRequest', 'An HTTP/1.1 request line was expected');
        return $self->_log({ %log, status => 400, code => 'BadRequest' });
    }
    my ($path, $query) = $target =~ /^([^?]*)(?:\?(.*))?$/;
    $path =~ s{^https?://[^/]+}{};
    @$r{qw(path query)} = ($path, $query // '');
    @log{qw(path query)} = ($path, $query // '');
    for (@hl) {
        if (/^[ \t]/ && @{ $r->{headers} }) { $r->{headers}[-1][1] .= " $_"; next }
        my ($n, $v) = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/ or next;
        push @{ $r->{headers} }, [ $n, $v ];
    }
    my %h;
    push @{ $h{ lc $_->[0] } }, $_->[1] for @{ $r->{headers} };
    my $te = $h{'transfer-encoding'} ? $h{'transfer-encoding'}[0] : undef;
    if (defined $te && $te !~ /^identity$/i) {
        _error($c, $r, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header (chunked transfer-encoding is refused).');
        return $self->_log({ %log, status => 411, code => 'MissingContentLength' });
    }
    my $len = $h{'content-length'} ? $h{'content-length'}[0] : 0;
    if ($len !~ /^\d+$/ || $len > 5 * 1024**3) {
        _error($c, $r, 400, 'InvalidArgument', 'Bad Content-Length');
        return $self->_log({ %log, status => 400, code => 'InvalidArgument' });
    }
    $log{bytes} = 0 + $len;
    my %info;
    my @verify = (keys => $self->{keys}, region => $self->{region}, info => \%info);
    my $expect = $h{expect} && $h{expect}[0] =~ /^100-continue$/i;
    if ($expect && $len > 0) {
        # refused before the body is sent, as S3 does
        if (my ($st, $code, $msg, $extra) = sigv4_verify($r, @verify)) {
            _error($c, $r, $st, $code, $msg, $extra);
            return $self->_log({ %log, status => $st, code => $code, key_id => $info{key_id} });
        }
        _write_all($c, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    my $body = $buf;
    while (length $body < $len) {
        my $n = sysread $c, $body, ($len - length $body > $BLOCK ? $BLOCK : $len - length $body), length $body;
        next if !defined $n && $! == EINTR;
        last unless $n;
    }
    if (length $body < $len) {
        $self->_log({ %log, status => 400, code => 'IncompleteBody', bytes => length $body });
        return close $c;
    }
    substr($body, $len) = '' if length $body > $len;
    $r->{body} = $body;
    %info = ();
    if (my ($st, $code, $msg, $extra) = sigv4_verify($r, @verify)) {
        _error($c, $r, $st, $code, $msg, $extra);
        return $self->_log({ %log, status => $st, code => $code, key_id => $info{key_id}, signature_ok => $info{signature_ok} });
    }
    $log{signature_ok} = 1;
    $log{key_id} = $info{key_id};

    # what s3rver lacks or gets wrong
    my $dpath = uri_decode($path);
    my %q = map { my ($n, $v) = split /=/, $_, 2; (uri_decode($n) => uri_decode($v // '')) } grep { length } split /&/, $query // '';
    my ($bucket, $key) = $dpath =~ m{^/([^/]+)(?:/(.+))?$}s;
    if (my $host = $h{host} ? $h{host}[0] : undef) {
        # virtual-hosted style through *.localhost (curl resolves it to loopback)
        if ($host =~ /^([a-z0-9][a-z0-9.-]*)\.localhost(?::\d+)?$/i) {
            ($bucket, $key) = ($1, $dpath =~ m{^/(.+)$}s ? $1 : undef);
            $r->{forward_path} = "/$bucket$path";
        }
    }
    my $updir = defined $bucket ? "$self->{data}/$bucket/._S3rver_uploads" : undef;
    if (defined $bucket && defined $key && exists $q{uploadId}) {
        my $u = $q{uploadId} =~ /^[\w-]+$/ ? _upload_info($updir, $q{uploadId}) : undef;
        if (!$u || $u->{key} ne $key) {
            unless ($method eq 'DELETE' && $self->{lenient_abort}) {
                my @e = _error($c, $r, 404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, '
                    . 'or the upload may have been aborted or completed.', { UploadId => $q{uploadId} });
                return $self->_log({ %log, status => 404, code => 'NoSuchUpload', upload_id => $q{uploadId},
                    op => $method eq 'DELETE' ? 'AbortMultipartUpload' : undef });
            }
        }
        if ($method eq 'DELETE') {
            remove_tree("$updir/$q{uploadId}") if $u;
            $self->_log({ %log, status => 204, op => 'AbortMultipartUpload', upload_id => $q{uploadId} });
            return _answer($c, 204, []);
        }
        if ($method eq 'POST') {
            my @parts;
            while ($body =~ m{<Part>(.*?)</Part>}sg) {
                my $p = $1;
                my ($n) = $p =~ m{<PartNumber>\s*(\d+)\s*</PartNumber>};
                my ($etag) = $p =~ m{<ETag>\s*(.*?)\s*</ETag>}s;
                $etag = '' unless defined $etag;
                $etag =~ s/&quot;/"/g;
                $etag =~ s/"//g;
                push @parts, [ $n, $etag ];
            }
            my @bad;
            my ($st, $code, $msg);
            if (!@parts || grep { !defined $_->[0] } @parts) {
                ($st, $code, $msg) = (400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
            }
            elsif (grep { $parts[$_][0] <= $parts[ $_ - 1 ][0] } 1 .. $#parts) {
                ($st, $code, $msg) = (400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
            }
            elsif (my ($bad) = grep { !$u->{parts}{ $_->[0] } || $u->{parts}{ $_->[0] }{md5} ne lc $_->[1] } @parts) {
                ($st, $code, $msg) = (400, 'InvalidPart', "One or more of the specified parts could not be found. The part may not have "
                    . "been uploaded, or the specified entity tag may not match the part's entity tag (part $bad->[0]).");
            }
            elsif (my ($small) = grep { $u->{parts}{ $parts[$_][0] }{size} < $MIN_PART } 0 .. $#parts - 1) {
                ($st, $code, $msg) = (400, 'EntityTooSmall', "Your proposed upload is smaller than the minimum allowed object size "
                    . "(part $parts[$small][0]: $u->{parts}{ $parts[$small][0] }{size} bytes; every part but the last must be at least 5 MiB).");
            }
            if ($st) {
                _error($c, $r, $st, $code, $msg, { UploadId => $q{uploadId} });
                return $self->_log({ %log, status => $st, code => $code, upload_id => $q{uploadId} });
            }
        }
        $log{upload_id} = $q{uploadId};
    }
    if (defined $bucket && !defined $key && $method eq 'GET' && exists $q{uploads}) {
        my $prefix = $q{prefix} // '';
        my $xml = qq(<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)
            . '<Bucket>' . _xml_escape($bucket) . '</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>'
            . '<NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker><Prefix>' . _xml_escape($prefix)
            . '</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>';
        for my $u (_list_uploads($updir)) {
            next unless index($u->{key}, $prefix) == 0;
            $xml .= '<Upload><Key>' . _xml_escape($u->{key}) . "</Key><UploadId>$u->{upload_id}</UploadId>"
                . '<Initiated>' . strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime $u->{initiated}) . '</Initiated>'
                . '<StorageClass>STANDARD</StorageClass></Upload>';
        }
        $xml .= '</ListMultipartUploadsResult>';
        $self->_log({ %log, status => 200, op => 'ListMultipartUploads' });
        return _answer($c, 200, [ [ 'Content-Type', 'application/xml' ] ], $xml);
    }
    if ($method eq 'GET' && defined $key && $h{range} && $self->_take_vanish($key)) {
        # deleted by someone else between the reader's HEAD and this GET
        my $f = $self->_object_file($key);
        unlink $f, $f =~ s/_object$/_metadata.json/r;
        $log{vanished} = 1;
    }
    return $self->_forward($c, $r, \%log);
}

# vanish_on_get(PREFIX): the next ranged GET of a key that begins with
# PREFIX finds the object gone, as when another host deletes it between a
# reader's HEAD and its GET: the proxy removes it from s3rver's store just
# before it forwards that GET (which s3rver then answers 404 NoSuchKey).
# Logged with vanished => 1.
sub vanish_on_get {
    my ($self, $prefix) = @_;
    open my $fh, '>>', "$self->{dir}/vanish-on-get" or die "vanish-on-get: $!";
    print $fh "$prefix\n";
    close $fh;
}

sub _take_vanish {
    my ($self, $key) = @_;
    my $f = "$self->{dir}/vanish-on-get";
    open my $fh, '<', $f or return 0;
    chomp(my @prefixes = <$fh>);
    close $fh;
    my ($hit) = grep { index($key, $_) == 0 } @prefixes;
    return 0 unless defined $hit;
    open $fh, '>', $f or return 0;
    print $fh map { "$_\n" } grep { $_ ne $hit } @prefixes;
    close $fh;
    return 1;
}

sub _forward {
    my ($self, $c, $r, $log) = @_;
    my $up = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{s3_port}, Proto => 'tcp', Timeout => 10);
    if (!$up) {
        _error($c, $r, 502, 'InternalError', "s3rver is not reachable: $!");
        return $self->_log({ %$log, status => 502, code => 'InternalError' });
    }
    binmode $up;
    my $target = ($r->{forward_path} // $r->{path}) . (length $r->{query} ? "?$r->{query}" : '');
    my $head = "$r->{method} $target HTTP/1.1\r\n";
    for (@{ $r->{headers} }) {
        my $n = lc $_->[0];
        next if $n eq 'connection' || $n eq 'expect' || $n eq 'keep-alive' || $n eq 'proxy-connection';
        $head .= $n eq 'host' ? "Host: 127.0.0.1:$self->{s3_port}\r\n" : "$_->[0]: $_->[1]\r\n";
    }
    $head .= "Connection: close\r\n\r\n";
    # s3rver may answer (an error) before it read the whole body: go on to its answer
    _write_all($up, $head) && _write_all($up, $r->{body});
    my $buf = '';
    my $rhead = _read_head($up, \$buf);
    if (!defined $rhead) {
        _error($c, $r, 502, 'InternalError', 's3rver closed the connection without an answer');
        return $self->_log({ %$log, status => 502, code => 'InternalError' });
    }
    my ($status) = $rhead =~ m{^HTTP/1\.\d (\d{3})};
    # s3rver's 405 for an operation it does not implement, and its other errors
    my ($code) = $status >= 300 && $buf =~ m{<Code>([^<]+)</Code>} ? ($1) : ();
    $rhead =~ s/^Connection:.*\r?\n//mig;
    $rhead =~ s/^Keep-Alive:.*\r?\n//mig;
    $rhead =~ s/\r?\n\r?\n$/\r\nConnection: close\r\n\r\n/;
    # logged before the client has its answer, so that a test sees it at once
    $self->_log({ %$log, status => 0 + ($status // 0), ($code ? (code => $code) : ()) });
    _write_all($c, $rhead . $buf) or return;
    while (1) {
        my $chunk;
        my $n = sysread $up, $chunk, $BLOCK;
        next if !defined $n && $! == EINTR;
        last unless $n;
        _write_all($c, $chunk) or last;
    }
    close $up;
    _linger($c);
}

1;
