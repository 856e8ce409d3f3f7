# The ready-made js_access entry point (session.access) inside a real nginx, under the engine selected
# by TEST_NGINX_JS_ENGINE, configured the way a user would: `include nginx/njs-session.conf` at the
# http level, a JSON configuration file named by NJS_SESSION_CONFIG (secrets from {"env"}/{"file"}),
# per-location `$session_config_<name>` overrides, and a protected location proxying to an upstream
# (t/js/entry-upstream.js, `upstream.headers`: it answers with every request header it got, sorted,
# session cookie values abbreviated to "<N chars>").
#
# Cookies are minted inside the running nginx by the test harness (dist/test-harness.js, saveCase) in
# the block's `--- init` (see t/020-lifecycle.t for why multi-step flows run there): mint() returns
# the Set-Cookie lines, use_cookie() puts them in this block's requests, fill() replaces %%NAME%%
# placeholders of the block's expectations with values known only then (the loggable id, ...).
# The shared set-up (http{} level, JSON file from `--- session_json`, helpers) is t/lib/EntryTest.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use CookieFormat;

our $SECRET = 'access-secret-7f3a9c1e5b';        # passed to nginx as env ACCESS_SECRET
our $FILE_SECRET = 'access-file-secret-4d2b8e';   # the {"file": ...} secret

EntryTest::setup(secret => $SECRET, hidden => [$FILE_SECRET]);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: no cookie: 401 (nothing reaches the upstream); $session_exists is "0"
--- config
    location /app/ {
        js_access session.access;
        add_header X-Exists $session_exists always;
        add_header X-Subject "[$session_subject]" always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/page
--- error_code: 401
--- response_headers
X-Exists: 0
X-Subject: []
--- response_body_like: 401 Authorization Required



=== TEST 2: a valid cookie: the upstream gets the identity through proxy_set_header
$session_id is the loggable id (base64url of 16 bytes of SHA-256 of the session id), never the id.
--- config
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_set_header X-Session-Id $session_id;
        proxy_set_header X-Timeout $session_timeout;
        proxy_set_header X-Exists $session_exists;
        proxy_set_header X-Data $session_data;
        add_header X-Exists $session_exists always;
        add_header X-Log-Id $session_id always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'alice@example.com', data => { email => 'alice@example.com', n => 1 });
my $value = cookie_value($lines, 'session');
my $sid = sid_of($value);
my $id = loggable_id($sid);
like($id, qr/^[A-Za-z0-9_-]{22}$/, 'the loggable id: 22 base64url characters');
isnt($id, substr(b64url_encode($sid), 0, 22), 'the loggable id is not the session id');
unlike($value, qr/\Q$id\E/, 'the loggable id is not in the cookie');
use_cookie(cookie_header(@$lines));
fill(ID => $id);
--- request
GET /app/page?x=1&y=%2F
--- response_body_like eval
qr{^GET /_up/page\?x=1&y=%2F
cookie: session=<\d+ chars>
x-audience: default
x-data: \{\}
x-exists: 1
x-session-id: %%ID%%
x-subject: alice\@example.com
x-timeout: (?:900|899|898)
$}
--- response_headers
X-Exists: 1
X-Log-Id: %%ID%%



=== TEST 3: login_url: GET/HEAD redirect with the original path and query, POST gets 401
Only the location that sets $session_config_login_url redirects; unauthorized_status 403 per location.
A request URI that is not a local path ("//app/x" reads as another host) is not handed on as return_to.
--- config
    location /app/ {
        set $session_config_login_url /login;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /api/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /forbidden/ {
        set $session_config_unauthorized_status 403;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request eval
["GET /app/a%20b?x=1&next=/y&z=%C3%A9", "HEAD /app/h", "POST /app/form\nfoo=bar", "GET /api/x", "GET /forbidden/x", "POST /forbidden/x\nfoo=bar",
 "GET //app/x"]
--- more_headers eval
["", "", "Content-Type: application/x-www-form-urlencoded", "", "", "Content-Type: application/x-www-form-urlencoded", ""]
--- error_code eval
[302, 302, 401, 401, 403, 403, 302]
--- response_headers_like eval
["Location: ^http://localhost(?::\\d+)?/login\\?return_to=%2Fapp%2Fa%2520b%3Fx%3D1%26next%3D%2Fy%26z%3D%25C3%25A9\$",
 "Location: ^http://localhost(?::\\d+)?/login\\?return_to=%2Fapp%2Fh\$",
 "Location: ", "Location: ", "Location: ", "Location: ",
 "Location: ^http://localhost(?::\\d+)?/login\$"]



=== TEST 4: login_url with a query, return_to_parameter and unauthorized_status from the JSON file; a location overrides the status
--- session_json
{"secret": {"env": "ACCESS_SECRET"},
 "nginx": {"login_url": "/sso/start?app=web", "return_to_parameter": "next", "unauthorized_status": 403}}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /api/ {
        set $session_config_unauthorized_status 401;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request eval
["GET /app/x?q=1", "DELETE /app/x", "DELETE /api/x"]
--- error_code eval
[302, 403, 401]
--- response_headers_like eval
["Location: http://localhost(?::\\d+)?/sso/start\\?app=web&next=%2Fapp%2Fx%3Fq%3D1", "Location: ", "Location: "]



=== TEST 5: request_headers "subject timeout" through nginx/session-upstream.conf: no Session-Id upstream
A second location shortens the idling timeout per location ($session_config_idling_timeout).
--- config
    location /app/ {
        js_access session.access;
        set $session_config_request_headers "subject timeout";
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /short/ {
        js_access session.access;
        set $session_config_request_headers "subject,idling_timeout";
        set $session_config_idling_timeout 60;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'alice', data => { email => 'a@x' });
use_cookie('other=1; ' . cookie_header(@$lines));
--- request eval
["GET /app/page", "GET /short/page"]
--- response_body_like eval
[qr{^GET /_up/page
cookie: other=1; session=<\d+ chars>
session-subject: alice
session-timeout: (?:900|899|898)
$}, qr{^GET /_up/page
cookie: other=1; session=<\d+ chars>
session-idling-timeout: (?:60|59|58)
session-subject: alice
$}]



=== TEST 6: response_headers reach the client through proxy_pass
Session-Id carries the loggable id (like $session_id), not the session id.
--- config
    location /app/ {
        js_access session.access;
        set $session_config_response_headers "subject id audience";
        set $session_config_audience web;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'bob', audience => 'web');
use_cookie(cookie_header(@$lines));
my $sid = sid_of(cookie_value($lines, 'session'));
fill(ID => loggable_id($sid), SID => b64url_encode($sid));
--- request
GET /app/page
--- more_headers
X-Other: 1
--- response_headers
Session-Subject: bob
Session-Id: %%ID%%
Session-Audience: web
Session-Timeout:
--- response_body_like: ^GET /_up/page\ncookie: session=<\d+ chars>\nx-other: 1\n$
--- raw_response_headers_unlike: %%SID%%



=== TEST 7: clear_request_cookie: the upstream's Cookie header keeps every cookie but the session's
Chunks (session2..) and the remember cookie are removed too; a Cookie header of session cookies only is
not sent at all; two Cookie header lines are read (and cleaned) as one. Without the option (default),
the Cookie header goes through untouched.
--- config
    location /app/ {
        js_access session.access;
        set $session_config_clear_request_cookie on;
        set $session_config_request_headers id;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /keep/ {
        js_access session.access;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'carol');
my $session = cookie_header(@$lines);
fill(ID => loggable_id(sid_of(cookie_value($lines, 'session'))));
$::Block->set_value('more_headers', [
    "Cookie: a=1; $session; b=two; session2=x; remember=y; remember3=z; c=3",
    "Cookie: $session",
    "Cookie: a=1; $session; b=two",
    "Cookie: a=1\nCookie: $session; b=two",
]);
--- request eval
["GET /app/one", "GET /app/two", "GET /keep/three", "GET /app/four"]
--- response_body_like eval
["^GET /_up/one\ncookie: a=1; b=two; c=3\nsession-id: %%ID%%\n\$",
 "^GET /_up/two\nsession-id: %%ID%%\n\$",
 "^GET /_up/three\ncookie: a=1; session=<\\d+ chars>; b=two\n\$",
 "^GET /_up/four\ncookie: a=1; b=two\nsession-id: %%ID%%\n\$"]



=== TEST 8: expose_data: $session_data_<key> (js_var) and $session_data for the upstream
The JSON file exposes "email"; a location exposes more ($session_config_expose_data). Non-string
values come as JSON text, absent keys as nothing, unexposed keys never.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"expose_data": ["email"]}}
--- http_config
    js_var $session_data_email;
    js_var $session_data_roles;
    js_var $session_data_absent;
--- config
    location /app/ {
        js_access session.access;
        proxy_set_header X-Email $session_data_email;
        proxy_set_header X-Roles $session_data_roles;
        proxy_set_header X-Data $session_data;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /more/ {
        js_access session.access;
        set $session_config_expose_data "email roles absent";
        proxy_set_header X-Email $session_data_email;
        proxy_set_header X-Roles $session_data_roles;
        proxy_set_header X-Absent $session_data_absent;
        proxy_set_header X-Data $session_data;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'dave', data => { email => 'dave@example.com', roles => ['admin', 'ops'], hidden => 'top secret' });
use_cookie(cookie_header(@$lines));
--- request eval
["GET /app/x", "GET /more/y"]
--- response_body_like eval
["^GET /_up/x\ncookie: session=<\\d+ chars>\nx-data: \\{\"email\":\"dave\@example.com\"\\}\nx-email: dave\@example.com\n\$",
 "^GET /_up/y\ncookie: session=<\\d+ chars>\nx-data: \\{\"email\":\"dave\@example.com\",\"roles\":\"\\[\\\\\"admin\\\\\",\\\\\"ops\\\\\"\\]\"\\}\nx-email: dave\@example.com\nx-roles: \\[\"admin\",\"ops\"\\]\n\$"]
--- no_error_log
[error]
[warn]
top secret



=== TEST 9: a refresh: the touched (and the re-saved) cookie reach the client through proxy_pass
Minted 120 s ago (touch_threshold 60): a touch, same session id, beside the upstream's own cookie.
Minted 2800 s ago (3/4 of the 3600 s rolling timeout spent): a re-save with a new session id.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "idling_timeout": 3000}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $touched = mint(subject => 'erin', now => time() - 120);
my $sid = sid_of(cookie_value($touched, 'session'));
my $res = http('GET', '/app/x?set_cookie=42', { Cookie => cookie_header(@$touched) });
is($res->{status}, 200, 'touch: 200 from the upstream');
my @session = grep { /^session=/ } @{ $res->{set_cookie} };
is(scalar @session, 1, 'touch: one session Set-Cookie');
like($session[0] // '', qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, 'touch: attributes');
is(sid_of(cookie_value(\@session, 'session') // ''), $sid, 'touch: the same session id');
ok((grep { $_ eq 'app=42; Path=/' } @{ $res->{set_cookie} }), "touch: the upstream's own cookie too");

my $rolled = mint(subject => 'erin', now => time() - 2800);
$res = http('GET', '/app/y', { Cookie => cookie_header(@$rolled) });
is($res->{status}, 200, 'rolling refresh: 200 from the upstream');
my $new = cookie_value($res->{set_cookie}, 'session');
ok(defined $new, 'rolling refresh: a new session cookie');
isnt(sid_of($new // ''), sid_of(cookie_value($rolled, 'session')), 'rolling refresh: a new session id');

# The same touch, checked by Test::Nginx.
use_cookie(cookie_header(@$touched));
--- request
GET /app/z?set_cookie=7
--- raw_response_headers_like: Set-Cookie: session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly\r\n(?:.*\r\n)*Set-Cookie: app=7; Path=/\r\n
--- response_body_like: ^GET /_up/z\?set_cookie=7\n



=== TEST 10: tampered, foreign and garbage cookies: 401 and an [info] line, never a 500
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'mallory');
my $value = cookie_value($lines, 'session');
my $tampered = $value;
substr($tampered, 120, 1) = substr($tampered, 120, 1) eq 'A' ? 'B' : 'A';
my $foreign = cookie_value(mint(subject => 'mallory', options => { secret => 'another-secret' }), 'session');
$::Block->set_value('more_headers', [
    "Cookie: session=$tampered",
    "Cookie: session=$foreign",
    "Cookie: session=" . ('A' x 300),
    "Cookie: session=%%%",
]);
--- request eval
["GET /app/a", "GET /app/b", "GET /app/c", "GET /app/d"]
--- error_code eval
[401, 401, 401, 401]
--- error_log eval
[qr/\[info\] .*\[session\] no session for cookie "session": /]



=== TEST 11: no configuration at all (no NJS_SESSION_CONFIG, no init()): 500 and one [error] line with the request id
The reference in the answer must be the request id of the [error] line. Nothing in this nginx.conf
uses $request_id, so nginx does not cache it per request: each read makes a new one.
--- main_config
load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my ($res, $log) = logged('GET', '/app/x');
is($res->{status}, 500, 'a 500');
like($res->{content}, qr/^session check failed, reference [0-9a-f]{32}\n$/, 'the answer quotes a reference');
like($log, qr/\[error\] .*\[session\] invalid session configuration: secret or ikm is required \(request [0-9a-f]{32}\)/,
     'the [error] line');
my ($reference) = $res->{content} =~ /reference ([0-9a-f]{32})/;
my ($logged) = $log =~ /\(request ([0-9a-f]{32})\)/;
is($logged, $reference, 'the [error] line names the reference the client got');
--- request
GET /app/y
--- error_code: 500
--- response_body_like: ^session check failed, reference [0-9a-f]{32}\n$
--- error_log eval
qr/\[error\] .*\[session\] invalid session configuration: secret or ikm is required \(request [0-9a-f]{32}\)/
--- no_error_log
[alert]
[crit]
[emerg]
unexpected error



=== TEST 12: the same with $request_id used by the configuration (log_format, add_header): the same id everywhere
--- main_config
load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;
--- config
    location /app/ {
        js_access session.access;
        add_header X-Request-Id $request_id always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my ($res, $log) = logged('GET', '/app/x');
is($res->{status}, 500, 'a 500');
my ($reference) = $res->{content} =~ /reference ([0-9a-f]{32})/;
my ($logged) = $log =~ /secret or ikm is required \(request ([0-9a-f]{32})\)/;
ok(defined $reference && defined $logged, 'a reference in the answer and in the [error] line');
is($logged, $reference, 'the [error] line names the reference the client got');
is($res->{headers}{'x-request-id'}, $reference, 'and so does $request_id');
--- request
GET /app/y
--- error_code: 500
--- no_error_log
[alert]
[crit]
[emerg]
unexpected error



=== TEST 13: a configuration file that is not JSON: 500 and an [error] line
--- session_json
{"secret": {"env": "ACCESS_SECRET"},
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- response_body_like: ^session check failed, reference [0-9a-f]{32}\n$
--- error_log eval
qr{\[error\] .*\[session\] invalid session configuration: \S+/html/session\.json is not valid JSON \(request [0-9a-f]{32}\)}
--- no_error_log
[alert]
[crit]
[emerg]
unexpected error



=== TEST 14: broken configuration: a secret from an environment variable nginx does not pass
Broken configurations fail closed: a 500 with the reason in error.log (a block per file: the file is
read once, when the module loads).
--- session_json
{"secret": {"env": "NOT_PASSED_TO_NGINX"}}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: secret: environment variable NOT_PASSED_TO_NGINX is empty or not passed to nginx (add `env NOT_PASSED_TO_NGINX;`)
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 15: broken configuration: an unknown nginx option
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"login_uri": "/login"}}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: unknown option "nginx.login_uri"
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 16: broken configuration: an unreadable secret file
--- session_json
{"secret": {"file": "/nonexistent/secret"}}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: secret: cannot read /nonexistent/secret: no such file
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 17: broken configuration: an unknown session option
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "idle_timeout": 5}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: unknown option "idle_timeout"
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 18: broken per-location values: 500 with the variable named
--- config
    location /app/ {
        set $session_config_idling_timeout 15m;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /status/ {
        set $session_config_unauthorized_status 302;
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /headers/ {
        set $session_config_request_headers "subject email";
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $cookie = cookie_header(@{ mint(subject => 'frank') });
my %expected = (
    '/status/x'  => qr/\[error\] .*invalid session configuration: \$session_config_unauthorized_status must be 401 or 403 \(request [0-9a-f]{32}\)/,
    '/headers/x' => qr/\[error\] .*invalid session configuration: request_headers must be one of "id", /,
);
for my $uri (sort keys %expected) {
    my ($res, $log) = logged('GET', $uri, { Cookie => $cookie });
    is($res->{status}, 500, "$uri: 500");
    like($log, $expected{$uri}, "$uri: the reason in error.log");
}
use_cookie($cookie);
--- request
GET /app/x
--- error_code: 500
--- error_log eval
qr/\[error\] .*invalid session configuration: \$session_config_idling_timeout must be a whole number, not "15m" \(request [0-9a-f]{32}\)/
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 19: expose_data names a key without a declared $session_data_<key>: 500 naming js_var
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"expose_data": ["team"]}}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
use_cookie(cookie_header(@{ mint(subject => 'grace', data => { team => 'blue' }) }));
--- request
GET /app/x
--- error_code: 500
--- response_body_like: ^session check failed, reference [0-9a-f]{32}\n$
--- error_log eval
qr/\[error\] .*invalid session configuration: nginx variable \$session_data_team is not declared \(add `js_var \$session_data_team;`/
--- no_error_log
[alert]
[emerg]
unexpected error
blue



=== TEST 20: the secret from {"file": ...} (trailing newline dropped): its cookies open, others do not
--- session_json
{"secret": {"file": "$TEST_NGINX_SERVROOT/html/secret.txt"}}
--- user_files eval
">>> secret.txt\n$::FILE_SECRET\n"
--- config
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $good = cookie_header(@{ mint(subject => 'from-file', options => { secret => $::FILE_SECRET }) });
my $env = cookie_header(@{ mint(subject => 'from-env') });
my $newline = cookie_header(@{ mint(subject => 'with-newline', options => { secret => "$::FILE_SECRET\n" }) });
$::Block->set_value('more_headers', ["Cookie: $good", "Cookie: $env", "Cookie: $newline"]);
--- request eval
["GET /app/x", "GET /app/y", "GET /app/z"]
--- error_code eval
[200, 401, 401]
--- response_body_like eval
["^GET /_up/x\ncookie: session=<\\d+ chars>\nx-subject: from-file\n\$", "401", "401"]



=== TEST 21: ikm (base64 of 32 bytes) from {"env": ...}
--- main_config eval
"load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;
env NJS_SESSION_CONFIG=\$TEST_NGINX_SERVROOT/html/session.json;
env ACCESS_IKM=" . MIME::Base64::encode_base64(CORE::join('', map { chr($_ * 7 % 256) } 0 .. 31), '') . ";"
--- session_json
{"ikm": {"env": "ACCESS_IKM"}}
--- config
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $ikm = b64url_encode(CORE::join('', map { chr($_ * 7 % 256) } 0 .. 31));
my $good = cookie_header(@{ mint(subject => 'ikm-user', options => { secret => undef, ikm_b64url => $ikm }) });
my $other = cookie_header(@{ mint(subject => 'secret-user') });
$::Block->set_value('more_headers', ["Cookie: $good", "Cookie: $other"]);
--- request eval
["GET /app/x", "GET /app/y"]
--- error_code eval
[200, 401]
--- response_body_like eval
["^GET /_up/x\ncookie: session=<\\d+ chars>\nx-subject: ikm-user\n\$", "401"]



=== TEST 22: $session_config_audience per location: a cookie for audience "A" opens in A, not in B
--- config
    location /a/ {
        set $session_config_audience A;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /b/ {
        set $session_config_audience B;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /default/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $cookie = cookie_header(@{ mint(subject => 'henry', audience => 'A') });
my ($res, $log) = logged('GET', '/b/y', { Cookie => $cookie });
is($res->{status}, 401, 'B: 401');
like($log, qr/\[info\] .*\[session\] no session for cookie "session": missing session audience/, 'B: why, at info level');
use_cookie($cookie);
--- request eval
["GET /a/x", "GET /b/x", "GET /default/x"]
--- error_code eval
[200, 401, 401]
--- response_body_like eval
["^GET /_up/x\ncookie: session=<\\d+ chars>\nx-audience: A\nx-subject: henry\n\$", "401", "401"]



=== TEST 23: a location without the access check publishes nothing, even with a valid cookie
--- config
    location /public/ {
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Exists $session_exists;
        proxy_set_header X-Session-Id $session_id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
use_cookie(cookie_header(@{ mint(subject => 'ivan') }));
--- request
GET /public/x
--- response_body_like: ^GET /_up/x\ncookie: session=<\d+ chars>\nx-exists: 0\n$



=== TEST 24: broken configuration: a cookie_name ending in a line feed (the njs engine's $ matches before it)
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "cookie_name": "session\n"}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: cookie_name must be a cookie token
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 25: broken configuration: a cookie_path ending in a line feed
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "cookie_path": "/app\n"}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log
invalid session configuration: cookie_path must start with / and contain no ; or control characters
--- no_error_log
[alert]
[emerg]
unexpected error



=== TEST 26: an override set from the request: the location gets it on every request, and none without it
A location that sets no $session_config_* is the cheap common case ($session_location_config is "");
here the same location alternates between that case and an audience override, warm and cold alike.
--- config
    location /app/ {
        set $session_config_audience $arg_aud;
        js_access session.access;
        proxy_set_header X-Audience $session_audience;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
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



=== TEST 27: an override holding a line break: 500 naming it ($session_location_config joins them with line feeds)
--- config
    location /app/ {
        set $session_config_audience "a\nb";
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
use_cookie(cookie_header(@{ mint(subject => 'lee') }));
--- request
GET /app/x
--- error_code: 500
--- error_log eval
qr/\[error\] .*invalid session configuration: \$session_config_audience must not contain a line break \(request [0-9a-f]{32}\)/
--- no_error_log
[alert]
[emerg]
unexpected error
