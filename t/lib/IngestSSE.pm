package IngestSSE;

# A Server-Sent Events client for the tests: a raw HTTP/1.1 GET on
# loopback, read without blocking, parsed as the WHATWG standard's
# EventSource parses (fields "id", "event", "data", comments ignored but
# counted), each event stamped with the time its blank line arrived.
#
#   my $s = IngestSSE->open($port, $path, token => $t, headers => {...});
#   $s->status;                      # the response's status (waits for it)
#   $s->read_until(5, sub { grep { $_->{event} eq 'job' } @{ $_[0]->events } >= 3 });
#   $s->events;                      # [{id, event, data, at}, ...]
#   $s->comments; $s->closed; $s->close;

use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

sub open {
    my ($class, $port, $path, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $o{host} // '127.0.0.1', PeerPort => $port, Proto => 'tcp',
        Timeout => 10) or die "connect to $port: $!";
    my %h = (Accept => 'text/event-stream', %{ $o{headers} // {} });
    $h{Authorization} = "Bearer $o{token}" if defined $o{token};
    my $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    print $sock $req;
    $sock->blocking(0);
    return bless { sock => $sock, buf => '', head => undef, events => [], comments => 0, closed => 0,
        cur => {}, chunked => 0, raw => '' }, $class;
}

sub _dechunk {
    my ($self) = @_;
    return unless $self->{chunked};
    my $out = '';
    while ($self->{raw} =~ /^([0-9a-fA-F]+)\r\n/) {
        my $n = hex $1;
        my $hl = length($1) + 2;
        if ($n == 0) { $self->{closed} = 1; $self->{raw} = ''; last }
        last if length($self->{raw}) < $hl + $n + 2;
        $out .= substr($self->{raw}, $hl, $n);
        substr($self->{raw}, 0, $hl + $n + 2, '');
    }
    $self->{buf} .= $out;
}

sub _parse {
    my ($self) = @_;
    while ($self->{buf} =~ s/^([^\r\n]*)(?:\r\n|\n|\r)//) {
        my $line = $1;
        if ($line eq '') {
            my $c = $self->{cur};
            if (exists $c->{data}) {
                $c->{event} //= 'message';
                $c->{at} = time;
                push @{ $self->{events} }, $c;
            }
            $self->{cur} = {};
        }
        elsif ($line =~ /^:/) { $self->{comments}++; push @{ $self->{comment_lines} }, $line }
        elsif ($line =~ /^([^:]*)(?::\s?(.*))?$/) {
            my ($f, $v) = ($1, $2 // '');
            if ($f eq 'data') { $self->{cur}{data} = exists $self->{cur}{data} ? "$self->{cur}{data}\n$v" : $v }
            elsif ($f eq 'id' || $f eq 'event' || $f eq 'retry') { $self->{cur}{$f} = $v }
        }
    }
}

# Reads what has arrived, waiting up to $wait seconds for something.
sub pump {
    my ($self, $wait) = @_;
    return 0 if $self->{closed};
    my $sel = IO::Select->new($self->{sock});
    return 0 unless $sel->can_read($wait);
    my $n = sysread($self->{sock}, my $data, 1 << 16);
    if (!defined $n) { return 0 if $!{EAGAIN} || $!{EWOULDBLOCK}; $self->{closed} = 1; return 0 }
    if ($n == 0) { $self->{closed} = 1; return 0 }
    if (!defined $self->{head}) {
        $self->{raw} .= $data;
        my $i = index($self->{raw}, "\r\n\r\n");
        return $n if $i < 0;
        $self->{head} = substr($self->{raw}, 0, $i);
        $self->{raw} = substr($self->{raw}, $i + 4);
        ($self->{status}) = $self->{head} =~ m{^HTTP/1\.\d (\d{3})};
        $self->{chunked} = $self->{head} =~ /^Transfer-Encoding:\s*chunked/mi ? 1 : 0;
        if (!$self->{chunked}) { $self->{buf} .= $self->{raw}; $self->{raw} = '' }
    }
    elsif ($self->{chunked}) { $self->{raw} .= $data }
    else { $self->{buf} .= $data }
    $self->_dechunk;
    $self->_parse;
    return $n;
}

sub status {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // 10);
    $self->pump(0.05) while !defined $self->{head} && !$self->{closed} && time < $until;
    return $self->{status};
}

sub header {
    my ($self, $name) = @_;
    $self->status;
    return ($self->{head} // '') =~ /^\Q$name\E:\s*([^\r\n]*)/mi ? $1 : undef;
}

# The body as read so far, for a non-stream answer (a problem).
sub body { $_[0]->{buf} . $_[0]->{raw} }

# Reads until $cond->($self) is true, the stream ends, or $timeout passes;
# answers whether $cond became true.
sub read_until {
    my ($self, $timeout, $cond) = @_;
    my $until = time + $timeout;
    while (1) {
        return 1 if $cond->($self);
        return 0 if $self->{closed} || time >= $until;
        $self->pump($until - time < 0.2 ? $until - time : 0.2);
    }
}

sub events   { $_[0]->{events} }
sub jobs     { [ grep { $_->{event} eq 'job' } @{ $_[0]->{events} } ] }
sub comments { $_[0]->{comments} }
sub closed   { $_[0]->{closed} }
sub close    { my ($self) = @_; close $self->{sock} if $self->{sock}; $self->{closed} = 1 }

1;
