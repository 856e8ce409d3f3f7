# One session registry for every node: with redis storage and store_metadata the registry and the
# revocations live in Redis (src/core/store-registry.ts, src/storage/redis-registry.ts), so the admin
# API of any node lists every node's sessions, and a revocation made through one node holds on the
# others at their next request. Two nginx nodes (Test::Nginx's is A, t/lib/SecondNode.pm starts B from
# A's very configuration) share one real Redis, under the engine selected by TEST_NGINX_JS_ENGINE.
#
# A revoked session's record is deleted, but the refusal must not rest on that alone (a refresh in
# flight on another node may write the record again): the blocks put the record back and expect the
# session refused all the same, on a node that verified it before (its fast check, which reads the
# revocations with the record) and on one that did not (the full path).
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
use Time::HiRes ();
use MIME::Base64 qw(encode_base64url);

our $SECRET = 'shared-registry-secret-5c21e9';
# Persisted on every write, so that a killed and restarted Redis still holds the sessions.
our $REDIS = StoreServers::start('redis-server', 6431, '--appendonly', 'yes', '--appendfsync', 'always');
# The storage options as the harness (mint) needs them: it does not read session.json.
our %REDIS = (storage => 'redis', redis => { port => 6431 }, store_metadata => JSON::PP::true);

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /admin { js_content session.admin; }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);

sub redis { return StoreServers::cli($REDIS, @_) }

# A session minted on node A with a User-Agent of our own (the registry lists the device by it).
sub mint_as {
    my ($agent, %args) = @_;
    my $body = { options => { secret => $SECRET, %REDIS }, %args };
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json', 'User-Agent' => $agent }, $EntryTest::JSON->encode($body));
    is($res->{status}, 200, "mint as $agent: 200");
    return cookie_header(@{ $res->{set_cookie} });
}

# The admin API of a node: status and decoded JSON body.
sub admin {
    my ($node, $method, $query) = @_;
    my $res = SecondNode::on($node, $method, "/admin$query");
    return ($res->{status}, eval { $EntryTest::JSON->decode($res->{content}) });
}

sub app { my ($node, $cookie) = @_; return SecondNode::on($node, 'GET', '/app/x', $cookie)->{status} }

# Session records: [prefix:]name:<43-character key>, apart from the registry's and the metadata's keys.
sub record_keys { return grep { /^session:[A-Za-z0-9_-]{43}$/ } split /\n/, redis('KEYS', 'session:*') }

sub agents { my ($list) = @_; return [ sort map { $_->{user_agent} } @{ $list->{sessions} // [] } ] }

sub next_second {
    my $now = Time::HiRes::time();
    Time::HiRes::sleep(int($now) + 1 - $now + 0.05);
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: sessions made on A are listed by B's admin API (and by A's), with what identifies each device
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431}, "store_metadata": true}
--- init
main::redis('FLUSHALL');
SecondNode::start();
main::mint_as('Laptop/1.0', subject => 'alice');
main::mint_as('Phone/2.0', subject => 'alice');
main::mint_as('Tablet/3.0', subject => 'bob');
my ($status, $list) = main::admin('B', 'GET', '?subject=alice');
is($status, 200, 'B lists alice');
is_deeply(main::agents($list), ['Laptop/1.0', 'Phone/2.0'], "B lists alice's two devices, made on A");
my @created = map { $_->{created} } @{ $list->{sessions} };
isnt($created[0], $created[1], 'each with an id of its own');
ok(!grep({ $_->{id} ne "$_->{created}" } @{ $list->{sessions} }), 'the id is the creation time');
($status, $list) = main::admin('B', 'GET', '?subject=bob');
is_deeply(main::agents($list), ['Tablet/3.0'], "B lists bob's device");
is_deeply(main::agents((main::admin('A', 'GET', '?subject=alice'))[1]), ['Laptop/1.0', 'Phone/2.0'], 'A lists the same');
# lua-resty-session's metadata stays as the peer writes it, beside the registry's own keys.
my $meta = 'session:' . encode_base64url('default') . ':' . encode_base64url('alice');
is(main::redis('ZCARD', $meta), 2, "the peer's sorted set lists alice's two session keys");
SecondNode::stop();
--- request
GET /admin?subject=alice
--- error_code: 200
--- response_body_like: "subject":"alice","sessions":\[\{"id":"[0-9]+".*\},\{"id":"[0-9]+".*\}\]
--- no_error_log
[warn]
[error]



=== TEST 2: revoke one session on A: refused on B at its next request (even with its record put back), the other one still opens
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431}, "store_metadata": true}
--- init
main::redis('FLUSHALL');
SecondNode::start();
my $laptop = main::mint_as('Laptop/1.0', subject => 'alice');
my ($record) = main::record_keys();
my $saved = main::redis('GET', $record);
my $phone = main::mint_as('Phone/2.0', subject => 'alice');
for my $round (1, 2) {
    # The second round is answered from B's verified cache: its fast store check.
    is(main::app('B', $laptop), 200, "laptop opens on B ($round)");
    is(main::app('B', $phone), 200, "phone opens on B ($round)");
}
my ($status, $list) = main::admin('B', 'GET', '?subject=alice');
my ($laptop_id) = map { $_->{id} } grep { $_->{user_agent} eq 'Laptop/1.0' } @{ $list->{sessions} };
ok(defined $laptop_id, "B lists the laptop's session");
my $revoked;
($status, $revoked) = main::admin('A', 'DELETE', "?subject=alice&id=$laptop_id");
is($status, 200, 'revoked on A');
is_deeply([ map { $_->{id} } @{ $revoked->{revoked} } ], [$laptop_id], 'A revoked the laptop only');
is(main::app('B', $laptop), 401, "the laptop is refused on B at its next request");
is(main::app('B', $phone), 200, 'the phone still opens on B');
is(main::redis('EXISTS', $record), 0, "the laptop's record was deleted");
my $meta = 'session:' . encode_base64url('default') . ':' . encode_base64url('alice');
my ($laptop_key) = $record =~ /^session:(.*)$/;
is(main::redis('ZSCORE', $meta, $laptop_key), '', "and taken off the peer's sorted set");
is(main::redis('ZCARD', $meta), 1, "which still lists the phone");
# A refresh in flight on another node could write it again: the revocation holds all the same.
main::redis('SET', $record, $saved, 'EX', 600);
is(main::app('B', $laptop), 401, 'refused on B with its record back (B verified it before)');
is(main::app('A', $laptop), 401, 'refused on A with its record back (A never verified it)');
is_deeply(main::agents((main::admin('B', 'GET', '?subject=alice'))[1]), ['Phone/2.0'], 'B lists the phone only');
SecondNode::stop();
use_cookie($phone);
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: alice
--- no_error_log
[warn]
[error]



=== TEST 3: revoke all on B: refused on A (even with the records put back); a later login opens on both
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431}, "store_metadata": true}
--- init
main::redis('FLUSHALL');
SecondNode::start();
my @cookies = (main::mint_as('Laptop/1.0', subject => 'bob'), main::mint_as('Phone/2.0', subject => 'bob'));
my $carol = main::mint_as('Laptop/1.0', subject => 'carol');
my %saved = map { $_ => main::redis('GET', $_) } main::record_keys();
# A session a lua-resty-session node made: its record and the peer's sorted set only, no registry entry.
my $meta = 'session:' . encode_base64url('default') . ':' . encode_base64url('bob');
my $peer_key = 'p' x 43;
main::redis('SET', "session:$peer_key", '["made-by-the-peer"]', 'EX', 600);
main::redis('ZADD', $meta, time + 600, $peer_key);
for my $round (1, 2) {
    is(main::app('A', $_), 200, "bob's session opens on A ($round)") for @cookies;
}
my ($status, $revoked) = main::admin('B', 'DELETE', '?subject=bob');
is($status, 200, 'revoked all on B');
is(scalar @{ $revoked->{revoked} }, 2, "both of bob's sessions were listed");
ok($revoked->{all}, 'all of them');
is(main::app('A', $_), 401, "bob's session is refused on A at its next request") for @cookies;
is(main::app('A', $carol), 200, "carol's still opens");
is(main::redis('EXISTS', "session:$peer_key"), 0, "the peer's session record was deleted too (listed in its sorted set)");
is(main::redis('EXISTS', $meta), 0, "and the sorted set");
main::redis('SET', $_, $saved{$_}, 'EX', 600) for keys %saved;
is(main::app('A', $_), 401, "refused on A with the records back") for @cookies;
is(main::app('B', $_), 401, "and on B") for @cookies;
is_deeply(main::agents((main::admin('A', 'GET', '?subject=bob'))[1]), [], 'A lists nothing for bob');
main::next_second();
my $again = main::mint_as('Desktop/4.0', subject => 'bob');
is(main::app('B', $again), 200, 'a login after the cut-off opens on B');
is_deeply(main::agents((main::admin('B', 'GET', '?subject=bob'))[1]), ['Desktop/4.0'], 'and is listed');
SecondNode::stop();
use_cookie($again);
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: bob
--- no_error_log
[warn]
[error]



=== TEST 4: Redis down: the admin API and protected locations fail closed on both nodes, each logs the incident once; all back after
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431, "connect_timeout": 200, "send_timeout": 200, "read_timeout": 300}, "store_metadata": true}
--- init
main::redis('FLUSHALL');
SecondNode::start();
my $cookie = main::mint_as('Laptop/1.0', subject => 'dave');
is(main::app('B', $cookie), 200, 'opens on B');
is(main::app('B', $cookie), 200, 'and again (verified cache)');
StoreServers::stop($main::REDIS);
for my $node ('A', 'B') {
    for my $round (1 .. 3) {
        is((main::admin($node, 'GET', '?subject=dave'))[0], 503, "$node: listing fails closed ($round)");
        is((main::admin($node, 'DELETE', '?subject=dave'))[0], 503, "$node: revoking fails closed ($round)");
        is(main::app($node, $cookie), 503, "$node: the session fails closed ($round)");
    }
}
StoreServers::spawn($main::REDIS);
my $back;
for (1 .. 40) { $back = main::app('B', $cookie); last if $back == 200; Time::HiRes::sleep(0.1) }
is($back, 200, 'B: the session opens again');
is_deeply(main::agents((main::admin('B', 'GET', '?subject=dave'))[1]), ['Laptop/1.0'], 'B lists it again');
is(scalar SecondNode::error_lines(qr/\[error\].*redis 127\.0\.0\.1:6431 unavailable/), 1, 'B logged the incident once');
is(scalar SecondNode::error_lines(qr/\[warn\].*registry/), 0, 'B: no registry warnings on top');
is(scalar error_lines(qr/\[error\].*redis 127\.0\.0\.1:6431 unavailable/), 1, 'A logged the incident once');
is(scalar error_lines(qr/\[warn\].*registry/), 0, 'A: no registry warnings on top');
SecondNode::stop();
use_cookie($cookie);
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: dave
--- no_error_log
[crit]
[alert]
