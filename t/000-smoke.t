# Smoke test of the real nginx + njs under the engine selected by
# TEST_NGINX_JS_ENGINE (njs | qjs). Run it through build/prove.sh, which runs
# every t/*.t once per engine inside the provisioned rootfs.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use JSON::PP qw(decode_json);

# Absolute repo root, from this file's own location (the cwd may differ when
# prove is run by hand). $TEST_NGINX_* variables are expanded by Test::Nginx
# inside the config sections.
$ENV{TEST_NGINX_REPO_DIR} //= dirname(dirname(abs_path(__FILE__)));
# Defaults so that a bare `prove t/000-smoke.t` inside the rootfs works too.
$ENV{TEST_NGINX_JS_ENGINE} //= 'njs';
$ENV{TEST_NGINX_MODULES_DIR} //= '/usr/lib/nginx/modules';

# What njs.engine reports for each js_engine value. An unknown engine is a
# setup error, not something to test around.
our $ExpectedEngine = { njs => 'njs', qjs => 'QuickJS' }->{ $ENV{TEST_NGINX_JS_ENGINE} }
    // die "TEST_NGINX_JS_ENGINE must be njs or qjs, not '$ENV{TEST_NGINX_JS_ENGINE}'\n";

# Cases for TEST 4, the pattern for data-driven tests: several requests in one
# block (one nginx start), each with its own headers and expectations. Real
# suites would read a file instead, e.g.
#   open my $fh, '<', "$ENV{TEST_NGINX_REPO_DIR}/test/vectors/x.json" or die $!;
#   our @cases = @{ decode_json(do { local $/; <$fh> })->{vectors} };
our @cases = @{ decode_json(<<'JSON') };
[
  { "name": "lower",   "header": "abc",   "status": 200, "body": "ABC\n", "seen": "abc" },
  { "name": "mixed",   "header": "MiXeD", "status": 200, "body": "MIXED\n", "seen": "MiXeD" },
  { "name": "missing", "header": null,    "status": 400, "body": "missing X-Case\n", "seen": null }
]
JSON

# Every block loads the js module and imports t/js/smoke.js under the engine
# being tested, unless it brings its own main_config/http_config.
add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->main_config) {
        $block->set_value('main_config',
            'load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;');
    }
    if (!defined $block->http_config) {
        $block->set_value('http_config', <<'_EOC_');
    js_engine $TEST_NGINX_JS_ENGINE;
    js_import smoke from $TEST_NGINX_REPO_DIR/t/js/smoke.js;
_EOC_
    }
    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value('no_error_log', "[error]\n[alert]\n[emerg]");
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the engine running the code is the one selected by js_engine
--- config
    location = /engine {
        js_content smoke.hello;
    }
--- request
GET /engine
--- response_body eval
"$::ExpectedEngine\n"



=== TEST 2: async handler awaiting crypto.subtle.digest (SHA-256 of "abc")
--- config
    location = /digest {
        js_content smoke.digest;
    }
--- request
GET /digest?text=abc
--- response_body
ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad



=== TEST 3: SHA-256 of the empty input
--- config
    location = /digest {
        js_content smoke.digest;
    }
--- request
GET /digest
--- response_body
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855



=== TEST 4: many requests in one block, per-request headers, data from JSON
--- config
    location = /echo {
        js_content smoke.echoHeader;
    }
--- request eval
[ map { "GET /echo" } @::cases ]
--- more_headers eval
[ map { defined $_->{header} ? "X-Case: $_->{header}" : "" } @::cases ]
--- error_code eval
[ map { $_->{status} } @::cases ]
--- response_headers eval
[ map { defined $_->{seen} ? "X-Seen: $_->{seen}" : "!X-Seen" } @::cases ]
--- response_body eval
[ map { $_->{body} } @::cases ]
