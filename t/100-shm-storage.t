# shm storage (a js_shared_dict_zone) behind the entry points, in a real nginx under the engine
# selected by TEST_NGINX_JS_ENGINE. Set-up and helpers: t/lib/EntryTest.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;

our $SECRET = 'shm-storage-secret-5c1d9e';
EntryTest::setup(secret => $SECRET);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: smoke
--- http_config
    js_shared_dict_zone zone=sessions:1m timeout=1h;
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "shm", "shm": {"zone": "sessions"}}
--- config
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- init
my $lines = mint(subject => 'alice', options => { storage => 'shm', shm => { zone => 'sessions' } });
diag(join "\n", @$lines);
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: alice
