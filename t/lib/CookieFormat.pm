package CookieFormat;
# The lua-resty-session 4.x cookie format in plain Perl, for checks independent of our njs code:
# base64url without padding, and HKDF-SHA256 with an empty salt (RFC 5869) as the peer derives keys.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(decode_base64 encode_base64);
use Exporter 'import';

our @EXPORT = qw(b64url_decode b64url_encode hkdf);

# undef for text that is not base64url (other characters, or a length no encoding produces).
sub b64url_decode {
    my $text = shift;
    return undef if $text !~ /^[A-Za-z0-9_-]*$/ || length($text) % 4 == 1;
    $text =~ tr{-_}{+/};
    return decode_base64($text . '=' x ((4 - length($text) % 4) % 4));
}

sub b64url_encode {
    my $text = encode_base64(shift, '');
    $text =~ tr{+/}{-_};
    $text =~ s/=+$//;
    return $text;
}

sub hkdf {
    my ($ikm, $info, $size) = @_;
    my $prk = hmac_sha256($ikm, "\0" x 32);
    my ($block, $out, $i) = ('', '', 1);
    while (length($out) < $size) {
        $block = hmac_sha256($block . $info . chr($i++), $prk);
        $out .= $block;
    }
    return substr($out, 0, $size);
}

1;
