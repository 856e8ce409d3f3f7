# The lua-resty-session 4.1.5 interoperability vectors, replayed inside a real nginx: every open case
# must give the peer's outcome (positive: exactly the recorded data, audience and subject; negative:
# refused), under the engine selected by TEST_NGINX_JS_ENGINE.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use SessionTest;

# Where we refuse for an earlier reason than the peer, on purpose (see test/unit/vectors.test.ts).
my %STRICTER = ('neg-truncated-payload' => 'invalid session payload');

our (@requests, @cookies, @bodies);
for my $vector (load_vectors()) {
    for my $open (@{ $vector->{opens} }) {
        my @names = $open->{use_cookies} ? @{ $open->{use_cookies} } : sort keys %{ $vector->{cookies} };
        push @cookies, 'Cookie: ' . join('; ', map { "$_=$vector->{cookies}{$_}" } @names);
        my %body = (options => $open->{config});
        $body{now} = $open->{now} if defined $open->{now};
        $body{store} = $vector->{store} if $vector->{store};
        if ($open->{expect} eq 'accept') {
            $body{expected} = $open->{expected};
            push @bodies, "accept: match\n";
        } else {
            my $reason = $STRICTER{ $vector->{id} } // $open->{peer_result}{err};
            $reason =~ s/ \(.*\)$//;
            push @bodies, "reject: $reason\n";
        }
        push @requests, request_body('/open', \%body);
    }
}
die "no vectors found\n" unless @requests > 40;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: every recorded open gives the peer's outcome
--- config
    location = /open {
        js_content harness.openCase;
    }
--- request eval
\@::requests
--- more_headers eval
\@::cookies
--- response_body eval
\@::bodies
--- error_code eval
[ map { 200 } @::requests ]
--- no_error_log
[error]
[alert]
