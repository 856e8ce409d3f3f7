# One session registry for every node: with a network store and store_metadata the registry and the
# revocations live in the store (src/core/store-registry.ts; src/storage/redis-registry.ts,
# src/storage/memcached-registry.ts), so the admin API of any node lists every node's sessions, and a
# revocation made through one node holds on the others at their next request. Two nginx nodes
# (Test::Nginx's is A, t/lib/SecondNode.pm starts B from A's very configuration) share one real Redis,
# or two real memcached servers, under the engine selected by TEST_NGINX_JS_ENGINE.
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
use CookieFormat qw(b64url_decode b64url_encode);
use Time::HiRes ();
use MIME::Base64 qw(encode_base64url);

our $SECRET = 'shared-registry-secret-5c21e9';
# Persisted on every write, so that a killed and restarted Redis still holds the sessions.
our $REDIS = StoreServers::start('redis-server', 6431, '--appendonly', 'yes', '--appendfsync', 'always');
our @MEMCACHED = map { StoreServers::start('memcached', $_) } 11431, 11432;
# The storage options as the harness (mint) needs them: it does not read session.json.
our %STORES = (
    redis     => { storage => 'redis', redis => { port => 6431 }, store_metadata => JSON::PP::true },
    memcached => { storage => 'memcached', memcached => { servers => ['127.0.0.1:11431', '127.0.0.1:11432'] }, store_metadata => JSON::PP::true },
);
our $STORE = 'redis';

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
sub mc { my ($server, $command) = @_; return StoreServers::memcached_command($server, $command) }

# Empties the store of the block.
sub flush {
    # flush_all answers "OK", which memcached_command does not wait for: quietly, then a no-op.
    if ($STORE eq 'redis') { redis('FLUSHALL') } else { mc($_, "flush_all noreply\r\nmn\r\n") for @MEMCACHED }
}

# A session minted on node A with a User-Agent of our own (the registry lists the device by it), with
# a remember cookie when `remember => 1`. Returns the Cookie header and the record names in the store
# (the session's, the remember cookie's).
sub mint_as {
    my ($agent, %args) = @_;
    my $remember = delete $args{remember};
    my $body = { options => { secret => $SECRET, %{ $STORES{$STORE} }, $remember ? (remember => JSON::PP::true) : () },
                 $remember ? (remember => JSON::PP::true) : (), %args };
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json', 'User-Agent' => $agent }, $EntryTest::JSON->encode($body));
    is($res->{status}, 200, "mint as $agent: 200");
    my @records = map {
        my $value = cookie_value($res->{set_cookie}, $_);
        defined $value ? "$_:" . b64url_encode(substr(b64url_decode(substr($value, 0, 110)), 3, 32)) : undef;
    } 'session', 'remember';
    return (cookie_header(@{ $res->{set_cookie} }), @records);
}

# A record's value (undef when absent), and putting one back: what a refresh in flight on another node
# would do after a revocation.
sub record_get {
    my ($name) = @_;
    if ($STORE eq 'redis') { my $value = redis('EXISTS', $name) ? redis('GET', $name) : undef; return $value }
    for my $server (@MEMCACHED) {
        return $1 if mc($server, "mg $name v\r\n") =~ /^VA \d+[^\r\n]*\r\n(.*)\r\n\z/s;
    }
    return undef;
}
sub record_put {
    my ($name, $value) = @_;
    return redis('SET', $name, $value, 'EX', 600) if $STORE eq 'redis';
    # Onto both servers: whichever rendezvous hashing names holds it.
    mc($_, "ms $name " . length($value) . " T600\r\n$value\r\n") for @MEMCACHED;
}

# The admin API of a node: status and decoded JSON body.
sub admin {
    my ($node, $method, $query) = @_;
    my $res = SecondNode::on($node, $method, "/admin$query");
    return ($res->{status}, eval { $EntryTest::JSON->decode($res->{content}) });
}

sub app { my ($node, $cookie) = @_; return SecondNode::on($node, 'GET', '/app/x', $cookie)->{status} }

sub agents { my ($list) = @_; return [ sort map { $_->{user_agent} } @{ $list->{sessions} // [] } ] }

sub next_second {
    my $now = Time::HiRes::time();
    Time::HiRes::sleep(int($now) + 1 - $now + 0.05);
}

# lua-resty-session's store_metadata key of a subject (default audience).
sub metadata_key { return 'session:' . encode_base64url('default') . ':' . encode_base64url($_[0]) }

# Sessions made on A are listed by B's admin API (and by A's).
sub listed_everywhere {
    flush();
    SecondNode::start();
    mint_as('Laptop/1.0', subject => 'alice');
    mint_as('Phone/2.0', subject => 'alice');
    mint_as('Tablet/3.0', subject => 'bob');
    my ($status, $list) = admin('B', 'GET', '?subject=alice');
    is($status, 200, 'B lists alice');
    is_deeply(agents($list), ['Laptop/1.0', 'Phone/2.0'], "B lists alice's two devices, made on A");
    my @created = map { $_->{created} } @{ $list->{sessions} };
    isnt($created[0], $created[1], 'each with an id of its own');
    ok(!grep({ $_->{id} ne "$_->{created}" } @{ $list->{sessions} }), 'the id is the creation time');
    is_deeply(agents((admin('B', 'GET', '?subject=bob'))[1]), ['Tablet/3.0'], "B lists bob's device");
    is_deeply(agents((admin('A', 'GET', '?subject=alice'))[1]), ['Laptop/1.0', 'Phone/2.0'], 'A lists the same');
    SecondNode::stop();
}

# Revoke one session on A: refused on B at its next request, even with its record put back.
sub revoke_one_on_a {
    flush();
    SecondNode::start();
    my ($laptop, $record, $remember_record) = mint_as('Laptop/1.0', subject => 'alice', remember => 1);
    my $saved = record_get($record);
    ok(defined $saved, "the laptop's record is in the store");
    ok(defined record_get($remember_record), "and its remember cookie's record");
    my ($phone) = mint_as('Phone/2.0', subject => 'alice');
    for my $round (1, 2) {
        # The second round is answered from B's verified cache: its fast store check.
        is(app('B', $laptop), 200, "laptop opens on B ($round)");
        is(app('B', $phone), 200, "phone opens on B ($round)");
    }
    my ($status, $list) = admin('B', 'GET', '?subject=alice');
    my ($laptop_id) = map { $_->{id} } grep { $_->{user_agent} eq 'Laptop/1.0' } @{ $list->{sessions} };
    ok(defined $laptop_id, "B lists the laptop's session");
    my $revoked;
    ($status, $revoked) = admin('A', 'DELETE', "?subject=alice&id=$laptop_id");
    is($status, 200, 'revoked on A');
    is_deeply([ map { $_->{id} } @{ $revoked->{revoked} } ], [$laptop_id], 'A revoked the laptop only');
    is(app('B', $laptop), 401, 'the laptop is refused on B at its next request');
    is(app('B', $phone), 200, 'the phone still opens on B');
    is(record_get($record), undef, "the laptop's record was deleted");
    is(record_get($remember_record), undef, "and its remember cookie's record");
    if ($STORE eq 'redis') {
        my ($laptop_key) = $record =~ /^session:(.*)$/;
        is(redis('ZSCORE', metadata_key('alice'), $laptop_key), '', "and taken off the peer's sorted set");
        is(redis('ZCARD', metadata_key('alice')), 1, 'which still lists the phone');
        (my $remember_list = metadata_key('alice')) =~ s/^session:/remember:/;
        is(redis('ZCARD', $remember_list), 0, "the remember record is off the peer's remember list too");
    }
    # A refresh in flight on another node could write it again: the revocation holds all the same.
    record_put($record, $saved);
    is(app('B', $laptop), 401, 'refused on B with its record back (B verified it before)');
    is(app('A', $laptop), 401, 'refused on A with its record back (A never verified it)');
    is_deeply(agents((admin('B', 'GET', '?subject=alice'))[1]), ['Phone/2.0'], 'B lists the phone only');
    SecondNode::stop();
    return $phone;
}

# Revoke all on B: refused on A, even with the records put back; a later login opens on both.
sub revoke_all_on_b {
    flush();
    SecondNode::start();
    my %records;
    my @cookies;
    for my $agent ('Laptop/1.0', 'Phone/2.0') {
        my ($cookie, $record) = mint_as($agent, subject => 'bob');
        push @cookies, $cookie;
        $records{$record} = record_get($record);
    }
    my ($carol) = mint_as('Laptop/1.0', subject => 'carol');
    my $peer_key = 'p' x 43;
    if ($STORE eq 'redis') {
        # A session a lua-resty-session node made: its record and the peer's sorted set only.
        redis('SET', "session:$peer_key", '["made-by-the-peer"]', 'EX', 600);
        redis('ZADD', metadata_key('bob'), time + 600, $peer_key);
    }
    for my $round (1, 2) {
        is(app('A', $_), 200, "bob's session opens on A ($round)") for @cookies;
    }
    my ($status, $revoked) = admin('B', 'DELETE', '?subject=bob');
    is($status, 200, 'revoked all on B');
    is(scalar @{ $revoked->{revoked} }, 2, "both of bob's sessions were listed");
    ok($revoked->{all}, 'all of them');
    is(app('A', $_), 401, "bob's session is refused on A at its next request") for @cookies;
    is(app('A', $carol), 200, "carol's still opens");
    is(record_get($_), undef, 'its record was deleted') for sort keys %records;
    if ($STORE eq 'redis') {
        is(redis('EXISTS', "session:$peer_key"), 0, "the peer's session record was deleted too (listed in its sorted set)");
        is(redis('EXISTS', metadata_key('bob')), 0, 'and the sorted set');
    }
    record_put($_, $records{$_}) for keys %records;
    is(app('A', $_), 401, 'refused on A with the records back') for @cookies;
    is(app('B', $_), 401, 'and on B') for @cookies;
    is_deeply(agents((admin('A', 'GET', '?subject=bob'))[1]), [], 'A lists nothing for bob');
    next_second();
    my ($again) = mint_as('Desktop/4.0', subject => 'bob');
    is(app('B', $again), 200, 'a login after the cut-off opens on B');
    is_deeply(agents((admin('B', 'GET', '?subject=bob'))[1]), ['Desktop/4.0'], 'and is listed');
    SecondNode::stop();
    return $again;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis: sessions made on A are listed by B's admin API (and by A's), with what identifies each device
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431}, "store_metadata": true}
--- init
$main::STORE = 'redis';
main::listed_everywhere();
is(main::redis('ZCARD', main::metadata_key('alice')), 2, "the peer's sorted set lists alice's two session keys");
--- request
GET /admin?subject=alice
--- error_code: 200
--- response_body_like: "subject":"alice","sessions":\[\{"id":"[0-9]+".*\},\{"id":"[0-9]+".*\}\]
--- no_error_log
[warn]
[error]



=== TEST 2: Redis: revoke one session on A: refused on B at its next request (even with its record put back), the other one still opens
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431}, "store_metadata": true, "remember": true}
--- init
$main::STORE = 'redis';
use_cookie(main::revoke_one_on_a());
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: alice
--- no_error_log
[warn]
[error]



=== TEST 3: Redis: revoke all on B: refused on A (even with the records put back); a later login opens on both
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6431}, "store_metadata": true}
--- init
$main::STORE = 'redis';
use_cookie(main::revoke_all_on_b());
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
$main::STORE = 'redis';
main::flush();
SecondNode::start();
my ($cookie) = main::mint_as('Laptop/1.0', subject => 'dave');
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



=== TEST 5: memcached (two servers): B lists what A made
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11431", "127.0.0.1:11432"]}, "store_metadata": true}
--- init
$main::STORE = 'memcached';
main::listed_everywhere();
--- request
GET /admin?subject=alice
--- error_code: 200
--- response_body_like: "subject":"alice","sessions":\[\{"id":"[0-9]+".*\},\{"id":"[0-9]+".*\}\]
--- no_error_log
[warn]
[error]



=== TEST 6: memcached: revoke one session on A: refused on B at its next request (even with its record put back)
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11431", "127.0.0.1:11432"]}, "store_metadata": true, "remember": true}
--- init
$main::STORE = 'memcached';
use_cookie(main::revoke_one_on_a());
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: alice
--- no_error_log
[warn]
[error]



=== TEST 7: memcached: revoke all on B: refused on A (even with the records put back); a later login opens on both
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11431", "127.0.0.1:11432"]}, "store_metadata": true}
--- init
$main::STORE = 'memcached';
use_cookie(main::revoke_all_on_b());
--- request
GET /app/x
--- error_code: 200
--- response_body_like: x-subject: bob
--- no_error_log
[warn]
[error]



=== TEST 8: memcached down (both servers): the admin API and protected locations fail closed on both nodes; each server's incident logged once per node, not per request
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11431", "127.0.0.1:11432"], "connect_timeout": 200, "send_timeout": 200, "read_timeout": 300}, "store_metadata": true}
--- init
$main::STORE = 'memcached';
main::flush();
SecondNode::start();
my ($cookie) = main::mint_as('Laptop/1.0', subject => 'dave');
is(main::app('B', $cookie), 200, 'opens on B');
is(main::app('B', $cookie), 200, 'and again (verified cache)');
StoreServers::stop($_) for @main::MEMCACHED;
my $incidents = qr/\[error\].*memcached 127\.0\.0\.1:1143[12] unavailable/;
my %first;
for my $round (1 .. 3) {
    for my $node ('A', 'B') {
        is((main::admin($node, 'GET', '?subject=dave'))[0], 503, "$node: listing fails closed ($round)");
        is((main::admin($node, 'DELETE', '?subject=dave'))[0], 503, "$node: revoking fails closed ($round)");
        is(main::app($node, $cookie), 503, "$node: the session fails closed ($round)");
    }
    if ($round == 1) {
        %first = (A => scalar error_lines($incidents), B => scalar SecondNode::error_lines($incidents));
        ok($first{$_} >= 1 && $first{$_} <= 2, "$_ logged the incident of each server it asked ($first{$_})") for 'A', 'B';
    }
}
is(scalar error_lines($incidents), $first{A}, 'A: no more lines for the later requests');
is(scalar SecondNode::error_lines($incidents), $first{B}, 'B: no more lines for the later requests');
is(scalar error_lines(qr/\[warn\].*registry/), 0, 'A: no registry warnings on top');
StoreServers::spawn($_) for @main::MEMCACHED;
# memcached keeps nothing across a restart: the session is gone, and that is what both nodes say.
my $back;
for (1 .. 40) { $back = main::app('B', $cookie); last if $back != 503; Time::HiRes::sleep(0.1) }
is($back, 401, 'B: served again (the restarted servers lost the session)');
my ($status, $list) = main::admin('A', 'GET', '?subject=dave');
is($status, 200, 'A: the admin API answers again');
SecondNode::stop();
--- request
GET /admin?subject=dave
--- error_code: 200
--- no_error_log
[crit]
[alert]
