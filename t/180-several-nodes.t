# Several nginx nodes sharing one store, under the engine selected by TEST_NGINX_JS_ENGINE: Test::Nginx's
# nginx is node A, and each block starts a second nginx (node B) from A's very configuration with other
# ports and paths, so the two share nothing but the secret and the store: a session made on A is used
# on B, logged out on B and refused on A, with Redis, with two memcached servers, and with cookie
# storage (nothing shared but the secret). Then the store is killed and restarted while both nodes
# serve many sessions at once: every answer is the right subject or 503, never another user's session,
# and everything opens again afterwards.
#
# Set-up and helpers: t/lib/EntryTest.pm, t/lib/StoreServers.pm, t/lib/SecondNode.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use StoreServers;
use SecondNode;
use POSIX ();
use Time::HiRes qw(sleep time);

our $SECRET = 'several-nodes-secret-2b7d41';
our $REDIS = StoreServers::start('redis-server', 6410, '--appendonly', 'yes', '--appendfsync', 'always');
our @MEMCACHED = map { StoreServers::start('memcached', $_) } 11420, 11421;

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /logout { js_content session.logoutHandler; }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);

# Node B: t/lib/SecondNode.pm.
sub start_node_b { SecondNode::start() }
sub stop_node_b { SecondNode::stop() }
sub on { return SecondNode::on(@_) }

# The scenario of the issue: log in on A, use on B, log out on B, refused on A.
sub login_a_use_b_logout_b_refused_a {
    my (%options) = @_;
    start_node_b();
    my $lines = mint(subject => 'alice', options => \%options);    # on A
    my $cookie = cookie_header(@$lines);
    my $on_b = on('B', 'GET', '/app/x', $cookie);
    is($on_b->{status}, 200, 'the session made on A opens on B');
    is(subject_of($on_b), 'alice', 'as alice');
    is(on('A', 'GET', '/app/x', $cookie)->{status}, 200, 'and on A');
    # The token made on A verifies on B: the nodes share the secret.
    my $logout = on('B', 'POST', '/logout', $cookie, 'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'alice'));
    is($logout->{status}, 204, 'logged out on B');
    stop_node_b();
    return $cookie;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis: log in on A, use on B, log out on B, refused on A
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6410}}
--- init
my $cookie = main::login_a_use_b_logout_b_refused_a(storage => 'redis', redis => { port => 6410 });
use_cookie($cookie);
--- request
GET /app/x
--- error_code: 401



=== TEST 2: memcached over two servers: log in on A, use on B, log out on B, refused on A
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11420", "127.0.0.1:11421"]}}
--- init
my $cookie = main::login_a_use_b_logout_b_refused_a(storage => 'memcached', memcached => { servers => ['127.0.0.1:11420', '127.0.0.1:11421'] });
use_cookie($cookie);
--- request
GET /app/x
--- error_code: 401



=== TEST 3: cookie storage with the shared secret: made on A, opens on B (logout clears the browser's cookie only)
--- init
main::start_node_b();
my $lines = mint(subject => 'carol');
my $res = main::on('B', 'GET', '/app/x', cookie_header(@$lines));
is($res->{status}, 200, 'opens on B');
is(main::subject_of($res), 'carol', 'as carol');
main::stop_node_b();
use_cookie(cookie_header(@$lines));
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: carol



=== TEST 4: Redis killed and restarted while both nodes serve: only the right subject or 503, never a mix-up; all open afterwards
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6410, "connect_timeout": 200, "send_timeout": 200, "read_timeout": 300}}
--- init
main::start_node_b();
my %cookies;
for my $n (1 .. 12) {
    my $lines = mint(subject => "user$n", options => { storage => 'redis', redis => { port => 6410 } });
    $cookies{"user$n"} = cookie_header(@$lines);
}
# Four clients, each cycling over every session on both nodes, while Redis is killed and restarted.
my $report = "$SecondNode::ROOT/load-report";
my @clients;
for my $client (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $out, '>', "$report.$client" or POSIX::_exit(1);
        my $until = time + 4;
        my @subjects = sort keys %cookies;
        my $i = $client;
        while (time < $until) {
            my $subject = $subjects[$i++ % @subjects];
            my $node = $i % 2 ? 'A' : 'B';
            my $res = main::on($node, 'GET', '/app/x', $cookies{$subject});
            my $got = main::subject_of($res) // '-';
            print $out "$node $res->{status} $subject $got\n";
        }
        close $out;
        POSIX::_exit(0);
    }
    push @clients, $pid;
}
sleep 1;
StoreServers::stop($main::REDIS);
sleep 1;
StoreServers::spawn($main::REDIS);
waitpid $_, 0 for @clients;
my (%statuses, @wrong);
for my $client (1 .. 4) {
    open my $in, '<', "$report.$client" or die "no report from client $client";
    while (my $line = <$in>) {
        my ($node, $status, $subject, $got) = split ' ', $line;
        $statuses{$status}++;
        push @wrong, $line if $status == 200 && $got ne $subject;
        push @wrong, $line if $status != 200 && $status != 503;
    }
}
diag(join ', ', map { "$_: $statuses{$_}" } sort keys %statuses);
is_deeply(\@wrong, [], 'every answer was the right subject or 503');
ok($statuses{503}, 'some requests met the outage');
ok($statuses{200} > 20, 'most were served');
for my $subject (sort keys %cookies) {
    is(main::on('B', 'GET', '/app/x', $cookies{$subject})->{status}, 200, "$subject opens on B after the restart");
}
main::stop_node_b();
is(scalar main::error_lines(qr/\[error\].*redis 127\.0\.0\.1:6410 unavailable/), 1, 'node A logged the incident once');
use_cookie($cookies{user1});
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: user1
--- no_error_log
[crit]
[alert]
