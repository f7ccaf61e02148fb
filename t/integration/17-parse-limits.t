#!/usr/bin/perl
# The parse processor's bounds through the real upload and worker: hostile
# files (a CSV header far over IngestMaxRecordSize, one huge JSON string,
# NDJSON with ever new keys, a CSV of thousands of columns) fail their job
# with an error naming the record, or complete with a bounded summary that
# says it was cut; no child dies, and another tenant's normal job that
# follows completes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest qw(wait_until);
use HTTP::Tiny;

use constant MiB => 1024 * 1024;

my $t = IngestTest->new(
    extra => "IngestProcessor parse\nIngestWorkerInterval 100ms\nIngestMaxRecordSize 64K\n");
my $acme = $t->token('acme', 'alice');
my $globex = $t->token('globex', 'bob');

sub parsed { return $t->upload_parsed(@_) }

# The JSON text of result_data is under the summary's documented bound
# (64 KiB of names, 64 KiB of preview, 256 bytes), with the processor's
# own members (size, sha256, processing_time_ms).
sub bounded {
    my ($name, $rd) = @_;
    my $len = length $IngestTest::JSON->encode($rd);
    cmp_ok($len, '<', 64 * 1024 + 64 * 1024 + 256 + 200, "$name: result_data is $len bytes, within its bound");
}

# ---- a header of a,a,a… far over the limit: the job fails on line 1
my $j = parsed($acme, 'header', 'csv', ('a,' x (3 * MiB / 2)) . "a\n1\n");
is($j->{status}, 'failed', 'a 3 MiB CSV header fails its job');
is($j->{error}, 'line 1: the header exceeds IngestMaxRecordSize (65536 bytes)', '... naming the header and the limit');
is($j->{result_data}, undef, '... with no result_data');

# ---- one string token of 3 MiB in a JSON element
$j = parsed($acme, 'string', 'json', "[{\"id\":1},\n {\"a\":\"" . ('x' x (3 * MiB)) . "\"}]");
is($j->{status}, 'failed', 'a 3 MiB JSON string fails its job');
is($j->{error}, 'line 2, column 2: element 2 exceeds IngestMaxRecordSize (65536 bytes)',
    '... naming the element and where it begins');
is($j->{records_processed}, 1, '... after the element before it');

# ---- NDJSON whose every line has 1000 keys never seen before
my $nd = join '', map { my $n = $_; '{' . join(',', map { "\"k${n}_$_\":$_" } 1 .. 1000) . "}\n" } 1 .. 150;
$j = parsed($acme, 'keys', 'ndjson', $nd);
is($j->{status}, 'completed', 'NDJSON with 150,000 distinct keys completes') or diag $j->{error};
my $rd = $j->{result_data} // {};
is($rd->{records}, 150, '... all its records counted');
is(scalar @{ $rd->{keys} // [] }, 1000, '... 1000 keys listed');
is($rd->{keys}[0], 'k1_1', '... the first ones, in order');
is($rd->{truncated}, JSON::PP::true, '... and the summary says it was cut');
bounded('keys', $rd);

# ---- 8000 columns (within the limit): 1000 listed and previewed
my $cols = 8000;
my $csv = join(',', map { "c$_" } 1 .. $cols) . "\n" . join('', map { join(',', ($_) x $cols) . "\n" } 1 .. 5);
cmp_ok(length $csv, '>', 100_000, 'a CSV of 8000 columns');
$j = parsed($acme, 'wide', 'csv', $csv);
is($j->{status}, 'completed', '... completes') or diag $j->{error};
$rd = $j->{result_data} // {};
is($rd->{records}, 5, '... its 5 rows counted');
is(scalar @{ $rd->{columns} // [] }, 1000, '... 1000 columns listed');
is(scalar keys %{ $rd->{preview}[0] // {} }, 1000, '... and previewed');
is($rd->{truncated}, JSON::PP::true, '... truncated');
bounded('wide', $rd);

# ---- a normal job of another tenant, after all that
my $plain = "id,name\n1,one\n2,two\n";
$j = parsed($globex, 'plain', 'csv', $plain);
is($j->{status}, 'completed', "another tenant's normal CSV completes") or diag $j->{error};
is_deeply([ @{ $j->{result_data} }{qw(records columns preview)} ],
    [ 2, [qw(id name)], [ { id => '1', name => 'one' }, { id => '2', name => 'two' } ] ],
    '... with its whole summary');
ok(!exists $j->{result_data}{truncated}, '... which says nothing was cut');

# httpd logs a child killed by a signal (the OOM killer's too) as "child
# pid N exit signal ..."
unlike($t->error_log, qr/exit signal|out of memory/i, 'no httpd child died, nothing ran out of memory');

done_testing;
