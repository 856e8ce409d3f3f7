# The store bridge itself (src/bridge -> dist/store-bridge.js, nginx/store-bridge*.conf), driven with raw
# sockets on its front port (7379) so that the test decides where packets start and end, against real
# stores started by this file: redis-server on 6391 (the main one), 6392 (a second store, for 421/403)
# and 6393 (with requirepass, for AUTH preludes), memcached on 11411.
#
# What is checked: each request on a connection gets exactly its own replies, in order, sequential or
# pipelined; requests cut into tiny writes and binary values (CR LF, NUL, bytes >= 0x80, RESP and HTTP
# look-alikes) round-trip byte for byte, also when Redis' reply spans many TCP segments; the prelude
# (SELECT, AUTH) takes effect, runs once per connection and never shows in a reply, and a refused one
# is a 502 that closes; a silent store is a 504 within the request's t and its late reply reaches no
# one; a dead store is a 502 and the bridge serves again once it is back; 403/421/400 (and an error
# never overtaking an earlier request's answer); memcached meta commands; direct mode; a body that is not
# exactly its n commands (memcached or Redis: nested arrays, inline commands) is a 400; a store's protocol
# error or a too deeply nested reply is a 502; a store resetting the connection mid-write is a 502 and
# no JavaScript exception; each of these closes the connection.
#
# Expected bytes are the stores' own protocol for values chosen here, or what the store returns when
# asked directly (BridgeClient::redis_direct / memcached_direct, redis-cli), never the bridge's code.
#
# Set-up and helpers: t/lib/StoreServers.pm (servers, the stream{} block), t/lib/BridgeClient.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use StoreServers;
use BridgeClient qw(resp bulk bridge_request redis_direct memcached_direct);
use Time::HiRes qw(sleep time);

$ENV{TEST_NGINX_JS_ENGINE} //= 'njs';
$ENV{TEST_NGINX_MODULES_DIR} //= '/usr/lib/nginx/modules';

our $R1 = StoreServers::start('redis-server', 6391);
our $R2 = StoreServers::start('redis-server', 6392);
our $AUTH_PASSWORD = 'bridge-pass-5e07c1';
our $R3 = StoreServers::start('redis-server', 6393, '--requirepass', $AUTH_PASSWORD);
our $MC = StoreServers::start('memcached', 11411);
our $T1 = '127.0.0.1:6391';
our $T2 = '127.0.0.1:6392';
our $T3 = '127.0.0.1:6393';
our $TMC = '127.0.0.1:11411';
our $Block;    # the block being run, for the init wrapper

# A 200 KB value that holds every byte value, CR LF, NUL and look-alikes of RESP and HTTP.
srand(145);
our $BINARY = join '', "+OK\r\n", "\0\r\n\xff\x80", "\r\n\$5\r\nabcde\r\n*2\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", map { chr int rand 256 } 1 .. 200_000;
die "BINARY must be bytes\n" if utf8::is_utf8($BINARY);

add_block_preprocessor(sub {
    my $block = shift;
    $::Block = $block;
    $block->set_value('main_config', StoreServers::main_config()) unless defined $block->main_config;
    $block->set_value('config', "    location = /t { return 200 \"ok\\n\"; }\n") unless defined $block->config;
    $block->set_value('request', "GET /t") unless defined $block->request;
    $block->set_value('response_body', "ok\n") unless defined $block->response_body;
    $block->set_value('log_level', 'info') unless defined $block->log_level;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]\n[emerg]") unless defined $block->no_error_log;
    $block->set_value('init', "package main;\nTest::More::subtest(\$::Block->name . ' - init' => sub {\n"
                              . $block->init . "\n});\n") if defined $block->init;
});

# One request on a connection and its response.
sub call {
    my ($c, %request) = @_;
    my $seconds = delete $request{wait} // 5;
    $c->send(bridge_request(%request));
    return $c->read_response($seconds);
}

sub r1 { return StoreServers::cli($main::R1, @_) }

# After an error, the connection serves nothing more: a SET of a fresh key sent on it to $target gets
# no 200, and the store ($server) never ran it. Options: prelude => [...] for that request, cli => [...]
# more redis-cli arguments (AUTH).
my $probe = 0;
sub serves_nothing_more {
    my ($c, $server, $target, %o) = @_;
    my $key = 'after-error:' . ++$probe . ':' . int(rand 1e9);
    my $res = call($c, target => $target, prelude => $o{prelude} // [], commands => [[SET => $key, 'must-not-be-run']], wait => 1);
    sleep 0.2;
    Test::More::ok(($res->{status} // 0) != 200, 'a request sent after it is not answered with 200')
        or Test::More::diag("got $res->{status}: $res->{body}");
    Test::More::is(StoreServers::cli($server, @{ $o{cli} // [] }, 'EXISTS', $key), '0', 'nor run by the store');
}

# The number of calls of a command Redis counted since CONFIG RESETSTAT.
sub calls {
    my ($server, $command) = @_;
    my ($calls) = StoreServers::cli($server, 'INFO', 'commandstats') =~ /^cmdstat_\Q$command\E:calls=(\d+)/m;
    return $calls // 0;
}

sub bridge_log {
    open my $in, '<', "$Test::Nginx::Util::LogDir/store-bridge.log" or return '';
    local $/;
    return scalar <$in>;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: several requests on one connection: each answered with exactly its own replies, in order
--- init
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::T1, commands => [[SET => 'seq:a', 'alpha'], [GET => 'seq:a']]);
is($res->{status}, 200, 'first request: 200');
is($res->{body}, "+OK\r\n" . bulk('alpha'), 'first request: its two replies, nothing else');
is($res->{headers}{connection}, undef, 'proxy mode: no Connection: close');
$res = main::call($c, target => $main::T1, commands => [[SET => 'seq:b', 'bravo-2'], [GET => 'seq:b'], [GET => 'seq:a']]);
is($res->{body}, "+OK\r\n" . bulk('bravo-2') . bulk('alpha'), 'second request: its three replies');
$res = main::call($c, target => $main::T1, commands => [[DEL => 'seq:a'], [GET => 'seq:a'], [INCRBY => 'seq:n', 41], [INCR => 'seq:n']]);
is($res->{body}, ":1\r\n\$-1\r\n:41\r\n:42\r\n", 'third request: integer and nil replies');
$res = main::call($c, target => $main::T1, commands => [[GET => 'seq:b']]);
is($res->{body}, bulk('bravo-2'), 'fourth request: one reply');
is(main::r1('GET', 'seq:b'), 'bravo-2', 'Redis holds what was written');
is(main::r1('EXISTS', 'seq:a'), '0', 'and the DEL happened');
is(main::r1('GET', 'seq:n'), '42', 'and the INCRs');
is($c->closed_within(0.3), 'open', 'the connection stays open for more');



=== TEST 2: pipelining: requests written back-to-back before reading anything get their own replies, in order
--- init
is(redis_direct(6391, 'SET', 'pipe:big', 'B' x 150_000), "+OK\r\n", 'a 150 KB value written straight to Redis');
my $c = BridgeClient->new;
my @expected;
my $bytes = '';
for my $i (1 .. 20) {
    my $value = "value-$i-" . ('x' x $i);
    # The 7th request's reply is 150 KB: the replies after it are ready long before it is complete.
    my @commands = ([SET => "pipe:$i", $value], [GET => "pipe:$i"]);
    push @commands, [GET => 'pipe:big'] if $i == 7;
    $bytes .= bridge_request(target => $main::T1, commands => \@commands);
    push @expected, "+OK\r\n" . bulk($value) . ($i == 7 ? bulk('B' x 150_000) : '');
}
ok($c->send($bytes), 'twenty requests in one write');
my @bodies = map { my $r = $c->read_response(10); ($r->{status} // 'none') eq '200' ? $r->{body} : "status " . ($r->{status} // 'none') } 1 .. 20;
for my $i (1 .. 20) {
    ok($bodies[$i - 1] eq $expected[$i - 1], "request $i: exactly its own replies")
        or diag('got ' . length($bodies[$i - 1]) . ' bytes: ' . substr($bodies[$i - 1], 0, 80));
}
is(main::r1('GET', 'pipe:20'), 'value-20-' . ('x' x 20), 'Redis holds the last value');
# Two more, the second written before the first is answered, head of one in the packet of the other.
my $one = bridge_request(target => $main::T1, commands => [[GET => 'pipe:3']]);
my $two = bridge_request(target => $main::T1, commands => [[GET => 'pipe:4']]);
$c->send($one . substr($two, 0, 10));
$c->send(substr($two, 10));
is($c->read_response(5)->{body}, bulk('value-3-xxx'), 'request 21');
is($c->read_response(5)->{body}, bulk('value-4-xxxx'), 'request 22');



=== TEST 3: requests in tiny writes, and binary values, round-trip byte for byte
--- init
my $c = BridgeClient->new;
# Byte by byte, head and body.
$c->send(bridge_request(target => $main::T1, commands => [[SET => 'tiny:k', "tiny\r\nvalue"], [GET => 'tiny:k']]), chunks => [1], pause => 0.002);
my $res = $c->read_response(5);
is($res->{status}, 200, 'byte by byte: 200');
is($res->{body}, "+OK\r\n" . bulk("tiny\r\nvalue"), 'byte by byte: the replies');
# 200 KB of binary, head byte by byte, body in irregular writes.
my $request = bridge_request(target => $main::T1, commands => [[SET => 'bin:k', $main::BINARY]]);
my $head_end = index($request, "\r\n\r\n") + 4;
$c->send(substr($request, 0, $head_end), chunks => [1], pause => 0.001);
$c->send(substr($request, $head_end), chunks => [1, 2, 4093, 1, 17, 65536, 3, 8191, 5], pause => 0.002);
$res = $c->read_response(10);
is($res->{body}, "+OK\r\n", 'the 200 KB SET: +OK');
ok(redis_direct(6391, 'GET', 'bin:k') eq bulk($main::BINARY), 'Redis holds the 200 KB value byte for byte');
$res = main::call($c, target => $main::T1, commands => [[GET => 'bin:k'], [STRLEN => 'bin:k']], wait => 10);
ok($res->{body} eq bulk($main::BINARY) . ':' . length($main::BINARY) . "\r\n", 'GET through the bridge: the same bytes, then STRLEN')
    or diag('got ' . length($res->{body}) . ' bytes');
# A value that is itself a RESP reply, and one that is an HTTP response.
$res = main::call($c, target => $main::T1, commands => [[SET => 'look:resp', "+OK\r\n"], [SET => 'look:http', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], [GET => 'look:resp'], [GET => 'look:http']]);
is($res->{body}, "+OK\r\n+OK\r\n" . bulk("+OK\r\n") . bulk("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 'look-alike values are values');
is(redis_direct(6391, 'GET', 'look:resp'), bulk("+OK\r\n"), 'Redis holds "+OK\r\n"');
# The connection still counts right after all that.
is(main::call($c, target => $main::T1, commands => [[GET => 'tiny:k']])->{body}, bulk("tiny\r\nvalue"), 'and the next request is answered right');



=== TEST 4: a reply of hundreds of KB (many TCP segments from Redis) is put back together, then the next
--- init
my $big = join '', map { chr(($_ * 7 + 13) % 256) } 1 .. 700_000;
is(redis_direct(6391, 'SET', 'split:big', $big), "+OK\r\n", 'the 700 KB value written straight to Redis');
redis_direct(6391, 'SET', 'split:small', 'after-the-big-one');
my $c = BridgeClient->new;
# The big reply, a small one right behind it in the same request, and a request pipelined after.
$c->send(bridge_request(target => $main::T1, commands => [[GET => 'split:big'], [GET => 'split:small']])
         . bridge_request(target => $main::T1, commands => [[GET => 'split:small'], [GET => 'split:big']]));
my $res = $c->read_response(10);
is($res->{status}, 200, 'first: 200');
ok($res->{body} eq bulk($big) . bulk('after-the-big-one'), 'first: 700 KB then the small one, byte for byte')
    or diag('got ' . length($res->{body}) . ' bytes');
$res = $c->read_response(10);
ok($res->{body} eq bulk('after-the-big-one') . bulk($big), 'second: the small one then 700 KB')
    or diag('got ' . length($res->{body}) . ' bytes');
is(main::call($c, target => $main::T1, commands => [[STRLEN => 'split:big']])->{body}, ":700000\r\n", 'third: its own reply');



=== TEST 5: prelude SELECT lands in its database, runs once per connection and never shows in a reply
--- init
StoreServers::cli($main::R1, 'CONFIG', 'RESETSTAT');
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::T1, prelude => [[SELECT => 2]], commands => [[SET => 'pre:k', 'in-db-2']]);
is($res->{status}, 200, 'first request: 200');
is($res->{body}, "+OK\r\n", 'only the SET\'s reply, not the SELECT\'s');
$res = main::call($c, target => $main::T1, prelude => [[SELECT => 2]], commands => [[GET => 'pre:k'], [SET => 'pre:k2', 'two']]);
is($res->{body}, bulk('in-db-2') . "+OK\r\n", 'second request, same prelude: its two replies');
$res = main::call($c, target => $main::T1, prelude => [[SELECT => 2]], commands => [[GET => 'pre:k2']]);
is($res->{body}, bulk('two'), 'third request, same prelude: its one reply');
is(main::calls($main::R1, 'select'), 1, 'Redis ran SELECT once for the three requests');
# Another prelude on the same connection runs.
$res = main::call($c, target => $main::T1, prelude => [[SELECT => 3]], commands => [[SET => 'pre:k3', 'in-db-3']]);
is($res->{body}, "+OK\r\n", 'another prelude: only the SET\'s reply');
is(main::calls($main::R1, 'select'), 2, 'and Redis ran it');
is(StoreServers::cli($main::R1, '-n', 2, 'GET', 'pre:k'), 'in-db-2', 'the key is in database 2');
is(StoreServers::cli($main::R1, '-n', 2, 'GET', 'pre:k2'), 'two', 'so is the second');
is(StoreServers::cli($main::R1, '-n', 3, 'GET', 'pre:k3'), 'in-db-3', 'the third is in database 3');
is(StoreServers::cli($main::R1, '-n', 0, 'EXISTS', 'pre:k'), '0', 'none in database 0');



=== TEST 6: AUTH prelude: right, it is invisible; wrong, 502 with Redis' error and the connection closes
--- init
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::T3, prelude => [[AUTH => $main::AUTH_PASSWORD], [SELECT => 1]], commands => [[SET => 'auth:k', 'ok-1']]);
is($res->{status}, 200, 'right password: 200');
is($res->{body}, "+OK\r\n", 'only the SET\'s reply');
$res = main::call($c, target => $main::T3, prelude => [[AUTH => $main::AUTH_PASSWORD], [SELECT => 1]], commands => [[GET => 'auth:k'], [GET => 'auth:none']]);
is($res->{body}, bulk('ok-1') . "\$-1\r\n", 'again: its two replies');
is(StoreServers::cli($main::R3, '-a', $main::AUTH_PASSWORD, '--no-auth-warning', '-n', 1, 'GET', 'auth:k'), 'ok-1', 'Redis holds it in database 1');
my $bad = BridgeClient->new;
$res = main::call($bad, target => $main::T3, prelude => [[AUTH => 'not-the-password']], commands => [[SET => 'auth:bad', 'x']]);
is($res->{status}, 502, 'wrong password: 502');
like($res->{body}, qr/WRONGPASS/, 'the body says what Redis said');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($bad->closed_within(2), 'eof', 'the bridge closes the connection');
# Even with the right password in its prelude, the connection takes nothing more.
main::serves_nothing_more($bad, $main::R3, $main::T3, prelude => [[AUTH => $main::AUTH_PASSWORD]],
                          cli => ['-a', $main::AUTH_PASSWORD, '--no-auth-warning']);



=== TEST 7: a silent store (SIGSTOP): 504 within t ms, closed once it runs again; its late reply reaches no one
--- init
my $unique = 'before-pause-' . int(rand 1e9);
my $c = BridgeClient->new;
is(main::call($c, target => $main::T1, commands => [[SET => 'pause:k', $unique]])->{body}, "+OK\r\n", 'written before the pause');
StoreServers::pause($main::R1);
my $start = time;
my $res = main::call($c, target => $main::T1, commands => [[GET => 'pause:k']], t => 300);
my $took = time - $start;
is($res->{status}, 504, 'status 504');
ok($took >= 0.28 && $took < 1.0, "after about 300 ms ($took s)");
is($res->{headers}{connection}, 'close', 'Connection: close');
# A stream filter cannot close the client side itself: the bridge asks the store to hang up (QUIT),
# which a stopped store does once it runs again. ngx.fetch closes on "Connection: close" in any case.
is($c->closed_within(0.5), 'open', 'open while the store is stopped');
StoreServers::resume($main::R1);
is($c->closed_within(2), 'eof', 'the bridge closes the connection once the store runs again');
sleep 0.3;    # the late reply reaches the bridge
my $fresh = BridgeClient->new;
$res = main::call($fresh, target => $main::T1, commands => [[SET => 'pause:k', 'after-resume'], [GET => 'pause:k']]);
is($res->{status}, 200, 'a new connection after resume: 200');
is($res->{body}, "+OK\r\n" . bulk('after-resume'), 'its own replies, not the late one');
is(main::call($fresh, target => $main::T1, commands => [[GET => 'pause:k']])->{body}, bulk('after-resume'), 'and the next, too');
is(main::r1('GET', 'pause:k'), 'after-resume', 'Redis holds the new value');
# Nor does the old connection deliver it, whether it was closed or not.
my $again = main::call($c, target => $main::T1, commands => [[GET => 'pause:k']], wait => 1);
ok(($again->{status} // 0) != 200, 'the old connection answers no further request');
unlike(join('', $again->{body} // '', $again->{partial} // '', $c->{buffer}), qr/\Q$unique\E/, 'and never delivers the late reply');



=== TEST 8: the store down: 502 with Connection: close; back up, the same bridge serves again
--- no_error_log
[alert]
[crit]
[emerg]
--- init
my $idle = BridgeClient->new;
is(main::call($idle, target => $main::T1, commands => [[SET => 'down:k', 'v1']])->{body}, "+OK\r\n", 'a connection in use before');
StoreServers::stop($main::R1);
my $c = BridgeClient->new;
my $start = time;
my $res = main::call($c, target => $main::T1, commands => [[SET => 'down:k', 'v2']]);
is($res->{status}, 502, 'a new connection while the store is down: 502');
ok(time - $start < 1.5, 'at once');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($c->closed_within(2), 'eof', 'the bridge closes the connection');
# The connection that was open when the store went away serves nothing.
$res = main::call($idle, target => $main::T1, commands => [[GET => 'down:k']], wait => 2);
ok($res->{eof} || ($res->{status} // 0) == 502, 'the connection from before: closed or 502, never an answer')
    or Test::More::diag(Test::More::explain($res));
StoreServers::spawn($main::R1);
my $back = BridgeClient->new;
$res = main::call($back, target => $main::T1, commands => [[SET => 'down:k', 'v3'], [GET => 'down:k']]);
is($res->{status}, 200, 'back up: 200 on a new connection');
is($res->{body}, "+OK\r\n" . bulk('v3'), 'with its replies');
is(main::r1('GET', 'down:k'), 'v3', 'Redis holds it');
like(main::bridge_log(), qr/connect\(\) failed .*6391/, 'the relay logged the refused connection');



=== TEST 9: 403 for a store outside $njs_session_store_allow; the allowed one works
--- main_config eval
StoreServers::main_config(_bridge => { allow => '127.0.0.1:6391' })
--- no_error_log
[error]
[alert]
[crit]
[emerg]
--- init
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::T2, commands => [[SET => 'forbidden:k', 'x']]);
like(main::bridge_log(), qr/\[warn\].*store 127\.0\.0\.1:6392 is not in \$njs_session_store_allow/, "the bridge's log says why");
is($res->{status}, 403, 'status 403');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($c->closed_within(2), 'eof', 'the bridge closes the connection');
is(StoreServers::cli($main::R2, 'EXISTS', 'forbidden:k'), '0', 'nothing reached that store');
main::serves_nothing_more($c, $main::R2, $main::T2);
my $ok = BridgeClient->new;
is(main::call($ok, target => $main::T1, commands => [[SET => 'allowed:k', 'y']])->{status}, 200, 'the allowed store: 200');
is(main::r1('GET', 'allowed:k'), 'y', 'and written');



=== TEST 10: 421 for a second store on a connection bound to one
--- init
my $c = BridgeClient->new;
is(main::call($c, target => $main::T1, commands => [[SET => 'bound:k', 'one']])->{body}, "+OK\r\n", 'bound to 6391');
my $res = main::call($c, target => $main::T2, commands => [[SET => 'bound:k', 'two']]);
is($res->{status}, 421, 'a request for 6392: 421');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($c->closed_within(2), 'eof', 'the bridge closes the connection');
is(StoreServers::cli($main::R2, 'EXISTS', 'bound:k'), '0', 'nothing reached 6392');
is(main::r1('GET', 'bound:k'), 'one', 'nor was it sent to 6391');
main::serves_nothing_more($c, $main::R1, $main::T1);



=== TEST 11: 400 for garbage, a wrong command count, a bad query, a body over 1 MB; each closes
--- init
my @cases = (
    ['not HTTP',             "hello there\r\n\r\n"],
    ['GET',                  "GET http://127.0.0.1:6391/redis?n=1&t=100 HTTP/1.1\r\nHost: 127.0.0.1:6391\r\nContent-Length: 0\r\n\r\n"],
    ['unknown path',         bridge_request(target => $main::T1, commands => [[GET => 'x']]) =~ s{/redis\?}{/other?}r],
    ['n says 2, body has 1', bridge_request(target => $main::T1, commands => [[SET => 'bad:k', 'x']], n => 2)],
    ['no t',                 bridge_request(target => $main::T1, commands => [[GET => 'x']]) =~ s{&t=\d+}{}r],
    ['chunked',              "POST http://127.0.0.1:6391/redis?n=1&t=100 HTTP/1.1\r\nHost: 127.0.0.1:6391\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
);
for my $case (@cases) {
    my ($name, $bytes) = @$case;
    my $c = BridgeClient->new;
    $c->send($bytes);
    my $res = $c->read_response(3);
    is($res->{status}, 400, "$name: 400");
    is($res->{headers}{connection}, 'close', "$name: Connection: close");
    is($c->closed_within(1), 'eof', "$name: the bridge closes the connection");
}
is(main::r1('EXISTS', 'bad:k'), '0', 'the miscounted SET was not run');
my $c = BridgeClient->new;
is(main::call($c, target => $main::T1, commands => [[SET => 'bad:ok', '1']])->{status}, 200, 'a good request first');
$c->send("garbage after a good one\r\n\r\n");
my $res = $c->read_response(3);
is($res->{status}, 400, 'then garbage: 400');
is($c->closed_within(1), 'eof', 'and the connection closes');
main::serves_nothing_more($c, $main::R1, $main::T1);
my $big = BridgeClient->new;
$big->send("POST http://127.0.0.1:6391/redis?n=1&t=100 HTTP/1.1\r\nHost: 127.0.0.1:6391\r\nContent-Length: 1048577\r\n\r\n");
$res = $big->read_response(3);
like($res->{status} // 'none', qr/^(400|413)$/, 'Content-Length over 1 MB: refused (400 or 413)');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($big->closed_within(1), 'eof', 'and the connection closes');



=== TEST 12: an error on a pipelined request does not overtake the answer of the request before it
--- init
# Pipelined: a good request, then garbage, in one write. HTTP/1.1 answers in order: the good one's
# 200 with its reply comes first, then the 400. Answering 400 first would tell the client that its
# SET failed, while Redis ran it.
my $c = BridgeClient->new;
$c->send(bridge_request(target => $main::T1, commands => [[SET => 'order:k', 'ran']]) . "garbage\r\n\r\n");
my $first = $c->read_response(3);
my $second = $c->read_response(3);
is(main::r1('GET', 'order:k'), 'ran', 'Redis ran the good request\'s SET');
is($first->{status}, 200, 'the first response answers the good request: 200');
is($first->{body}, "+OK\r\n", 'with its reply');
is($second->{status}, 400, 'the second answers the garbage: 400');
# The same with a request for another store.
my $d = BridgeClient->new;
$d->send(bridge_request(target => $main::T1, commands => [[SET => 'order:k2', 'ran-too']])
         . bridge_request(target => $main::T2, commands => [[GET => 'order:k2']]));
$first = $d->read_response(3);
$second = $d->read_response(3);
is(main::r1('GET', 'order:k2'), 'ran-too', 'Redis ran the first request\'s SET');
is($first->{status}, 200, 'the first response answers the first request: 200');
is($second->{status}, 421, 'the second answers the request for another store: 421');



=== TEST 13: memcached meta commands through /memcached: several requests, a split value, a miss
--- init
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 2, body => "ms mc:a 5 T60\r\nhello\r\nmg mc:a v\r\n");
is($res->{status}, 200, 'ms + mg: 200');
is($res->{body}, "HD\r\nVA 5\r\nhello\r\n", 'stored, then the value');
$res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 1, body => "mg mc:none v\r\n");
is($res->{body}, "EN\r\n", 'a miss: EN');
# 100 KB of binary (with CR LF and a look-alike of a meta reply) in tiny and irregular writes.
my $value = "EN\r\nVA 3\r\nabc\r\n" . substr($main::BINARY, 0, 100_000);
my $request = bridge_request(target => $main::TMC, protocol => 'memcached', n => 1, body => "ms mc:big " . length($value) . "\r\n$value\r\n");
$c->send($request, chunks => [1, 3, 1000, 7, 30000], pause => 0.002);
is($c->read_response(5)->{body}, "HD\r\n", 'the split value: HD');
ok(memcached_direct(11411, "mg mc:big v\r\n") eq "VA " . length($value) . "\r\n$value\r\n", 'memcached holds it byte for byte');
$res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 3, body => "mg mc:big v\r\nmn\r\nmg mc:a v\r\n");
ok($res->{body} eq "VA " . length($value) . "\r\n$value\r\nMN\r\nVA 5\r\nhello\r\n", 'mg of it (a reply in many segments), mn, mg')
    or diag('got ' . length($res->{body}) . ' bytes');
$res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 2, body => "md mc:a\r\nmd mc:a\r\n");
is($res->{body}, "HD\r\nNF\r\n", 'md twice: HD, then NF');
is(memcached_direct(11411, "mg mc:a v\r\n"), "EN\r\n", 'memcached no longer has it');
# Pipelined.
$c->send(join '', map { bridge_request(target => $main::TMC, protocol => 'memcached', n => 2, body => "ms mc:p$_ " . length("v$_") . "\r\nv$_\r\nmg mc:p$_ v\r\n") } 1 .. 5);
is(join('|', map { $c->read_response(5)->{body} } 1 .. 5), join('|', map { "HD\r\nVA " . length("v$_") . "\r\nv$_\r\n" } 1 .. 5), 'five pipelined requests: each its own replies');



=== TEST 14: direct mode (origin-form request line, the store in Host): one request per connection, Connection: close
--- init
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::T1, direct => 1, commands => [[SET => 'direct:k', 'direct-value'], [GET => 'direct:k']]);
is($res->{status}, 200, 'status 200');
is($res->{body}, "+OK\r\n" . bulk('direct-value'), 'its replies');
is($res->{headers}{connection}, 'close', 'Connection: close');
is(main::r1('GET', 'direct:k'), 'direct-value', 'Redis holds it');
is($c->closed_within(2), 'eof', 'the bridge closes the connection after the response');
# Connection: close means this connection served its one request (RFC 9112 9.6).
main::serves_nothing_more($c, $main::R1, $main::T1);
$c = BridgeClient->new;
$res = main::call($c, target => $main::TMC, direct => 1, protocol => 'memcached', n => 1, body => "mn\r\n");
is($res->{body}, "MN\r\n", 'memcached in direct mode');
is($res->{headers}{connection}, 'close', 'Connection: close');



=== TEST 15: memcached: the body holds exactly n commands that get one reply each, or 400 and the connection closes
--- init
# The front counts command lines, stepping over the data block of ms/set (whatever it looks like),
# so that each request gets exactly its own replies: one command too many would leave its reply to be
# read as the next request's. Expected replies are memcached's own (STORED, HD, VA).
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 1, body => "ms mc:data 10\r\nmn\r\nmn\r\nmn\r\n");
is($res->{status}, 200, 'ms whose data looks like three mn lines: one command, 200');
is($res->{body}, "HD\r\n", 'its one reply');
$res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 2, body => "set mc:classic 0 0 4\r\nmn\r\n\r\nmg mc:classic v\r\n");
is($res->{body}, "STORED\r\nVA 4\r\nmn\r\n\r\n", 'classic set (its data block, too) then mg: two replies');
is(memcached_direct(11411, "mg mc:data v\r\n"), "VA 10\r\nmn\r\nmn\r\nmn\r\n", 'memcached holds the look-alike data');
my @cases = (
    ['n=1, three mn',                 1, "mn\r\nmn\r\nmn\r\n"],
    ['n=1, mn then a smuggled ms',    1, "mn\r\nms mc:smuggled 1\r\nx\r\n"],
    ['n=3, one mn',                   3, "mn\r\n"],
    ['a bare LF (memcached ends a line there)', 1, "mn\nms mc:smuggled 1\r\nx\r\n"],
    ['a data block of another size',  1, "ms mc:smuggled 3\r\nx\r\nmn\r\n"],
    ['the q flag (no reply on a miss)', 1, "mg mc:none v q\r\n"],
    # The line is decoded as UTF-8: an invalid sequence must not swallow the space before the flag.
    ['the q flag after invalid UTF-8', 1, "mg mc:none\xc3 q\r\n"],
    ['the q flag after a truncated sequence', 1, "mg mc:none\xe2\x82 q\r\n"],
    ['noreply',                       1, "set mc:smuggled 0 0 1 noreply\r\nx\r\n"],
    ['classic get (VALUE ... END)',   1, "get mc:data\r\n"],
);
for my $case (@cases) {
    my ($name, $n, $body) = @$case;
    my $bad = BridgeClient->new;
    $res = main::call($bad, target => $main::TMC, protocol => 'memcached', n => $n, body => $body);
    is($res->{status}, 400, "$name: 400");
    is($res->{headers}{connection}, 'close', "$name: Connection: close");
    is($bad->closed_within(2), 'eof', "$name: the bridge closes the connection");
}
is(memcached_direct(11411, "mg mc:smuggled v\r\n"), "EN\r\n", 'no smuggled command reached memcached');
is(main::call($c, target => $main::TMC, protocol => 'memcached', n => 1, body => "mg mc:classic v\r\n")->{body}, "VA 4\r\nmn\r\n\r\n",
   'the first connection still answers each request with its own reply');



=== TEST 16: Redis: the body holds exactly n commands, each an array of bulk strings, or 400 and the connection closes
--- init
# Anything else Redis would count differently (an inline command ends at a bare LF) or answer with a
# protocol error and a closed connection (a nested array); 5,000 nested arrays must not reach it.
StoreServers::cli($main::R1, 'CONFIG', 'RESETSTAT');
my @cases = (
    ['5,000 nested arrays',                    ("*1\r\n" x 5000) . resp('PING')],
    ['one nested array',                       "*1\r\n" . resp('PING')],
    ['a bare LF: one value for RESP, two inline commands for Redis', "+x\nSET inline:k smuggled\r\n"],
    ['an integer where a command belongs',     ":1\r\n"],
    ['an array of integers',                   "*1\r\n:1\r\n"],
);
for my $case (@cases) {
    my ($name, $body) = @$case;
    my $c = BridgeClient->new;
    my $res = main::call($c, target => $main::T1, n => 1, body => $body);
    is($res->{status}, 400, "$name: 400");
    is($res->{headers}{connection}, 'close', "$name: Connection: close");
    is($c->closed_within(2), 'eof', "$name: the bridge closes the connection");
}
is(main::r1('EXISTS', 'inline:k'), '0', 'the smuggled SET was not run');
unlike(StoreServers::cli($main::R1, 'INFO', 'errorstats'), qr/errorstat_/, 'Redis answered no protocol error: none of it reached Redis');



=== TEST 17: a reply by which the store says it lost track, or one too deeply nested, is a 502 that closes
--- init
# Redis answers "-ERR Protocol error" and closes (here: a value over 16 KB before AUTH);
# memcached answers CLIENT_ERROR to a line it does not read as the front does (a key over 250 bytes).
my $c = BridgeClient->new;
my $res = main::call($c, target => $main::T3, commands => [[SET => 'unauth:k', 'U' x 20_000]]);
is($res->{status}, 502, 'Redis "Protocol error": 502, not a 200 carrying it');
like($res->{body}, qr/Protocol error/, 'the body says what Redis said');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($c->closed_within(2), 'eof', 'the bridge closes the connection');
$c = BridgeClient->new;
$res = main::call($c, target => $main::TMC, protocol => 'memcached', n => 1, body => 'mg ' . ('k' x 300) . " v\r\n");
is($res->{status}, 502, 'memcached CLIENT_ERROR: 502');
like($res->{body}, qr/CLIENT_ERROR/, 'the body says what memcached said');
is($c->closed_within(2), 'eof', 'the bridge closes the connection');
# A script's nested tables come back as nested arrays.
my $nested = sub { my ($depth) = @_; return "local t = 1 for i = 1, $depth do t = {t} end return t" };
$c = BridgeClient->new;
$res = main::call($c, target => $main::T1, commands => [[EVAL => $nested->(3), 0]]);
is($res->{status}, 200, 'a reply nested 3 deep (as deep as CLUSTER SLOTS): 200');
is($res->{body}, ("*1\r\n" x 3) . ":1\r\n", 'the nested reply, byte for byte');
$res = main::call($c, target => $main::T1, commands => [[EVAL => $nested->(50), 0]]);
is($res->{status}, 502, 'a reply nested 50 deep: 502');
like($res->{body}, qr/malformed reply/, 'a malformed reply, says the body');
is($res->{headers}{connection}, 'close', 'Connection: close');
is($c->closed_within(2), 'eof', 'the bridge closes the connection');



=== TEST 18: the store resets the connection while the front still writes to it: 502 and close, no JavaScript exception
--- init
# QUIT first: Redis answers it and closes with the 900 KB SET unread, which resets the relay's
# connection, and the relay then resets the front's. The front's own writes to it then fail; before
# they were caught, njs threw "ngx_stream_js_next_filter() failed" out of the filter (an [error] in
# the bridge's log, and the session ended wherever it was).
for my $round (1 .. 5) {
    my $c = BridgeClient->new;
    my $res = main::call($c, target => $main::T1, commands => [['QUIT'], [SET => 'reset:k', 'R' x 900_000]]);
    is($res->{status}, 502, "round $round: 502");
    is($res->{headers}{connection}, 'close', "round $round: Connection: close");
    is($c->closed_within(2), 'eof', "round $round: the bridge closes the connection");
}
unlike(main::bridge_log(), qr/js (call )?exception/, 'no JavaScript exception in the bridge log');
is(main::r1('EXISTS', 'reset:k'), '0', 'Redis never ran the SET');



=== TEST 19: answers of the same size on one connection each carry their own bytes (sequential, pipelined, after a prelude, memcached)
--- init
# A connection keeps its last 200 answer and copies the next replies of the same size over it: a
# stale copy, or one at the wrong offset, would answer a request with the previous one's bytes.
my @values = map { sprintf('same-size-%02d-', $_) . chr(65 + $_) x 12 } 1 .. 6;
StoreServers::cli($main::R1, 'SET', "same:$_", $values[$_ - 1]) for 1 .. 6;
my $c = BridgeClient->new;
for my $i (1 .. 3) {
    is(main::call($c, target => $main::T1, commands => [[GET => "same:$i"]])->{body}, bulk($values[$i - 1]), "sequential $i: its own value");
}
# A prelude's replies are dropped: the request's own start after them in the store's bytes.
is(main::call($c, target => $main::T1, prelude => [[SELECT => 0]], commands => [[GET => 'same:4']])->{body}, bulk($values[3]), 'after a prelude: its own value');
$c->send(join '', map { bridge_request(target => $main::T1, commands => [[GET => "same:$_"]]) } 5, 6, 1);
is($c->read_response(5)->{body}, bulk($values[4]), 'pipelined 5: its own value');
is($c->read_response(5)->{body}, bulk($values[5]), 'pipelined 6: its own value');
is($c->read_response(5)->{body}, bulk($values[0]), 'pipelined 1: its own value');
# A longer answer between two of the old size: each is its own again.
is(main::call($c, target => $main::T1, commands => [[GET => 'same:2'], [GET => 'same:3']])->{body}, bulk($values[1]) . bulk($values[2]), 'two replies: both values');
is(main::call($c, target => $main::T1, commands => [[GET => 'same:2']])->{body}, bulk($values[1]), 'then one reply of the old size: its own value');
my $m = BridgeClient->new;
for my $i (1 .. 3) {
    is(memcached_direct(11411, "ms same:$i " . length($values[$i - 1]) . " T60\r\n$values[$i - 1]\r\n"), "HD\r\n", "memcached holds value $i");
}
for my $i (1 .. 3) {
    is(main::call($m, target => $main::TMC, protocol => 'memcached', n => 1, body => "mg same:$i v\r\n")->{body},
       "VA " . length($values[$i - 1]) . "\r\n$values[$i - 1]\r\n", "memcached $i: its own value");
}
