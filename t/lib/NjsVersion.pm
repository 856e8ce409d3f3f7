package NjsVersion;
# Skips the blocks of a .t file that the njs under test is too old for, each with a reason, so that
# the same files run on the newest njs and on the floor (Debian trixie's njs 0.8.9, build/prove.sh
# with NJS_SESSION_FLOOR=1). Loaded by SessionTest.pm and EntryTest.pm; nothing to call.
#
# What a block needs is read from its nginx configuration (the directives below: a directive njs
# does not know fails the whole nginx start, so the block cannot run at all), or declared by the
# block when the need is inside JavaScript:
#     --- needs_njs: 0.9.9 r.readRequestText() in js_access
# The njs version comes from TEST_NGINX_NJS_VERSION (build/prove.sh sets it from the nginx under
# test); without it nothing is skipped.
#
# A skipped block is an "ok N # skip" line naming what it needs, and the file ends with one
# diagnostic line per reason (prove shows those even without -v), so a floor run says what it left out.
use strict;
use warnings;
use Test::More ();
use Test::Nginx::Socket ();

# Directive (or directive parameter) => [first njs that has it, what to call it].
our @DIRECTIVE_NEEDS = (
    [qr/\bjs_access\b/,                          '0.9.9', 'js_access'],
    [qr/\bjs_fetch_proxy\b/,                     '0.9.4', 'js_fetch_proxy'],
    [qr/\bjs_fetch_keepalive\b/,                 '0.9.2', 'js_fetch_keepalive'],
    [qr/\bjs_shared_dict_zone\b[^;]*\bstate=/,   '0.9.1', 'js_shared_dict_zone state='],
);

our $VERSION_UNDER_TEST = $ENV{TEST_NGINX_NJS_VERSION};
die "TEST_NGINX_NJS_VERSION='$VERSION_UNDER_TEST' is not a version like 0.8.9\n"
    if defined $VERSION_UNDER_TEST && $VERSION_UNDER_TEST !~ /^\d+\.\d+\.\d+$/;

my %skipped;    # reason => number of blocks

# True unless the njs under test is known to be older than $version.
sub at_least {
    my ($version) = @_;
    return !defined $VERSION_UNDER_TEST || compare($VERSION_UNDER_TEST, $version) >= 0;
}

# -1, 0, 1 like <=> for dotted versions.
sub compare {
    my @a = split /\./, $_[0];
    my @b = split /\./, $_[1];
    for my $i (0 .. 2) {
        my $c = ($a[$i] // 0) <=> ($b[$i] // 0);
        return $c if $c;
    }
    return 0;
}

# The newest [version, what] this block needs, or undef.
sub block_needs {
    my ($block) = @_;
    my @needs;
    if (defined(my $declared = $block->needs_njs)) {
        my ($version, $what) = $declared =~ /^\s*(\d+\.\d+\.\d+)\s+(\S.*?)\s*$/
            or die $block->name . ": --- needs_njs must be 'VERSION what needs it', not '$declared'\n";
        push @needs, [$version, $what];
    }
    my $nginx_conf = join "\n", map { $_ // '' } $block->main_config, $block->http_config, $block->config;
    push @needs, directive_needs($nginx_conf);
    my ($newest) = sort { compare($b->[0], $a->[0]) } @needs;
    return $newest;
}

# [version, directive] for each directive of @DIRECTIVE_NEEDS in this nginx configuration text.
sub directive_needs {
    my ($nginx_conf) = @_;
    $nginx_conf =~ s/#.*$//mg;    # "(no js_access)" in a comment is not a directive
    return map { [$_->[1], $_->[2]] } grep { $nginx_conf =~ $_->[0] } @DIRECTIVE_NEEDS;
}

# Why the njs under test cannot load this nginx configuration text, or undef if it can.
sub too_old_for {
    my ($nginx_conf) = @_;
    return undef unless defined $VERSION_UNDER_TEST;
    my ($newest) = sort { compare($b->[0], $a->[0]) } directive_needs($nginx_conf);
    return undef if !$newest || compare($VERSION_UNDER_TEST, $newest->[0]) >= 0;
    return "$newest->[1] needs njs >= $newest->[0]; this nginx has njs $VERSION_UNDER_TEST";
}

# Runs after the set-up preprocessors (it is added first, and Test::Nginx runs the newest first), so
# it sees the complete configuration.
Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    return unless defined $VERSION_UNDER_TEST;
    my $needs = block_needs($block) or return;
    return if compare($VERSION_UNDER_TEST, $needs->[0]) >= 0;
    my $reason = "$needs->[1] needs njs >= $needs->[0]";
    $skipped{$reason}++;
    # SKIP, not skip_eval: Test::Nginx runs a block's --- init even when skip_eval skips it.
    $block->set_value('SKIP', 1);
    SKIP: { Test::More::skip($block->name . " - $reason; this nginx has njs $VERSION_UNDER_TEST", 1) }
});

END {
    for my $reason (sort keys %skipped) {
        Test::More::diag("skipped $skipped{$reason} block(s) of $0 under njs $VERSION_UNDER_TEST: $reason");
    }
}

1;
