#!/usr/bin/perl
# t/sanitize/NAME.t are links to this file: each runs t/integration/NAME.t
# against the ASan+UBSan build of the module (INGEST_SANITIZE=1, see
# t/lib/IngestTest.pm), so that one prove run covers both builds.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(basename dirname);

my $test = dirname(abs_path(__FILE__)) . '/../integration/' . basename($0);
die "$0: no $test to run\n" unless -f $test;
$ENV{INGEST_SANITIZE} = 1;
exec($^X, $test) or die "$0: cannot run $test: $!\n";
