package IngestTest;
# The integration harness: a private PostgreSQL cluster (initdb into a temp
# directory, on a free loopback port, removed at the end), the migrations,
# and a real httpd loading the freshly built mod_ingest on another free
# port. Nothing here touches the system's PostgreSQL or Apache.
use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More ();
use Time::HiRes qw(sleep time);
use Exporter qw(import);

our @EXPORT_OK = qw(wait_until problem_ok);

our $TOP = abs_path(dirname(__FILE__) . '/../..');
our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# The schema version the tree's migrations produce: the highest NNN_ file.
sub latest_schema {
    my ($v) = sort { $b <=> $a } map { m{/0*(\d+)_[^/]*\.sql$} ? $1 : () } glob("$TOP/sql/*.sql");
    return $v;
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# Runs a command without a shell, stderr folded into the returned output.
sub run_or_die {
    my @cmd = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or do { print "exec $cmd[0]: $!\n"; exit 127 };
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    die "command failed (@cmd):\n$out" if $?;
    return $out;
}

# new(extra => "httpd config", no_migrate => 1, log_level => "...")
sub new {
    my ($class, %o) = @_;
    my $self = bless {%o}, $class;
    $self->{dir} = tempdir('ingest-t-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $self->{dir};
    mkdir "$self->{dir}/$_" for qw(run logs htdocs storage);
    # httpd's children write uploads as www-data when the tests run as root
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('www-data');
        chown $uid, $gid, "$self->{dir}/storage" if defined $uid;
    }
    $self->{pgdata} = "$self->{dir}/pg";
    $self->{pgport} = free_port();
    $self->{port} = $o{port} // free_port();
    $ENV{PG_NOSYNC} = 1;
    run_or_die("$TOP/scripts/pg.sh", 'init', $self->{pgdata});
    $self->start_pg;
    unless ($o{no_migrate}) {
        run_or_die("$TOP/sql/migrate.sh", '-h', '127.0.0.1', '-p', $self->{pgport}, '-U', 'ingest', '-d', 'ingest');
    }
    $self->{jwt_secret} = $o{jwt_secret} // 'test-secret-0123456789abcdef';
    for (['jwt.secret', $self->{jwt_secret}], ['upload.secret', 'upload-secret-0123456789abcdef']) {
        open my $fh, '>', "$self->{dir}/$_->[0]" or die $!;
        print $fh "$_->[1]\n";
        close $fh;
    }
    $self->start_httpd unless $o{no_httpd};
    return $self;
}

sub conf_file { "$_[0]->{dir}/httpd.conf" }

sub write_conf {
    my ($self) = @_;
    my $ug = $> == 0 ? "User www-data\nGroup www-data" : '';
    my $modules = run_or_die('apxs', '-q', 'LIBEXECDIR');
    chomp $modules;
    run_or_die('perl', "$TOP/scripts/render-conf.pl", "$TOP/conf/httpd.conf.in", $self->conf_file,
        "STATE=$self->{dir}", "PORT=$self->{port}", "ERROR_LOG=$self->{dir}/logs/error.log",
        'LOG_LEVEL=' . ($self->{log_level} // 'info'), "USER_GROUP=$ug", "MODULES=$modules",
        "MODULE=$TOP/mod_ingest/.libs/mod_ingest.so", 'PGHOST=127.0.0.1', "PGPORT=$self->{pgport}",
        "STORAGE=$self->{dir}/storage",
        'PGDATABASE=' . ($self->{pgdatabase} // 'ingest'), 'PGUSER=ingest', "HTDOCS=$self->{dir}/htdocs",
        'EXTRA=' . ($self->{extra} // ''));
}

sub httpd_cmd {
    my ($self, @args) = @_;
    return ('/usr/sbin/apache2', '-f', $self->conf_file, '-d', $self->{dir}, @args);
}

sub httpd_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/run/httpd.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

sub start_httpd {
    my ($self) = @_;
    $self->write_conf;
    run_or_die($self->httpd_cmd('-k', 'start'));
    my $deadline = time + 20;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Proto => 'tcp');
        if ($s) { close $s; return 1; }
        sleep 0.1;
    }
    die "httpd did not start:\n" . $self->error_log;
}

sub stop_httpd {
    my ($self) = @_;
    my $pid = $self->httpd_pid or return;
    kill 'TERM', $pid;
    my $deadline = time + 20;
    while (time < $deadline && kill(0, $pid)) { sleep 0.1 }
    kill 'KILL', $pid if kill(0, $pid);
    unlink "$self->{dir}/run/httpd.pid";
}

sub start_pg { my ($s) = @_; run_or_die("$TOP/scripts/pg.sh", 'start', $s->{pgdata}, $s->{pgport}) }
sub stop_pg  { my ($s) = @_; run_or_die("$TOP/scripts/pg.sh", 'stop', $s->{pgdata}) }

# psql as the superuser; returns the unaligned, tuples-only output.
sub psql {
    my ($self, $sql, $db) = @_;
    open my $fh, '-|', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', $self->{pgport},
        '-U', 'ingest', '-d', $db // 'ingest', '-c', $sql or die $!;
    my $out = do { local $/; <$fh> };
    close $fh or die "psql failed: $sql\n";
    chomp $out if defined $out;
    return $out;
}

sub error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

sub url { "http://127.0.0.1:$_[0]->{port}$_[1]" }

sub b64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# A JWT; header and claims are hashes, the secret defaults to the server's.
sub jwt {
    my ($self, $claims, %o) = @_;
    my $header = $o{header} // { alg => 'HS256', typ => 'JWT' };
    my $h = b64url($JSON->encode($header));
    my $p = b64url(ref $claims ? $JSON->encode($claims) : $claims);
    my $alg = $header->{alg} // '';
    return "$h.$p." if $alg eq 'none';
    my $sig = b64url(hmac_sha256("$h.$p", $o{secret} // $self->{jwt_secret}));
    return "$h.$p.$sig";
}

# A valid token for tenant and user.
sub token {
    my ($self, $tenant, $user, %extra) = @_;
    return $self->jwt({ org_id => $tenant, sub => $user // 'user-1', exp => time + 3600, %extra });
}

# request(METHOD, PATH, token => T, json => DATA | body => STRING, headers => {...})
# Returns { status, headers, content, json }.
sub request {
    my ($self, $method, $path, %o) = @_;
    my %h = %{ $o{headers} // {} };
    $h{Authorization} = "Bearer $o{token}" if defined $o{token};
    my %args = (headers => \%h);
    if (exists $o{json}) {
        $args{content} = $JSON->encode($o{json});
        $h{'Content-Type'} //= 'application/json';
    }
    elsif (exists $o{body}) {
        $args{content} = $o{body};
    }
    my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
    my $res = $http->request($method, $self->url($path), \%args);
    my $r = { status => $res->{status}, headers => $res->{headers}, content => $res->{content} };
    my $ct = $res->{headers}{'content-type'} // '';
    if ($ct =~ m{^application/(problem\+)?json} && length $res->{content}) {
        $r->{json} = eval { $JSON->decode($res->{content}) };
    }
    return $r;
}

sub init_job {
    my ($self, $token, %o) = @_;
    my $r = $self->request('POST', '/api/ingest/init', token => $token,
        json => { filename => $o{filename} // 'data.csv', file_type => $o{file_type} // 'csv', file_size => $o{file_size} // 100 },
        headers => $o{headers} // {});
    die "init failed: $r->{status} $r->{content}" unless $r->{status} == 201 || $r->{status} == 200;
    return $r->{json};
}

# Sends bytes on a raw connection and returns the status code and the whole
# response, for what HTTP::Tiny will not send (lying Content-Length, ...).
sub raw {
    my ($self, $bytes, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Proto => 'tcp', Timeout => 10)
        or die "connect: $!";
    print $s $bytes;
    $s->shutdown(1) unless $wait;
    my $resp = '';
    local $SIG{ALRM} = sub { die "raw request timed out\n" };
    alarm 20;
    while (my $n = sysread($s, my $buf, 65536)) { $resp .= $buf; last if $wait && $resp =~ /\r\n\r\n/ && $resp =~ /Content-Length: (\d+)/i && length($resp) >= index($resp, "\r\n\r\n") + 4 + $1 }
    alarm 0;
    close $s;
    my ($status) = $resp =~ m{^HTTP/1\.\d (\d{3})};
    return ($status, $resp);
}

# Polls $cond every $step seconds (0.2 by default) until it is true or
# $timeout seconds pass; says what timed out.
sub wait_until {
    my ($what, $timeout, $cond, $step) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep($step // 0.2);
    }
    Test::More::diag("timed out waiting for $what");
    return 0;
}

# An RFC 9457 answer: the HTTP status, problem+json, the status member and,
# when given, the type urn:mod-ingest:problem:$type.
sub problem_ok {
    my ($r, $status, $type, $name) = @_;
    Test::More::is($r->{status}, $status, "$name: status $status")
        or Test::More::diag("body: " . ($r->{content} // ''));
    Test::More::like($r->{headers}{'content-type'} // '', qr{^application/problem\+json}, "$name: problem+json");
    Test::More::is($r->{json}{status}, $status, "$name: status member") if $r->{json};
    Test::More::is($r->{json}{type}, "urn:mod-ingest:problem:$type", "$name: type $type") if $type;
}

sub DESTROY {
    my ($self) = @_;
    return if $self->{destroyed}++;
    local ($?, $@);
    eval { $self->stop_httpd };
    eval { run_or_die("$TOP/scripts/pg.sh", 'destroy', $self->{pgdata}) };
    if ($ENV{INGEST_KEEP}) {
        print STDERR "# kept $self->{dir}\n";
    }
    else {
        remove_tree($self->{dir});
    }
}

1;
