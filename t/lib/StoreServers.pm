package StoreServers;
# Real Redis/Valkey and memcached servers for the storage tests, started on loopback by the test
# itself (the rootfs has redis-server, valkey-server, redis-sentinel and memcached: nginx/provision.sh),
# plus the nginx configuration of the store bridge (nginx/store-bridge*.conf) in front of them.
#
#   use StoreServers;
#   my $redis = StoreServers::start('redis-server', 6390);    # waits until it answers
#   StoreServers::cli($redis, 'GET', 'k');                   # redis-cli / valkey-cli, output chomped
#   StoreServers::stop($redis);  pause($redis); resume($redis);  restart($redis);
#
# Every server started here is killed at exit (and nginx/in-rootfs.sh's PID namespace kills whatever
# is left). Ports are fixed: build/prove.sh gives each engine's run a loopback of its own.
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();
use File::Path ();
use Time::HiRes qw(sleep time);

our %RUNNING;    # pid => server

# The bridge's ports (front, relay) and the stream{} block that runs it.
our $FRONT_PORT = 7379;
our $RELAY_PORT = 7380;

sub stream_config {
    my (%args) = @_;
    my $allow = $args{allow} // '127.0.0.1:*';
    my $front = $args{front_port} // $FRONT_PORT;
    my $relay = $args{relay_port} // $RELAY_PORT;
    # More servers inside stream{} (a second bridge, e.g. with TLS to the store).
    my $extra = $args{extra} // '';
    return <<"_EOC_";
stream {
    js_engine \$TEST_NGINX_JS_ENGINE;
    js_path \$TEST_NGINX_REPO_DIR/dist/;
    include \$TEST_NGINX_REPO_DIR/nginx/store-bridge.conf;
    js_var \$njs_session_store_allow "$allow";
    # The bridge's own log, as in nginx/examples/several-nodes.conf.
    error_log logs/store-bridge.log info;
    server {
        listen 127.0.0.1:$front;
        include \$TEST_NGINX_REPO_DIR/nginx/store-bridge-front.conf;
        proxy_pass 127.0.0.1:$relay;
    }
    server {
        listen 127.0.0.1:$relay;
        include \$TEST_NGINX_REPO_DIR/nginx/store-bridge-relay.conf;
    }
$extra}
_EOC_
}

# main_config: the http and stream js modules, the bridge's stream{} block, and env lines.
sub main_config {
    my (%env) = @_;
    my $bridge = delete $env{_bridge} // {};
    return join '', "load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\n",
        "load_module \$TEST_NGINX_MODULES_DIR/ngx_stream_module.so;\n",
        "load_module \$TEST_NGINX_MODULES_DIR/ngx_stream_js_module.so;\n",
        "env NJS_SESSION_CONFIG=\$TEST_NGINX_SERVROOT/html/session.json;\n",
        (map { "env $_=$env{$_};\n" } sort keys %env),
        stream_config(%$bridge);
}

# For files using t/lib/EntryTest.pm (call after EntryTest::setup, so that this runs first): every
# block gets main_config(%env) unless it has its own, and http_config() before its own http_config.
sub use_bridge {
    my (%env) = @_;
    my $main = main_config(%env);
    my $http = http_config();
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('main_config', $main) unless defined $block->main_config;
        $block->set_value('http_config', $http . ($block->http_config // ''));
    });
}

# The http{} directives that send session.js's ngx.fetch() through the bridge.
sub http_config {
    my (%args) = @_;
    my $front = $args{front_port} // $FRONT_PORT;
    return <<"_EOC_";
    js_fetch_proxy http://127.0.0.1:$front;
    js_fetch_keepalive 16;
    js_fetch_timeout 10s;
_EOC_
}

sub port_open {
    my ($port) = @_;
    my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 0.2);
    return 0 unless $socket;
    close $socket;
    return 1;
}

sub wait_for {
    my ($condition, $what, $seconds) = @_;
    my $deadline = time + ($seconds // 10);
    while (time < $deadline) {
        return 1 if $condition->();
        sleep 0.05;
    }
    die "StoreServers: timed out waiting for $what\n";
}

# start(BINARY, PORT, EXTRA_ARGS...): redis-server, valkey-server, redis-sentinel or memcached on
# 127.0.0.1:PORT in the foreground of a child process, no persistence. Returns a handle. For
# redis-sentinel the first extra argument may be { conf => "lines of sentinel.conf" }.
sub start {
    my ($binary, $port, @extra) = @_;
    my @command;
    if ($binary eq 'memcached') {
        @command = ('memcached', '-l', '127.0.0.1', '-p', $port, '-U', '0', '-u', 'root', '-m', '16', @extra);
    } else {
        # A fresh data directory per start (a restart with spawn() keeps it): another file's server
        # on this port may have left files this one cannot read (valkey's AOF for redis-server).
        my $dir = "/tmp/store-$port";
        File::Path::remove_tree($dir);
        mkdir $dir;
        @command = ($binary, '--port', $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                    '--dir', $dir, '--protected-mode', 'no', @extra);
        # Sentinel reads its configuration from a file it rewrites: the lines given as
        # conf => "..." (e.g. "sentinel monitor mymaster 127.0.0.1 6400 2").
        if ($binary =~ /sentinel/) {
            my %options = ref $extra[0] eq 'HASH' ? %{ shift @extra } : ();
            my $file = "$dir/sentinel.conf";
            open my $out, '>', $file or die "StoreServers: $file: $!\n";
            print $out $options{conf} // '';
            close $out;
            @command = ($binary, $file, '--port', $port, '--bind', '127.0.0.1', '--protected-mode', 'no', '--dir', $dir, @extra);
        }
    }
    my $server = { binary => $binary, port => $port, command => \@command };
    spawn($server);
    return $server;
}

sub spawn {
    my ($server) = @_;
    my $pid = fork // die "StoreServers: fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>', "/tmp/store-$server->{port}.log";
        open STDERR, '>&', \*STDOUT;
        { exec { $server->{command}[0] } @{ $server->{command} } }
        # Not die: the child must not run END blocks (they would kill the parent's servers).
        POSIX::_exit(127);
    }
    $server->{pid} = $pid;
    $RUNNING{$pid} = $server;
    wait_for(sub { port_open($server->{port}) }, "$server->{binary} on port $server->{port}");
}

# Kills the server (SIGKILL: a crash, not a clean shutdown) and waits until it is gone.
sub stop {
    my ($server) = @_;
    return unless $server->{pid};
    kill 'CONT', $server->{pid};
    kill 'KILL', $server->{pid};
    waitpid $server->{pid}, 0;
    delete $RUNNING{ $server->{pid} };
    delete $server->{pid};
    wait_for(sub { !port_open($server->{port}) }, "port $server->{port} to close");
}

sub restart {
    my ($server) = @_;
    stop($server);
    spawn($server);
}

# A server that accepts connections but never answers (SIGSTOP), and back.
sub pause { my ($server) = @_; kill 'STOP', $server->{pid} }
sub resume { my ($server) = @_; kill 'CONT', $server->{pid} }

# redis-cli (valkey-cli for valkey) against the server; output without the trailing newline.
sub cli {
    my ($server, @args) = @_;
    my $cli = $server->{binary} =~ /valkey/ ? 'valkey-cli' : 'redis-cli';
    open my $in, '-|', $cli, '-p', $server->{port}, '--raw', @args or die "StoreServers: $cli: $!\n";
    local $/;
    my $out = <$in> // '';
    close $in;
    $out =~ s/\n\z//;
    return $out;
}

# One memcached text-protocol exchange (e.g. "get k\r\n", "mg k t\r\n"); returns the raw reply up to
# END or a status line (a meta VA reply with its data).
sub memcached_command {
    my ($server, $command) = @_;
    my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $server->{port}, Timeout => 2)
        or die "StoreServers: memcached on $server->{port}: $!\n";
    print $socket $command;
    my $reply = '';
    while (my $line = <$socket>) {
        $reply .= $line;
        # Classic replies, and meta ones with their flags ("HD t59"); a VA line's data follows it.
        last if $line =~ /^(END|STORED|NOT_STORED|DELETED|NOT_FOUND|TOUCHED|ERROR|MN|CLIENT_ERROR.*|SERVER_ERROR.*)\r\n\z/;
        last if $line =~ /^(HD|EN|NF|NS|EX)( [^\r\n]*)?\r\n\z/;
        if ($line =~ /^VA (\d+)/) {
            read $socket, my $data, $1 + 2;
            $reply .= $data;
            last;
        }
    }
    close $socket;
    return $reply;
}

END {
    # waitpid sets $?, which is the test's exit status by now.
    local $?;
    for my $pid (keys %RUNNING) {
        kill 'CONT', $pid;
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
}

1;
