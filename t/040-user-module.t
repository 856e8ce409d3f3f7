# A user's own njs module importing dist/session.js (the docs/api.md example, t/js/app.js): log in, use the
# session, log out, under the engine selected by TEST_NGINX_JS_ENGINE. The flow runs in `--- init`
# with a small HTTP client against the nginx Test::Nginx started for the block (see t/020-lifecycle.t
# for why), then Test::Nginx checks the final request.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use SessionTest;
use HTTP::Tiny;
use JSON::PP qw(decode_json);
use MIME::Base64 ();

our $SECRET = 'user-module-secret-42';

sub get {
    my ($uri, $cookie) = @_;
    my $url = "http://$Test::Nginx::Util::ServerAddr:$Test::Nginx::Util::ServerPortForClient$uri";
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 20)
        ->get($url, { headers => { defined $cookie ? (Cookie => $cookie) : () } });
    my $lines = $res->{headers}{'set-cookie'} // [];
    $lines = [$lines] unless ref $lines;
    return ($res, $lines);
}

# Name=value of the live cookies among Set-Cookie lines, as a Cookie header.
sub cookie_header {
    my @lines = grep { !/Max-Age=0/ } @_;
    return join '; ', map { (split /;/, $_)[0] } @lines;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: login, use, logout through a user module that imports session.js
--- main_config eval
"load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\nenv SESSION_SECRET=$::SECRET;"
--- http_config
    js_path $TEST_NGINX_REPO_DIR/dist/;
    js_path $TEST_NGINX_REPO_DIR/t/js/;
    js_import app.js;
--- config
    location = /login  { js_content app.login; }
    location = /logout { js_content app.logout; }
    location = /me     { js_content app.me; }
--- init
package main;
my ($res, $lines) = get('/me');
is($res->{status}, 401, 'no cookie: 401');
($res, $lines) = get('/login');
is($res->{status}, 204, 'login: 204');
is(scalar @$lines, 1, 'login: one Set-Cookie');
like($lines->[0], qr/^session=[A-Za-z0-9_-]{110,}; Path=\/; SameSite=Lax; HttpOnly$/, 'login: the session cookie');
my $cookie = cookie_header(@$lines);
($res) = get('/me', $cookie);
is($res->{status}, 200, 'me with the cookie: 200');
is_deeply(decode_json($res->{content}),
    { subject => 'john@example.com', data => { name => 'John', roles => ['admin'] } }, 'me: subject and data');
($res, $lines) = get('/logout', $cookie);
is($res->{status}, 204, 'logout: 204');
like(join("\n", @$lines), qr/^session=; Path=\/; SameSite=Lax; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0$/m,
    'logout: the cookie is expired');
($res) = get('/me', 'session=' . ('A' x 200));
is($res->{status}, 401, 'a garbage cookie: 401');
--- request
GET /me
--- more_headers
Cookie: session=not-a-session
--- error_code: 401
--- error_log
no session for cookie "session"
--- log_level: info
--- no_error_log
[error]
[alert]
user-module-secret-42



=== TEST 2: a custom storage passed to init() as an object (docs/storage.md, "Your own storage")
--- main_config eval
"load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\nenv SESSION_SECRET=$::SECRET;"
--- http_config
    js_path $TEST_NGINX_REPO_DIR/dist/;
    js_path $TEST_NGINX_REPO_DIR/t/js/;
    js_import app from custom-storage-app.js;
    js_shared_dict_zone zone=my_zone:1m timeout=1d;
--- config
    location = /login  { js_content app.login; }
    location = /logout { js_content app.logout; }
    location = /me     { js_content app.me; }
    location = /keys   { js_content app.keys; }
--- init
package main;
my ($res, $lines) = get('/login');
is($res->{status}, 204, 'login: 204');
like($lines->[0] // '', qr/^session=[A-Za-z0-9_-]{110}; Path=\/; SameSite=Lax; HttpOnly$/, 'the cookie is the header alone');
my $cookie = cookie_header(@$lines);
my $sid = substr(MIME::Base64::decode_base64(do { (my $b = substr((split /=/, $cookie, 2)[1], 0, 110)) =~ tr/-_/+\//; $b . '==' }), 3, 32);
(my $key = MIME::Base64::encode_base64($sid, '')) =~ tr/+\//-_/;
$key =~ s/=+$//;
($res) = get('/keys');
is($res->{content}, qq{["session:$key"]}, "the custom storage holds the record under the session's key");
($res) = get('/me', $cookie);
is($res->{status}, 200, 'the session opens from the custom storage');
is($res->{content}, 'john@example.com', 'with its subject');
($res) = get('/logout', $cookie);
is($res->{status}, 204, 'logout: 204');
($res) = get('/keys');
is($res->{content}, '[]', "logout deleted the record through the storage's delete()");
($res) = get('/me', $cookie);
is($res->{status}, 401, 'the cookie no longer opens');
--- request
GET /me
--- error_code: 401
--- log_level: info
--- no_error_log
[error]
[alert]
user-module-secret-42



=== TEST 3: a clock and a random source of the caller's (docs/api.md): a session "as of" a time, ids from the caller's bytes
--- main_config eval
"load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\nenv SESSION_SECRET=$::SECRET;"
--- http_config
    js_path $TEST_NGINX_REPO_DIR/dist/;
    js_path $TEST_NGINX_REPO_DIR/t/js/;
    js_import app from clock-app.js;
--- config
    location = /login     { js_content app.login; }
    location = /me        { js_content app.me; }
    location = /sevens    { js_content app.sevens; }
    location = /bad-clock { js_content app.badClock; }
--- init
package main;
my $t0 = 1760000000;
my ($res, $lines) = get("/login?at=$t0");
is($res->{status}, 204, 'login as of t0: 204');
my $cookie = cookie_header(@$lines);
my $header = MIME::Base64::decode_base64(do { (my $b = substr((split /=/, $cookie, 2)[1], 0, 110)) =~ tr/-_/+\//; $b . '==' });
is(unpack('V', substr($header, 35, 4)) + 256 ** 4 * unpack('C', substr($header, 39, 1)), $t0, "the cookie's creation time is the caller's clock");
($res) = get('/me?at=' . ($t0 + 900), $cookie);
is($res->{status}, 200, 'as of t0 + 900 s (the idling timeout): it opens');
is($res->{content}, 'john@example.com', 'with its subject');
($res) = get('/me?at=' . ($t0 + 901), $cookie);
is($res->{status}, 401, 'as of t0 + 901 s: it does not');
is($res->{content}, 'session idling timeout exceeded', 'past the idling timeout');
($res, $lines) = get('/sevens');
is($res->{status}, 204, 'saved with a random source of sevens');
$header = MIME::Base64::decode_base64(do { (my $b = substr((split /=/, cookie_header(@$lines), 2)[1], 0, 110)) =~ tr/-_/+\//; $b . '==' });
is(substr($header, 3, 32), "\x07" x 32, 'the session id is the random source\'s bytes');
($res) = get('/bad-clock');
is($res->{status}, 500, 'a clock that does not answer seconds fails loudly');
like($res->{content}, qr/now\(\) must return unix seconds/, 'saying why');
--- request
GET /me?at=1760000000
--- error_code: 401
--- log_level: info
--- no_error_log
[alert]
user-module-secret-42



=== TEST 4: inside nginx, init() refuses now and random (the entry points run on nginx's clock and random source), naming the per-call way
--- main_config eval
"load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\nenv SESSION_SECRET=$::SECRET;"
--- http_config
    js_path $TEST_NGINX_REPO_DIR/dist/;
    js_path $TEST_NGINX_REPO_DIR/t/js/;
    js_import app from init-sources-app.js;
--- config
    location = /clock  { js_content app.clock; }
    location = /random { js_content app.random; }
    location = /plain  { js_content app.plain; }
--- request eval
["GET /clock", "GET /random", "GET /plain"]
--- response_body_like eval
[qr/init\(\) in nginx takes no now: .*nginx's own clock.*\(session\.open\(r, \{ now \}\)\)$/,
 qr/init\(\) in nginx takes no random: .*\(session\.open\(r, \{ random \}\)\)$/,
 qr/^accepted$/]
--- no_error_log
[alert]
user-module-secret-42
