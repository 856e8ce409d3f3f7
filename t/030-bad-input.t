# Hostile and broken cookies inside a real nginx, under the engine selected by TEST_NGINX_JS_ENGINE. For
# every class the harness answers 200 "reject: <stable reason>" (never a 500), error.log has the reason
# on an [info] line, and error.log has no [warn]/[error]/[crit]/[alert]/[emerg] line, no js exception,
# and neither the secret nor any part of the cookies sent.
#
# The cookies are built here in Perl from the lua-resty-session 4.1.5 vectors: base64url-decoded,
# mutated, re-encoded without padding. Some mutations are re-signed (MAC recomputed in Perl with the
# vector's secret, HKDF-SHA256 as the peer does) to reach the checks that come after the MAC.
#
# Each block names its cookie with `--- case: NAME` (the %CASES table below) and states the expected
# answer in `--- response_body`; the preprocessor fills in the rest (request, Cookie header, log
# checks). Every block runs its own nginx, so the log checks see only that case's lines.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use SessionTest;
use CookieFormat;
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::SHA qw(sha256 hmac_sha256);

our %V = map { $_->{id} => $_ } load_vectors();

# Little-endian field writes into the 82-byte header.
sub put_uint {
    my ($bytes, $offset, $size, $value) = @_;
    for my $i (0 .. $size - 1) {
        substr($$bytes, $offset + $i, 1) = chr($value % 256);
        $value = int($value / 256);
    }
}

# The "simple" vector: cookie storage, every timeout disabled, small payload.
our $SIMPLE = $V{simple};
our $SECRET = $SIMPLE->{config}{secret};
our $VALUE = $SIMPLE->{cookies}{session};
our $HEADER = b64url_decode(substr($VALUE, 0, 110));
our $PAYLOAD = substr($VALUE, 110);
die "the simple vector's header does not decode to 82 bytes\n" unless length($HEADER) == 82;

# A copy of the simple cookie with its header bytes changed by $mutate->(\$bytes); with $resign, the
# MAC is recomputed afterwards (so only the checks after the MAC can refuse it).
sub mutated {
    my ($mutate, $resign, $payload) = @_;
    my $bytes = $HEADER;
    $mutate->(\$bytes);
    if ($resign) {
        my $key = hkdf(sha256($SECRET), 'authentication:' . substr($bytes, 3, 32), 32);
        substr($bytes, 66, 16) = substr(hmac_sha256(substr($bytes, 0, 66), $key), 0, 16);
    }
    return b64url_encode($bytes) . ($payload // $PAYLOAD);
}

sub flip_bit {
    my ($offset, $bit) = @_;
    return sub { my $bytes = shift; substr($$bytes, $offset, 1) = chr(ord(substr($$bytes, $offset, 1)) ^ (1 << ($bit // 0))) };
}

sub set_field { my @field = @_; return sub { put_uint(shift, @field) } }

sub flipped_payload {
    my $raw = b64url_decode($PAYLOAD);
    substr($raw, 5, 1) = chr(ord(substr($raw, 5, 1)) ^ 0x01);
    return b64url_encode($raw);
}

# Unrelated cookies: n of them, "c<i>=<value>" with values of the given size.
sub filler {
    my ($count, $size) = @_;
    return map { sprintf('c%d=%s', $_, substr(('v' . $_ x $size), 0, $size)) } 1 .. $count;
}

our $simple = { options => $SIMPLE->{opens}[0]{config} };
our $expect_simple = { %$simple, expected => $SIMPLE->{opens}[0]{expected} };
my $chunks = $V{'chunks-3'};
my $filler_64k = join '; ', filler(1000, 60);    # ~ 66 KB
die "the filler is not 64 KiB\n" unless length($filler_64k) >= 65536;

# name => { cookie => Cookie header value, body => harness request body (default: open with the
# simple vector's config, no clock) }
our %CASES = (
    'base64-bang'        => { cookie => 'session=' . substr($VALUE, 0, 20) . '!' . substr($VALUE, 21) },
    'base64-std-alphabet' => { cookie => 'session=' . substr($VALUE, 0, 20) . '+' . substr($VALUE, 21, 20) . '/' . substr($VALUE, 42) },
    'base64-padding'     => { cookie => 'session=' . substr($VALUE, 0, 108) . '==' . substr($VALUE, 110) },
    'base64-non-ascii'   => { cookie => "session=" . substr($VALUE, 0, 30) . "\xc3\xa9" . substr($VALUE, 32) },
    'quoted'             => { cookie => qq{session="$VALUE"} },
    'header-109'         => { cookie => 'session=' . substr($VALUE, 0, 109) },
    'empty-value'        => { cookie => 'session=' },
    'type-0'             => { cookie => 'session=' . mutated(set_field(0, 1, 0)) },
    'type-2'             => { cookie => 'session=' . mutated(set_field(0, 1, 2)) },
    'flag-0x0004'        => { cookie => 'session=' . mutated(flip_bit(1, 2)) },
    'flag-0x8000'        => { cookie => 'session=' . mutated(flip_bit(2, 7)) },
    'flag-storage'       => { cookie => 'session=' . mutated(flip_bit(1, 0), 1) },
    'flip-flags-deflate' => { cookie => 'session=' . mutated(flip_bit(1, 4)) },
    'flip-sid'           => { cookie => 'session=' . mutated(flip_bit(3)) },
    'flip-sid-last'      => { cookie => 'session=' . mutated(flip_bit(34, 7)) },
    'flip-creation-time' => { cookie => 'session=' . mutated(flip_bit(35)) },
    'flip-rolling-offset' => { cookie => 'session=' . mutated(flip_bit(40)) },
    'flip-data-size'     => { cookie => 'session=' . mutated(flip_bit(44)) },
    'flip-tag'           => { cookie => 'session=' . mutated(flip_bit(50, 3)) },
    'flip-idling-offset' => { cookie => 'session=' . mutated(flip_bit(63)) },
    'flip-mac'           => { cookie => 'session=' . mutated(flip_bit(81, 7)) },
    'flip-payload'       => { cookie => 'session=' . substr($VALUE, 0, 110) . flipped_payload() },
    'truncated-payload'  => { cookie => 'session=' . substr($VALUE, 0, -1) },
    'extra-payload'      => { cookie => "session=${VALUE}AAAA" },
    'wrong-secret'       => { cookie => "session=$VALUE",
                              body => { options => { %{ $simple->{options} }, secret => 'not-the-secret' } } },
    'idle-expired'       => { cookie => "session=$V{'default-timeouts'}{cookies}{session}",
                              body => { options => $V{'default-timeouts'}{config}, now => $V{'default-timeouts'}{created_at} + 901 } },
    'rolling-expired'    => { cookie => "session=$V{'rolling-timeout'}{cookies}{session}",
                              body => { options => $V{'rolling-timeout'}{config}, now => $V{'rolling-timeout'}{created_at} + 3601 } },
    'absolute-expired'   => { cookie => "session=$V{'absolute-timeout'}{cookies}{session}",
                              body => { options => $V{'absolute-timeout'}{config}, now => $V{'absolute-timeout'}{created_at} + 86401 } },
    # Absurd field values, as sent (the MAC then refuses them) ...
    'absurd-creation-future' => { cookie => 'session=' . mutated(set_field(35, 5, 2**40 - 1)) },
    'absurd-rolling-offset' => { cookie => 'session=' . mutated(set_field(40, 4, 2**32 - 1)) },
    'absurd-data-size'   => { cookie => 'session=' . mutated(set_field(44, 3, 2**24 - 1)) },
    'absurd-idling-offset' => { cookie => 'session=' . mutated(set_field(63, 3, 2**24 - 1)) },
    # ... refused before the MAC by the clock checks ...
    'creation-zero-absolute' => { cookie => 'session=' . mutated(set_field(35, 5, 0)),
                                  body => { options => $V{'default-timeouts'}{config}, now => $SIMPLE->{created_at} } },
    'creation-zero-lifetime' => { cookie => 'session=' . mutated(set_field(35, 5, 0)),
                                  body => { options => $simple->{options}, now => 2**32 } },
    # ... or re-signed, for the checks after the MAC.
    'resigned-data-size-huge' => { cookie => 'session=' . mutated(set_field(44, 3, 2**24 - 1), 1) },
    'resigned-data-size-plus-one' => { cookie => 'session=' . mutated(set_field(44, 3, length($PAYLOAD) + 1), 1) },
    'resigned-data-size-zero' => { cookie => 'session=' . mutated(set_field(44, 3, 0), 1) },
    'resigned-data-size-two-chunks' => { cookie => 'session=' . mutated(set_field(44, 3, 5000), 1) },
    'resigned-rolling-offset' => { cookie => 'session=' . mutated(set_field(40, 4, 2**32 - 1), 1) },
    'resigned-creation-future' => { cookie => 'session=' . mutated(set_field(35, 5, 2**40 - 1), 1) },
    'resigned-tag'       => { cookie => 'session=' . mutated(flip_bit(47), 1) },
    'chunk-missing-2'    => { cookie => "session=$chunks->{cookies}{session}; session3=$chunks->{cookies}{session3}",
                              body => { options => $chunks->{config} } },
    'chunk-missing-3'    => { cookie => "session=$chunks->{cookies}{session}; session2=$chunks->{cookies}{session2}",
                              body => { options => $chunks->{config} } },
    'chunks-swapped'     => { cookie => "session=$chunks->{cookies}{session}; session2=$chunks->{cookies}{session3}; "
                                        . "session3=$chunks->{cookies}{session2}",
                              body => { options => $chunks->{config} } },
    'duplicate-first-bad' => { cookie => "session=AAAA; session=$VALUE" },
    '300-cookies'        => { cookie => join('; ', filler(150, 20), "session=$VALUE", filler(150, 20)), body => $expect_simple },
    '300-cookies-no-session' => { cookie => join('; ', filler(300, 20)) },
    '64k-session-value'  => { cookie => 'session=' . ('A' x 65536) },
    '64k-payload'        => { cookie => 'session=' . substr($VALUE, 0, 110) . ('A' x 65536) },
    '64k-other-cookies'  => { cookie => $filler_64k },
    '64k-other-cookies-and-session' => { cookie => "$filler_64k; session=$VALUE", body => $expect_simple },
);

# Parts of a Cookie header that must never be logged: 16-character slices of its cookie values (of the
# header part and of the payload part of a session cookie).
sub cookie_slices {
    my $header = shift;
    my (@slices, %seen);
    for my $pair (split /;\s*/, $header) {
        my ($name, $value) = split /=/, $pair, 2;
        next unless defined $value && length($value) >= 16;
        my @starts = length($value) >= 140 ? (20, length($value) - 20) : length($value) >= 60 ? (20) : (0);
        push @slices, grep { !$seen{$_}++ } map { substr($value, $_, 16) } @starts;
    }
    splice @slices, 8 if @slices > 8;    # the fillers look alike; a few of them are enough
    return @slices;
}

add_block_preprocessor(sub {
    my $block = shift;
    my $name = $block->case // return;
    my $case = $CASES{$name} // die "unknown case '$name'\n";
    $block->set_value('config', "    location = /open { js_content harness.openCase; }\n");
    $block->set_value('request', request_body('/open', $case->{body} // $simple));
    $block->set_value('more_headers', "Cookie: $case->{cookie}");
    $block->set_value('error_code', 200);
    $block->set_value('log_level', 'info');
    my ($reason) = $block->response_body =~ /^reject: (.*)\n\z/;
    # "missing session cookie" is the normal state of an anonymous request: not logged.
    if (defined $reason && $reason ne 'missing session cookie') {
        $block->set_value('error_log', [ qr/\[info\] .*\[session\] no session for cookie "session": \Q$reason\E(?:,|$)/ ]);
    }
    $block->set_value('no_error_log', [
        '[warn]', '[error]', '[crit]', '[alert]', '[emerg]', 'exception', $SECRET, 'not-the-secret',
        # Accepted, or "missing session cookie" (an anonymous request, not worth a line): nothing logged.
        !defined $reason || $reason eq 'missing session cookie' ? qr/no session for cookie/ : (),
        cookie_slices($case->{cookie}),
    ]);
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the untouched vector cookie opens (the baseline every mutation starts from)
--- request eval
::request_body('/open', $::expect_simple)
--- more_headers eval
"Cookie: session=$::VALUE"
--- config
    location = /open { js_content harness.openCase; }
--- response_body
accept: match
--- log_level: info
--- no_error_log
[warn]
[error]
[crit]
[alert]
[emerg]
exception
no session for cookie



=== TEST 2: malformed base64url in the header: "!"
--- case: base64-bang
--- response_body
reject: unable to base64url decode session header



=== TEST 3: malformed base64url in the header: the standard alphabet's "+" and "/"
--- case: base64-std-alphabet
--- response_body
reject: unable to base64url decode session header



=== TEST 4: malformed base64url in the header: "=" padding
--- case: base64-padding
--- response_body
reject: unable to base64url decode session header



=== TEST 5: malformed base64url in the header: a non-ASCII character
--- case: base64-non-ascii
--- response_body
reject: unable to base64url decode session header



=== TEST 6: a quoted cookie value
--- case: quoted
--- response_body
reject: unable to base64url decode session header



=== TEST 7: a header shorter than 110 characters
--- case: header-109
--- response_body
reject: invalid session header



=== TEST 8: an empty cookie value
--- case: empty-value
--- response_body
reject: invalid session header



=== TEST 9: cookie type 0
--- case: type-0
--- response_body
reject: invalid session cookie type



=== TEST 10: cookie type 2
--- case: type-2
--- response_body
reject: invalid session cookie type



=== TEST 11: unknown flag bit 0x0004
--- case: flag-0x0004
--- response_body
reject: invalid session flags



=== TEST 12: unknown flag bit 0x8000
--- case: flag-0x8000
--- response_body
reject: invalid session flags



=== TEST 13: the storage flag on a cookie-storage session (re-signed)
--- case: flag-storage
--- response_body
reject: invalid session flags



=== TEST 14: flipped bit: the deflate flag
--- case: flip-flags-deflate
--- response_body
reject: invalid session message authentication code



=== TEST 15: flipped bit: session id, first byte
--- case: flip-sid
--- response_body
reject: invalid session message authentication code



=== TEST 16: flipped bit: session id, last byte
--- case: flip-sid-last
--- response_body
reject: invalid session message authentication code



=== TEST 17: flipped bit: creation time
--- case: flip-creation-time
--- response_body
reject: invalid session message authentication code



=== TEST 18: flipped bit: rolling offset
--- case: flip-rolling-offset
--- response_body
reject: invalid session message authentication code



=== TEST 19: flipped bit: data size
--- case: flip-data-size
--- response_body
reject: invalid session message authentication code



=== TEST 20: flipped bit: tag
--- case: flip-tag
--- response_body
reject: invalid session message authentication code



=== TEST 21: flipped bit: idling offset
--- case: flip-idling-offset
--- response_body
reject: invalid session message authentication code



=== TEST 22: flipped bit: MAC
--- case: flip-mac
--- response_body
reject: invalid session message authentication code



=== TEST 23: flipped bit in the payload
--- case: flip-payload
--- response_body
reject: unable to decrypt session data



=== TEST 24: payload one character short
--- case: truncated-payload
--- response_body
reject: invalid session payload



=== TEST 25: payload with extra characters
--- case: extra-payload
--- response_body
reject: invalid session payload



=== TEST 26: wrong secret
--- case: wrong-secret
--- response_body
reject: invalid session message authentication code



=== TEST 27: expired: idling timeout (fixed clock)
--- case: idle-expired
--- response_body
reject: session idling timeout exceeded



=== TEST 28: expired: rolling timeout (fixed clock)
--- case: rolling-expired
--- response_body
reject: session rolling timeout exceeded



=== TEST 29: expired: absolute timeout (fixed clock)
--- case: absolute-expired
--- response_body
reject: session absolute timeout exceeded



=== TEST 30: absurd creation time (2^40 - 1, in the future)
--- case: absurd-creation-future
--- response_body
reject: invalid session message authentication code



=== TEST 31: absurd rolling offset (2^32 - 1)
--- case: absurd-rolling-offset
--- response_body
reject: invalid session message authentication code



=== TEST 32: absurd data size (2^24 - 1)
--- case: absurd-data-size
--- response_body
reject: invalid session message authentication code



=== TEST 33: absurd idling offset (2^24 - 1)
--- case: absurd-idling-offset
--- response_body
reject: invalid session message authentication code



=== TEST 34: creation time 0 with the default absolute timeout
--- case: creation-zero-absolute
--- response_body
reject: session absolute timeout exceeded



=== TEST 35: creation time 0, timeouts disabled, clock past 2^32 seconds: beyond any rolling offset
--- case: creation-zero-lifetime
--- response_body
reject: session lifetime exceeded



=== TEST 36: re-signed absurd data size (2^24 - 1): more than nine cookies could hold
--- case: resigned-data-size-huge
--- response_body
reject: cookie size limit exceeded



=== TEST 37: re-signed data size one more than the payload
--- case: resigned-data-size-plus-one
--- response_body
reject: invalid session payload



=== TEST 38: re-signed data size 0
--- case: resigned-data-size-zero
--- response_body
reject: invalid session payload



=== TEST 39: re-signed data size that needs two cookies, one sent
--- case: resigned-data-size-two-chunks
--- response_body
reject: missing session cookie chunk



=== TEST 40: re-signed absurd rolling offset: authenticated by AES-GCM too
--- case: resigned-rolling-offset
--- response_body
reject: unable to decrypt session data



=== TEST 41: re-signed absurd creation time: authenticated by AES-GCM too
--- case: resigned-creation-future
--- response_body
reject: unable to decrypt session data



=== TEST 42: re-signed flipped tag
--- case: resigned-tag
--- response_body
reject: unable to decrypt session data



=== TEST 43: missing chunk: session2 of three
--- case: chunk-missing-2
--- response_body
reject: missing session cookie chunk



=== TEST 44: missing chunk: session3 of three
--- case: chunk-missing-3
--- response_body
reject: missing session cookie chunk



=== TEST 45: chunks swapped
--- case: chunks-swapped
--- response_body
reject: unable to decrypt session data



=== TEST 46: two session cookies: the first one counts
--- case: duplicate-first-bad
--- response_body
reject: invalid session header



=== TEST 47: 300 unrelated cookies around a valid session: it still opens
--- case: 300-cookies
--- response_body
accept: match



=== TEST 48: 300 unrelated cookies, no session
--- case: 300-cookies-no-session
--- response_body
reject: missing session cookie



=== TEST 49: a 64 KiB session cookie value
--- case: 64k-session-value
--- response_body
reject: invalid session cookie type



=== TEST 50: a valid header followed by a 64 KiB payload
--- case: 64k-payload
--- response_body
reject: invalid session payload



=== TEST 51: a 64 KiB Cookie header of other cookies
--- case: 64k-other-cookies
--- response_body
reject: missing session cookie



=== TEST 52: a 64 KiB Cookie header of other cookies, then a valid session: it still opens
--- case: 64k-other-cookies-and-session
--- response_body
accept: match
