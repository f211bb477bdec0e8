package Cwai::Chatwoot;
# Helpers for tests: Chatwoot fixtures and signed webhook requests.
# Works under both CPAN's Test::Nginx and our t/compat runner.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use Exporter 'import';

our @EXPORT = qw(fixture wire signed_headers hook_request webhook_json $SECRET);

our $SECRET = 'Rk8vX2mP9qT4wZ7nC3bH6jYs';

# t/fixtures/<path>, raw bytes
sub fixture {
    my ($path) = @_;
    open my $fh, '<:raw', "t/fixtures/$path" or die "fixture $path: $!";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

# A pretty-printed fixture re-encoded compactly the way Chatwoot sends it,
# optionally with changes: wire('file.json', sub { $_[0]{id} = 5 })
sub wire {
    my ($name, $edit) = @_;
    require JSON::PP;
    my $json = JSON::PP->new->utf8->canonical(0);
    my $doc = $json->decode(fixture("chatwoot/$name"));
    $edit->($doc) if $edit;
    return $json->encode($doc);
}

# Header lines for a signed delivery.
sub signed_headers {
    my ($body, %o) = @_;
    my $ts = $o{ts} // time;
    my $secret = $o{secret} // $SECRET;
    my $sig = 'sha256=' . hmac_sha256_hex("$ts.$body", $secret);
    my $h = "Content-Type: application/json\n"
          . "X-Chatwoot-Timestamp: $ts\n"
          . "X-Chatwoot-Signature: $sig\n";
    $h .= "X-Chatwoot-Delivery: $o{delivery}\n" if defined $o{delivery};
    return $h;
}

# "POST /uri\n<body>" for --- request eval
sub hook_request {
    my ($uri, $body) = @_;
    return "POST $uri\n$body";
}

1;
