# memcached storage through the store bridge (nginx/store-bridge*.conf), against real memcached servers
# started on loopback by this file, under the engine selected by TEST_NGINX_JS_ENGINE: the key layout
# and value encoding of lua-resty-session's memcached storage (records are plain items that a classic
# `get` reads, and a record the peer wrote with a classic `set` opens here), the session's TTL,
# prefix/suffix, several servers (each record on exactly one of them; removing a server moves only its
# records, adding one moves records only to it), stale_ttl on regeneration, store_metadata, logout,
# and the failure behaviour: a server that is down or silent fails the sessions it holds closed with
# 503 and one error line per incident, without touching the sessions held by the other servers, and
# they recover by themselves.
#
# Where a record is, is always looked up on the servers themselves (classic `get` on each), never
# computed from our own hash.
#
# Set-up and helpers: t/lib/EntryTest.pm, t/lib/StoreServers.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use StoreServers;
use CookieFormat;
use JSON::PP ();
use Time::HiRes qw(sleep time);

our $SECRET = 'memcached-storage-secret-5d27b3';

# 11311: the single-server blocks. 11311-11314: the several-servers blocks (11314 is the one added).
# 11315: killed and restarted by TEST 9; 11316-11317: TEST 10's partial outage; 11318: paused by TEST 11.
our %MC = map { $_ => StoreServers::start('memcached', $_) } 11311 .. 11318;

sub memcached_options { my @ports = @_; return { storage => 'memcached', memcached => { servers => [ map { "127.0.0.1:$_" } @ports ] } } }
our %ONE = (storage => 'memcached', memcached => { port => 11311 });

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /logout { js_content session.logoutHandler; }
    location = /open { js_content harness.openCase; }
    location = /start { js_content harness.startCase; }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);

sub app { my ($cookie) = @_; return http('GET', '/app/x', { Cookie => $cookie }) }

# One memcached text-protocol exchange with the server on PORT.
sub mc { my ($port, $command) = @_; return StoreServers::memcached_command($MC{$port}, $command) }

# The item NAME on the server on PORT as a classic `get` (lua-resty-memcached) reads it: the value,
# or undef when there is none. Dies on an item with flags other than 0.
sub item {
    my ($port, $name) = @_;
    my $reply = mc($port, "get $name\r\n");
    return undef if $reply eq "END\r\n";
    $reply =~ /^VALUE \Q$name\E (\d+) (\d+)\r\n(.*)\r\nEND\r\n\z/s or die "unexpected reply to get $name: $reply";
    die "item $name has flags $1, not 0" if $1 ne '0';
    return $3;
}

# Seconds NAME has left on the server on PORT (meta get's t flag: -1 for none), or undef when missing.
sub ttl {
    my ($port, $name) = @_;
    my $reply = mc($port, "mg $name t\r\n");
    return undef if $reply =~ /^EN\r\n/;
    $reply =~ /^HD t(-?\d+)\r\n\z/ or die "unexpected reply to mg $name t: $reply";
    return $1;
}

# The ports among PORTS whose server holds NAME.
sub holders { my ($name, @ports) = @_; return grep { defined item($_, $name) } @ports }

# Mints COUNT sessions stored on the servers PORTS; returns a list of { subject, cookie, key, holders },
# holders being the ports whose server has the session's record.
sub mint_sessions {
    my ($count, @ports) = @_;
    return map {
        my $lines = mint(subject => "user-$_", options => memcached_options(@ports));
        my $key = store_key($lines);
        +{ subject => "user-$_", cookie => cookie_header(@$lines), key => $key, holders => [ holders("session:$key", @ports) ] };
    } 1 .. $count;
}

# Opens COOKIE with the harness, the storage on the servers PORTS: "accept: ..." or "reject: ...".
sub open_with {
    my ($cookie, @ports) = @_;
    my $body = JSON::PP->new->canonical->encode({ options => { secret => $SECRET, %{ memcached_options(@ports) } } });
    return http('POST', '/open', { Cookie => $cookie, 'Content-Type' => 'application/json' }, $body)->{content};
}

# The status of COOKIE at /app/ once it is no longer 503, polled for up to 5 s; and the seconds it took.
sub status_after_outage {
    my ($cookie) = @_;
    return poll_status('/app/x', $cookie, sub { $_[0] != 503 });
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the cookie is the header alone; memcached holds session:<sid>, a plain item with the session's TTL
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11311}}
--- init
my $lines = mint(subject => 'alice', data => { role => 'admin' }, options => { %main::ONE });
is(length cookie_value($lines, 'session'), 110, 'the cookie is the 110-character header');
my $key = main::store_key($lines);
my $record = main::item(11311, "session:$key");
like($record, qr/^\["[A-Za-z0-9_-]+"\]$/, 'a classic get reads the ciphertext in a JSON array, flags 0, as lua-resty-session stores it');
unlike($record, qr/admin/, 'the data is not readable in memcached');
my $ttl = main::ttl(11311, "session:$key");
ok($ttl > 3500 && $ttl <= 3600, "TTL is the rolling timeout ($ttl)");
is(main::app(cookie_header(@$lines))->{status}, 200, 'the session opens');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: alice



=== TEST 2: a record written with a classic set, as lua-resty-memcached does (the peer's shm-storage vector), opens
--- init
my ($vector) = grep { $_->{id} eq 'shm-storage' } main::load_vectors();
my ($name, $value) = @{ $vector->{store} }{qw(key value)};
is(main::mc(11311, "set $name 0 60 " . length($value) . "\r\n$value\r\n"), "STORED\r\n", 'the peer\'s record is stored');
my %options = (%{ $vector->{opens}[0]{config} }, %main::ONE);
my $body = JSON::PP->new->canonical->encode({ options => \%options, now => $vector->{created_at}, expected => $vector->{opens}[0]{expected} });
my $cookie = join '; ', map { "$_=$vector->{cookies}{$_}" } sort keys %{ $vector->{cookies} };
my $res = http('POST', '/open', { Cookie => $cookie, 'Content-Type' => 'application/json' }, $body);
is($res->{content}, "accept: match\n", 'the peer\'s record opens with the peer\'s data, audience and subject');
is(main::mc(11311, "delete $name\r\n"), "DELETED\r\n", 'the record is deleted');
$res = http('POST', '/open', { Cookie => $cookie, 'Content-Type' => 'application/json' }, $body);
like($res->{content}, qr/^reject: /, 'without the record: no session');
--- request
GET /app/x
--- error_code: 401



=== TEST 3: prefix and suffix: [prefix:]name:key[:suffix]
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11311, "prefix": "pre", "suffix": "suf"}}
--- init
my $lines = mint(subject => 'bob', options => { storage => 'memcached', memcached => { port => 11311, prefix => 'pre', suffix => 'suf' } });
my $key = main::store_key($lines);
like(main::item(11311, "pre:session:$key:suf") // '', qr/^\["[A-Za-z0-9_-]+"\]$/, 'stored as pre:session:<sid>:suf');
is(main::item(11311, "session:$key"), undef, 'not as session:<sid>');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: bob



=== TEST 4: a session without timeouts (TTL 400 days, beyond memcached's 30-day relative limit): the record lives and opens
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11311}, "rolling_timeout": 0, "idling_timeout": 0, "absolute_timeout": 0}
--- init
# memcached reads an expiry beyond 30 days as a unix time: sent as a number of seconds, it would be a
# time in 1971 and the item would be gone at once.
my $lines = mint(subject => 'ivan', options => { %main::ONE, rolling_timeout => 0, idling_timeout => 0, absolute_timeout => 0 });
my $key = main::store_key($lines);
ok(defined main::item(11311, "session:$key"), 'the record is there');
my $ttl = main::ttl(11311, "session:$key") // 0;
ok($ttl > 30 * 24 * 3600, "and expires in more than 30 days ($ttl s)");
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: ivan



=== TEST 5: several servers: each record on exactly one of them, the records spread over more than one, every session opens
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11311", "127.0.0.1:11312", "127.0.0.1:11313"]}}
--- init
my @sessions = main::mint_sessions(30, 11311 .. 11313);
my @misplaced = grep { @{ $_->{holders} } != 1 } @sessions;
is(scalar @misplaced, 0, 'each of 30 records is on exactly one server')
    or diag(join "\n", map { "$_->{key}: on " . join(', ', @{ $_->{holders} }) } @misplaced);
is(scalar(grep { main::item(11314, "session:$_->{key}") } @sessions), 0, 'none on a server that is not listed');
my %per_server;
$per_server{ $_->{holders}[0] }++ for grep { @{ $_->{holders} } == 1 } @sessions;
ok(keys %per_server > 1, 'the records are spread over more than one server')
    or diag(explain(\%per_server));
my @statuses = map { main::app($_->{cookie})->{status} } @sessions;
is_deeply(\@statuses, [(200) x 30], 'every session opens at the protected location');
use_cookie($sessions[0]{cookie});
fill(SUBJECT => $sessions[0]{subject});
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: %%SUBJECT%%



=== TEST 6: the server list: its order does not matter; removing a server loses only its records; an added one takes records only to itself
--- init
my @sessions = main::mint_sessions(30, 11311 .. 11313);
is(scalar(grep { @{ $_->{holders} } != 1 } @sessions), 0, 'each record on exactly one server');
# 1 for each session that opens with the storage on these servers, 0 for each that does not.
my $opened = sub { my @ports = @_; return [ map { main::open_with($_->{cookie}, @ports) =~ /^accept: / ? 1 : 0 } @sessions ] };

is_deeply($opened->(11313, 11311, 11312), [(1) x 30], 'listed in another order, the same servers find every record');

my @expected = map { $_->{holders}[0] == 11313 ? 0 : 1 } @sessions;
is_deeply($opened->(11311, 11312), \@expected, 'without 11313: exactly the sessions held by 11313 are gone, the others still open');

my $with_added = $opened->(11311 .. 11314);
my @moved = map { $sessions[$_] } grep { !$with_added->[$_] } 0 .. $#sessions;
ok(@moved > 0 && @moved < 30, scalar(@moved) . ' of 30 sessions are looked for on the added server');
for my $session (@moved) {
    my $value = main::item($session->{holders}[0], "session:$session->{key}");
    main::mc(11314, "set session:$session->{key} 0 600 " . length($value) . "\r\n$value\r\n");
}
is_deeply($opened->(11311 .. 11314), [(1) x 30], 'each of them opens once its record is on the added server: moved there and nowhere else');
--- request
GET /app/x
--- error_code: 401



=== TEST 7: logout deletes the record; the cookie is refused afterwards
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11311}}
--- init
my $lines = mint(subject => 'frank', options => { %main::ONE });
my $key = main::store_key($lines);
ok(defined main::item(11311, "session:$key"), 'stored');
is(main::app(cookie_header(@$lines))->{status}, 200, 'opens before the logout');
is(http('POST', '/logout', { Cookie => cookie_header(@$lines), 'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'frank') })->{status},
   204, 'logout: 204');
is(main::item(11311, "session:$key"), undef, 'logout deleted the record');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 401



=== TEST 8: regeneration (3/4 of the rolling timeout spent): a new record; the previous one lives on for stale_ttl only
--- init
my $now = int time;
# No idling timeout: the regeneration is due to the rolling timeout alone.
my %options = (%main::ONE, stale_ttl => 5, idling_timeout => 0);
my $old = mint(subject => 'henry', now => $now, options => { %options });
my $old_key = main::store_key($old);
my $body = JSON::PP->new->canonical->encode({ options => { secret => $main::SECRET, %options }, now => $now + 2800 });
my $res = http('POST', '/start', { Cookie => cookie_header(@$old), 'Content-Type' => 'application/json' }, $body);
is($res->{content}, "started: refreshed=true subject=henry\n", 'the session is regenerated');
my $new_key = main::store_key($res->{set_cookie});
isnt($new_key, $old_key, 'under a new session id');
my $new_ttl = main::ttl(11311, "session:$new_key");
ok(defined $new_ttl && $new_ttl > 3500, 'the new record has the whole rolling timeout (' . ($new_ttl // 'missing') . ')');
my $old_ttl = main::ttl(11311, "session:$old_key");
ok(defined $old_ttl && $old_ttl > 0 && $old_ttl <= 5, 'the previous record expires within stale_ttl (' . ($old_ttl // 'missing') . ')');
$body = JSON::PP->new->canonical->encode({ options => { secret => $main::SECRET, %options }, now => $now + 2801 });
like(http('POST', '/open', { Cookie => cookie_header(@$old), 'Content-Type' => 'application/json' }, $body)->{content},
     qr/^accept: .*"subject":"henry"/, 'meanwhile the previous cookie still opens (a concurrent request is not logged out)');
--- request
GET /app/x
--- error_code: 401



=== TEST 9: the server down: 503 with one error line; restarted: answers within a second (its sessions are gone: 401), new sessions open
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11315}}
--- init
my %options = (storage => 'memcached', memcached => { port => 11315 });
my $before = cookie_header(@{ mint(subject => 'dave', options => { %options }) });
is(main::app($before)->{status}, 200, 'opens while memcached is up');
StoreServers::stop($main::MC{11315});
my @statuses = map { main::app($before)->{status} } 1 .. 10;
is_deeply(\@statuses, [(503) x 10], 'every request fails closed with 503 while memcached is down');
StoreServers::spawn($main::MC{11315});
my ($status, $took) = main::status_after_outage($before);
is($status, 401, 'the session written before the restart is gone with memcached\'s memory: 401, not 503');
ok($took < 1, "within a second of memcached answering again ($took s)");
my $after = cookie_header(@{ mint(subject => 'dave2', options => { %options }) });
is(main::app($after)->{status}, 200, 'a session minted after the restart opens');
my @down = main::error_lines(qr/\[error\].*unavailable/);
is(scalar @down, 1, 'one error line for the incident') or diag(join '', @down);
like($down[0] // '', qr/memcached 127\.0\.0\.1:11315 unavailable/, 'naming the server');
is(scalar main::error_lines(qr/\[warn\].*memcached 127\.0\.0\.1:11315 answers again/), 1, 'one line when it answers again');
use_cookie($after);
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: dave2
--- no_error_log
[crit]
[alert]
--- error_log
unavailable



=== TEST 10: one of two servers down: its sessions fail closed (not moved, not refused), the other server's still open; one error line
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11316", "127.0.0.1:11317"]}}
--- init
my @sessions = main::mint_sessions(16, 11316, 11317);
my @up = grep { "@{ $_->{holders} }" eq '11316' } @sessions;
my @down = grep { "@{ $_->{holders} }" eq '11317' } @sessions;
is(@up + @down, 16, 'each record on exactly one server');
ok(@up && @down, scalar(@up) . ' sessions on 11316, ' . scalar(@down) . ' on 11317');
StoreServers::stop($main::MC{11317});
is_deeply([ map { main::app($_->{cookie})->{status} } @up ], [(200) x @up], 'the sessions on 11316 still open');
is_deeply([ map { main::app($_->{cookie})->{status} } @down ], [(503) x @down], 'the sessions on 11317 fail closed with 503');
is_deeply([ map { main::app($_->{cookie})->{status} } @down ], [(503) x @down], 'again');
my @lines = main::error_lines(qr/\[error\]/);
is(scalar @lines, 1, scalar(@down) * 2 . ' failing requests, one error line') or diag(join '', @lines);
like($lines[0] // '', qr/memcached 127\.0\.0\.1:11317 unavailable/, 'naming the server that is down');
StoreServers::spawn($main::MC{11317});
my ($status, $took) = main::status_after_outage($down[0]{cookie});
is($status, 401, 'restarted, 11317 answers that it lost its sessions: 401');
ok($took < 1, "within a second ($took s)");
is_deeply([ map { main::app($_->{cookie})->{status} } @up ], [(200) x @up], 'the sessions on 11316 were never affected');
is(scalar main::error_lines(qr/\[warn\].*memcached 127\.0\.0\.1:11317 answers again/), 1, 'one line when it answers again');
use_cookie($up[0]{cookie});
fill(SUBJECT => $up[0]{subject});
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: %%SUBJECT%%
--- no_error_log
[crit]
[alert]
--- error_log
unavailable



=== TEST 11: a silent server (SIGSTOP) fails closed within connect + send + read timeout, then answers again
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11318, "connect_timeout": 100, "send_timeout": 100, "read_timeout": 600}}
--- init
my $cookie = cookie_header(@{ mint(subject => 'erin', options => { storage => 'memcached', memcached => { port => 11318 } }) });
is(main::app($cookie)->{status}, 200, 'opens while memcached answers');
StoreServers::pause($main::MC{11318});
my $start = time;
my $res = main::app($cookie);
my $took = time - $start;
StoreServers::resume($main::MC{11318});
is($res->{status}, 503, 'fails closed with 503');
# Once: a check that failed its read fails closed, it never asks again (the njs engine's warm check
# hands its failure to the full check: twice the budget would be 1.6 s).
ok($took >= 0.75 && $took < 1.5, "after the 800 ms budget, once ($took s)");
my ($status) = poll_status('/app/x', $cookie, sub { $_[0] == 200 }, 2);
is($status, 200, 'the same session opens again once memcached answers');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200
--- no_error_log
[crit]
[alert]
--- error_log
did not answer within 800 ms



=== TEST 12: store_metadata: "<sid>:<expiry>;" under name:audience:subject; logout removes the entry
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11311}, "audience": "app", "store_metadata": true}
--- init
my $lines = mint(subject => 'grace', audience => 'app', options => { %main::ONE, audience => 'app', store_metadata => JSON::PP::true });
my $key = main::store_key($lines);
my $meta = 'session:' . b64url_encode('app') . ':' . b64url_encode('grace');
my $list = main::item(11311, $meta) // '';
like($list, qr/^\Q$key\E:[A-Za-z0-9_-]{7};$/, 'one entry: the session key and its expiry');
my ($packed) = $list =~ /:([A-Za-z0-9_-]{7});$/;
my @bytes = unpack 'C5', b64url_decode($packed // '') // '';
my $expires = 0;
$expires = $expires * 256 + $_ for reverse @bytes;
ok($expires > time + 3500 && $expires <= time + 3601, "the expiry: 5 bytes little-endian, now + the rolling timeout ($expires)");
is(main::app(cookie_header(@$lines))->{status}, 200, 'the session opens');
is(http('POST', '/logout', { Cookie => cookie_header(@$lines),
                             'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'grace', audience => 'app') })->{status},
   204, 'logout: 204');
is(main::item(11311, "session:$key"), undef, 'logout deleted the record');
is(main::item(11311, $meta), undef, 'and the subject\'s list, which has no live entry left');
--- request
GET /app/x
--- error_code: 401
