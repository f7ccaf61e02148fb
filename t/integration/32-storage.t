#!/usr/bin/perl
# The storage backends (IngestStorage), each test run against both: a
# directory (file:) and an S3 bucket (s3rver behind a proxy that checks
# every request's AWS Signature V4, t/lib/IngestS3.pm). Uploads small and
# of 100 MiB chunked (S3: a multipart upload), one cut off mid-body
# (nothing left behind; S3: its multipart upload aborted), the parse, a
# records ingestion, DELETE, retention, a missing file, and S3 stopped: an
# upload answers 503 with Retry-After and keeps nothing, the worker gives
# the job back without counting an attempt, and both recover.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Find ();
use File::Temp ();
use HTTP::Tiny;
use IngestTest qw(wait_until problem_ok);
use IngestS3;

use constant MiB => 1024 * 1024;

my $PREFIX = 'in/test';

sub put {
    my ($t, $path, $body) = @_;
    my $res = HTTP::Tiny->new(timeout => 120, keep_alive => 0)
        ->request('PUT', $t->url($path), { headers => { 'Content-Type' => 'application/octet-stream' }, content => $body });
    my $r = { status => $res->{status}, headers => $res->{headers}, content => $res->{content} };
    $r->{json} = eval { $IngestTest::JSON->decode($res->{content}) } if ($res->{content} // '') =~ /^\{/;
    return $r;
}

# A code ref handing out $total bytes of CSV in 1 MiB pieces (HTTP::Tiny
# sends it chunked), with the rows it holds and its SHA-256 once sent.
sub csv_pieces {
    my ($total) = @_;
    my $st = { sent => 0, rows => 0, sha => Digest::SHA->new(256) };
    $st->{cb} = sub {
        my $left = $total - $st->{sent};
        return undef if $left <= 0;
        my $want = $left < MiB ? $left : MiB;
        my $buf = $st->{sent} ? '' : "id,name,amount\n";
        while (length($buf) + 40 < $want) {
            my $id = ++$st->{rows};
            $buf .= "$id,name $id," . ($id % 1000) . "\n";
        }
        my $pad = $want - length($buf);
        $st->{rows}++, $buf .= "0," . ('p' x ($pad - 5)) . ",0\n" if $pad >= 6;
        $buf .= "\n" x ($want - length $buf);    # blank lines are skipped
        $st->{sha}->add($buf);
        $st->{sent} += $want;
        return $buf;
    };
    return $st;
}

sub backend_run {
    my ($kind) = @_;
    my ($s3, $extra) = (undef, "IngestProcessor parse\nIngestWorkerInterval 100ms\nIngestRetention 1\n");
    if ($kind eq 's3') {
        $s3 = IngestS3->new(dir => File::Temp::tempdir('ingest-s3-XXXXXX', TMPDIR => 1, CLEANUP => 1),
            bucket => 'ingest-test');
        $extra .= "IngestStorage s3://ingest-test/$PREFIX/\nIngestS3Endpoint " . $s3->endpoint . "\n"
            . "IngestS3Credentials file:" . $s3->credentials_file . "\nIngestS3PathStyle On\nIngestS3PartSize 5M\n";
    }
    my $t = IngestTest->new(extra => $extra,
        expect_log => $s3 ? [qr/IG00612|IG00425|IG00602|IG00604|IG00605|IG00607|IG00616/] : []);
    my $tok = $t->token('acme', 'alice');
    # what the storage holds: relative names
    my $stored = $s3
        ? sub { [ map { s{^\Q$PREFIX\E/}{}r } grep { m{^\Q$PREFIX\E/} } @{ $s3->objects } ] }
        : sub {
            my @f;
            File::Find::find({ no_chdir => 1, wanted => sub { push @f, $File::Find::name =~ s{^\Q$t->{dir}/storage/\E}{}r if -f } },
                "$t->{dir}/storage");
            [ sort @f ];
        };
    my $content = $s3 ? sub { $s3->object("$PREFIX/$_[0]") }
                      : sub { open my $fh, '<', "$t->{dir}/storage/$_[0]" or return undef; local $/; <$fh> };
    my $init = sub {
        my ($name, $size) = @_;
        my $r = $t->request('POST', '/api/ingest/init', token => $tok,
            json => { filename => $name, file_type => 'csv', file_size => $size });
        is($r->{status}, 201, "$kind: init $name") or diag $r->{content};
        return $r->{json};
    };
    my $ended = sub {
        my ($id, $secs) = @_;
        my $j;
        wait_until("$kind: job $id to end", $secs // 60, sub {
            $j = $t->request('GET', "/api/ingest/status/$id", token => $tok)->{json};
            ($j->{status} // '') =~ /^(completed|failed)$/ });
        return $j;
    };

    # ---- a small upload, parsed
    my $csv = "id,name\n1,a\n2,b\n";
    my $j = $init->('small.csv', length $csv);
    my $r = put($t, $j->{upload_url}, $csv);
    is($r->{status}, 200, "$kind: small upload 200") or diag $r->{content};
    my $path = $t->psql("SELECT storage_path FROM ingest_jobs WHERE job_id = '$j->{job_id}'");
    is($content->($path), $csv, "$kind: the stored file is the upload, under $path");
    my $done = $ended->($j->{job_id});
    is_deeply([ $done->{status}, $done->{result_data}{records} ], [ 'completed', 2 ], "$kind: parsed from the storage");

    # ---- an empty file
    $r = $t->request('POST', '/api/ingest/init', token => $tok, json => { filename => 'empty.txt', file_type => 'txt', file_size => 0 });
    is(put($t, $r->{json}{upload_url}, '')->{status}, 200, "$kind: an empty upload");
    $done = $ended->($r->{json}{job_id});
    is_deeply([ $done->{status}, $done->{result_data}{records} ], [ 'completed', 0 ], "$kind: ... read back empty");

    # ---- 100 MiB chunked
    my $big = csv_pieces(100 * MiB);
    $j = $init->('big.csv', 100 * MiB);
    $s3->clear_requests if $s3;
    my $t0 = time;
    $r = put($t, $j->{upload_url}, $big->{cb});
    is($r->{status}, 200, "$kind: 100 MiB chunked upload 200") or diag $r->{content};
    diag sprintf '%s: 100 MiB uploaded in %.1f s', $kind, time - $t0;
    is($r->{json}{content_sha256}, $big->{sha}->hexdigest, "$kind: its SHA-256");
    if ($s3) {
        my @reqs = @{ $s3->requests };
        my @parts = grep { ($_->{query} // '') =~ /^partNumber=\d+&uploadId=/ } @reqs;
        is(scalar @parts, 20, 's3: 100 MiB went as a multipart upload of 20 parts of 5 MiB');
        ok((grep { ($_->{query} // '') eq 'uploads=' } @reqs) == 1, 's3: ... initiated once');
        is(scalar(grep { !$_->{signature_ok} } @reqs), 0, 's3: every request carried a valid SigV4 signature');
    }
    $done = $ended->($j->{job_id}, 180);
    is_deeply([ $done->{status}, $done->{result_data}{records} ], [ 'completed', $big->{rows} ],
        "$kind: the 100 MiB file parsed from the storage ($big->{rows} records)") or diag explain $done;
    my $big_path = $t->psql("SELECT storage_path FROM ingest_jobs WHERE job_id = '$j->{job_id}'");

    # ---- cut off mid-body: nothing stays
    my $before = $stored->();
    $j = $init->('cut.csv', 20 * MiB);
    $s3->clear_requests if $s3;
    my ($st) = $t->raw("PUT $j->{upload_url} HTTP/1.1\r\nHost: x\r\nContent-Length: " . (20 * MiB) . "\r\n\r\n"
        . ("1,x\n" x (3 * MiB)));
    note "$kind: cut after 12 of 20 MiB: " . ($st // 'no answer');
    ok(wait_until("$kind: the cut upload's leftovers to go", 10, sub { "@{ $stored->() }" eq "@$before" }),
        "$kind: a body cut off mid-way leaves nothing in the storage");
    is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$j->{job_id}'"), 'pending', "$kind: ... the job still waits");
    if ($s3) {
        ok(wait_until('the abort', 10, sub { grep { $_->{method} eq 'DELETE' && ($_->{query} // '') =~ /^uploadId=/ } @{ $s3->requests } }),
            's3: ... and its multipart upload was aborted (AbortMultipartUpload)');
        is(scalar @{ $s3->uploads }, 0, 's3: ... no multipart upload left open');
    }
    my $cut = $j;

    # ---- records of POST /api/ingest/json go to the same storage
    $r = $t->request('POST', '/api/ingest/json', token => $tok, json => { records => [ { a => 1 }, { a => 2 } ] });
    is($r->{status}, 202, "$kind: records ingested");
    $done = $ended->($r->{json}{job_id});
    is_deeply([ $done->{status}, $done->{result_data}{records} ], [ 'completed', 2 ], "$kind: ... and parsed");
    my $rec_path = $t->psql("SELECT storage_path FROM ingest_jobs WHERE job_id = '$r->{json}{job_id}'");
    is($content->($rec_path), qq({"a":1}\n{"a":2}\n), "$kind: ... kept as NDJSON in the storage");

    # ---- DELETE removes the file
    $r = $t->request('DELETE', "/api/ingest/$done->{job_id}", token => $tok);
    is($r->{status}, 204, "$kind: DELETE");
    ok(!defined $content->($rec_path), "$kind: ... removes the stored file");

    # ---- retention removes the file with the job
    $t->psql("UPDATE ingest_jobs SET completed_at = now() - interval '2 days' WHERE storage_path = '$big_path'");
    ok(wait_until("$kind: retention", 20, sub { !defined $content->($big_path) }),
        "$kind: a job past IngestRetention goes, and its stored file with it");

    # ---- a missing file fails the job
    $t->psql("INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status, storage_path)"
        . " VALUES ('acme', 'alice', 'file_upload', 'gone.csv', 'csv', 10, 'queued', 'acme/gone.000000000000')");
    my $gone = $t->psql("SELECT job_id FROM ingest_jobs WHERE filename = 'gone.csv'");
    $done = $ended->($gone);
    is_deeply([ $done->{status}, $done->{error} ], [ 'failed', 'the stored file is missing' ],
        "$kind: a job whose file is missing fails, saying so");

    if ($s3) {
        # ---- the object deleted (by another host) between the worker's
        # HEAD and its GET: S3's 404 (an XML longer than the range asked
        # for) is a missing file, not an error of the server
        my $tiny = "id\n1\n";
        my $v = $init->('vanish.csv', length $tiny);
        $s3->vanish_on_get("$PREFIX/acme/$v->{job_id}."); # the upload's name: tenant/job id.random
        $s3->clear_requests;
        is(put($t, $v->{upload_url}, $tiny)->{status}, 200, 's3: a tiny upload');
        $done = $ended->($v->{job_id});
        is_deeply([ $done->{status}, $done->{error} ], [ 'failed', 'the stored file is missing' ],
            's3: its object gone between HEAD and GET: the job fails, saying the file is missing');
        is(scalar(grep { $_->{vanished} && $_->{status} == 404 } @{ $s3->requests }), 1,
            's3: ... after S3 answered that GET 404');

        # ---- S3 stopped: the upload answers 503 and keeps nothing
        $s3->stop;
        $r = put($t, $cut->{upload_url}, "ids\n" . ("1\n" x (10 * MiB - 2)));
        problem_ok($r, 503, 'storage-unavailable', 's3 stopped: an upload answers 503');
        ok(($r->{headers}{'retry-after'} // '') =~ /^\d+$/, 's3 stopped: ... with Retry-After');
        is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$cut->{job_id}'"), 'pending', 's3 stopped: ... the job still waits');
        $r = $t->request('POST', '/api/ingest/json', token => $tok, json => { records => [ { a => 1 } ] });
        problem_ok($r, 503, 'storage-unavailable', 's3 stopped: a records ingestion answers 503 too');
        # the worker: a queued job whose file cannot be read is given back, no attempt counted
        $t->psql("INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status, storage_path)"
            . " VALUES ('acme', 'alice', 'file_upload', 'later.csv', 'csv', " . length($csv) . ", 'queued', 'acme/later.000000000001')");
        my $later = $t->psql("SELECT job_id FROM ingest_jobs WHERE filename = 'later.csv'");
        ok(wait_until('the deferral', 20, sub {
            $t->psql("SELECT coalesce(error, '') FROM ingest_jobs WHERE job_id = '$later'") =~ /cannot be reached; will retry/ }),
            's3 stopped: the worker gives the job back, saying why');
        is($t->psql("SELECT status || ' ' || attempts FROM ingest_jobs WHERE job_id = '$later'"), 'queued 0',
            's3 stopped: ... queued again, no attempt counted');
        $s3->start;
        # S3 goes away in the middle of an upload: 503, no object, and the
        # multipart upload begun stays open (it cannot be aborted while S3
        # is away: IG00616; a bucket lifecycle rule removes such parts)
        my $mid = $init->('mid.csv', 20 * MiB);
        my ($sent, $objects) = (0, scalar @{ $s3->objects });
        $s3->clear_requests;
        $r = put($t, $mid->{upload_url}, sub {
            return undef if $sent >= 20 * MiB;
            if ($sent == 12 * MiB) {
                # once a part is in S3 (the multipart upload begun), S3 goes
                wait_until('a part in S3', 20, sub { grep { ($_->{query} // '') =~ /^partNumber=1&/ } @{ $s3->requests } });
                $s3->stop;
            }
            $sent += MiB;
            return $sent == MiB ? "id\n" . ('1' x (MiB - 4)) . "\n" : ("\n" x MiB);
        });
        problem_ok($r, 503, 'storage-unavailable', 's3 stopped mid-upload: 503');
        $s3->start;
        is(scalar @{ $s3->objects }, $objects, 's3 stopped mid-upload: no object, nothing partial');
        is($t->psql("SELECT status FROM ingest_jobs WHERE job_id = '$mid->{job_id}'"), 'pending', 's3 stopped mid-upload: the job still waits');
        my @open = @{ $s3->uploads };
        is(scalar @open, 1, 's3 stopped mid-upload: its multipart upload could not be aborted while S3 was away');
        $s3->request(DELETE => $open[0]{key}, query => "uploadId=$open[0]{upload_id}") if @open;
        $r = put($t, $mid->{upload_url}, "id\n" . ('1' x (MiB - 4)) . "\n" . ("\n" x (19 * MiB)));
        is($r->{status}, 200, 's3 back: the upload cut off by S3 succeeds when sent again') or diag $r->{content};
        # what the job names arrives meanwhile, through S3 itself
        my $pr = $s3->request(PUT => "$PREFIX/acme/later.000000000001", body => $csv);
        is($pr->{status}, 200, "s3 back: the file put into the bucket directly");
        $done = $ended->($later, 60);
        is_deeply([ $done->{status}, $done->{result_data}{records} ], [ 'completed', 2 ],
            's3 back: the job given back completes');
        $r = put($t, $cut->{upload_url}, "ids\n" . ("1\n" x (10 * MiB - 2)));
        is($r->{status}, 200, 's3 back: the refused upload succeeds when sent again') or diag $r->{content};
        is(scalar @{ $s3->uploads }, 0, 's3: no multipart upload is left open');
        is(scalar(grep { !$_->{signature_ok} } @{ $s3->requests }), 0, 's3: every request was validly signed');
    }
    $t->teardown;
}

backend_run($_) for qw(file s3);
done_testing;
