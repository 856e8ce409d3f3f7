# store_revalidate, the bounded-staleness mode (src/core/store-revalidation.ts): two nginx nodes
# (Test::Nginx's is A, t/lib/SecondNode.pm starts B from A's very configuration) on one real Redis (and
# then on two real memcached servers), with a bound of 3 s, under the engine selected by TEST_NGINX_JS_ENGINE. B verifies a session and asks
# the store about it; then the session is revoked (or logged out) through A. Within the bound B may
# still pass it without asking (that is the mode: the test checks B really does not ask); from the end
# of the bound on, B refuses it on every request. The bound counts from the change, the guarantee
# docs/several-nodes.md states.
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
use Time::HiRes qw(time sleep);

our $SECRET = 'store-revalidate-secret-71d0c3';
our $BOUND = 3;    # seconds (store_revalidate 3000)
our $REDIS = StoreServers::start('redis-server', 6432, '--appendonly', 'yes', '--appendfsync', 'always');
our @MEMCACHED = map { StoreServers::start('memcached', $_) } 11441, 11442;
# The storage options as the harness (mint) needs them: it does not read session.json.
our %STORES = (
    redis     => { storage => 'redis', redis => { port => 6432 }, store_metadata => JSON::PP::true, store_revalidate => 3000 },
    memcached => { storage => 'memcached', memcached => { servers => ['127.0.0.1:11441', '127.0.0.1:11442'] },
                   store_metadata => JSON::PP::true, store_revalidate => 3000 },
);

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /admin { js_content session.admin; }
    location = /logout { js_content session.logoutHandler; }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);

sub app { my ($node, $cookie) = @_; return SecondNode::on($node, 'GET', '/app/x', $cookie)->{status} }

# Mints a session on A with `$store` ('redis' or 'memcached'); B verifies it (full path) and then asks
# the store about it (the fast check), which starts B's bound. Returns the Set-Cookie lines, when B's
# mark was made, and when the request that asked was sent.
sub verified_on_b {
    my ($store, $subject) = @_;
    if ($store eq 'redis') { StoreServers::cli($REDIS, 'FLUSHALL') }
    # flush_all answers "OK", which memcached_command does not wait for: quietly, then a no-op.
    else { StoreServers::memcached_command($_, "flush_all noreply\r\nmn\r\n") for @MEMCACHED }
    SecondNode::start();
    my $lines = mint(subject => $subject, options => { %{ $STORES{$store} } });
    my $cookie = cookie_header(@$lines);
    is(app('B', $cookie), 200, 'B opens it (verifies it)');
    my $asking = time;
    is(app('B', $cookie), 200, 'B asks the store about it');
    return ($lines, time, $asking);
}

# Within the bound of B's mark, B passes the session without asking; from `$changed` + the bound on,
# B refuses it with `$status`, every time.
sub stale_then_refused {
    my ($cookie, $marked, $changed, $status) = @_;
    my $sent = time;
    my $within = app('B', $cookie);
    # Only when the request surely started within the bound (a slow machine may not get there).
    is($within, 200, 'within the bound B still passes it, without asking the store') if $sent < $marked + $BOUND - 0.5;
    sleep($changed + $BOUND + 0.05 - time) if time < $changed + $BOUND + 0.05;
    my @after;
    for (1 .. 8) {
        push @after, app('B', $cookie);
        sleep 0.2;
    }
    is_deeply(\@after, [($status) x 8], "from the end of the bound on, B answers $status every time");
}

# Revoked through A's admin API: B may pass it within the bound, refuses it from the end of the bound
# on; A at once. Returns the cookie, for the test's own request to A.
sub revoked_on_a {
    my ($store, $subject) = @_;
    my ($lines, $marked) = verified_on_b($store, $subject);
    my $cookie = cookie_header(@$lines);
    my $res = SecondNode::on('A', 'DELETE', "/admin?subject=$subject");
    my $changed = time;
    is($res->{status}, 200, 'revoked on A');
    stale_then_refused($cookie, $marked, $changed, 401);
    is(app('A', $cookie), 401, 'A refuses it');
    SecondNode::stop();
    return $cookie;
}

# Logged out on A: the same, from B's side.
sub logged_out_on_a {
    my ($store, $subject) = @_;
    my ($lines, $marked) = verified_on_b($store, $subject);
    my $cookie = cookie_header(@$lines);
    my $token = csrf_token(cookie_value($lines, 'session'), subject => $subject);
    my $res = SecondNode::on('A', 'POST', '/logout', $cookie, 'X-CSRF-Token' => $token);
    my $changed = time;
    is($res->{status}, 204, 'logged out on A');
    stale_then_refused($cookie, $marked, $changed, 401);
    SecondNode::stop();
    return $cookie;
}

# What B answers after the store confirmed a session (its mark, and the answers it keeps for a Cookie
# header: src/nginx/known-answers.ts confirmedAnswerOf) holds no longer than the bound, counted from the
# store's answer: revoked on A at once, the session passes on B for a while and is refused on B by every
# request sent from the asking request's start + the bound (+ 0.25 s for that request's own round trip)
# on. From halfway through the bound, the same session also comes with another cookie beside it: a
# Cookie header B has no answer for, answered within the bound from the mark, whose answer must end
# with the mark, not a bound after that request.
sub bounded_from_the_ask {
    my ($store, $subject) = @_;
    my ($lines, undef, $asked) = verified_on_b($store, $subject);
    my $cookie = cookie_header(@$lines);
    my $beside = "$cookie; other=1";
    is(SecondNode::on('A', 'DELETE', "/admin?subject=$subject")->{status}, 200, 'revoked on A');
    my (%within, %after);
    while (time < $asked + $BOUND + 1) {
        for my $header ($cookie, time > $asked + $BOUND / 2 ? ($beside) : ()) {
            my $sent = time;
            my $status = app('B', $header);
            push @{ $within{$header} }, $status if $sent < $asked + $BOUND - 0.5;
            push @{ $after{$header} }, $status if $sent >= $asked + $BOUND + 0.25;
        }
        sleep 0.05;
    }
    for my $header ($cookie, $beside) {
        my $name = $header eq $cookie ? 'its cookie' : 'another cookie beside it';
        my @within = @{ $within{$header} // [] };
        my @after = @{ $after{$header} // [] };
        ok((grep { $_ == 200 } @within), "$name: within the bound B still passes it (" . scalar(@within) . ' requests)') if @within;
        ok(@after >= 5, "$name: requests past the bound were sent (" . scalar(@after) . ')');
        is_deeply(\@after, [(401) x @after], "$name: every request sent past the bound is refused");
    }
    SecondNode::stop();
    return $cookie;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: revoked on A: B may pass it within the bound, refuses it from the end of the bound on
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6432}, "store_metadata": true, "store_revalidate": 3000}
--- init
use_cookie(main::revoked_on_a('redis', 'alice'));
--- request
GET /app/x
--- error_code: 401



=== TEST 2: logged out on A: B may pass it within the bound, refuses it from the end of the bound on
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6432}, "store_metadata": true, "store_revalidate": 3000}
--- init
use_cookie(main::logged_out_on_a('redis', 'bob'));
--- request
GET /app/x
--- error_code: 401



=== TEST 3: Redis down: B passes what it asked about within the bound, fails closed from its end on; back after
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6432, "connect_timeout": 200, "send_timeout": 200, "read_timeout": 300}, "store_metadata": true, "store_revalidate": 3000}
--- init
my ($lines, $marked) = main::verified_on_b('redis', 'carol');
my $cookie = cookie_header(@$lines);
StoreServers::stop($main::REDIS);
main::stale_then_refused($cookie, $marked, Time::HiRes::time(), 503);
StoreServers::spawn($main::REDIS);
my $back;
for (1 .. 40) { $back = main::app('B', $cookie); last if $back == 200; Time::HiRes::sleep(0.1) }
is($back, 200, 'B opens it again');
is(scalar SecondNode::error_lines(qr/\[error\].*redis 127\.0\.0\.1:6432 unavailable/), 1, 'B logged the incident once');
SecondNode::stop();
use_cookie($cookie);
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: carol



=== TEST 4: memcached (two servers): revoked on A: B may pass it within the bound, refuses it from the end of the bound on
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11441", "127.0.0.1:11442"]}, "store_metadata": true, "store_revalidate": 3000}
--- init
use_cookie(main::revoked_on_a('memcached', 'dave'));
--- request
GET /app/x
--- error_code: 401



=== TEST 5: memcached: logged out on A: B may pass it within the bound, refuses it from the end of the bound on
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11441", "127.0.0.1:11442"]}, "store_metadata": true, "store_revalidate": 3000}
--- init
use_cookie(main::logged_out_on_a('memcached', 'erin'));
--- request
GET /app/x
--- error_code: 401



=== TEST 6: memcached down (both servers): B passes what it asked about within the bound, fails closed from its end on
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11441", "127.0.0.1:11442"], "connect_timeout": 200, "send_timeout": 200, "read_timeout": 300}, "store_metadata": true, "store_revalidate": 3000}
--- init
my ($lines, $marked) = main::verified_on_b('memcached', 'frank');
my $cookie = cookie_header(@$lines);
StoreServers::stop($_) for @main::MEMCACHED;
main::stale_then_refused($cookie, $marked, Time::HiRes::time(), 503);
StoreServers::spawn($_) for @main::MEMCACHED;
# memcached keeps nothing across a restart: the session is gone, and that is what B says.
my $back;
for (1 .. 40) { $back = main::app('B', $cookie); last if $back != 503; Time::HiRes::sleep(0.1) }
is($back, 401, 'B: served again (the restarted servers lost the session)');
my $incidents = scalar SecondNode::error_lines(qr/\[error\].*memcached 127\.0\.0\.1:1144[12] unavailable/);
ok($incidents >= 1 && $incidents <= 2, "B logged the incident of each server it asked, once ($incidents)");
SecondNode::stop();
use_cookie($cookie);
--- request
GET /app/x
--- error_code: 401



=== TEST 7: what B answers after the store confirmed a session never outlives the bound, counted from the ask
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6432}, "store_metadata": true, "store_revalidate": 3000}
--- init
use_cookie(main::bounded_from_the_ask('redis', 'gina'));
--- request
GET /app/x
--- error_code: 401
