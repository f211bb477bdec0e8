# The durable queue: an acknowledged message survives the worker (or the
# nginx instance) that acknowledged it. The fake model kills the nginx
# process that calls it (kill_sender: SIGKILL, in the middle of the chain);
# the message is then resumed by another worker — from the L1 zone without
# Redis, from the Redis Stream with it — and answered exactly once.
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

sub msg { my ($id, $conv, $text) = @_;
    wire('message_created_incoming_whatsapp.json', sub {
        my $d = $_[0];
        $d->{id} = $id; $d->{conversation}{id} = $conv; $d->{content} = $text;
        $d->{sender}{phone_number} = '+5511987412365';
        $d->{sender}{name} = 'Mariana Alves Costa';
        $d->{conversation}{meta}{sender}{phone_number} = '+5511987412365' }) }

our $SHIP1 = msg(43001, 4301, 'qual o prazo de entrega para Curitiba?');
our $SHIP2 = msg(43002, 4302, 'qual o prazo de entrega para Curitiba?');
our $SHIP3 = msg(43003, 4303, 'qual o prazo de entrega para Curitiba?');
our $SHIP4 = msg(43004, 4304, 'qual o prazo de entrega para Curitiba?');
our $SHIP5 = msg(43005, 4305, 'qual o prazo de entrega para Curitiba?');
our $SHIP6 = msg(43006, 4306, 'qual o prazo de entrega para Curitiba?');
our $SHIP7 = msg(43007, 4307, 'qual o prazo de entrega para Curitiba?');
our $SHIP8 = msg(43008, 4308, 'qual o prazo de entrega para Curitiba?');
our $SHIP9 = msg(43009, 4309, 'qual o prazo de entrega para Curitiba?');

our $ACCEPTED = qr/^\{"status":"accepted"/;

# the model call dies with its worker, the resumed one gets the answer
our $KILL_THEN_ANSWER = { openai => { preset => 'openai', routes => {
    'POST /v1/chat/completions' => [
        { kill_sender => 'KILL' },
        { file => 'openai/chat-completion-final.json' } ] } },
  chatwoot => { preset => 'chatwoot' } };

# the location of both instances: the model always answers (answer=1.01)
our $HOOK = <<'_EOC_';
        location = /hook {
            chatwootai_webhook;
            chatwootai_webhook_auth off;
            chatwootai_llm /_cwai/openai model=gpt-4.1-mini max_tokens=300;
            chatwootai_chatwoot /_cwai/chatwoot;
            chatwootai_confidence answer=1.01 fallback=0.6;
            chatwootai_cache_ttl 0;
            chatwootai_debounce off;
        }
        location /_cwai/openai/ {
            internal;
            proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_OPENAI_PORT/;
            proxy_buffering off;
            proxy_read_timeout 10s;
        }
        location /_cwai/chatwoot/ {
            internal;
            proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/;
            proxy_buffering off;
            proxy_set_header Api-Access-Token bot-token;
        }
        location = /status { chatwootai_status; }
_EOC_

our $ZONE_ONLY = <<'_EOC_';
    chatwootai_zone cwai 4m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
    chatwootai_resume_after 1s;
_EOC_

our $WITH_REDIS = <<'_EOC_';
    chatwootai_zone cwai 4m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=200ms;
    chatwootai_resume_after 1s;
_EOC_

# one answer posted, with the model's words, in the conversation; the
# customer's message reached the model once per call (not remembered twice)
sub answered_once {
    my ($conv, $model_calls) = @_;
    return sub {
        my ($reqs) = @_;
        my @posts = grep { $_->{fake} eq 'chatwoot'
                           && $_->{path} =~ m{/conversations/$conv/messages$} } @$reqs;
        die "expected 1 reply, got " . @posts . "\n" unless @posts == 1;
        die "not the model's answer: $posts[0]{json}{content}\n"
            unless $posts[0]{json}{content} =~ /Curitiba/;
        my @llm = grep { $_->{fake} eq 'openai' } @$reqs;
        die "expected $model_calls model calls, got " . @llm . "\n"
            unless @llm == $model_calls;
        for my $l (@llm) {
            my $n = () = JSON::PP->new->canonical->encode($l->{json}{messages})
                         =~ /prazo de entrega para Curitiba/g;
            die "the customer's message reached the model $n times\n" if $n != 1;
        }
    };
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $::ZONE_ONLY) unless defined $block->http_config;
    $block->set_value('config', $::HOOK . <<'_EOC_') unless defined $block->config;
        location /peer/ { proxy_pass http://127.0.0.1:$TEST_NGINX_PEER_PORT/; }
        location /redis-ctl/ {
            proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL_PORT/;
            proxy_set_header X-Status-Url http://127.0.0.1:$server_port/status;
            proxy_read_timeout 10s;
        }
_EOC_
    $block->set_value('more_headers', "Content-Type: application/json\n")
        unless defined $block->more_headers;
});

master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: no Redis: the worker is killed in the middle of the chain; another worker answers, once
--- fake eval: $::KILL_THEN_ANSWER
--- request eval
["POST /hook\n$::SHIP1", "GET /redis-ctl/sleep?ms=3000", "GET /status"]
--- response_body_like eval
[$::ACCEPTED, qr//,
 qr/chatwootai_messages_total\{zone="cwai",outcome="replied"\} 1\n(?s:.*)chatwootai_resumed_total\{zone="cwai"\} 1\n(?s:.*)chatwootai_queue_records\{zone="cwai"\} 0\n/]
--- fake_requests eval: ::answered_once(4301, 2)
--- timeout: 10



=== TEST 2: a message that ends normally leaves no record (zone)
--- fake eval
{ openai => { preset => 'openai', routes => {
    'POST /v1/chat/completions' => { file => 'openai/chat-completion-final.json' } } },
  chatwoot => { preset => 'chatwoot' } }
--- request eval
["POST /hook\n$::SHIP2", "GET /redis-ctl/sleep?ms=1500", "GET /status"]
--- response_body_like eval
[$::ACCEPTED, qr//, qr/chatwootai_resumed_total\{zone="cwai"\} 0\n(?s:.*)chatwootai_queue_records\{zone="cwai"\} 0\n/]
--- fake_requests eval: ::answered_once(4302, 1)
--- no_error_log
[error]
resuming



=== TEST 3: Redis: the stream has the entry while the message runs, and not after
--- http_config eval: $::WITH_REDIS
--- fake eval
{ openai => { preset => 'openai', routes => {
    'POST /v1/chat/completions' => { file => 'openai/chat-completion-final.json', delay => 1200 } } },
  chatwoot => { preset => 'chatwoot' } }
--- redis_action
wait up
--- request eval
["POST /hook\n$::SHIP3", "GET /redis-ctl/cmd/XLEN/cwai:q",
 "GET /redis-ctl/sleep?ms=2500", "GET /redis-ctl/cmd/XLEN/cwai:q",
 "GET /redis-ctl/cmd/EXISTS/cwai:done:m:7:43003"]
--- response_body_like eval
[$::ACCEPTED, qr/^1$/, qr//, qr/^0$/, qr/^1$/]
--- fake_requests eval: ::answered_once(4303, 1)
--- no_error_log
[error]
resuming



=== TEST 4: Redis: a worker killed in the middle of the chain: the entry is claimed when idle, answered once
--- http_config eval: $::WITH_REDIS
--- fake eval: $::KILL_THEN_ANSWER
--- redis_action
wait up
--- request eval
"POST /hook\n$::SHIP4"
--- response_body_like eval: $::ACCEPTED
--- wait: 3.5
--- fake_requests eval: ::answered_once(4304, 2)
--- error_log eval
[qr/\[warn\] .*chatwootai: resuming message 43004 of conversation 4304 that a stopped worker left \(attempt 2\)/,
 qr/exited on signal 9/]
--- timeout: 10



=== TEST 5: two instances share Redis: the one that accepted the message is stopped mid-chain; the other answers once
--- http_config eval: $::WITH_REDIS
--- peer_http_config eval: $::WITH_REDIS
--- peer_config eval: $::HOOK
--- fake eval: $::KILL_THEN_ANSWER
--- redis_action
wait up
wait up /peer/status
--- request eval
"POST /peer/hook\n$::SHIP5"
--- response_body_like eval: $::ACCEPTED
--- wait: 3.5
--- fake_requests eval: ::answered_once(4305, 2)
--- error_log eval
qr/\[warn\] .*chatwootai: resuming message 43005 of conversation 4305 that a stopped worker left \(attempt 2\)/
--- timeout: 10



=== TEST 6: two instances share Redis: a slow answer (3 s > resume_after 1 s) stays with its worker, answered once
--- http_config eval: $::WITH_REDIS
--- peer_http_config eval: $::WITH_REDIS
--- peer_config eval: $::HOOK
--- fake eval
{ openai => { preset => 'openai', routes => {
    'POST /v1/chat/completions' => { file => 'openai/chat-completion-final.json', delay => 3000 } } },
  chatwoot => { preset => 'chatwoot' } }
--- redis_action
wait up
wait up /peer/status
--- request eval
["POST /peer/hook\n$::SHIP7", "GET /redis-ctl/sleep?ms=4500"]
--- response_body_like eval
[$::ACCEPTED, qr//]
--- fake_requests eval: ::answered_once(4307, 1)
--- no_error_log
resuming
[error]
--- timeout: 10



=== TEST 7: no Redis: the worker is told to shut down (as on a reload) and worker_shutdown_timeout cuts its chain; another worker answers, once
--- main_config
worker_shutdown_timeout 500ms;
--- fake eval
{ openai => { preset => 'openai', routes => {
    'POST /v1/chat/completions' => [
        { kill_sender => 'QUIT' },
        { file => 'openai/chat-completion-final.json' } ] } },
  chatwoot => { preset => 'chatwoot' } }
--- request eval
"POST /hook\n$::SHIP6"
--- response_body_like eval: $::ACCEPTED
--- wait: 3
--- fake_requests eval: ::answered_once(4306, 2)
--- error_log eval
[qr/\[warn\] .*chatwootai: pipeline stopped before the message ended/,
 qr/\[warn\] .*chatwootai: resuming message 43006 of conversation 4306 that a stopped worker left \(attempt 2\)/]
--- no_error_log
[alert]



=== TEST 8: Redis and a 1 s quiet window: the worker that claimed its burst is killed mid-chain; the resumed message still answers it, once
--- http_config eval: $::WITH_REDIS
--- config eval
(my $c = $::HOOK) =~ s/chatwootai_debounce off;/chatwootai_debounce 1s;/;
$c . "        location /redis-ctl/ { proxy_pass http://127.0.0.1:\$TEST_NGINX_REDIS_CTL_PORT/; proxy_set_header X-Status-Url http://127.0.0.1:\$server_port/status; }\n"
--- fake eval: $::KILL_THEN_ANSWER
--- redis_action
wait up
--- request eval
"POST /hook\n$::SHIP8"
--- response_body_like eval: $::ACCEPTED
--- wait: 4.5
--- fake_requests eval: ::answered_once(4308, 2)
--- error_log eval
qr/\[warn\] .*chatwootai: resuming message 43008 of conversation 4308 that a stopped worker left \(attempt 2\)/
--- no_error_log
merged into message
--- timeout: 10



=== TEST 9: Redis down at the ack: the zone keeps the record; the worker is killed mid-chain; another answers, once
--- http_config eval: $::WITH_REDIS
--- fake eval: $::KILL_THEN_ANSWER
--- redis_action
wait up
kill
wait down
--- request eval
"POST /hook\n$::SHIP9"
--- response_body_like eval: $::ACCEPTED
--- wait: 3
--- fake_requests eval: ::answered_once(4309, 2)
--- error_log eval
qr/\[warn\] .*chatwootai: resuming message 43009 of conversation 4309 that a stopped worker left \(attempt 2\)/
--- timeout: 10



=== TEST 10: chatwootai_resume_after takes a time of at least 1s, or off
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_resume_after 200ms;
--- config
    location = /t { return 204; }
--- must_die
--- error_log
invalid time "200ms" (at least 1s, or off)
