# memcached.read_locations: the session check's read of a record through nginx's own memcached_pass
# (an internal location per server, its upstream with a keepalive pool) instead of the store bridge;
# writes and deletes still go through the bridge. Against real memcached servers started on loopback by
# this file, under the engine selected by TEST_NGINX_JS_ENGINE. TEST 8: the bridge's front on a unix
# socket, which nginx/store-bridge.conf mentions (ngx.fetch reaches it through js_fetch_proxy).
#
# Which path a read took is seen from outside: the read location logs each subrequest it serves
# (log_subrequest, "$uri $status", never the key) to logs/reads.log. A session is read through the
# location once it was verified before (the first request opens it through the bridge).
#
# read_locations needs hash_storage_key (nginx's memcached module logs the key of a miss at info): every
# configuration here that names read locations sets it, TEST 11 shows the option refused without it,
# and every block ends by checking that no session id it minted is in any of nginx's logs.
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
use Time::HiRes qw(sleep time);
use Digest::SHA qw(sha256);

our $SECRET = 'memcached-read-locations-secret-81c0e4';

# 11351: the read location's server; 11352: the second server of TEST 6, without a read location;
# 11353: stopped and restarted by TEST 4.
our %MC = map { $_ => StoreServers::start('memcached', $_) } 11351 .. 11353;

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /logout { js_content session.logoutHandler; }
    # The read locations, as docs/several-nodes.md gives them (the log only for these tests).
    location = /_session_memcached_a {
        internal;
        set $memcached_key $arg_k;
        memcached_pass session_memcached_a;
        subrequest_output_buffer_size 1m;
        log_subrequest on;
        access_log logs/reads.log reads;
    }
    location = /_session_memcached_c {
        internal;
        set $memcached_key $arg_k;
        memcached_pass session_memcached_c;
        memcached_connect_timeout 1s;
        subrequest_output_buffer_size 1m;
        log_subrequest on;
        access_log logs/reads.log reads;
    }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);
Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', ($block->http_config // '') . <<'_EOC_');
    log_format reads '$uri $status';
    upstream session_memcached_a { server 127.0.0.1:11351; keepalive 4; }
    upstream session_memcached_c { server 127.0.0.1:11353; keepalive 4; }
_EOC_
    $block->set_value('init', $block->init . "\nmain::no_session_id_logged();\n") if defined $block->init;
});

sub app { my ($cookie) = @_; return http('GET', '/app/x', { Cookie => $cookie }) }

sub mc { my ($port, $command) = @_; return StoreServers::memcached_command($MC{$port}, $command) }

# The lines of logs/reads.log so far: one per read through a read location.
sub reads {
    open my $in, '<', "$Test::Nginx::Util::ServRoot/logs/reads.log" or return ();
    my @lines = <$in>;
    return @lines;
}

sub read_count { my @lines = reads(); return scalar @lines }

# The session ids minted in this block (base64url), which no log may hold.
our @IDS;

# A session's storage key with hash_storage_key: base64url of the SHA-256 of its id; its id is
# remembered for no_session_id_logged.
sub hashed_key {
    my ($lines) = @_;
    push @IDS, store_key($lines);
    return b64url_encode(sha256(sid_of(cookie_value($lines, 'session'))));
}

# A session minted with the memcached options given and hash_storage_key (written through the bridge,
# as every write is): its Cookie header, its storage key and its session cookie's value.
sub minted {
    my ($subject, %memcached) = @_;
    my $lines = mint(subject => $subject, options => { storage => 'memcached', memcached => { %memcached }, hash_storage_key => \1 });
    return (cookie_header(@$lines), hashed_key($lines), cookie_value($lines, 'session'));
}

# Every block's last step: none of the ids it minted is in any file under logs/ (error.log, the access
# logs, the bridge's).
sub no_session_id_logged {
    my @found;
    for my $file (glob "$Test::Nginx::Util::ServRoot/logs/*") {
        open my $in, '<', $file or next;
        for my $line (<$in>) { push @found, $line if grep { index($line, $_) >= 0 } @IDS }
    }
    is(scalar @found, 0, 'no session id in any log (' . scalar(@IDS) . ' minted)') or diag(join '', @found);
    @IDS = ();
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a session verified before is read through the read location, one subrequest a request, the key never logged
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}, "hash_storage_key": true}
--- init
my ($cookie, $key) = main::minted('alice', port => 11351);
is(main::app($cookie)->{status}, 200, 'the first request opens the session (through the bridge: not verified before)');
is(main::read_count(), 0, 'no read through the location yet');
my @statuses = map { main::app($cookie)->{status} } 1 .. 3;
is_deeply(\@statuses, [200, 200, 200], 'the next three open');
is_deeply([ main::reads() ], [("/_session_memcached_a 200\n") x 3], 'each read through the location: 200');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: alice



=== TEST 2: logout (through the bridge) is seen at once: the next read finds no record (404), the session is refused
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}, "hash_storage_key": true}
--- init
my ($cookie, $key, $value) = main::minted('bob', port => 11351);
is_deeply([ map { main::app($cookie)->{status} } 1 .. 2 ], [200, 200], 'opens twice');
is_deeply([ main::reads() ], ["/_session_memcached_a 200\n"], 'the second through the location');
my $csrf = csrf_token($value, subject => 'bob');
is(http('POST', '/logout', { Cookie => $cookie, 'X-CSRF-Token' => $csrf })->{status}, 204, 'logout: 204');
is(main::mc(11351, "get session:$key\r\n"), "END\r\n", 'the record is gone from memcached');
is(main::app($cookie)->{status}, 401, 'the very next request is refused');
is((main::reads())[1], "/_session_memcached_a 404\n", 'the location found no record (404)');
is_deeply([ map { /key: "([^"]*)" was not found by memcached/ ? $1 : () } error_lines(qr/was not found by memcached/) ],
          ["session:$key"], 'nginx logged the miss at info, naming the hashed key');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 401



=== TEST 3: a record deleted on memcached itself (another node's logout or revocation) is refused on the next request
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}, "hash_storage_key": true}
--- init
my ($cookie, $key) = main::minted('carol', port => 11351);
is_deeply([ map { main::app($cookie)->{status} } 1 .. 2 ], [200, 200], 'opens twice (the second through the location)');
is(main::mc(11351, "delete session:$key\r\n"), "DELETED\r\n", 'the record is deleted on memcached');
is(main::app($cookie)->{status}, 401, 'the next request is refused');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 401



=== TEST 4: the read location's server down: 503 (fail closed), one error line of ours; restarted: answers again
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11353, "read_locations": {"127.0.0.1:11353": "/_session_memcached_c"}}, "hash_storage_key": true}
--- init
my ($cookie) = main::minted('dave', port => 11353);
is_deeply([ map { main::app($cookie)->{status} } 1 .. 2 ], [200, 200], 'opens twice while memcached is up');
is_deeply([ main::reads() ], ["/_session_memcached_c 200\n"], 'the second through the location');
StoreServers::stop($main::MC{11353});
my @statuses = map { main::app($cookie)->{status} } 1 .. 10;
is_deeply(\@statuses, [(503) x 10], 'every request fails closed with 503 while memcached is down');
ok((grep { m{^/_session_memcached_c 50[24]\n\z} } main::reads()) >= 1, 'the location answered 502 or 504');
my @ours = error_lines(qr/\[error\].*\[session\].*unavailable/);
is(scalar @ours, 1, 'one error line of ours for the incident') or diag(join '', @ours);
like($ours[0] // '', qr{memcached 127\.0\.0\.1:11353 unavailable: /_session_memcached_c: memcached_pass location answered 50[24]}, 'naming the server and the location');
StoreServers::spawn($main::MC{11353});
my ($status, $took) = poll_status('/app/x', $cookie, sub { $_[0] != 503 });
is($status, 401, 'restarted, memcached has lost the session: 401, not 503');
ok($took < 2, "within two seconds of memcached answering again ($took s)");
is(scalar error_lines(qr/\[warn\].*memcached 127\.0\.0\.1:11353 answers again/), 1, 'one line when it answers again');
my ($after) = main::minted('dave2', port => 11353);
is_deeply([ map { main::app($after)->{status} } 1 .. 2 ], [200, 200], 'a session minted after the restart opens, twice');
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



=== TEST 5: a key the location could not pass as is ("&" in the prefix) is read through the bridge
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "prefix": "a&b", "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}, "hash_storage_key": true}
--- init
my ($cookie, $key) = main::minted('erin', port => 11351, prefix => 'a&b');
ok(defined main::mc(11351, "get a&b:session:$key\r\n") =~ /^VALUE /, 'stored as a&b:session:<key>');
is_deeply([ map { main::app($cookie)->{status} } 1 .. 3 ], [200, 200, 200], 'opens three times');
is(main::read_count(), 0, 'never through the location');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: erin



=== TEST 6: two servers, a read location for one: its sessions are read through it, the other's through the bridge
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"servers": ["127.0.0.1:11351", "127.0.0.1:11352"], "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}, "hash_storage_key": true}
--- init
my %options = (servers => ['127.0.0.1:11351', '127.0.0.1:11352']);
my (@on_a, @on_b);
for my $i (1 .. 12) {
    my ($cookie, $key) = main::minted("user-$i", %options);
    my $on_a = main::mc(11351, "get session:$key\r\n") =~ /^VALUE / ? 1 : 0;
    push @{ $on_a ? \@on_a : \@on_b }, $cookie;
}
ok(@on_a && @on_b, scalar(@on_a) . ' sessions on 11351, ' . scalar(@on_b) . ' on 11352');
is_deeply([ map { main::app($_)->{status} } @on_a, @on_b ], [(200) x 12], 'each opens (verified now)');
is_deeply([ map { main::app($_)->{status} } @on_a, @on_b ], [(200) x 12], 'each opens again');
is(main::read_count(), scalar(@on_a), 'the second requests of the sessions on 11351, and only those, went through the location');
use_cookie($on_b[0]);
--- request
GET /app/page
--- error_code: 200



=== TEST 7: a record larger than nginx's default subrequest buffer (20 KB of data) is read through the location (subrequest_output_buffer_size 1m)
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}, "hash_storage_key": true}
--- init
srand(7);
my $blob = join '', map { ('a' .. 'z', 'A' .. 'Z')[int rand 52] } 1 .. 20000;
my $lines = mint(subject => 'frank', data => { blob => $blob }, options => { storage => 'memcached', memcached => { port => 11351 }, hash_storage_key => \1 });
my $key = main::hashed_key($lines);
my $record = main::mc(11351, "get session:$key\r\n");
ok(length($record) > 16384, 'the record is larger than 16 KB (' . length($record) . ' bytes)');
my $cookie = cookie_header(@$lines);
is_deeply([ map { main::app($cookie)->{status} } 1 .. 3 ], [200, 200, 200], 'opens three times');
is_deeply([ main::reads() ], [("/_session_memcached_a 200\n") x 2], 'the second and third through the location');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: frank



=== TEST 8: the bridge's front on a unix socket (listen unix:, js_fetch_proxy http://unix:...), no TCP front at all: writes, the first read and logout go through it
--- main_config
load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;
load_module $TEST_NGINX_MODULES_DIR/ngx_stream_module.so;
load_module $TEST_NGINX_MODULES_DIR/ngx_stream_js_module.so;
env NJS_SESSION_CONFIG=$TEST_NGINX_SERVROOT/html/session.json;
env ACCESS_SECRET=memcached-read-locations-secret-81c0e4;
stream {
    js_engine $TEST_NGINX_JS_ENGINE;
    js_path $TEST_NGINX_REPO_DIR/dist/;
    include $TEST_NGINX_REPO_DIR/nginx/store-bridge.conf;
    js_var $njs_session_store_allow "127.0.0.1:*";
    error_log logs/store-bridge.log info;
    server {
        listen unix:$TEST_NGINX_SERVROOT/front.sock;
        include $TEST_NGINX_REPO_DIR/nginx/store-bridge-front.conf;
        proxy_pass 127.0.0.1:7380;
    }
    server {
        listen 127.0.0.1:7380;
        include $TEST_NGINX_REPO_DIR/nginx/store-bridge-relay.conf;
    }
}
--- config
    js_fetch_proxy http://unix:$TEST_NGINX_SERVROOT/front.sock;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351}}
--- init
ok(!StoreServers::port_open(7379), 'no front on TCP');
my $lines = mint(subject => 'gina', options => { storage => 'memcached', memcached => { port => 11351 } });
my $key = store_key($lines);
push @main::IDS, $key;
like(main::mc(11351, "get session:$key\r\n"), qr/^VALUE /, 'written through the unix front');
my $cookie = cookie_header(@$lines);
is_deeply([ map { main::app($cookie)->{status} } 1 .. 3 ], [200, 200, 200], 'read through it: opens three times');
is(http('POST', '/logout', { Cookie => $cookie, 'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'gina') })->{status}, 204, 'logout: 204');
is(main::mc(11351, "get session:$key\r\n"), "END\r\n", 'deleted through it');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 401



=== TEST 9: auth_request mode: the check runs in the auth subrequest, and its read through the location is a subrequest of that one; logout is seen at once; the server down answers 503 through error_page 401
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11353, "read_locations": {"127.0.0.1:11353": "/_session_memcached_c"}}, "nginx": {"login_url": "/login"}, "hash_storage_key": true}
--- config
    location /ar/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        error_page 401 = @session_login;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location @session_login { js_content session.loginRedirect; }
--- init
my ($cookie, $key, $value) = main::minted('hana', port => 11353);
my @statuses = map { http('GET', '/ar/x', { Cookie => $cookie })->{status} } 1 .. 3;
is_deeply(\@statuses, [200, 200, 200], 'opens three times');
is_deeply([ main::reads() ], [("/_session_memcached_c 200\n") x 2], 'the second and third read through the location');
StoreServers::stop($main::MC{11353});
is_deeply([ map { http('GET', '/ar/x', { Cookie => $cookie })->{status} } 1 .. 3 ], [503, 503, 503], 'memcached down: store_unavailable_status (503)');
is(scalar main::error_lines(qr/\[error\].*\[session\].*unavailable/), 1, 'one error line of ours');
is(scalar main::error_lines(qr/auth request unexpected status/), 0, 'auth_request never saw a status it does not pass on');
StoreServers::spawn($main::MC{11353});
my ($after, $after_key, $after_value) = main::minted('hana2', port => 11353);
my ($status) = poll_status('/ar/x', $after, sub { $_[0] == 200 });
is($status, 200, 'a session minted after the restart opens');
is(http('GET', '/ar/x', { Cookie => $after })->{status}, 200, 'and again, through the location');
is(http('POST', '/logout', { Cookie => $after, 'X-CSRF-Token' => csrf_token($after_value, subject => 'hana2') })->{status}, 204, 'logout: 204');
is(http('GET', '/ar/x', { Cookie => $after })->{status}, 302, 'the next request is refused: the login redirect');
use_cookie($after);
--- request
GET /ar/page
--- error_code: 302
--- no_error_log
[crit]
[alert]
auth request unexpected status
--- error_log
unavailable



=== TEST 10: a read location that is not the memcached_pass one (misnamed): refused loudly as a store incident, never read as "no record"
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "read_locations": {"127.0.0.1:11351": "/_session_memcached_misnamed"}}, "hash_storage_key": true}
--- init
my ($cookie) = main::minted('ivan', port => 11351);
is(main::app($cookie)->{status}, 200, 'the first request opens the session (through the bridge)');
is_deeply([ map { main::app($cookie)->{status} } 1 .. 3 ], [503, 503, 503], 'then the read through the misnamed location fails closed: 503');
my @ours = error_lines(qr/\[error\].*\[session\].*unavailable/);
is(scalar @ours, 1, 'one error line of ours') or diag(join '', @ours);
like($ours[0] // '', qr{memcached 127\.0\.0\.1:11351 unavailable: /_session_memcached_misnamed: is not a memcached_pass location}, 'naming the location and what is wrong');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 503
--- no_error_log
[crit]
[alert]



=== TEST 11: read_locations without hash_storage_key: the configuration is refused (nginx would log the session id of every miss); the protected location fails closed
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "memcached", "memcached": {"port": 11351, "read_locations": {"127.0.0.1:11351": "/_session_memcached_a"}}}
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: memcached.read_locations needs hash_storage_key: true
--- no_error_log
[alert]
[emerg]
unexpected error
