# The check server with a front: `js_access session.accessKnown;` before auth_request in the protected
# location (docs/configuration.md, "A front for known sessions"), inside a real nginx under the engine selected
# by TEST_NGINX_JS_ENGINE. The front checks nothing: it publishes the answer a check left for its
# worker, this location's options and this Cookie header (src/nginx/known-answers.ts), and the internal
# location then answers 204 without asking (nginx/session-check-proxy.conf). Without one it names its
# worker ($session_front_scope, which /app/ hands the upstream as X-Front-Scope: so a test sees which
# requests the front left to the check server), and the check server leaves the answer it makes for
# that worker from a cookie's second check on (src/nginx/answer-key.ts). A new cookie, no cookie, a bad one, a touch, response_headers,
# CSRF: never answered in front. The blocks whose check server is down show which requests the front
# answered alone: a known session still passes, and every other request fails closed (500), never the
# upstream. t/060 and the files that hold in every mode run through the same set-up with
# TEST_NGINX_SESSION_MODE=known_front (build/test.sh does).
#
# Set-up and helpers: t/lib/EntryTest.pm (see t/050-access.t for the pattern).
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;

our $SECRET = 'known-front-secret-41d7a2';
our $FORM = 'application/x-www-form-urlencoded';

# Each protected location in two forms: /app/... asks the check server behind the front; /plain...
# has the same options and the same front before an auth_request answered in this nginx (its own
# subrequest), which leaves its answers for this worker too: the way a test makes a session known
# while the check server is down. /other/ asks the check server naming a worker that is not this one.
EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.accessKnown;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_set_header X-Session-Id $session_id;
        proxy_set_header X-Front-Scope $session_front_scope;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /plain/ {
        js_access session.accessKnown;
        auth_request /_plain_auth;
        auth_request_set $session_state_header $sent_http_x_session_state;
        auth_request_set $session_state $session_state_unframed;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Front-Scope $session_front_scope;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_plain_auth { internal; js_content session.authRequest; }
    location /other/ {
        js_access session.accessKnown;
        auth_request /_other_auth;
        auth_request_set $session_state_header $sent_http_x_session_state;
        auth_request_set $session_state $session_state_unframed;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Front-Scope $session_front_scope;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_other_auth {
        internal;
        proxy_pass http://njs_session_check;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Session-Front-Scope 4000000001;
    }
    location /admin/ {
        set $session_config_audience admin;
        js_access session.accessKnown;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /form/ {
        set $session_config_csrf on;
        js_access session.accessKnown;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /plain-form/ {
        set $session_config_csrf on;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /headers/ {
        set $session_config_response_headers subject;
        js_access session.accessKnown;
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /plain-headers/ {
        set $session_config_response_headers subject;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; include $TEST_NGINX_REPO_DIR/nginx/session-check-proxy.conf; }
_EOC_

our $DOWN = check_server('$TEST_NGINX_SERVROOT/nobody-listens-here.sock');

add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';
    $block->set_value('http_config', check_server() . $http) unless $http =~ /njs_session_check/;
});

# GET `$uri` with `$cookie`: the response, after checking that the upstream answered with `$subject`.
# Returns whether the front answered (no X-Front-Scope reached the upstream).
sub answered_in_front {
    my ($name, $uri, $cookie, $subject) = @_;
    my $res = http('GET', $uri, { Cookie => $cookie });
    is($res->{status}, 200, "$name: 200");
    like($res->{content}, qr{^GET /_up/}, "$name: from the upstream");
    like($res->{content}, qr/\nx-subject: \Q$subject\E\n/, "$name: the subject");
    return $res->{content} !~ /\nx-front-scope: /;
}

# A session's Cookie header, made known to this worker's fronts by the checks at `$plain` (its own
# subrequest's: a cookie's second check leaves the answer); the front at `$plain` answers the third.
sub known {
    my ($plain, %args) = @_;
    my $cookie = cookie_header(@{ mint(%args) });
    my $front;
    $front = answered_in_front("$plain, request $_", "$plain/x", $cookie, $args{subject}) for 1 .. 3;
    ok($front, "$plain: the third request answered in front");
    return $cookie;
}

# A session's Cookie header, verified by the js_access check at `$plain` (which leaves no answer for a front).
sub verified {
    my ($plain, %args) = @_;
    my $cookie = cookie_header(@{ mint(%args) });
    is(http('GET', "$plain/x", { Cookie => $cookie })->{status}, 200, "$plain: 200, the session verified");
    return $cookie;
}

# A request that the front does not answer, with the check server down: 500, never the upstream.
sub not_in_front {
    my ($name, $method, $uri, $headers, $content) = @_;
    my $res = http($method, $uri, $headers, $content);
    is($res->{status}, 500, "$name: 500 (the check server's, which is down)");
    unlike($res->{content}, qr{/_up/}, "$name: never the upstream");
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a new cookie: the check server's at first, then answered in front; the identity every time; nothing internal leaks
--- init
my $lines = mint(subject => 'alice');
my $cookie = cookie_header(@$lines);
my $id = loggable_id(sid_of(cookie_value($lines, 'session')));
my @front;
for my $n (1 .. 4) {
    my $res = http('GET', '/app/page', { Cookie => $cookie });
    is($res->{status}, 200, "request $n: 200");
    like($res->{content}, qr/^GET \/_up\/page\n/, "request $n: from the upstream");
    like($res->{content}, qr/\nx-audience: default\n/, "request $n: the audience");
    like($res->{content}, qr/\nx-session-id: \Q$id\E\n/, "request $n: the loggable id");
    like($res->{content}, qr/\nx-subject: alice\n/, "request $n: the subject");
    push @front, $res->{content} !~ /\nx-front-scope: /;
}
# Request 2 too: the check server leaves an answer from a cookie's second check on (a new cookie's
# first is often its last: a bot's, a client's without cookies).
ok(!$front[0] && !$front[1], 'requests 1 and 2: the check server\'s (X-Front-Scope named this worker)');
ok($front[2] && $front[3], 'requests 3 and 4: answered in front');
use_cookie($cookie);
--- request
GET /app/y
--- error_code: 200
--- response_body_like: \nx-subject: alice\n
--- raw_response_headers_unlike: (?i)(?:X-Session-|X-Front|Set-Cookie|Session-)
--- no_error_log eval
["[warn]", "[error]", $main::SECRET]



=== TEST 2: the check server down: a known session still passes (published in front); anything else fails closed
--- http_config eval
$main::DOWN
--- init
my $cookie = known('/plain', subject => 'bob');
ok(answered_in_front('the known session at /app/', '/app/x', $cookie, 'bob'), '... answered in front');
not_in_front('a new cookie', 'GET', '/app/x', { Cookie => cookie_header(@{ mint(subject => 'carol') }) });
not_in_front('no cookie', 'GET', '/app/x');
my $value = (split /=/, $cookie, 2)[1];
substr($value, 115, 1) = substr($value, 115, 1) eq 'A' ? 'B' : 'A';
not_in_front('the known cookie tampered with', 'GET', '/app/x', { Cookie => "session=$value" });
not_in_front('the known cookie beside another', 'GET', '/app/x', { Cookie => "$cookie; other=1" });
not_in_front('the known session in a location of another audience', 'GET', '/admin/x', { Cookie => $cookie });
use_cookie($cookie);
--- request
GET /app/z
--- error_code: 200
--- response_body_like: \nx-subject: bob\n
--- error_log eval
qr/\[crit\] .*connect\(\) to unix:.*nobody-listens-here\.sock failed/
--- no_error_log eval
["[emerg]", "[alert]", $main::SECRET]



=== TEST 3: CSRF: nothing is answered in front, not even a GET: every request is the check server's
--- http_config eval
$main::DOWN
--- init
my $cookie = verified('/plain-form', subject => 'dave');
not_in_front('GET', 'GET', '/form/x', { Cookie => $cookie });
my $token = csrf_token((split /=/, $cookie, 2)[1], subject => 'dave');
not_in_front('POST with the token', 'POST', '/form/x', { Cookie => $cookie, 'X-CSRF-Token' => $token, 'Content-Type' => $main::FORM }, 'a=1');
not_in_front('POST without a token', 'POST', '/form/x', { Cookie => $cookie, 'Content-Type' => $main::FORM }, 'a=1');
use_cookie($cookie);
--- request
DELETE /form/y
--- error_code: 500
--- response_body_unlike: /_up/
--- error_log eval
qr/\[crit\] .*connect\(\) to unix:.*nobody-listens-here\.sock failed/
--- no_error_log eval
["[emerg]", "[alert]", $main::SECRET]



=== TEST 4: CSRF through the check server behind the front: an unsafe method needs the token
--- init
my $cookie = verified('/plain-form', subject => 'dave');
my $token = csrf_token((split /=/, $cookie, 2)[1], subject => 'dave');
is(http('POST', '/form/x', { Cookie => $cookie, 'Content-Type' => $main::FORM }, 'a=1')->{status}, 403, 'POST without a token: 403');
my $res = http('POST', '/form/x', { Cookie => $cookie, 'X-CSRF-Token' => $token, 'Content-Type' => $main::FORM }, 'a=1');
is($res->{status}, 200, 'POST with the token: 200');
like($res->{content}, qr/^POST \/_up\/x\n.*x-subject: dave\n/s, '... from the upstream, with the identity');
use_cookie($cookie);
--- request
PUT /form/y
--- error_code: 403



=== TEST 5: response_headers: not published in front (the check server adds them), each header once
--- http_config eval
$main::DOWN
--- init
my $cookie = verified('/plain-headers', subject => 'erin');
not_in_front('a known session where response_headers are set', 'GET', '/headers/x', { Cookie => $cookie });
use_cookie($cookie);
--- request
GET /headers/y
--- error_code: 500
--- error_log eval
qr/\[crit\] .*connect\(\) to unix:.*nobody-listens-here\.sock failed/
--- no_error_log eval
["[emerg]", "[alert]", $main::SECRET]



=== TEST 6: response_headers through the check server, a known session twice: Session-Subject once each time
--- init
my $cookie = verified('/plain-headers', subject => 'erin');
for my $n (1, 2) {
    my $res = http('GET', '/headers/x', { Cookie => $cookie });
    is($res->{status}, 200, "request $n: 200");
    is($res->{headers}{'session-subject'}, 'erin', "request $n: one Session-Subject header");
}
use_cookie($cookie);
--- request
GET /headers/y
--- error_code: 200
--- raw_response_headers_like: \r\nSession-Subject: erin\r\n



=== TEST 7: a known session due for a touch: the check server's, whose new cookie reaches the client
--- init
my $lines = mint(subject => 'frank', now => time() - 120);
my $cookie = cookie_header(@$lines);
is(http('GET', '/plain/x', { Cookie => $cookie })->{status}, 200, '/plain: 200 (touched there)');
my $res = http('GET', '/app/x', { Cookie => $cookie });
is($res->{status}, 200, '/app: 200');
is(scalar(grep { /^session=/ } @{ $res->{set_cookie} }), 1, '... with one new session cookie');
is(sid_of(cookie_value($res->{set_cookie}, 'session')), sid_of(cookie_value($lines, 'session')), '... of the same session');
use_cookie($cookie);
--- request
GET /app/y
--- error_code: 200
--- raw_response_headers_like: Set-Cookie: session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly\r\n



=== TEST 8: a known session due for a touch, the check server down: not touched in front, fails closed
--- http_config eval
$main::DOWN
--- init
my $cookie = cookie_header(@{ mint(subject => 'frank', now => time() - 120) });
is(http('GET', '/plain/x', { Cookie => $cookie })->{status}, 200, '/plain: 200 (touched there)');
not_in_front('the same cookie, due for a touch', 'GET', '/app/x', { Cookie => $cookie });
use_cookie($cookie);
--- request
GET /app/y
--- error_code: 500
--- error_log eval
qr/\[crit\] .*connect\(\) to unix:.*nobody-listens-here\.sock failed/
--- no_error_log eval
["[emerg]", "[alert]", $main::SECRET]



=== TEST 9: answers left for another worker are not this one's: the check server leaves them where the front named
--- init
my $cookie = cookie_header(@{ mint(subject => 'gina') });
# /other/ names a worker that is not this one: its front never finds what the check server leaves.
ok(!answered_in_front("/other/, request $_", '/other/x', $cookie, 'gina'), "/other/, request $_: the check server's") for 1 .. 3;
# This worker's front had none left for it; once it named itself, it has.
ok(!answered_in_front('/app/, request 1', '/app/x', $cookie, 'gina'), '/app/, request 1: the check server\'s');
answered_in_front('/app/, request 2', '/app/x', $cookie, 'gina');
ok(answered_in_front('/app/, request 3', '/app/x', $cookie, 'gina'), '/app/, request 3: answered in front');
use_cookie($cookie);
--- request
GET /app/y
--- error_code: 200
--- response_body_unlike: \nx-front-scope:
