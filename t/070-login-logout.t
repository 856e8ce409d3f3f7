# The login and logout entry points inside a real nginx, under the engine selected by
# TEST_NGINX_JS_ENGINE. session.login asks the login backend (a subrequest to the internal
# /_session_login_backend, proxied here to `upstream.loginBackend` of t/js/entry-upstream.js) and turns
# its verdict header X-Session-Login into a session; the client never sees the verdict, and a verdict
# the client sends itself is never read. session.logoutHandler logs out (or destroys) and answers 204
# or 303 to logout_redirect.
#
# The backend: POST user=alice&password=wonderland passes; ?verdict=evil|noredirect|invalid|remember|
# denied401|newline|bigdata|deep picks the verdict (see entry-upstream.js); GET is its login page (200, no verdict); any
# other POST is a 401 form.
#
# Set-up and helpers: t/lib/EntryTest.pm (see t/050-access.t for the pattern).
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;

our $SECRET = 'login-logout-secret-5ac2f1';
our $GOOD = 'user=alice&password=wonderland';
our $FORM = 'Content-Type: application/x-www-form-urlencoded';
our $EXPIRED = '; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0';

# The login backend, the protected application and logout, for every block.
EntryTest::setup(secret => $SECRET, either_mode => 1, hidden => ['wonderland'], locations => <<'_EOC_');
    location = /login { js_content session.login; }
    location = /_session_login_backend {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
        # TEST 14's verdicts are large headers.
        proxy_buffer_size 128k;
        proxy_buffers 4 128k;
        proxy_busy_buffers_size 128k;
    }
    location = /backend { js_content upstream.loginBackend; }
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Data $session_data;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
_EOC_

sub login {
    my ($query, $body, %headers) = @_;
    return http('POST', "/login$query", { 'Content-Type' => 'application/x-www-form-urlencoded', %headers }, $body);
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a good login: 303 to the verdict's redirect with a session cookie; the verdict stays inside
The backend's other headers come through; the session then opens in a js_access location.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"expose_data": ["email"]}}
--- http_config
    js_var $session_data_email;
--- init
my $res = main::login('', $main::GOOD);
is($res->{status}, 303, 'login: 303');
like($res->{headers}{location}, qr{^(?:http://[^/]+)?/app/$}, 'login: to /app/');
is(scalar @{ $res->{set_cookie} }, 1, 'login: one Set-Cookie');
like($res->{set_cookie}[0], qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, 'login: the session cookie');
ok(!exists $res->{headers}{'x-session-login'}, 'login: no verdict header for the client');
is($res->{headers}{'x-backend'}, 'login', "login: the backend's own headers");
my $app = http('GET', '/app/home', { Cookie => cookie_header(@{ $res->{set_cookie} }) });
is($app->{status}, 200, 'the session opens behind js_access');
like($app->{content}, qr/\nx-data: \{"email":"a\@x"\}\nx-subject: alice\n$/, "the verdict's subject and data");
use_cookie(cookie_header(@{ $res->{set_cookie} }));
--- request
GET /app/again
--- response_body_like: ^GET /_up/again\ncookie: session=<\d+ chars>\nx-data: \{"email":"a\@x"\}\nx-subject: alice\n$



=== TEST 2: Test::Nginx's view of a good login: 303, Location, Set-Cookie, no X-Session-Login
--- request eval
"POST /login\n$::GOOD"
--- more_headers eval
$::FORM
--- error_code: 303
--- response_headers_like
Location: ^(?:http://localhost(?::\d+)?)?/app/$
Set-Cookie: ^session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly$
X-Backend: login
--- raw_response_headers_unlike: (?i)x-session-login|X-Client-Verdict



=== TEST 3: bad credentials: the backend's 401 form goes through, no cookie; GET: the backend's login page
--- request eval
["POST /login\nuser=alice&password=guess", "POST /login\nuser=bob&password=wonderland", "GET /login"]
--- more_headers eval
[$::FORM, $::FORM, ""]
--- error_code eval
[401, 401, 200]
--- response_body eval
["<form>bad credentials</form>\n", "<form>bad credentials</form>\n", "<form>log in</form>\n"]
--- response_headers eval
["X-Backend: login\nContent-Type: text/html", "X-Backend: login", "X-Backend: login"]
--- raw_response_headers_unlike eval
["(?i)set-cookie|x-session-login", "(?i)set-cookie|x-session-login", "(?i)set-cookie|x-session-login"]



=== TEST 4: a client sending its own X-Session-Login cannot log in: the verdict is read from the backend's answer only
Not on a failed login, not on the backend's login page (200 without a verdict), not beside an invalid
verdict, and it cannot replace the subject of a good login.
--- config
    location = /login/invalid {
        set $session_config_login_backend /_session_login_backend_invalid;
        js_content session.login;
    }
    location = /_session_login_backend_invalid {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend?verdict=invalid;
    }
--- init
my $forged = '{"subject":"root","data":{"admin":true},"redirect":"/app/"}';
my $res = main::login('', $main::GOOD, 'X-Session-Login' => $forged);
is($res->{status}, 303, 'a good login with a forged header: 303');
my $app = http('GET', '/app/x', { Cookie => cookie_header(@{ $res->{set_cookie} }) });
like($app->{content}, qr/\nx-data: \{\}\nx-subject: alice\n$/, "the backend's subject, not the client's");
unlike($app->{content}, qr/root|admin/, 'nothing of the forged verdict');
($res, my $log) = logged('POST', '/login/invalid', { 'Content-Type' => 'application/x-www-form-urlencoded', 'X-Session-Login' => $forged }, $main::GOOD);
is($res->{status}, 200, 'an invalid verdict with a forged header: the backend status');
is_deeply($res->{set_cookie}, [], 'an invalid verdict with a forged header: no cookie');
like($log, qr/login verdict ignored: not valid JSON/, 'an invalid verdict with a forged header: [warn]');
--- request eval
["POST /login\nuser=alice&password=guess", "GET /login", "GET /login?verdict=noredirect", "POST /login?verdict=noredirect\nuser=nobody"]
--- more_headers eval
["$::FORM\nX-Session-Login: {\"subject\":\"alice\",\"redirect\":\"/app/\"}",
 "X-Session-Login: {\"subject\":\"root\"}",
 "X-Session-Login: {\"subject\":\"root\",\"redirect\":\"/app/\"}",
 "$::FORM\nX-Session-Login: {\"subject\":\"root\",\"data\":{\"admin\":true}}"]
--- error_code eval
[401, 200, 200, 401]
--- response_body eval
["<form>bad credentials</form>\n", "<form>log in</form>\n", "<form>log in</form>\n", "<form>bad credentials</form>\n"]
--- raw_response_headers_unlike eval
["(?i)set-cookie|location", "(?i)set-cookie|location", "(?i)set-cookie|location", "(?i)set-cookie|location"]
--- no_error_log
[error]
[alert]
[emerg]
wonderland



=== TEST 5: a verdict redirect to another site ("//evil.example") is not followed: [warn], the backend's 200 goes through
--- request eval
"POST /login?verdict=evil\n$::GOOD"
--- more_headers eval
$::FORM
--- error_code: 200
--- response_body
welcome alice
--- response_headers_like
Set-Cookie: ^session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly$
--- raw_response_headers_unlike: (?i)location|evil|x-session-login
--- error_log eval
qr/\[warn\] .*\[session\] login verdict redirect ignored: not a local path \(request [0-9a-f]{32}\)/
--- no_error_log
[error]
[alert]
[emerg]
wonderland



=== TEST 6: verdicts that make no session: not JSON, or on a failed (401) answer: [warn], no cookie
--- init
my ($res, $log) = logged('POST', '/login?verdict=invalid', { 'Content-Type' => 'application/x-www-form-urlencoded' }, $main::GOOD);
is($res->{status}, 200, 'not JSON: the backend status');
is_deeply($res->{set_cookie}, [], 'not JSON: no cookie');
like($log, qr/\[warn\] .*\[session\] login verdict ignored: not valid JSON \{subject\} \(request [0-9a-f]{32}\)/, 'not JSON: [warn]');
ok(!exists $res->{headers}{'x-session-login'}, 'not JSON: the verdict header is still not handed on');
--- request eval
"POST /login?verdict=denied401\n$::GOOD"
--- more_headers eval
$::FORM
--- error_code: 401
--- response_body
<form>denied anyway</form>
--- raw_response_headers_unlike: (?i)set-cookie|x-session-login
--- error_log eval
qr/\[warn\] .*\[session\] login verdict ignored: backend status 401 \(request [0-9a-f]{32}\)/
--- no_error_log
[error]
[alert]
[emerg]



=== TEST 7: a verdict without redirect: the backend's 200 page with the cookie; "remember": true adds the remember cookie
--- init
my $res = main::login('?verdict=remember', $main::GOOD);
is($res->{status}, 303, 'remember: 303');
is_deeply([ map { (split /=/, $_)[0] } @{ $res->{set_cookie} } ], ['session', 'remember'], 'remember: session and remember cookies');
like($res->{set_cookie}[1] // '', qr/^remember=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly; Expires=[^;]+ GMT; Max-Age=\d+$/,
     'remember: a persistent cookie');
--- request eval
"POST /login?verdict=noredirect\n$::GOOD"
--- more_headers eval
$::FORM
--- error_code: 200
--- response_body
welcome alice
--- response_headers_like
Set-Cookie: ^session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly$
Content-Type: text/html



=== TEST 8: logout (POST with the CSRF token): 204 and the session cookie expired; the cookie no longer opens; no cookie: 204 too
GET is refused (405) and leaves the session; the token rules themselves: t/190-csrf.t.
--- config
    location = /logout { js_content session.logoutHandler; }
--- init
my $lines = main::login('', $main::GOOD)->{set_cookie};
my $cookie = cookie_header(@$lines);
my $token = csrf_token(cookie_value($lines, 'session'), subject => 'alice');
my $res = http('GET', '/logout', { Cookie => $cookie });
is($res->{status}, 405, 'GET /logout: 405');
is_deeply($res->{set_cookie}, [], 'GET /logout: the cookie stays');
$res = http('POST', '/logout', { Cookie => $cookie, 'X-CSRF-Token' => $token });
is($res->{status}, 204, 'logout: 204');
is_deeply($res->{set_cookie}, ["session=; Path=/; SameSite=Lax; HttpOnly$main::EXPIRED"], 'logout: the cookie expired');
$res = http('GET', '/app/x', { Cookie => cookie_header(@{ $res->{set_cookie} }) || 'session=' });
is($res->{status}, 401, 'after logout: 401');
$::Block->set_value('more_headers', ["Cookie: $cookie\nX-CSRF-Token: $token", "Cookie: garbage=1"]);
--- request eval
["POST /logout", "POST /logout"]
--- error_code eval
[204, 204]
--- response_headers eval
["Set-Cookie: session=; Path=/; SameSite=Lax; HttpOnly$::EXPIRED", "Set-Cookie:"]



=== TEST 9: logout_redirect (JSON file, overridden per location): 303 to it; a non-local target is never used
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"logout_redirect": "/bye"}}
--- config
    location = /logout { js_content session.logoutHandler; }
    location = /logout/home { set $session_config_logout_redirect /home?from=logout; js_content session.logoutHandler; }
    location = /logout/evil { set $session_config_logout_redirect //evil.example/; js_content session.logoutHandler; }
--- init
my $login = main::login('', $main::GOOD);
is($login->{status}, 303, 'logged in');
use_cookie(cookie_header(@{ $login->{set_cookie} }),
           'X-CSRF-Token: ' . csrf_token(cookie_value($login->{set_cookie}, 'session'), subject => 'alice'));
--- request eval
["POST /logout", "POST /logout/home", "POST /logout/evil"]
--- error_code eval
[303, 303, 204]
--- response_headers_like eval
["Location: ^(?:http://localhost(?::\\d+)?)?/bye\$\nSet-Cookie: ^session=; .*Max-Age=0\$",
 "Location: ^(?:http://localhost(?::\\d+)?)?/home\\?from=logout\$\nSet-Cookie: ^session=; .*Max-Age=0\$",
 "Location: \nSet-Cookie: ^session=; .*Max-Age=0\$"]



=== TEST 10: a session of two audiences: logout leaves the other audience, logout_destroy ends both
--- http_config
    js_import audiences from entry-audiences.js;
--- config
    location = /join { js_content audiences.join; }
    location = /logout/a { set $session_config_audience a; js_content session.logoutHandler; }
    location = /destroy/a {
        set $session_config_audience a;
        set $session_config_logout_destroy on;
        js_content session.logoutHandler;
    }
    location /a/ {
        set $session_config_audience a;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /b/ {
        set $session_config_audience b;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $first = http('GET', '/join?audience=a&subject=ann');
is($first->{content}, "audiences: a\n", 'joined a');
my $both = http('GET', '/join?audience=b&subject=ben', { Cookie => cookie_header(@{ $first->{set_cookie} }) });
is($both->{content}, "audiences: a,b\n", 'joined b too');
my $cookie = cookie_header(@{ $both->{set_cookie} });
like(http('GET', '/a/x', { Cookie => $cookie })->{content}, qr/\nx-subject: ann\n/, 'opens in a');
like(http('GET', '/b/x', { Cookie => $cookie })->{content}, qr/\nx-subject: ben\n/, 'opens in b');

my $token = csrf_token(cookie_value($both->{set_cookie}, 'session'), subject => 'ann', audience => 'a');
my $out = http('POST', '/logout/a', { Cookie => $cookie, 'X-CSRF-Token' => $token });
is($out->{status}, 204, 'logout of a: 204');
is(scalar @{ $out->{set_cookie} }, 1, 'logout of a: one Set-Cookie');
like($out->{set_cookie}[0] // '', qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, 'logout of a: a new live cookie (b stays)');
my $left = cookie_header(@{ $out->{set_cookie} });
is(http('GET', '/a/x', { Cookie => $left })->{status}, 401, 'after logout of a: a is gone');
like(http('GET', '/b/x', { Cookie => $left })->{content}, qr/\nx-subject: ben\n/, 'after logout of a: b is still there');
use_cookie($cookie, "X-CSRF-Token: $token");
--- request
POST /destroy/a
--- error_code: 204
--- response_headers
Set-Cookie: session=; Path=/; SameSite=Lax; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0



=== TEST 11: no configuration: login fails closed with 500
--- main_config
load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;
--- request eval
"POST /login\n$::GOOD"
--- more_headers eval
$::FORM
--- error_code: 500
--- response_body_like: ^session check failed, reference [0-9a-f]{32}\n$
--- raw_response_headers_unlike: (?i)set-cookie|x-session-login
--- error_log eval
qr/\[error\] .*\[session\] invalid session configuration: secret or ikm is required \(request [0-9a-f]{32}\)/
--- no_error_log
[alert]
[emerg]
wonderland



=== TEST 12: login_backend per location: another backend location
--- config
    location = /login/other {
        set $session_config_login_backend /_other_backend;
        js_content session.login;
    }
    location = /_other_backend {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend?verdict=noredirect;
    }
--- request eval
"POST /login/other\n$::GOOD"
--- more_headers eval
$::FORM
--- error_code: 200
--- response_body
welcome alice
--- response_headers_like
Set-Cookie: ^session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; HttpOnly$



=== TEST 13: chunks: a login over a 3-chunk session expires the stale chunks; logout expires every chunk and the remember cookie
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "remember": true}
--- config
    location = /logout { js_content session.logoutHandler; }
--- init
my $blob = join '', map { chr(65 + ($_ * 7919) % 26) . chr(97 + ($_ * 104729) % 26) . ($_ % 10) } 1 .. 3000;
my $big = mint(subject => 'big', data => { blob => $blob }, remember => JSON::PP::true,
               options => { compression_threshold => 0, remember => JSON::PP::true });
my @names = map { (split /=/, $_)[0] } @$big;
is_deeply(\@names, [qw(session session2 session3 remember remember2 remember3)], 'minted: 3 session and 3 remember chunks');
my $cookie = cookie_header(@$big);

my $res = main::login('', $main::GOOD, Cookie => $cookie);
is($res->{status}, 303, 'login over it: 303');
my %lines = map { (split /=/, $_)[0] => $_ } @{ $res->{set_cookie} };
like($lines{session} // '', qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, 'login: a new one-chunk session');
is($lines{$_}, "$_=; Path=/; SameSite=Lax; HttpOnly$main::EXPIRED", "login: $_ expired") for qw(session2 session3);

my $token = csrf_token(cookie_value($big, 'session'), subject => 'big');
$res = http('POST', '/logout', { Cookie => $cookie, 'X-CSRF-Token' => $token });
is($res->{status}, 204, 'logout: 204');
is_deeply([ sort @{ $res->{set_cookie} } ],
          [ sort map { "$_=; Path=/; SameSite=Lax; HttpOnly$main::EXPIRED" } qw(remember remember2 remember3 session session2 session3) ],
          'logout: every chunk and the remember cookie expired');
--- request
POST /logout
--- error_code: 204
--- response_headers
Set-Cookie:



=== TEST 14: verdicts a session cannot take are clear answers, never a 500 (found by npm run fuzz)
A redirect ending in a line feed ("/\n": the njs engine's `$` matched before it, and the Location header
failed) is ignored like any non-local one; data too large for the cookie is a 400 that says so; data
nested 5,000 deep (QuickJS parsed it, then overflowed its stack writing it) is an invalid verdict.
--- init
my ($res, $log) = logged('POST', '/login?verdict=newline', { 'Content-Type' => 'application/x-www-form-urlencoded' }, $main::GOOD);
is($res->{status}, 200, 'redirect "/\n": the backend status, not a 500');
is(scalar @{ $res->{set_cookie} }, 1, 'redirect "/\n": the session cookie');
ok(!exists $res->{headers}{location}, 'redirect "/\n": no Location');
like($log, qr/\[warn\] .*login verdict redirect ignored: not a local path/, 'redirect "/\n": [warn]');
($res, $log) = logged('POST', '/login?verdict=bigdata', { 'Content-Type' => 'application/x-www-form-urlencoded' }, $main::GOOD);
is($res->{status}, 400, 'data too large: 400');
is($res->{content}, "login refused: the session data is too large\n", 'data too large: says why');
is_deeply($res->{set_cookie}, [], 'data too large: no cookie');
like($log, qr/\[warn\] .*login refused: cookie size limit exceeded: send less data or use server-side storage/, 'data too large: [warn] for the operator');
unlike($log, qr/\[error\]/, 'data too large: no [error]');
($res, $log) = logged('POST', '/login?verdict=deep', { 'Content-Type' => 'application/x-www-form-urlencoded' }, $main::GOOD);
is($res->{status}, 200, 'data nested 5,000 deep: the backend status, not a 500');
is_deeply($res->{set_cookie}, [], 'data nested 5,000 deep: no cookie');
like($log, qr/\[warn\] .*login verdict ignored/, 'data nested 5,000 deep: [warn]');
unlike($log, qr/\[error\]/, 'data nested 5,000 deep: no [error]');
--- request
GET /login
--- error_code: 200
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 15: under the njs engine, a worker's later logins are saved by the login part, with the view its first login left
The proof, under the njs engine: after the first login the configuration file is broken, and only the
full part reads it (there on every request that builds it; QuickJS reads it once per context, so its
contexts not made yet would read the broken file: it keeps the file as it is). A second login
still answers as the first (303, the session cookie, the backend's headers, no verdict), and the check
accepts its cookie with the verdict's subject and data. A login with remember is the full part's: under
the njs engine it now fails closed on the broken file, and with the file back it saves both cookies.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"expose_data": ["email"]}}
--- http_config
    js_var $session_data_email;
--- init
my $file = "$Test::Nginx::Util::HtmlDir/session.json";
my $json = '{"secret": {"env": "ACCESS_SECRET"}, "nginx": {"expose_data": ["email"]}}';
my $res = main::login('', $main::GOOD);
is($res->{status}, 303, 'first login: 303');
my $njs = $ENV{TEST_NGINX_JS_ENGINE} eq 'njs';
my $out;
if ($njs) {
    open $out, '>', $file or die "cannot write $file: $!\n";
    print $out '{"secret": ';
    close $out;
}
$res = main::login('', $main::GOOD);
is($res->{status}, 303, 'second login (njs: configuration file broken): 303');
like($res->{headers}{location}, qr{^(?:http://[^/]+)?/app/$}, 'second login: to /app/');
is(scalar @{ $res->{set_cookie} }, 1, 'second login: one Set-Cookie');
like($res->{set_cookie}[0], qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, 'second login: the session cookie');
ok(!exists $res->{headers}{'x-session-login'}, 'second login: no verdict header for the client');
is($res->{headers}{'x-backend'}, 'login', "second login: the backend's own headers");
my $app = http('GET', '/app/home', { Cookie => cookie_header(@{ $res->{set_cookie} }) });
is($app->{status}, 200, "the second login's session opens behind js_access");
like($app->{content}, qr/\nx-data: \{"email":"a\@x"\}\nx-subject: alice\n$/, "the second login's subject and data");
my $remember;
if ($njs) {
    $remember = main::login('?verdict=remember', $main::GOOD);
    is($remember->{status}, 500, 'remember, configuration file broken: the full login, failing closed');
    open $out, '>', $file or die "cannot write $file: $!\n";
    print $out $json;
    close $out;
}
$remember = main::login('?verdict=remember', $main::GOOD);
is($remember->{status}, 303, 'remember, configuration file back: 303');
is_deeply([ sort map { /^([^=]+)=/ ? $1 : $_ } @{ $remember->{set_cookie} } ], [ 'remember', 'session' ], 'remember: the session and remember cookies');
$app = http('GET', '/app/home', { Cookie => cookie_header(@{ $remember->{set_cookie} }) });
is($app->{status}, 200, "the remember login's session opens behind js_access");
--- request
GET /login
--- error_code: 200
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 16: a location with a session registry: every login is the full part's (it reserves and records)
Under the njs engine the second login, with the configuration file broken after the first, fails
closed: the login part handed it on (QuickJS keeps the file as it is, TEST 15 says why). With the file
back, the login is saved and its session opens.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- init
my $file = "$Test::Nginx::Util::HtmlDir/session.json";
my $json = '{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}';
my $res = main::login('', $main::GOOD);
is($res->{status}, 303, 'first login: 303');
if ($ENV{TEST_NGINX_JS_ENGINE} eq 'njs') {
    open my $out, '>', $file or die "cannot write $file: $!\n";
    print $out '{"secret": ';
    close $out;
    $res = main::login('', $main::GOOD);
    is($res->{status}, 500, 'second login, configuration file broken: the full login, failing closed');
    open $out, '>', $file or die "cannot write $file: $!\n";
    print $out $json;
    close $out;
}
$res = main::login('', $main::GOOD);
is($res->{status}, 303, 'login, configuration file back: 303');
my $app = http('GET', '/app/home', { Cookie => cookie_header(@{ $res->{set_cookie} }) });
is($app->{status}, 200, 'its session opens behind js_access');
--- request
GET /login
--- error_code: 200
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 17: the backend's own Set-Cookie lines and repeated headers reach the client as nginx groups them
Two Set-Cookie lines stay two lines beside the session cookie; a header on two lines is copied as
headersOut gives it: one line, each value followed by ", " (njs 1.0.2 joins so under both engines; the
login copies what it is given). Copying the lines one by one would leave only the last of each. The
verdict stays inside. Twice: under the njs engine the second login is the login part's (TEST 15).
--- config
    location = /login/cookies {
        set $session_config_login_backend /_cookies_backend;
        js_content session.login;
    }
    location = /_cookies_backend {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/cookies_backend;
    }
    location = /cookies_backend {
        add_header Set-Cookie "theme=dark; Path=/";
        add_header Set-Cookie "lang=en; Path=/; HttpOnly";
        add_header X-Multi first;
        add_header X-Multi second;
        add_header X-Session-Login '{"subject":"carol","redirect":"/app/"}';
        return 200 "welcome\n";
    }
--- init
for my $round ('first', 'second') {
    my $res = http('POST', '/login/cookies', { 'Content-Type' => 'application/x-www-form-urlencoded' }, $main::GOOD);
    is($res->{status}, 303, "$round login: 303");
    my @lines = sort @{ $res->{set_cookie} };
    is(scalar @lines, 3, "$round login: three Set-Cookie lines");
    is($lines[0], 'lang=en; Path=/; HttpOnly', "$round login: the backend's first cookie, a line of its own");
    like($lines[1], qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, "$round login: the session cookie");
    is($lines[2], 'theme=dark; Path=/', "$round login: the backend's second cookie, a line of its own");
    is($res->{headers}{'x-multi'}, 'first, second, ', "$round login: a header on two lines, joined as headersOut joins it");
    ok(!exists $res->{headers}{'x-session-login'}, "$round login: no verdict header for the client");
    my $app = http('GET', '/app/home', { Cookie => 'session=' . ((split /[=;]/, $lines[1])[1]) });
    is($app->{status}, 200, "$round login: the session opens behind js_access");
    like($app->{content}, qr/\nx-subject: carol\n$/, "$round login: the verdict's subject");
}
--- request
GET /login
--- error_code: 200
--- no_error_log
[alert]
[crit]
[emerg]
