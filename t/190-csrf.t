# CSRF protection bound to the session, inside a real nginx under the engine selected by
# TEST_NGINX_JS_ENGINE, in both modes of the access check: js_access (/app/, session.access) and
# auth_request (/ar/, session.authRequest behind nginx/session-auth-request.conf). With `csrf` on,
# anything but GET/HEAD/OPTIONS/TRACE needs the session's token: in the X-CSRF-Token header, or (js_access
# and the logout handler, which may read the body) in the csrf_token field of a form body.
# $session_csrf_token hands the token out; the logout handler takes POST with the token by default.
#
# Tokens are computed here in Perl (EntryTest::csrf_token), independently of src/core/csrf.ts, and
# compared with what nginx hands out. Refusals are 403 with one [info] line naming the reason, never the
# token or the cookie. Set-up and helpers: t/lib/EntryTest.pm (see t/050-access.t for the pattern).
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;

our $SECRET = 'csrf-secret-2f8e41c7a9';
our $OLD_SECRET = 'csrf-old-secret-96d03b';
our $FORM = 'application/x-www-form-urlencoded';

EntryTest::setup(secret => $SECRET, hidden => [$OLD_SECRET], locations => <<'_EOC_');
    # js_access with csrf on; the upstream echoes the headers it got, or (/app/body/) the body.
    location /app/ {
        set $session_config_csrf on;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /app/body/ {
        set $session_config_csrf on;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_body/;
    }
    # auth_request with csrf on (set in the protected location: the subrequest shares it).
    location /ar/ {
        set $session_config_csrf on;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    # csrf off (the default): unsafe methods pass on the session alone.
    location /plain/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    # The token, as a page would get it: in a header to the upstream, and in a response header.
    location /token/ {
        js_access session.access;
        proxy_set_header X-Token $session_csrf_token;
        add_header X-Token $session_csrf_token always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /ar-token/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Token $session_csrf_token;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /anonymous-token { add_header X-Token "[$session_csrf_token]" always; js_content upstream.headers; }
    location = /logout { js_content session.logoutHandler; }
    location = /logout/get { set $session_config_logout_get on; js_content session.logoutHandler; }
    location /_body/ { js_content upstream.body; }
_EOC_

# A session minted by the harness: (Cookie header, session cookie value).
sub session_of {
    my $lines = mint(@_);
    return (cookie_header(@$lines), cookie_value($lines, 'session'));
}

# A request with the session cookie and extra headers; a body with Content-Type if given.
sub send_with {
    my ($method, $uri, $cookie, $headers, $body) = @_;
    return http($method, $uri, { Cookie => $cookie, %{ $headers // {} } }, $body);
}

# A refusal: 403, the short body, one [info] line with the reason, neither token nor cookie in the log.
sub refused_as {
    my ($name, $reason, $method, $uri, $cookie, $headers, $body) = @_;
    my ($res, $log) = logged($method, $uri, { Cookie => $cookie, %{ $headers // {} } }, $body);
    is($res->{status}, 403, "$name: 403");
    # auth_request: nginx's own 403 page (the subrequest's body is not sent).
    like($res->{content}, $uri =~ m{^/ar/} ? qr/403 Forbidden/ : qr/^request refused: \Q$reason\E\n$/, "$name: the body");
    like($log, qr/\[info\] .*\[session\] csrf: refused \Q$method\E: \Q$reason\E \(request [0-9a-f]{32}\)/, "$name: one info line");
    my ($value) = $cookie =~ /session=([^;]+)/;
    unlike($log, qr/\Q$value\E/, "$name: the cookie is not logged") if defined $value;
    my $token = $headers && $headers->{'X-CSRF-Token'};
    unlike($log, qr/\Q$token\E/, "$name: the token is not logged") if defined $token && $token ne '';
    unlike($log, qr/\[(?:error|warn|alert|crit)\]/, "$name: nothing above info");
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: $session_csrf_token is the session's token (as computed in Perl) in both modes; "" without a session
Sessions without a subject and of another audience get theirs too; the upstream does not get the cookie's value.
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my $expected = csrf_token($value, subject => 'alice');
like($expected, qr/^[A-Za-z0-9_-]{43}$/, 'a 43-character token');
my $res = http('GET', '/token/x', { Cookie => $alice });
is($res->{headers}{'x-token'}, $expected, 'js_access: the response header carries the token');
like($res->{content}, qr/\nx-token: \Q$expected\E\n/, 'js_access: the upstream gets it');
$res = http('GET', '/ar-token/x', { Cookie => $alice });
like($res->{content}, qr/\nx-token: \Q$expected\E\n/, 'auth_request: the upstream gets it');
my ($anonymous, $anonymous_value) = main::session_of(data => { a => 1 });
like(http('GET', '/token/x', { Cookie => $anonymous })->{content}, qr/\nx-token: \Q${\ csrf_token($anonymous_value)}\E\n/,
     'a session without a subject');
my ($bob, $bob_value) = main::session_of(subject => 'bob');
isnt(csrf_token($bob_value, subject => 'bob'), $expected, "another session, another token");
$res = http('GET', '/token/x');
is($res->{status}, 401, 'no session: 401');
--- request
GET /anonymous-token
--- error_code: 200
--- response_headers
X-Token: []



=== TEST 2: js_access: unsafe methods need the token in the header; safe methods and csrf off pass without
Missing, wrong, another session's, a tampered or a truncated token: 403 with one [info] line; the right
one: the upstream. No session: the usual 401 before any token is looked at.
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my ($bob, $bob_value) = main::session_of(subject => 'bob');
my $token = csrf_token($value, subject => 'alice');
for my $method (qw(GET HEAD OPTIONS)) {
    is(http($method, '/app/x', { Cookie => $alice })->{status}, 200, "$method without a token: 200");
}
for my $method (qw(POST PUT PATCH DELETE PROPFIND)) {
    main::refused_as("$method without a token", 'missing CSRF token', $method, '/app/x', $alice);
}
main::refused_as('a wrong token', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => 'A' x 43 });
main::refused_as("bob's token", 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => csrf_token($bob_value, subject => 'bob') });
main::refused_as('the token for another subject', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => csrf_token($value, subject => 'bob') });
main::refused_as('the token for another audience', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => csrf_token($value, subject => 'alice', audience => 'admin') });
main::refused_as('the token under another secret', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => csrf_token($value, subject => 'alice', secret => $main::OLD_SECRET) });
(my $tampered = $token) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
main::refused_as('a tampered token', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => $tampered });
main::refused_as('a truncated token', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => substr($token, 0, 42) });
main::refused_as('an empty token', 'invalid CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => '' });
my $res = http('DELETE', '/app/x', { Cookie => $alice, 'X-CSRF-Token' => $token });
is($res->{status}, 200, 'DELETE with the token: 200');
like($res->{content}, qr/^DELETE \/_up\/x\n.*x-subject: alice\n/s, '... from the upstream, with the identity');
is(http('POST', '/app/x', { 'X-CSRF-Token' => $token })->{status}, 401, 'a token without the session cookie: 401');
is(http('POST', '/plain/x', { Cookie => $alice })->{status}, 200, 'csrf off: POST without a token: 200');
--- request
PATCH /app/y
--- more_headers eval
"X-CSRF-Token: " . ('A' x 43)
--- error_code: 401



=== TEST 3: js_access: the token in a form field (urlencoded or multipart), and the body still reaches the upstream
A wrong field, a missing one, a JSON body without the header, a malformed form: 403, never a 500. A
header present decides alone, even beside a right field.
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my $token = csrf_token($value, subject => 'alice');
my $body = "note=hello+world&csrf_token=$token&x=%C3%A9";
my $res = http('POST', '/app/body/save', { Cookie => $alice, 'Content-Type' => $main::FORM }, $body);
is($res->{status}, 200, 'urlencoded form with the token: 200');
is($res->{content}, "POST $main::FORM\n$body", '... the upstream got the body intact');
my $multipart = join "\r\n", '--XyZ', 'Content-Disposition: form-data; name="note"', '', 'hi',
    '--XyZ', 'Content-Disposition: form-data; name="csrf_token"', '', $token,
    '--XyZ', 'Content-Disposition: form-data; name="file"; filename="a.txt"', 'Content-Type: text/plain', '', 'AAA', '--XyZ--', '';
$res = http('POST', '/app/body/upload', { Cookie => $alice, 'Content-Type' => 'multipart/form-data; boundary=XyZ' }, $multipart);
is($res->{status}, 200, 'multipart form with the token: 200');
is($res->{content}, "POST multipart/form-data; boundary=XyZ\n$multipart", '... the upstream got the body intact');
main::refused_as('a form without the field', 'missing CSRF token', 'POST', '/app/body/x', $alice, { 'Content-Type' => $main::FORM }, 'note=hi');
main::refused_as('a form with a wrong field', 'invalid CSRF token', 'POST', '/app/body/x', $alice, { 'Content-Type' => $main::FORM }, 'csrf_token=' . ('B' x 43));
main::refused_as('a wrong header beside a right field', 'invalid CSRF token', 'POST', '/app/body/x', $alice,
                 { 'Content-Type' => $main::FORM, 'X-CSRF-Token' => 'C' x 43 }, "csrf_token=$token");
main::refused_as('JSON without the header', 'missing CSRF token', 'POST', '/app/body/x', $alice,
                 { 'Content-Type' => 'application/json' }, qq({"csrf_token":"$token"}));
main::refused_as('a malformed form', 'unreadable form body', 'POST', '/app/body/x', $alice, { 'Content-Type' => $main::FORM }, "csrf_token=$token&a=%zz");
main::refused_as('a form without Content-Type', 'missing CSRF token', 'POST', '/app/body/x', $alice, {}, "csrf_token=$token");
$res = http('PUT', '/app/body/json', { Cookie => $alice, 'Content-Type' => 'application/json', 'X-CSRF-Token' => $token }, '{"a":1}');
is($res->{content}, "PUT application/json\n{\"a\":1}", 'JSON with the header: 200, the body intact');
--- request
GET /app/z
--- error_code: 401



=== TEST 4: auth_request: the token in the header; a form field is not read (the subrequest has no body)
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my ($bob, $bob_value) = main::session_of(subject => 'bob');
my $token = csrf_token($value, subject => 'alice');
is(http('GET', '/ar/x', { Cookie => $alice })->{status}, 200, 'GET without a token: 200');
is(http('HEAD', '/ar/x', { Cookie => $alice })->{status}, 200, 'HEAD without a token: 200');
main::refused_as('POST without a token', 'missing CSRF token', 'POST', '/ar/x', $alice);
main::refused_as('DELETE without a token', 'missing CSRF token', 'DELETE', '/ar/x', $alice);
main::refused_as("bob's token", 'invalid CSRF token', 'POST', '/ar/x', $alice, { 'X-CSRF-Token' => csrf_token($bob_value, subject => 'bob') });
main::refused_as('the token in a form field', 'missing CSRF token', 'POST', '/ar/x', $alice, { 'Content-Type' => $main::FORM }, "csrf_token=$token");
my $res = http('POST', '/ar/x', { Cookie => $alice, 'X-CSRF-Token' => $token });
is($res->{status}, 200, 'POST with the token: 200');
like($res->{content}, qr/^POST \/_up\/x\n.*x-subject: alice\n/s, '... from the upstream, with the identity');
is(http('POST', '/ar/x', { 'X-CSRF-Token' => $token })->{status}, 401, 'a token without the session cookie: 401');
--- request
GET /ar/y
--- error_code: 401



=== TEST 5: the token outlives a refresh: a session re-issued under a new id (rolling renewal) keeps its token
The page rendered before the refresh posts with the old cookie; the refreshed cookie takes the same token.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "rolling_timeout": 100}
--- init
for my $prefix ('/app/', '/ar/') {
    my ($cookie, $value) = main::session_of(subject => 'alice', now => time() - 90, options => { rolling_timeout => 100 });
    my $token = csrf_token($value, subject => 'alice');
    my $res = http('POST', "${prefix}x", { Cookie => $cookie, 'X-CSRF-Token' => $token });
    is($res->{status}, 200, "$prefix: POST with the token of a session due for renewal: 200");
    my $renewed = cookie_value($res->{set_cookie}, 'session');
    ok(defined $renewed && $renewed ne $value, "$prefix: ... re-issued under a new cookie");
    isnt(substr($renewed // '', 3, 44), substr($value, 3, 44), "$prefix: ... with a new session id");
    is(csrf_token($renewed, subject => 'alice'), $token, "$prefix: ... whose token is the same");
    is(http('POST', "${prefix}y", { Cookie => "session=$renewed", 'X-CSRF-Token' => $token })->{status}, 200,
       "$prefix: the renewed cookie with the token from before: 200");
    is(http('GET', '/token/x', { Cookie => "session=$renewed" })->{headers}{'x-token'}, $token, "$prefix: \$session_csrf_token unchanged");
}
--- request
GET /app/z
--- error_code: 401



=== TEST 6: logout: POST with the token (header or form field); GET 405; without a token 403; logout_get allows GET
After logout the browser holds no session (cookie storage: the cookie is expired); a new login has a new
token and refuses the old one.
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my $token = csrf_token($value, subject => 'alice');
my $res = http('GET', '/logout', { Cookie => $alice });
is($res->{status}, 405, 'GET /logout: 405');
is($res->{headers}{allow}, 'POST', '... Allow: POST');
is_deeply($res->{set_cookie}, [], '... no cookie touched');
main::refused_as('POST /logout without a token', 'missing CSRF token', 'POST', '/logout', $alice);
main::refused_as('POST /logout with a wrong token', 'invalid CSRF token', 'POST', '/logout', $alice, { 'X-CSRF-Token' => 'D' x 43 });
main::refused_as('POST /logout from another site', 'cross-site request (Sec-Fetch-Site)', 'POST', '/logout', $alice,
                 { 'X-CSRF-Token' => $token, 'Sec-Fetch-Site' => 'cross-site' });
is(http('GET', '/app/x', { Cookie => $alice })->{status}, 200, 'the session is still there');
$res = http('POST', '/logout', { Cookie => $alice, 'Content-Type' => $main::FORM }, "csrf_token=$token");
is($res->{status}, 204, 'POST /logout with the token in a form field: 204');
like($res->{set_cookie}[0] // '', qr/^session=; .*Max-Age=0$/, '... the cookie expired');
my $left = cookie_header(@{ $res->{set_cookie} }) || 'session=';
is(http('POST', '/app/x', { Cookie => $left, 'X-CSRF-Token' => $token })->{status}, 401, "after logout: the browser's POST with the token: 401");
my ($again, $again_value) = main::session_of(subject => 'alice', now => time() + 1);
isnt(csrf_token($again_value, subject => 'alice'), $token, 'a new login: a new token');
main::refused_as('a new login with the token from before', 'invalid CSRF token', 'POST', '/app/x', $again, { 'X-CSRF-Token' => $token });
$res = http('POST', '/logout', { Cookie => $again, 'X-CSRF-Token' => csrf_token($again_value, subject => 'alice') });
is($res->{status}, 204, 'POST /logout with the token in the header: 204');
is(http('POST', '/logout')->{status}, 204, 'POST /logout without a session: 204 (nothing to log out)');
my ($carol) = main::session_of(subject => 'carol');
$res = http('GET', '/logout/get', { Cookie => $carol });
is($res->{status}, 204, 'logout_get: GET without a token logs out');
like($res->{set_cookie}[0] // '', qr/^session=; .*Max-Age=0$/, '... the cookie expired');
--- request
PUT /logout
--- error_code: 405
--- response_headers
Allow: POST



=== TEST 7: server-side storage (shm): after logout the old cookie itself is dead, and its token with it
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my ($alice, $value) = main::session_of(subject => 'alice', options => { storage => 'shm', shm => { zone => 'sessions' } });
my $token = csrf_token($value, subject => 'alice');
is(http('POST', '/app/x', { Cookie => $alice, 'X-CSRF-Token' => $token })->{status}, 200, 'before logout: 200');
is(http('POST', '/logout', { Cookie => $alice, 'X-CSRF-Token' => $token })->{status}, 204, 'logout: 204');
is(http('POST', '/app/x', { Cookie => $alice, 'X-CSRF-Token' => $token })->{status}, 401, 'the old cookie with its token: 401');
is(http('POST', '/ar/x', { Cookie => $alice, 'X-CSRF-Token' => $token })->{status}, 401, '... in auth_request mode too');
--- request
GET /app/z
--- error_code: 401



=== TEST 8: Origin and Sec-Fetch-Site (csrf_origin_check, on by default): a foreign request is refused even with the token
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my $token = csrf_token($value, subject => 'alice');
my $here = "http://$Test::Nginx::Util::ServerAddr:$Test::Nginx::Util::ServerPortForClient";
for my $prefix ('/app/', '/ar/') {
    main::refused_as("$prefix Sec-Fetch-Site: cross-site", 'cross-site request (Sec-Fetch-Site)', 'POST', "${prefix}x", $alice,
                     { 'X-CSRF-Token' => $token, 'Sec-Fetch-Site' => 'cross-site' });
    main::refused_as("$prefix another Origin", 'Origin does not match Host', 'POST', "${prefix}x", $alice,
                     { 'X-CSRF-Token' => $token, Origin => 'http://evil.example' });
    main::refused_as("$prefix another port", 'Origin does not match Host', 'POST', "${prefix}x", $alice,
                     { 'X-CSRF-Token' => $token, Origin => 'http://127.0.0.1:1' });
    main::refused_as("$prefix Origin: null", 'Origin does not match Host', 'POST', "${prefix}x", $alice,
                     { 'X-CSRF-Token' => $token, Origin => 'null' });
    is(http('POST', "${prefix}x", { Cookie => $alice, 'X-CSRF-Token' => $token, Origin => $here, 'Sec-Fetch-Site' => 'same-origin' })->{status},
       200, "$prefix this Origin, same-origin: 200");
    main::refused_as("$prefix this Origin without the token", 'missing CSRF token', 'POST', "${prefix}x", $alice,
                     { Origin => $here, 'Sec-Fetch-Site' => 'same-origin' });
    is(http('GET', "${prefix}x", { Cookie => $alice, 'Sec-Fetch-Site' => 'cross-site', Origin => 'http://evil.example' })->{status},
       200, "$prefix a cross-site GET: 200 (safe methods are not checked)");
}
--- request
GET /app/z
--- error_code: 401



=== TEST 9: csrf_origin_check off: only the token counts; csrf_header and csrf_field renamed in the JSON file
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"csrf_origin_check": false, "csrf_header": "X-XSRF", "csrf_field": "_csrf"}}
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my $token = csrf_token($value, subject => 'alice');
is(http('POST', '/app/x', { Cookie => $alice, 'X-XSRF' => $token, 'Sec-Fetch-Site' => 'cross-site', Origin => 'http://evil.example' })->{status},
   200, 'a foreign request with the token in X-XSRF: 200');
main::refused_as('the token in X-CSRF-Token', 'missing CSRF token', 'POST', '/app/x', $alice, { 'X-CSRF-Token' => $token });
is(http('POST', '/app/body/x', { Cookie => $alice, 'Content-Type' => $main::FORM }, "_csrf=$token")->{status}, 200, 'the token in _csrf: 200');
main::refused_as('the token in csrf_token', 'missing CSRF token', 'POST', '/app/body/x', $alice, { 'Content-Type' => $main::FORM }, "csrf_token=$token");
--- request
GET /app/z
--- error_code: 401



=== TEST 10: key rotation: a page rendered before the secret changed still posts (its token verifies under the fallback)
The session, made under the old secret, is re-issued under the new one; $session_csrf_token is then
the token under the new secret, which verifies too.
--- session_json
{"secret": "csrf-new-secret-7c1e5a0b", "secret_fallbacks": [{"env": "ACCESS_SECRET"}]}
--- init
my ($alice, $value) = main::session_of(subject => 'alice');
my $old = csrf_token($value, subject => 'alice');
my $res = http('POST', '/app/x', { Cookie => $alice, 'X-CSRF-Token' => $old });
is($res->{status}, 200, 'the token under the fallback secret: 200');
my $renewed = cookie_value($res->{set_cookie}, 'session');
ok(defined $renewed, '... the session re-issued under the new secret');
my $new = csrf_token($renewed, subject => 'alice', secret => 'csrf-new-secret-7c1e5a0b');
isnt($new, $old, 'the token under the new secret differs');
is(http('GET', '/token/x', { Cookie => "session=$renewed" })->{headers}{'x-token'}, $new, '$session_csrf_token: under the new secret');
is(http('POST', '/app/x', { Cookie => "session=$renewed", 'X-CSRF-Token' => $new })->{status}, 200, 'the new token: 200');
is(http('POST', '/app/x', { Cookie => "session=$renewed", 'X-CSRF-Token' => $old })->{status}, 200, 'the old one still (fallback): 200');
--- request
GET /app/z
--- error_code: 401



=== TEST 11: misconfiguration fails loudly: a csrf_header nginx cannot carry
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"csrf_header": "X CSRF"}}
--- request
POST /app/x
--- error_code: 500
--- response_body_like: ^session check failed, reference [0-9a-f]{32}$
--- error_log
nginx.csrf_header must be a header name
--- no_error_log
[alert]
[crit]
exception



=== TEST 12: $session_config_csrf must be on or off
--- config
    location /bad/ {
        set $session_config_csrf maybe;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
POST /bad/x
--- error_code: 500
--- error_log
$session_config_csrf must be on or off
--- no_error_log
[alert]
[crit]
exception



=== TEST 13: misconfiguration fails loudly: a csrf_header ending in a line feed (the njs engine's $ matches before it)
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"csrf_header": "X-CSRF-Token\n"}}
--- request
POST /app/x
--- error_code: 500
--- response_body_like: ^session check failed, reference [0-9a-f]{32}$
--- error_log
nginx.csrf_header must be a header name
--- no_error_log
[alert]
[crit]
exception
