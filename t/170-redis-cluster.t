# redis storage against a real Redis Cluster (three masters, no replicas, on 127.0.0.1:7100-7102,
# built by this file with redis-server and `redis-cli --cluster create`), through the store bridge, under
# the engine selected by TEST_NGINX_JS_ENGINE:
#
#   - sessions land on the master that owns their key's hash slot, and open through a protected location
#   - a slot moved away while nginx holds the old slot map (MOVED): the session opens, logout deletes it
#     on its new node
#   - a slot half-way through a migration (ASK): the session opens and logout deletes it on the target
#   - `redis-cli --cluster reshard` of 2000 slots under a load of concurrent requests: no request gets
#     another session's subject, and every session opens afterwards
#   - a master down: its sessions fail closed with 503 (one error line for the incident), the others
#     keep opening; back up (same node id, AOF): its sessions open again
#   - a database other than 0 with nodes is a configuration error
#
# Where a key lives is always asked of Redis (CLUSTER KEYSLOT, CLUSTER NODES, CLUSTER GETKEYSINSLOT,
# redis-cli -c), never computed here; whether a redirection really happened is read from Redis's own
# command statistics (INFO commandstats: rejected_calls counts MOVED/ASK answers).
#
# The cluster is built once, when the file loads, and reused: nginx restarts for every block, Redis does
# not. Every block starts from an empty, settled cluster (fresh()); the slot layout changes from block to
# block (TEST 2-4 move slots), so every block asks Redis who owns what.
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
use POSIX ();
use Time::HiRes qw(sleep time);

our $SECRET = 'redis-cluster-secret-5e07b3';
our @PORTS = (7100, 7101, 7102);
our %NODE;    # port => StoreServers handle

# The masters keep their data across a crash (TEST 5) and keep serving their slots while another master
# is down (cluster-require-full-coverage no: without replicas, the default stops the whole cluster).
for my $port (@PORTS) {
    unlink "/tmp/nodes-$port.conf";
    $NODE{$port} = StoreServers::start('redis-server', $port, '--cluster-enabled', 'yes',
        '--cluster-config-file', "/tmp/nodes-$port.conf", '--cluster-node-timeout', '2000',
        '--cluster-require-full-coverage', 'no', '--appendonly', 'yes', '--appendfsync', 'always');
}
{
    my $out = `redis-cli --cluster create 127.0.0.1:7100 127.0.0.1:7101 127.0.0.1:7102 --cluster-replicas 0 --cluster-yes 2>&1`;
    die "redis-cli --cluster create failed:\n$out" if $? != 0;
}
settle();

our %NODES = (nodes => [ map { { ip => '127.0.0.1', port => $_ } } @PORTS ]);
our %CLUSTER = (storage => 'redis', redis => \%NODES);

EntryTest::setup(secret => $SECRET, locations => <<'_EOC_');
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
    location = /logout { js_content session.logoutHandler; }
_EOC_
StoreServers::use_bridge(ACCESS_SECRET => $SECRET);

# redis-cli against one node (no redirections followed), output chomped.
sub rcli { my ($port, @args) = @_; return StoreServers::cli($NODE{$port}, @args) }
sub live { return grep { $NODE{$_}{pid} } @PORTS }
sub session_key { my ($lines) = @_; return 'session:' . b64url_encode(sid_of(cookie_value($lines, 'session'))) }
sub slot_of { my ($key) = @_; return rcli((live())[0], 'CLUSTER', 'KEYSLOT', $key) }

# port => node id, as each node says (CLUSTER MYID).
sub ids { return map { $_ => rcli($_, 'CLUSTER', 'MYID') } @PORTS }

# The master that owns a slot, by CLUSTER NODES of a live node (migration marks [..] ignored).
sub owner {
    my ($slot, $asked) = @_;
    for my $line (split /\n/, rcli($asked // (live())[0], 'CLUSTER', 'NODES')) {
        my @field = split / /, $line;
        next unless $field[2] =~ /master/ && $field[1] =~ /:(\d+)@/;
        my $port = $1;
        for my $range (@field[8 .. $#field]) {
            next if $range =~ /^\[/;
            my ($first, $last) = split /-/, $range;
            return $port if $slot >= $first && $slot <= ($last // $first);
        }
    }
    return undef;
}

# The slots a master owns, ascending (CLUSTER NODES, as above).
sub slots_of {
    my ($port) = @_;
    my @slots;
    for my $line (split /\n/, rcli((live())[0], 'CLUSTER', 'NODES')) {
        my @field = split / /, $line;
        next unless $field[1] =~ /:$port@/;
        for my $range (@field[8 .. $#field]) {
            next if $range =~ /^\[/;
            my ($first, $last) = split /-/, $range;
            push @slots, $first .. ($last // $first);
        }
    }
    return sort { $a <=> $b } @slots;
}

# The nodes whose own keyspace holds the key (CLUSTER GETKEYSINSLOT: local keys, no redirection).
sub holders {
    my ($key) = @_;
    my $slot = slot_of($key);
    return grep { grep { $_ eq $key } split /\n/, rcli($_, 'CLUSTER', 'GETKEYSINSLOT', $slot, 1000) } live();
}

# INFO commandstats of a node: { calls => N, rejected_calls => N } for a command (zeros when unseen).
sub cmdstat {
    my ($port, $command) = @_;
    my ($line) = grep { /^cmdstat_\Q$command\E:/ } split /\r?\n/, rcli($port, 'INFO', 'commandstats');
    my %stat = (calls => 0, rejected_calls => 0);
    %stat = (%stat, $line =~ /(\w+)=([\d.]+)/g) if defined $line;
    return \%stat;
}
sub reset_stats { rcli($_, 'CONFIG', 'RESETSTAT') for live() }

# Waits until every node says cluster_state:ok and redis-cli --cluster check finds the nodes agreeing,
# every slot covered and no slot half-migrated.
sub settle {
    my ($seconds) = @_;
    my $deadline = time + ($seconds // 20);
    my $check = '';
    while (time < $deadline) {
        if (!grep { rcli($_, 'CLUSTER', 'INFO') !~ /cluster_state:ok/ } @PORTS) {
            $check = `redis-cli --cluster check 127.0.0.1:7100 2>&1`;
            return 1 if $check =~ /\[OK\] All nodes agree about slots configuration/
                && $check =~ /\[OK\] All 16384 slots covered/ && $check !~ /\[WARNING\]|\[ERR\]/;
        }
        sleep 0.1;
    }
    die "the cluster did not settle:\n$check";
}

# Before each block: a settled cluster with no keys.
sub fresh {
    settle();
    rcli($_, 'FLUSHALL') for @PORTS;
}

# The manual slot migration of the Redis Cluster specification; with `stop_before_node` it stops after
# MIGRATE, leaving the slot MIGRATING on the source and IMPORTING on the target (ASK).
sub migrate {
    my ($slot, $src, $dst, %args) = @_;
    my %id = ids();
    rcli($dst, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $id{$src}) eq 'OK' or die "IMPORTING failed";
    rcli($src, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $id{$dst}) eq 'OK' or die "MIGRATING failed";
    for my $key (split /\n/, rcli($src, 'CLUSTER', 'GETKEYSINSLOT', $slot, 1000)) {
        my $moved = rcli($src, 'MIGRATE', '127.0.0.1', $dst, '', 0, 5000, 'KEYS', $key);
        $moved eq 'OK' or die "MIGRATE $key: $moved";
    }
    return if $args{stop_before_node};
    finish_migration($slot, $dst);
}
sub finish_migration {
    my ($slot, $dst) = @_;
    my %id = ids();
    for my $port ($dst, grep { $_ != $dst } @PORTS) {
        my $done = rcli($port, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $id{$dst});
        $done eq 'OK' or die "SETSLOT NODE on $port: $done";
    }
}

sub app { my ($cookie) = @_; return http('GET', '/app/x', { Cookie => $cookie }) }
# The subject the upstream got ('' without one).

# TEST 4's three clients, each request with its proxied upstream and its store connections through the
# bridge (front, relay, Redis), plus the keepalive pools: more than Test::Nginx's 64 connections.
worker_connections(1024);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: twenty sessions: each record on the master owning its key's slot, more than one master used; each opens
The location's configuration names one seed node (a string); the harness mints with all three ({ip, port}).
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"nodes": ["127.0.0.1:7101"]}}
--- init
main::fresh();
my (%owners, @sessions);
for my $i (1 .. 20) {
    my $lines = mint(subject => "placed-$i", options => { %main::CLUSTER });
    my $key = main::session_key($lines);
    my $slot = main::slot_of($key);
    my $owner = main::owner($slot);
    is_deeply([ main::holders($key) ], [$owner], "placed-$i: $key (slot $slot) is held by its slot's master $owner only");
    like(`redis-cli -c -p 7100 --raw GET $key`, qr/^\["[A-Za-z0-9_-]+"\]\n\z/, "placed-$i: redis-cli -c finds the record");
    my $ttl = main::rcli($owner, 'TTL', $key);
    ok($ttl > 3500 && $ttl <= 3600, "placed-$i: with the session's TTL ($ttl)");
    $owners{$owner}++;
    push @sessions, [ "placed-$i", cookie_header(@$lines) ];
}
ok(keys %owners > 1, 'more than one master holds sessions: ' . join ', ', map { "$_: $owners{$_}" } sort keys %owners);
for my $session (@sessions) {
    my $res = main::app($session->[1]);
    is($res->{status}, 200, "$session->[0] opens");
    is(main::subject_of($res), $session->[0], "$session->[0]: X-Subject");
}
use_cookie($sessions[-1][1]);
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: placed-20



=== TEST 2: MOVED: the slot moved to another master while nginx holds the old map; the session opens, logout deletes it there
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"nodes": ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"]}}
--- init
main::fresh();
my $lines = mint(subject => 'moved', options => { %main::CLUSTER });
my $cookie = cookie_header(@$lines);
my $key = main::session_key($lines);
my $slot = main::slot_of($key);
my $src = main::owner($slot);
my ($dst) = grep { $_ != $src } @main::PORTS;
is(main::app($cookie)->{status}, 200, 'opens before the move (nginx now holds the slot map)');
main::migrate($slot, $src, $dst);
is(main::owner($slot, $_), $dst, "after the move, $_ says $dst owns slot $slot") for @main::PORTS;
is_deeply([ main::holders($key) ], [$dst], "the record is on $dst only");

main::reset_stats();
my $res = main::app($cookie);
is($res->{status}, 200, 'opens after the move');
is(main::subject_of($res), 'moved', 'X-Subject');
is(main::cmdstat($src, 'get')->{rejected_calls}, 1, "the old owner $src answered the GET with MOVED");
ok(main::cmdstat($dst, 'get')->{calls} >= 1, "the new owner $dst served it");

main::reset_stats();
is(main::app($cookie)->{status}, 200, 'opens again');
is(main::cmdstat($src, 'get')->{rejected_calls}, 0, 'straight to the new owner: the map was read again');

$res = http('POST', '/logout', { Cookie => $cookie, 'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'moved') });
is($res->{status}, 204, 'logout: 204');
is_deeply([ main::holders($key) ], [], 'logout deleted the record on the new owner');
is(`redis-cli -c -p $src --raw EXISTS $key`, "0\n", 'redis-cli -c: gone');
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 401



=== TEST 3: ASK: the record migrated, the slot not yet reassigned; the session opens, logout deletes it on the target
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"nodes": ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"]}}
--- init
main::fresh();
my $lines = mint(subject => 'asked', options => { %main::CLUSTER });
my $cookie = cookie_header(@$lines);
my $key = main::session_key($lines);
my $slot = main::slot_of($key);
my $src = main::owner($slot);
my ($dst) = grep { $_ != $src } reverse @main::PORTS;
is(main::app($cookie)->{status}, 200, 'opens before the migration');
main::migrate($slot, $src, $dst, stop_before_node => 1);
is(main::owner($slot, $_), $src, "$_ still says $src owns slot $slot") for @main::PORTS;
is_deeply([ main::holders($key) ], [$dst], "the record is on the target $dst only");
like(main::rcli($src, 'GET', $key), qr/^ASK $slot 127\.0\.0\.1:$dst$/, "the source answers ASK for it");

main::reset_stats();
my $res = main::app($cookie);
is($res->{status}, 200, 'opens during the migration');
is(main::subject_of($res), 'asked', 'X-Subject');
is(main::cmdstat($src, 'get')->{rejected_calls}, 1, 'the source redirected the GET');
ok(main::cmdstat($dst, 'asking')->{calls} >= 1, 'the target got ASKING');
ok(main::cmdstat($dst, 'get')->{calls} >= 1, 'and served the GET');

$res = http('POST', '/logout', { Cookie => $cookie, 'X-CSRF-Token' => csrf_token(cookie_value($lines, 'session'), subject => 'asked') });
is($res->{status}, 204, 'logout during the migration: 204');
is_deeply([ main::holders($key) ], [], 'the record is deleted on the target');
main::finish_migration($slot, $dst);
main::settle();
use_cookie($cookie);
--- request
GET /app/page
--- error_code: 401



=== TEST 4: redis-cli --cluster reshard of 2000 slots under concurrent requests: no wrong subject, no failure; all open after
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"nodes": ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"]}}
--- init
main::fresh();
my ($from, $to) = (7100, 7102);
my %id = main::ids();
# redis-cli moves the source's lowest-numbered slots: sessions there move, the others stay.
my %moving = map { $_ => 1 } (main::slots_of($from))[0 .. 1999];
my (@sessions, @moving, @staying);
for my $i (1 .. 150) {
    last if @moving >= 4 && @staying >= 2;
    my $lines = mint(subject => "reshard-$i", options => { %main::CLUSTER });
    my $key = main::session_key($lines);
    my $session = { subject => "reshard-$i", cookie => cookie_header(@$lines), key => $key };
    if ($moving{ main::slot_of($key) }) { push @moving, $session if @moving < 4 }
    elsif (@staying < 2) { push @staying, $session }
}
@sessions = (@moving, @staying);
is(scalar @moving, 4, 'four sessions in the slots that move');
is(main::app($_->{cookie})->{status}, 200, "$_->{subject} opens before") for @sessions;

# Three clients (this process and two children) cycle through the sessions until the reshard is over.
my $done = '/tmp/reshard-done';
unlink $done;
my $client = sub {
    my ($n, $until) = @_;
    my @results;
    for (my $i = $n; !$until->(); $i++) {
        my $session = $sessions[$i % @sessions];
        my $res = main::app($session->{cookie});
        push @results, join "\t", $session->{subject}, $res->{status}, main::subject_of($res) // '';
    }
    return @results;
};
my @children;
for my $n (1, 2) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my @results = $client->($n, sub { -e $done });
        open my $out, '>', "/tmp/reshard-client-$n" or POSIX::_exit(1);
        print $out map { "$_\n" } @results;
        close $out;
        POSIX::_exit(0);    # no END blocks in the child (they would stop the servers)
    }
    push @children, $pid;
}
main::reset_stats();
my $reshard = fork // die "fork: $!";
if ($reshard == 0) {
    open STDOUT, '>', '/tmp/reshard.log';
    open STDERR, '>&', \*STDOUT;
    { exec 'redis-cli', '--cluster', 'reshard', '127.0.0.1:7100', '--cluster-from', $id{$from}, '--cluster-to', $id{$to},
        '--cluster-slots', 2000, '--cluster-yes' }
    POSIX::_exit(127);
}
my $start = time;
my $status;
my @results = $client->(0, sub {
    return 0 unless waitpid($reshard, POSIX::WNOHANG()) == $reshard;
    $status = $?;
    return 1;
});
my $took = time - $start;
open my $flag, '>', $done; close $flag;
waitpid $_, 0 for @children;
for my $n (1, 2) {
    open my $in, '<', "/tmp/reshard-client-$n" or die "client $n: $!";
    push @results, map { chomp; $_ } <$in>;
}
is($status, 0, sprintf('the reshard succeeded in %.1f s', $took)) or diag(`cat /tmp/reshard.log`);
ok(@results >= 30, scalar(@results) . ' requests during the reshard');
my @wrong = grep { my ($want, $code, $got) = split /\t/, $_, 3; $code == 200 && $got ne $want } @results;
is_deeply(\@wrong, [], 'no request got another session\'s subject');
my @failed = grep { (split /\t/)[1] != 200 } @results;
is_deeply(\@failed, [], 'every request during the reshard opened its session');
my $redirected = main::cmdstat($from, 'get')->{rejected_calls};
ok($redirected > 0, "the requests met the migration ($from redirected $redirected GETs)");

main::settle();
is(main::owner($_, $from), $to, "slot $_ is $to\'s now") for map { main::slot_of($_->{key}) } @moving;
is_deeply([ main::holders($_->{key}) ], [$to], "$_->{subject}: moved to $to") for @moving;
is_deeply([ main::holders($_->{key}) ], [ main::owner(main::slot_of($_->{key})) ], "$_->{subject}: stayed with its owner") for @staying;
for my $session (@sessions) {
    my $res = main::app($session->{cookie});
    is($res->{status}, 200, "$session->{subject} opens after the reshard");
    is(main::subject_of($res), $session->{subject}, "$session->{subject}: X-Subject");
}
use_cookie($moving[0]{cookie});
fill(SUBJECT => $moving[0]{subject});
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: %%SUBJECT%%\n



=== TEST 5: a master down: its sessions fail closed with 503 and one error line, the others open; back up, they open again
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"nodes": ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"]}}
--- init
main::fresh();
my $down = 7101;
my (@there, @elsewhere);
for my $i (1 .. 60) {
    last if @there >= 2 && @elsewhere >= 2;
    my $lines = mint(subject => "outage-$i", options => { %main::CLUSTER });
    my $key = main::session_key($lines);
    my $session = { subject => "outage-$i", cookie => cookie_header(@$lines), key => $key };
    if (main::owner(main::slot_of($key)) == $down) { push @there, $session if @there < 2 }
    elsif (@elsewhere < 2) { push @elsewhere, $session }
}
is(scalar @there, 2, "two sessions on $down");
is(scalar @elsewhere, 2, 'two on the other masters');
is(main::app($_->{cookie})->{status}, 200, "$_->{subject} opens while every master is up") for @there, @elsewhere;

StoreServers::stop($main::NODE{$down});
my @statuses;
for my $round (1 .. 3) {
    push @statuses, map { main::app($_->{cookie})->{status} } @there;
    for my $session (@elsewhere) {
        my $res = main::app($session->{cookie});
        is($res->{status}, 200, "round $round: $session->{subject} (another master) opens");
        is(main::subject_of($res), $session->{subject}, "round $round: $session->{subject}: X-Subject");
    }
}
is_deeply(\@statuses, [(503) x 6], "every request for a session on $down fails closed with 503");
my @down = main::error_lines(qr/\[error\].*redis cluster .*unavailable/);
is(scalar @down, 1, 'one error line for the incident') or diag(join '', @down);
my @again = main::error_lines(qr/\[warn\].*answers again/);
is(scalar @again, 0, "no \"answers again\" line while $down is still down") or diag(join '', @again);

StoreServers::spawn($main::NODE{$down});
main::settle(30);
is(main::rcli($down, 'EXISTS', $_->{key}), 1, "$_->{subject}: $down kept the record (AOF)") for @there;
for my $session (@there) {
    my ($status) = poll_status('/app/x', $session->{cookie}, sub { $_[0] == 200 });
    is($status, 200, "$session->{subject} opens again once $down is back");
}
use_cookie($there[0]{cookie});
fill(SUBJECT => $there[0]{subject});
--- request
GET /app/page
--- error_code: 200
--- response_body_like: x-subject: %%SUBJECT%%\n
--- no_error_log
[crit]
[alert]
[emerg]
--- error_log
unavailable



=== TEST 6: "database" other than 0 with nodes: the protected location fails with 500, a configuration error
--- session_json
{"secret": {"env": "ACCESS_SECRET"}, "storage": "redis", "redis": {"nodes": ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"], "database": 1}}
--- init
main::fresh();
# The same cluster with database 0 (spelled out) is fine: the session is stored and valid.
my $lines = mint(subject => 'configured', options => { storage => 'redis', redis => { %main::NODES, database => 0 } });
my $key = main::session_key($lines);
is_deeply([ main::holders($key) ], [ main::owner(main::slot_of($key)) ], 'database 0: stored on its slot\'s master');
use_cookie(cookie_header(@$lines));
--- request
GET /app/page
--- error_code: 500
--- error_log eval
qr/\[error\].*invalid session configuration.*database/
--- no_error_log
[warn]
[crit]
[alert]
