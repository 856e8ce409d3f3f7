# A {"file": PATH} secret is read by nginx's worker processes, not by root: a file only root can read
# fails every protected request closed (500) with an error line saying why and for whom ("permission
# denied for user nobody (uid 65534)"), never the file's contents. The workers run as `nobody` here
# (Test::Nginx's worker_user; a master process, since `user` only applies to workers), the secret
# file is root's, mode 0600, as a 0600 root-owned /run/secrets/session would be.
use strict;
use warnings;
use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use EntryTest;
use File::Temp qw(tempdir);

our $SECRET = 'secret-file-user-env-8c1f0a';
our $FILE_SECRET = 'secret-file-user-contents-2e9d47';

if ($> != 0 || !getpwnam('nobody') || !getgrnam('nogroup')) {
    plan(skip_all => 'needs root, a user "nobody" and a group "nogroup" (workers must run as another user than the file owner)');
}

# Readable by root alone; the directory is open, so only the file's own mode refuses.
our $DIR = tempdir(CLEANUP => 1);
chmod 0755, $DIR;
open my $out, '>', "$DIR/session" or die "cannot write $DIR/session: $!\n";
print $out "$FILE_SECRET\n";
close $out;
chmod 0600, "$DIR/session";
$ENV{TEST_NGINX_SECRET_FILE} = "$DIR/session";

EntryTest::setup(secret => $SECRET, hidden => [$FILE_SECRET]);
$Test::Nginx::Util::WorkerUser = 'nobody nogroup';    # Debian: nobody's group is nogroup
add_block_preprocessor(sub {
    Test::Nginx::Util::master_on();
    Test::Nginx::Util::workers(1);
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a 0600 root secret file: 500, and the error names the workers' user
--- session_json
{"secret": {"file": "$TEST_NGINX_SECRET_FILE"}}
--- config
    location /app/ {
        js_access session.access;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_up/;
    }
--- request
GET /app/x
--- error_code: 500
--- error_log eval
qr{invalid session configuration: secret: cannot read \S+/session: permission denied for user nobody \(uid \d+\) \(nginx's worker processes read it; make it readable by their user, `user` in nginx\.conf\)}
--- no_error_log
[alert]
[emerg]
unexpected error
secret-file-user-contents-2e9d47
