# The njs floor guard (src/nginx/floor.ts): session.js refuses an njs older than its floor with one
# line, "njs-session needs njs >= X; this nginx has njs Y", before any lazy part of the bundle is built
# (every entry point but stateFromHeader builds one).
#
# No nginx here is older than the floor (that is build/below-floor.sh, on the host's Debian 12 njs
# 0.7.9, which cannot even compile the bundle). So the test raises the floor instead: a copy of
# dist/session.js whose floor is 99.0.0, loaded the way a user loads the real one (njs-session.conf
# imports "session.js" from js_path). Every request that calls an entry point then fails with the line;
# the real bundle under the same configuration answers.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest qw(logged);
use File::Temp qw(tempdir);

our $SECRET = 'njs-floor-secret-61d0c4';
our $VERSION = $ENV{TEST_NGINX_NJS_VERSION} // die "TEST_NGINX_NJS_VERSION is not set (run through build/prove.sh)\n";

# dist/session.js with its floor raised to 99.0.0 (0x630000), in a directory of its own (not dist/,
# which other runs read; not the server root, which Test::Nginx empties).
my $dist = "$ENV{TEST_NGINX_REPO_DIR}/dist/session.js";
open my $in, '<:raw', $dist or die "cannot read $dist: $!\n";
my $bundle = do { local $/; <$in> };
close $in;
# The build inlines constants (esbuild's syntax minification), so the number may stand in the
# comparison itself rather than in a declaration of its own: either form, found exactly once.
my $text = qq{var NJS_FLOOR = "0.8.9";};
my $number = $bundle =~ /\Qvar NJS_FLOOR_NUMBER = 2057;\E/ ? qq{var NJS_FLOOR_NUMBER = 2057;} : qq{njs.version_number < 2057};
for my $constant ($text, $number) {
    my $count = () = $bundle =~ /\Q$constant\E/g;
    die "dist/session.js: the floor constant `$constant` of src/nginx/floor.ts not found once (found $count): update t/210\n"
        unless $count == 1;
}
$bundle =~ s/\Q$text\E/var NJS_FLOOR = "99.0.0";/;
(my $raised = $number) =~ s/2057/6488064/;
$bundle =~ s/\Q$number\E/$raised/;
our $RAISED = tempdir(CLEANUP => 1);
chmod 0755, $RAISED;
open my $out, '>:raw', "$RAISED/session.js" or die "cannot write $RAISED/session.js: $!\n";
print $out $bundle;
close $out;

# The same line under both engines: the check runs in a call, whose exception QuickJS logs too (one it
# dropped while the module was evaluated, when the check ran at the top level).
our $REFUSAL = qr/\[error\].*\Qnjs-session needs njs >= 99.0.0; this nginx has njs $VERSION\E/;

# nginx as a user configures it (njs-session.conf at the http level), with js_path naming the
# directory of the bundle under test: not EntryTest::setup(), whose js_path always names dist/.
$ENV{FLOOR_SECRET} = $SECRET;
add_block_preprocessor(sub {
    my $block = shift;
    $::Block = $block;
    $block->set_value('main_config', "load_module \$TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;\n"
        . "env NJS_SESSION_CONFIG=\$TEST_NGINX_SERVROOT/html/session.json;\nenv FLOOR_SECRET;\n");
    $block->set_value('http_config', "    js_engine \$TEST_NGINX_JS_ENGINE;\n"
        . "    js_path " . $block->bundle_dir . "/;\n"
        . "    include \$TEST_NGINX_REPO_DIR/nginx/njs-session.conf;\n"
        . "    variables_hash_max_size 2048;\n");
    $block->set_value('config', "    location = /check { js_content session.authRequest; }\n");
    $block->set_value('user_files', qq{>>> session.json\n{"secret": {"env": "FLOOR_SECRET"}}\n});
    $block->set_value('log_level', 'info');
    $block->set_value('init', "package main;\n" . $block->init) if defined $block->init;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an njs below the floor: every request that calls session.js is a 500 with the one line naming both versions
--- bundle_dir eval: $main::RAISED
--- init
for my $round (1, 2) {
    my ($res, $log) = logged('GET', '/check');
    is($res->{status}, 500, "request $round: 500");
    my @lines = grep { /njs-session needs/ } split /\n/, $log;
    is(scalar @lines, 1, "request $round: one line");
    like($lines[0] // '', $main::REFUSAL, "request $round: the refusal");
}
--- request
GET /check
--- error_code: 500
--- error_log eval
$main::REFUSAL
--- no_error_log
[warn]
[crit]
[emerg]



=== TEST 2: the same configuration with the real bundle (floor 0.8.9) answers: no session, 401
--- bundle_dir eval: "$ENV{TEST_NGINX_REPO_DIR}/dist"
--- request
GET /check
--- error_code: 401
--- no_error_log
njs-session needs
[error]
