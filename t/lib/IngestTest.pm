package IngestTest;
# The integration harness: a private PostgreSQL cluster (initdb into a temp
# directory, on a free loopback port, removed at the end), the migrations,
# and a real httpd loading the freshly built mod_ingest on another free
# port. Nothing here touches the system's PostgreSQL or Apache.
#
# At teardown (the server going out of scope, done_testing, or the end of
# the script) every httpd the object started is stopped and its error_log
# checked: a child that died on a signal, a failed assertion, memory
# corruption, a sanitizer report, stderr output, or any line at level
# error or worse fails the test file, unless the test declared it with
# expect_log. With INGEST_SANITIZE=1 httpd loads the ASan+UBSan build of
# the module (build-san/, `make san-module`) with the runtime preloaded.
use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use Fcntl qw(O_CREAT O_EXCL O_WRONLY);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Scalar::Util qw(refaddr weaken);
use Test::More ();
use Test2::API qw(context test2_add_callback_post_load test2_is_testing_done test2_stack);
use Time::HiRes qw(sleep time);
use Exporter qw(import);

our @EXPORT_OK = qw(wait_until problem_ok);

our $TOP = abs_path(dirname(__FILE__) . '/../..');
our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# Config for one child process that serves every request, for tests that
# need one connection pool or one process to watch.
our $ONE_CHILD = "StartServers 1\nServerLimit 1\nMaxRequestWorkers 25\nMinSpareThreads 1\nMaxSpareThreads 25\n";

# The schema version the tree's migrations produce: the highest NNN_ file.
sub latest_schema {
    my ($v) = sort { $b <=> $a } map { m{/0*(\d+)_[^/]*\.sql$} ? $1 : () } glob("$TOP/sql/*.sql");
    return $v;
}

# A port for a test's httpd or PostgreSQL. Taken below the kernel's
# ephemeral range (32768 and up on Linux), which client connections and
# port 0 binds draw from, and reserved with a lock file, so that two tests
# running side by side (prove -j2) never get the same one between the check
# here and the server's own bind (CI once saw httpd fail with "Address
# already in use" on a port handed out twice). A lock is released when this
# process ends, or taken over once its owner is gone.
my $PORT_DIR = '/tmp/ingest-test-ports';
my @PORT_LOCKS;

sub free_port {
    mkdir $PORT_DIR;
    chmod 01777, $PORT_DIR;
    for (1 .. 500) {
        my $p = 20000 + int(rand(12000));
        my $lock = "$PORT_DIR/$p";
        if (open my $in, '<', $lock) {
            my $owner = <$in> // '';
            close $in;
            next if $owner =~ /^(\d+)/ && kill(0, $1);
            unlink $lock;
        }
        sysopen(my $fh, $lock, O_CREAT | O_EXCL | O_WRONLY) or next;
        print $fh "$$\n";
        close $fh;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p, Proto => 'tcp', Listen => 1,
            ReuseAddr => 1);
        if (!$s) {
            unlink $lock;
            next;
        }
        close $s;
        push @PORT_LOCKS, [ $$, $lock ];
        return $p;
    }
    die "no free port in 20000..31999\n";
}

END {
    unlink map { $_->[1] } grep { $_->[0] == $$ } @PORT_LOCKS;
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

# The ASan+UBSan build of the module, used when INGEST_SANITIZE is set.
our $SANITIZE = $ENV{INGEST_SANITIZE} ? 1 : 0;
our $SAN_MODULE = "$TOP/build-san/.libs/mod_ingest.so";
# seconds a graceful stop waits for connections before it stops them
my $GRACEFUL_STOP_WAIT = 5;

sub module_path { $SANITIZE ? $SAN_MODULE : "$TOP/mod_ingest/.libs/mod_ingest.so" }

# Servers not torn down yet, by address (weak references), and the order
# they were created in. A check that cannot be a test (no test run yet, as
# in a benchmark, or done_testing already seen) fails the exit status.
my %LIVE;
my $SERIAL = 0;
our $LATE_FAILURE = 0;

# A test's directory and its subdirectories, with san/ for the sanitizer
# reports that the root parent and the www-data children both write.
sub make_dirs {
    my ($dir, @sub) = @_;
    chmod 0755, $dir;
    mkdir "$dir/$_" for @sub;
    # sanitizer reports: written by the root parent and www-data children
    mkdir "$dir/san";
    chmod 01777, "$dir/san";
}

# new(extra => "httpd config", no_migrate => 1, log_level => "...",
#     expect_log => [qr/.../, ...], durable => 1 (PostgreSQL with fsync and
#     synchronous_commit on, as in production; tests run without))
sub new {
    my ($class, %o) = @_;
    my $self = bless {%o}, $class;
    $self->{expect_log} = [ @{ $o{expect_log} // [] } ];
    $self->{owner_pid} = $$;
    $self->{serial} = ++$SERIAL;
    # where the test made it, to name the server in the teardown check
    my ($file, $line) = (caller)[1, 2];
    $self->{made_at} = "$file line $line";
    weaken($LIVE{ refaddr $self } = $self);
    $self->{dir} = tempdir('ingest-t-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    make_dirs($self->{dir}, qw(run logs htdocs storage));
    # httpd's children write uploads as www-data when the tests run as root
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('www-data');
        chown $uid, $gid, "$self->{dir}/storage" if defined $uid;
    }
    $self->{pgdata} = "$self->{dir}/pg";
    $self->{pgport} = free_port();
    $self->{port} = $o{port} // free_port();
    # tests trade durability for speed; a benchmark may not (durable => 1)
    if ($o{durable}) { delete $ENV{PG_NOSYNC} } else { $ENV{PG_NOSYNC} = 1 }
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

# What httpd's children read from the checkout is copied into the test's
# directory first: a fresh clone may sit in a directory www-data cannot
# enter (mktemp -d makes it 0700). The dashboard is served from there, and
# @TESTDIR@ in extra names the directory (the bundled dataset is in it as
# mock_jobs.json).
sub copy_readable {
    my ($self) = @_;
    return if $self->{copied}++;
    run_or_die('cp', '-R', "$TOP/htdocs", "$self->{dir}/dashboard") if -d "$TOP/htdocs";
    run_or_die('cp', "$TOP/data/mock_jobs.json", "$self->{dir}/mock_jobs.json") if -f "$TOP/data/mock_jobs.json";
    run_or_die('chmod', '-R', 'a+rX', "$self->{dir}/dashboard") if -d "$self->{dir}/dashboard";
    chmod 0644, "$self->{dir}/mock_jobs.json";
}

sub write_conf {
    my ($self) = @_;
    my $ug = $> == 0 ? "User www-data\nGroup www-data" : '';
    $self->copy_readable;
    (my $extra = $self->{extra} // '') =~ s/\@TESTDIR\@/$self->{dir}/g;
    my $modules = run_or_die('apxs', '-q', 'LIBEXECDIR');
    chomp $modules;
    run_or_die('perl', "$TOP/scripts/render-conf.pl", "$TOP/conf/httpd.conf.in", $self->conf_file,
        "STATE=$self->{dir}", "PORT=$self->{port}", "ERROR_LOG=$self->{dir}/logs/error.log",
        'LOG_LEVEL=' . ($self->{log_level} // 'info'), "USER_GROUP=$ug", "MODULES=$modules",
        'MODULE=' . module_path(), 'PGHOST=127.0.0.1', "PGPORT=$self->{pgport}",
        "STORAGE=$self->{dir}/storage",
        'PGDATABASE=' . ($self->{pgdatabase} // 'ingest'), 'PGUSER=ingest', "HTDOCS=$self->{dir}/htdocs", "DASHBOARD=$self->{dir}/dashboard",
        'EXTRA=' . sanitizer_conf($self->{dir}) . "GracefulShutdownTimeout $GRACEFUL_STOP_WAIT\n" . $extra);
}

# The sanitizer runtime the module was linked with, as ldd resolves it.
my $ASAN_LIB;
sub asan_lib {
    return $ASAN_LIB if $ASAN_LIB;
    die "INGEST_SANITIZE is set but $SAN_MODULE is missing: run `make san-module` (scripts/build.sh --sanitize)\n"
        unless -f $SAN_MODULE;
    ($ASAN_LIB) = run_or_die('ldd', $SAN_MODULE) =~ m{^\s*libasan\.so\S*\s+=>\s+(\S+)}m
        or die "$SAN_MODULE is not linked with libasan\n";
    return $ASAN_LIB;
}

# The environment an httpd command runs with under INGEST_SANITIZE: httpd
# itself is not instrumented, so the runtime is preloaded; reports go to
# files under <dir>/san that the teardown check reads. Leak detection is
# off: httpd leaves its pools to the exit.
sub sanitizer_env {
    my ($dir) = @_;
    return () unless $SANITIZE;
    my $common = "abort_on_error=1:halt_on_error=1:disable_coredump=1";
    # httpd sets its own SIGSEGV handler (AH00052 and nothing more): ASan
    # keeps its own, which prints the stack
    my $asan = "detect_leaks=0:allow_user_segv_handler=0";
    return ("LD_PRELOAD=" . asan_lib(),
        "ASAN_OPTIONS=$asan:$common:log_path=$dir/san/asan" . ($ENV{ASAN_OPTIONS} ? ":$ENV{ASAN_OPTIONS}" : ''),
        "UBSAN_OPTIONS=print_stacktrace=1:$common:log_path=$dir/san/ubsan" . ($ENV{UBSAN_OPTIONS} ? ":$ENV{UBSAN_OPTIONS}" : ''));
}

# Children that dropped root are not dumpable: their /proc/self/environ is
# closed to them, and UBSan, which reads its options from there in the
# child, would neither print stacks nor abort. CoreDumpDirectory makes
# httpd mark them dumpable again.
sub sanitizer_conf {
    my ($dir) = @_;
    return qq(CoreDumpDirectory "$dir/san"\n) if $SANITIZE;
    # INGEST_COREDIR=DIR (with ulimit -c): a crashed child's core goes there
    return $ENV{INGEST_COREDIR} ? qq(CoreDumpDirectory "$ENV{INGEST_COREDIR}"\n) : '';
}

# Any httpd invocation: also -t and -k graceful, which load the module too.
sub apache2_cmd {
    my ($dir, $conf, @args) = @_;
    my @env = sanitizer_env($dir);
    return ((@env ? ('/usr/bin/env', @env) : ()), '/usr/sbin/apache2', '-f', $conf, '-d', $dir, @args);
}

sub httpd_cmd {
    my ($self, @args) = @_;
    return apache2_cmd($self->{dir}, $self->conf_file, @args);
}

# A job's outcome: (status, processed_items, result_data.records or '-',
# attempts).
sub job_outcome {
    my ($self, $id) = @_;
    return split /\|/, $self->psql("SELECT status || '|' || processed_items || '|' || "
        . "coalesce(result_data->>'records', '-') || '|' || attempts FROM ingest_jobs WHERE job_id = '$id'");
}

# httpd -t with EXTRA as this server's extra config: (passed, output).
sub configtest {
    my ($self, $extra) = @_;
    $self->{extra} = $extra;
    $self->write_conf;
    my $pid = open(my $fh, '-|') // die $!;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec $self->httpd_cmd('-t') or exit 127;
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($? == 0, $out);
}

sub httpd_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/run/httpd.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

# Starts an httpd and waits until it accepts connections and has written
# its pid file.
sub launch_httpd {
    my ($h, @cmd) = @_;
    $h->{started} = 1;
    run_or_die(@cmd);
    my $deadline = time + 20;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $h->{port}, Proto => 'tcp');
        if ($s && httpd_pid($h)) { close $s; return 1; }
        sleep 0.1;
    }
    die "httpd did not start:\n" . error_log($h);
}

sub start_httpd {
    my ($self) = @_;
    $self->write_conf;
    return launch_httpd($self, $self->httpd_cmd('-k', 'start'));
}

# SIGTERM to httpd's parent (`apache2ctl stop`); true once it exited. One
# that ignores it for 20 s is killed, and the teardown check reports it.
# graceful => 1: SIGWINCH instead (`apache2ctl graceful-stop`), which lets
# the children finish their connections, GracefulShutdownTimeout at most.
sub stop_httpd {
    my ($self, %o) = @_;
    my $pid = httpd_pid($self) or return;
    my $sent = time;
    my $sig = $o{graceful} ? 'WINCH' : 'TERM';
    kill $sig, $pid;
    my $deadline = time + 20;
    while (time < $deadline && kill(0, $pid)) { sleep 0.05 }
    my $exited = !kill(0, $pid);
    push @{ $self->{stopping} }, [ $sent, time ];
    if (!$exited) {
        push @{ $self->{stop_problems} }, "httpd $pid ignored SIG$sig for 20 s and was killed";
        kill 'KILL', $pid;
    }
    unlink "$self->{dir}/run/httpd.pid";
    return $exited;
}

# A front httpd, as the users deploy one before mod_ingest (a reverse proxy,
# a balancer): only the modules named, then the config lines given, on a
# free loopback port. Returns a handle with {dir}, {port} and {conf};
# stopped when the script ends.
my @FRONTS;
sub start_front {
    my (%o) = @_;
    my $front = { dir => tempdir('ingest-front-XXXXXX', TMPDIR => 1, CLEANUP => 1), port => free_port() };
    make_dirs($front->{dir}, qw(run logs));
    $front->{conf} = "$front->{dir}/httpd.conf";
    my $libexec = run_or_die('apxs', '-q', 'LIBEXECDIR');
    chomp $libexec;
    my $ug = $> == 0 ? "User www-data\nGroup www-data\n" : '';
    my $mods = join '', map { "LoadModule ${_}_module $libexec/mod_$_.so\n" } @{ $o{modules} };
    open my $fh, '>', $front->{conf} or die $!;
    print $fh <<"CONF";
ServerRoot "$front->{dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:$front->{port}
PidFile "$front->{dir}/run/httpd.pid"
DefaultRuntimeDir "$front->{dir}/run"
ErrorLog "$front->{dir}/logs/error.log"
$ug$mods$o{conf}
CONF
    close $fh;
    push @FRONTS, $front;
    launch_httpd($front, '/usr/sbin/apache2', '-f', $front->{conf}, '-d', $front->{dir}, '-k', 'start');
    return $front;
}
END { local $?; stop_httpd($_) for grep { $_->{started} } @FRONTS }

# A second httpd against this one's PostgreSQL: this instance's config
# with Listen, ServerRoot, PidFile, DefaultRuntimeDir, ErrorLog and
# CustomLog moved to a directory of its own. Returns a handle with {dir}
# and {port} that httpd_pid, error_log and stop_httpd accept; its
# error_log is checked at this object's teardown. $edit, when given, is
# called with the config text (in $_[0]) to change it.
sub start_second_httpd {
    my ($self, $edit) = @_;
    my $dir = tempdir('ingest-t2-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    make_dirs($dir, qw(run logs));
    my $port = free_port();
    open my $in, '<', $self->conf_file or die $!;
    my $conf = do { local $/; <$in> };
    close $in;
    my %seen;
    $seen{Listen} = $conf =~ s/^Listen\s+\S+$/Listen 127.0.0.1:$port/m;
    $seen{ServerRoot} = $conf =~ s/^ServerRoot\s+.*$/ServerRoot "$dir"/m;
    $seen{PidFile} = $conf =~ s/^PidFile\s+.*$/PidFile "$dir\/run\/httpd.pid"/m;
    $seen{DefaultRuntimeDir} = $conf =~ s/^DefaultRuntimeDir\s+.*$/DefaultRuntimeDir "$dir\/run"/m;
    $seen{ErrorLog} = $conf =~ s/^ErrorLog\s+.*$/ErrorLog "$dir\/logs\/error.log"/m;
    $seen{CustomLog} = $conf =~ s/^CustomLog\s+\S+/CustomLog "$dir\/logs\/access.log"/m;
    $conf =~ s/^CoreDumpDirectory\s+.*$/CoreDumpDirectory "$dir\/san"/m;
    my @missing = grep { !$seen{$_} } sort keys %seen;
    die "second httpd: no @missing line in " . $self->conf_file . "\n" if @missing;
    $edit->($conf) if $edit;
    my $h = { dir => $dir, port => $port, conf => "$dir/httpd.conf" };
    open my $out, '>', $h->{conf} or die $!;
    print $out $conf;
    close $out;
    push @{ $self->{seconds} }, $h;
    launch_httpd($h, apache2_cmd($dir, $h->{conf}, '-k', 'start'));
    return $h;
}

# A private redis-server for this test (IngestStatusCache redis:...): on a
# free loopback port, nothing saved to disk, stopped at teardown. Returns
# its port; start_redis again after stop_redis brings it back on the same
# port.
sub start_redis {
    my ($self) = @_;
    my $port = $self->{redis_port} //= free_port();
    run_or_die('redis-server', '--port', $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--daemonize', 'yes', '--pidfile', "$self->{dir}/run/redis.pid", '--dir', "$self->{dir}/run",
        '--logfile', "$self->{dir}/logs/redis.log");
    my $deadline = time + 10;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return $port }
        sleep 0.05;
    }
    die "redis-server did not start on port $port\n";
}

sub stop_redis {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/run/redis.pid" or return;
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline && kill(0, $pid)) { sleep 0.05 }
    kill 'KILL', $pid if kill(0, $pid);
    unlink "$self->{dir}/run/redis.pid";
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
    my $res = $http->request($method, url($self, $path), \%args);    # a second httpd's handle too
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

# Uploads $body as a new job of $type for $token through init and the
# presigned PUT; returns the job's status JSON once it has ended (or undef),
# after tests that the upload was taken.
sub upload_parsed {
    my ($self, $token, $name, $type, $body, $timeout) = @_;
    my $init = $self->init_job($token, filename => "$name.$type", file_type => $type, file_size => length $body);
    my $res = HTTP::Tiny->new(timeout => 60, keep_alive => 0)->request('PUT', $self->url($init->{upload_url}),
        { headers => { 'Content-Type' => 'application/octet-stream' }, content => $body });
    Test::More::is($res->{status}, 200, "$name: uploaded") or Test::More::diag($res->{content});
    my $job;
    Test::More::ok(wait_until("$name parsed", $timeout // 60, sub {
        $job = $self->request('GET', "/api/ingest/status/$init->{job_id}", token => $token)->{json};
        return $job && ($job->{status} // '') =~ /^(completed|failed)$/;
    }), "$name: the job ended");
    return $job;
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

# ---------------------------------------------------------------- teardown

# What the teardown check refuses in an error_log unless the test expects
# it: a child that died on a signal (httpd logs that at notice), a failed
# assertion, glibc's and the sanitizers' reports, any line at level error
# or worse, and anything written to stderr (lines not in httpd's format).
our $CRASH_RE = join '|', 'exit signal', 'AH0005[12]:', 'Assertion .* failed', 'Segmentation fault', 'Sanitizer',
    'runtime error:', '==\d+==ERROR', 'double free', 'free\(\): invalid', 'malloc\(\):', 'corrupted (?:size|double-linked)',
    '\*\*\*.*\*\*\*: terminated';
$CRASH_RE = qr/$CRASH_RE/;
our $ERROR_RE = qr/^\[[^\]]*\] \[[^\]\s]*:(?:error|crit|alert|emerg)\]/;

# Declares error_log lines this server (and its second httpds) may write:
# patterns, each matched against one line. Returns the object.
sub expect_log {
    my ($self, @re) = @_;
    push @{ $self->{expect_log} }, @re;
    return $self;
}

# httpd's own words while it stops, not the module's: an ungraceful stop
# closes the socket of every connection a worker thread holds
# (close_worker_sockets() in the event MPM), and a worker that is then in
# a lingering close logs AH03092 when it tries to poll the closed socket
# (EBADF). Allowed only at a time stop_httpd() was stopping this httpd.
my $STOP_RACE_RE = qr/^\[\w+ (\w+) (\d+) (\d+):(\d+):(\d+(?:\.\d+)?) (\d+)\] \[mpm_event:error\] .*\(9\)Bad file descriptor: AH03092: process_lingering_close: apr_pollset_add failure$/;
my %MONTH = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);

sub while_stopping {
    my ($h, $l) = @_;
    my ($mon, $day, $hh, $mm, $ss, $year) = $l =~ $STOP_RACE_RE or return 0;
    require Time::Local;
    my $t = Time::Local::timelocal(0, $mm, $hh, $day, $MONTH{$mon}, $year) + $ss;
    return grep { $t >= $_->[0] - 0.01 && $t <= $_->[1] + 0.01 } @{ $h->{stopping} // [] };
}

# Every line the teardown check refuses, with where it was found.
sub log_problems {
    my ($self) = @_;
    my @expect = @{ $self->{expect_log} };
    my @p;
    for my $h ($self, @{ $self->{seconds} // [] }) {
        next unless $h->{started};
        my $where = $h == $self ? 'error_log' : "second httpd (port $h->{port}) error_log";
        if (open my $fh, '<', "$h->{dir}/logs/error.log") {
            while (my $l = <$fh>) {
                chomp $l;
                next unless length $l && ($l =~ $CRASH_RE || $l =~ $ERROR_RE || $l !~ /^\[/);
                push @p, "$where line $.: $l" unless grep({ $l =~ $_ } @expect) || while_stopping($h, $l);
            }
        }
        # never expected: a report is a bug in the module or a test to fix
        for my $f (sort glob "$h->{dir}/san/*") {
            open my $fh, '<', $f or next;
            my @r = <$fh>;
            chomp @r;
            # up to its SUMMARY line: the shadow bytes after it say little
            my ($end) = grep { $r[$_] =~ /^SUMMARY:/ } 0 .. $#r;
            $end = $#r if !defined $end || $end > 59;
            push @p, "sanitizer report $f (" . scalar(@r) . ' lines):', map { "  $_" } grep { length } @r[0 .. $end];
        }
        push @p, @{ $h->{stop_problems} // [] };
    }
    return @p;
}

# Stops every httpd this object started and checks their logs, once. In a
# test script the check is a test of its own while the plan is open (no
# plan yet, or done_testing); under a fixed plan only a failure is
# reported. Elsewhere (a benchmark) only a failure is, on stderr.
sub teardown {
    my ($self) = @_;
    return if $self->{checked}++ || $self->{owner_pid} != $$;
    delete $LIVE{ refaddr $self };
    local ($?, $@);
    # Gracefully: an ungraceful stop can crash a child inside httpd itself.
    # The event MPM's close_worker_sockets() (signal_threads(ST_UNGRACEFUL))
    # reads worker_sockets[i] while that worker, closing its connection,
    # destroys the connection's pool, socket and all, and clears the slot
    # only afterwards. A core of httpd 2.4.71 showed exactly that: the main
    # thread's SIGSEGV in apr_os_sock_get() (close_socket_nonblocking), a
    # worker in apr_allocator_destroy() called from inside process_socket(),
    # between its worker_sockets[] store and its NULL. Tests that stop httpd
    # on purpose still do it with SIGTERM, as operators do.
    eval { $self->stop_httpd(graceful => 1) };
    eval { stop_httpd($_, graceful => 1) } for @{ $self->{seconds} // [] };
    eval { $self->stop_redis } if $self->{redis_port};
    return unless grep { $_->{started} } $self, @{ $self->{seconds} // [] };
    my @p = $self->log_problems;
    my $n = @{ $self->{seconds} // [] };
    my $name = "teardown: the error_log of the httpd made at $self->{made_at}" . ($n ? " and of its $n second httpd(s)" : '')
        . ' shows no crash, assertion, sanitizer report or unexpected error';
    my @shown = @p > 80 ? (@p[0 .. 79], '... ' . (@p - 80) . ' more') : @p;
    $self->{log_failed} = @p ? 1 : 0;
    if (test2_is_testing_done() || !(test2_stack()->top->count || defined test2_stack()->top->plan)) {
        return unless @p;
        print STDERR map { "# $_\n" } "not ok - $name", @shown;
        $LATE_FAILURE = 1;
        return;
    }
    my $ctx = context();
    my $plan = $ctx->hub->plan;
    $ctx->ok(!@p, $name, ['the error_log holds lines no expect_log() allows:', @shown])
        if @p || !defined $plan || $plan eq 'NO PLAN';
    $ctx->release;
}

# Every server still up, in the order they were created.
sub teardown_all {
    $_->teardown for sort { $a->{serial} <=> $b->{serial} } grep { defined } values %LIVE;
}

# At done_testing, or at the end of a script that ran tests without it,
# before the plan is printed. (Not test2_add_callback_testing_done: it
# marks the hub active, and a script that runs no test, a benchmark, would
# then exit 255.)
test2_add_callback_post_load(sub { test2_stack()->top->follow_up(\&teardown_all) });
END { teardown_all(); $? ||= 1 if $LATE_FAILURE }

sub DESTROY {
    my ($self) = @_;
    return if $self->{destroyed}++ || ($self->{owner_pid} // 0) != $$;
    local ($?, $@);
    $self->teardown;
    eval { run_or_die("$TOP/scripts/pg.sh", 'destroy', $self->{pgdata}) };
    for my $d ($self->{dir}, map { $_->{dir} } @{ $self->{seconds} // [] }) {
        if ($ENV{INGEST_KEEP}) { print STDERR "# kept $d\n" }
        else { remove_tree($d) }
    }
}

1;
