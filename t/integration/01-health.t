#!/usr/bin/perl
# GET /api/ingest/health against a real httpd and a private PostgreSQL.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IngestTest;

my $t = IngestTest->new;

my $r = $t->request('GET', '/api/ingest/health');
is($r->{status}, 200, 'health answers 200 with the database up');
is($r->{json}{status}, 'ok', 'status ok');
is($r->{json}{database}, 'ok', 'database ok');
is($r->{json}{schema_version}, IngestTest::latest_schema(), 'schema version reported');
like($r->{json}{version}, qr/^\d+\.\d+\.\d+$/, 'module version reported');
is($r->{headers}{'cache-control'}, 'no-store', 'not cacheable');

$r = $t->request('POST', '/api/ingest/health');
is($r->{status}, 405, 'POST to health is 405');
like($r->{headers}{allow}, qr/\bGET\b/, 'Allow names GET');

done_testing;
