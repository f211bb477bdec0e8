# chatwootai_debounce: a burst of short messages gets one answer, once the
# customer has stopped typing for the quiet window.
use utf8;
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Fake;
use Cwai::Chatwoot;
use Cwd ();
use File::Basename ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

sub msg { my ($text, $id, $conv) = @_;
          wire('message_created_incoming_whatsapp.json', sub {
              $_[0]{content} = $text; $_[0]{id} = $id; $_[0]{conversation}{id} = $conv }) }

our $B1 = msg('oi', 2001, 700);
our $B2 = msg('vcs tem serum de vitamina c?', 2002, 700);
our $B3 = msg('qto ta', 2003, 700);
our $OTHER = msg('quanto custa o sérum de vitamina C?', 2004, 701);

# Sends webhooks to the nginx under test back to back, each on its own
# connection, as Chatwoot's workers do (a test client's requests in a block
# are too far apart for a burst); used as a fake's route callback.
sub burst {
    my @bodies = @_;
    my $after = ref $bodies[-1] eq 'HASH' ? pop(@bodies)->{sleep} : 0;
    return sub {
        require IO::Socket::INET;
        for my $b (@bodies) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $ENV{TEST_NGINX_SERVER_PORT} || 1984)
                or return { status => 500, body => "connect: $!" };
            binmode $s;
            print $s "POST /hook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   . "Content-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b";
            local $/;
            my $resp = <$s>;
            return { status => 500, body => "no ack: $resp" } unless $resp =~ /"status":"accepted"/;
        }
        select(undef, undef, undef, $after) if $after;    # past the quiet window
        return { status => 200, body => "sent " . scalar(@bodies) . "\n" };
    };
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_');
    chatwootai_zone cwai 4m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
_EOC_
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_chatwoot /_cwai/chatwoot;
        chatwootai_debounce 700ms;
    }
    location /_cwai/chatwoot/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/;
        proxy_buffering off;
    }
    location = /status { chatwootai_status; }
    location = /burst { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/burst; }
_EOC_
    $block->set_value('more_headers', "Content-Type: application/json\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: three bubbles, one answer that reads them together
--- fake eval
{ chatwoot => { routes => { 'GET /burst' => ::burst($::B1, $::B2, $::B3) } } }
--- request
GET /burst
--- response_body
sent 3
--- wait: 1.5
--- fake_requests eval
[ 'chatwoot GET /burst',
  { fake => 'chatwoot', path => '/api/v1/accounts/3/conversations/700/messages',
    json => { content => qr/R\$ 89,90/, echo_id => 'cwai-2003' } } ]



=== TEST 2: other conversations are not held by a burst
--- fake eval
{ chatwoot => { routes => { 'GET /burst' => ::burst($::B1, $::OTHER, $::B3) } } }
--- request
GET /burst
--- wait: 1.5
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my @posts = grep { $_->{path} =~ m{/messages$} } @$reqs;
    die "expected 2 replies (one per conversation), got " . @posts . "\n" unless @posts == 2;
    my %conv = map { ($_->{path} =~ m{/conversations/(\d+)/})[0] => 1 } @posts;
    die "replies went to " . join(',', sort keys %conv) . "\n" unless $conv{700} && $conv{701};
}



=== TEST 3: merged messages are counted
--- fake eval
{ chatwoot => { routes => { 'GET /burst' => ::burst($::B1, $::B2, { sleep => 1.5 }) } } }
--- request eval
["GET /burst", "GET /status"]
--- response_body_like eval
['sent 2', 'chatwootai_merged_total\{zone="cwai"\} 1']



=== TEST 4: the default quiet window is 2 s: one answer, 2 s after the burst
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_chatwoot /_cwai/chatwoot;
    }
    location /_cwai/chatwoot/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/;
        proxy_buffering off;
    }
    location = /burst { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/burst; }
--- fake eval
{ chatwoot => { routes => { 'GET /burst' => ::burst($::B1, $::B2, $::B3) } } }
--- request
GET /burst
--- response_body
sent 3
--- wait: 2.8
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my ($burst) = grep { $_->{path} eq '/burst' } @$reqs;
    my @posts = grep { $_->{path} =~ m{/messages$} } @$reqs;
    die "expected one reply, got " . @posts . "\n" unless @posts == 1;
    die "not the burst's answer: $posts[0]{json}{content}\n"
        unless $posts[0]{json}{echo_id} eq 'cwai-2003' && $posts[0]{json}{content} =~ /R\$ 89,90/;
    my $after = $posts[0]{time} - $burst->{time};
    die sprintf("answered %.2f s after the burst began\n", $after) unless $after >= 2 && $after < 2.7;
}



=== TEST 5: chatwootai_debounce 0 answers each message at once
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_chatwoot /_cwai/chatwoot;
        chatwootai_debounce 0;
    }
    location /_cwai/chatwoot/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/;
        proxy_buffering off;
    }
    location = /burst { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/burst; }
--- fake eval
{ chatwoot => { routes => { 'GET /burst' => ::burst($::OTHER) } } }
--- request
GET /burst
--- wait: 0.5
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my ($burst) = grep { $_->{path} eq '/burst' } @$reqs;
    my @posts = grep { $_->{path} =~ m{/messages$} } @$reqs;
    die "expected one reply, got " . @posts . "\n" unless @posts == 1;
    my $after = $posts[0]{time} - $burst->{time};
    die sprintf("answered %.2f s after the message\n", $after) unless $after < 0.5;
}



=== TEST 6: at most 10 s
--- config
    location = /hook { chatwootai_webhook; chatwootai_debounce 11s; }
--- must_die
--- error_log
"chatwootai_debounce" directive must be at most 10s
