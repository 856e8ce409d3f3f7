# The auth_request mode of the entry points (njs < 0.9.9 has no js_access) inside a real nginx, under
# the engine selected by TEST_NGINX_JS_ENGINE: a protected location includes
# nginx/session-auth-request.conf (auth_request /_session_auth + auth_request_set + add_header), the
# internal location runs session.authRequest, and `error_page 401 = @login_redirect` with
# session.loginRedirect sends browsers to the login page. The identity travels back in X-Session-State
# (read by the js_set variables of nginx/njs-session.conf), the Set-Cookie lines of a refresh in
# X-Session-Cookie-1..18 (up to a nine-chunk session plus a nine-chunk remember cookie).
#
# Set-up and helpers: t/lib/EntryTest.pm (see t/050-access.t for the pattern).
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;

our $SECRET = 'auth-request-secret-93be01';

EntryTest::setup(secret => $SECRET, auth_request => 1);

# A string of $n characters that does not compress, the same on every run.
sub blob {
    my ($n, $seed) = @_;
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
    my ($x, $out) = ($seed // 1, '');
    for (1 .. $n) { $x = ($x * 1103515245 + 12345) % 2147483648; $out .= $chars[($x >> 16) % 62] }
    return $out;
}

# Names of the Set-Cookie lines, in order ("session", "session2", ...), live ones only.
sub names_of { return [ map { (split /=/, $_)[0] } grep { !/; Max-Age=0(?:;|$)/ } @_ ] }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid cookie: 200 from the upstream, identity in the proxy headers, nothing internal leaks
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_set_header X-Session-Id $session_id;
        proxy_set_header X-Exists $session_exists;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
--- init
my $lines = mint(subject => 'alice', data => { email => 'a@x' });
use_cookie(cookie_header(@$lines));
fill(ID => loggable_id(sid_of(cookie_value($lines, 'session'))));
--- request
GET /app/page?q=1
--- error_code: 200
--- response_body_like: ^GET /_up/page\?q=1\ncookie: session=<\d+ chars>\nx-audience: default\nx-exists: 1\nx-session-id: %%ID%%\nx-subject: alice\n$
--- raw_response_headers_unlike: (?i)(?:X-Session-State|X-Session-Cookie|Set-Cookie|Session-)



=== TEST 2: no cookie, a tampered cookie: 401 (an [info] line for the tampered one), never the upstream
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
--- init
my $value = cookie_value(mint(subject => 'mallory'), 'session');
substr($value, 115, 1) = substr($value, 115, 1) eq 'A' ? 'B' : 'A';
my ($res, $log) = logged('GET', '/app/x');
is($res->{status}, 401, 'no cookie: 401');
unlike($log, qr/no session/, 'no cookie: nothing logged (the normal state of an anonymous request)');
use_cookie("session=$value");
--- request
GET /app/y
--- error_code: 401
--- response_body_like: 401 Authorization Required
--- error_log eval
qr/\[info\] .*\[session\] no session for cookie "session": /



=== TEST 3: error_page 401 = @login_redirect: GET/HEAD go to the login page with return_to, POST gets 401
unauthorized_status 403 in the internal location: a 403 that error_page 401 does not catch.
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        error_page 401 = @login_redirect;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location @login_redirect {
        set $session_config_login_url /login;
        js_content session.loginRedirect;
    }
--- request eval
["GET /app/a%20b?x=1&r=/z", "HEAD /app/h", "POST /app/form\nuser=x", "PUT /app/form\nuser=x"]
--- more_headers eval
["", "", "Content-Type: application/x-www-form-urlencoded", "Content-Type: application/x-www-form-urlencoded"]
--- error_code eval
[302, 302, 401, 401]
--- response_headers_like eval
["Location: http://localhost(?::\\d+)?/login\\?return_to=%2Fapp%2Fa%2520b%3Fx%3D1%26r%3D%2Fz",
 "Location: http://localhost(?::\\d+)?/login\\?return_to=%2Fapp%2Fh",
 "Location: ", "Location: "]



=== TEST 4: per-location options go in the internal location: audience, request/response headers, status
The session for audience "admin" opens only through /_session_auth_admin's settings.
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth {
        internal;
        set $session_config_audience admin;
        set $session_config_request_headers "subject audience";
        set $session_config_response_headers "subject id";
        set $session_config_unauthorized_status 403;
        js_content session.authRequest;
    }
--- init
my $admin = mint(subject => 'root', audience => 'admin');
my $res = http('GET', '/app/x', { Cookie => cookie_header(@{ mint(subject => 'user') }) });
is($res->{status}, 403, 'a session of the default audience: 403 (the internal location says so)');
use_cookie(cookie_header(@$admin));
fill(ID => loggable_id(sid_of(cookie_value($admin, 'session'))));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: ^GET /_up/page\ncookie: session=<\d+ chars>\nsession-audience: admin\nsession-subject: root\n$
--- response_headers
Session-Subject: root
Session-Id: %%ID%%
Session-Audience:
Session-Timeout:
X-Session-State:



=== TEST 5: expose_data in auth_request mode: X-Session-Data-<key> through auth_request_set
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"expose_data": ["email"]}}
--- http_config
    js_var $session_data_email;
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        auth_request_set $session_data_email $sent_http_x_session_data_email;
        proxy_set_header X-Email $session_data_email;
        proxy_set_header X-Data $session_data;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
--- init
use_cookie(cookie_header(@{ mint(subject => 'dave', data => { email => 'dave@example.com', hidden => 'h1dd3n' }) }));
--- request
GET /app/x
--- response_body_like: ^GET /_up/x\ncookie: session=<\d+ chars>\nx-data: \{"email":"dave\@example.com"\}\nx-email: dave\@example.com\n$
--- raw_response_headers_unlike: (?i)x-session-data
--- no_error_log
[error]
[warn]
h1dd3n



=== TEST 6: a touch: the refreshed cookie reaches the client with the upstream's own cookie
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
--- init
my $lines = mint(subject => 'erin', now => time() - 120);
my $res = http('GET', '/app/x?set_cookie=1', { Cookie => cookie_header(@$lines) });
is($res->{status}, 200, '200 from the upstream');
is_deeply(names_of(@{ $res->{set_cookie} }), ['app', 'session'], "the upstream's cookie, then the session's");
is(sid_of(cookie_value($res->{set_cookie}, 'session')), sid_of(cookie_value($lines, 'session')), 'a touch: the same session id');
use_cookie(cookie_header(@$lines));
--- request
GET /app/y
--- response_body_like: ^GET /_up/y\ncookie: session=<\d+ chars>\nx-subject: erin\n$
--- raw_response_headers_like: Set-Cookie: session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly\r\n



=== TEST 7: a rolling refresh of a 3-chunk session with a remember cookie: every Set-Cookie line reaches the client
The same cookies through js_access are the reference: auth_request must hand on exactly what the
access check would have sent. Minted 2800 s ago: 3/4 of the rolling timeout (3600 s) is spent.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "compression_threshold": 0, "remember": true, "idling_timeout": 0}
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location /direct/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'frank', data => { blob => main::blob(9000) }, remember => JSON::PP::true,
                 now => time() - 2800, options => { compression_threshold => 0, remember => JSON::PP::true });
is_deeply(main::names_of(@$lines), [qw(session session2 session3 remember remember2 remember3)],
          'minted: a 3-chunk session and a 3-chunk remember cookie');
my $cookie = cookie_header(@$lines);
my $direct = http('GET', '/direct/x', { Cookie => $cookie });
is($direct->{status}, 200, 'js_access: 200');
my $res = http('GET', '/app/x', { Cookie => $cookie });
is($res->{status}, 200, 'auth_request: 200');
like($res->{content}, qr/\nx-subject: frank\n/, 'auth_request: the subject upstream');
my @session = grep { /^session/ } @{ $res->{set_cookie} };
is_deeply(main::names_of(@session), [qw(session session2 session3)], 'auth_request: all three session chunks');
is_deeply(main::names_of(@{ $res->{set_cookie} }), main::names_of(@{ $direct->{set_cookie} }),
          'auth_request: the same Set-Cookie lines as js_access');
isnt(sid_of(cookie_value($res->{set_cookie}, 'session')), sid_of(cookie_value($lines, 'session')), 'a new session id');
my %attributes = map { my ($n, $a) = /^([^=]+)=[^;]*(;.*)$/; ($n => $a) } @{ $res->{set_cookie} };
is($attributes{$_}, '; Path=/; SameSite=Lax; HttpOnly', "$_: the attributes") for qw(session session2 session3);
# The refreshed cookies open again, and the rolling clock restarted (no new refresh).
my $again = http('GET', '/app/y', { Cookie => cookie_header(@{ $res->{set_cookie} }) });
is($again->{status}, 200, 'the refreshed chunks open');
is_deeply($again->{set_cookie}, [], 'and need no refresh');
use_cookie($cookie);
--- request
GET /app/z
--- raw_response_headers_like: Set-Cookie: session=[A-Za-z0-9_-]{4000,}; Path=/; SameSite=Lax; HttpOnly\r\nSet-Cookie: session2=[A-Za-z0-9_-]{4000,}; Path=/; SameSite=Lax; HttpOnly\r\nSet-Cookie: session3=[A-Za-z0-9_-]+; Path=/; SameSite=Lax; HttpOnly\r\n



=== TEST 8: a session restored from its remember cookie: six cookies (3 remember + 3 session chunks) reach the client
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "compression_threshold": 0, "remember": true}
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location /direct/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'grace', data => { blob => main::blob(9000, 7) }, remember => JSON::PP::true,
                 options => { compression_threshold => 0, remember => JSON::PP::true });
my $remember = cookie_header(grep { /^remember/ } @$lines);
my $direct = http('GET', '/direct/x', { Cookie => $remember });
is($direct->{status}, 200, 'js_access: restored from the remember cookie');
my $res = http('GET', '/app/x', { Cookie => $remember });
is($res->{status}, 200, 'auth_request: restored from the remember cookie');
like($res->{content}, qr/\nx-subject: grace\n/, 'auth_request: the subject upstream');
my $names = main::names_of(@{ $res->{set_cookie} });
is_deeply([sort @$names], [qw(remember remember2 remember3 session session2 session3)], 'auth_request: six cookies');
is_deeply($names, main::names_of(@{ $direct->{set_cookie} }), 'auth_request: the same lines as js_access');
my $again = http('GET', '/app/y', { Cookie => cookie_header(@{ $res->{set_cookie} }) });
is($again->{status}, 200, 'the new cookies open');
use_cookie($remember);
--- request
GET /app/z
--- response_body_like: \nx-subject: grace\n$
--- raw_response_headers_like: (?:Set-Cookie: (?:session|remember)\d?=[^\r]+\r\n(?:[^\r]*\r\n)*){6}



=== TEST 9: the maximum: a nine-chunk session restored from a nine-chunk remember cookie, all 18 lines
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "compression_threshold": 0, "remember": true}
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
--- init
my $lines = mint(subject => 'henry', data => { blob => main::blob(26000, 3) }, remember => JSON::PP::true,
                 options => { compression_threshold => 0, remember => JSON::PP::true });
is(scalar(grep { /^remember/ } @$lines), 9, 'minted: a nine-chunk remember cookie');
my $remember = cookie_header(grep { /^remember/ } @$lines);
my $res = http('GET', '/app/x', { Cookie => $remember });
is($res->{status}, 200, 'restored from the remember cookie');
is_deeply([sort @{ main::names_of(@{ $res->{set_cookie} }) }],
          [sort(map({ $_ == 1 ? 'session' : "session$_" } 1 .. 9), map({ $_ == 1 ? 'remember' : "remember$_" } 1 .. 9))],
          'all 18 Set-Cookie lines');
my $again = http('GET', '/app/y', { Cookie => cookie_header(grep { /^session/ } @{ $res->{set_cookie} }) });
is($again->{status}, 200, 'the nine new session chunks open');
like($again->{content}, qr/\nx-subject: henry\n/, 'with the subject');
--- request
GET /app/none
--- error_code: 401



=== TEST 10: no configuration: the internal location fails closed, the client gets 500, [error] with the request id
--- main_config
load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;
--- config
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        error_page 401 = @login_redirect;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location @login_redirect { js_content session.loginRedirect; }
--- request
GET /app/x
--- error_code: 500
--- error_log eval
qr/\[error\] .*\[session\] invalid session configuration: secret or ikm is required \(request [0-9a-f]{32}\)/
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 11: the auth subrequest shares the main request's variables (nginx: sr->variables = r->variables)
So $session_config_* set in the protected location reach the check too (two locations, one internal
auth location, two audiences), and clear_request_cookie set in the internal location reaches
$session_upstream_cookie of the main request.
--- config
    location /admin/ {
        set $session_config_audience admin;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /app/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth {
        internal;
        set $session_config_clear_request_cookie on;
        js_content session.authRequest;
    }
--- init
my $admin = cookie_header(@{ mint(subject => 'root', audience => 'admin') });
my $user = cookie_header(@{ mint(subject => 'user') });
is(http('GET', '/app/x', { Cookie => $admin })->{status}, 401, 'the admin session: not in /app/');
is(http('GET', '/admin/x', { Cookie => $user })->{status}, 401, 'the default session: not in /admin/');
my $res = http('GET', '/app/x', { Cookie => "a=1; $user" });
is($res->{status}, 200, 'the default session: in /app/');
is($res->{content}, "GET /_up/x\ncookie: a=1\nx-subject: user\n", 'the default session: subject, cookies cleared');
$::Block->set_value('more_headers', "Cookie: $admin; b=2");
--- request
GET /admin/y
--- response_body
GET /_up/y
cookie: b=2
x-subject: root



=== TEST 12: an override set from the request reaches every check of its location, and none without it
$session_location_config is "" for a location that sets no $session_config_* (the common case); here
the same location alternates between that case and an audience override, warm and cold alike (in
auth_request mode, so that the floor, njs 0.8.9, runs it too).
--- config
    location /app/ {
        set $session_config_audience $arg_aud;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Audience $session_audience;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth {
        internal;
        js_content session.authRequest;
    }
--- init
my %cookie = (default => cookie_header(@{ mint(subject => 'kim') }), A => cookie_header(@{ mint(subject => 'kim', audience => 'A') }));
my @steps = (
    ['default', '', 200], ['default', 'A', 401], ['default', '', 200], ['default', 'A', 401],
    ['A', 'A', 200], ['A', '', 401], ['A', 'A', 200], ['A', '', 401], ['default', '', 200],
);
my $n = 0;
for my $step (@steps) {
    my ($audience, $asked, $status) = @$step;
    my $uri = '/app/' . ++$n . ($asked ne '' ? "?aud=$asked" : '');
    my $res = http('GET', $uri, { Cookie => $cookie{$audience} });
    is($res->{status}, $status, "$uri, a cookie for audience $audience: $status");
    like($res->{content}, qr/^x-audience: $audience$/m, "$uri: published for audience $audience") if $status == 200;
}
use_cookie($cookie{A});
--- request
GET /app/last?aud=A
--- response_body_like: ^GET /_up/last\?aud=A\ncookie: session=<\d+ chars>\nx-audience: A\n$
