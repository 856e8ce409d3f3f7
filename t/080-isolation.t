# No identity leaks between requests, under the engine selected by TEST_NGINX_JS_ENGINE. The njs engine
# clones the module for every request; QuickJS runs each request in a context of its own but puts a
# finished request's context back in a pool (js_context_reuse) for a later request, module scope and
# all. So whatever one request's access check learns must live only in that request's variables
# ($session_state), or a later request would inherit it.
#
# TEST 1: one nginx worker serves many requests at once: twenty sessions of twenty subjects,
# anonymous requests, tampered cookies and requests to an unprotected location, all sent before any
# answer is read, through js_access (directly, and through a wrapper that delays before and after the
# check so the checks overlap and finish out of order) and through auth_request. The upstream
# (upstream.slow) answers after a delay that differs per request. Three rounds, so the later rounds
# run in contexts the earlier ones used. Every answer must carry its own subject and loggable id (as
# the upstream got it from proxy_set_header, and in the add_header lines of the answer), never
# another's, and anonymous ones nothing.
# TEST 2: the same kinds of requests one after the other, each anonymous one right after an
# authenticated one (the context it most likely reuses).
#
# Set-up and helpers: t/lib/EntryTest.pm (see t/050-access.t for the pattern).
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes ();

our $SECRET = 'isolation-secret-0b7e44';
our $SUBJECTS = 20;
our $ROUNDS = 3;

EntryTest::setup(secret => $SECRET);
worker_connections(1024);

# Sends every request before reading any answer (HTTP/1.0, one connection each), in the given order.
# Each request: { uri, cookie? }. Returns the answers in the same order: { status, headers => {lower
# case name => value}, body }.
sub concurrent {
    my @requests = @_;
    my (%pending, @answers);
    my $select = IO::Select->new;
    for my $i (0 .. $#requests) {
        my $socket = IO::Socket::INET->new(PeerAddr => $Test::Nginx::Util::ServerAddr,
            PeerPort => $Test::Nginx::Util::ServerPortForClient, Proto => 'tcp')
            or die "cannot connect: $!\n";
        my $cookie = defined $requests[$i]{cookie} ? "Cookie: $requests[$i]{cookie}\r\n" : '';
        my $text = "GET $requests[$i]{uri} HTTP/1.0\r\nHost: localhost\r\n${cookie}\r\n";
        my $written = 0;
        while ($written < length $text) {
            my $n = syswrite($socket, $text, length($text) - $written, $written);
            die "cannot send: $!\n" unless defined $n;
            $written += $n;
        }
        $socket->blocking(0);
        $pending{fileno $socket} = { index => $i, socket => $socket, data => '' };
        $select->add($socket);
    }
    my $deadline = time + 60;
    while ($select->count && time < $deadline) {
        for my $socket ($select->can_read(1)) {
            my $entry = $pending{fileno $socket};
            my $n = sysread($socket, my $buffer, 65536);
            if ($n) { $entry->{data} .= $buffer; next }
            next if !defined $n && $!{EAGAIN};
            $select->remove($socket);
            close $socket;
            my ($head, $body) = split /\r\n\r\n/, $entry->{data}, 2;
            my ($status_line, @lines) = split /\r\n/, $head // '';
            my %headers;
            for (@lines) { my ($name, $value) = /^([^:]+):\s*(.*)$/; $headers{lc $name} = $value if defined $name }
            my ($status) = ($status_line // '') =~ /^HTTP\/\d\.\d (\d{3})/;
            $answers[$entry->{index}] = { status => $status // 0, headers => \%headers, body => $body // '' };
        }
    }
    return @answers;
}

# Both blocks protect the same application, three ways; the upstream delays its answer by ?ms=.
our $ISOLATION_CONFIG = <<'_EOC_';
    location /app/ {
        js_access session.access;
        proxy_set_header X-Subject $session_subject;
        add_header X-Seen-Subject $session_subject always;
        add_header X-Seen-Id $session_id always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_slow/;
    }
    location /delayed/ {
        js_access slow_access.access;
        proxy_set_header X-Subject $session_subject;
        add_header X-Seen-Subject $session_subject always;
        add_header X-Seen-Id $session_id always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_slow/;
    }
    location /ar/ {
        include $TEST_NGINX_REPO_DIR/nginx/session-auth-request.conf;
        proxy_set_header X-Subject $session_subject;
        add_header X-Seen-Subject $session_subject always;
        add_header X-Seen-Id $session_id always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_slow/;
    }
    location = /_session_auth { internal; js_content session.authRequest; }
    # No access check: whatever cookie comes, no identity.
    location /public/ {
        proxy_set_header X-Subject $session_subject;
        add_header X-Seen-Subject $session_subject always;
        add_header X-Seen-Id $session_id always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_slow/;
    }
    location /_slow/ { js_content upstream.slow; }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: many sessions at once in one worker: every answer carries its own identity
--- http_config
    js_import slow_access from entry-slow-access.js;
--- config eval: $::ISOLATION_CONFIG
--- init
my (@cookies, @ids);
for my $k (1 .. $main::SUBJECTS) {
    my $lines = mint(subject => sprintf('user-%02d', $k), data => { k => $k });
    push @cookies, cookie_header(@$lines);
    push @ids, loggable_id(sid_of(cookie_value($lines, 'session')));
}
my $tampered = $cookies[0];
substr($tampered, 130, 1) = substr($tampered, 130, 1) eq 'A' ? 'B' : 'A';

for my $round (1 .. $main::ROUNDS) {
    my @requests;
    my $tag = 0;
    for my $k (1 .. $main::SUBJECTS) {
        my $subject = sprintf('user-%02d', $k);
        # Later requests answer sooner: the order of the answers is not the order of the requests.
        for my $prefix ('/app/', '/delayed/', '/ar/') {
            $tag++;
            my $ms = 20 + (($tag * 37 + $round * 11) % 180);
            my $extra = $prefix eq '/delayed/' ? sprintf('&pre=%d&post=%d', ($tag * 13) % 50, ($tag * 29) % 50) : '';
            push @requests, { uri => "${prefix}x?tag=$tag&ms=$ms$extra", cookie => $cookies[$k - 1],
                              subject => $subject, id => $ids[$k - 1], status => 200 };
        }
        # Between the sessions: anonymous and tampered requests, and the unprotected location with a
        # valid cookie.
        $tag++;
        push @requests, { uri => "/app/x?tag=$tag", subject => '', id => '', status => 401 } if $k % 2;
        $tag++;
        push @requests, { uri => "/delayed/x?tag=$tag&pre=10", cookie => $tampered, subject => '', id => '', status => 401 } if $k % 4 == 0;
        $tag++;
        push @requests, { uri => "/ar/x?tag=$tag", subject => '', id => '', status => 401 } if $k % 5 == 0;
        $tag++;
        push @requests, { uri => "/public/x?tag=$tag&ms=" . (($tag * 7) % 100), cookie => $cookies[$k - 1],
                          subject => '', id => '', status => 200 } if $k % 3 == 0;
    }
    my $started = Time::HiRes::time();
    my @answers = main::concurrent(@requests);
    my $took = Time::HiRes::time() - $started;
    # The upstream delays alone add up to seconds: answered one after the other, the round would take
    # at least their sum. Within half of it, the requests overlapped; half rather than less leaves room
    # for a machine busy with other work (a quarter failed once at load 8 on two cores).
    my $delays = 0;
    for (@requests) { $delays += $1 / 1000 if $_->{status} == 200 && $_->{uri} =~ /[?&]ms=(\d+)/ }
    cmp_ok($took, '<', $delays / 2, sprintf('round %d: %d requests overlapped (%.2f s for %.1f s of upstream delays)',
                                            $round, scalar @requests, $took, $delays));
    my ($ok, @wrong) = (0);
    for my $i (0 .. $#requests) {
        my ($request, $answer) = ($requests[$i], $answers[$i] // { status => 'none', headers => {}, body => '' });
        my ($tag) = $request->{uri} =~ /tag=(\d+)/;
        my @problems;
        push @problems, "status $answer->{status}" if $answer->{status} ne $request->{status};
        my $seen = $answer->{headers}{'x-seen-subject'} // '';
        push @problems, "X-Seen-Subject '$seen'" if $seen ne $request->{subject};
        my $id = $answer->{headers}{'x-seen-id'} // '';
        push @problems, "X-Seen-Id '$id'" if $id ne $request->{id};
        if ($request->{status} == 200) {
            my $body = "tag=$tag subject=$request->{subject}\n";
            push @problems, "body '$answer->{body}'" if $answer->{body} ne $body;
        }
        if (@problems) { push @wrong, "$request->{uri} (expected '$request->{subject}'): @problems" } else { $ok++ }
    }
    is($ok, scalar @requests, "round $round: all " . scalar(@requests) . " answers carry their own identity")
        or diag(join "\n", @wrong[0 .. ($#wrong < 19 ? $#wrong : 19)]);
}
use_cookie($cookies[6]);
--- request
GET /app/last?tag=0&ms=1
--- response_body
tag=0 subject=user-07
--- response_headers
X-Seen-Subject: user-07
--- error_log eval
qr/\[info\] .*\[session\] no session for cookie "session": /



=== TEST 2: one request after the other: an anonymous request after an authenticated one inherits nothing
--- http_config
    js_import slow_access from entry-slow-access.js;
--- config eval: $::ISOLATION_CONFIG
--- init
my @checks;
for my $k (1 .. $main::SUBJECTS) {
    my $subject = sprintf('user-%02d', $k);
    my $lines = mint(subject => $subject);
    my $cookie = cookie_header(@$lines);
    my $id = loggable_id(sid_of(cookie_value($lines, 'session')));
    my $tampered = $cookie;
    substr($tampered, 130, 1) = substr($tampered, 130, 1) eq 'A' ? 'B' : 'A';
    for my $prefix ('/app/', '/delayed/', '/ar/') {
        push @checks, [ "${prefix}x?tag=$k&ms=1", $cookie, 200, $subject, $id ],
                      [ "${prefix}x?tag=$k&ms=1", undef, 401, '', '' ],
                      [ "${prefix}x?tag=$k&ms=1", $cookie, 200, $subject, $id ],
                      [ "${prefix}x?tag=$k&ms=1", $tampered, 401, '', '' ],
                      [ "${prefix}x?tag=$k&ms=1", $cookie, 200, $subject, $id ],
                      [ "/public/x?tag=$k&ms=1", $cookie, 200, '', '' ];
    }
}
my ($ok, @wrong) = (0);
for my $check (@checks) {
    my ($uri, $cookie, $status, $subject, $id) = @$check;
    my $res = http('GET', $uri, defined $cookie ? { Cookie => $cookie } : {});
    my ($tag) = $uri =~ /tag=(\d+)/;
    my @problems;
    push @problems, "status $res->{status}" if $res->{status} != $status;
    my $seen = $res->{headers}{'x-seen-subject'} // '';
    push @problems, "X-Seen-Subject '$seen'" if $seen ne $subject;
    my $seen_id = $res->{headers}{'x-seen-id'} // '';
    push @problems, "X-Seen-Id '$seen_id'" if $seen_id ne $id;
    push @problems, "body '$res->{content}'" if $status == 200 && $res->{content} ne "tag=$tag subject=$subject\n";
    if (@problems) { push @wrong, "$uri " . (defined $cookie ? 'with' : 'without') . " cookie: @problems" } else { $ok++ }
}
is($ok, scalar @checks, 'all ' . scalar(@checks) . ' answers in sequence carry their own identity')
    or diag(join "\n", @wrong[0 .. ($#wrong < 19 ? $#wrong : 19)]);
--- request
GET /public/x?tag=0&ms=1
--- response_body
tag=0 subject=
--- response_headers
X-Seen-Subject:
X-Seen-Id:
--- error_log eval
qr/\[info\] .*\[session\] no session for cookie "session": /
