# The session registry, revocation and the admin API (session.admin) inside a real nginx, under the
# engine selected by TEST_NGINX_JS_ENGINE. The registry lives in a js_shared_dict_zone: with shm
# storage + store_metadata it is the storage's zone; with cookie storage it is `registry_zone`. Every
# open checks the revocation list, in whichever worker it runs.
#
# Sessions come from the test harness (mint(), or mint_as() below for a User-Agent of our own) or from
# session.login with the login backend of t/js/entry-upstream.js (see t/070-login-logout.t). The
# harness does not read session.json: its options must repeat the block's storage options.
# /_probe (t/js/registry-probe.js) lists the keys of a zone, to see what the registry really keeps.
#
# Set-up and helpers: t/lib/EntryTest.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use Time::HiRes ();

our $SECRET = 'registry-secret-0b7e4d2a';
our $TOKEN = 'admin-token-93c1f6e08a';
our $GOOD = 'user=alice&password=wonderland';

EntryTest::setup(secret => $SECRET, either_mode => 1, hidden => ['wonderland', $TOKEN], locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        add_header X-Worker $pid always;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /admin { js_content session.admin; }
    location = /_probe { js_content probe.keys; }
    location = /login { js_content session.login; }
    location = /_session_login_backend {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend { js_content upstream.loginBackend; }
_EOC_

# The zone probe for every block, and `--- nginx_workers: N` where a block needs several workers.
EntryTest::zone_probe_and_workers();

# The registry's options as the harness needs them (it does not read session.json).
our %SHM = (storage => 'shm', shm => { zone => 'sessions' }, store_metadata => JSON::PP::true, hash_subject => JSON::PP::true);
our %COOKIE = (registry_zone => 'sessions', store_metadata => JSON::PP::true, remember => JSON::PP::true);

# mint() with a User-Agent of our own: the registry lists the device by it. Returns Set-Cookie lines.
sub mint_as {
    my ($agent, %args) = @_;
    my $body = { options => { secret => $SECRET, %{ delete $args{options} // {} } }, %args };
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json', 'User-Agent' => $agent }, $EntryTest::JSON->encode($body));
    is($res->{status}, 200, "mint as $agent: 200");
    is($res->{content}, "saved\n", "mint as $agent: saved");
    return $res->{set_cookie};
}

# The admin API: status and decoded JSON body (undef if not JSON).
sub admin {
    my ($method, $query, %headers) = @_;
    my $res = http($method, "/admin$query", \%headers);
    my $body = eval { $EntryTest::JSON->decode($res->{content}) };
    return ($res, $body);
}

sub app { return http('GET', '/app/x', { Cookie => $_[0] })->{status} }

# Sleeps into the next whole second: the registry names a session by its creation second, and a
# revoke-all cut-off covers everything created up to its second.
sub next_second {
    my $now = Time::HiRes::time();
    Time::HiRes::sleep(int($now) + 1 - $now + 0.05);
}

sub probe_keys { return [ split /\n/, http('GET', '/_probe')->{content} ] }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: shm storage + store_metadata + hash_subject: alice's two devices are listed (not bob's), no plain subject in the zone
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}, "store_metadata": true,
 "hash_subject": true, "remember": true}
--- init
my $before = time();
my $laptop = main::mint_as('Laptop/1.0', subject => 'alice', options => { %main::SHM });
main::next_second();
my $phone = main::mint_as('Phone/2.0', subject => 'alice', remember => JSON::PP::true, options => { %main::SHM, remember => JSON::PP::true });
my $tablet = main::mint_as('Tablet/3.0', subject => 'bob', options => { %main::SHM });
is(main::app(cookie_header(@$laptop)), 200, "alice's laptop opens");
is(main::app(cookie_header(@$phone)), 200, "alice's phone opens");

my ($res, $list) = main::admin('GET', '?subject=alice');
my $after = time();
is($res->{status}, 200, 'GET: 200');
is($res->{headers}{'content-type'}, 'application/json', 'GET: JSON');
is($res->{headers}{'cache-control'}, 'no-store', 'GET: not cached');
is($list->{audience}, 'default', 'GET: the default audience');
is($list->{subject}, 'alice', 'GET: the subject as asked');
my @sessions = @{ $list->{sessions} // [] };
is(scalar @sessions, 2, "GET: alice's two sessions");
is_deeply([ map { $_->{user_agent} } @sessions ], ['Laptop/1.0', 'Phone/2.0'], 'GET: by creation, with their user agents');
is_deeply([ map { $_->{remember} ? 1 : 0 } @sessions ], [0, 1], 'GET: the remember flags');
ok(JSON::PP::is_bool($sessions[0]{remember}), 'GET: remember is a JSON boolean');
ok($sessions[0]{created} < $sessions[1]{created}, 'GET: created in two different seconds');
for my $s (@sessions) {
    is($s->{id}, "$s->{created}", "GET $s->{user_agent}: the id is the creation time");
    ok($s->{created} >= $before && $s->{created} <= $after, "GET $s->{user_agent}: created ($s->{created}) within the test ($before..$after)");
    ok($s->{last_seen} >= $s->{created} && $s->{last_seen} <= $after, "GET $s->{user_agent}: last_seen plausible");
    ok(!exists $s->{ip}, "GET $s->{user_agent}: no address without bind ip");
}
is($sessions[0]{expires}, $sessions[0]{last_seen} + 900, 'GET: without remember, expires at the idling timeout');
ok($sessions[1]{expires} >= $sessions[1]{last_seen} + 604800 - 1, 'GET: with remember, expires with the remember cookie');

($res, $list) = main::admin('GET', '?subject=bob');
is_deeply([ map { $_->{user_agent} } @{ $list->{sessions} // [] } ], ['Tablet/3.0'], "GET bob: bob's device only");
($res, $list) = main::admin('GET', '?subject=alice&audience=other');
is($res->{status}, 200, 'GET another audience: 200');
is_deeply($list, { audience => 'other', subject => 'alice', sessions => [] }, 'GET another audience: nothing');
($res, $list) = main::admin('GET', '?subject=carol');
is_deeply($list->{sessions}, [], 'GET an unknown subject: an empty list');

my $keys = main::probe_keys();
my $aud = encode_base64url('default');
my $hashed = encode_base64url(substr(sha256('alice'), 0, 16));
ok((grep { $_ eq "\@registry:$aud:$hashed" } @$keys), "the zone holds alice's list under her hashed subject") or diag(join "\n", @$keys);
my $plain = encode_base64url('alice');
is_deeply([ grep { /alice|\Q$plain\E/i } @$keys ], [], 'no zone key holds the plain subject');
my $sid = encode_base64url(sid_of(cookie_value($laptop, 'session')));
ok((grep { $_ eq "session:$sid" } @$keys), "the zone holds the laptop's record") or diag(join "\n", @$keys);
--- request
GET /admin?subject=alice
--- error_code: 200
--- response_body_like: ^\{"audience":"default","subject":"alice","sessions":\[\{"id":"\d+","created":\d+,"last_seen":\d+,"expires":\d+,"remember":false,"user_agent":"Laptop/1\.0"\},\{"id":"\d+","created":\d+,"last_seen":\d+,"expires":\d+,"remember":true,"user_agent":"Phone/2\.0"\}\]\}\n$



=== TEST 2: shm storage: revoke one device (its record is deleted, its next request 401), then all, then a new login works
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}, "store_metadata": true,
 "hash_subject": true}
--- init
my $laptop = cookie_header(@{ main::mint_as('Laptop/1.0', subject => 'alice', options => { %main::SHM }) });
main::next_second();
my $phone = cookie_header(@{ main::mint_as('Phone/2.0', subject => 'alice', options => { %main::SHM }) });
my $bob = cookie_header(@{ main::mint_as('Tablet/3.0', subject => 'bob', options => { %main::SHM }) });
is(main::app($laptop), 200, 'laptop: 200');
is(main::app($phone), 200, 'phone: 200');
my ($res, $list) = main::admin('GET', '?subject=alice');
my ($laptop_id, $phone_id) = map { $_->{id} } @{ $list->{sessions} };
my ($laptop_sid, $phone_sid) = map { encode_base64url(sid_of((split /=/, $_, 2)[1])) } $laptop, $phone;

($res, my $revoked) = main::admin('DELETE', "?subject=alice&id=$laptop_id");
is($res->{status}, 200, 'DELETE one: 200');
is($revoked->{all}, JSON::PP::false, 'DELETE one: all is false');
is_deeply([ map { [$_->{id}, $_->{user_agent}] } @{ $revoked->{revoked} // [] } ], [[$laptop_id, 'Laptop/1.0']], 'DELETE one: the laptop');
my $keys = main::probe_keys();
ok(!(grep { $_ eq "session:$laptop_sid" } @$keys), "the laptop's record is deleted");
ok((grep { $_ eq "session:$phone_sid" } @$keys), "the phone's record stays");

(my $app, my $log) = logged('GET', '/app/x', { Cookie => $laptop });
is($app->{status}, 401, "the laptop's very next request: 401");
# Its record is gone, so the open stops there, before the revocation check.
like($log, qr/\[info\] .*\[session\] no session for cookie "session": unable to load session$/m, 'the laptop: [info] unable to load session');
unlike($log, qr/\[(?:error|warn)\]/, 'the laptop: nothing worse than info');
is(main::app($phone), 200, 'the phone: still 200');
is(main::app($bob), 200, "bob's device: still 200");
($res, $list) = main::admin('GET', '?subject=alice');
is_deeply([ map { $_->{id} } @{ $list->{sessions} } ], [$phone_id], 'listed: the phone only');
($res, $list) = main::admin('DELETE', "?subject=alice&id=$laptop_id");
is($res->{status}, 404, 'DELETE the laptop again: 404, no longer listed');

main::next_second();    # the laptop is a second older than the phone: revoke-all must not lean on that
my $late = cookie_header(@{ main::mint_as('Desktop/4.0', subject => 'alice', options => { %main::SHM }) });
is(main::app($late), 200, 'a third device: 200');
# A session the list does not know (saved without store_metadata): revoke-all's cut-off still holds.
my $unlisted = cookie_header(@{ main::mint_as('Old/0.1', subject => 'alice', options => { %main::SHM, store_metadata => JSON::PP::false }) });
my $unlisted_sid = encode_base64url(sid_of((split /=/, $unlisted, 2)[1]));
is(main::app($unlisted), 200, 'an unlisted session: 200');
($res, $list) = main::admin('GET', '?subject=alice');
is_deeply([ map { $_->{user_agent} } @{ $list->{sessions} } ], ['Phone/2.0', 'Desktop/4.0'], 'the unlisted session is not listed');
($res, $revoked) = main::admin('DELETE', '?subject=alice');
is($res->{status}, 200, 'DELETE all: 200');
is($revoked->{all}, JSON::PP::true, 'DELETE all: all is true');
is_deeply([ map { $_->{user_agent} } @{ $revoked->{revoked} // [] } ], ['Phone/2.0', 'Desktop/4.0'], 'DELETE all: the listed ones');
is(main::app($phone), 401, 'after DELETE all: the phone 401');
is(main::app($late), 401, 'after DELETE all: the third device 401');
is(main::app($laptop), 401, 'after DELETE all: the laptop still 401');
ok((grep { $_ eq "session:$unlisted_sid" } @{ main::probe_keys() }), "the unlisted session's record is still there");
($app, $log) = logged('GET', '/app/x', { Cookie => $unlisted });
is($app->{status}, 401, 'after DELETE all: the unlisted session 401');
like($log, qr/\[info\] .*\[session\] no session for cookie "session": session revoked$/m, 'the unlisted session: [info] session revoked');
is(main::app($bob), 200, "after DELETE all: bob's device still 200");
($res, $list) = main::admin('GET', '?subject=alice');
is_deeply($list->{sessions}, [], 'after DELETE all: nothing listed');

main::next_second();
my $again = cookie_header(@{ main::mint_as('Phone/2.0', subject => 'alice', options => { %main::SHM }) });
is(main::app($again), 200, 'a new login a second after the revocation: 200');
($res, $list) = main::admin('GET', '?subject=alice');
is(scalar @{ $list->{sessions} }, 1, 'the new login is listed');
use_cookie($again);
--- request
GET /app/after
--- error_code: 200
--- response_body_like: \nx-subject: alice\n$



=== TEST 3: cookie storage + registry_zone: logins listed; a revoked session is refused ("session revoked") and its remember cookie does not bring it back
The registry list keeps its hash-free key (hash_subject off) here: the plain subject, base64url.
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true, "remember": true}
--- init
my $form = 'application/x-www-form-urlencoded';
my $login = sub {
    my ($agent, $verdict) = @_;
    my $res = http('POST', "/login?verdict=$verdict", { 'Content-Type' => $form, 'User-Agent' => $agent }, $main::GOOD);
    ok($res->{status} == 303 || $res->{status} == 200, "login on $agent");
    return $res->{set_cookie};
};
my $laptop = $login->('Laptop/1.0', 'remember');
is_deeply([ map { (split /=/, $_)[0] } @$laptop ], ['session', 'remember'], 'the laptop: session and remember cookies');
main::next_second();
# The phone says no to remember (the configuration's default is yes): a harness session, FLAG_FORGET.
my $phone = main::mint_as('Phone/2.0', subject => 'alice', remember => JSON::PP::false, options => { %main::COOKIE });
is_deeply([ map { (split /=/, $_)[0] } @$phone ], ['session'], 'the phone: no remember cookie');
main::next_second();
my $tablet = $login->('Tablet/3.0', 'remember');

my ($res, $list) = main::admin('GET', '?subject=alice');
is($res->{status}, 200, 'GET: 200');
is_deeply([ map { [$_->{user_agent}, $_->{remember} ? 1 : 0] } @{ $list->{sessions} } ],
          [['Laptop/1.0', 1], ['Phone/2.0', 0], ['Tablet/3.0', 1]], 'GET: the three logins, with their remember flags');
my $laptop_id = $list->{sessions}[0]{id};
my $keys = main::probe_keys();
my $key = '@registry:' . encode_base64url('default') . ':' . encode_base64url('alice');
is_deeply([ grep { /^\@registry:/ } @$keys ], [$key], 'hash_subject off: the list is under the base64url subject');

# Baseline: a remember cookie alone brings a session back (while it is not revoked): a new session,
# created now, listed beside the tablet's login with the remember cookie's creation time.
main::next_second();
my $restored = http('GET', '/app/x', { Cookie => 'remember=' . cookie_value($tablet, 'remember'), 'User-Agent' => 'Tablet/3.0' });
is($restored->{status}, 200, "the tablet's remember cookie alone: 200");
like(cookie_value($restored->{set_cookie}, 'session') // '', qr/^[A-Za-z0-9_-]{110,}$/, 'the tablet: a new session cookie');

is(main::app(cookie_header(@$laptop)), 200, 'the laptop: 200 before');
($res, my $revoked) = main::admin('DELETE', "?subject=alice&id=$laptop_id");
is($res->{status}, 200, 'DELETE the laptop: 200');
is_deeply([ map { $_->{user_agent} } @{ $revoked->{revoked} } ], ['Laptop/1.0'], 'DELETE: the laptop revoked');

(my $app, my $log) = logged('GET', '/app/x', { Cookie => cookie_header(@$laptop) });
is($app->{status}, 401, 'the laptop (session + remember cookie): 401');
is_deeply(live_cookies(@{ $app->{set_cookie} }), {}, 'the laptop: no new cookie');
like($log, qr/\[info\] .*\[session\] no session for cookie "session": session revoked/, 'the laptop: [info] session revoked');
($app, $log) = logged('GET', '/app/x', { Cookie => 'remember=' . cookie_value($laptop, 'remember') });
is($app->{status}, 401, "the laptop's remember cookie alone: 401");
is_deeply(live_cookies(@{ $app->{set_cookie} }), {}, "the laptop's remember cookie alone: no session comes back");
is(main::app(cookie_header(@$phone)), 200, 'the phone: still 200');
is(main::app(cookie_header(@$tablet)), 200, 'the tablet: still 200');

# Revoking the restored session revokes the remember cookie it came from (an older creation time), and
# with it the tablet's first session, created in the same second.
($res, $list) = main::admin('GET', '?subject=alice');
is_deeply([ map { $_->{user_agent} } @{ $list->{sessions} } ], ['Phone/2.0', 'Tablet/3.0', 'Tablet/3.0'], 'GET: the restored session listed');
my $restored_id = $list->{sessions}[2]{id};
my $restored_cookie = 'session=' . cookie_value($restored->{set_cookie}, 'session');
is(main::app($restored_cookie), 200, 'the restored session: 200 before');
($res) = main::admin('DELETE', "?subject=alice&id=$restored_id");
is($res->{status}, 200, 'DELETE the restored session: 200');
is(main::app($restored_cookie), 401, 'the restored session: 401');
$app = http('GET', '/app/x', { Cookie => 'remember=' . cookie_value($tablet, 'remember') });
is($app->{status}, 401, "the tablet's remember cookie alone: now 401");
is_deeply(live_cookies(@{ $app->{set_cookie} }), {}, "the tablet's remember cookie alone: no session comes back");
is(main::app('session=' . cookie_value($tablet, 'session')), 401, "the tablet's first session (the remember cookie's second): 401");
($res, $list) = main::admin('GET', '?subject=alice');
is_deeply([ map { $_->{user_agent} } @{ $list->{sessions} } ], ['Phone/2.0'], 'GET: the phone only');
is(main::app(cookie_header(@$phone)), 200, 'the phone: still 200');
use_cookie(cookie_header(@$phone));
--- request
GET /app/phone
--- error_code: 200
--- response_body_like: \nx-subject: alice\n$



=== TEST 4: revocation is seen by every worker: two workers serve the session before, both refuse it after
Connections are fresh (http() does not keep them alive); which worker takes one is the kernel's choice.
--- nginx_workers: 2
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}
--- init
my $cookie = cookie_header(@{ mint(subject => 'alice', options => { %main::COOKIE }) });
my $spread = sub {
    my ($want) = @_;
    my (%seen, %other);
    for my $i (1 .. 200) {
        my $res = http('GET', "/app/$i", { Cookie => $cookie });
        my $pid = $res->{headers}{'x-worker'} // '?';
        if ($res->{status} == $want) { $seen{$pid}++ } else { $other{"$res->{status} from $pid"}++ }
        last if keys %seen >= 2;
    }
    return (\%seen, \%other);
};
my ($seen, $other) = $spread->(200);
is(scalar keys %$seen, 2, 'before: two workers answered 200') or diag(Test::More::explain($seen));
is_deeply($other, {}, 'before: nothing but 200');
my ($res) = main::admin('DELETE', '?subject=alice');
is($res->{status}, 200, 'DELETE all: 200');
($seen, $other) = $spread->(401);
is(scalar keys %$seen, 2, 'after: two workers answered 401') or diag(Test::More::explain($seen));
is_deeply($other, {}, 'after: nothing but 401, in any worker');
--- request
GET /app/last
--- error_code: 401



=== TEST 5: admin API errors: 400 without subject or with a bad id, 404 for an id not listed, 405 for POST
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}
--- init
my $alice = cookie_header(@{ mint(subject => 'alice', options => { %main::COOKIE }) });
main::next_second();    # ids are creation seconds: bob's must not also be one of alice's
my $bob = mint(subject => 'bob', options => { %main::COOKIE });
my ($res, $body) = main::admin('GET', '');
is($res->{status}, 400, 'GET without subject: 400');
is_deeply($body, { error => 'the subject query argument is required' }, 'GET without subject: the reason');
($res, $body) = main::admin('GET', '?subject=');
is($res->{status}, 400, 'GET with an empty subject: 400');
($res, $body) = main::admin('DELETE', '');
is($res->{status}, 400, 'DELETE without subject: 400 (not "revoke everyone")');
($res, $body) = main::admin('DELETE', '?subject=alice&id=12345');
is($res->{status}, 404, 'DELETE an unknown id: 404');
is_deeply($body, { error => 'no such session' }, 'DELETE an unknown id: the reason');
($res, $body) = main::admin('GET', '?subject=bob');
my $bob_id = $body->{sessions}[0]{id};
like($bob_id // '', qr/^\d+$/, "bob's id");
($res, $body) = main::admin('DELETE', "?subject=alice&id=$bob_id");
is($res->{status}, 404, "DELETE bob's id as alice's: 404");
is(main::app(cookie_header(@$bob)), 200, "bob's session still opens");
($res, $body) = main::admin('DELETE', '?subject=alice&id=abc');
is($res->{status}, 400, 'DELETE a malformed id: 400');
($res, $body) = main::admin('POST', '?subject=alice');
is($res->{status}, 405, 'POST: 405');
is($res->{headers}{allow}, 'GET, HEAD, DELETE', 'POST: Allow');
($res, $body) = main::admin('PUT', '?subject=alice');
is($res->{status}, 405, 'PUT: 405');
is(main::app($alice), 200, "after all that, alice's session still opens");
--- request
POST /admin?subject=alice
--- error_code: 405
--- response_headers
Allow: GET, HEAD, DELETE
Content-Type: application/json
--- response_body
{"error":"use GET to list and DELETE to revoke"}



=== TEST 6: admin_token: a bearer token is required (401 + WWW-Authenticate without it or with a wrong one), 200 with it
--- main_config eval
EntryTest::main_config(ACCESS_SECRET => $::SECRET, ADMIN_TOKEN => $::TOKEN)
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true,
 "nginx": {"admin_token": {"env": "ADMIN_TOKEN"}}}
--- init
my $alice = cookie_header(@{ mint(subject => 'alice', options => { %main::COOKIE }) });
for my $case (['none'], ['wrong', "Bearer $main::TOKEN-x"], ['prefix', 'Bearer ' . substr($main::TOKEN, 0, 10)],
              ['basic', "Basic $main::TOKEN"], ['bare', $main::TOKEN], ['empty', 'Bearer ']) {
    my ($name, $auth) = @$case;
    my ($res, $body) = main::admin('DELETE', '?subject=alice', defined $auth ? (Authorization => $auth) : ());
    is($res->{status}, 401, "DELETE, token $name: 401");
    is($res->{headers}{'www-authenticate'}, 'Bearer realm="session admin"', "DELETE, token $name: WWW-Authenticate");
    ($res) = main::admin('GET', '?subject=alice', defined $auth ? (Authorization => $auth) : ());
    is($res->{status}, 401, "GET, token $name: 401");
}
is(main::app($alice), 200, 'no unauthorized request revoked anything');
my ($res, $body) = main::admin('GET', '?subject=alice', Authorization => "Bearer $main::TOKEN");
is($res->{status}, 200, 'GET with the token: 200');
is(scalar @{ $body->{sessions} }, 1, 'GET with the token: the session');
($res) = main::admin('GET', '?subject=alice', Authorization => "bearer $main::TOKEN");
is($res->{status}, 200, 'the scheme is case-insensitive');
($res, $body) = main::admin('DELETE', '?subject=alice', Authorization => "Bearer $main::TOKEN");
is($res->{status}, 200, 'DELETE with the token: 200');
is(main::app($alice), 401, 'DELETE with the token: revoked');
--- request
GET /admin?subject=alice
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="session admin"
--- response_body
{"error":"a valid bearer token is required"}



=== TEST 7: the admin API without any registry: 500 and exactly one [error] line
--- init
my ($res, $log) = logged('GET', '/admin?subject=alice');
is($res->{status}, 500, 'GET: 500');
like($res->{content}, qr/^session check failed, reference [0-9a-f]{32}\n$/, 'GET: a reference');
my @errors = $log =~ /^.*\[error\].*$/mg;
is(scalar @errors, 1, 'exactly one [error] line') or diag($log);
like($errors[0] // '', qr/\[session\] invalid session configuration: the admin API needs the session registry/, 'the [error] line says why');
($res, $log) = logged('DELETE', '/admin?subject=alice');
is($res->{status}, 500, 'DELETE: 500');
is(scalar(() = $log =~ /\[error\]/g), 1, 'DELETE: exactly one [error] line');
--- request
GET /admin?subject=alice
--- error_code: 500
--- error_log eval
qr/\[error\] .*\[session\] invalid session configuration: the admin API needs the session registry: store_metadata with shm or redis storage, or registry_zone \(request [0-9a-f]{32}\)/
--- no_error_log
[warn]
[alert]
[crit]
[emerg]
exception



=== TEST 8: a tampered cookie with a registry configured: a clean 401 and an [info] line, the registry untouched
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "registry_zone": "sessions", "store_metadata": true}
--- init
my $value = cookie_value(mint(subject => 'mallory', options => { %main::COOKIE }), 'session');
is(main::app("session=$value"), 200, 'the cookie as minted: 200');
my $mac = $value;       # header bytes 66..81 are the MAC: base64url characters 88..109
substr($mac, 100, 1) = substr($mac, 100, 1) eq 'A' ? 'B' : 'A';
my $payload = $value;   # past the 110 header characters: the sealed data
substr($payload, 120, 1) = substr($payload, 120, 1) eq 'A' ? 'B' : 'A';
my ($res, $log) = logged('GET', '/app/x', { Cookie => "session=$mac" });
is($res->{status}, 401, 'MAC flipped: 401');
like($log, qr/\[info\] .*\[session\] no session for cookie "session": invalid session message authentication code/, 'MAC flipped: [info]');
($res, $log) = logged('GET', '/app/x', { Cookie => "session=$payload" });
is($res->{status}, 401, 'payload flipped: 401');
like($log, qr/\[info\] .*\[session\] no session for cookie "session": unable to decrypt session data/, 'payload flipped: [info]');
my ($admin, $list) = main::admin('GET', '?subject=mallory');
is(scalar @{ $list->{sessions} }, 1, 'the registry still lists the real session');
$::Block->set_value('more_headers', "Cookie: session=$mac");
--- request
GET /app/y
--- error_code: 401
--- error_log eval
qr/\[info\] .*\[session\] no session for cookie "session": invalid session message authentication code/
