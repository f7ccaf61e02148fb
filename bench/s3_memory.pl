#!/usr/bin/perl
# S3 memory: a generated CSV of SIZE bytes (default 1 GiB, ~100-byte rows)
# is uploaded to a real httpd whose IngestStorage is an S3 bucket (s3rver
# behind the SigV4-checking proxy of t/lib/IngestS3.pm, as in
# t/integration/32-storage.t), as one chunked PUT generated on the fly; then
# parsed (the worker's ranged GETs) and landed in ingest_records. The
# ceiling: the same bytes sent by this script straight to the proxy as a
# multipart upload in parts of the module's size (8 MiB), one at a time.
# Prints per phase the time, MiB/s, records/s and the largest growth of
# any httpd child over the phase: of its resident memory (VmRSS, sampled
# every 200 ms) and of its peak (VmHWM, exact). The bar: under 32 MiB for
# a 1 GiB upload (it holds one part), and bounded for the parse (one part
# plus a batch of records). ratio: the module's upload time over the
# ceiling's. The upload runs under IngestProcessor none; httpd is then
# restarted with parse (fresh children, measured before the job is due).
#   perl bench/s3_memory.pl [SIZE]   (bytes; default 1073741824, 1 MiB..4 GiB)
# Loopback only, PostgreSQL without fsync; bounded: dies after 3600 s.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IngestTest;
use IngestS3;
use IngestMemory qw(children_memory);
use HTTP::Tiny;
use IO::Select;
use POSIX ();
use Time::HiRes qw(time sleep);

use constant MiB => 1024 * 1024;
use constant PART => 8 * MiB;    # IngestS3PartSize's default, which the module runs with here

my $size = shift // 1024 * MiB;
die "SIZE must be a number of bytes, 1048576..4294967296\n"
    unless $size =~ /^\d+$/ && $size >= MiB && $size <= 4096 * MiB;
$SIG{ALRM} = sub { die "s3_memory: over 3600 s, giving up\n" };
alarm 3600;

# ---------------------------------------------------------------- the CSV
# Two 1 MiB blocks of whole rows, built once: the first with the header.
# Every piece is one of them (ids repeat every MiB), the last one cut at a
# row and padded with blank lines (which the parser skips).
my @cities = qw(Lisbon Porto Berlin Paris Oslo Rome Madrid Vienna);
sub row {
    my ($n, $name) = @_;
    return join(',', $n, $name // "customer number $n", "customer.number$n\@example.com", $cities[ $n % 8 ],
        sprintf('%d.%02d', $n % 1000, $n % 100), $n % 97, sprintf('2026-%02d-%02d', $n % 12 + 1, $n % 28 + 1),
        $n % 3 ? 'true' : 'false') . "\n";
}
sub block {
    my ($head) = @_;
    my ($b, $n) = ($head, 0);
    while (MiB - length($b) - length(row($n + 1)) >= 200) { $b .= row(++$n) }
    my $short = row(++$n, '');
    $b .= row($n, 'p' x (MiB - length($b) - length $short));
    return ($b, $n);
}
my ($B0, $rows0) = block("id,name,email,city,amount,qty,day,active\n");
my ($B1, $rows1) = block('');
die "block sizes\n" unless length($B0) == MiB && length($B1) == MiB;

# A code ref handing out the SIZE bytes in 1 MiB pieces, and the rows sent.
sub csv_pieces {
    my $st = { sent => 0, rows => 0 };
    $st->{cb} = sub {
        my $left = $size - $st->{sent};
        return undef if $left <= 0;
        my ($b, $rows) = $st->{sent} ? ($B1, $rows1) : ($B0, $rows0);
        if ($left < MiB) {
            $b = substr $b, 0, $left;
            my $cut = rindex($b, "\n") + 1;
            substr($b, $cut) = "\n" x ($left - $cut);
            $rows = (substr($b, 0, $cut) =~ tr/\n//) - ($st->{sent} ? 0 : 1);
        }
        $st->{sent} += length $b;
        $st->{rows} += $rows;
        return $b;
    };
    return $st;
}

# ---------------------------------------------------------------- memory
# A forked sampler of every httpd child's VmRSS and VmHWM every 200 ms,
# until stopped; stop returns { pid => [peak rss, last hwm] } (KiB).
sub sampler {
    my ($t) = @_;
    pipe(my $stop_r, my $stop_w) or die $!;
    pipe(my $res_r, my $res_w) or die $!;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $stop_w;
        close $res_r;
        my %peak;
        my $sel = IO::Select->new($stop_r);
        my $deadline = time + 3600;
        while (1) {
            my $m = children_memory($t);
            for (keys %$m) {
                my $p = $peak{$_} //= [ 0, 0 ];
                $p->[0] = $m->{$_}{rss} if $m->{$_}{rss} > $p->[0];
                $p->[1] = $m->{$_}{hwm} if $m->{$_}{hwm} > $p->[1];
            }
            last if $sel->can_read(0.2) || time > $deadline;
        }
        syswrite $res_w, join('', map { "$_ $peak{$_}[0] $peak{$_}[1]\n" } keys %peak);
        POSIX::_exit(0);
    }
    close $stop_r;
    close $res_w;
    return sub {
        close $stop_w;
        my %peak;
        while (my $l = <$res_r>) { $peak{$1} = [ $2, $3 ] if $l =~ /^(\d+) (\d+) (\d+)$/ }
        waitpid $pid, 0;
        return \%peak;
    };
}

# The largest growth (KiB) of any child's RSS and HWM from $before to
# $peak; a child born meanwhile is measured from the smallest of $before.
sub growth {
    my ($what, $before, $peak) = @_;
    my ($rss0) = sort { $a <=> $b } map { $_->{rss} } values %$before;
    my ($hwm0) = sort { $a <=> $b } map { $_->{hwm} } values %$before;
    my ($gr, $gh) = (0, 0);
    for my $pid (sort { $a <=> $b } keys %$peak) {
        my ($r0, $h0) = $before->{$pid} ? @{ $before->{$pid} }{qw(rss hwm)} : ($rss0 // 0, $hwm0 // 0);
        my ($r, $h) = @{ $peak->{$pid} };
        printf "# %-7s child %d%s: RSS %d -> peak %d KiB, HWM %d -> %d KiB\n", $what, $pid,
            $before->{$pid} ? '' : ' (new)', $r0, $r, $h0, $h;
        $gr = $r - $r0 if $r - $r0 > $gr;
        $gh = $h - $h0 if $h - $h0 > $gh;
    }
    return ($gr / 1024, $gh / 1024);
}

# ---------------------------------------------------------------- servers
my $s3 = IngestS3->new(bucket => 'ingest-bench');
my $prefix = 'in/bench';
my $storage = "IngestStorage s3://ingest-bench/$prefix/\nIngestS3Endpoint " . $s3->endpoint . "\n"
    . "IngestS3Credentials file:" . $s3->credentials_file . "\nIngestS3PathStyle On\n"
    . "<Location /api/>\nIngestMaxUploadSize 8G\n</Location>\n";
my $t = IngestTest->new(log_level => 'warn', extra => "IngestProcessor none\n$storage");
my $tok = $t->token('bench', 'u');

# ---------------------------------------------------------------- ceiling
my $key = 'ceiling/bench.csv';
my $t0 = time;
my $r = $s3->request(POST => $key, query => 'uploads=');
my ($upload_id) = ($r->{content} // '') =~ m{<UploadId>([^<]+)</UploadId>};
die "ceiling: initiate answered $r->{status}: $r->{content}\n" unless $r->{status} == 200 && $upload_id;
my $gen = csv_pieces();
my @etags;
while (1) {
    my $part = '';
    while (length $part < PART) { my $p = $gen->{cb}->() // last; $part .= $p }
    last unless length $part;
    $r = $s3->request(PUT => $key, query => 'partNumber=' . (@etags + 1) . "&uploadId=$upload_id", body => $part);
    die "ceiling: part " . (@etags + 1) . " answered $r->{status}: $r->{content}\n" unless $r->{status} == 200;
    push @etags, $r->{headers}{etag};
}
$r = $s3->request(POST => $key, query => "uploadId=$upload_id", body => '<CompleteMultipartUpload>'
    . join('', map { '<Part><PartNumber>' . ($_ + 1) . "</PartNumber><ETag>$etags[$_]</ETag></Part>" } 0 .. $#etags)
    . '</CompleteMultipartUpload>');
die "ceiling: complete answered $r->{status}: $r->{content}\n" unless $r->{status} == 200 && $r->{content} !~ /<Error>/;
my $ceiling = time - $t0;
my $got = -s $s3->_object_file($key) // 0;
die "ceiling: the object is $got bytes, not $size\n" unless $got == $size;
$s3->request(DELETE => $key);

# ---------------------------------------------------------------- upload
$s3->clear_requests;
my $job = $t->init_job($tok, filename => 'bench.csv', file_type => 'csv', file_size => $size);
sleep 0.5;
my $before = children_memory($t);
my $stop = sampler($t);
$gen = csv_pieces();
$t0 = time;
my $res = HTTP::Tiny->new(timeout => 300, keep_alive => 0)->request('PUT', $t->url($job->{upload_url}),
    { headers => { 'Content-Type' => 'text/csv' }, content => $gen->{cb} });
my $upload = time - $t0;
my ($up_rss, $up_hwm) = growth('upload', $before, $stop->());
die "upload answered $res->{status}: " . substr($res->{content} // '', 0, 300) . "\n" unless $res->{status} == 200;
my $path = $t->psql("SELECT storage_path FROM ingest_jobs WHERE job_id = '$job->{job_id}'");
$got = -s $s3->_object_file("$prefix/$path") // 0;
die "upload: the object $prefix/$path is $got bytes, not $size\n" unless $got == $size;
my @reqs = @{ $s3->requests };
my $parts = grep { ($_->{query} // '') =~ /^partNumber=\d+&uploadId=/ } @reqs;
my $unsigned = grep { !$_->{signature_ok} } @reqs;

# ---------------------------------------------------------------- parse
# httpd again with the worker, the job due in 5 s: the fresh children are
# measured once settled, before the worker takes it.
$t->stop_httpd;
$t->{extra} = "IngestProcessor parse\nIngestWorkerInterval 100ms\n$storage";
$t->psql("UPDATE ingest_jobs SET due_at = now() + interval '5 seconds' WHERE job_id = '$job->{job_id}'");
$t->start_httpd;
sleep 3;
$s3->clear_requests;
$before = children_memory($t);
my $measured = $t->psql("SELECT now()");
$stop = sampler($t);
my $st;
my $deadline = time + 3000;
while (time < $deadline) {
    $st = $t->request('GET', "/api/ingest/status/$job->{job_id}", token => $tok)->{json};
    last if $st && ($st->{status} // '') =~ /^(completed|failed)$/;
    sleep 0.2;
}
my ($pa_rss, $pa_hwm) = growth('parse', $before, $stop->());
die "the job did not complete: " . ($st ? "$st->{status} " . ($st->{error} // '') : 'no status') . "\n"
    unless $st && $st->{status} eq 'completed';
my ($parse, $late) = split /\|/, $t->psql("SELECT extract(epoch FROM completed_at - started_at), started_at > '$measured'"
    . " FROM ingest_jobs WHERE job_id = '$job->{job_id}'");
warn "# the parse started before its baseline was measured\n" unless $late eq 't';
my $records = $st->{result_data}{records} // 0;
my $stored = $t->psql("SELECT count(*) FROM ingest_records WHERE job_id = '$job->{job_id}'");
my @gets = grep { $_->{method} eq 'GET' && $_->{path} =~ m{\Q$path\E$} } @{ $s3->requests };
$unsigned += grep { !$_->{signature_ok} } @{ $s3->requests };

# ---------------------------------------------------------------- table
my $mib = $size / MiB;
printf "\n%-8s %9s %9s %9s %11s %13s %13s\n", 'phase', 'MiB', 'seconds', 'MiB/s', 'records/s', 'child RSS +MiB',
    'child HWM +MiB';
printf "%-8s %9.1f %9.2f %9.1f %11s %13s %13s\n", 'ceiling', $mib, $ceiling, $mib / $ceiling, '-', '-', '-';
printf "%-8s %9.1f %9.2f %9.1f %11s %13.1f %13.1f\n", 'upload', $mib, $upload, $mib / $upload, '-', $up_rss, $up_hwm;
printf "%-8s %9.1f %9.2f %9.1f %11.0f %13.1f %13.1f\n", 'parse', $mib, $parse, $mib / $parse, $records / $parse,
    $pa_rss, $pa_hwm;
printf "\nratio (upload / ceiling): %.2f\n", $upload / $ceiling;
printf "upload: %d parts of %d MiB (the ceiling: %d); parse: %d ranged GETs; records %d of %d sent, %d in ingest_records;"
    . " requests with a bad signature: %d\n", $parts, PART / MiB, scalar @etags, scalar @gets, $records, $gen->{rows},
    $stored, $unsigned;
print "child +MiB: the largest growth of an httpd child over the phase (RSS: its peak sample; HWM: exact).\n";
$t->teardown;
