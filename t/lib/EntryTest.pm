package EntryTest;
# Shared set-up of the entry-point tests (t/050-access.t .. t/080-isolation.t): nginx configured the
# way a user would, with `include nginx/njs-session.conf` at the http level and a JSON configuration
# file named by NJS_SESSION_CONFIG, plus the test harness (to mint cookies) and the upstream fixtures
# of t/js/entry-upstream.js.
#
# Not t/lib/SessionTest.pm: its preprocessor imports dist/session.js as "session", which
# nginx/njs-session.conf imports too (`js_import session.js;`).
#
# Use after `use Test::Nginx::Socket 'no_plan';`:
#
#   use lib "$FindBin::Bin/lib";
#   use EntryTest;
#   EntryTest::setup(secret => 'xyz');   # before run_tests()
#
# What setup() adds to every block:
#   main_config   load_module, `env NJS_SESSION_CONFIG=<servroot>/html/session.json;` and
#                 `env ACCESS_SECRET=<secret>;` (unless the block has its own main_config)
#   http_config   js_engine, js_path (dist/, t/js/), the product include, the harness and upstream
#                 imports, then the block's own http_config
#   config        the block's config, then `location = /_mint` (harness.saveCase) and
#                 `location /_up/` (upstream.headers: every request header it got, sorted)
#   user_files    html/session.json from the block's `--- session_json` (default: the secret from env
#                 ACCESS_SECRET), then the block's own user_files
#   init          run in package main as one subtest named after the block
#   log_level     info; no_error_log: [error], [warn], [alert], [crit], [emerg], exception and the secrets
#                 (unless the block has its own no_error_log)
#
# Multi-step flows (see t/020-lifecycle.t for why) run in `--- init`: http() and mint() talk to the
# nginx Test::Nginx started for the block; use_cookie() and fill() then adjust the block's last
# requests and expectations ($::Block is the block being run).
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use Time::HiRes ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::SHA qw(sha256 hmac_sha256);
use Test::More ();
use NjsVersion ();    # skips the blocks the njs under test is too old for
use Test::Nginx::Socket ();
use CookieFormat;

our @EXPORT = qw(http mint cookie_header cookie_value live_cookies use_cookie fill logged refused
                 sid_of loggable_id store_key subject_of error_lines load_vectors poll_status csrf_token
                 sleep_past check_server);

our $JSON = JSON::PP->new->canonical->utf8;
our $SECRET;
our @HIDDEN;    # strings error.log must never contain

$ENV{TEST_NGINX_JS_ENGINE} //= 'njs';
$ENV{TEST_NGINX_MODULES_DIR} //= '/usr/lib/nginx/modules';

our $HTTP = <<'_EOC_';
    js_engine $TEST_NGINX_JS_ENGINE;
    js_path $TEST_NGINX_REPO_DIR/dist/;
    js_path $TEST_NGINX_REPO_DIR/t/js/;
    include $TEST_NGINX_REPO_DIR/nginx/njs-session.conf;
    js_import harness from test-harness.js;
    js_import upstream from entry-upstream.js;
    # Chunked sessions and remember cookies: up to 18 cookies of 4 KiB in one Cookie header.
    large_client_header_buffers 4 96k;
    client_body_buffer_size 128k;
    # njs-session.conf declares some thirty variables: nginx's default variables_hash_max_size
    # (1024) then warns "could not build optimal variables_hash" at start.
    variables_hash_max_size 2048;
_EOC_

our $LOCATIONS = <<'_EOC_';
    location = /_mint { js_content harness.saveCase; }
    location /_up/ { js_content upstream.headers; }
_EOC_

sub main_config {
    my (%env) = @_;
    return join '', "load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\n",
        "env NJS_SESSION_CONFIG=\$TEST_NGINX_SERVROOT/html/session.json;\n",
        map { "env $_=$env{$_};\n" } sort keys %env;
}

# The check of a file whose tests hold in either mode, in auth_request mode (setup's either_mode).
our $AUTH_REQUEST_CHECK = 'include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;';
our $AUTH_REQUEST_LOCATION = "    location = /_session_auth { internal; js_content session.authRequest; }\n";

# The check server (nginx/session-check-server.conf) and its upstream, as session-check-server.conf's
# comment sets them up; the upstream at `$socket` (a block whose check server is down names another).
sub check_server {
    my ($socket) = @_;
    $socket //= '$TEST_NGINX_SERVROOT/check.sock';
    return <<"_EOC_";
    upstream njs_session_check { server unix:$socket; keepalive 4; }
    server {
        listen unix:\$TEST_NGINX_SERVROOT/check.sock;
        include \$TEST_NGINX_REPO_DIR/nginx/session-check-server.conf;
    }
_EOC_
}

# The check server and the internal location that asks it (nginx/session-check-proxy.conf), for the
# check_server mode.
our $CHECK_SERVER = check_server();
our $CHECK_SERVER_PROXY = 'include $TEST_NGINX_REPO_DIR/nginx/session-check-proxy.conf;';

# The mode either_mode files run in: auth_request where njs has no js_access (< 0.9.9, the floor),
# or when TEST_NGINX_SESSION_MODE=auth_request asks for it (to run them so on a newer njs too);
# check_server: auth_request, its internal location asking the check server; known_front: the same,
# with `js_access session.accessKnown;` in front of every auth_request (docs/configuration.md).
sub check_mode {
    my $mode = $ENV{TEST_NGINX_SESSION_MODE}
        // (NjsVersion::at_least('0.9.9') ? 'js_access' : 'auth_request');
    die "TEST_NGINX_SESSION_MODE must be js_access, auth_request, check_server or known_front, not '$mode'\n"
        unless $mode eq 'js_access' || $mode eq 'auth_request' || $mode eq 'check_server' || $mode eq 'known_front';
    return $mode;
}

# setup(secret => S, hidden => [...], locations => '...', either_mode => 1): S is passed as env
# ACCESS_SECRET. either_mode: every `js_access session.access;` of the file means "the session check"
# and its assertions hold in every mode; in auth_request mode (check_mode) it becomes the include of
# nginx/session-auth-request.conf, with the internal /_session_auth location added if missing; in
# check_server mode the same, and every /_session_auth asks the check server; in known_front mode
# also `js_access session.accessKnown;` before each auth_request include.
# auth_request => 1: a file written in auth_request mode (t/060); in check_server and known_front
# modes its /_session_auth locations ask the check server (and known_front puts accessKnown in front).
sub setup {
    my (%args) = @_;
    $SECRET = $args{secret} // die "EntryTest::setup: secret is required\n";
    @HIDDEN = ($SECRET, @{ $args{hidden} // [] });
    my $main = main_config(ACCESS_SECRET => $SECRET);
    my $locations = $LOCATIONS . ($args{locations} // '');
    my $mode = $args{either_mode} || $args{auth_request} ? check_mode() : 'js_access';
    my $auth_request = $args{either_mode} && $mode ne 'js_access';
    my $known_front = $mode eq 'known_front';
    my $check_server = $mode eq 'check_server' || $known_front;
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $::Block = $block;
        $block->set_value('main_config', $main) unless defined $block->main_config;
        $block->set_value('http_config', $HTTP . ($check_server ? $CHECK_SERVER : '') . ($block->http_config // ''));
        my $config = ($block->config // '') . $locations;
        if ($auth_request && $config =~ s/\bjs_access session\.access;/$AUTH_REQUEST_CHECK/g) {
            # (unless the file has its own, for its auth_request tests)
            $config .= $AUTH_REQUEST_LOCATION unless $config =~ m{location = /_session_auth\b};
        }
        # check_server: every internal /_session_auth asks the check server instead.
        $config =~ s#(location = /_session_auth\b[^\}]*?)\bjs_content session\.authRequest;#$1$CHECK_SERVER_PROXY#g
            if $check_server;
        $config =~ s#(\Q$AUTH_REQUEST_CHECK\E)#js_access session.accessKnown; $1#g if $known_front;
        $block->set_value('config', $config);
        my $json = $block->session_json // '{"secret": {"env": "ACCESS_SECRET"}}';
        $block->set_value('user_files', ">>> session.json\n$json\n" . ($block->user_files // ''));
        $block->set_value('init', "package main;\nTest::More::subtest(\$::Block->name . ' - init' => sub {\n"
                                  . $block->init . "\n});\n") if defined $block->init;
        $block->set_value('log_level', 'info') unless defined $block->log_level;
        $block->set_value('no_error_log', join "\n", '[error]', '[warn]', '[alert]', '[crit]', '[emerg]', 'exception', @HIDDEN)
            unless defined $block->no_error_log;
    });
}

# zone_probe_and_workers(): for files that look into zones through /_probe (t/js/registry-probe.js)
# and have blocks that need several workers or a reload. Call it after setup(): it then runs before
# setup()'s preprocessor (add_block_preprocessor puts the newest first). Every block gets the probe's
# import; `--- nginx_workers: N` runs a master and N workers, every other block the usual single process.
sub zone_probe_and_workers {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('http_config', "    js_import probe from registry-probe.js;\n" . ($block->http_config // ''));
        my $workers = $block->nginx_workers;
        Test::Nginx::Util::workers($workers // 1);
        if ($workers) { Test::Nginx::Util::master_on() } else { Test::Nginx::Util::master_off() }
    });
}

# One request to the running nginx. Returns HTTP::Tiny's answer plus set_cookie => [lines].
sub http {
    my ($method, $uri, $headers, $content) = @_;
    my $url = "http://$Test::Nginx::Util::ServerAddr:$Test::Nginx::Util::ServerPortForClient$uri";
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 20, max_redirect => 0)->request($method, $url, {
        headers => $headers // {}, defined $content ? (content => $content) : (),
    });
    my $lines = $res->{headers}{'set-cookie'} // [];
    $res->{set_cookie} = ref $lines ? $lines : [$lines];
    return $res;
}

# Mints a session with the harness (POST /_mint); returns its Set-Cookie lines. Arguments: subject,
# data, audience, remember, now, options (session options; the secret defaults to setup's).
sub mint {
    my (%args) = @_;
    my $body = { options => { secret => $SECRET, %{ delete $args{options} // {} } }, %args };
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json' }, $JSON->encode($body));
    Test::More::is($res->{status}, 200, 'mint: 200');
    Test::More::is($res->{content}, "saved\n", 'mint: saved');
    return $res->{set_cookie};
}

# name => value of the live (not Max-Age=0) cookies among Set-Cookie lines.
sub live_cookies {
    my %cookies;
    for my $line (grep { !/; Max-Age=0(?:;|$)/ } @_) {
        my ($name, $value) = (split /;/, $line)[0] =~ /^([^=]*)=(.*)$/;
        $cookies{$name} = $value if defined $name;
    }
    return \%cookies;
}

# "name=value; ..." of the live cookies among Set-Cookie lines, in their order.
sub cookie_header {
    return join '; ', map { (split /;/, $_)[0] } grep { !/; Max-Age=0(?:;|$)/ } @_;
}

# Sleeps until $seconds whole seconds have passed since the second of $time (a session's clock
# counts whole seconds): after it, a timeout of $seconds - 1 has run out.
sub sleep_past {
    my ($time, $seconds) = @_;
    my $left = int($time) + $seconds + 0.05 - Time::HiRes::time();
    Time::HiRes::sleep($left) if $left > 0;
}

sub cookie_value {
    my ($lines, $name) = @_;
    for my $line (@$lines) { return $1 if $line =~ /^\Q$name\E=([^;]*)/ }
    return undef;
}

# Adds a Cookie header (and any other header lines) to every request of the block.
sub use_cookie {
    my ($cookie, @extra) = @_;
    my $more = join "\n", "Cookie: $cookie", @extra;
    my $existing = $::Block->more_headers;
    if (ref $existing eq 'ARRAY') {
        $::Block->set_value('more_headers', [ map { $_ ne '' ? "$more\n$_" : $more } @$existing ]);
    } else {
        $::Block->set_value('more_headers', defined $existing && $existing ne '' ? "$more\n$existing" : $more);
    }
}

# Replaces %%NAME%% in the block's requests and expectations (strings, regexes, arrays of them).
sub fill {
    my (%values) = @_;
    my $replace = sub {
        my $item = shift;
        (my $text = "$item") =~ s/%%(\w+)%%/exists $values{$1} ? $values{$1} : "%%$1%%"/ge;
        return ref $item eq 'Regexp' ? qr/$text/ : $text;
    };
    for my $section (qw(request more_headers response_body response_body_like response_headers
                        response_headers_like raw_response_headers_like raw_response_headers_unlike
                        error_log no_error_log)) {
        my $value = $::Block->$section;
        next unless defined $value;
        $::Block->set_value($section, ref $value eq 'ARRAY' ? [ map { $replace->($_) } @$value ] : $replace->($value));
    }
}

# One request (as http()) and the error.log lines it added.
sub logged {
    my @request = @_;
    my $file = $Test::Nginx::Util::ErrLogFile;
    my $before = -s $file // 0;
    my $res = http(@request);
    select(undef, undef, undef, 0.05);    # nginx logs the last lines after the answer
    open my $in, '<', $file or die "cannot read $file: $!\n";
    seek $in, $before, 0;
    my $lines = join '', <$in>;
    return ($res, $lines);
}

# A bad session cookie at a protected location (GET /app/x): 401, one info line with `$reason`, and
# neither the cookie value nor the secret in error.log. `$name` labels the assertions.
sub refused {
    my ($name, $value, $reason) = @_;
    my ($res, $log) = logged('GET', '/app/x', { Cookie => "session=$value" });
    Test::More::is($res->{status}, 401, "$name: 401");
    Test::More::like($log, qr/\[info\].*no session for cookie "session": /, "$name: an info line");
    Test::More::like($log, $reason, "$name: the reason");
    Test::More::unlike($log, qr/\Q$value\E/, "$name: the cookie is not logged");
    Test::More::unlike($log, qr/\Q$SECRET\E/, "$name: the secret is not logged");
}

# The session id of a cookie value (header bytes 3..35), and the loggable id the entry points publish
# for it ($session_id, Session-Id): base64url of the first 16 bytes of its SHA-256.
sub sid_of { return substr(b64url_decode(substr($_[0] // '', 0, 110)), 3, 32) }
sub loggable_id { return b64url_encode(substr(sha256($_[0]), 0, 16)) }

# The CSRF token of a session, computed here, independently of src/core/csrf.ts (docs/security.md, "CSRF
# protection"): HMAC-SHA256 under HKDF(SHA-256(secret), "csrf") of the length-prefixed creation time
# (cookie header bytes 35..39, little endian), audience and subject. Arguments: the session cookie's
# value, then subject (none: a session without one), audience ('default'), secret (setup's).
sub csrf_token {
    my ($value, %args) = @_;
    my $header = CookieFormat::b64url_decode(substr($value // '', 0, 110)) // die "csrf_token: not a session cookie\n";
    my $created = unpack('V', substr($header, 35, 4)) + 2**32 * ord(substr($header, 39, 1));
    my $key = CookieFormat::hkdf(sha256($args{secret} // $SECRET), 'csrf', 32);
    my $field = sub { my $bytes = shift; utf8::encode($bytes); return pack('N', length $bytes) . $bytes };
    my $message = $field->("$created") . $field->($args{audience} // 'default')
                . (defined $args{subject} ? $field->($args{subject}) : '');
    return CookieFormat::b64url_encode(hmac_sha256($message, $key));
}

# The storage key of a session cookie's record (server-side storage): its session id, base64url.
sub store_key {
    my ($lines) = @_;
    return CookieFormat::b64url_encode(sid_of(cookie_value($lines, 'session')));
}

# The subject the upstream fixture (t/js/entry-upstream.js) saw in X-Subject, or undef.
sub subject_of {
    my ($res) = @_;
    return $res->{content} =~ /^x-subject: (.*)$/m ? $1 : undef;
}

# Lines of the running nginx's error.log that match, so far.
sub error_lines {
    my ($pattern) = @_;
    open my $in, '<', $Test::Nginx::Util::ErrLogFile or return ();
    return grep { /$pattern/ } <$in>;
}

# The lua-resty-session 4.1.5 vectors (test/vectors), as t/lib/SessionTest.pm reads them.
sub load_vectors {
    my $path = "$ENV{TEST_NGINX_REPO_DIR}/test/vectors/lua-resty-session-4.1.5.json";
    open my $fh, '<:raw', $path or die "cannot read the interoperability vectors at $path: $!\n";
    return @{ JSON::PP->new->utf8->decode(do { local $/; <$fh> })->{vectors} };
}

# Polls GET URI with COOKIE every 50 ms until WANTED(status) holds or SECONDS (5) pass; returns the
# last status and the seconds it took (a store coming back, a failover).
sub poll_status {
    my ($uri, $cookie, $wanted, $seconds) = @_;
    my $start = Time::HiRes::time();
    my $status = 0;
    while (Time::HiRes::time() - $start < ($seconds // 5)) {
        $status = http('GET', $uri, { Cookie => $cookie })->{status};
        last if $wanted->($status);
        Time::HiRes::sleep(0.05);
    }
    return ($status, Time::HiRes::time() - $start);
}

1;
