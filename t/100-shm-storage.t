# shm storage (a js_shared_dict_zone) behind the entry points, in a real nginx under the engine
# selected by TEST_NGINX_JS_ENGINE: the cookie carries only the header, the record lives in the zone
# with the session's TTL, the previous id lives on for stale_ttl, hash_storage_key, a full zone (with
# and without evict), reload and state-file restart survival, misconfigured zones failing closed, and
# the bad-input guarantees of cookie storage. The zone is read directly through t/js/shm-probe.js.
#
# Set-up and helpers: t/lib/EntryTest.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use CookieFormat;
use Digest::SHA qw(sha256);
use Time::HiRes qw(sleep);

our $SECRET = 'shm-storage-secret-5c1d9e';
our %SHM = (storage => 'shm', shm => { zone => 'sessions' });

EntryTest::setup(secret => $SECRET, either_mode => 1, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /_zone/get { js_content probe.get; }
    location = /_zone/keys { js_content probe.keys; }
_EOC_

# The record of a cookie value in the zone (undef when absent): "<expiry>;<value>".
sub record_of {
    my ($zone, $key) = @_;
    my $res = http('GET', "/_zone/get?zone=$zone&key=" . $key);
    return $res->{status} == 200 ? $res->{content} : undef;
}

sub app { my ($cookie) = @_; return http('GET', '/app/x', { Cookie => $cookie }) }

# Test::Nginx's own nginx: its binary, prefix, configuration and pid file.
sub nginx_command { return ($Test::Nginx::Util::NginxBinary, '-p', "$Test::Nginx::Util::ServRoot/", '-c', $Test::Nginx::Util::ConfFile) }

sub master_pid {
    open my $in, '<', $Test::Nginx::Util::PidFile or return undef;
    my $pid = <$in>;
    chomp $pid if defined $pid;
    return $pid;
}

# Reload and restart need a master process.
master_on();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the cookie is the header alone; the zone holds the record under name:sid with the session's expiry
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my $before = time;
my $lines = mint(subject => 'alice', data => { role => 'admin' }, options => { %main::SHM });
my $value = cookie_value($lines, 'session');
is(length $value, 110, 'the cookie is the 110-character header');
my $key = b64url_encode(sid_of($value));
my $record = main::record_of('sessions', "session:$key");
ok(defined $record, 'record stored under session:<sid>');
my ($expiry, $json) = ($record // '') =~ /^(\d+);(.*)$/s;
ok(defined $expiry && $expiry >= $before + 3600 && $expiry <= time + 3600, 'expiry: now + rolling_timeout');
like($json // '', qr/^\["[A-Za-z0-9_-]+"\]$/, 'value: the ciphertext, as lua-resty-session stores it');
unlike($record // '', qr/admin/, 'the data is not readable in the zone');
is(app(cookie_header(@$lines))->{status}, 200, 'the session opens');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: alice



=== TEST 2: the record expires with the session's TTL, whatever the cookie header says
The cookie is minted with rolling_timeout 2 (the record's TTL), the location allows an hour: the
header checks pass, the record is gone.
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my $lines = mint(subject => 'alice', options => { %main::SHM, rolling_timeout => 2 });
my $cookie = cookie_header(@$lines);
is(app($cookie)->{status}, 200, 'opens at once');
sleep 3.1;
ok(!defined main::record_of('sessions', 'session:' . b64url_encode(sid_of(cookie_value($lines, 'session')))), 'the zone dropped the record');
my ($res, $log) = logged('GET', '/app/x', { Cookie => $cookie });
is($res->{status}, 401, 'then refused');
like($log, qr/\[info\].*no session for cookie "session": unable to load session/, 'info: unable to load session');
--- request
GET /app/none
--- error_code: 401



=== TEST 3: a refresh stores a new id; the previous one lives on for stale_ttl, then is refused
The session is minted 100 s in the past; rolling_timeout 120 makes the next request save it with a
new id (more than 3/4 of the rolling window spent).
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}, "rolling_timeout": 120, "stale_ttl": 2}
--- init
my $lines = mint(subject => 'alice', now => time - 100, options => { %main::SHM, rolling_timeout => 120, stale_ttl => 2 });
my $old = cookie_header(@$lines);
my $res = app($old);
is($res->{status}, 200, 'the refreshing request passes');
my $new = cookie_value($res->{set_cookie}, 'session');
ok(defined $new && $new ne cookie_value($lines, 'session'), 'a new cookie');
isnt(sid_of($new), sid_of(cookie_value($lines, 'session')), 'with a new id');
my ($expiry) = (main::record_of('sessions', 'session:' . b64url_encode(sid_of(cookie_value($lines, 'session')))) // '') =~ /^(\d+);/;
ok(defined $expiry && $expiry <= time + 2 && $expiry >= time + 1, 'the old record now expires in stale_ttl');
is(app($old)->{status}, 200, 'a request still carrying the old cookie passes within stale_ttl');
sleep 3.1;
is(app("session=$new")->{status}, 200, 'the new cookie passes');
my ($late, $log) = logged('GET', '/app/x', { Cookie => $old });
is($late->{status}, 401, 'the old cookie is refused after stale_ttl');
like($log, qr/unable to load session/, 'because its record is gone');
--- request
GET /app/none
--- error_code: 401



=== TEST 4: hash_storage_key: the zone key is the SHA-256 of the id, never the id itself
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions", "prefix": "p", "suffix": "s"}, "hash_storage_key": true}
--- init
my $lines = mint(subject => 'alice', options => { storage => 'shm', shm => { zone => 'sessions', prefix => 'p', suffix => 's' }, hash_storage_key => \1 });
my $sid = sid_of(cookie_value($lines, 'session'));
my $hashed = b64url_encode(sha256($sid));
ok(defined main::record_of('sessions', "p:session:$hashed:s"), 'stored under prefix:name:sha256(sid):suffix');
my $keys = http('GET', '/_zone/keys?zone=sessions')->{content};
is($keys, qq{["p:session:$hashed:s"]\n}, 'and nothing else');
my $plain = b64url_encode($sid);
unlike($keys, qr/\Q$plain\E/, 'the raw id is nowhere in the zone');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200



=== TEST 5: a full zone without evict: a clear save error, and every session stored before still opens
--- http_config
    js_shared_dict_zone zone=sessions:32k timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my (@cookies, $failure);
for my $i (1 .. 200) {
    my $body = $EntryTest::JSON->encode({ options => { secret => $main::SECRET, %main::SHM, compression_threshold => 0 },
                                          subject => "user$i", data => { blob => ('x' x 1500) . $i } });
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json' }, $body);
    if ($res->{content} ne "saved\n") { $failure = $res->{content}; last }
    push @cookies, cookie_header(@{ $res->{set_cookie} });
}
ok(@cookies >= 3, 'some sessions fit (' . scalar(@cookies) . ')');
like($failure // '', qr/^save failed: unable to store session data \(shared dict zone "sessions" is full\)$/, 'then a clear save error');
my $open = grep { app($_)->{status} == 200 } @cookies;
is($open, scalar @cookies, 'every session stored before the zone filled up still opens');
--- request
GET /app/none
--- error_code: 401
--- error_log
ngx_slab_alloc() failed: no memory in js shared zone "sessions"
--- no_error_log
[error]
[warn]
[alert]
[emerg]



=== TEST 6: a full zone with evict: new sessions are stored, the ones closest to expiry make room
--- http_config
    js_shared_dict_zone zone=sessions:32k timeout=1h evict;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my @cookies;
for my $i (1 .. 60) {
    my $lines = mint(subject => "user$i", data => { blob => ('x' x 1500) . $i }, options => { %main::SHM, compression_threshold => 0, rolling_timeout => 3600 + $i });
    push @cookies, cookie_header(@$lines);
}
is(app($cookies[-1])->{status}, 200, 'the newest session opens');
is(app($cookies[0])->{status}, 401, 'the one closest to expiry was evicted');
--- request
GET /app/none
--- error_code: 401
--- no_error_log
[error]
[warn]
[alert]
[emerg]



=== TEST 7: sessions survive nginx -s reload
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my $lines = mint(subject => 'alice', options => { %main::SHM });
my $cookie = cookie_header(@$lines);
is(app($cookie)->{status}, 200, 'opens before the reload');
my $pid = main::master_pid();
ok($pid && kill('HUP', $pid), 'reload signal sent');
sleep 1.5;
is(main::master_pid(), $pid, 'the same master');
is(app($cookie)->{status}, 200, 'opens after the reload');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200



=== TEST 8: with a state file, sessions survive a full restart of nginx
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h state=/tmp/njs-session-t100-state-$TEST_NGINX_JS_ENGINE.json;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
# (Outside the server root: nginx writes it again when it stops, while Test::Nginx removes that root.)
my $state = "/tmp/njs-session-t100-state-$ENV{TEST_NGINX_JS_ENGINE}.json";
unlink $state;
my $lines = mint(subject => 'alice', options => { %main::SHM });
my $cookie = cookie_header(@$lines);
is(app($cookie)->{status}, 200, 'opens before the restart');
# njs writes the state file within a second of a change (a timer in the worker that changed the zone).
for (1 .. 60) { last if -s $state; sleep 0.05 }
my $pid = main::master_pid();
ok($pid && kill('QUIT', $pid), 'graceful stop');
for (1 .. 100) { last unless kill 0, $pid; sleep 0.05 }
ok(!kill(0, $pid), 'nginx stopped');
ok(-s $state, 'the state file was written');
is(system(main::nginx_command()), 0, 'nginx started again');
for (1 .. 100) { last if main::master_pid() && main::master_pid() != $pid; sleep 0.05 }
isnt(main::master_pid(), $pid, 'a new master');
is(app($cookie)->{status}, 200, 'the session opens after the restart');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 200



=== TEST 9: a zone without timeout= fails closed: the login is a 500 with one [error] naming the fix
--- http_config
    js_shared_dict_zone zone=sessions:1m;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- config
    location = /login { js_content session.login; }
    location = /_session_login_backend { internal; proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend; }
    location = /backend { add_header X-Session-Login '{"subject":"alice"}'; return 200 "welcome\n"; }
--- request
POST /login
--- error_code: 500
--- error_log eval
qr/\[error\].*\[session\] invalid session configuration: js_shared_dict_zone "sessions" needs a timeout= parameter/
--- no_error_log
[warn]
[alert]
[crit]



=== TEST 10: a zone that is not declared fails closed on the protected location
The cookie is valid (minted into another zone), so the check reaches the storage.
--- http_config
    js_shared_dict_zone zone=other:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
use_cookie(cookie_header(@{ mint(subject => 'alice', options => { storage => 'shm', shm => { zone => 'other' } }) }));
--- request
GET /app/page
--- error_code: 500
--- error_log eval
qr/\[error\].*\[session\] invalid session configuration: js_shared_dict_zone "sessions" \(shm storage\) is not declared/
--- no_error_log
[warn]
[alert]
[crit]



=== TEST 11: bad input under shm storage: no session and an info line, never a 500
A cookie sealed for cookie storage, one with bytes after the header, one whose record was never
stored, and a tampered header.
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my $cookie_storage = cookie_value(mint(subject => 'alice'), 'session');
my $stored = cookie_value(mint(subject => 'alice', options => { %main::SHM }), 'session');
my %cases = (
    'cookie-storage cookie' => [$cookie_storage, qr/invalid session flags/],
    'bytes after the header' => [$stored . 'AAAA', qr/invalid session payload/],
    'tampered MAC' => [substr($stored, 0, 100) . (substr($stored, 100, 1) eq 'A' ? 'B' : 'A') . substr($stored, 101), qr/invalid session message authentication code/],
    'never stored' => [cookie_value(mint(subject => 'bob', options => { storage => 'shm', shm => { zone => 'sessions', prefix => 'elsewhere' } }), 'session'), qr/unable to load session/],
);
refused($_, @{ $cases{$_} }) for sort keys %cases;
--- request
GET /app/none
--- error_code: 401



=== TEST 12: zone sizing: how many typical sessions a 256 KiB zone holds (docs/storage.md's bytes per session)
A typical session: a subject and a small data table ({"email": ...}), default options. The figure is
printed (diag) and bounded so a regression in record size shows.
--- http_config
    js_shared_dict_zone zone=sessions:256k timeout=1h;
    js_import probe from shm-probe.js;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- init
my ($stored, $failure) = (0, undef);
while ($stored < 5000) {
    my $i = $stored + 1;
    my $body = $EntryTest::JSON->encode({ options => { secret => $main::SECRET, %main::SHM },
                                          subject => sprintf('user%06d@example.com', $i), data => { email => sprintf('user%06d@example.com', $i) } });
    my $res = http('POST', '/_mint', { 'Content-Type' => 'application/json' }, $body);
    if ($res->{content} ne "saved\n") { $failure = $res->{content}; last }
    $stored++;
}
like($failure // '', qr/is full/, 'filled up');
my $per_session = int(256 * 1024 / $stored);
diag("zone sizing ($ENV{TEST_NGINX_JS_ENGINE}): $stored typical sessions in 256 KiB: $per_session bytes per session");
ok($per_session < 1024, "under 1 KiB per session ($per_session)");
--- request
GET /app/none
--- error_code: 401
--- error_log
ngx_slab_alloc() failed: no memory in js shared zone "sessions"
--- no_error_log
[error]
[warn]
[alert]
[emerg]
