# redis storage with Redis Sentinel, against real servers started by this file (a master, a replica and
# three sentinels on loopback), under the engine selected by TEST_NGINX_JS_ENGINE: the master is found
# through the sentinels, an unknown master name fails closed, and a failover (the master killed, the
# replica promoted) is followed without a wrong answer: requests fail closed while no master answers,
# then the sessions written before the failover open on the new master.
#
# Set-up and helpers: t/lib/EntryTest.pm, t/lib/StoreServers.pm.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use StoreServers;
use CookieFormat;
use Time::HiRes qw(sleep time);

our $SECRET = 'redis-sentinel-secret-77e1b3';
our $MASTER = StoreServers::start('redis-server', 6400);
our $REPLICA = StoreServers::start('redis-server', 6401, '--replicaof', '127.0.0.1', '6400');
our @SENTINELS = map {
    StoreServers::start('redis-sentinel', $_, { conf => <<'_EOC_' });
sentinel monitor mymaster 127.0.0.1 6400 2
sentinel down-after-milliseconds mymaster 500
sentinel failover-timeout mymaster 3000
_EOC_
} 26400, 26401, 26402;

StoreServers::wait_for(sub { StoreServers::cli($REPLICA, 'INFO', 'replication') =~ /master_link_status:up/ },
    'the replica to sync', 30);
# Ready when every sentinel knows the replica and the two other sentinels (they find each other
# through the master within a few seconds).
StoreServers::wait_for(sub {
    for my $sentinel (@SENTINELS) {
        return 0 unless StoreServers::cli($sentinel, 'SENTINEL', 'replicas', 'mymaster') =~ /6401/;
        my @others = StoreServers::cli($sentinel, 'SENTINEL', 'sentinels', 'mymaster') =~ /^name$/mg;
        return 0 unless @others == 2;
    }
    return 1;
}, 'the sentinels to know the replica and each other', 30);

our %SENTINEL = (storage => 'redis', redis => { master => 'mymaster', sentinels => ['127.0.0.1:26400', '127.0.0.1:26401', '127.0.0.1:26402'] });
our $JSON = '{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"master": "mymaster", "sentinels": ["127.0.0.1:26400", {"host": "127.0.0.1", "port": 26401}, "127.0.0.1:26402"]}}';

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('session_json', $JSON) unless defined $block->session_json;
});

sub app { my ($cookie) = @_; return http('GET', '/app/x', { Cookie => $cookie }) }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the master is found through the sentinels; the record is written there and replicated
--- init
my $lines = mint(subject => 'alice', options => { %main::SENTINEL });
my $key = main::store_key($lines);
is(StoreServers::cli($main::MASTER, 'EXISTS', "session:$key"), '1', 'written on the master');
StoreServers::cli($main::MASTER, 'WAIT', 1, 2000);
is(StoreServers::cli($main::REPLICA, 'EXISTS', "session:$key"), '1', 'and replicated');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: alice



=== TEST 2: a master name the sentinels do not know fails closed with 503 and one error line
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"master": "nosuchmaster", "sentinels": ["127.0.0.1:26400", "127.0.0.1:26401"]}}
--- init
my $lines = mint(subject => 'bob', options => { %main::SENTINEL });
my @statuses = map { main::app(cookie_header(@$lines))->{status} } 1 .. 4;
is_deeply(\@statuses, [(503) x 4], 'fails closed');
my @errors = main::error_lines(qr/\[error\].*redis sentinel master nosuchmaster unavailable/);
is(scalar @errors, 1, 'one error line for four requests') or diag(join '', @errors);
like($errors[0] // '', qr/no sentinel named a master "nosuchmaster"/, 'saying why');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 503
--- no_error_log
[warn]
[crit]
--- error_log
nosuchmaster



=== TEST 3: failover: the master killed, the replica promoted; no wrong answer meanwhile, and the sessions open on the new master
--- init
my %cookies;
for my $subject (qw(carol dave erin)) {
    my $lines = mint(subject => $subject, options => { %main::SENTINEL });
    $cookies{$subject} = cookie_header(@$lines);
}
is(main::app($cookies{carol})->{status}, 200, 'open before the failover');
StoreServers::cli($main::MASTER, 'WAIT', 1, 2000);
StoreServers::stop($main::MASTER);
my $start = time;
my (%seen, $wrong, $recovered);
while (time - $start < 30) {
    my $all_ok = 1;
    for my $subject (sort keys %cookies) {
        my $res = main::app($cookies{$subject});
        $seen{ $res->{status} }++;
        $all_ok = 0 unless $res->{status} == 200;
        $wrong++ if $res->{status} == 200 && (main::subject_of($res) // '') ne $subject;
        $wrong++ if $res->{status} != 200 && $res->{status} != 503;
    }
    if ($all_ok) { $recovered = time - $start; last }
    sleep 0.1;
}
ok(defined $recovered, 'every session opens again after the failover' . (defined $recovered ? sprintf(' (%.1f s)', $recovered) : ''));
ok(!$wrong, 'only 200 with the right subject or 503 meanwhile') or diag(Test::More::explain(\%seen));
like(StoreServers::cli($main::SENTINELS[0], 'SENTINEL', 'get-master-addr-by-name', 'mymaster'), qr/6401/, 'the sentinels name the replica now');
my $lines = mint(subject => 'frank', options => { %main::SENTINEL });
is(StoreServers::cli($main::REPLICA, 'EXISTS', 'session:' . main::store_key($lines)), '1', 'new sessions go to the new master');
is(scalar main::error_lines(qr/\[error\].*unavailable/), ($seen{503} ? 1 : 0), 'at most one error line for the incident');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: frank
--- no_error_log
[crit]
[alert]
