# Known answers (src/nginx/known-answers.ts) inside a real nginx, under the engine selected by
# TEST_NGINX_JS_ENGINE. A check that publishes a session whose answer depends only on the Cookie header,
# the location and the clock keeps its state line, and the next requests with the same header and
# location get it again, with the seconds then left, without the check. The njs engine's warm check
# keeps it in njs_session_cache, per worker, where these tests look at the records too; QuickJS's check
# keeps it in the JS context's memory, out of the probe's sight: there every block holds by what the
# requests get (a kept answer published past its second, or where it depends on more, fails them).
#
#   1. the answer kept and published again: the same state, the seconds left counting down   TEST 1
#   2. an answer never outlives the second its checks change: a touch falls due, a timeout runs out,
#      though the kept entry is made to live on                                           TEST 2
#   3. none kept where the answer depends on more: csrf, request_headers, bind, shm storage   TEST 3-5
#   4. the whole header is the key: another cookie beside it, a header too long to keep       TEST 6
#   5. auth_request mode                                                                   TEST 7
#   6. init() forgets the answers made with the settings it replaces                         TEST 8
#
# Its checks hold in every mode (either_mode): on the njs floor and through the check server, every
# `js_access session.access;` below becomes auth_request (t/lib/EntryTest.pm), and the answers are
# kept and published by session.authRequest alike.
#
# Set-up and helpers: t/lib/EntryTest.pm; the zone probe as in t/130-verified-cache.t.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use Time::HiRes ();

our $SECRET = 'known-answers-secret-5c1e7a93';
our $NJS = ($ENV{TEST_NGINX_JS_ENGINE} // 'njs') eq 'njs';

EntryTest::setup(secret => $SECRET, either_mode => 1, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-State $session_state;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /auth/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-State $session_state;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    location = /logout { js_content session.logoutHandler; }
    location = /_entries { js_content probe.entries; }
_EOC_

EntryTest::zone_probe_and_workers();

sub get {
    my ($uri, $value, %headers) = @_;
    return http('GET', $uri, { Cookie => "session=$value", %headers });
}

# The answers njs_session_cache holds: [key, record] each; with $extend, each set to live that many
# seconds more.
sub answers {
    my ($extend) = @_;
    my $res = http('GET', '/_entries?zone=njs_session_cache&prefix=@answer/' . ($extend ? "&extend=$extend" : ''));
    return [ map { [ split /\t/, $_, 2 ] } grep { length } split /\n/, $res->{content} ];
}

# How many answers the zone should hold: $count under the njs engine, none under QuickJS (its answers
# live in the context's memory), except with a front (TEST_NGINX_SESSION_MODE=known_front): its check
# leaves them in the zone for the front's worker (src/nginx/answer-key.ts), as many.
our $FRONT = ($ENV{TEST_NGINX_SESSION_MODE} // '') eq 'known_front';
sub answers_are {
    my ($count, $name) = @_;
    my $zone = $NJS || $FRONT;
    is(scalar @{ answers() }, $zone ? $count : 0, "$name: " . ($zone ? "$count answer(s) kept" : 'QuickJS keeps none'));
}

# The upstream's copy of a request header (t/js/entry-upstream.js echoes them, one a line).
sub header_of {
    my ($res, $name) = @_;
    return $res->{content} =~ /\n\Q$name\E: ([^\n]*)\n/ ? $1 : undef;
}

# The state line's fields (TAB-separated; the upstream gets it with its trailing TABs trimmed).
sub fields { return split /\t/, $_[0] // '' }

# A request accepted with no cookie re-issued: the response.
sub accepted {
    my ($name, $uri, $value, $subject, %headers) = @_;
    my $res = get($uri, $value, %headers);
    is($res->{status}, 200, "$name: 200");
    is(header_of($res, 'x-subject'), $subject, "$name: the subject reaches the upstream");
    is_deeply(live_cookies(@{ $res->{set_cookie} }), {}, "$name: no cookie re-issued");
    return $res;
}

# The timeout a state line published is the idling timeout $idle less the seconds since the creation
# time it published, as of a second within the request (between $before and $after).
sub counts_down {
    my ($name, $state, $before, $after, $idle) = @_;
    my (undef, undef, undef, $timeout, $created) = fields($state);
    my @expected = map { $idle - ($_ - $created) } int($before), int($after);
    ok((grep { defined $timeout && $timeout eq $_ } @expected), "$name: timeout $timeout is $idle less the seconds since creation (@expected)");
}

# accepted(), and the timeout counts down from the idling timeout (900 s by default): the response.
sub accepted_counting_down {
    my ($name, $uri, $value) = @_;
    my $before = Time::HiRes::time();
    my $res = accepted($name, $uri, $value, 'alice');
    counts_down($name, header_of($res, 'x-state'), $before, Time::HiRes::time(), 900);
    return $res;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the answer kept and published again: the same state, the seconds left counting down
The first request is the cold check, the second the warm check (it keeps the answer), the third and
later are answered from the zone (QuickJS: from the context). Every one publishes the same state line
but for the seconds left, which is the idling timeout (900 s by default, the closest) less the seconds
since creation, as of the request.
--- init
my $value = cookie_value(mint(subject => 'alice'), 'session');
my @states;
for my $round (1 .. 3) {
    my $res = main::accepted_counting_down("request $round", '/app/a', $value);
    my @f = main::fields(main::header_of($res, 'x-state'));
    splice @f, 3, 1;
    push @states, join "\t", @f;
    main::answers_are($round == 1 ? 0 : 1, "after request $round");
}
is($states[2], $states[1], 'the answer publishes the warm check\'s state line but for the seconds left');
is($states[1], $states[0], 'and the warm check the cold check\'s');
my $answer = main::answers()->[0];
like($answer->[1], qr/^\d+\|\d+\|alice\tdefault\t[^\t|]+\t\|\t\d+\t\{\}\t*$/, 'the record: until, the closest timeout\'s second, the line around it') if $main::NJS;
if ($main::NJS) {
    my ($until, $expires, undef, $rest) = split /\|/, $answer->[1];
    my ($created) = $rest =~ /^\t(\d+)/;
    is($until, $created + 60, 'it holds until the touch falls due (touch_threshold 60 s after creation)');
    is($expires, $created + 900, 'the closest timeout falls 900 s after creation (idling)');
}
# Seconds later: the same answer, fewer seconds left.
Time::HiRes::sleep(2.1);
main::accepted_counting_down('2 s later', '/app/b', $value);
main::answers_are(1, '2 s later');
use_cookie("session=$value");
--- request
GET /app/last
--- error_code: 200
--- response_body_like: \nx-subject: alice\n



=== TEST 2: an answer never outlives the second its checks change, though its entry lives on
touch_threshold 1 at /app/: the answer holds until a touch falls due, then the check must touch the
session (a new cookie). At /idle/ (idling timeout 1 s) it holds until the timeout runs out, then the
session is refused. Each kept entry is set to live a minute more before that second, so that only the
second the record holds keeps it from being published past it.
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "touch_threshold": 1}
--- config
    location /idle/ {
        set $session_config_idling_timeout 1;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $value = cookie_value(mint(subject => 'alice'), 'session');
my $minted = Time::HiRes::time();
main::accepted("request $_", '/app/a', $value, 'alice') for 1 .. 3;
main::accepted("/idle/, request $_", '/idle/a', $value, 'alice') for 1 .. 3;
main::answers_are(2, 'both locations');
main::answers(60);
main::sleep_past($minted, 2);
main::answers_are(2, '2 s later, made to live on');
my $res = main::get('/app/b', $value);
is($res->{status}, 200, 'past the touch threshold: 200');
my $touched = live_cookies(@{ $res->{set_cookie} })->{session};
ok(defined $touched && $touched ne $value, 'past the touch threshold: the cookie is re-issued, not answered from a kept answer');
is(sid_of($touched), sid_of($value), 'a touch: the same session id');
my ($res2, $log) = logged('GET', '/idle/b', { Cookie => "session=$value" });
is($res2->{status}, 401, 'past the idling timeout: 401');
like($log, qr/\[info\] .*no session for cookie "session": session idling timeout exceeded/, 'past the idling timeout: the full check\'s reason');
use_cookie("session=$value");
--- request
GET /idle/last
--- error_code: 401



=== TEST 3: none kept where the answer depends on more than the header and the clock: csrf, request_headers
With csrf on, the method decides (a POST without the token is refused after any number of GETs);
with request_headers, the check publishes headers besides the state line.
--- config
    location /csrf/ {
        set $session_config_csrf on;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location /headers/ {
        set $session_config_request_headers id,subject;
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_set_header Session-Subject $session_request_header_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $value = cookie_value(mint(subject => 'alice'), 'session');
main::accepted("/csrf/, GET $_", '/csrf/a', $value, 'alice') for 1 .. 3;
main::accepted("/headers/, GET $_", '/headers/a', $value, 'alice') for 1 .. 3;
main::answers_are(0, 'csrf and request_headers');
my ($res, $log) = logged('POST', '/csrf/a', { Cookie => "session=$value" }, 'x');
is($res->{status}, 403, 'a POST without the token after the GETs: 403');
like($log, qr/\[info\] .*csrf: refused POST: missing CSRF token/, 'the CSRF check\'s reason');
is(main::header_of(main::get('/headers/b', $value), 'session-subject'), 'alice', 'request_headers: published');
use_cookie("session=$value");
--- request
GET /csrf/last
--- error_code: 200



=== TEST 4: none kept for a session bound to the request: another User-Agent is refused after any number of answers
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "bind": ["user_agent"]}
--- init
my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json', 'User-Agent' => 'first' },
    $EntryTest::JSON->encode({ options => { secret => $main::SECRET, bind => ['user_agent'] }, subject => 'alice' }));
my $value = cookie_value($res->{set_cookie}, 'session');
main::accepted("the first User-Agent, request $_", '/app/a', $value, 'alice', 'User-Agent' => 'first') for 1 .. 3;
main::answers_are(0, 'a bound session');
is(main::get('/app/b', $value, 'User-Agent' => 'second')->{status}, 401, 'another User-Agent: refused');
use_cookie("session=$value");
--- request
GET /app/last
--- more_headers
User-Agent: first
--- error_code: 200



=== TEST 5: none kept with shm storage: a logout is seen at the next request
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json' },
    $EntryTest::JSON->encode({ options => { secret => $main::SECRET, storage => 'shm', shm => { zone => 'sessions' } }, subject => 'alice' }));
my $value = cookie_value($res->{set_cookie}, 'session');
main::accepted("request $_", '/app/a', $value, 'alice') for 1 .. 3;
main::answers_are(0, 'shm storage');
is(http('POST', '/logout', { Cookie => "session=$value", 'X-CSRF-Token' => csrf_token($value, subject => 'alice') })->{status}, 204, 'logout: 204');
is(main::get('/app/b', $value)->{status}, 401, 'after the logout: refused');
use_cookie("session=$value");
--- request
GET /app/last
--- error_code: 401



=== TEST 6: the whole Cookie header is the key: another cookie beside the session's, a header too long to keep
--- init
my $value = cookie_value(mint(subject => 'alice'), 'session');
main::accepted("alone, request $_", '/app/a', $value, 'alice') for 1 .. 3;
main::accepted("with theme=dark, request $_", '/app/a', "$value; theme=dark", 'alice') for 1 .. 3;
main::answers_are(2, 'one answer per header');
my $long = 'x' x 5000;
main::accepted("with a 5000-character cookie, request $_", '/app/a', "$value; long=$long", 'alice') for 1 .. 3;
main::answers_are(2, 'none for a header over 4096 characters');
my $res = http('GET', '/app/b', { Cookie => "SESSION=$value; theme=dark" });
is($res->{status}, 401, 'the value under another cookie name: refused');
use_cookie("session=$value; theme=dark");
--- request
GET /app/last
--- error_code: 200
--- response_body_like: \nx-subject: alice\n



=== TEST 7: auth_request mode: the answer kept and published in X-Session-State
--- init
my $value = cookie_value(mint(subject => 'alice'), 'session');
main::accepted_counting_down("request $_", '/auth/a', $value) for 1 .. 3;
main::answers_are(1, 'auth_request');
use_cookie("session=$value");
--- request
GET /auth/last
--- error_code: 200
--- response_body_like: \nx-subject: alice\n



=== TEST 8: init() forgets the answers made with the settings it replaces
A user's handler calls init() with the idling timeout the query names, then the check (auth_request
mode, answered in the handler). Three requests at 900 s keep an answer (QuickJS: in the context, which
every request here reuses); the next, at 600 s, must publish 600 s less the seconds since creation, not
the kept answer's 900. Under the njs engine a request that called init() runs the full check (no
answer is looked up), with the same result.
--- http_config
    js_import init_answers from init-answers.js;
--- config
    location = /init-check { js_content init_answers.check; }
--- init
my $value = cookie_value(mint(subject => 'alice'), 'session');
for my $idle (900, 900, 900, 600, 600, 900) {
    my $before = Time::HiRes::time();
    my $res = main::get("/init-check?idle=$idle", $value);
    my $after = Time::HiRes::time();
    is($res->{status}, 204, "idling timeout $idle: 204");
    my ($state) = ($res->{headers}{'x-session-state'} // '') =~ /^<(.*)>$/s;
    main::counts_down("idling timeout $idle", $state, $before, $after, $idle);
}
use_cookie("session=$value");
--- request
GET /init-check?idle=900
--- error_code: 204
