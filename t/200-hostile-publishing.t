# Hostile values against everything the module publishes (issue 13), inside a real nginx under the
# engine selected by TEST_NGINX_JS_ENGINE, in both modes (js_access, auth_request), judged on the raw
# bytes: the upstream is a raw TCP peer (t/lib/RawHttp.pm) that answers with the hex of every byte it
# received, and the client is a raw socket. A parser (HTTP::Tiny, nginx's $http_*) would hide exactly
# what matters: a CR or LF in a value is a second header line on the wire, a NUL a cut value.
#
# The rule under test (src/core/publishable.ts):
#   - a subject is published exactly or not at all: our login refuses a verdict whose subject is not
#     publishable (400, a [warn] line without the subject), and a session minted elsewhere holding one
#     is "no session" (an [info] line), on the full path and on the fast (verified-cache) path;
#   - data values ($session_data_<key>, $session_data, X-Session-Data-<key>) are percent-encoded:
#     printable ASCII except "%" as it is, the rest (and a space at either end) as %XX of UTF-8, an
#     unpaired surrogate as %EF%BF%BD; non-strings as their JSON text, encoded the same way;
#   - the admin API's JSON is ASCII-only.
# Expectations are computed here from the hostile input (a percent-decoder, and an encoder written
# from the rule above), never copied from our output.
#
# Sessions come from our login (session.login; the backend below vouches for whatever verdict the test
# sends it, as a backend taking user names from a form would) and from elsewhere: harness.sealPayload
# (dist/test-harness.js) seals a given payload with the format's own pieces, bypassing setSubject, as
# lua-resty-session would write it.
#
# Set-up and helpers: t/lib/EntryTest.pm, t/lib/RawHttp.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use RawHttp;
use Encode ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);

our $SECRET = 'hostile-secret-6e1f0a9c';
$ENV{TEST_NGINX_RAW_UPSTREAM_PORT} = RawHttp::start_upstream();

# Every property as a request and a response header.
our $ALL_HEADERS = '["id", "audience", "subject", "timeout", "idling_timeout", "rolling_timeout", "absolute_timeout"]';

# Locations shared by every block. /a/ (js_access), /b/ (js_access with a login page), /r/
# (auth_request) publish everything toward the raw upstream and back to the client; /o/ is the same
# session check for audience "other" (a cookie holding two audiences is opened there, and must not
# enter the verified cache when one of its subjects cannot be published); /auth-view shows
# session.authRequest's 204 with its X-Session-* headers as they are.
EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location = /login { js_content session.login; }
    location = /_session_login_backend {
        internal;
        # An 8 KiB hostile value is up to 48 KiB of JSON escapes in the verdict header.
        proxy_buffer_size 128k;
        proxy_buffers 4 128k;
        proxy_busy_buffers_size 128k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    # The login backend vouches for the verdict the test sends in X-Test-Verdict: ASCII JSON, the
    # hostile characters as \u escapes (a client cannot put them in a header itself).
    location = /backend {
        add_header X-Session-Login $http_x_test_verdict always;
        return 200 "welcome\n";
    }
    location /a/ {
        js_access session.access;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_set_header X-Id $session_id;
        proxy_set_header X-Data $session_data_k;
        proxy_set_header X-Data-Json $session_data;
        add_header X-Subject $session_subject always;
        add_header X-Data $session_data_k always;
        add_header X-Data-Json $session_data always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAW_UPSTREAM_PORT;
    }
    location /b/ {
        set $session_config_login_url /login-page;
        js_access session.access;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Data $session_data_k;
        add_header X-Subject $session_subject always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAW_UPSTREAM_PORT;
    }
    location /o/ {
        set $session_config_audience other;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAW_UPSTREAM_PORT;
    }
    location /r/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        include $TEST_NGINX_REPO_DIR/nginx/session-upstream.conf;
        auth_request_set $session_data_k $sent_http_x_session_data_k;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header X-Audience $session_audience;
        proxy_set_header X-Id $session_id;
        proxy_set_header X-Data $session_data_k;
        proxy_set_header X-Data-Json $session_data;
        add_header X-Subject $session_subject always;
        add_header X-Data $session_data_k always;
        add_header X-Data-Json $session_data always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAW_UPSTREAM_PORT;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location = /auth-view { js_content session.authRequest; }
    location = /admin { js_content session.admin; }
    location = /_seal { js_content harness.sealPayload; }
_EOC_

# Every block: data key "k" exposed, every property as request and response header. Runs before
# setup()'s preprocessor (the newest runs first).
Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', "    js_var \$session_data_k;\n" . ($block->http_config // ''));
    $block->set_value('session_json', qq({"secret": {"env": "ACCESS_SECRET"}, "request_headers": $ALL_HEADERS,
 "response_headers": $ALL_HEADERS, "nginx": {"expose_data": ["k"]}})) unless defined $block->session_json;
});

# ---------------------------------------------------------------------------------------------------
# The hostile values: [label, value] (Perl strings; "\x{D800}" and friends stand for UTF-16 units a
# JavaScript string can hold, written as \u escapes where they travel in JSON).

our @CONTROLS = map { [sprintf('C0 0x%02X', $_), 'a' . chr($_) . 'b'] } 0x00 .. 0x1f;

our @HOSTILE = (
    ['CR', "alice\rX-Injected: 1"],
    ['LF', "alice\nX-Injected: 1"],
    # Last: a regular expression anchored with `$` matches before it under the njs engine.
    ['LF at the end', "alice\n"],
    ['CRLF + header', "alice\r\nX-Injected: 1"],
    ['CRLF CRLF + request', "alice\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX-Injected: 1\r\n\r\n"],
    ['CRLF + folded line', "alice\r\n X-Injected: 1"],
    ['NUL', "admin\0x"],
    ['NUL alone', "\0"],
    @CONTROLS,
    ['DEL', "a\x7fb"],
    ['C1 NEL', "a\x{85}b"],
    ['C1 CSI', "a\x{9b}b"],
    ['U+2028', "a\x{2028}b"],
    ['U+2029', "a\x{2029}b"],
    ['lone high surrogate', "a\x{D800}b"],
    ['lone low surrogate', "a\x{DC00}b"],
    ['reversed surrogates', "a\x{DC00}\x{D800}b"],
    ['high surrogate at the end', "a\x{DBFF}"],
    ['leading space', " admin"],
    ['trailing space', "admin "],
    ['8 KiB', 'A' x 8192],
    ['8 KiB of CRLF', "\r\n" x 4096],
);

# Not hostile to a header, but to a careless encoder: published data must still decode to them.
our @AWKWARD = (
    ['%0d%0a text', '%0d%0a'],
    ['percent, quotes, backslash', '100% "x" \\ y'],
    ['astral character', "smile \x{1F600}"],
    ['non-ASCII', "Zo\x{eb} \x{2603}"],
);

# Subjects that are publishable, at the edges of the rule: published exactly as they are.
our @PUBLISHABLE_SUBJECTS = (
    ['%0d%0a text', '%0d%0a'],
    ['percent, quotes, backslash', '100% "x" \\ y'],
    ['inner space', 'alice smith'],
    ['non-ASCII', "Zo\x{eb} \x{1F600}"],
    ['1024 ASCII bytes', 'a' x 1024],
    ['1024 UTF-8 bytes', "\x{e9}" x 512],
    ['1024 UTF-8 bytes, astral', "\x{1F600}" x 256],
);

# Subjects over the 1024-byte limit: refused like the hostile ones.
our @TOO_LONG_SUBJECTS = (
    ['1025 ASCII bytes', 'a' x 1025],
    ['1025 UTF-8 bytes', ("\x{e9}" x 512) . 'a'],
    ['1025 UTF-8 bytes, astral', ("\x{1F600}" x 256) . 'a'],
);

# Subject bytes that are not UTF-8, as a Lua writer can leave them in a payload (cjson copies bytes): a
# decoder turns each bad sequence into U+FFFD, so publishing would make several identities one.
our @INVALID_UTF8_SUBJECTS = (
    ['0xFF byte', "a\xffb"],
    ['CESU-8 surrogate', "a\xed\xa0\x80b"],
    ['overlong NUL', "a\xc0\x80b"],
);

# Data values that are not strings: published as their JSON text, percent-encoded.
our @STRUCTURED = (
    ['array with CRLF', '["a\r\nX-Injected: 1",1,true]', ["a\r\nX-Injected: 1", 1, JSON::PP::true]],
    ['object with NUL and U+2028', '{"n":"x\u0000y","s":"\u2028"}', { n => "x\0y", s => "\x{2028}" }],
);

# ---------------------------------------------------------------------------------------------------
# Encoding helpers, written from the rule, not from our code.

# A string as a JavaScript string holds it: an adjacent high and low surrogate are one character; an
# unpaired one cannot be UTF-8 and is published as U+FFFD.
sub as_published_text {
    my ($text) = @_;
    $text =~ s/([\x{D800}-\x{DBFF}])([\x{DC00}-\x{DFFF}])/chr(0x10000 + ((ord($1) - 0xD800) << 10) + (ord($2) - 0xDC00))/ge;
    $text =~ s/[\x{D800}-\x{DFFF}]/\x{FFFD}/g;
    return $text;
}

sub utf8_bytes { return Encode::encode('UTF-8', $_[0]) }

# The published form of a data string: printable ASCII but "%" as it is, everything else (and a space
# at either end) as %XX of its UTF-8 bytes, upper-case hex.
sub percent_encode {
    my ($text) = @_;
    $text = as_published_text($text);
    my @chars = split //, $text;
    my $out = '';
    for my $i (0 .. $#chars) {
        my $code = ord $chars[$i];
        my $edge = $code == 0x20 && ($i == 0 || $i == $#chars);
        if ($code >= 0x20 && $code <= 0x7e && $code != 0x25 && !$edge) { $out .= $chars[$i]; next }
        $out .= join '', map { sprintf '%%%02X', ord } split //, utf8_bytes($chars[$i]);
    }
    return $out;
}

# decodeURIComponent: %XX to bytes, the bytes as UTF-8 (undef if they are not UTF-8).
sub percent_decode {
    my ($text) = @_;
    return undef unless defined $text;
    (my $bytes = $text) =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return eval { Encode::decode('UTF-8', $bytes, Encode::FB_CROAK) };
}

# A JSON string literal in ASCII only: the value's UTF-16 units as \u escapes where needed (an unpaired
# surrogate stays one, as lua-resty-session or a JavaScript backend would write it).
sub json_string {
    my ($text) = @_;
    my $out = '"';
    for my $char (split //, $text) {
        my $code = ord $char;
        if ($char eq '"' || $char eq '\\') { $out .= "\\$char" }
        elsif ($code >= 0x20 && $code <= 0x7e) { $out .= $char }
        elsif ($code > 0xffff) {
            $out .= sprintf '\\u%04x\\u%04x', 0xD800 + (($code - 0x10000) >> 10), 0xDC00 + (($code - 0x10000) & 0x3ff);
        } else { $out .= sprintf '\\u%04x', $code }
    }
    return "$out\"";
}

# How a value shows in diagnostics: printable ASCII as it is, the rest escaped.
sub shown {
    my ($text) = @_;
    return '(undef)' unless defined $text;
    $text = substr($text, 0, 200) . '...' if length $text > 200;
    $text =~ s/([^\x20-\x7e])/ord($1) > 0xff ? sprintf('\\x{%X}', ord $1) : sprintf('\\x%02X', ord $1)/ge;
    return $text;
}

# ---------------------------------------------------------------------------------------------------
# Raw checks.

our %UPSTREAM_NAMES = map { $_ => 1 } qw(host connection cookie x-subject x-audience x-id x-data x-data-json
    session-id session-audience session-subject session-timeout session-idling-timeout session-rolling-timeout
    session-absolute-timeout);
our %CLIENT_NAMES = map { $_ => 1 } qw(server date content-type content-length connection location set-cookie
    x-subject x-data x-data-json cache-control www-authenticate session-id session-audience session-subject
    session-timeout session-idling-timeout session-rolling-timeout session-absolute-timeout x-session-state);

# A message head that nothing hostile got into: every line is printable ASCII (no CR, LF, NUL, other
# control, DEL; bytes past ASCII only where the test allows UTF-8 subjects), and every header line is
# "name: value" with a name the test expects (an injected or folded line is not).
sub safe_head {
    my ($message, $label, $names, $utf8_allowed) = @_;
    my @lines = @{ $message->{lines} };
    my $pattern = $utf8_allowed ? qr/[\x00-\x1f\x7f]/ : qr/[^\x20-\x7e]/;
    my @bad = grep { /$pattern/ } @lines;
    ok(!@bad, "$label: every head line is clean") or diag(join "\n", map { shown($_) } @bad);
    my @unexpected = grep { !/^[!#\$%&'*+.^_`|~0-9A-Za-z-]+:/ || !$names->{ lc((split /:/, $_)[0]) } } @lines[1 .. $#lines];
    ok(!@unexpected, "$label: no header line but the expected ones") or diag(join "\n", map { shown($_) } @unexpected);
}

# What the raw upstream received, from its reply body (hex), parsed; checked to hold one request only.
sub upstream_view {
    my ($reply, $label) = @_;
    my $raw = pack 'H*', $reply->{body};
    my $request = RawHttp::parse($raw);
    is(length($raw), length($request->{head}) + 4, "$label: the upstream got one request and nothing after it")
        or diag(shown($raw));
    return $request;
}

# The one value of a header (undef, and a failed assertion, when there is not exactly one).
sub one_value {
    my ($message, $name, $label) = @_;
    my @values = RawHttp::header_values($message, $name);
    is(scalar @values, 1, "$label: one $name") or diag(join "\n", map { shown($_) } @values);
    return $values[0];
}

sub raw_get {
    my ($path, $cookie, @headers) = @_;
    return RawHttp::request('GET', $path, [ (defined $cookie ? ['Cookie', $cookie] : ()), @headers ]);
}

# "name=value; ..." of a reply's live Set-Cookie lines.
sub cookies_of {
    my ($reply) = @_;
    return cookie_header(RawHttp::header_values($reply, 'Set-Cookie'));
}

# Our login with the given subject and data JSON text (ASCII): the raw reply.
sub login_with {
    my ($subject, $data_json, @headers) = @_;
    my $verdict = '{"subject":' . json_string($subject) . (defined $data_json ? ',"data":{"k":' . $data_json . '}' : '')
                  . ',"redirect":"/a/"}';
    return RawHttp::request('POST', '/login', [['X-Test-Verdict', $verdict], @headers], '');
}

# A cookie as lua-resty-session would write it, holding this payload (JSON text, ASCII) or these raw
# payload bytes: the Cookie header value.
sub sealed_cookie {
    my (%payload) = @_;
    my $body = { options => { secret => $SECRET }, %payload };
    my $reply = RawHttp::request('POST', '/_seal', [['Content-Type', 'application/json']], $EntryTest::JSON->encode($body));
    is($reply->{status}, 200, 'seal: 200') or diag(shown($reply->{raw}));
    return cookies_of($reply);
}

# The error.log text appended since the given size.
sub log_since {
    my ($before) = @_;
    select(undef, undef, undef, 0.05);    # nginx logs the last lines after the answer
    open my $in, '<:raw', $Test::Nginx::Util::ErrLogFile or return '';
    seek $in, $before, 0;
    return join '', <$in>;
}

sub log_size { return -s $Test::Nginx::Util::ErrLogFile // 0 }

# error.log holds no control character but line ends, and none of the hostile markers.
sub clean_log {
    my ($label) = @_;
    my $log = log_since(0);
    ok($log !~ /[\x00-\x09\x0b-\x1f\x7f]/, "$label: error.log holds no control character")
        or diag(shown(($log =~ /(.{0,80}[\x00-\x09\x0b-\x1f\x7f].{0,80})/s)[0]));
    unlike($log, qr/Injected|smuggled/i, "$label: error.log holds nothing of the hostile values");
}

# ---------------------------------------------------------------------------------------------------
# What a session with data value `$expected` (a Perl string, or a structure when `$json` is set)
# publishes, seen raw by the upstream and the client of a protected location.

sub decoded_matches {
    my ($published, $expected, $structured, $label) = @_;
    my $decoded = percent_decode($published);
    if ($structured) {
        my $value = eval { JSON::PP->new->decode($decoded // '') };
        is_deeply($value, $expected, "$label: decodes to the original structure") or diag(shown($published));
    } else {
        is($decoded, as_published_text($expected), "$label: decodes to the original value") or diag(shown($published));
        is($published, percent_encode($expected), "$label: encoded as the rule says") or diag(shown($published));
    }
}

sub data_published {
    my ($reply, $expected, $structured, $label, %how) = @_;
    is($reply->{status}, 200, "$label: 200") or return diag(shown(substr($reply->{raw}, 0, 600)));
    safe_head($reply, "$label, client", \%CLIENT_NAMES);
    my $upstream = upstream_view($reply, "$label, upstream");
    safe_head($upstream, "$label, upstream", \%UPSTREAM_NAMES);
    like($upstream->{lines}[0], qr{^GET /[ar]/x HTTP/1\.[01]$}, "$label, upstream: the request line");
    for my $side (['upstream', $upstream], ['client', $reply]) {
        my ($where, $message) = @$side;
        decoded_matches(one_value($message, 'X-Data', "$label, $where"), $expected, $structured, "$label, $where X-Data");
        my $json = one_value($message, 'X-Data-Json', "$label, $where");
        my $object = eval { JSON::PP->new->decode($json // '') };
        is_deeply([ sort keys %{ $object // {} } ], ['k'], "$label, $where X-Data-Json: JSON with key k") or diag(shown($json));
        decoded_matches($object->{k}, $expected, $structured, "$label, $where X-Data-Json");
        is(one_value($message, 'X-Subject', "$label, $where"), $how{subject}, "$label, $where X-Subject");
        is(one_value($message, 'Session-Subject', "$label, $where"), $how{subject}, "$label, $where Session-Subject");
        is(one_value($message, 'Session-Audience', "$label, $where"), 'default', "$label, $where Session-Audience");
        like(one_value($message, 'Session-Id', "$label, $where") // '', qr/^[A-Za-z0-9_-]{22}$/, "$label, $where Session-Id");
        like(one_value($message, 'Session-Timeout', "$label, $where") // '', qr/^\d+$/, "$label, $where Session-Timeout");
    }
    like(one_value($upstream, 'X-Id', "$label, upstream") // '', qr/^[A-Za-z0-9_-]{22}$/, "$label, upstream X-Id (\$session_id)");
}

# session.authRequest's own 204 (X-Session-State, X-Session-Data-k, Session-*), raw.
sub auth_view_published {
    my ($cookie, $expected, $structured, $label) = @_;
    my $reply = raw_get('/auth-view', $cookie);
    is($reply->{status}, 204, "$label: 204") or return diag(shown(substr($reply->{raw}, 0, 600)));
    # X-Session-State is the state line between "<" and ">" (state-header.ts): TABs separate its 20
    # fields, the subject is UTF-8 as the session holds it, and nothing else is a control character.
    my @state = RawHttp::header_values($reply, 'X-Session-State');
    is(scalar @state, 1, "$label: one X-Session-State");
    like($state[0] // '', qr/\A<(?:[^\x00-\x1f\x7f]*\t){19}[^\x00-\x1f\x7f]*>\z/, "$label: X-Session-State is one framed state line");
    safe_head({ %$reply, lines => [ grep { !/^X-Session-State:/i } @{ $reply->{lines} } ] }, $label,
              { %CLIENT_NAMES, 'x-session-data-k' => 1 });
    decoded_matches(one_value($reply, 'X-Session-Data-k', $label), $expected, $structured, "$label X-Session-Data-k");
}

# Both modes, each twice (the second check of a one-chunk cookie takes the fast path).
sub check_data_everywhere {
    my ($cookie, $expected, $structured, $label, $subject) = @_;
    for my $path ('/a/x', '/a/x', '/r/x', '/r/x') {
        data_published(raw_get($path, $cookie), $expected, $structured, "$label, GET $path", subject => $subject);
    }
    auth_view_published($cookie, $expected, $structured, "$label, auth_request's 204");
}

# ---------------------------------------------------------------------------------------------------
# A session that must not exist: every protected location answers as without a session, nothing
# reaches the upstream, and the full path logs why.

sub no_session_everywhere {
    my ($cookie, $label) = @_;
    my $before = log_size();
    my $upstream_before = scalar(RawHttp::upstream_requests());
    for my $case (['/a/x', 401], ['/a/x', 401], ['/b/x', 302], ['/r/x', 401], ['/r/x', 401], ['/auth-view', 401]) {
        my ($path, $status) = @$case;
        my $reply = raw_get($path, $cookie);
        is($reply->{status}, $status, "$label, GET $path: $status") or diag(shown(substr($reply->{raw}, 0, 600)));
        safe_head($reply, "$label, GET $path", \%CLIENT_NAMES);
        is_deeply([ RawHttp::header_values($reply, 'X-Subject') ], [], "$label, GET $path: no X-Subject");
        is_deeply([ grep { /^session-/i } map { $_->[0] } @{ $reply->{headers} } ], [], "$label, GET $path: no Session-* header");
        like(join(',', RawHttp::header_values($reply, 'Location')), qr{^(?:http://[^/]+)?/login-page\?return_to=%2Fb%2Fx$}, "$label: to the login page")
            if $status == 302;
    }
    is(scalar(RawHttp::upstream_requests()), $upstream_before, "$label: nothing reached the upstream");
    my $log = log_since($before);
    like($log, qr/\[info\] .*no session for cookie "session": session subject cannot be published/, "$label: the [info] line");
    unlike($log, qr/\[(?:error|warn|alert|crit|emerg)\]/, "$label: nothing worse than [info]");
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: our login, hostile data values: percent-encoded in every output, both modes, full and fast path
The upstream and the client see $session_data_k, $session_data, X-Session-Data-k (auth_request) as
the rule's encoding of the value, which decodes back to it; no 5xx, nothing in error.log.
--- init
for my $case (@main::HOSTILE, @main::AWKWARD) {
    my ($label, $value) = @$case;
    my $login = main::login_with('alice', main::json_string($value));
    is($login->{status}, 303, "$label: login 303") or next;
    main::safe_head($login, "$label: login reply", \%main::CLIENT_NAMES);
    main::check_data_everywhere(main::cookies_of($login), $value, 0, $label, 'alice');
}
my $percent = main::login_with('alice', '"%0d%0a"');
my $reply = main::raw_get('/a/x', main::cookies_of($percent));
is(main::one_value(main::upstream_view($reply, '%0d%0a'), 'X-Data', '%0d%0a'), '%250d%250a', 'the text "%0d%0a" comes out as "%250d%250a"');
for my $case (@main::STRUCTURED) {
    my ($label, $json, $value) = @$case;
    my $login = main::login_with('alice', $json);
    is($login->{status}, 303, "$label: login 303") or next;
    main::check_data_everywhere(main::cookies_of($login), $value, 1, $label, 'alice');
}
main::clean_log('hostile data');
--- request
GET /a/x
--- error_code: 401



=== TEST 2: data minted elsewhere: unpaired surrogates kept by the payload's JSON and invalid UTF-8 bytes, both modes
A lua-resty-session cookie can hold what our save() never writes: "\ud800" escapes survive JSON.parse
(under QuickJS), raw bytes that are not UTF-8 reach the decoder. Published as the rule says.
--- init
for my $case (@main::HOSTILE, @main::AWKWARD) {
    my ($label, $value) = @$case;
    my $cookie = main::sealed_cookie(payload => '[[{"k":' . main::json_string($value) . '},"default","alice"]]');
    main::check_data_everywhere($cookie, $value, 0, "elsewhere, $label", 'alice');
}
# Bytes that are not UTF-8 (a CESU surrogate, a lone continuation byte, 0xFF): each becomes U+FFFD.
my $cookie = main::sealed_cookie(payload_b64url => encode_base64url(qq([[{"k":"a\xed\xa0\x80b\x80c\xffd"},"default","alice"]])));
for my $path ('/a/x', '/r/x') {
    my $reply = main::raw_get($path, $cookie);
    is($reply->{status}, 200, "invalid UTF-8, GET $path: 200");
    main::safe_head($reply, "invalid UTF-8, GET $path, client", \%main::CLIENT_NAMES);
    my $upstream = main::upstream_view($reply, "invalid UTF-8, GET $path");
    main::safe_head($upstream, "invalid UTF-8, GET $path, upstream", \%main::UPSTREAM_NAMES);
    for my $message ($upstream, $reply) {
        like(main::percent_decode(main::one_value($message, 'X-Data', "invalid UTF-8, GET $path")) // '', qr/^a\x{FFFD}+b\x{FFFD}+c\x{FFFD}+d$/,
             "invalid UTF-8, GET $path: each bad sequence as U+FFFD");
    }
}
main::clean_log('data minted elsewhere');
--- request
GET /a/x
--- error_code: 401



=== TEST 3: our login, hostile subjects (and over 1024 bytes): 400, no cookie, a [warn] line without the subject
--- init
for my $case (@main::HOSTILE, @main::TOO_LONG_SUBJECTS) {
    my ($label, $subject) = @$case;
    my $before = main::log_size();
    my $reply = main::login_with($subject, '"v"');
    is($reply->{status}, 400, "$label: 400") or diag(main::shown(substr($reply->{raw}, 0, 600)));
    is($reply->{body}, "login refused: this user name cannot be used for a session\n", "$label: says why, without the name");
    main::safe_head($reply, "$label: login reply", \%main::CLIENT_NAMES);
    is_deeply([ RawHttp::header_values($reply, 'Set-Cookie') ], [], "$label: no Set-Cookie");
    my $log = main::log_since($before);
    like($log, qr/\[warn\] .*\[session\] login refused: the verdict's subject (?:contains a control character|begins or ends with a space|is longer than 1024 bytes)/,
         "$label: the [warn] line");
    my $raw = main::utf8_bytes(main::as_published_text($subject));
    ok(index($log, $raw) < 0, "$label: the subject is not in error.log");
}
main::clean_log('hostile subjects at login');
--- request
GET /a/x
--- error_code: 401
--- no_error_log
[error]
[alert]
[crit]
[emerg]
exception



=== TEST 4: subjects minted elsewhere (lua-resty-session): no session in both modes, on the full and on the fast path
The same cookie also holds audience "other" with a good subject: /o/ opens it (twice: cold, then
where a cached cookie would be on the fast path). A payload holding a subject that cannot be published
must never enter the verified cache, as the fast path no longer tests the subject it finds: cached,
"default" would be published from it.
--- init
for my $case (@main::HOSTILE, @main::TOO_LONG_SUBJECTS, ['empty', '']) {
    my ($label, $subject) = @$case;
    my $alone = main::sealed_cookie(payload => '[[{"k":"v"},"default",' . main::json_string($subject) . ']]');
    main::no_session_everywhere($alone, "$label, full path");
    my $two = main::sealed_cookie(payload => '[[{},"other","bob"],[{"k":"v"},"default",' . main::json_string($subject) . ']]');
    for my $round (1, 2) {
        my $other = main::raw_get('/o/x', $two);
        is($other->{status}, 200, "$label: audience other opens ($round)") or next;
        my $upstream = main::upstream_view($other, "$label, audience other");
        main::safe_head($upstream, "$label, audience other, upstream", \%main::UPSTREAM_NAMES);
        is(main::one_value($upstream, 'X-Subject', "$label, audience other"), 'bob', "$label: audience other is bob's");
    }
    main::no_session_everywhere($two, "$label, fast path");
}
for my $case (@main::INVALID_UTF8_SUBJECTS) {
    my ($label, $bytes) = @$case;
    my $cookie = main::sealed_cookie(payload_b64url => encode_base64url(qq([[{"k":"v"},"default","$bytes"]])));
    main::no_session_everywhere($cookie, "$label (raw bytes)");
}
main::clean_log('hostile subjects minted elsewhere');
--- request
GET /a/x
--- error_code: 401



=== TEST 5: publishable subjects at the rule's edges ("%0d%0a", 1024 bytes, non-ASCII): published exactly, both modes
From our login and minted elsewhere: the upstream and the client get the subject's UTF-8 bytes, byte
for byte, in $session_subject and Session-Subject.
--- init
for my $case (@main::PUBLISHABLE_SUBJECTS) {
    my ($label, $subject) = @$case;
    my $bytes = main::utf8_bytes($subject);
    my $login = main::login_with($subject, '"v"');
    is($login->{status}, 303, "$label: login 303") or next;
    my $elsewhere = main::sealed_cookie(payload => '[[{"k":"v"},"default",' . main::json_string($subject) . ']]');
    for my $source (['login', main::cookies_of($login)], ['elsewhere', $elsewhere]) {
        my ($from, $cookie) = @$source;
        for my $path ('/a/x', '/a/x', '/r/x', '/r/x') {
            my $where = "$label ($from), GET $path";
            my $reply = main::raw_get($path, $cookie);
            is($reply->{status}, 200, "$where: 200") or next;
            main::safe_head($reply, "$where, client", \%main::CLIENT_NAMES, 1);
            my $upstream = main::upstream_view($reply, $where);
            main::safe_head($upstream, "$where, upstream", \%main::UPSTREAM_NAMES, 1);
            for my $side (['upstream', $upstream], ['client', $reply]) {
                ok(main::one_value($side->[1], 'X-Subject', "$where, $side->[0]") eq $bytes, "$where, $side->[0]: X-Subject byte for byte");
                ok(main::one_value($side->[1], 'Session-Subject', "$where, $side->[0]") eq $bytes, "$where, $side->[0]: Session-Subject byte for byte");
            }
        }
    }
}
main::clean_log('publishable subjects');
--- request
GET /a/x
--- error_code: 401



=== TEST 6: the admin API: hostile subject queries and user agents give ASCII-only JSON and intact headers
A session of "admin" made through our login from a client whose User-Agent carries U+2028, DEL and
bytes past ASCII; the registry lists it by that agent. Queries with %0d%0a, %00, %e2%80%a8 and invalid
UTF-8 answer JSON in ASCII; "admin%00x" is not "admin" (listing and revoking).
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true, "nginx": {"expose_data": ["k"]}}
--- init
my %admin_names = map { $_ => 1 } qw(server date content-type content-length connection cache-control);
my $agent = "UA \xe2\x80\xa8 \x7f \xc3\xa9 \xf0\x9f\x98\x80 end";
my $login = main::login_with('admin', '"v"', ['User-Agent', $agent]);
is($login->{status}, 303, 'admin logs in');
my $cookie = main::cookies_of($login);
is(main::raw_get('/a/x', $cookie)->{status}, 200, "admin's session opens");

my $ask = sub {
    my ($method, $query, $label) = @_;
    my $reply = RawHttp::request($method, "/admin$query");
    is($reply->{status}, 200, "$label: 200") or diag(main::shown($reply->{raw}));
    main::safe_head($reply, $label, \%admin_names);
    is(main::one_value($reply, 'Content-Type', $label), 'application/json', "$label: JSON");
    is(main::one_value($reply, 'Cache-Control', $label), 'no-store', "$label: not cached");
    like($reply->{body}, qr/\A[\x20-\x7e]*\n\z/, "$label: the body is printable ASCII, one line") or diag(main::shown($reply->{body}));
    my $body = eval { JSON::PP->new->decode($reply->{body}) };
    ok(ref $body eq 'HASH', "$label: parses as JSON") or diag($@);
    return $body // {};
};

my $list = $ask->('GET', '?subject=admin', 'list admin');
is(scalar @{ $list->{sessions} // [] }, 1, "list admin: admin's session");
is($list->{sessions}[0]{user_agent}, Encode::decode('UTF-8', $agent), 'list admin: the user agent, exactly, as \u escapes');

for my $case (['%0d%0a', "\r\n"], ['alice%0d%0aX-Injected:%201', "alice\r\nX-Injected: 1"], ['%00', "\0"],
              ['admin%00x', "admin\0x"], ['%e2%80%a8', "\x{2028}"], ['%7f', "\x7f"], ['%ed%a0%80', undef], ['%ff', undef],
              ['%0d%0a' x 2048, "\r\n" x 2048]) {
    my ($query, $subject) = @$case;
    my $label = 'list ' . main::shown(substr($query, 0, 40));
    my $body = $ask->('GET', "?subject=$query", $label);
    is($body->{subject}, $subject, "$label: the subject as asked") if defined $subject;
    is_deeply($body->{sessions}, [], "$label: nobody's sessions");
}

my $revoked = $ask->('DELETE', '?subject=admin%00x', 'revoke admin%00x');
is_deeply($revoked->{revoked}, [], 'revoke admin%00x: nothing revoked');
is(main::raw_get('/a/x', $cookie)->{status}, 200, "admin's session still opens");
$list = $ask->('GET', '?subject=admin', 'list admin again');
is(scalar @{ $list->{sessions} // [] }, 1, "list admin again: admin's session is still there");
main::clean_log('admin API');
--- request
GET /a/x
--- error_code: 401
