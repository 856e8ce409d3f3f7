# redis storage through the store bridge (nginx/store-bridge*.conf), against a real redis-server started
# on loopback by this file, under the engine selected by TEST_NGINX_JS_ENGINE: the key layout and value
# encoding of lua-resty-session's redis storage (a record the peer wrote opens here), the session's TTL,
# prefix/suffix/database, AUTH with an ACL user, stale_ttl, store_metadata's sorted sets, logout, TLS, and the
# failure behaviour: a store that is down or silent fails protected locations closed with 503 (or the
# configured status) and one error line per incident, and they recover by themselves.
#
# t/141-valkey-storage.t is a link to this file: run under that name, every block runs against
# valkey-server instead of redis-server.
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

our $SECRET = 'redis-storage-secret-9a41f0';
our $PORT = 6390;
our $SERVER = $0 =~ /valkey/ ? 'valkey-server' : 'redis-server';
our $REDIS = StoreServers::start($SERVER, $PORT, '--appendonly', 'yes', '--appendfsync', 'always');
# An ACL user for TEST 4; the default user stays open for the other blocks.
StoreServers::cli($REDIS, 'ACL', 'SETUSER', 'nginx', 'on', '>user-pass-31c8e2', '~*', '+@all');

our %REDIS = (storage => 'redis', redis => { port => $PORT });

# TLS: a second server that speaks only TLS (certificate for "localhost", signed by a throw-away CA),
# reached through a second bridge whose relay has proxy_ssl on (TEST 10).
our $TLS_PORT = 6393;
our $TLS_DIR = '/tmp/store-tls';
mkdir $TLS_DIR;
for my $step (
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=store-ca -keyout $TLS_DIR/ca.key -out $TLS_DIR/ca.crt",
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout $TLS_DIR/server.key -out $TLS_DIR/server.csr",
    "printf 'subjectAltName=DNS:localhost\\n' >$TLS_DIR/ext",
    "openssl x509 -req -in $TLS_DIR/server.csr -CA $TLS_DIR/ca.crt -CAkey $TLS_DIR/ca.key -CAcreateserial -days 2 -extfile $TLS_DIR/ext -out $TLS_DIR/server.crt",
) {
    system("$step 2>/dev/null") == 0 or die "TLS set-up failed: $step\n";
}
our $TLS_REDIS = StoreServers::start($SERVER, $TLS_PORT, '--port', '0', '--tls-port', $TLS_PORT,
    '--tls-cert-file', "$TLS_DIR/server.crt", '--tls-key-file', "$TLS_DIR/server.key",
    '--tls-ca-cert-file', "$TLS_DIR/ca.crt", '--tls-auth-clients', 'no');
our $TLS_BRIDGE = <<"_EOC_";
    server {
        listen 127.0.0.1:7383;
        include \$TEST_NGINX_REPO_DIR/nginx/store-bridge-front.conf;
        proxy_pass 127.0.0.1:7384;
    }
    server {
        listen 127.0.0.1:7384;
        include \$TEST_NGINX_REPO_DIR/nginx/store-bridge-relay.conf;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $TLS_DIR/ca.crt;
        proxy_ssl_name localhost;
    }
_EOC_

EntryTest::setup(secret => $SECRET, hidden => ['user-pass-31c8e2'], locations => <<'_EOC_');
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
sub redis { return StoreServers::cli($REDIS, @_) }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the cookie is the header alone; Redis holds the record under session:<sid> with the session's TTL
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390}}
--- init
like(main::redis('INFO', 'server'), $main::SERVER eq 'valkey-server' ? qr/^server_name:valkey/m : qr/^redis_version:/m, "the server is $main::SERVER");
my $lines = mint(subject => 'alice', data => { role => 'admin' }, options => { %main::REDIS });
my $value = cookie_value($lines, 'session');
is(length $value, 110, 'the cookie is the 110-character header');
my $key = main::store_key($lines);
my $record = main::redis('GET', "session:$key");
like($record, qr/^\["[A-Za-z0-9_-]+"\]$/, 'value: the ciphertext in a JSON array, as lua-resty-session stores it');
unlike($record, qr/admin/, 'the data is not readable in Redis');
my $ttl = main::redis('TTL', "session:$key");
ok($ttl > 3500 && $ttl <= 3600, "TTL is the rolling timeout ($ttl)");
is(main::app(cookie_header(@$lines))->{status}, 200, 'the session opens');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: alice



=== TEST 2: a record lua-resty-session wrote (the peer's shm-storage vector, same layout as its redis storage) opens
--- init
my ($vector) = grep { $_->{id} eq 'shm-storage' } main::load_vectors();
main::redis('SET', $vector->{store}{key}, $vector->{store}{value}, 'EX', 60);
my %options = (%{ $vector->{opens}[0]{config} }, storage => 'redis', redis => { port => $main::PORT });
my $body = JSON::PP->new->canonical->encode({ options => \%options, now => $vector->{created_at}, expected => $vector->{opens}[0]{expected} });
my $cookie = join '; ', map { "$_=$vector->{cookies}{$_}" } sort keys %{ $vector->{cookies} };
my $res = http('POST', '/open', { Cookie => $cookie, 'Content-Type' => 'application/json' }, $body);
is($res->{content}, "accept: match\n", 'the peer\'s record opens with the peer\'s data, audience and subject');
main::redis('DEL', $vector->{store}{key});
$res = http('POST', '/open', { Cookie => $cookie, 'Content-Type' => 'application/json' }, $body);
like($res->{content}, qr/^reject: /, 'without the record: no session');
--- request
GET /app/x
--- error_code: 401



=== TEST 3: prefix, suffix and database: [prefix:]name:key[:suffix] in the selected database
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390, "prefix": "pre", "suffix": "suf", "database": 3}}
--- init
my $lines = mint(subject => 'bob', options => { storage => 'redis', redis => { port => $main::PORT, prefix => 'pre', suffix => 'suf', database => 3 } });
my $key = main::store_key($lines);
is(main::redis('-n', 3, 'EXISTS', "pre:session:$key:suf"), '1', 'stored as pre:session:<sid>:suf in database 3');
is(main::redis('-n', 0, 'EXISTS', "pre:session:$key:suf"), '0', 'not in database 0');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: bob



=== TEST 4: AUTH with an ACL user; a wrong password fails closed with 503 and one error line, not one per request
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390, "username": "nginx", "password": {"env": "REDIS_PASSWORD"}}}
--- main_config eval
StoreServers::main_config(ACCESS_SECRET => $main::SECRET, REDIS_PASSWORD => 'wrong-password')
--- init
# Minted with the right password (the harness takes its options from the request)...
my $lines = mint(subject => 'carol', options => { storage => 'redis', redis => { port => $main::PORT, username => 'nginx', password => 'user-pass-31c8e2' } });
is(main::redis('EXISTS', 'session:' . main::store_key($lines)), '1', 'stored through the ACL user');
# ... and checked by a location whose configuration has the wrong one.
my @statuses = map { main::app(cookie_header(@$lines))->{status} } 1 .. 5;
is_deeply(\@statuses, [(503) x 5], 'every request fails closed with 503');
my @lines = main::error_lines(qr/\[error\].*redis 127\.0\.0\.1:6390 unavailable/);
is(scalar @lines, 1, 'five failing requests, one error line') or diag(join '', @lines);
like($lines[0] // '', qr/WRONGPASS/, 'the line says why');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 503
--- no_error_log
[warn]
[crit]
user-pass-31c8e2
wrong-password
--- error_log
WRONGPASS



=== TEST 5: the store down: 503 with one error line; back up: the same session opens again within a second
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390}}
--- init
my $lines = mint(subject => 'dave', options => { %main::REDIS });
my $cookie = cookie_header(@$lines);
is(main::app($cookie)->{status}, 200, 'opens while Redis is up');
StoreServers::stop($main::REDIS);
my @statuses = map { main::app($cookie)->{status} } 1 .. 10;
is_deeply(\@statuses, [(503) x 10], 'every request fails closed with 503 while Redis is down');
StoreServers::spawn($main::REDIS);
my ($status, $took) = poll_status('/app/x', $cookie, sub { $_[0] == 200 });
is($status, 200, 'the session written before the outage opens again (appendfsync always: nothing lost)');
ok($took < 1, "within a second of Redis answering again ($took s)");
my @down = main::error_lines(qr/\[error\].*unavailable/);
is(scalar @down, 1, 'one error line for the incident') or diag(join '', @down);
is(scalar main::error_lines(qr/\[warn\].*answers again/), 1, 'one line when it answers again');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200
--- no_error_log
[crit]
[alert]
--- error_log
unavailable



=== TEST 6: a silent store (SIGSTOP) fails closed within the round-trip budget; store_unavailable_status 401
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390, "connect_timeout": 100, "send_timeout": 100, "read_timeout": 600}, "nginx": {"store_unavailable_status": 401}}
--- init
my $lines = mint(subject => 'erin', options => { %main::REDIS });
my $cookie = cookie_header(@$lines);
is(main::app($cookie)->{status}, 200, 'opens while Redis answers');
StoreServers::pause($main::REDIS);
my $start = time;
my $res = main::app($cookie);
my $took = time - $start;
StoreServers::resume($main::REDIS);
is($res->{status}, 401, 'the configured status');
# Once: a check that failed its read fails closed, it never asks again (the njs engine's warm check
# hands its failure to the full check: twice the budget would be 1.6 s).
ok($took >= 0.75 && $took < 1.5, "after the 800 ms budget, once ($took s)");
my ($status) = poll_status('/app/x', $cookie, sub { $_[0] == 200 }, 2);
is($status, 200, 'answers again once Redis does');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200
--- no_error_log
[crit]
[alert]
--- error_log
did not answer within 800 ms



=== TEST 7: logout deletes the record; the cookie is refused afterwards
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390}}
--- init
my $lines = mint(subject => 'frank', options => { %main::REDIS });
my $key = main::store_key($lines);
is(main::redis('EXISTS', "session:$key"), '1', 'stored');
my $res = http('POST', '/logout', { Cookie => cookie_header(@$lines), 'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'frank') });
is($res->{status}, 204, 'logout: 204');
is(main::redis('EXISTS', "session:$key"), '0', 'logout deleted the record');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 401



=== TEST 8: store_metadata: a sorted set per audience and subject, the session key scored by its expiry
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390}, "store_metadata": true}
--- init
my $lines = mint(subject => 'grace', audience => 'app', options => { %main::REDIS, store_metadata => JSON::PP::true });
my $key = main::store_key($lines);
my $meta = 'session:' . b64url_encode('app') . ':' . b64url_encode('grace');
my @members = split /\n/, main::redis('ZRANGE', $meta, 0, -1, 'WITHSCORES');
is($members[0], $key, 'the session key is a member');
ok($members[1] > time + 3500 && $members[1] <= time + 3600, 'scored by its expiry');
my $ttl = main::redis('TTL', $meta);
ok($ttl > 3500, 'the set expires with the session');
--- request
GET /app/x
--- error_code: 401



=== TEST 9: regeneration (3/4 of the rolling timeout spent): a new record; the previous one lives on for stale_ttl only, and metadata follows
--- init
my $now = int time;
# No idling timeout: the regeneration is due to the rolling timeout alone.
my %options = (%main::REDIS, stale_ttl => 5, idling_timeout => 0, store_metadata => JSON::PP::true);
my $old = mint(subject => 'ivan', audience => 'app', now => $now, options => { %options });
my $old_key = main::store_key($old);
my $body = JSON::PP->new->canonical->encode({ options => { secret => $main::SECRET, audience => 'app', %options }, now => $now + 2800 });
my $res = http('POST', '/start', { Cookie => cookie_header(@$old), 'Content-Type' => 'application/json' }, $body);
is($res->{content}, "started: refreshed=true subject=ivan\n", 'the session is regenerated');
my $new_key = main::store_key($res->{set_cookie});
isnt($new_key, $old_key, 'under a new session id');
my $new_ttl = main::redis('TTL', "session:$new_key");
ok($new_ttl > 3500, "the new record has the whole rolling timeout ($new_ttl)");
my $old_ttl = main::redis('TTL', "session:$old_key");
ok($old_ttl > 0 && $old_ttl <= 5, "the previous record expires within stale_ttl ($old_ttl)");
my $meta = 'session:' . b64url_encode('app') . ':' . b64url_encode('ivan');
is(main::redis('ZRANGE', $meta, 0, -1), $new_key, 'store_metadata lists the new key only');
--- request
GET /app/x
--- error_code: 401



=== TEST 10: TLS to the store: a TLS-only server behind a relay with proxy_ssl on (certificate verified)
--- main_config eval
StoreServers::main_config(ACCESS_SECRET => $main::SECRET, _bridge => { extra => $main::TLS_BRIDGE })
--- config
    # This server's store requests go through the TLS bridge.
    js_fetch_proxy http://127.0.0.1:7383;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6393}}
--- init
my $cli = $main::SERVER eq 'valkey-server' ? 'valkey-cli' : 'redis-cli';
my $plain = `$cli -p $main::TLS_PORT PING 2>&1`;
unlike($plain, qr/PONG/, 'the server refuses plain connections');
my $lines = mint(subject => 'heidi', options => { storage => 'redis', redis => { port => $main::TLS_PORT } });
my $key = main::store_key($lines);
my $exists = `$cli --tls --cacert $main::TLS_DIR/ca.crt --sni localhost -p $main::TLS_PORT EXISTS session:$key 2>&1`;
is($exists, "1\n", 'the record is on the TLS server');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: heidi



=== TEST 11: auth_request mode, the store down: store_unavailable_status (503) through error_page 401, not 500 and not a login redirect; one error line; 401 without that error_page
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390}, "nginx": {"login_url": "/login"}}
--- config
    location /ar/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        error_page 401 = @session_login;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /ar-plain/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location @session_login { js_content session.loginRedirect; }
--- init
my $lines = mint(subject => 'gina', options => { %main::REDIS });
my $cookie = cookie_header(@$lines);
is(http('GET', '/ar/x', { Cookie => $cookie })->{status}, 200, 'opens while Redis is up');
is(http('GET', '/ar/x', { 'X-Session-Unavailable' => '503' })->{status}, 302, 'no session: the login redirect (a request header names no outage)');
StoreServers::stop($main::REDIS);
my @statuses = map { http('GET', '/ar/x', { Cookie => $cookie })->{status} } 1 .. 5;
is_deeply(\@statuses, [(503) x 5], 'every request answers store_unavailable_status while Redis is down');
my $res = http('GET', '/ar/x', { Cookie => $cookie });
is($res->{content}, "session store unavailable\n", 'the body says so');
ok(!exists $res->{headers}{'x-session-unavailable'}, 'the subrequest header stays inside');
is(http('GET', '/ar-plain/x', { Cookie => $cookie })->{status}, 401, 'without error_page 401: the 401 auth_request passes on');
StoreServers::spawn($main::REDIS);
my ($status) = poll_status('/ar/x', $cookie, sub { $_[0] == 200 });
is($status, 200, 'opens again once Redis answers');
my @down = main::error_lines(qr/\[error\].*unavailable/);
is(scalar @down, 1, 'one error line for the incident') or diag(join '', @down);
is(scalar main::error_lines(qr/auth request unexpected status/), 0, 'auth_request never saw a status it does not pass on');
use_cookie($cookie);
--- request
GET /ar/page
--- error_code: 200
--- response_body_like: x-subject: gina
--- no_error_log
[crit]
[alert]
auth request unexpected status
--- error_log
unavailable



=== TEST 12: auth_request mode, store_unavailable_status 403: the subrequest's 403 passes on as it is, with or without error_page 401
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"port": 6390}, "nginx": {"store_unavailable_status": 403}}
--- config
    location /ar/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        error_page 401 = @session_login;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /ar-plain/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location @session_login { js_content session.loginRedirect; }
--- init
my $lines = mint(subject => 'hank', options => { %main::REDIS });
my $cookie = cookie_header(@$lines);
is(http('GET', '/ar/x', { Cookie => $cookie })->{status}, 200, 'opens while Redis is up');
StoreServers::stop($main::REDIS);
is(http('GET', '/ar/x', { Cookie => $cookie })->{status}, 403, 'with error_page 401: 403');
is(http('GET', '/ar-plain/x', { Cookie => $cookie })->{status}, 403, 'without: 403');
StoreServers::spawn($main::REDIS);
my ($status) = poll_status('/ar/x', $cookie, sub { $_[0] == 200 });
is($status, 200, 'opens again once Redis answers');
use_cookie($cookie);
--- request
GET /ar/page
--- error_code: 200
--- no_error_log
[crit]
[alert]
auth request unexpected status
--- error_log
unavailable
