package SecondNode;
# A second nginx node beside Test::Nginx's (node A), for the tests of several nodes sharing one store:
# node B runs A's very configuration with its own listen ports (http and the store bridge's two),
# paths and pid, so the two share nothing but the secret and the store.
#
#   SecondNode::start();  SecondNode::on('B', 'GET', '/app/x', $cookie);  SecondNode::stop();
#   SecondNode::error_lines(qr/.../)   lines of node B's error.log that match
#
# B is stopped at exit. Needs t/lib/StoreServers.pm's bridge (use_bridge) in A's configuration.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use HTTP::Tiny;
use StoreServers;

our $PORT = 1985;
our $ROOT;

sub start {
    my $root_a = $Test::Nginx::Util::ServRoot;
    $ROOT = "$root_a-b";
    remove_tree($ROOT);
    make_path("$ROOT/conf", "$ROOT/logs", "$ROOT/html");
    copy("$root_a/html/session.json", "$ROOT/html/session.json") or die "copy session.json: $!";
    open my $in, '<', $Test::Nginx::Util::ConfFile or die "read A's nginx.conf: $!";
    my $conf = do { local $/; <$in> };
    close $in;
    my $port_a = $Test::Nginx::Util::ServerPort;
    $conf =~ s/\Q$root_a\E/$ROOT/g;
    $conf =~ s/\blisten(\s+)$port_a;/listen$1$PORT;/g;
    $conf =~ s/127\.0\.0\.1:$port_a\b/127.0.0.1:$PORT/g;
    $conf =~ s/127\.0\.0\.1:$StoreServers::FRONT_PORT\b/127.0.0.1:7381/g;
    $conf =~ s/127\.0\.0\.1:$StoreServers::RELAY_PORT\b/127.0.0.1:7382/g;
    open my $out, '>', "$ROOT/conf/nginx.conf" or die "write B's nginx.conf: $!";
    print $out $conf;
    close $out;
    system($Test::Nginx::Util::NginxBinary, '-p', "$ROOT/", '-c', "$ROOT/conf/nginx.conf") == 0 or die "node B did not start\n";
    StoreServers::wait_for(sub { StoreServers::port_open($PORT) }, 'node B');
}

sub stop {
    return unless $ROOT && open my $in, '<', "$ROOT/logs/nginx.pid";
    my $pid = <$in>;
    chomp $pid;
    kill 'QUIT', $pid;
    StoreServers::wait_for(sub { !kill 0, $pid }, 'node B to stop');
}
END { stop() }

# A request to node A or B: HTTP::Tiny's response.
sub on {
    my ($node, $method, $uri, $cookie, %headers) = @_;
    my $port = $node eq 'A' ? $Test::Nginx::Util::ServerPort : $PORT;
    return HTTP::Tiny->new(keep_alive => 0, timeout => 20, max_redirect => 0)->request($method, "http://127.0.0.1:$port$uri",
        { headers => { $cookie ? (Cookie => $cookie) : (), %headers } });
}

sub error_lines {
    my ($pattern) = @_;
    open my $in, '<', "$ROOT/logs/error.log" or return ();
    return grep { /$pattern/ } <$in>;
}

1;
