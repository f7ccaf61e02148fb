package IngestMemory;
# The memory of a test httpd's children, from /proc: what the upload and
# parse benchmarks and tests measure.
use strict;
use warnings;
use Exporter qw(import);

our @EXPORT_OK = qw(children_memory);

# { pid => { rss => VmRSS, hwm => VmHWM } } (KiB) of every child of the
# httpd of $t (an IngestTest); {} when it is not running.
sub children_memory {
    my ($t) = @_;
    my $parent = $t->httpd_pid or return {};
    my %m;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh>;
        close $fh;
        next unless defined $line;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        next unless $ppid == $parent;
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

1;
