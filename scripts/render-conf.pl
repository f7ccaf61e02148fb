#!/usr/bin/perl
# render-conf.pl TEMPLATE OUT KEY=VALUE...: replaces @KEY@ in TEMPLATE.
# An unreplaced @KEY@ left in the output is an error, so a template and its
# callers cannot drift apart silently.
use strict;
use warnings;
my ($in, $out, @pairs) = @ARGV;
die "usage: render-conf.pl TEMPLATE OUT KEY=VALUE...\n" unless $in && $out;
my %v = map { /^([A-Z_]+)=(.*)$/s ? ($1, $2) : die "bad pair '$_'\n" } @pairs;
open my $fh, '<', $in or die "$in: $!\n";
my $text = do { local $/; <$fh> };
close $fh;
$text =~ s/\@([A-Z_]+)\@/exists $v{$1} ? $v{$1} : die "render-conf: no value for \@$1\@\n"/ge;
open my $oh, '>', $out or die "$out: $!\n";
print $oh $text;
close $oh or die "$out: $!\n";
