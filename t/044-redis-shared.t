# Decisions two nginx instances take as one through a shared Redis
# (t/lib/Cwai/Redis.pm starts a real redis-server): a burst of messages
# split across them is answered once, by the instance that got the last one,
# with all its messages (chatwootai_debounce); a contact's rate-limit bucket
# counts the messages of both (chatwootai_rate_limit). Redis down: each
# instance decides alone, and nothing fails.
use utf8;
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;
use Cwai::Redis;
use Cwai::Fake;
use Cwd ();
use File::Basename ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

sub msg { my ($text, $id, $conv) = @_;
          wire('message_created_incoming_whatsapp.json', sub {
              $_[0]{content} = $text; $_[0]{id} = $id; $_[0]{conversation}{id} = $conv }) }

# "qto ta" alone has no product: the price needs the bubble the other
# instance received
our $B1 = msg('oi', 3001, 720);
our $B2 = msg('vcs tem serum de vitamina c?', 3002, 720);
our $B3 = msg('qto ta', 3003, 720);
# Chatwoot's workers may deliver out of order: the later arrival, with
# the smaller id, is the burst's latest
our $D1 = msg('vcs tem serum de vitamina c?', 3402, 725);
our $D2 = msg('qto ta', 3401, 725);
our $C1 = msg('quanto custa o sérum de vitamina C?', 3101, 730);
our $C2 = msg('qual o prazo para trocar um produto?', 3102, 730);
# one contact (the fixture's sender, 1042), two conversations
our $ASK1 = msg('qual o prazo para trocar um produto?', 3201, 741);
our $FAQ2 = msg('vocês aceitam pix? tem desconto?', 3202, 742);
our $ASK3 = msg('qual o prazo para trocar um produto?', 3301, 751);
our $FAQ4 = msg('vocês aceitam pix? tem desconto?', 3302, 752);

our $ACCEPTED = qr/^\{"status":"accepted"/;

# Sends webhooks back to back, each on its own connection, to the main
# nginx ('main') or the peer ('peer', through the main one's /peer/), as
# Chatwoot's workers do behind a load balancer; a fake's route callback.
sub burst {
    my @sends = @_;
    return sub {
        require IO::Socket::INET;
        while (my ($to, $b) = splice(@sends, 0, 2)) {
            my $uri = $to eq 'peer' ? '/peer/hook' : '/hook';
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $ENV{TEST_NGINX_SERVER_PORT} || 1984)
                or return { status => 500, body => "connect: $!" };
            binmode $s;
            print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   . "Content-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b";
            local $/;
            my $resp = <$s>;
            return { status => 500, body => "no ack from $to: $resp" }
                unless $resp =~ /"status":"accepted"/;
        }
        return { status => 200, body => "sent\n" };
    };
}

# the webhook of an instance named NAME (its replies say who posted them)
sub hook {
    my ($name, $extra) = @_;
    return <<_EOC_;
        location = /hook {
            chatwootai_webhook;
            chatwootai_webhook_auth off;
            chatwootai_chatwoot /_cwai/chatwoot;
            chatwootai_cache_ttl 0;
            $extra
        }
        location /_cwai/openai/ {
            internal;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_FAKE_OPENAI_PORT/;
            proxy_buffering off;
        }
        location /_cwai/chatwoot/ {
            internal;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_FAKE_CHATWOOT_PORT/;
            proxy_buffering off;
            proxy_set_header Api-Access-Token bot-token;
            proxy_set_header X-Instance $name;
        }
        location = /status { chatwootai_status; }
_EOC_
}

our $HTTP = <<'_EOC_';
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    my $extra = $block->hook_extra // '';
    $block->set_value('http_config', $HTTP);
    $block->set_value('peer_http_config', $HTTP);
    $block->set_value('config', hook('main', $extra) . <<'_EOC_');
    location /peer/ { proxy_pass http://127.0.0.1:$TEST_NGINX_PEER_PORT/; }
    location /redis-ctl/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL_PORT/;
        proxy_set_header X-Status-Url http://127.0.0.1:$server_port/status;
        proxy_read_timeout 10s;
    }
    location = /burst { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/burst; }
    location = /sleep { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/sleep; }
_EOC_
    $block->set_value('peer_config', hook('peer', $extra));
    $block->set_value('more_headers', "Content-Type: application/json\n");
});

# the customer messages the model was asked about (its user turns)
sub asked { my ($reqs) = @_;
            my %seen;
            for my $r (grep { $_->{fake} eq 'openai' } @$reqs) {
                for my $m (@{ $r->{json}{messages} || [] }) {
                    $seen{$1} = 1 if $m->{role} eq 'user' && ($m->{content} // '') =~
                        /(prazo para trocar|aceitam pix)/;
                }
            }
            return \%seen }
sub posts { my ($reqs, $conv) = @_;
            grep { $_->{fake} eq 'chatwoot'
                   && $_->{path} =~ m{/conversations/$conv/messages$} } @$reqs }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a burst split across two instances: one answer, by the peer that got the last bubble, reading all three
--- hook_extra
chatwootai_debounce 1s;
--- fake eval
{ openai => {},
  chatwoot => { routes => {
      'GET /burst' => ::burst(main => $::B1, main => $::B2, peer => $::B3),
      'GET /sleep' => { delay => 1800, body => "ok\n" } } } }
--- redis_action
wait up
wait up /peer/status
--- request eval
["GET /burst", "GET /sleep", "GET /status", "GET /peer/status",
 "GET /redis-ctl/cmd/GET/cwai:b:7:720"]
--- response_body_like eval
["sent", "ok", 'chatwootai_merged_total\{zone="cwai"\} 2\n',
 'chatwootai_merged_total\{zone="cwai"\} 0\n', '^3003!$']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my @p = ::posts($reqs, 720);
    die "expected one reply, got " . @p . "\n" unless @p == 1;
    die "answered by $p[0]{headers}{'x-instance'}, not the peer\n"
        unless $p[0]{headers}{'x-instance'} eq 'peer';
    die "not the burst's answer (echo_id $p[0]{json}{echo_id})\n"
        unless $p[0]{json}{echo_id} eq 'cwai-3003';
    die "the answer lacks the price the bubbles asked together: $p[0]{json}{content}\n"
        unless $p[0]{json}{content} =~ /R\$ 89,90/;
}
--- no_error_log
[error]



=== TEST 2: the same with the default quiet window (2 s), the last bubble on the main instance
--- fake eval
{ openai => {},
  chatwoot => { routes => {
      'GET /burst' => ::burst(peer => $::B1, peer => $::B2, main => $::B3),
      'GET /sleep' => { delay => 2800, body => "ok\n" } } } }
--- redis_action
flushall
wait up
wait up /peer/status
--- request eval
["GET /burst", "GET /sleep", "GET /peer/status"]
--- response_body_like eval
["sent", "ok", 'chatwootai_merged_total\{zone="cwai"\} 2\n']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my ($burst) = grep { $_->{path} eq '/burst' } @$reqs;
    my @p = ::posts($reqs, 720);
    die "expected one reply, got " . @p . "\n" unless @p == 1;
    die "answered by $p[0]{headers}{'x-instance'}\n" unless $p[0]{headers}{'x-instance'} eq 'main';
    die "not the burst's answer: $p[0]{json}{content}\n"
        unless $p[0]{json}{echo_id} eq 'cwai-3003' && $p[0]{json}{content} =~ /R\$ 89,90/;
    my $after = $p[0]{time} - $burst->{time};
    die sprintf("answered %.2f s after the burst began\n", $after) unless $after >= 2;
}
--- no_error_log
[error]



=== TEST 3: delivered out of order across instances: the last to arrive answers, once
--- hook_extra
chatwootai_debounce 1s;
--- fake eval
{ openai => {},
  chatwoot => { routes => {
      'GET /burst' => ::burst(main => $::D1, peer => $::D2),
      'GET /sleep' => { delay => 1800, body => "ok\n" } } } }
--- redis_action
wait up
wait up /peer/status
--- request eval
["GET /burst", "GET /sleep", "GET /status", "GET /redis-ctl/cmd/GET/cwai:b:7:725"]
--- response_body_like eval
["sent", "ok", 'chatwootai_merged_total\{zone="cwai"\} 1\n', '^3401!$']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my @p = ::posts($reqs, 725);
    die "expected one reply, got " . @p . "\n" unless @p == 1;
    die "not the peer's answer to both bubbles: $p[0]{json}{content}\n"
        unless $p[0]{headers}{'x-instance'} eq 'peer' && $p[0]{json}{echo_id} eq 'cwai-3401'
               && $p[0]{json}{content} =~ /R\$ 89,90/;
}
--- no_error_log
[error]



=== TEST 4: Redis down: each instance answers the bubbles it got, none merged
--- hook_extra
chatwootai_debounce 1s;
--- fake eval
{ openai => {},
  chatwoot => { routes => {
      'GET /burst' => ::burst(main => $::C1, peer => $::C2),
      'GET /sleep' => { delay => 2000, body => "ok\n" } } } }
--- redis_action
wait up
wait up /peer/status
kill
wait down
wait down /peer/status
--- request eval
["GET /burst", "GET /sleep", "GET /status", "GET /peer/status"]
--- response_body_like eval
["sent", "ok", 'chatwootai_merged_total\{zone="cwai"\} 0\n(?s:.*)chatwootai_redis_up 0\n',
 'chatwootai_merged_total\{zone="cwai"\} 0\n']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my %by = map { ($_->{headers}{'x-instance'} => $_->{json}) }
             grep { !$_->{json}{private} } ::posts($reqs, 730);
    die "the main instance did not answer its message\n"
        unless $by{main} && $by{main}{echo_id} eq 'cwai-3101';
    die "the peer did not answer its message\n"
        unless $by{peer} && $by{peer}{echo_id} eq 'cwai-3102';
}
--- no_error_log
[error]



=== TEST 5: a contact over the rate limit on the sum of both instances: the peer answers without the model
--- hook_extra
chatwootai_debounce off;
chatwootai_rate_limit 1/m;
chatwootai_llm /_cwai/openai model=gpt-4.1-mini max_tokens=300;
chatwootai_confidence answer=1.01 fallback=0.6;
--- fake eval
{ openai => {},
  chatwoot => { routes => { 'GET /sleep' => { delay => 700, body => "ok\n" } } } }
--- redis_action
start
wait up
wait up /peer/status
--- request eval
["POST /hook\n$::ASK1", "GET /sleep", "POST /peer/hook\n$::FAQ2", "GET /sleep",
 "GET /peer/status", "GET /redis-ctl/cmd/PTTL/cwai:r:7:1042"]
--- response_body_like eval
[$::ACCEPTED, "ok", $::ACCEPTED, "ok",
 'chatwootai_rate_limited_total\{zone="cwai"\} 1\n', '^[1-6]\d{4}$']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was not asked about the first message\n" unless $asked->{'prazo para trocar'};
    die "the model was asked about the message over the shared limit\n" if $asked->{'aceitam pix'};
    my @p = ::posts($reqs, 742);
    die "no answer to the rate-limited message\n" unless @p;
    die "not the peer's embedded answer: $p[0]{json}{content}\n"
        unless $p[0]{headers}{'x-instance'} eq 'peer' && $p[0]{json}{content} =~ /5%/;
}
--- no_error_log
[error]



=== TEST 6: Redis down: each instance has its own bucket, both messages go to the model
--- hook_extra
chatwootai_debounce off;
chatwootai_rate_limit 1/m;
chatwootai_llm /_cwai/openai model=gpt-4.1-mini max_tokens=300;
chatwootai_confidence answer=1.01 fallback=0.6;
--- fake eval
{ openai => {},
  chatwoot => { routes => { 'GET /sleep' => { delay => 700, body => "ok\n" } } } }
--- redis_action
wait up
wait up /peer/status
kill
wait down
wait down /peer/status
--- request eval
["POST /hook\n$::ASK3", "GET /sleep", "POST /peer/hook\n$::FAQ4", "GET /sleep",
 "GET /peer/status"]
--- response_body_like eval
[$::ACCEPTED, "ok", $::ACCEPTED, "ok", 'chatwootai_rate_limited_total\{zone="cwai"\} 0\n']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was not asked about both messages: @{[ sort keys %$asked ]}\n"
        unless $asked->{'prazo para trocar'} && $asked->{'aceitam pix'};
}
--- no_error_log
[error]



=== TEST 7: Redis back: the shared bucket again
--- hook_extra
chatwootai_debounce off;
chatwootai_rate_limit 1/m;
chatwootai_llm /_cwai/openai model=gpt-4.1-mini max_tokens=300;
chatwootai_confidence answer=1.01 fallback=0.6;
--- fake eval
{ openai => {},
  chatwoot => { routes => { 'GET /sleep' => { delay => 700, body => "ok\n" } } } }
--- redis_action
start
wait up
wait up /peer/status
--- request eval
["POST /peer/hook\n$::ASK3", "GET /sleep", "POST /hook\n$::FAQ4", "GET /sleep",
 "GET /status"]
--- response_body_like eval
[$::ACCEPTED, "ok", $::ACCEPTED, "ok", 'chatwootai_rate_limited_total\{zone="cwai"\} 1\n']
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was not asked about the first message\n" unless $asked->{'prazo para trocar'};
    die "the model was asked over the shared limit\n" if $asked->{'aceitam pix'};
}
--- no_error_log
[error]
