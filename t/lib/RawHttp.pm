package RawHttp;
# HTTP at the byte level, for tests that must see exactly what nginx sends, not what a parser makes of
# it (t/200-hostile-publishing.t): a header value with a CR or LF in it is a second header line on the
# wire, and a NUL is a cut value, but HTTP::Tiny or nginx's own view would hide either.
#
#   start_upstream()   forks a raw TCP upstream on an ephemeral port of 127.0.0.1 and returns the port.
#                      It answers every request with 200 and, as the body, the hex of every byte it
#                      received on that connection (so a smuggled second request is in it too), and
#                      appends those bytes to a capture file that upstream_requests() reads.
#   request(...)       one request over a fresh socket (HTTP/1.0: no chunked replies) to the nginx
#                      under test; returns the raw reply and its parsed status, head lines and body.
#   header_values(...) the values of one header name in a parsed reply or request.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use File::Temp ();
use POSIX ();

my $UPSTREAM_PID;
my $PARENT_PID = $$;
my $CAPTURE_DIR;
my $CAPTURE;

sub start_upstream {
    $CAPTURE_DIR = File::Temp::tempdir(CLEANUP => 1);
    $CAPTURE = "$CAPTURE_DIR/upstream.raw";
    open my $touch, '>', $CAPTURE or die "cannot create $CAPTURE: $!\n";
    close $touch;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1, Proto => 'tcp')
        or die "RawHttp: cannot listen: $!\n";
    my $port = $listen->sockport;
    my $pid = fork // die "RawHttp: cannot fork: $!\n";
    if ($pid) {
        close $listen;
        $UPSTREAM_PID = $pid;
        return $port;
    }
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (1) {
        my $client = $listen->accept or next;
        my $raw = receive_request($client);
        if (open my $out, '>>:raw', $CAPTURE) {
            # Length-prefixed records: the bytes themselves may hold anything.
            print $out length($raw), "\n", $raw;
            close $out;
        }
        my $body = unpack('H*', $raw);
        print $client "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body)
                      . "\r\nConnection: close\r\n\r\n$body";
        close $client;
    }
}

# Everything the peer sends: the head, a body of its Content-Length, and whatever else arrives at once
# (nginx writes a request in one go, so a second request smuggled into a header value is there too).
sub receive_request {
    my ($socket) = @_;
    my $select = IO::Select->new($socket);
    my $raw = '';
    while ($raw !~ /\r\n\r\n/) {
        last unless $select->can_read(5);
        last unless sysread($socket, $raw, 65536, length $raw);
    }
    if ($raw =~ /\A(.*?\r\n\r\n)/s) {
        my $head = $1;
        my $length = $head =~ /\r\ncontent-length:[ \t]*(\d+)/i ? $1 : 0;
        while (length($raw) < length($head) + $length) {
            last unless $select->can_read(5);
            last unless sysread($socket, $raw, 65536, length $raw);
        }
    }
    while ($select->can_read(0.02)) {
        last unless sysread($socket, $raw, 65536, length $raw);
    }
    return $raw;
}

# Every request the upstream received so far, raw bytes, in order.
sub upstream_requests {
    open my $in, '<:raw', $CAPTURE or return ();
    my $all = do { local $/; <$in> };
    my @requests;
    while ($all =~ /\G(\d+)\n/gc) {
        my $start = pos $all;
        push @requests, substr($all, $start, $1);
        pos($all) = $start + $1;
    }
    return @requests;
}

END {
    kill 'TERM', $UPSTREAM_PID if $UPSTREAM_PID && $$ == $PARENT_PID;
}

# request(METHOD, PATH, [[name, value], ...], BODY): the reply as
# { raw, head, body, status, lines => [status line, header lines...], headers => [[name, value], ...] }.
# Header lines are split at CRLF only, so a bare CR or LF stays visible inside a line.
sub request {
    my ($method, $path, $headers, $body) = @_;
    my $socket = IO::Socket::INET->new(
        PeerAddr => $Test::Nginx::Util::ServerAddr,
        PeerPort => $Test::Nginx::Util::ServerPortForClient,
        Proto    => 'tcp',
        Timeout  => 20,
    ) or die "RawHttp: cannot connect to nginx: $!\n";
    binmode $socket;
    my $text = "$method $path HTTP/1.0\r\nHost: localhost\r\n";
    $text .= "$_->[0]: $_->[1]\r\n" for @{ $headers // [] };
    $text .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;
    $text .= "\r\n" . ($body // '');
    print {$socket} $text;
    my $select = IO::Select->new($socket);
    my $raw = '';
    while ($select->can_read(20)) {
        last unless sysread($socket, $raw, 65536, length $raw);
    }
    close $socket;
    return parse($raw);
}

# A raw HTTP message (reply or request) split into its parts.
sub parse {
    my ($raw) = @_;
    my $end = index($raw, "\r\n\r\n");
    my $head = $end < 0 ? $raw : substr($raw, 0, $end);
    my $body = $end < 0 ? '' : substr($raw, $end + 4);
    my @lines = split /\r\n/, $head, -1;
    my @headers = map { /^([^:]*):[ \t]*(.*?)[ \t]*\z/s ? [$1, $2] : [$_, undef] } @lines[1 .. $#lines];
    my $status = $lines[0] =~ m{^HTTP/1\.[01] (\d{3})} ? $1 : 0;
    return { raw => $raw, head => $head, body => $body, status => $status, lines => \@lines, headers => \@headers };
}

sub header_values {
    my ($message, $name) = @_;
    return map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $message->{headers} };
}

1;
