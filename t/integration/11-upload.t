#!/usr/bin/perl
# The presigned upload (PUT upload_url) and the parse processor: storage
# (content, sha256, tenant directories, no temp files), streaming of large
# and chunked bodies in bounded memory, signatures and expiry, size limits,
# 409 and DELETE, malformed files failing with a line number, monotonic
# progress, upload expiry by the worker, and uploads without a processor.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use Digest::SHA qw(sha256_hex hmac_sha256);
use File::Find qw(find);
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

use constant MiB => 1024 * 1024;

my $UPLOAD_SECRET = 'upload-secret-0123456789abcdef';    # what IngestTest writes to upload.secret
my $UUID = qr/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

# ---------------------------------------------------------------- helpers

# PUT body (a string: Content-Length; a code ref: chunked unless a
# Content-Length header is given) to a path; returns {status, headers, content, json}.
sub put {
    my ($t, $path, $body, %h) = @_;
    my $http = HTTP::Tiny->new(timeout => 120, keep_alive => 0);
    my $res = $http->request('PUT', $t->url($path),
        { headers => { 'Content-Type' => 'application/octet-stream', %h }, content => $body });
    my $r = { status => $res->{status}, headers => $res->{headers}, content => $res->{content} };
    if (($res->{headers}{'content-type'} // '') =~ m{^application/(problem\+)?json} && length $res->{content}) {
        $r->{json} = eval { $IngestTest::JSON->decode($res->{content}) };
    }
    return $r;
}

# A code ref handing out a string in pieces (HTTP::Tiny then sends chunked).
sub pieces {
    my ($data, $size) = @_;
    my $off = 0;
    return sub {
        return undef if $off >= length $data;
        my $s = substr($data, $off, $size);
        $off += length $s;
        return $s;
    };
}

sub job_row {
    my ($t, $id) = @_;
    my $row = $t->psql("SELECT status || '|' || coalesce(content_sha256, '') || '|' || coalesce(storage_path, '')"
        . " || '|' || coalesce(error, '') FROM ingest_jobs WHERE job_id = '$id'");
    return undef unless defined $row && length $row;
    my %r;
    @r{qw(status sha path error)} = split /\|/, $row, 4;
    return \%r;
}
sub job_status { my $r = job_row(@_); return $r ? $r->{status} : '' }

sub status_json {
    my ($t, $tok, $id) = @_;
    return $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
}

# Every file (not directory) under a root, temp files included.
sub files_under {
    my ($root) = @_;
    my @f;
    return () unless -d $root;
    find({ wanted => sub { push @f, $File::Find::name if -f $_ || -l $_ }, no_chdir => 1 }, $root);
    my @s = sort @f;
    return @s;
}
sub stored_files { my ($t) = @_; return files_under("$t->{dir}/storage") }

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return <$fh>;
}

sub file_sha256 {
    my ($path) = @_;
    return '' unless -f $path;
    my $d = Digest::SHA->new(256);
    $d->addfile($path, 'b');
    return $d->hexdigest;
}

sub b64url {
    my $s = MIME::Base64::encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}
use MIME::Base64 ();

# The module's signature: HMAC-SHA256("PUT\n<job>\n<expires>"), base64url.
sub sign_upload {
    my ($job, $expires) = @_;
    return "/api/ingest/upload/$job?expires=$expires&sig=" . b64url(hmac_sha256("PUT\n$job\n$expires", $UPLOAD_SECRET));
}

sub query_of { my ($url) = @_; my ($q) = $url =~ /\?(.*)$/; return $q }

# VmRSS/VmHWM (kB) of every child of httpd's parent process.
sub children_mem {
    my ($t) = @_;
    my $ppid = $t->httpd_pid or return {};
    my %m;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $s = <$fh>;
        close $fh;
        next unless defined $s;
        my ($pid, $pp) = $s =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        next unless $pp == $ppid;
        open my $sf, '<', "/proc/$pid/status" or next;
        my %v = (rss => 0, hwm => 0);
        while (<$sf>) {
            $v{rss} = $1 if /^VmRSS:\s+(\d+)/;
            $v{hwm} = $1 if /^VmHWM:\s+(\d+)/;
        }
        close $sf;
        $m{$pid} = \%v;
    }
    return \%m;
}

# Growth (kB) between two children_mem snapshots: the sum (a child started
# in between counts whole), the largest of one child, and of the children
# present in both the sum of growth and the count.
sub mem_growth {
    my ($before, $after, $key) = @_;
    my ($sum, $max, $old_sum, $new) = (0, 0, 0, 0);
    for my $pid (keys %$after) {
        my $g = $after->{$pid}{$key} - ($before->{$pid} ? $before->{$pid}{$key} : 0);
        $sum += $g;
        $max = $g if $g > $max;
        if ($before->{$pid}) { $old_sum += $g } else { $new++ }
    }
    return ($sum, $max, $old_sum, $new);
}
sub mem_str {
    my ($m) = @_;
    return join(', ', map { "$_: rss $m->{$_}{rss} kB, hwm $m->{$_}{hwm} kB" } sort { $a <=> $b } keys %$m);
}

# A body of exactly $total bytes, generated on the fly in 1 MiB pieces, its
# sha256 and record count kept as it goes: $head first, then $line->($n)
# for record n, the last record of every piece being $pad->($n, $len), a
# line of exactly $len bytes that fills the piece.
sub stream_body {
    my ($total, $head, $line, $pad) = @_;
    die "stream_body: a partial last piece must be at least 4 KiB" if $total % MiB && $total % MiB < 4096;
    my $st = { sent => 0, records => 0, id => 0, sha => Digest::SHA->new(256) };
    $st->{cb} = sub {
        my $left = $total - $st->{sent};
        return undef if $left <= 0;
        my $want = $left < MiB ? $left : MiB;
        my $buf = $st->{sent} == 0 ? $head : '';
        for (;;) {
            my $id = ++$st->{id};
            my $l = $line->($id);
            my $room = $want - length $buf;
            $st->{records}++;
            if ($room - length($l) < 96) {
                $buf .= $pad->($id, $room);
                last;
            }
            $buf .= $l;
        }
        die "stream_body: piece of " . length($buf) . " bytes, wanted $want" unless length $buf == $want;
        $st->{sha}->add($buf);
        $st->{sent} += $want;
        return $buf;
    };
    return $st;
}

# CSV: id,name,amount,comment
sub csv_stream {
    my ($total) = @_;
    return stream_body($total, "id,name,amount,comment\n",
        sub { my $id = shift; "$id,name $id," . ($id * 7 % 100000) . '.' . sprintf('%02d', $id % 100) . ',c' . ('x' x ($id % 37)) . "\n" },
        sub { my ($id, $len) = @_; my $b = "$id,n,0,"; $b . ('p' x ($len - length($b) - 1)) . "\n" });
}

# NDJSON: {"id":N,"name":"user N","value":V}
sub ndjson_stream {
    my ($total) = @_;
    return stream_body($total, '',
        sub { my $id = shift; qq({"id":$id,"name":"user $id","value":) . ($id * 3 % 1000) . qq(,"tags":["a","b"]}\n) },
        sub { my ($id, $len) = @_; my $b = qq({"id":$id,"pad":"); $b . ('p' x ($len - length($b) - 3)) . qq("}\n) });
}

# Polls a job's status every 50 ms until it is terminal; returns the samples.
sub poll_progress {
    my ($t, $tok, $id, $timeout) = @_;
    my @s;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $j = status_json($t, $tok, $id);
        if (!$j) { sleep 0.05; next }
        push @s, [ $j->{status}, $j->{processed_items} // 0, $j->{progress} // 0, $j->{total_items} // 0 ];
        last if $j->{status} eq 'completed' || $j->{status} eq 'failed';
        sleep 0.05;
    }
    return @s;
}

sub monotonic {
    my ($name, @s) = @_;
    my ($bad_items, $bad_pct) = (0, 0);
    for my $i (1 .. $#s) {
        $bad_items++ if $s[$i][1] < $s[ $i - 1 ][1];
        $bad_pct++ if $s[$i][2] < $s[ $i - 1 ][2];
    }
    is($bad_items, 0, "$name: processed_items never decreases") or diag explain \@s;
    is($bad_pct, 0, "$name: progress never decreases") or diag explain \@s;
    my @running = grep { $_->[0] eq 'running' } @s;
    my @between = grep { $_->[1] > 0 && $_->[2] > 0 && $_->[2] < 100 } @running;
    diag sprintf('%s: %d samples, %d while running (processed_items %s)', $name, scalar @s, scalar @running,
        join(' ', map { "$_->[1]/$_->[3]=$_->[2]%" } @running[0 .. ($#running < 9 ? $#running : 9)]));
    return scalar @between;
}

# A server, or a failed test naming why it did not start (the caller then
# returns, and the other servers still run).
sub server {
    my ($name, $extra) = @_;
    my $t = eval { IngestTest->new(extra => $extra) };
    ok($t, "server $name starts") or diag $@;
    return $t;
}

# One server's cases: a case that dies is a failed test, not the end of the file.
sub with_server {
    my ($cases) = @_;
    eval { $cases->(); 1 } or fail("the cases died: $@");
}

my $parse = "IngestProcessor parse\nIngestWorkerInterval 100ms\n";
my $ttl1 = "<Location /api/>\n    IngestUploadTTL 1\n</Location>\n";

# ================================================================ server A: parse
with_server(sub {
    my $t = server('A (IngestProcessor parse)', $parse) or return;
    my $tok = $t->token('acme', 'alice');

    # ---- a small CSV: storage, sha256, ETag, then the parse result
    my $csv = qq(id,name,note\n)
        . qq(1,"Smith, John","said ""hi"", left"\n)
        . qq(2,Jane,"multi\nline, with comma"\n)
        . qq(3,"",plain\n)
        . qq(4,x,y\n);
    my $init = $t->init_job($tok, filename => 'people.csv', file_type => 'csv', file_size => length $csv);
    is($init->{status}, 'pending', 'IngestProcessor parse: init leaves the job pending until its upload');
    like($init->{upload_url}, qr{^/api/ingest/upload/\Q$init->{job_id}\E\?expires=\d+&sig=[A-Za-z0-9_-]{43}$},
        'upload_url is presigned');
    my ($exp) = $init->{upload_url} =~ /expires=(\d+)/;
    is(sign_upload($init->{job_id}, $exp), $init->{upload_url}, 'the test signs upload URLs as the module does');
    my $id = $init->{job_id};
    my $r = put($t, $init->{upload_url}, $csv);
    is($r->{status}, 200, 'PUT upload_url: 200') or diag "$r->{content}\n" . $t->error_log;
    is($r->{json}{status}, 'queued', 'the job is queued');
    is($r->{json}{job_id}, $id, 'the answer is the job');
    is($r->{json}{content_sha256}, sha256_hex($csv), 'content_sha256 is the sha256 of the body');
    is($r->{headers}{etag}, '"' . sha256_hex($csv) . '"', 'ETag is the quoted sha256');
    my $row = job_row($t, $id);
    like($row->{path}, qr{^acme/\Q$id\E\.[0-9a-f]{12}$}, 'storage_path is <tenant>/<job>.<nonce>');
    my $file = "$t->{dir}/storage/$row->{path}";
    ok(-f $file, 'the file is in IngestStorageDir');
    ok(defined slurp($file) && slurp($file) eq $csv, 'byte for byte the body');
    ok(wait_until('no temp files', 3, sub { !grep { m{/\.upload-} } stored_files($t) }), 'no .upload-* temp file left');
    is_deeply([ stored_files($t) ], [$file], 'exactly one file stored');

    ok(wait_until('parse of the small CSV', 15, sub { job_status($t, $id) =~ /^(completed|failed)$/ }),
        'the worker finished the job');
    my $j = status_json($t, $tok, $id);
    is($j->{status}, 'completed', 'completed') or diag "error: " . ($j->{error} // '');
    is($j->{progress}, 100, 'progress 100');
    my $rd = $j->{result_data} // {};
    is($rd->{format}, 'csv', 'result_data.format csv');
    is($rd->{records}, 4, 'records 4 (header excluded, a quoted newline is not a record)');
    is($rd->{lines}, 6, 'lines 6 (the quoted newline counts as a line)');
    is_deeply($rd->{columns}, [qw(id name note)], 'columns from the header');
    is_deeply($rd->{preview}, [
        { id => '1', name => 'Smith, John', note => 'said "hi", left' },
        { id => '2', name => 'Jane', note => "multi\nline, with comma" },
        { id => '3', name => '', note => 'plain' },
    ], 'preview: three records, quotes, commas and newlines decoded') or diag explain $rd->{preview};
    is($rd->{size}, length $csv, 'result_data.size');
    is($rd->{sha256}, sha256_hex($csv), 'result_data.sha256');
    ok(defined $rd->{processing_time_ms} && $rd->{processing_time_ms} >= 0, 'processing_time_ms');
    is($j->{records_processed}, 4, 'records_processed 4');

    # ---- a second upload, then DELETE
    $r = put($t, $init->{upload_url}, $csv);
    is($r->{status}, 409, 'a second upload of a finished job: 409');
    is($r->{json}{type}, 'urn:mod-ingest:problem:already-uploaded', '... type already-uploaded');
    ok(slurp($file) eq $csv, 'the stored file is untouched');
    ok(wait_until('no temp files', 3, sub { !grep { m{/\.upload-} } stored_files($t) }), '... and no temp file left');
    $r = $t->request('DELETE', "/api/ingest/$id", token => $tok);
    is($r->{status}, 204, 'DELETE of an uploaded job: 204');
    ok(!-e $file, 'the stored file is gone');
    is_deeply([ stored_files($t) ], [], 'storage is empty');
    is(put($t, $init->{upload_url}, $csv)->{status}, 404, 'its upload URL now answers 404');
    my $ghost = '0b7e1c2a-1111-4222-8333-444455556666';
    $r = put($t, sign_upload($ghost, int(time) + 600), 'x' x 10);
    is($r->{status}, 404, 'a validly signed URL for an unknown job: 404');
    is_deeply([ stored_files($t) ], [], 'nothing stored for it');

    # ---- chunked: ~5 MB of NDJSON
    my @nd;
    my $ndjson = '';
    for my $n (1 .. 120000) {
        my $l = qq({"id":$n,"name":"user $n","value":) . ($n * 3 % 1000) . ($n % 50 ? '' : qq(,"note":"every 50th")) . "}\n";
        $ndjson .= $l;
        push @nd, $n if $n <= 3;
    }
    $ndjson .= "\n";    # a blank last line is skipped
    my $nd_size = length $ndjson;
    cmp_ok($nd_size, '>', 4 * MiB, sprintf('NDJSON body of %.1f MB', $nd_size / 1e6));
    $init = $t->init_job($tok, filename => 'events.ndjson', file_type => 'ndjson', file_size => $nd_size);
    my $t0 = time;
    $r = put($t, $init->{upload_url}, pieces($ndjson, 50000));
    my $nd_secs = time - $t0;
    is($r->{status}, 200, 'chunked NDJSON upload: 200') or diag $r->{content};
    is($r->{json}{content_sha256}, sha256_hex($ndjson), 'content_sha256 of the chunked body');
    $row = job_row($t, $init->{job_id});
    is(-s "$t->{dir}/storage/$row->{path}", $nd_size, 'stored size equals the body');
    ok(wait_until('NDJSON parse', 30, sub { job_status($t, $init->{job_id}) =~ /^(completed|failed)$/ }),
        'NDJSON job finished');
    $j = status_json($t, $tok, $init->{job_id});
    is($j->{status}, 'completed', 'NDJSON completed') or diag "error: " . ($j->{error} // '');
    $rd = $j->{result_data} // {};
    is($rd->{format}, 'ndjson', 'format ndjson');
    is($rd->{records}, 120000, 'records 120000 (the blank line skipped)');
    is_deeply([ sort @{ $rd->{keys} // [] } ], [qw(id name note value)], 'keys: the union over the first 100 records');
    is_deeply($rd->{preview}, [ map { { id => $_, name => "user $_", value => $_ * 3 % 1000 } } @nd ],
        'preview: the first three records');
    diag sprintf('chunked NDJSON: %.1f MB uploaded in %.2f s; parsed in %s ms', $nd_size / 1e6, $nd_secs,
        $rd->{processing_time_ms} // '?');

    # ---- 100 MB streamed, memory of the children before and after
    my $big = 100 * MiB;
    my $mem0 = children_mem($t);
    $init = $t->init_job($tok, filename => 'big.csv', file_type => 'csv', file_size => $big);
    my $gen = csv_stream($big);
    $t0 = time;
    $r = put($t, $init->{upload_url}, $gen->{cb}, 'Content-Length' => $big);
    my $up_secs = time - $t0;
    my $big_sha = $gen->{sha}->hexdigest;
    is($gen->{sent}, $big, 'the generator produced exactly 100 MiB');
    is($r->{status}, 200, '100 MiB streamed upload: 200') or diag "$r->{content}\n" . $t->error_log;
    is($r->{json}{content_sha256}, $big_sha, 'content_sha256 equals the digest computed while generating');
    my $mem1 = children_mem($t);
    my @samples = poll_progress($t, $tok, $init->{job_id}, 90);
    my $mem2 = children_mem($t);
    $row = job_row($t, $init->{job_id});
    my $big_file = "$t->{dir}/storage/$row->{path}";
    is(-s $big_file, $big, 'stored size 104857600');
    is(file_sha256($big_file), $big_sha, 'stored sha256 equals the digest');
    $j = status_json($t, $tok, $init->{job_id});
    is($j->{status}, 'completed', '100 MiB CSV parsed to completion') or diag "error: " . ($j->{error} // '');
    is($j->{result_data}{records}, $gen->{records}, "records $gen->{records}");
    is_deeply($j->{result_data}{columns}, [qw(id name amount comment)], 'columns');
    is($j->{progress}, 100, 'progress 100');
    my $between = monotonic('100 MiB parse', @samples);
    SKIP: {
        skip "the parse took only $j->{result_data}{processing_time_ms} ms: too fast to catch a progress update", 1
            if ($j->{result_data}{processing_time_ms} // 0) < 400;
        cmp_ok($between, '>', 0, 'progress between 0 and 100 was reported while the 100 MiB file was parsed');
    }
    my ($up_sum, $up_max, $up_old, $up_new) = mem_growth($mem0, $mem1, 'rss');
    my ($all_sum, $all_max, $all_old, $all_new) = mem_growth($mem0, $mem2, 'rss');
    my ($hwm_sum, $hwm_max) = mem_growth($mem0, $mem2, 'hwm');
    my $ptm = $j->{result_data}{processing_time_ms};
    diag sprintf('100 MiB upload (status %s): %.2f s, %.0f MB/s including the generation; parse: %s', $r->{status},
        $up_secs, $big / 1e6 / $up_secs,
        $ptm ? sprintf('%d ms, %.0f MB/s, %d records', $ptm, $big / 1e6 / ($ptm / 1000), $gen->{records}) : 'none');
    diag "children before: " . mem_str($mem0);
    diag "children after upload: " . mem_str($mem1);
    diag "children after parse: " . mem_str($mem2);
    diag sprintf('RSS growth, children started meanwhile counted whole: upload %d kB (max one child %d kB); '
        . 'upload+parse %d kB (max one child %d kB); peak (VmHWM) %d kB (max one child %d kB)',
        $up_sum, $up_max, $all_sum, $all_max, $hwm_sum, $hwm_max);
    diag sprintf('RSS growth of the children present before: upload %d kB, upload+parse %d kB; children started meanwhile: %d, %d',
        $up_old, $all_old, $up_new, $all_new);
    cmp_ok($up_sum, '<', 64 * 1024, 'children RSS grew by less than 64 MiB for the 100 MiB upload');
    cmp_ok($all_sum, '<', 64 * 1024, 'and by less than 64 MiB once it was parsed');
    $t->request('DELETE', "/api/ingest/$init->{job_id}", token => $tok);
    ok(!-e $big_file, 'the 100 MiB file deleted with its job');

    # ---- progress only grows: 30 MiB of NDJSON (CSV parses too fast here
    # to see the 250 ms progress updates)
    my $mid = 30 * MiB;
    $init = $t->init_job($tok, filename => 'mid.ndjson', file_type => 'ndjson', file_size => $mid);
    $gen = ndjson_stream($mid);
    $r = put($t, $init->{upload_url}, $gen->{cb});
    is($r->{status}, 200, '30 MiB chunked NDJSON upload: 200') or diag $r->{content};
    is($r->{json}{content_sha256}, $gen->{sha}->hexdigest, 'content_sha256');
    @samples = poll_progress($t, $tok, $init->{job_id}, 60);
    $j = status_json($t, $tok, $init->{job_id});
    is($samples[-1][0], 'completed', '30 MiB NDJSON completed') or diag "error: " . ($j->{error} // '');
    is($samples[-1][2], 100, 'ends at progress 100');
    is($samples[-1][1], $gen->{records}, "processed_items ends at the record count ($gen->{records})");
    is($j->{result_data}{records}, $gen->{records}, 'result_data.records');
    $between = monotonic('30 MiB NDJSON parse', @samples);
    SKIP: {
        skip "the parse took only $j->{result_data}{processing_time_ms} ms: too fast to catch a progress update", 1
            if ($j->{result_data}{processing_time_ms} // 0) < 400;
        cmp_ok($between, '>', 0, 'progress between 0 and 100 was seen while it was parsed');
    }
    diag sprintf('30 MiB NDJSON: parsed in %s ms, %d records', $j->{result_data}{processing_time_ms} // '?', $gen->{records});
    $t->request('DELETE', "/api/ingest/$init->{job_id}", token => $tok);

    # ---- signatures: 403, the job unchanged, nothing stored
    my $body = "a,b\n1,2\n";
    my $ja = $t->init_job($tok, filename => 'a.csv', file_size => length $body);
    my $jb = $t->init_job($tok, filename => 'b.csv', file_size => length $body);
    my ($ea, $sa) = $ja->{upload_url} =~ /expires=(\d+)&sig=(.*)$/;
    my $sa_bad = $sa;
    substr($sa_bad, 10, 1) = substr($sa, 10, 1) eq 'A' ? 'B' : 'A';
    my @files_before = stored_files($t);
    my @tamper = (
        ["/api/ingest/upload/$ja->{job_id}?expires=$ea&sig=$sa_bad", 'altered sig'],
        ["/api/ingest/upload/$ja->{job_id}?expires=" . ($ea + 1) . "&sig=$sa", 'altered expires'],
        ["/api/ingest/upload/$ja->{job_id}?expires=" . ($ea - 1) . "&sig=$sa", 'earlier expires'],
        ["/api/ingest/upload/$jb->{job_id}?" . query_of($ja->{upload_url}), "another job's signature"],
        ["/api/ingest/upload/$ja->{job_id}?expires=$ea", 'missing sig'],
        ["/api/ingest/upload/$ja->{job_id}?sig=$sa", 'missing expires'],
        ["/api/ingest/upload/$ja->{job_id}", 'no query'],
        ["/api/ingest/upload/$ja->{job_id}?expires=$ea&sig=", 'empty sig'],
        ["/api/ingest/upload/$ja->{job_id}?expires=abc&sig=$sa", 'expires not a number'],
        ["/api/ingest/upload/$ja->{job_id}?expires=$ea&sig=" . substr($sa, 0, 42), 'truncated sig'],
    );
    for my $c (@tamper) {
        my ($url, $name) = @$c;
        $r = put($t, $url, $body);
        is($r->{status}, 403, "$name: 403");
        is($r->{json}{type}, 'urn:mod-ingest:problem:bad-signature', "$name: type bad-signature");
    }
    is(job_status($t, $ja->{job_id}), 'pending', 'the tampered-with job is still pending');
    is(job_status($t, $jb->{job_id}), 'pending', 'the other job is still pending');
    is(job_row($t, $ja->{job_id})->{sha}, '', 'no content_sha256 recorded');
    is_deeply([ stored_files($t) ], \@files_before, 'no file stored by a refused upload');
    $r = put($t, $jb->{upload_url}, $body);
    is($r->{status}, 200, 'the genuine URL still works afterwards');

    # ---- malformed files fail the job with a line number
    my @malformed = (
        ['csv', "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n", qr/^line 4\b/, 'CSV with two fields on line 4'],
        ['json', qq([\n  {"a": 1},\n  {"a": 2,, "b": 3},\n  {"a": 4}\n]\n), qr/^line 3, column \d+: \S/, 'JSON syntax error on line 3'],
        ['ndjson', qq({"a":1}\n{"a":2\n{"a":3}\n), qr/^line 2\b/, 'NDJSON with a bad line 2'],
    );
    my @mids;
    for my $m (@malformed) {
        my ($ft, $data) = @$m;
        my $ji = $t->init_job($tok, filename => "bad.$ft", file_type => $ft, file_size => length $data);
        is(put($t, $ji->{upload_url}, $data)->{status}, 200, "$m->[3]: uploaded");
        push @mids, $ji->{job_id};
    }
    ok(wait_until('malformed jobs', 20, sub { !grep { job_status($t, $_) !~ /^(completed|failed)$/ } @mids }),
        'the malformed jobs finished');
    for my $i (0 .. $#malformed) {
        my $mj = status_json($t, $tok, $mids[$i]);
        is($mj->{status}, 'failed', "$malformed[$i][3]: failed");
        like($mj->{error} // '', $malformed[$i][2], "$malformed[$i][3]: error names the place")
            or diag "error: " . ($mj->{error} // 'none');
        note "$malformed[$i][3]: " . ($mj->{error} // '');
    }

    # ---- a tenant id with '/' and '..'
    my $evil = $t->token('../evil/x', 'mallory');
    $init = $t->init_job($evil, filename => 'e.csv', file_size => length $body);
    $r = put($t, $init->{upload_url}, $body);
    is($r->{status}, 200, "tenant '../evil/x': upload 200") or diag $r->{content};
    $row = job_row($t, $init->{job_id});
    like($row->{path}, qr{^%2e%2e%2fevil%2fx/\Q$init->{job_id}\E\.[0-9a-f]{12}$}i,
        'stored under a %2E%2E%2F-encoded tenant directory');
    ok(-f "$t->{dir}/storage/$row->{path}", 'the file is inside IngestStorageDir');
    ok(!-e "$t->{dir}/evil", 'nothing at <storage>/../evil');
    my @outside = grep { !m{^\Q$t->{dir}\E/(pg|storage)/} && /evil|\Q$init->{job_id}\E/ } files_under($t->{dir});
    is_deeply(\@outside, [], 'no file of that job outside storage');
    is_deeply([ grep { m{/evil/} } stored_files($t) ], [], 'no literal evil/ directory inside storage either');
    ok(wait_until('evil job parsed', 15, sub { job_status($t, $init->{job_id}) eq 'completed' }),
        'the job of that tenant is parsed from its encoded directory');

});

# ================================================================ server B: limits, and no processor
with_server(sub {
    my $t = server('B (IngestMaxUploadSize 1K, no processor)', "<Location /api/>\n    IngestMaxUploadSize 1K\n</Location>\n") or return;
    my $tok = $t->token('lim', 'u1');
    my @jobs;
    my $check_untouched = sub {
        my ($id, $name) = @_;
        my $row = job_row($t, $id);
        is($row->{status}, 'pending', "$name: job still pending");
        is($row->{sha} . $row->{path}, '', "$name: no sha256 or storage_path recorded");
        my @now = stored_files($t);
        diag "$name: right after the answer storage still held: @now" if @now;
        ok(wait_until("$name: storage empty", 3, sub { !stored_files($t) }), "$name: no file or temp file in storage")
            or diag join("\n", stored_files($t));
    };

    # Content-Length over the maximum: refused before the body is sent
    my $j = $t->init_job($tok, filename => 'l.csv', file_size => 1000);
    my $t0 = time;
    my ($st, $resp) = $t->raw("PUT $j->{upload_url} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" . ('a' x 100), 1);
    my $secs = time - $t0;
    is($st, 413, 'Content-Length 5000 over IngestMaxUploadSize 1K: 413') or diag $resp;
    like($resp, qr/urn:mod-ingest:problem:upload-too-large/, '... upload-too-large');
    cmp_ok($secs, '<', 5, sprintf('... answered at once (%.2f s) without the rest of the body', $secs));
    $check_untouched->($j->{job_id}, 'Content-Length over max');

    # a chunked body passing the maximum
    $j = $t->init_job($tok, filename => 'l.csv', file_size => 1024);
    my $r = put($t, $j->{upload_url}, pieces('b' x 3000, 512));
    is($r->{status}, 413, 'chunked body passing 1K: 413') or diag $r->{content};
    is($r->{json}{type}, 'urn:mod-ingest:problem:upload-too-large', '... upload-too-large');
    $check_untouched->($j->{job_id}, 'chunked over max');

    # sizes other than the declared file_size
    $j = $t->init_job($tok, filename => 'l.csv', file_size => 500);
    for my $c ([400, 'shorter'], [600, 'longer']) {
        $r = put($t, $j->{upload_url}, 'c' x $c->[0]);
        is($r->{status}, 422, "Content-Length $c->[0] $c->[1] than file_size 500: 422") or diag $r->{content};
        is($r->{json}{type}, 'urn:mod-ingest:problem:size-mismatch', '... size-mismatch');
        $check_untouched->($j->{job_id}, "Content-Length $c->[1]");
    }
    for my $c ([800, 'longer'], [300, 'shorter'], [499, 'one byte short'], [501, 'one byte long']) {
        $r = put($t, $j->{upload_url}, pieces('d' x $c->[0], 100));
        is($r->{status}, 422, "chunked body $c->[1] ($c->[0]) than file_size 500: 422") or diag $r->{content};
        is($r->{json}{type}, 'urn:mod-ingest:problem:size-mismatch', '... size-mismatch');
        $check_untouched->($j->{job_id}, "chunked $c->[1]");
    }

    # the client goes away mid-body
    ($st, $resp) = $t->raw("PUT $j->{upload_url} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" . ('e' x 200));
    note "client gone after 200 of 500 bytes: " . ($st // 'no answer');
    $check_untouched->($j->{job_id}, 'client gone mid-body');

    # and then the right size succeeds, with no worker to take it
    my $data = 'f' x 500;
    $r = put($t, $j->{upload_url}, pieces($data, 128));
    is($r->{status}, 200, 'exactly file_size bytes, chunked: 200') or diag $r->{content};
    is($r->{json}{status}, 'queued', 'IngestProcessor none: the uploaded job is queued');
    is($r->{json}{content_sha256}, sha256_hex($data), 'content_sha256');
    my @f = stored_files($t);
    is(scalar @f, 1, 'one file stored');
    ok(@f && slurp($f[0]) eq $data, 'with the body');
    is(put($t, $j->{upload_url}, $data)->{status}, 409, 'a second upload of a queued job: 409');
    sleep 1.5;
    is(job_status($t, $j->{job_id}), 'queued', 'without a worker it stays queued');
    is(scalar(stored_files($t)), 1, 'the refused second upload left nothing');
});

# ================================================================ server C: upload expiry by the worker
with_server(sub {
    my $t = server('C (IngestProcessor parse, IngestUploadTTL 1)', $parse . $ttl1) or return;
    my $tok = $t->token('exp', 'u1');
    my $j = $t->init_job($tok, filename => 'never.csv', file_size => 10);
    is($j->{status}, 'pending', 'pending');
    my $t0 = time;
    ok(wait_until('upload expiry', 8, sub { job_status($t, $j->{job_id}) eq 'failed' }),
        'a job never uploaded fails once IngestUploadTTL 1 passed');
    diag sprintf('failed %.1f s after init', time - $t0);
    my $sj = status_json($t, $tok, $j->{job_id});
    like($sj->{error} // '', qr/^upload expired/, 'error: upload expired');
    ok(defined $sj->{completed_at}, 'completed_at set');
    like($t->error_log, qr/IG00411: worker: 1 pending job\(s\) failed: their upload window closed/, 'logged');
    my $r = put($t, $j->{upload_url}, 'x' x 10);
    like($r->{status}, qr/^(403|409)$/, "a late upload is refused ($r->{status})");
    is(job_status($t, $j->{job_id}), 'failed', 'the job stays failed');
    is_deeply([ stored_files($t) ], [], 'nothing stored');
});

# ================================================================ server D: an expired URL, no worker
with_server(sub {
    my $t = server('D (IngestUploadTTL 1, no processor)', $ttl1) or return;
    my $tok = $t->token('late', 'u1');
    my $t0 = time;
    my $j = $t->init_job($tok, filename => 'late.csv', file_size => 10);
    my $edge = $t->init_job($tok, filename => 'edge.csv', file_size => 10);

    # the URL must stop working when the job's expires_at passes, not up to
    # a second and a half later (expires= is rounded, then compared in whole seconds)
    my ($E) = $edge->{upload_url} =~ /expires=(\d+)/;
    my ($Y, $M, $D, $h, $m, $sec, $ms) = $edge->{expires_at} =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z$/;
    my $exp_at = timegm($sec, $m, $h, $D, $M - 1, $Y) + $ms / 1000;
    sleep($exp_at + 0.15 - time) if time < $exp_at + 0.15;
    my $r = put($t, $edge->{upload_url}, 'x' x 10);
    is($r->{status}, 403, sprintf('an upload 0.15 s after expires_at (%s; expires=%d in the URL) is refused: 403',
        $edge->{expires_at}, $E)) or diag sprintf('answered %s at %.3f, %.3f s after expires_at: %s', $r->{status}, time,
        time - $exp_at, $r->{content});
    is(job_status($t, $edge->{job_id}), 'pending', '... and the job is still pending');

    # well past it (expires= rounds up by at most 0.5 s, then counts in whole seconds)
    sleep($t0 + 2.7 - time) if time < $t0 + 2.7;
    $r = put($t, $j->{upload_url}, 'x' x 10);
    is($r->{status}, 403, 'an upload after the URL expired: 403');
    like($r->{json}{detail} // '', qr/expired/, '... saying it expired');
    is(job_status($t, $j->{job_id}), 'pending', 'the job is unchanged (pending, no worker)');
    is_deeply([ grep { /\Q$j->{job_id}\E/ } stored_files($t) ], [], 'nothing stored for it');
});

done_testing;
