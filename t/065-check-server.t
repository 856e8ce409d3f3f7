# The check server (nginx/session-check-server.conf): the protected locations ask it through
# auth_request, their internal location proxying to it (nginx/session-check-proxy.conf), inside a real
# nginx under the engine selected by TEST_NGINX_JS_ENGINE. What this file checks is what the check
# server adds to auth_request mode: it takes the client's address, the scheme, the method and the
# protected location's options from the front, and from nowhere else; a client's own X-Session-*
# headers change nothing; a check server that does not answer fails closed. t/060's blocks, and the
# files run in either mode (t/070, t/100, t/110, t/120, t/130), run through it too with
# TEST_NGINX_SESSION_MODE=check_server (build/test.sh does).
#
# Set-up and helpers: t/lib/EntryTest.pm (see t/050-access.t for the pattern).
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use File::Temp qw(tempdir);
use HTTP::Tiny;

our $SECRET = 'check-server-secret-5c0e7d';
our $FORM = 'application/x-www-form-urlencoded';

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /admin/ {
        set $session_config_audience admin;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /form/ {
        set $session_config_csrf on;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; include $TEST_NGINX_REPO_DIR/nginx/session-check-proxy.conf; }
    # The harness's mint, from an address the test names (a session bound to another client).
    location = /_mint_from {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Mint-Address;
        js_content harness.saveCase;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';
    $block->set_value('http_config', check_server() . $http) unless $http =~ /njs_session_check/;
});

# A TLS front beside Test::Nginx's plain one (TEST 8: the scheme a session is bound to).
our $TLS_PORT = $Test::Nginx::Util::ServerPort + 1;
our $TLS_DIR = tempdir(CLEANUP => 1);
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost"
       . " -keyout '$TLS_DIR/site.key' -out '$TLS_DIR/site.crt' 2>/dev/null") == 0
    or BAIL_OUT('openssl req failed: TEST 8 needs a certificate');
HTTP::Tiny->can_ssl or BAIL_OUT('HTTP::Tiny cannot speak TLS here (needs IO::Socket::SSL and Net::SSLeay)');

sub https {
    my ($method, $uri, $headers, $content) = @_;
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 20, max_redirect => 0, verify_SSL => 0)
        ->request($method, "https://127.0.0.1:$TLS_PORT$uri", { headers => $headers // {}, defined $content ? (content => $content) : () });
    my $lines = $res->{headers}{'set-cookie'} // [];
    $res->{set_cookie} = ref $lines ? $lines : [$lines];
    return $res;
}

# A session's Cookie header, minted with the harness's options (and from `$address` if given).
sub session_from {
    my ($address, %args) = @_;
    my $body = { options => { secret => $main::SECRET, %{ delete $args{options} // {} } }, %args };
    my $res = http('POST', '/_mint_from', { 'Content-Type' => 'application/json', 'X-Mint-Address' => $address },
                   $EntryTest::JSON->encode($body));
    is($res->{content}, "saved\n", "mint from $address: saved");
    return cookie_header(@{ $res->{set_cookie} });
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid cookie: 200 from the upstream with the identity; nothing internal reaches the client
--- init
use_cookie(cookie_header(@{ mint(subject => 'alice') }));
--- request
GET /app/page?q=1
--- error_code: 200
--- response_body_like: ^GET /_up/page\?q=1\ncookie: session=<\d+ chars>\nx-audience: default\nx-subject: alice\n$
--- raw_response_headers_unlike: (?i)(?:X-Session-|Set-Cookie|Session-)



=== TEST 2: no cookie, a tampered cookie: 401 (an [info] line for the tampered one), never the upstream
--- init
my $value = cookie_value(mint(subject => 'mallory'), 'session');
substr($value, 115, 1) = substr($value, 115, 1) eq 'A' ? 'B' : 'A';
my ($res, $log) = logged('GET', '/app/x');
is($res->{status}, 401, 'no cookie: 401');
unlike($res->{content}, qr{/_up/}, 'no cookie: not the upstream');
use_cookie("session=$value");
--- request
GET /app/y
--- error_code: 401
--- response_body_like: 401 Authorization Required
--- error_log eval
qr/\[info\] .*\[session\] no session for cookie "session": /



=== TEST 3: the protected location's options reach the check server; a client's X-Session-Config-* do not
/admin/ sets the audience "admin" for its own requests; /app/ sets none, and a client that sends
X-Session-Config-Audience: admin there still gets the default audience's check.
--- init
my $admin = cookie_header(@{ mint(subject => 'root', audience => 'admin') });
my $user = cookie_header(@{ mint(subject => 'user') });
my $res = http('GET', '/admin/x', { Cookie => $admin });
is($res->{status}, 200, 'the admin session in /admin/: 200');
like($res->{content}, qr/x-subject: root\n/, '... with its subject');
is(http('GET', '/admin/x', { Cookie => $user })->{status}, 401, 'the default session in /admin/: 401');
is(http('GET', '/app/x', { Cookie => $admin, 'X-Session-Config-Audience' => 'admin' })->{status}, 401,
   'the admin session in /app/ with a forged X-Session-Config-Audience: 401');
is(http('GET', '/app/x', { Cookie => $user, 'X-Session-Config-Audience' => 'admin' })->{status}, 200,
   'the default session in /app/ with the same header: 200');
is(http('GET', '/app/x', { Cookie => $user, 'X-Session-Config-Idling-Timeout' => 'nonsense' })->{status}, 200,
   'a forged option the check would refuse as misconfiguration: never read');
use_cookie($admin);
--- request
GET /admin/y
--- response_body_like: ^GET /_up/y\ncookie: session=<\d+ chars>\nx-subject: root\n$



=== TEST 4: bind ip and scheme: the check server sees the client's address and scheme as the front did
A session bound to 127.0.0.1 over http opens (the check server itself is reached over a unix socket,
with another scheme of its own); one bound to 10.9.8.7 does not, even when the client claims that
address in X-Session-Client-Address, or another scheme in X-Session-Request-Scheme.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "bind": ["ip", "scheme"]}
--- init
my %bound = (options => { bind => ['ip', 'scheme'] });
my $here = main::session_from('127.0.0.1', subject => 'here', %bound);
my $there = main::session_from('10.9.8.7', subject => 'there', %bound);
my $res = http('GET', '/app/x', { Cookie => $here });
is($res->{status}, 200, 'bound to this client: 200');
like($res->{content}, qr/x-subject: here\n/, '... with its subject');
is(http('GET', '/app/x', { Cookie => $there })->{status}, 401, 'bound to another address: 401');
is(http('GET', '/app/x', { Cookie => $there, 'X-Session-Client-Address' => '10.9.8.7' })->{status}, 401,
   'bound to another address, the client claiming it: 401');
is(http('GET', '/app/x', { Cookie => $here, 'X-Session-Client-Address' => '10.9.8.7', 'X-Session-Request-Scheme' => 'https' })->{status}, 200,
   "this client's session, with forged address and scheme headers: 200 (the front's values count)");
use_cookie($here);
--- request
GET /app/y
--- error_code: 200



=== TEST 5: CSRF through the check server: the protected request's method counts, not the subrequest's GET
--- init
my $lines = mint(subject => 'alice');
my $cookie = cookie_header(@$lines);
my $token = csrf_token(cookie_value($lines, 'session'), subject => 'alice');
is(http('GET', '/form/x', { Cookie => $cookie })->{status}, 200, 'GET without a token: 200');
my ($res, $log) = logged('POST', '/form/x', { Cookie => $cookie, 'Content-Type' => $main::FORM }, 'a=1');
is($res->{status}, 403, 'POST without a token: 403');
like($log, qr/\[info\] .*\[session\] csrf: refused POST: missing CSRF token/, '... one info line naming the method');
is(http('DELETE', '/form/x', { Cookie => $cookie })->{status}, 403, 'DELETE without a token: 403');
$res = http('POST', '/form/x', { Cookie => $cookie, 'X-CSRF-Token' => $token, 'Content-Type' => $main::FORM }, 'a=1');
is($res->{status}, 200, 'POST with the token: 200');
like($res->{content}, qr/^POST \/_up\/x\n.*x-subject: alice\n/s, '... from the upstream, with the identity');
use_cookie($cookie);
--- request
PUT /form/y
--- error_code: 403



=== TEST 6: a touch: the refreshed cookie from the check server reaches the client with the upstream's own
--- init
my $lines = mint(subject => 'erin', now => time() - 120);
my $res = http('GET', '/app/x?set_cookie=1', { Cookie => cookie_header(@$lines) });
is($res->{status}, 200, '200 from the upstream');
my @names = map { (split /=/, $_)[0] } @{ $res->{set_cookie} };
is_deeply(\@names, ['app', 'session'], "the upstream's cookie, then the session's");
is(sid_of(cookie_value($res->{set_cookie}, 'session')), sid_of(cookie_value($lines, 'session')), 'a touch: the same session id');
use_cookie(cookie_header(@$lines));
--- request
GET /app/y
--- raw_response_headers_like: Set-Cookie: session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly\r\n



=== TEST 7: the check server down: the protected location fails closed (500), never the upstream
--- http_config eval
main::check_server('$TEST_NGINX_SERVROOT/nobody-listens-here.sock')
--- init
use_cookie(cookie_header(@{ mint(subject => 'alice') }));
--- request
GET /app/x
--- error_code: 500
--- response_body_unlike: /_up/
--- error_log eval
qr/\[crit\] .*connect\(\) to unix:.*nobody-listens-here\.sock failed/
--- no_error_log eval
["[emerg]", "[alert]", $main::SECRET]



=== TEST 8: bind scheme: the check server sees the scheme of the front's request (https here), not its own
A session minted over TLS is bound to https: through the TLS front it opens, through the plain one not.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "bind": ["scheme"]}
--- http_config eval
"    server {
        listen $main::TLS_PORT ssl;
        ssl_certificate $main::TLS_DIR/site.crt;
        ssl_certificate_key $main::TLS_DIR/site.key;
        location /app/ {
            include \$TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
            proxy_set_header X-Subject \$session_subject;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_up/;
        }
        location = /_session_auth { internal; include \$TEST_NGINX_REPO_DIR/nginx/session-check-proxy.conf; }
        location = /_mint { js_content harness.saveCase; }
    }
"
--- init
my $body = $EntryTest::JSON->encode({ options => { secret => $main::SECRET, bind => ['scheme'] }, subject => 'tls' });
my $res = main::https('POST', '/_mint', { 'Content-Type' => 'application/json' }, $body);
is($res->{content}, "saved\n", 'minted over TLS');
my $tls = cookie_header(@{ $res->{set_cookie} });
my $plain = cookie_header(@{ mint(subject => 'plain', options => { bind => ['scheme'] }) });
$res = main::https('GET', '/app/x', { Cookie => $tls });
is($res->{status}, 200, 'bound to https, through the TLS front: 200');
like($res->{content}, qr/x-subject: tls\n/, '... with its subject');
is(main::https('GET', '/app/x', { Cookie => $plain })->{status}, 401, 'bound to http, through the TLS front: 401');
is(http('GET', '/app/x', { Cookie => $tls, 'X-Session-Request-Scheme' => 'https' })->{status}, 401,
   'bound to https, through the plain front claiming https: 401');
use_cookie($plain);
--- request
GET /app/y
--- error_code: 200
