package SessionTest;
# Use after `use Test::Nginx::Socket 'no_plan';` in a .t file.
# Shared set-up of the njs-session Test::Nginx files: loads the js module, selects the engine under test
# ($TEST_NGINX_JS_ENGINE, set by build/prove.sh), imports dist/test-harness.js (and dist/session.js),
# and gives helpers to read the interoperability vectors in test/vectors.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use JSON::PP ();
use Test::Nginx::Socket ();
use NjsVersion ();    # skips the blocks the njs under test is too old for
use Exporter 'import';

our @EXPORT = qw(load_vectors json_encode request_body engine_name);

$ENV{TEST_NGINX_REPO_DIR} //= dirname(dirname(dirname(abs_path(__FILE__))));
$ENV{TEST_NGINX_JS_ENGINE} //= 'njs';
$ENV{TEST_NGINX_MODULES_DIR} //= '/usr/lib/nginx/modules';

my $JSON = JSON::PP->new->canonical->utf8;

sub json_encode { $JSON->encode($_[0]) }

sub engine_name {
    return { njs => 'njs', qjs => 'QuickJS' }->{ $ENV{TEST_NGINX_JS_ENGINE} }
        // die "TEST_NGINX_JS_ENGINE must be njs or qjs\n";
}

sub load_vectors {
    my $path = "$ENV{TEST_NGINX_REPO_DIR}/test/vectors/lua-resty-session-4.1.5.json";
    open my $fh, '<:raw', $path or die "cannot read the interoperability vectors at $path: $!\n";
    my $doc = JSON::PP->new->utf8->decode(do { local $/; <$fh> });
    return @{ $doc->{vectors} };
}

# A POST request line plus its JSON body, for the harness handlers.
sub request_body {
    my ($uri, $body) = @_;
    return "POST $uri\n" . json_encode($body);
}

Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('main_config', 'load_module $TEST_NGINX_MODULES_DIR/ngx_http_js_module.so;')
        unless defined $block->main_config;
    my $http = <<'_EOC_';
    js_engine $TEST_NGINX_JS_ENGINE;
    js_import harness from $TEST_NGINX_REPO_DIR/dist/test-harness.js;
    js_import session from $TEST_NGINX_REPO_DIR/dist/session.js;
    # Chunked sessions send up to 9 x 4 KiB of cookies; the bad-input tests send 64 KiB.
    large_client_header_buffers 4 96k;
    client_body_buffer_size 256k;
    client_max_body_size 1m;
_EOC_
    $block->set_value('http_config', $http . ($block->http_config // ''));
    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value('no_error_log', "[error]\n[alert]\n[emerg]");
    }
});

1;
