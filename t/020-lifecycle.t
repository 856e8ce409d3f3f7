# Session lifecycle inside a real nginx, under the engine selected by TEST_NGINX_JS_ENGINE: cookies
# minted by our njs code (test/nginx/harness.ts) reopen in njs, carry the lua-resty-session 4.x
# Set-Cookie attributes, chunk, remember, refresh (touch / re-save), logout and destroy as the peer does,
# and their headers decode in plain Perl by the format table (an independent check, MAC included).
#
# MULTI-STEP FLOWS (request 2 needs the cookie minted by request 1)
#
# Test::Nginx fixes a block's requests before sending them: Test::Base runs the `eval` filters of
# every block in run_tests(), before any nginx starts, and nothing carries a response over to the next
# request. What it does offer is the `--- init` section: Perl code that Test::Nginx::Util::run_test
# evaluates AFTER it has started this block's nginx and BEFORE it builds the requests from the block
# (Test::Nginx::Socket::run_test_helper reads `request`, `more_headers`, ... only then). So a flow is:
#
#   --- init
#   my $minted = ::step('/save', { options => ..., now => ..., data => ... });   # step 1, Perl client
#   ::check_minted(...);                                  # plain Test::More asserts on step 1
#   ::checks({ uri => '/open', body => {...}, cookie => ::cookie_header($minted),  # what Test::Nginx
#              expect => "accept: match\n", set_cookie => undef });               # then sends/checks
#
# ::step() is a tiny HTTP::Tiny client talking to the nginx Test::Nginx started for this block
# ($Test::Nginx::Util::ServerAddr / ServerPortForClient); it returns the body and the Set-Cookie
# lines. ::checks() turns its list into this block's `request`, `more_headers`, `response_body`,
# `error_code` and `response_headers_like` arrays (through $::Block, the block being run, which the
# preprocessor below records), so the final step gets Test::Nginx's usual per-request checks, and the
# block's `no_error_log` (which also reads the log lines of the init steps) applies to all of them.
# The preprocessor runs the init code in package main (Test::Nginx evals it in its own package) and
# inside one Test::More subtest named after the block, so a failed step assertion says which block.
# Blocks without a data dependency use plain `--- request eval` arrays.
#
# Every cookie is made with a fixed clock ("now" in the request body), so the expected creation times,
# offsets, Expires dates and timeouts are exact.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use SessionTest;
use CookieFormat;
use HTTP::Tiny;
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::SHA qw(sha256 hmac_sha256);

our $NOW = 1800000000;    # 2027-01-15T08:00:00Z, the clock of every cookie minted here
our $SECRET = 'lifecycle-secret-0123';
our $COOKIE = '[A-Za-z0-9_-]+';    # a cookie value (base64url, no padding): no ", " so one cookie only
our $ATTRIBUTES = '; Path=/; SameSite=Lax; HttpOnly';    # the defaults
our $EXPIRED = '; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0';
our %V = map { $_->{id} => $_ } load_vectors();

# --------------------------------------------------------------------------------------------------
# Perl side of the flows

our $Block;    # the block being run (set by the preprocessor, read by checks())

add_block_preprocessor(sub {
    my $block = shift;
    $Block = $block;
    # Test::Nginx evaluates `--- init` in its own package: run it in ours (step, checks, is, ...), as
    # one subtest named after the block, so that a failing assertion of a step says where it is.
    $block->set_value('init', "package main;\nTest::More::subtest(\$::Block->name . ' - steps before the requests' => sub {\n"
                              . $block->init . "\n});\n") if defined $block->init;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /save    { js_content harness.saveCase; }
    location = /open    { js_content harness.openCase; }
    location = /start   { js_content harness.startCase; }
    location = /logout  { js_content harness.logoutCase; }
    location = /destroy { js_content harness.destroyCase; }
    location = /engine  { js_content harness.engine; }
_EOC_
    # info: the level our rejection lines are logged at; debug would add nginx's own header dumps.
    $block->set_value('log_level', 'info') unless defined $block->log_level;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]\n[emerg]\nexception\n$SECRET")
        unless defined $block->error_log;
});

# One POST to a harness location of the running nginx. Returns { status, body, set_cookie => [lines],
# cookies => { name => value } (live ones), expired => { name => 1 } (Max-Age=0 ones) }.
sub step {
    my ($uri, $body, $cookie) = @_;
    my $url = "http://$Test::Nginx::Util::ServerAddr:$Test::Nginx::Util::ServerPortForClient$uri";
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 20)->request('POST', $url, {
        content => json_encode($body),
        headers => { 'Content-Type' => 'application/json', defined $cookie ? (Cookie => $cookie) : () },
    });
    my $lines = $res->{headers}{'set-cookie'} // [];
    $lines = [$lines] unless ref $lines;
    my (%cookies, %expired);
    for my $line (@$lines) {
        my ($pair) = split /;/, $line, 2;
        my ($name, $value) = split /=/, $pair, 2;
        if ($line =~ /; Max-Age=0(?:;|$)/) { $expired{$name} = 1 } else { $cookies{$name} = $value }
    }
    return { status => $res->{status}, body => $res->{content}, set_cookie => $lines,
             cookies => \%cookies, expired => \%expired };
}

# "name=value; ..." for a Cookie request header, from a step's live cookies (all, or the named ones).
sub cookie_header {
    my ($res, @names) = @_;
    @names = sort keys %{ $res->{cookies} } unless @names;
    return join '; ', map { "$_=$res->{cookies}{$_}" } @names;
}

# Sets the current block's requests and expectations. Each check: uri, body (JSON), cookie (Cookie
# header value) or headers (raw more_headers text), expect (response body), set_cookie (regex the
# Set-Cookie response header must match whole, several lines joined by ", "; undef: none at all).
sub checks {
    my @checks = @_;
    $Block->set_value('request', [ map { request_body($_->{uri}, $_->{body}) } @checks ]);
    $Block->set_value('more_headers', [ map {
        defined $_->{headers} ? $_->{headers} : defined $_->{cookie} ? "Cookie: $_->{cookie}" : ''
    } @checks ]);
    $Block->set_value('response_body', [ map { $_->{expect} } @checks ]);
    $Block->set_value('error_code', [ map { 200 } @checks ]);
    $Block->set_value('response_headers_like', [ map { 'Set-Cookie: ' . ($_->{set_cookie} // '') } @checks ]);
}

sub b64url_size { my $n = shift; return int($n / 3) * 4 + ($n % 3 ? $n % 3 + 1 : 0) }

# The 82-byte header of a cookie value, field by field (src/core/format.ts; little endian).
sub decode_header {
    my $value = shift;
    my $bytes = b64url_decode(substr($value, 0, 110)) // return undef;
    return undef unless length($bytes) == 82;
    my $uint = sub {
        my ($offset, $size) = @_;
        my $n = 0;
        $n = $n * 256 + ord(substr($bytes, $offset + $_, 1)) for reverse 0 .. $size - 1;
        return $n;
    };
    return {
        bytes => $bytes, type => $uint->(0, 1), flags => $uint->(1, 2), sid => substr($bytes, 3, 32),
        creation => $uint->(35, 5), rolling => $uint->(40, 4), data_size => $uint->(44, 3),
        tag => substr($bytes, 47, 16), idling => $uint->(63, 3), mac => substr($bytes, 66, 16),
    };
}

# MAC = first 16 bytes of HMAC-SHA256(HKDF(SHA-256(secret), "authentication:" || sid), header[0, 66)).
sub expected_mac {
    my ($header, $secret) = @_;
    my $key = hkdf(sha256($secret), 'authentication:' . $header->{sid}, 32);
    return substr(hmac_sha256(substr($header->{bytes}, 0, 66), $key), 0, 16);
}

# Asserts what a minted cookie value says about itself. %want: creation, rolling, idling, flags,
# secret, payload (the payload characters, all chunks joined; default: what follows the header).
sub check_minted {
    my ($what, $value, %want) = @_;
    my $header = decode_header($value);
    ok(defined $header, "$what: the first 110 characters are an 82-byte base64url header") or return;
    my $payload = $want{payload} // substr($value, 110);
    is($header->{type}, 1, "$what: type 1");
    is(sprintf('0x%04x', $header->{flags}), sprintf('0x%04x', $want{flags} // 0), "$what: flags");
    is(length($header->{sid}), 32, "$what: 32-byte sid");
    isnt($header->{sid}, "\0" x 32, "$what: the sid is not all zeros");
    is($header->{creation}, $want{creation} // $NOW, "$what: creation time is the fixed clock");
    is($header->{rolling}, $want{rolling} // 0, "$what: rolling offset");
    is($header->{idling}, $want{idling} // 0, "$what: idling offset");
    is($header->{data_size}, length($payload), "$what: data size is the payload's length");
    like($payload, qr/^[A-Za-z0-9_-]+$/, "$what: the payload is base64url without padding");
    is($header->{mac}, expected_mac($header, $want{secret} // $SECRET), "$what: MAC verifies in Perl");
    return $header;
}

# Regex (for checks' set_cookie) of the Set-Cookie lines expiring the named cookies, in that order.
sub expired_re {
    my ($attributes, @names) = @_;
    return join ', ', map { quotemeta("$_=$attributes$EXPIRED") } @names;
}

sub http_date {
    my @t = gmtime(shift);
    return sprintf('%s, %02d %s %04d %02d:%02d:%02d GMT', (qw(Sun Mon Tue Wed Thu Fri Sat))[$t[6]], $t[3],
        (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$t[4]], $t[5] + 1900, $t[2], $t[1], $t[0]);
}

# --------------------------------------------------------------------------------------------------
# TEST 2: Set-Cookie attributes, in lua-resty-session 4.1.5's order (lib/resty/session.lua, init):
# [Domain] Path SameSite [Priority] [SameParty] [Partitioned] [Secure] [HttpOnly]

our @ATTRIBUTE_CASES = (
    [ {}, 'session', '; Path=/; SameSite=Lax; HttpOnly' ],
    [ { cookie_secure => JSON::PP::true }, 'session', '; Path=/; SameSite=Lax; Secure; HttpOnly' ],
    [ { cookie_domain => 'example.org' }, 'session', '; Domain=example.org; Path=/; SameSite=Lax; HttpOnly' ],
    [ { cookie_domain => 'localhost' }, 'session', '; Path=/; SameSite=Lax; HttpOnly' ],
    [ { cookie_same_site => 'Strict' }, 'session', '; Path=/; SameSite=Strict; HttpOnly' ],
    [ { cookie_same_site => 'None' }, 'session', '; Path=/; SameSite=None; Secure; HttpOnly' ],
    [ { cookie_priority => 'High' }, 'session', '; Path=/; SameSite=Lax; Priority=High; HttpOnly' ],
    [ { cookie_prefix => '__Host-' }, '__Host-session', '; Path=/; SameSite=Lax; Secure; HttpOnly' ],
    [ { cookie_prefix => '__Secure-', cookie_domain => 'example.org' }, '__Secure-session',
      '; Domain=example.org; Path=/; SameSite=Lax; Secure; HttpOnly' ],
    [ { cookie_name => 'sid', cookie_path => '/app', cookie_http_only => JSON::PP::false }, 'sid',
      '; Path=/app; SameSite=Lax' ],
    [ { cookie_domain => 'example.org', cookie_path => '/x', cookie_same_site => 'Strict',
        cookie_priority => 'Low', cookie_partitioned => JSON::PP::true, cookie_secure => JSON::PP::true },
      'session', '; Domain=example.org; Path=/x; SameSite=Strict; Priority=Low; Partitioned; Secure; HttpOnly' ],
);
our @attribute_requests = map {
    request_body('/save', { options => { secret => $SECRET, %{ $_->[0] } }, now => $NOW, data => { n => 1 } })
} @ATTRIBUTE_CASES;
our @attribute_headers = map { "Set-Cookie: \Q$_->[1]\E=$COOKIE\Q$_->[2]\E" } @ATTRIBUTE_CASES;

# TEST 7: the touch of the peer's "touched" vector is deterministic (same sid and payload, the MAC
# is an HMAC): replaying its start() step must give the peer's Set-Cookie byte for byte.
our $TOUCHED = $V{touched};
our $TOUCH_REQUEST = request_body('/start', { options => $TOUCHED->{opens}[0]{config}, now => $TOUCHED->{steps}[1]{now} });
our $TOUCH_COOKIE = 'Cookie: ' . (split /;/, $TOUCHED->{steps}[0]{set_cookie}[0])[0];

# TEST 10: vectors opened with a clock just before and just past one of their timeouts.
our @EXPIRY_CASES = map {
    my $vector = $V{$_};
    map { [ $vector, $_ ] } grep { defined $_->{now} } @{ $vector->{opens} }
} qw(default-timeouts rolling-timeout absolute-timeout touched rolled);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the engine running the harness is the one selected by js_engine
--- request
POST /engine
--- response_body eval
SessionTest::engine_name() . "\n"



=== TEST 2: Set-Cookie attributes are exactly the peer's, by default and for each cookie option
--- request eval
\@::attribute_requests
--- response_body eval
[ map { "saved\n" } @::attribute_requests ]
--- response_headers_like eval
\@::attribute_headers



=== TEST 3: a cookie minted by njs opens in njs with the same data, subject and audience
--- init
my %options = (secret => $::SECRET);
my %data = (name => 'John', n => 42, tags => [ 'a', 'b' ], nested => { ok => JSON::PP::true });
my $minted = ::step('/save', { options => \%options, now => $::NOW, data => \%data, subject => 'alice',
                               audience => 'app' });
is($minted->{body}, "saved\n", 'mint: saved');
is(scalar @{ $minted->{set_cookie} }, 1, 'mint: one Set-Cookie');
my $value = $minted->{cookies}{session};
# The plaintext is [[data, audience, subject]] as JSON (the harness keeps the key order of this
# canonical JSON); AES-GCM keeps its length, base64url makes it the data size.
my $plaintext = ::json_encode([ [ \%data, 'app', 'alice' ] ]);
::check_minted('minted cookie', $value);
is(length($value) - 110, ::b64url_size(length $plaintext), 'minted cookie: payload size is that of the plaintext');
my $again = ::step('/save', { options => \%options, now => $::NOW, data => \%data, subject => 'alice', audience => 'app' });
isnt(substr($again->{cookies}{session}, 4, 43), substr($value, 4, 43), 'two mints get different session ids');
my $expected = { data => \%data, audience => 'app', subject => 'alice' };
my $cookie = ::cookie_header($minted);
::checks(
    { uri => '/open', body => { options => { %options, audience => 'app' }, now => $::NOW, expected => $expected },
      cookie => $cookie, expect => "accept: match\n" },
    { uri => '/open', body => { options => { %options, audience => 'app' }, now => $::NOW },
      cookie => $cookie, expect => 'accept: {"data":{"n":42,"name":"John","nested":{"ok":true},"tags":["a","b"]},'
                                 . "\"audience\":\"app\",\"subject\":\"alice\"}\n" },
    # Default timeouts: idling 900 seconds.
    { uri => '/open', body => { options => { %options, audience => 'app' }, now => $::NOW + 900, expected => $expected },
      cookie => $cookie, expect => "accept: match\n" },
    { uri => '/open', body => { options => { %options, audience => 'app' }, now => $::NOW + 901 },
      cookie => $cookie, expect => "reject: session idling timeout exceeded\n" },
    { uri => '/open', body => { options => { %options, audience => 'other' }, now => $::NOW },
      cookie => $cookie, expect => "reject: missing session audience\n" },
    { uri => '/open', body => { options => { secret => 'another-secret', audience => 'app' }, now => $::NOW },
      cookie => $cookie, expect => "reject: invalid session message authentication code\n" },
    { uri => '/open', body => { options => { %options, audience => 'app', cookie_name => 'other' }, now => $::NOW },
      cookie => $cookie, expect => "reject: missing session cookie\n" },
);



=== TEST 4: deflated (compressible data above compression_threshold) and undeflated cookies
--- init
my %options = (secret => $::SECRET, compression_threshold => 100);
my %data = (text => 'abc' x 200);
my $deflated = ::step('/save', { options => \%options, now => $::NOW, data => \%data });
my $plain = ::step('/save', { options => { %options, compression_threshold => 0 }, now => $::NOW, data => \%data });
::check_minted('deflated cookie', $deflated->{cookies}{session}, flags => 0x0010);
::check_minted('uncompressed cookie', $plain->{cookies}{session}, flags => 0);
is(length($plain->{cookies}{session}) - 110, ::b64url_size(length ::json_encode([ [ \%data, 'default' ] ])),
   'uncompressed cookie: payload size is that of the plaintext');
cmp_ok(length $deflated->{cookies}{session}, '<', length($plain->{cookies}{session}) / 4, 'deflate shrinks it');
my $expected = { data => \%data, audience => 'default', subject => undef };
::checks(map {
    { uri => '/open', body => { options => \%options, now => $::NOW, expected => $expected },
      cookie => ::cookie_header($_), expect => "accept: match\n" }
} $deflated, $plain);



=== TEST 5: remember=true sets a session and a persistent remember cookie; the remember cookie restores the session
--- init
my %options = (secret => $::SECRET, remember => JSON::PP::true);
my $minted = ::step('/save', { options => \%options, now => $::NOW, data => { name => 'John' }, subject => 'john' });
is($minted->{body}, "saved\n", 'mint: saved');
is_deeply([ map { (split /=/)[0] } @{ $minted->{set_cookie} } ], [ 'session', 'remember' ], 'session, then remember');
is($minted->{set_cookie}[1], "remember=$minted->{cookies}{remember}; Path=/; SameSite=Lax; HttpOnly; Expires="
   . ::http_date($::NOW + 604800) . '; Max-Age=604800', 'remember: persistent for remember_rolling_timeout');
::check_minted('session cookie', $minted->{cookies}{session});
::check_minted('remember cookie', $minted->{cookies}{remember});
# remember_rolling_timeout 0 means the longest lifetime browsers keep (400 days), like the peer's
# remember-none vector, whose Set-Cookie has the same clock: the Expires text must be the peer's.
my $peer = $::V{'remember-none'};
my $forever = ::step('/save', { options => { %options, remember_rolling_timeout => 0, remember_absolute_timeout => 0 },
                                now => $peer->{created_at}, data => { n => 1 } });
my ($peer_attributes) = $peer->{set_cookie}[1] =~ /^remember=[^;]*(;.*)$/;
is(($forever->{set_cookie}[1] =~ /^remember=[^;]*(;.*)$/)[0], $peer_attributes, 'remember for 400 days: the peer\'s attributes');
my $expected = { data => { name => 'John' }, audience => 'default', subject => 'john' };
# Restored from the remember cookie: the peer's order, remember first. Max-Age is what is left of the
# remember cookie's rolling window (the whole of it right after a save). (The peer writes
# Expires = creation time + Max-Age on a re-issue, we write now + Max-Age; not asserted here.)
my $both = "remember=$::COOKIE" . quotemeta($::ATTRIBUTES) . '; Expires=[^;]+; Max-Age=604800, '
         . "session=$::COOKIE" . quotemeta($::ATTRIBUTES);
::checks(
    { uri => '/open', body => { options => \%options, now => $::NOW + 10, expected => $expected },
      cookie => ::cookie_header($minted), expect => "accept: match\n" },
    # Session cookie gone (browser closed): the remember cookie brings it back, and both are re-issued.
    { uri => '/open', body => { options => \%options, now => $::NOW + 3600 * 24, expected => $expected },
      cookie => ::cookie_header($minted, 'remember'), expect => "accept: match\n", set_cookie => $both },
    { uri => '/open', body => { options => { secret => $::SECRET }, now => $::NOW + 10 },
      cookie => ::cookie_header($minted, 'remember'), expect => "reject: missing session cookie\n" },
    # Past remember_rolling_timeout (7 days) the remember cookie no longer restores anything.
    { uri => '/open', body => { options => \%options, now => $::NOW + 604801 },
      cookie => ::cookie_header($minted, 'remember'), expect => "reject: missing session cookie\n" },
    { uri => '/destroy', body => { options => \%options, now => $::NOW + 10 }, cookie => ::cookie_header($minted),
      expect => "destroy: ok=true exists=true\n",
      set_cookie => expired_re($::ATTRIBUTES, qw(session remember)) },
);



=== TEST 6: a large session is chunked into session, session2, session3 of at most 4096 bytes each, and reopens
--- init
my %options = (secret => $::SECRET, compression_threshold => 0);
my %data = (blob => join('', map { sprintf '%04d,', $_ } 1 .. 1600));    # 8000 characters
my $minted = ::step('/save', { options => \%options, now => $::NOW, data => \%data });
is($minted->{body}, "saved\n", 'mint: saved');
is_deeply([ map { (split /=/)[0] } @{ $minted->{set_cookie} } ], [ 'session', 'session2', 'session3' ], 'three cookies');
for my $line (@{ $minted->{set_cookie} }) {
    my ($pair, $attributes) = $line =~ /^([^;]*)(;.*)$/;
    cmp_ok(length $pair, '<=', 4096, 'chunk ' . (split /=/, $pair)[0] . ' is at most 4096 bytes');
    is($attributes, '; Path=/; SameSite=Lax; HttpOnly', 'chunk ' . (split /=/, $pair)[0] . ' attributes');
}
# The peer's split: the first cookie holds the header and 4096 - 110 - 8 payload characters, each
# next one 4096 - 9; only the last is short.
is(length("session=$minted->{cookies}{session}"), 4096, 'session is a full 4096-byte cookie');
is(length("session2=$minted->{cookies}{session2}"), 4096, 'session2 is a full 4096-byte cookie');
my $payload = join '', substr($minted->{cookies}{session}, 110), $minted->{cookies}{session2}, $minted->{cookies}{session3};
::check_minted('chunked cookie', $minted->{cookies}{session}, payload => $payload);
is(length $payload, ::b64url_size(length ::json_encode([ [ \%data, 'default' ] ])), 'chunked payload size is that of the plaintext');
my $expected = { data => \%data, audience => 'default', subject => undef };
my $open = { options => \%options, now => $::NOW, expected => $expected };
::checks(
    { uri => '/open', body => $open, cookie => ::cookie_header($minted), expect => "accept: match\n" },
    { uri => '/open', body => $open, cookie => ::cookie_header($minted, qw(session3 session2 session)),
      expect => "accept: match\n" },
    # HTTP/2 style: one Cookie header line per cookie.
    { uri => '/open', body => $open, expect => "accept: match\n",
      headers => join("\n", map { "Cookie: $_=$minted->{cookies}{$_}" } qw(session session2 session3)) },
    { uri => '/open', body => $open, cookie => ::cookie_header($minted, qw(session session3)),
      expect => "reject: missing session cookie chunk\n" },
    { uri => '/open', body => $open, cookie => ::cookie_header($minted, qw(session session2)),
      expect => "reject: missing session cookie chunk\n" },
    # A small session saved over a chunked one: the chunks it no longer needs are expired.
    { uri => '/save', body => { options => \%options, now => $::NOW, data => { n => 1 } },
      cookie => ::cookie_header($minted), expect => "saved\n",
      set_cookie => "session=$::COOKIE" . quotemeta($::ATTRIBUTES) . ', ' . expired_re($::ATTRIBUTES, qw(session2 session3)) },
    { uri => '/destroy', body => { options => \%options, now => $::NOW }, cookie => ::cookie_header($minted),
      expect => "destroy: ok=true exists=true\n",
      set_cookie => expired_re($::ATTRIBUTES, qw(session session2 session3)) },
);



=== TEST 7: replaying the peer's touch of its "touched" vector gives the peer's cookie byte for byte
--- request eval
$::TOUCH_REQUEST
--- more_headers eval
$::TOUCH_COOKIE
--- response_body
started: refreshed=true subject=john@example.com
--- response_headers eval
"Set-Cookie: $::TOUCHED->{set_cookie}[0]"



=== TEST 8: start() touches after touch_threshold (not before) and re-saves after 3/4 of rolling_timeout
--- init
my %options = (secret => $::SECRET);    # idling 900, rolling 3600, absolute 86400, touch 60
my $minted = ::step('/save', { options => \%options, now => $::NOW, data => { n => 1 }, subject => 'alice' });
my $value = $minted->{cookies}{session};
my $cookie = ::cookie_header($minted);
# Touch: same first 63 header bytes (84 characters), new idling offset and MAC, same payload.
my $touched = ::step('/start', { options => \%options, now => $::NOW + 61 }, $cookie);
is($touched->{body}, "started: refreshed=true subject=alice\n", 'start after the touch threshold refreshes');
my $touched_value = $touched->{cookies}{session} // '';
is(substr($touched_value, 0, 84), substr($value, 0, 84), 'touch keeps type, flags, sid, times, size and tag');
is(substr($touched_value, 110), substr($value, 110), 'touch keeps the payload');
::check_minted('touched cookie', $touched_value, idling => 61);
# Re-save (idling disabled so that only rolling counts): new sid, same creation time, rolling offset.
my %rolling = (%options, idling_timeout => 0);
my $rolled = ::step('/start', { options => \%rolling, now => $::NOW + 2701 }, $cookie);
is($rolled->{body}, "started: refreshed=true subject=alice\n", 'start after 3/4 of rolling_timeout refreshes');
my $rolled_value = $rolled->{cookies}{session} // '';
isnt(substr($rolled_value, 4, 43), substr($value, 4, 43), 're-save gets a new sid');
::check_minted('rolled cookie', $rolled_value, rolling => 2701);
my $touched_cookie = ::cookie_header($touched);
my $rolled_cookie = ::cookie_header($rolled);
my $set_touched = 'session=' . quotemeta(substr($value, 0, 84)) . $::COOKIE . quotemeta(substr($value, 110) . $::ATTRIBUTES);
::checks(
    { uri => '/start', body => { options => \%options, now => $::NOW + 60 }, cookie => $cookie,
      expect => "started: refreshed=false subject=alice\n" },
    { uri => '/start', body => { options => \%options, now => $::NOW + 61 }, cookie => $cookie,
      expect => "started: refreshed=true subject=alice\n", set_cookie => $set_touched },
    # Rolling-save threshold: ceil(3600 * 0.75) = 2700 seconds since the last roll.
    { uri => '/start', body => { options => \%rolling, now => $::NOW + 2700 }, cookie => $cookie,
      expect => "started: refreshed=false subject=alice\n" },
    { uri => '/start', body => { options => \%options, now => $::NOW + 901 }, cookie => $cookie,
      expect => "reject: session idling timeout exceeded\n" },
    { uri => '/start', body => { options => \%options, now => $::NOW }, expect => "reject: missing session cookie\n" },
    # The touched cookie idles from the touch on.
    { uri => '/open', body => { options => \%options, now => $::NOW + 61 + 900 }, cookie => $touched_cookie,
      expect => 'accept: {"data":{"n":1},"audience":"default","subject":"alice"}' . "\n" },
    { uri => '/open', body => { options => \%options, now => $::NOW + 61 + 901 }, cookie => $touched_cookie,
      expect => "reject: session idling timeout exceeded\n" },
    # The rolled cookie rolls from the re-save on, but its absolute timeout still counts from creation.
    { uri => '/open', body => { options => \%rolling, now => $::NOW + 2701 + 3600 }, cookie => $rolled_cookie,
      expect => 'accept: {"data":{"n":1},"audience":"default","subject":"alice"}' . "\n" },
    { uri => '/open', body => { options => \%rolling, now => $::NOW + 2701 + 3601 }, cookie => $rolled_cookie,
      expect => "reject: session rolling timeout exceeded\n" },
    { uri => '/open', body => { options => { %rolling, rolling_timeout => 0 }, now => $::NOW + 86401 },
      cookie => $rolled_cookie, expect => "reject: session absolute timeout exceeded\n" },
);



=== TEST 9: a re-save of the peer's "rolled" vector has the peer's header fields (all but sid, tag and MAC)
--- init
my $vector = $::V{rolled};
my $cookie = (split /;/, $vector->{steps}[0]{set_cookie}[0])[0];
my $rolled = ::step('/start', { options => $vector->{opens}[0]{config}, now => $vector->{steps}[1]{now} }, $cookie);
is($rolled->{body}, "started: refreshed=true subject=john\@example.com\n", 'start re-saves');
my $header = ::check_minted('our roll of the peer cookie', $rolled->{cookies}{session} // '',
    secret => $vector->{config}{secret}, creation => $vector->{header}{created_at},
    rolling => $vector->{header}{rolling_offset}, idling => $vector->{header}{idling_offset},
    flags => hex $vector->{header}{flags_hex});
is($header->{data_size}, $vector->{header}{data_size}, 'same data size as the peer\'s rolled cookie') if $header;
::checks(map {
    my $open = $_;
    { uri => '/open', body => { options => $open->{config}, now => $open->{now},
                                $open->{expected} ? (expected => $open->{expected}) : () },
      cookie => ::cookie_header($rolled),
      expect => $open->{expect} eq 'accept' ? "accept: match\n" : "reject: $open->{peer_result}{err}\n" }
} @{ $vector->{opens} });



=== TEST 10: cookies of the peer's vectors are refused once their clock is past a timeout, accepted before
--- request eval
[ map { ::request_body('/open', { options => $_->[1]{config}, now => $_->[1]{now},
                                 $_->[1]{expected} ? (expected => $_->[1]{expected}) : () }) } @::EXPIRY_CASES ]
--- more_headers eval
[ map { "Cookie: session=$_->[0]{cookies}{session}" } @::EXPIRY_CASES ]
--- response_body eval
[ map { $_->[1]{expect} eq 'accept' ? "accept: match\n" : "reject: $_->[1]{peer_result}{err}\n" } @::EXPIRY_CASES ]



=== TEST 11: destroy and logout answer and expire the cookie; without a valid session they do nothing
--- init
my %options = (secret => $::SECRET);
my $minted = ::step('/save', { options => \%options, now => $::NOW, data => { n => 1 } });
my %custom = (secret => $::SECRET, cookie_domain => 'example.org', cookie_secure => JSON::PP::true, cookie_same_site => 'Strict');
my $custom = ::step('/save', { options => \%custom, now => $::NOW, data => { n => 1 } });
like($custom->{set_cookie}[0], qr/; Domain=example\.org; Path=\/; SameSite=Strict; Secure; HttpOnly$/, 'custom attributes');
::check_minted('default cookie', $minted->{cookies}{session});
my $expired = expired_re($::ATTRIBUTES, 'session');
::checks(
    { uri => '/destroy', body => { options => \%options, now => $::NOW + 1 }, cookie => ::cookie_header($minted),
      expect => "destroy: ok=true exists=true\n", set_cookie => $expired },
    { uri => '/logout', body => { options => \%options, now => $::NOW + 1 }, cookie => ::cookie_header($minted),
      expect => "logout: ok=true exists=true\n", set_cookie => $expired },
    { uri => '/destroy', body => { options => \%custom, now => $::NOW + 1 }, cookie => ::cookie_header($custom),
      expect => "destroy: ok=true exists=true\n",
      set_cookie => expired_re('; Domain=example.org; Path=/; SameSite=Strict; Secure; HttpOnly', 'session') },
    { uri => '/destroy', body => { options => \%options, now => $::NOW + 1 },
      expect => "destroy: ok=false exists=false error=missing session cookie\n" },
    { uri => '/logout', body => { options => \%options, now => $::NOW + 1 },
      expect => "logout: ok=false exists=false error=missing session cookie\n" },
    { uri => '/logout', body => { options => { secret => 'another-secret' }, now => $::NOW + 1 },
      cookie => ::cookie_header($minted),
      expect => "logout: ok=false exists=false error=invalid session message authentication code\n" },
    { uri => '/destroy', body => { options => \%options, now => $::NOW + 901 }, cookie => ::cookie_header($minted),
      expect => "destroy: ok=false exists=false error=session idling timeout exceeded\n" },
);



=== TEST 12: logging out of one audience of a two-audience cookie keeps the other
--- init
my $vector = $::V{'two-audiences'};
my %a = %{ $vector->{opens}[0]{config} };    # audience app-a
my %b = %{ $vector->{opens}[1]{config} };    # audience app-b
my $now = $vector->{created_at} + 100;
my $out = ::step('/logout', { options => \%a, now => $now }, "session=$vector->{cookies}{session}");
is($out->{body}, "logout: ok=true exists=true\n", 'logout of app-a');
is(scalar @{ $out->{set_cookie} }, 1, 'one Set-Cookie');
like($out->{set_cookie}[0], qr/^session=$::COOKIE; Path=\/; SameSite=Lax; HttpOnly$/, 'a live session cookie, not an expired one');
# A new cookie (new sid) that keeps the creation time and counts the rolling offset from it.
::check_minted('cookie after logout', $out->{cookies}{session} // '', secret => $vector->{config}{secret},
               creation => $vector->{created_at}, rolling => 100);
my $cookie = ::cookie_header($out);
::checks(
    { uri => '/open', body => { options => \%b, now => $now, expected => $vector->{opens}[1]{expected} },
      cookie => $cookie, expect => "accept: match\n" },
    { uri => '/open', body => { options => \%a, now => $now }, cookie => $cookie,
      expect => "reject: missing session audience\n" },
    # The last audience out destroys the session.
    { uri => '/logout', body => { options => \%b, now => $now }, cookie => $cookie,
      expect => "logout: ok=true exists=true\n", set_cookie => expired_re($::ATTRIBUTES, 'session') },
    # The original cookie still holds both audiences.
    { uri => '/open', body => { options => \%a, now => $now, expected => $vector->{opens}[0]{expected} },
      cookie => "session=$vector->{cookies}{session}", expect => "accept: match\n" },
);
