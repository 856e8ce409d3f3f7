package BridgeClient;
# A raw-socket client of the store bridge (src/bridge, nginx/store-bridge*.conf) for t/145-store-bridge.t,
# so that the test decides where packets start and end, plus direct (bridge-less) access to the stores
# to check what they really hold.
#
#   use BridgeClient qw(resp bulk bridge_request redis_direct memcached_direct);
#   my $c = BridgeClient->new;                              # 127.0.0.1:7379, TCP_NODELAY
#   $c->send(bridge_request(target => '127.0.0.1:6391', commands => [[SET => 'k', 'v']]));
#   $c->send($bytes, chunks => [1, 7, 4096], pause => 0.002);   # tiny writes, in this pattern
#   my $res = $c->read_response(5);   # { status, reason, headers => {lc name => value}, body, head }
#                                     # or { eof => 1 } / { timeout => 1 }, with partial => bytes so far
#   $c->closed_within(2);             # 'eof' (the bridge closed), 'open', or 'data: ...'
#
# Everything here works on byte strings: no encoding layer anywhere.
use strict;
use warnings;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(resp bulk bridge_request redis_direct memcached_direct);

# One RESP command (an array of bulk strings).
sub resp {
    my @args = @_;
    return join '', '*' . scalar(@args) . "\r\n", map { '$' . length($_) . "\r\n$_\r\n" } @args;
}

# A RESP bulk-string reply, as Redis writes it.
sub bulk { my ($value) = @_; return '$' . length($value) . "\r\n$value\r\n" }

# The bytes of one bridge request.
#   target    host:port of the store (required)
#   commands  [[cmd, args...], ...] (redis), or body => raw bytes with n => count
#   prelude   [[cmd, args...], ...]: the connection prelude (redis), sent first, p = its count
#   protocol  'redis' (default) or 'memcached'
#   t         timeout in ms (default 2000)
#   direct    1: origin-form request line, target in Host only (direct mode)
#   n, p      override the counts (to send wrong ones)
sub bridge_request {
    my (%a) = @_;
    my $target = $a{target} // die "bridge_request: target is required\n";
    my $protocol = $a{protocol} // 'redis';
    my @prelude = @{ $a{prelude} // [] };
    my @commands = @{ $a{commands} // [] };
    my $body = $a{body} // join '', map { resp(@$_) } @prelude, @commands;
    my $n = $a{n} // scalar(@prelude) + scalar(@commands);
    my $p = $a{p} // scalar(@prelude);
    my $uri = "/$protocol?n=$n" . ($p ? "&p=$p" : '') . '&t=' . ($a{t} // 2000);
    my $line = $a{direct} ? "POST $uri HTTP/1.1" : "POST http://$target$uri HTTP/1.1";
    return "$line\r\nHost: $target\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
}

sub new {
    my ($class, %a) = @_;
    my $port = $a{port} // 7379;
    my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
        or die "BridgeClient: connect to 127.0.0.1:$port: $!\n";
    setsockopt($socket, IPPROTO_TCP, TCP_NODELAY, 1) or die "BridgeClient: TCP_NODELAY: $!\n";
    binmode $socket;
    return bless { socket => $socket, buffer => '' }, $class;
}

# Writes all of $bytes; with chunks => [sizes], in writes of those sizes (cycling through the list),
# sleeping `pause` seconds between them. Returns 0 if the peer reset the connection.
sub send {
    my ($self, $bytes, %o) = @_;
    my @sizes = @{ $o{chunks} // [length($bytes) || 1] };
    my $at = 0;
    my $i = 0;
    local $SIG{PIPE} = 'IGNORE';
    while ($at < length $bytes) {
        my $size = $sizes[ $i++ % @sizes ];
        my $piece = substr $bytes, $at, $size;
        my $done = 0;
        while ($done < length $piece) {
            my $wrote = syswrite $self->{socket}, $piece, length($piece) - $done, $done;
            return 0 unless defined $wrote;
            $done += $wrote;
        }
        $at += length $piece;
        sleep $o{pause} if $o{pause} && $at < length $bytes;
    }
    return 1;
}

# Reads more bytes into the buffer: 1 got some, 0 end of stream (or reset), undef timed out.
sub fill {
    my ($self, $deadline) = @_;
    my $left = $deadline - time;
    return undef if $left <= 0;
    return undef unless IO::Select->new($self->{socket})->can_read($left);
    my $got = sysread $self->{socket}, my $data, 1 << 20;
    return 0 unless $got;    # 0: EOF; undef: ECONNRESET and the like
    $self->{buffer} .= $data;
    return 1;
}

# One HTTP response (head + Content-Length body) within $seconds.
sub read_response {
    my ($self, $seconds) = @_;
    my $deadline = time + ($seconds // 5);
    for (;;) {
        my $head_end = index $self->{buffer}, "\r\n\r\n";
        if ($head_end >= 0) {
            my $head = substr $self->{buffer}, 0, $head_end;
            my ($status_line, @lines) = split /\r\n/, $head;
            my ($status, $reason) = $status_line =~ m{^HTTP/1\.1 (\d{3}) (.*)$}
                or return { malformed => 1, partial => $self->{buffer} };
            my %headers;
            for (@lines) {
                my ($name, $value) = /^([^:]+):\s*(.*)$/ or return { malformed => 1, partial => $self->{buffer} };
                $headers{ lc $name } = $value;
            }
            my $size = $headers{'content-length'};
            return { malformed => 1, partial => $self->{buffer} } unless defined $size && $size =~ /^\d+$/;
            if (length($self->{buffer}) >= $head_end + 4 + $size) {
                my $body = substr $self->{buffer}, $head_end + 4, $size;
                substr($self->{buffer}, 0, $head_end + 4 + $size) = '';
                return { status => $status, reason => $reason, headers => \%headers, body => $body, head => $head };
            }
        }
        my $got = $self->fill($deadline);
        return { timeout => 1, partial => $self->{buffer} } unless defined $got;
        return { eof => 1, partial => $self->{buffer} } unless $got;
    }
}

# Whether the bridge closes the connection within $seconds, with nothing more to read:
# 'eof', 'open' (still open, nothing received), or 'data: <what came instead>'.
sub closed_within {
    my ($self, $seconds) = @_;
    my $deadline = time + $seconds;
    return "data: $self->{buffer}" if length $self->{buffer};
    my $got = $self->fill($deadline);
    return 'open' unless defined $got;
    return 'eof' unless $got;
    return "data: $self->{buffer}";
}

sub close { my ($self) = @_; close $self->{socket} }

# --- the stores themselves, without the bridge --------------------------------------------------------

sub store_socket {
    my ($port) = @_;
    my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
        or die "BridgeClient: connect to 127.0.0.1:$port: $!\n";
    binmode $socket;
    return bless { socket => $socket, buffer => '' }, __PACKAGE__;
}

# Reads one line (without CRLF) and then, if $data_size is given by the callback, that many bytes
# plus CRLF; returns the raw bytes of the whole reply.
sub read_reply {
    my ($self, $data_size_of, $seconds) = @_;
    my $deadline = time + ($seconds // 10);
    my $size;
    for (;;) {
        my $line_end = index $self->{buffer}, "\r\n";
        if ($line_end >= 0) {
            $size //= $data_size_of->(substr $self->{buffer}, 0, $line_end);
            my $total = $line_end + 2 + ($size >= 0 ? $size + 2 : 0);
            return substr $self->{buffer}, 0, $total if length $self->{buffer} >= $total;
        }
        my $got = $self->fill($deadline);
        die "BridgeClient: the store did not answer\n" unless $got;
    }
}

# One command straight to Redis on $port; the raw reply (simple, error, integer or bulk string).
sub redis_direct {
    my ($port, @command) = @_;
    my $store = store_socket($port);
    $store->send(resp(@command));
    my $reply = $store->read_reply(sub { $_[0] =~ /^\$(\d+)$/ ? $1 : -1 });
    $store->close;
    return $reply;
}

# One meta command straight to memcached on $port; the raw reply (a status line, or VA with its data).
sub memcached_direct {
    my ($port, $command) = @_;
    my $store = store_socket($port);
    $store->send($command);
    my $reply = $store->read_reply(sub { $_[0] =~ /^VA (\d+)/ ? $1 : -1 });
    $store->close;
    return $reply;
}

1;
