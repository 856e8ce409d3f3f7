# The documentation's configurations are real: the page README.md links for each (docs/configuration.md:
# js-access.conf, auth-request.conf, check-server.conf, session.json and the npm start demo's nginx.conf; docs/storage.md:
# shm.conf, file.conf and their JSON; docs/several-nodes.md: several-nodes.conf and the Redis, Sentinel,
# Cluster and memcached JSON) shows each file of nginx/examples/ verbatim (checked first, so the
# documentation cannot drift from what runs here), and each example nginx.conf is run under the engine
# selected by TEST_NGINX_JS_ENGINE through a whole browser flow.
#
# How an example runs. Test::Nginx writes its own nginx.conf around a block: the main_config, then
# `http {` with its logs and temp paths, the block's http_config and its own server (port
# $TEST_NGINX_SERVER_PORT), then `events {...}`. The example file is split into what comes before its
# `events {}` (the block's main_config) and the body of its `http { }` (the block's http_config):
# both verbatim except for these placeholders, each of which must occur (or the test fails):
#
#   /usr/lib/nginx/modules/     -> $TEST_NGINX_MODULES_DIR/
#   /etc/nginx/njs/             -> <repo>/dist/              (session.js, test-harness.js)
#   /etc/nginx/njs-session/     -> <repo>/nginx/             (njs-session.conf and the snippets)
#   /etc/nginx/                 -> <servroot>/html/          (session.json, tls/site.crt, tls/site.key)
#   listen 443 ssl;             -> listen <example port> ssl;   ($TEST_NGINX_SERVER_PORT + 1)
#   127.0.0.1:8081 (the app)    -> 127.0.0.1:$TEST_NGINX_SERVER_PORT
#   js_engine <name>;           -> js_engine $TEST_NGINX_JS_ENGINE;
#   /var/lib/njs-session/       -> <servroot>/html/var/      (state files, session files; optional)
#   /run/njs-session/           -> <servroot>/html/var/      (the check server's socket; optional)
#
# Test::Nginx's own server plays the app the example protects: nginx/demo/demo-app.js answers
# /login-form and /check-login (any name, password "demo"), t/js/entry-upstream.js answers /app/ with
# every request header it got (sorted), and /_mint (dist/test-harness.js) makes a session "two minutes
# old" to see a refresh. The certificate is made by `openssl req` when the test starts.
#
# The flow (Perl, HTTP::Tiny over TLS, in `--- init`; see t/020-lifecycle.t for why multi-step flows
# run there): no session -> 302 to /login?return_to=...; the form; a wrong password; the right one ->
# the session cookie; a refresh forwarded next to the app's own Set-Cookie; logout (POST with the
# CSRF token in a form field) -> the cookie expired. The block's request then goes through
# Test::Nginx's server (/via-example/, proxied over TLS to the example) with the cookie of the login:
# the app sees the identity headers.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest ();
use StoreServers;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;

our $REPO = $ENV{TEST_NGINX_REPO_DIR} //= abs_path("$FindBin::Bin/..");
$ENV{TEST_NGINX_JS_ENGINE} //= 'njs';
$ENV{TEST_NGINX_MODULES_DIR} //= '/usr/lib/nginx/modules';

# The secret the examples' session.json reads ({"env": "SESSION_SECRET"}): nginx inherits it.
our $SECRET = 'readme-examples-secret-5c81d2';
$ENV{SESSION_SECRET} = $SECRET;
# The admin API's bearer token (shm-session.json: {"env": "SESSION_ADMIN_TOKEN"}).
our $ADMIN_TOKEN = 'readme-admin-token-0b6f3e9a41';
$ENV{SESSION_ADMIN_TOKEN} = $ADMIN_TOKEN;
$EntryTest::SECRET = $SECRET;    # for EntryTest::mint (the harness's sessions)
# several-nodes.conf's stores, on loopback: Redis with the ACL user redis-session.json logs in as, and
# the three memcached servers of memcached-session.json.
our $REDIS_PASSWORD = 'readme-redis-password-4e1a7c';
$ENV{REDIS_PASSWORD} = $REDIS_PASSWORD;
# Only TEST 5 and 6 use them, and several-nodes.conf needs js_fetch_proxy: an older njs skips both
# (t/lib/NjsVersion.pm), and its rootfs has no stores.
our ($REDIS, @MEMCACHED);
if (NjsVersion::at_least('0.9.4')) {
    $REDIS = StoreServers::start('redis-server', 6420);
    StoreServers::cli($REDIS, 'ACL', 'SETUSER', 'nginx', 'on', ">$REDIS_PASSWORD", '~*', '+@all');
    @MEMCACHED = map { StoreServers::start('memcached', $_) } 11431, 11432, 11433;
}

our $EXAMPLE_PORT = $Test::Nginx::Util::ServerPort + 1;
our $APP_PORT = $Test::Nginx::Util::ServerPort;

sub slurp {
    my $path = shift;
    open my $in, '<:raw', $path or die "cannot read $path: $!\n";
    local $/;
    return scalar <$in>;
}

# --------------------------------------------------------------------------------------------------
# The documentation shows the files verbatim, each as one whole code block of the page named here
# (README.md links each page).

# Which page shows which file.
our %PAGE = ('js-access.conf' => 'docs/configuration.md', 'auth-request.conf' => 'docs/configuration.md',
             'check-server.conf' => 'docs/configuration.md',
             'session.json' => 'docs/configuration.md',
             'shm.conf' => 'docs/storage.md', 'shm-session.json' => 'docs/storage.md',
             'file.conf' => 'docs/storage.md', 'file-session.json' => 'docs/storage.md',
             map { $_ => 'docs/several-nodes.md' } 'several-nodes.conf', 'redis-session.json',
             'redis-sentinel-session.json', 'redis-cluster-session.json', 'memcached-session.json');
my %page_text;
# Each example nginx.conf and the configuration file it runs with.
our %SESSION_FILE = ('js-access.conf' => 'session.json', 'auth-request.conf' => 'session.json',
                     'check-server.conf' => 'session.json',
                     'shm.conf' => 'shm-session.json', 'file.conf' => 'file-session.json',
                     'several-nodes.conf' => 'redis-session.json');
# "Running several nginx nodes": several-nodes.conf runs with any of these too.
our @STORE_FILES = ('redis-sentinel-session.json', 'redis-cluster-session.json', 'memcached-session.json');
my %EXAMPLE = map { $_ => slurp("$REPO/nginx/examples/$_") } keys %SESSION_FILE, values %SESSION_FILE, @STORE_FILES;
for my $file (sort keys %EXAMPLE) {
    my $fence = $file =~ /\.json$/ ? 'json' : 'nginx';
    my $page = $PAGE{$file} or BAIL_OUT("no page named for nginx/examples/$file in %PAGE");
    $page_text{$page} //= slurp("$REPO/$page");
    ok(index($page_text{$page}, "```$fence\n$EXAMPLE{$file}```\n") >= 0,
       "$page shows nginx/examples/$file verbatim in a ```$fence block");
}
# And the configuration `npm start` runs (tested end to end by test/e2e/demo.test.ts).
ok(index(slurp("$REPO/docs/configuration.md"), "```nginx\n" . slurp("$REPO/nginx/demo/nginx.conf") . "```\n") >= 0,
   'docs/configuration.md shows nginx/demo/nginx.conf verbatim in a ```nginx block');
# README.md links every page that shows an example.
my $readme = slurp("$REPO/README.md");
for my $page (sort { $a cmp $b } keys %{{ map { $_ => 1 } values %PAGE }}) {
    ok(index($readme, "]($page") >= 0, "README.md links $page");
}
# README's "A protected location" shows the lines of js-access.conf that matter: each line of its
# nginx block (and its session.json) is a line of the example, so the excerpt cannot drift either.
my ($excerpt) = $readme =~ /^## A protected location\n.*?^```nginx\n(.*?)^```\n/ms;
ok(defined $excerpt, 'README.md "A protected location" has an nginx block');
my %example_line = map { s/^\s+//r => 1 } split /\n/, $EXAMPLE{'js-access.conf'};
my @foreign = grep { !$example_line{$_} } map { s/^\s+//r } grep { /\S/ } split /\n/, $excerpt // '';
is(join("\n", @foreign), '', 'every line of README\'s protected location is a line of nginx/examples/js-access.conf');
ok(index($readme, "```json\n$EXAMPLE{'session.json'}```\n") >= 0, 'README.md shows nginx/examples/session.json verbatim');

# --------------------------------------------------------------------------------------------------
# A throw-away self-signed certificate for `listen 443 ssl`.

my $tmp = tempdir(CLEANUP => 1);
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost"
       . " -keyout '$tmp/site.key' -out '$tmp/site.crt' 2>/dev/null") == 0
    or BAIL_OUT('openssl req failed: the examples listen with TLS and need a certificate');
our %TLS = (crt => slurp("$tmp/site.crt"), key => slurp("$tmp/site.key"));
HTTP::Tiny->can_ssl or BAIL_OUT('HTTP::Tiny cannot speak TLS here (needs IO::Socket::SSL and Net::SSLeay)');

# --------------------------------------------------------------------------------------------------
# An example file as the block's main_config and http_config (see the top of this file).

sub fill_placeholders {
    my ($name, $text, $html) = @_;    # $html: where /etc/nginx/session.json and tls/ are
    my @rules = (
        [ qr{/usr/lib/nginx/modules/}, "$ENV{TEST_NGINX_MODULES_DIR}/" ],
        [ qr{/etc/nginx/njs/}, "$REPO/dist/" ],
        [ qr{/etc/nginx/njs-session/}, "$REPO/nginx/" ],
        [ qr{/etc/nginx/}, "$html/" ],
        [ qr{\blisten 443 ssl;}, "listen $EXAMPLE_PORT ssl;" ],
        [ qr{\b127\.0\.0\.1:8081\b}, "127.0.0.1:$APP_PORT" ],
        [ qr{\bjs_engine \w+;}, "js_engine $ENV{TEST_NGINX_JS_ENGINE};" ],
    );
    for my $rule (@rules) {
        my ($pattern, $value) = @$rule;
        my $count = () = $text =~ /$pattern/g;
        die "nginx/examples/$name: placeholder $pattern not found\n" unless $count;
        $text =~ s/$pattern/$value/g;
    }
    return fill_state_paths($text, $html);
}

# Where the server-side examples keep state, and the stores of several-nodes.conf (10.0.0.11-13 become
# the loopback servers above); optional (only they have them), in nginx.conf and JSON.
sub fill_state_paths {
    my ($text, $html) = @_;
    $text =~ s{/var/lib/njs-session/}{$html/var/}g;
    $text =~ s{/run/njs-session/}{$html/var/}g;
    $text =~ s{"10\.0\.0\.11:\* 10\.0\.0\.12:\* 10\.0\.0\.13:\*"}{"127.0.0.1:*"}g;
    $text =~ s{"host": "10\.0\.0\.11",\s*"port": 6379}{"host": "127.0.0.1", "port": 6420}g;
    $text =~ s{"10\.0\.0\.1([123]):11211"}{"127.0.0.1:1143$1"}g;
    return $text;
}

sub split_example {
    my ($name) = @_;
    my $text = fill_placeholders($name, $EXAMPLE{$name}, $Test::Nginx::Util::HtmlDir);
    my ($main, $stream, $http) = $text =~ /\A(.*?)^events \{\}\n\n(.*?)^http \{\n(.*)^\}\n\z/ms
        or die "nginx/examples/$name: expected <main> `events {}` [`stream { ... }`] `http { ... }` and nothing after\n";
    return ($main . $stream, $http);
}

# Each file as a whole, `events {}` and all, is a valid nginx.conf: `nginx -t` (which loads session.js
# and the certificate, but opens no listening socket). As root only: nginx -t also creates the
# compiled-in temp and log paths (the rootfs of build/prove.sh runs as root).
SKIP: {
    skip 'nginx -t of the whole files: needs root (compiled-in temp and log paths)', scalar keys %SESSION_FILE if $> != 0;
    mkdir "$tmp/tls";
    rename "$tmp/site.$_", "$tmp/tls/site.$_" or die "rename: $!\n" for qw(crt key);
    mkdir "$tmp/var";
    mkdir "$tmp/var/sessions";
    for my $name (sort keys %SESSION_FILE) {
        if (my $why = NjsVersion::too_old_for($EXAMPLE{$name})) {
            SKIP: { skip "nginx -t of nginx/examples/$name: $why", 1 }
            next;
        }
        open my $out, '>', "$tmp/session.json" or die "$tmp/session.json: $!\n";
        print $out fill_state_paths($EXAMPLE{ $SESSION_FILE{$name} }, $tmp);
        close $out;
        open my $conf, '>', "$tmp/$name" or die "$tmp/$name: $!\n";
        print $conf fill_placeholders($name, $EXAMPLE{$name}, $tmp);
        close $conf;
        my $bin = $ENV{TEST_NGINX_BINARY} // 'nginx';
        my $output = `'$bin' -t -q -p '$tmp/' -c '$tmp/$name' -e stderr -g 'pid $tmp/nginx.pid;' 2>&1`;
        # njs < 0.9.7 logs this notice while parsing any configuration with a js_import (0.9.7 removed it).
        $output =~ s/^\S+ \S+ \[notice\] \d+#\d+: js vm init njs: [0-9A-Fa-f]+\n//mg
            unless NjsVersion::at_least('0.9.7');
        ok($? == 0 && $output eq '', "nginx -t accepts the whole nginx/examples/$name, without a warning")
            or diag("exit status " . ($? >> 8) . ":\n$output");
    }
}

# What Test::Nginx's server adds: the app the example proxies to, the harness, the TLS client hop.
our $APP_HTTP = <<"_EOC_";
    # --- t/090-readme-examples.t: the app (Test::Nginx's server) ---
    js_path $REPO/nginx/demo/;
    js_path $REPO/t/js/;
    js_import demo from demo-app.js;
    js_import upstream from entry-upstream.js;
    js_import harness from test-harness.js;
_EOC_

our $APP_CONFIG = <<"_EOC_";
    absolute_redirect off;    # the app's redirects are relative, as in nginx/demo/nginx.conf
    location = /login-form  { js_content demo.loginForm; }
    location = /check-login { js_content demo.checkLogin; }
    location /app/          { js_content upstream.headers; }
    location = /_mint       { js_content harness.saveCase; }
    location /via-example/ {
        proxy_pass https://127.0.0.1:$EXAMPLE_PORT/;
        proxy_redirect off;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $::Block = $block;
    my $name = $block->example // die "block without --- example\n";
    my ($main, $http) = split_example($name);
    $block->set_value('main_config', $main);
    $block->set_value('http_config', $http . $APP_HTTP);
    $block->set_value('config', $APP_CONFIG);
    $block->set_value('user_files', [
        [ 'session.json', fill_state_paths($EXAMPLE{ $block->session_file // $SESSION_FILE{$name} }, $Test::Nginx::Util::HtmlDir) ],
        [ 'var/sessions/.keep', '' ],
        [ 'tls/site.crt', $TLS{crt} ],
        [ 'tls/site.key', $TLS{key} ],
    ]);
    $block->set_value('init', "package main;\nTest::More::subtest(\$::Block->name . ' - the flow' => sub {\n"
                              . $block->init . "\n});\n") if defined $block->init;
    $block->set_value('log_level', 'info');
    $block->set_value('no_error_log', join "\n", '[error]', '[warn]', '[alert]', '[crit]', '[emerg]',
                      'exception', $SECRET, $ADMIN_TOKEN, $REDIS_PASSWORD);
});

# --------------------------------------------------------------------------------------------------
# The browser's side, against the example's server (TLS on $EXAMPLE_PORT).

sub https {
    my ($method, $uri, $headers, $content) = @_;
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 20, max_redirect => 0, verify_SSL => 0)
        ->request($method, "https://127.0.0.1:$EXAMPLE_PORT$uri", {
            headers => $headers // {}, defined $content ? (content => $content) : (),
        });
    my $lines = $res->{headers}{'set-cookie'} // [];
    $res->{set_cookie} = ref $lines ? $lines : [$lines];
    $res->{location} = $res->{headers}{location} // '';
    return $res;
}

sub form {
    my %fields = @_;
    return { 'Content-Type' => 'application/x-www-form-urlencoded' },
        join '&', map { "$_=" . ($fields{$_} =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ger) } sort keys %fields;
}

# Response headers whose name says they are the entry points' internals.
sub leaked { return join ' ', grep { /^(?:x-session|session-)/i } sort keys %{ $_[0]{headers} } }

# The header alone (110 characters) with server-side storage, header and payload with cookie storage.
our $SESSION_LINE = qr{^session=[A-Za-z0-9_-]{110,}; Path=/; SameSite=Lax; Secure; HttpOnly$};
# Storage options for the harness's sessions: the block's configuration file's.
our %MINT_STORAGE;
our $EXPIRED_LINE = 'session=; Path=/; SameSite=Lax; Secure; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0';
our $HERE = qr{(?:https://127\.0\.0\.1:\Q$EXAMPLE_PORT\E)?};    # nginx's absolute redirects, or none

sub flow {
    # 1. No session: a browser is sent to the login page with the URL it asked for; a POST gets 401.
    my $res = https('GET', '/app/page?x=1');
    is($res->{status}, 302, 'no session, GET: 302');
    like($res->{location}, qr{^$HERE/login\?return_to=%2Fapp%2Fpage%3Fx%3D1$}, '... to /login?return_to=<the URL>');
    is_deeply($res->{set_cookie}, [], '... no cookie');
    $res = https('POST', '/app/page', form(a => 1));
    is($res->{status}, 401, 'no session, POST: 401');

    # 2. The login form, from the app, carries return_to.
    $res = https('GET', '/login?return_to=%2Fapp%2Fpage%3Fx%3D1');
    is($res->{status}, 200, 'GET /login: 200');
    like($res->{content}, qr{<form method="post" action="/login">.*name="return_to" value="/app/page\?x=1"}s,
         "... the app's form, with return_to");

    # 3. A wrong password: back to the form, no session.
    $res = https('POST', '/login', form(username => 'alice', password => 'nope', return_to => '/app/page?x=1'));
    is($res->{status}, 303, 'wrong password: 303');
    like($res->{location}, qr{^$HERE/login\?error=1&return_to=%2Fapp%2Fpage%3Fx%3D1$}, '... back to the form');
    is_deeply($res->{set_cookie}, [], '... no cookie');

    # 4. The right one: a session cookie, and back to the page first asked for; the verdict stays inside.
    $res = https('POST', '/login', form(username => 'alice', password => 'demo', return_to => '/app/page?x=1'));
    is($res->{status}, 303, 'login: 303');
    like($res->{location}, qr{^$HERE/app/page\?x=1$}, '... to return_to');
    is(scalar @{ $res->{set_cookie} }, 1, '... one Set-Cookie line');
    like($res->{set_cookie}[0] // '', $SESSION_LINE, '... the session cookie (Secure: cookie_secure)');
    is(leaked($res), '', '... no X-Session-Login (or other internal header) reaches the browser');
    my $alice = EntryTest::cookie_header(@{ $res->{set_cookie} });

    # 5. A refresh: a session idle for two minutes (touch_threshold: 60 s) is re-issued, and its
    # Set-Cookie reaches the browser next to the app's own.
    my $minted = EntryTest::mint(subject => 'bob', data => { name => 'Bob' }, now => time() - 120,
                                 options => { audience => 'app', %MINT_STORAGE });
    $res = https('GET', '/app/page?set_cookie=1', { Cookie => EntryTest::cookie_header(@$minted) });
    is($res->{status}, 200, 'an idle session: 200 from the app');
    is($res->{content}, "GET /app/page?set_cookie=1\nx-user-name: Bob\nx-user: bob\n",
       '... which saw the identity, not the session cookie');
    my @lines = sort @{ $res->{set_cookie} };
    is(scalar @lines, 2, '... two Set-Cookie lines');
    is($lines[0], 'app=1; Path=/', "... the app's cookie");
    like($lines[1] // '', $SESSION_LINE, '... and the refreshed session cookie');
    isnt(EntryTest::cookie_value(\@lines, 'session'), EntryTest::cookie_value($minted, 'session'), '... a new value');
    is(leaked($res), '', '... no internal header');
    my $bob = EntryTest::cookie_header(grep { /^session=/ } @lines);

    # 6. Logout: POST with the session's CSRF token (a GET is refused); the session cookie expired,
    # then the login page.
    $res = https('GET', '/logout', { Cookie => $bob });
    is($res->{status}, 405, 'logout by GET: 405');
    my $token = EntryTest::csrf_token(EntryTest::cookie_value(\@lines, 'session'), subject => 'bob', audience => 'app');
    $res = https('POST', '/logout', { Cookie => $bob, 'Content-Type' => 'application/x-www-form-urlencoded' }, "csrf_token=$token");
    is($res->{status}, 303, 'logout: 303');
    like($res->{location}, qr{^$HERE/login$}, '... to /login');
    is_deeply($res->{set_cookie}, [$EXPIRED_LINE], '... the session cookie expired');

    # The block's request: alice's cookie (and one of the app's) through Test::Nginx's server.
    EntryTest::use_cookie("$alice; theme=dark");
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: nginx/examples/js-access.conf (js_access)
--- example: js-access.conf
--- init
flow();
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)



=== TEST 2: nginx/examples/auth-request.conf (auth_request, for njs < 0.9.9)
--- example: auth-request.conf
--- init
flow();
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)



=== TEST 3: nginx/examples/shm.conf (shm storage, the session registry and its admin API)
--- example: shm.conf
--- init
%main::MINT_STORAGE = (storage => 'shm', shm => { zone => 'sessions' }, hash_storage_key => JSON::PP::true());
flow();
# Carol logs in on two devices; the admin API lists both, revokes one, then all.
my @carol;
for my $agent ('Phone/1.0', 'Laptop/2.0') {
    my ($headers, $body) = form(username => 'carol', password => 'demo', return_to => '/app/');
    my $res = https('POST', '/login', { %$headers, 'User-Agent' => $agent }, $body);
    is($res->{status}, 303, "carol logs in ($agent)");
    push @carol, EntryTest::cookie_header(@{ $res->{set_cookie} });
}
my $admin = sub { my ($method, $query, $token) = @_;
    return https($method, "/session-admin?$query", defined $token ? { Authorization => "Bearer $token" } : {}) };
is($admin->('GET', 'subject=carol')->{status}, 401, 'admin: no token, 401');
is($admin->('GET', 'subject=carol', 'wrong-token-0000000000')->{status}, 401, 'admin: a wrong token, 401');
my $list = $admin->('GET', 'subject=carol', $main::ADMIN_TOKEN);
is($list->{status}, 200, 'admin: list, 200');
my $sessions = JSON::PP::decode_json($list->{content})->{sessions};
is_deeply([ sort map { $_->{user_agent} } @$sessions ], ['Laptop/2.0', 'Phone/1.0'], "admin: carol's two devices");
my ($phone) = grep { $_->{user_agent} eq 'Phone/1.0' } @$sessions;
is($admin->('DELETE', "subject=carol&id=$phone->{id}", $main::ADMIN_TOKEN)->{status}, 200, 'admin: revoke the phone');
is(https('GET', '/app/x', { Cookie => $carol[0] })->{status}, 302, "the phone's next request: no session");
is(https('GET', '/app/x', { Cookie => $carol[1] })->{status}, 200, 'the laptop still has its session');
is($admin->('DELETE', 'subject=carol', $main::ADMIN_TOKEN)->{status}, 200, 'admin: revoke all');
is(https('GET', '/app/x', { Cookie => $carol[1] })->{status}, 302, 'the laptop: no session');
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)



=== TEST 4: nginx/examples/file.conf (file storage)
--- example: file.conf
--- init
%main::MINT_STORAGE = (storage => 'file', file => { path => "$Test::Nginx::Util::HtmlDir/var/sessions" }, hash_storage_key => JSON::PP::true());
flow();
opendir my $dir, "$Test::Nginx::Util::HtmlDir/var/sessions" or die "session directory: $!\n";
my @files = grep { /^session_[A-Za-z0-9_-]{43}$/ } readdir $dir;
is(scalar @files, 1, "one session file: alice's (bob logged out)");
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)



=== TEST 5: nginx/examples/several-nodes.conf with redis-session.json (Redis through the store bridge)
--- example: several-nodes.conf
--- init
%main::MINT_STORAGE = (storage => 'redis', hash_storage_key => JSON::PP::true(),
    redis => { host => '127.0.0.1', port => 6420, username => 'nginx', password => $main::REDIS_PASSWORD, database => 1, prefix => 'sessions' });
flow();
my @keys = split /\n/, StoreServers::cli($main::REDIS, '-n', 1, 'KEYS', 'sessions:session:*');
is(scalar(grep { /^sessions:session:[A-Za-z0-9_-]{43}$/ } @keys), 1, "one session record, alice's (bob logged out), under the prefix in database 1")
    or diag(join ' ', @keys);
ok((grep { $_ eq 'sessions:session:YXBw:YWxpY2U' } @keys), "and alice's store_metadata set (audience app, subject alice, base64url)");
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)



=== TEST 6: nginx/examples/several-nodes.conf with memcached-session.json (three memcached servers)
--- example: several-nodes.conf
--- session_file: memcached-session.json
--- init
%main::MINT_STORAGE = (storage => 'memcached', hash_storage_key => JSON::PP::true(),
    memcached => { servers => ['127.0.0.1:11431', '127.0.0.1:11432', '127.0.0.1:11433'], prefix => 'sessions' });
flow();
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)



=== TEST 7: nginx/examples/check-server.conf (auth_request asking the check server)
--- example: check-server.conf
--- init
%main::MINT_STORAGE = ();    # cookie storage, as session.json (the blocks before set theirs)
flow();
--- request
GET /via-example/app/page?x=1
--- error_code: 200
--- response_body
GET /app/page?x=1
cookie: theme=dark
x-user-name: alice
x-user: alice
--- raw_response_headers_unlike: (?i)(?:set-cookie|x-session|\nsession-)
