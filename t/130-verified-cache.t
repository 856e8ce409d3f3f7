# The verified-session cache (src/core/verified-cache.ts) and the fast check in front of it
# (src/core/fast-check.ts) inside a real nginx, under the engine selected by TEST_NGINX_JS_ENGINE. A
# cookie value that was fully verified once skips the MAC and the decryption on its next requests:
# under QuickJS from worker memory, then from the njs_session_cache zone that nginx/njs-session.conf
# declares (the only cache of the njs engine). Nothing else may be skipped, so each block lets a
# session be accepted twice in a row (the second time from the cache; the cookie value is then a key of
# njs_session_cache) and then changes one thing the cache must not hide:
#
#   1. revocation through the admin API (js_access and auth_request)      TEST 1, TEST 2 (two workers)
#   2. idling and absolute timeouts; a touch that falls due goes to the full path   TEST 3, TEST 4
#   3. a bound User-Agent that differs                                      TEST 5
#   4. the server-side record deleted (shm storage, logout)                 TEST 6
#   5. key rotation: the secret replaced by a reload (the zone outlives it), and a cookie of a
#      fallback secret re-issued on every request rather than served from the cache   TEST 7, TEST 8
#   6. tampering with a cached cookie's MAC or payload                      TEST 9
#   7. a cached value under another spelling of the cookie name (SESSION=)  TEST 10
#
# Every refusal is the configured 401 with the full path's [info] reason, never a 500, and no block
# logs anything above info. The unit tests (test/unit/verified-cache.test.ts) cover the same on Node.
#
# Set-up and helpers: t/lib/EntryTest.pm; the registry and admin API as in t/120-registry.t, shm
# storage as in t/100-shm-storage.t.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use CookieFormat;
use Time::HiRes ();

our $SECRET = 'verified-cache-secret-7d41c9e2';       # env ACCESS_SECRET; the harness's default
our $NEW_SECRET = 'verified-cache-rotated-2f8a6051';  # env NEW_SECRET: the secret rotated to

EntryTest::setup(secret => $SECRET, either_mode => 1, hidden => [$NEW_SECRET], locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        add_header X-Worker $pid always;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /auth/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location = /admin { js_content session.admin; }
    location = /logout { js_content session.logoutHandler; }
    location = /_probe { js_content probe.keys; }
_EOC_

# The zone probe for every block, and `--- nginx_workers: N` where a block needs several workers.
EntryTest::zone_probe_and_workers();

# The harness does not read session.json: its options must repeat the block's.
our %REGISTRY = (registry_zone => 'sessions', store_metadata => JSON::PP::true);
our %SHM = (storage => 'shm', shm => { zone => 'sessions' });

sub get {
    my ($uri, $value, %headers) = @_;
    return http('GET', $uri, { Cookie => "session=$value", %headers });
}

# The keys of a zone (t/js/registry-probe.js); those of njs_session_cache are the cached cookie values.
sub zone_keys { return [ split /\n/, http('GET', "/_probe?zone=$_[0]")->{content} ] }
sub cached { my ($value) = @_; return scalar grep { $_ eq $value } @{ zone_keys('njs_session_cache') } }

# The session cookie value at $uri: accepted twice in a row (the subject reaches the upstream, no
# cookie is re-issued), and then a key of the verified-session cache zone.
sub accepted_twice {
    my ($name, $uri, $value, $subject, %headers) = @_;
    for my $round (1, 2) {
        my $res = get($uri, $value, %headers);
        is($res->{status}, 200, "$name, request $round: 200");
        like($res->{content}, qr/\nx-subject: \Q$subject\E\n/, "$name, request $round: the subject reaches the upstream");
        is_deeply(live_cookies(@{ $res->{set_cookie} }), {}, "$name, request $round: no cookie re-issued");
    }
    ok(cached($value), "$name: the cookie is in the verified-session cache");
}

# EntryTest::refused at any URI, with request headers of our own: 401, the [info] line with the
# reason, nothing worse than info, neither the cookie nor a secret in the log.
sub refused_at {
    my ($name, $uri, $value, $reason, %headers) = @_;
    my ($res, $log) = logged('GET', $uri, { Cookie => "session=$value", %headers });
    is($res->{status}, 401, "$name: 401");
    like($log, qr/\[info\] .*\[session\] no session for cookie "session": $reason/, "$name: [info] $reason");
    unlike($log, qr/\[(?:warn|error|crit|alert|emerg)\]/, "$name: nothing worse than info");
    unlike($log, qr/\Q$value\E|\Q$main::SECRET\E|\Q$main::NEW_SECRET\E/, "$name: neither the cookie nor a secret logged");
}

# The admin API: status and decoded JSON body.
sub admin {
    my ($method, $query) = @_;
    my $res = http($method, "/admin$query");
    return ($res, eval { $EntryTest::JSON->decode($res->{content}) });
}

# The registry id (creation second) of a subject's only session.
sub only_id {
    my ($subject) = @_;
    my ($res, $list) = admin('GET', "?subject=$subject");
    is(scalar @{ $list->{sessions} // [] }, 1, "$subject: one session listed");
    return $list->{sessions}[0]{id} // '';
}

# EntryTest::mint with request headers of our own (a User-Agent for bind): the session cookie's value.
sub mint_value {
    my ($headers, %args) = @_;
    my $body = { options => { secret => $main::SECRET, %{ delete $args{options} // {} } }, %args };
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json', %$headers }, $EntryTest::JSON->encode($body));
    is($res->{content}, "saved\n", 'mint: saved');
    return cookie_value($res->{set_cookie}, 'session');
}

sub master_pid {
    open my $in, '<', $Test::Nginx::Util::PidFile or return undef;
    my $pid = <$in>;
    chomp $pid if defined $pid;
    return $pid;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: revocation: a cached session is refused at the very next request after DELETE, through js_access and auth_request
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}
--- init
my $alice = main::mint_value({}, subject => 'alice', options => { %main::REGISTRY });
my $bob = main::mint_value({}, subject => 'bob', options => { %main::REGISTRY });
for my $uri ('/app/x', '/auth/x') {
    main::accepted_twice("alice at $uri", $uri, $alice, 'alice');
    main::accepted_twice("bob at $uri", $uri, $bob, 'bob');
}
my ($res, $revoked) = main::admin('DELETE', '?subject=alice&id=' . main::only_id('alice'));
is($res->{status}, 200, 'DELETE alice: 200');
is(scalar @{ $revoked->{revoked} // [] }, 1, 'DELETE alice: one session revoked');
ok(main::cached($alice), "alice's cookie is still in the cache zone");
main::refused_at('alice at /app/ right after the revocation', '/app/x', $alice, 'session revoked');
main::refused_at('alice at /auth/ right after the revocation', '/auth/x', $alice, 'session revoked');
main::refused_at('alice at /app/ again', '/app/y', $alice, 'session revoked');
main::accepted_twice("bob at $_ after alice's revocation", $_, $bob, 'bob') for '/app/z', '/auth/z';
use_cookie("session=$alice");
--- request
GET /auth/last
--- error_code: 401



=== TEST 2: revocation with two workers: both served the session from their caches, both refuse it after DELETE
Under QuickJS each worker has a cache of its own in memory; the revocation list is in the shared zone.
Connections are fresh (http() does not keep them alive); which worker takes one is the kernel's choice.
--- nginx_workers: 2
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}
--- init
my $alice = main::mint_value({}, subject => 'alice', options => { %main::REGISTRY });
# Requests until each of two workers answered $status at least $times times; any other status counts.
my $spread = sub {
    my ($status, $times) = @_;
    my (%seen, %other);
    for my $i (1 .. 400) {
        my $res = main::get("/app/$i", $alice);
        my $pid = $res->{headers}{'x-worker'} // '?';
        if ($res->{status} == $status) { $seen{$pid}++ } else { $other{"$res->{status} from $pid"}++ }
        last if keys %seen >= 2 && !grep { $_ < $times } values %seen;
    }
    return (\%seen, \%other);
};
my ($seen, $other) = $spread->(200, 2);
is(scalar(grep { $_ >= 2 } values %$seen), 2, 'before: two workers answered 200 at least twice each') or diag(Test::More::explain($seen));
is_deeply($other, {}, 'before: nothing but 200');
ok(main::cached($alice), 'the cookie is in the cache zone');
my ($res) = main::admin('DELETE', '?subject=alice&id=' . main::only_id('alice'));
is($res->{status}, 200, 'DELETE alice: 200');
($seen, $other) = $spread->(401, 1);
is(scalar keys %$seen, 2, 'after: two workers answered 401') or diag(Test::More::explain($seen));
is_deeply($other, {}, 'after: nothing but 401, in any worker');
use_cookie("session=$alice");
--- request
GET /app/last
--- error_code: 401



=== TEST 3: timeouts: a cached session past its idling or absolute timeout is refused, its cache entry still there
The timeouts are the locations' ($session_config_*): 1 s each. The default touch_threshold (60 s) is
longer, so until the timeout the check has nothing to re-issue and the cache may answer. Each cookie is
first verified at /app/ (default timeouts): its zone entry then lives as long as the session does
there, well past the 1 s ones, so the cache still holds it when the timeouts run out (verified at a
1 s location first, the zone entry would expire with that session and the cache would not be asked).
--- config
    location /idle/ {
        set $session_config_idling_timeout 1;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /absolute/ {
        set $session_config_absolute_timeout 1;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $idle = main::mint_value({}, subject => 'idle');
my $absolute = main::mint_value({}, subject => 'absolute');
my $minted = Time::HiRes::time();
main::accepted_twice("the $_->[1] cookie at /app/ (default timeouts)", '/app/x', $_->[0], $_->[1]) for [$idle, 'idle'], [$absolute, 'absolute'];
main::accepted_twice('idling timeout 1 s, at once', '/idle/x', $idle, 'idle');
main::accepted_twice('absolute timeout 1 s, at once', '/absolute/x', $absolute, 'absolute');
main::sleep_past($minted, 2);
ok(main::cached($idle) && main::cached($absolute), '2 s later: both cookies still in the cache zone');
main::refused_at('idling timeout 1 s, 2 s later', '/idle/x', $idle, 'session idling timeout exceeded');
main::refused_at('absolute timeout 1 s, 2 s later', '/absolute/x', $absolute, 'session absolute timeout exceeded');
main::refused_at('idling timeout 1 s, once more', '/idle/y', $idle, 'session idling timeout exceeded');
main::refused_at('absolute timeout 1 s, once more', '/absolute/y', $absolute, 'session absolute timeout exceeded');
# Still accepted where the timeouts are the defaults: the refusals were the locations' timeouts.
is(main::get('/app/x', $idle)->{status}, 200, 'the idle cookie at /app/ (default timeouts): 200');
is(main::get('/app/x', $absolute)->{status}, 200, 'the absolute cookie at /app/ (default timeouts): 200');
use_cookie("session=$absolute");
--- request
GET /absolute/last
--- error_code: 401



=== TEST 4: a touch that falls due is done: the cached cookie is re-issued, not served silently
touch_threshold 1: within a second of its last touch the session is served as is (from the cache the
second time); two seconds later the check must touch it (the touch check, src/core/touch-check.ts, or
the full path: a new cookie, same session), and the touched cookie is then served from the cache in turn.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "touch_threshold": 1}
--- init
my $value = main::mint_value({}, subject => 'alice');
my $minted = Time::HiRes::time();
main::accepted_twice('within the touch threshold', '/app/x', $value, 'alice');
main::sleep_past($minted, 2);
my $res = main::get('/app/x', $value);
is($res->{status}, 200, 'past the touch threshold: 200');
my $touched = live_cookies(@{ $res->{set_cookie} })->{session};
ok(defined $touched && $touched ne $value, 'past the touch threshold: the cookie is re-issued');
is(sid_of($touched), sid_of($value), 'a touch: the same session id');
$res = main::get('/app/y', $value);
is($res->{status}, 200, 'the old cookie once more: 200');
ok(defined live_cookies(@{ $res->{set_cookie} })->{session}, 'the old cookie once more: re-issued again, not served from the cache');
main::accepted_twice('the touched cookie', '/app/z', $touched, 'alice');
use_cookie("session=$touched");
--- request
GET /app/last
--- error_code: 200
--- response_body_like: \nx-subject: alice\n$



=== TEST 5: bind user_agent: cached with one User-Agent, the same cookie with another is refused, with the first again accepted
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "bind": ["user_agent"]}
--- init
my %laptop = ('User-Agent' => 'Laptop/1.0');
my %other = ('User-Agent' => 'Thief/6.6');
my $value = main::mint_value(\%laptop, subject => 'alice', options => { bind => ['user_agent'] });
my $header = b64url_decode(substr($value, 0, 110));
ok(unpack('v', substr($header, 1, 2)) & 0x0400, 'the cookie is bound to the user agent (flag 0x0400)');
main::accepted_twice('the laptop', '/app/x', $value, 'alice', %laptop);
main::refused_at('another User-Agent at /app/', '/app/x', $value, 'invalid session message authentication code', %other);
main::refused_at('another User-Agent at /auth/', '/auth/x', $value, 'invalid session message authentication code', %other);
main::accepted_twice('the laptop again', '/app/y', $value, 'alice', %laptop);
main::refused_at('another User-Agent after that', '/app/z', $value, 'invalid session message authentication code', %other);
use_cookie("session=$value", 'User-Agent: Thief/6.6');
--- request
GET /app/last
--- error_code: 401



=== TEST 6: shm storage: a cached session whose record is deleted (logout) is refused
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my $value = main::mint_value({}, subject => 'alice', options => { %main::SHM });
my $bob = main::mint_value({}, subject => 'bob', options => { %main::SHM });
my $record = 'session:' . b64url_encode(sid_of($value));
ok((grep { $_ eq $record } @{ main::zone_keys('sessions') }), 'the record is in the zone');
main::accepted_twice('shm session', '/app/x', $value, 'alice');
main::accepted_twice('shm session at /auth/', '/auth/x', $value, 'alice');
my $res = http('POST', '/logout', { Cookie => "session=$value", 'X-CSRF-Token' => csrf_token($value, subject => 'alice') });
is($res->{status}, 204, 'logout: 204');
ok(!(grep { $_ eq $record } @{ main::zone_keys('sessions') }), 'logout deleted the record');
ok(main::cached($value), 'the cookie is still in the cache zone');
main::refused_at('the same cookie after the logout', '/app/x', $value, 'unable to load session');
main::refused_at('the same cookie at /auth/', '/auth/x', $value, 'unable to load session');
main::accepted_twice("bob's session", '/app/y', $bob, 'bob');
use_cookie("session=$value");
--- request
GET /app/last
--- error_code: 401



=== TEST 7: key rotation by reload: the secret replaced, a cookie of the old one is refused though its cache entry outlives the reload
The verified-cache zone survives a reload (QuickJS's worker memory does not): the entry is there, but
it names the old key.
--- nginx_workers: 1
--- main_config eval
EntryTest::main_config(ACCESS_SECRET => $::SECRET, NEW_SECRET => $::NEW_SECRET)
--- init
my $old = main::mint_value({}, subject => 'alice');
main::accepted_twice('before the rotation', '/app/x', $old, 'alice');
my $before = main::get('/app/', '')->{headers}{'x-worker'};
my $file = "$Test::Nginx::Util::ServRoot/html/session.json";
open my $out, '>', $file or die "cannot write $file: $!\n";
print $out qq{{"secret": {"env": "NEW_SECRET"}}\n};
close $out;
my $pid = main::master_pid();
ok($pid && kill('HUP', $pid), 'reload signal sent');
my $after = $before;
for (1 .. 100) {
    $after = main::get('/app/', '')->{headers}{'x-worker'};
    last if defined $after && $after ne $before;
    Time::HiRes::sleep(0.05);
}
isnt($after, $before, 'a new worker answers');
# Until the old worker has exited it may still accept a connection (with the old secret): wait it out.
for (1 .. 100) { last unless kill(0, $before); Time::HiRes::sleep(0.05) }
ok(!kill(0, $before), 'the old worker is gone');
ok(main::cached($old), 'the old cookie is still in the cache zone after the reload');
main::refused_at('the old cookie after the rotation', '/app/x', $old, 'invalid session message authentication code');
main::refused_at('the old cookie at /auth/', '/auth/x', $old, 'invalid session message authentication code');
my $new = main::mint_value({}, subject => 'alice', options => { secret => $main::NEW_SECRET });
main::accepted_twice('a cookie of the new secret', '/app/y', $new, 'alice');
use_cookie("session=$old");
--- request
GET /app/last
--- error_code: 401



=== TEST 8: key rotation with secret_fallbacks: a cookie of the old secret is re-issued on every request, never served silently from the cache
--- main_config eval
EntryTest::main_config(ACCESS_SECRET => $::SECRET, NEW_SECRET => $::NEW_SECRET)
--- session_json
{"secret": {"env": "NEW_SECRET"}, "secret_fallbacks": [{"env": "ACCESS_SECRET"}]}
--- config
    location = /_open { js_content harness.openCase; }
--- init
my $old = main::mint_value({}, subject => 'alice');
my @new;
for my $round (1, 2, 3) {
    my $res = main::get("/app/$round", $old);
    is($res->{status}, 200, "the old secret's cookie, request $round: 200");
    like($res->{content}, qr/\nx-subject: alice\n/, "the old secret's cookie, request $round: alice");
    my $reissued = live_cookies(@{ $res->{set_cookie} })->{session};
    ok(defined $reissued && $reissued ne $old, "the old secret's cookie, request $round: re-issued");
    push @new, $reissued // '';
}
ok(main::cached($old), "the old secret's cookie is in the cache zone (and still re-issued)");
main::accepted_twice('a re-issued cookie', '/app/x', $new[-1], 'alice');
# The re-issued cookie is sealed with the new secret: a configuration without the fallback opens it.
my $opened = http('POST', '/_open', { Cookie => "session=$new[-1]", 'Content-Type' => 'application/json' },
                  $EntryTest::JSON->encode({ options => { secret => $main::NEW_SECRET } }));
like($opened->{content}, qr/^accept: /, 're-issued under the new secret');
use_cookie("session=$new[0]");
--- request
GET /app/last
--- error_code: 200
--- response_body_like: \nx-subject: alice\n$



=== TEST 9: tampering after caching: one character changed in the MAC or in the payload is refused; the cookie as minted still passes
The cache key is the exact cookie value: a changed one is not in the cache and goes through the MAC
and the decryption.
--- init
my $value = main::mint_value({}, subject => 'alice');
main::accepted_twice('as minted', '/app/x', $value, 'alice');
my $flip = sub { my ($at) = @_; my $v = $value; substr($v, $at, 1) = substr($v, $at, 1) eq 'A' ? 'B' : 'A'; return $v };
my $mac = $flip->(100);        # header bytes 66..81 are the MAC: base64url characters 88..109
my $payload = $flip->(120);    # past the 110 header characters: the sealed data
my $created = $flip->(52);     # the creation time, covered by the MAC
main::refused_at('MAC changed', '/app/x', $mac, 'invalid session message authentication code');
main::refused_at('MAC changed, at /auth/', '/auth/x', $mac, 'invalid session message authentication code');
main::refused_at('creation time changed', '/app/x', $created, 'invalid session message authentication code');
main::refused_at('payload changed', '/app/x', $payload, 'unable to decrypt session data');
main::refused_at('payload changed, at /auth/', '/auth/x', $payload, 'unable to decrypt session data');
main::refused_at('payload changed, again', '/app/y', $payload, 'unable to decrypt session data');
main::accepted_twice('as minted, after all that', '/app/y', $value, 'alice');
use_cookie("session=$payload");
--- request
GET /app/last
--- error_code: 401



=== TEST 10: the cache does not widen the cookie name: SESSION=<a cached value> is refused like an uncached one
The cache is keyed by value alone, so the fast path must read the cookie exactly as the full path does
(exact name, first occurrence). nginx's $cookie_<name> matches names regardless of case: used as the
key, it would let a value cached under "session" pass as "SESSION", or as "__HOST-session" planted
next to a __Host-session cookie. Found by this file's first version.
--- init
my $alice = main::mint_value({}, subject => 'alice');
my $bob = main::mint_value({}, subject => 'bob');
is(http('GET', '/app/x', { Cookie => "SESSION=$alice" })->{status}, 401, 'SESSION=, not cached: 401');
main::accepted_twice('as session', '/app/x', $alice, 'alice');
is(http('GET', '/app/x', { Cookie => "SESSION=$alice" })->{status}, 401, 'SESSION=, cached: still 401');
is(http('GET', '/auth/x', { Cookie => "Session=$alice" })->{status}, 401, 'Session=, cached, auth_request: 401');
my $both = http('GET', '/app/x', { Cookie => "Session=$alice; session=$bob" });
is($both->{status}, 200, 'Session=alice; session=bob: 200');
like($both->{content}, qr/\nx-subject: bob\n/, 'served as bob, whose cookie has the exact name');
use_cookie("SESSION=$alice");
--- request
GET /app/last
--- error_code: 401
