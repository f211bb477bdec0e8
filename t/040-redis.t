# Redis as the L2 (chatwootai_redis), against a real redis-server that
# t/lib/Cwai/Redis.pm starts on a free port: dedupe across two nginx
# instances, conversation memory and cached upstream answers shared by them,
# Redis killed and restarted, Redis slow, Redis that never answers. No
# webhook ever fails or waits long because of Redis.
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
              $_[0]{id} = $id;
              $_[0]{conversation}{id} = $conv if $conv;
              $_[0]{content} = $text if defined $text }) }

our $M1 = msg(40001);
our $M2 = msg(40002);
our $M3 = msg(40003);
our $M4 = msg(40004);
our $M5 = msg(40005);
our $M6 = msg(40006);
our $M7 = msg(40007);
our $M8 = msg(40008);
our $M9 = msg(40009);
our $M10 = msg(40010);
our $Q1 = msg(40101, 901, 'vocês aceitam pix?');
our $Q2 = msg(40102, 901, 'e cartão de crédito?');

# Mariana Alves Costa, a customer of the store (030-pipeline.t)
sub customer { my ($text, $id, $conv) = @_;
    wire('message_created_incoming_whatsapp.json', sub {
        my $d = $_[0];
        $d->{content} = $text; $d->{id} = $id; $d->{conversation}{id} = $conv;
        $d->{sender}{phone_number} = '+5511987412365';
        $d->{sender}{name} = 'Mariana Alves Costa';
        $d->{conversation}{meta}{sender}{phone_number} = '+5511987412365' }) }
our $PRICE_A = customer('quanto custa o sérum de vitamina C?', 40201, 611);
our $PRICE_B = customer('quanto custa o sérum de vitamina C?', 40202, 612);
our $RULES_A = customer('qual o prazo para trocar um produto?', 40301, 621);
our $RULES_B = customer('Qual o prazo para trocar um produto', 40302, 622);

our $ACCEPTED = qr/^\{"status":"accepted"/;

# the webhook, status and helpers of the main nginx; the peer's in PEER
our $PEER = <<'_EOC_';
        location = /hook {
            chatwootai_webhook;
            chatwootai_webhook_auth off;
            chatwootai_dedupe_ttl 60s;
        }
        location = /status { chatwootai_status; }
_EOC_

our $PIPELINE = <<'_EOC_';
        location = /hook {
            chatwootai_webhook;
            chatwootai_webhook_auth off;
            chatwootai_llm /_cwai/openai model=gpt-4.1-mini max_tokens=300;
            chatwootai_erp /_cwai/odoo protocol=json2 db=belapele key=3f9a1c0e5b7d2a4c6e8f0a1b2c3d4e5f6a7b8c9d;
            chatwootai_chatwoot /_cwai/chatwoot;
            chatwootai_confidence answer=1.01 fallback=0.6;
        }
        location /_cwai/openai/ {
            internal;
            proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_OPENAI_PORT/;
            proxy_buffering off;
        }
        location /_cwai/odoo/ {
            internal;
            proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_ODOO_PORT/;
            proxy_buffering off;
        }
        location /_cwai/chatwoot/ {
            internal;
            proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_CHATWOOT_PORT/;
            proxy_buffering off;
            proxy_set_header Api-Access-Token bot-token;
        }
_EOC_
our $PEER_PIPELINE = $PIPELINE . "        location = /status { chatwootai_status; }\n";
# the same with a daily token budget of 1 (t/042-limits.t)
(our $BUDGET_PIPELINE = $PIPELINE) =~
    s/(chatwootai_confidence)/chatwootai_token_budget 1;\n            chatwootai_cache_ttl 0;\n            $1/;
our $PEER_BUDGET_PIPELINE = $BUDGET_PIPELINE . "        location = /status { chatwootai_status; }\n";
our $SHIP_A = customer('qual o prazo de entrega para Curitiba?', 40401, 631);
our $ODD_B = customer('xpto blorf quibbly zanf', 40402, 632);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
_EOC_
    # each message is answered at once (the quiet window is t/031 and t/043's)
    for my $s (qw(http_config peer_http_config)) {
        $block->set_value($s, $block->$s . "    chatwootai_debounce off;\n")
            if defined $block->$s;
    }
    my $hook = $block->hook // <<'_EOC_';
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_dedupe_ttl 60s;
        add_header X-Elapsed $request_time always;
    }
_EOC_
    $block->set_value('config', $hook . <<'_EOC_') unless defined $block->config;
    location = /status { chatwootai_status; }
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

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a delivery accepted here is a duplicate on a second nginx sharing the Redis
--- peer_http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
--- peer_config eval: $::PEER
--- redis_action
wait up
--- more_headers
Content-Type: application/json
X-Chatwoot-Delivery: 0d1d2c3a-0001-4e5f-9a10-2b3c4d5e6f70
--- request eval
["POST /hook\n$::M1", "POST /peer/hook\n$::M1", "GET /peer/status"]
--- response_body_like eval
[$::ACCEPTED, qr/^\{"status":"duplicate","reason":"delivery_id"\}$/,
 qr/chatwootai_redis_up 1\n(?s:.*)chatwootai_l2_total\{kind="dedupe",result="hit"\} 1\n/]



=== TEST 2: the same message under a new delivery id, on the peer: caught by the message id
--- peer_http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
--- peer_config eval: $::PEER
--- more_headers
Content-Type: application/json
X-Chatwoot-Delivery: 0d1d2c3a-0002-4e5f-9a10-2b3c4d5e6f70
--- request eval
"POST /peer/hook\n$::M1"
--- response_body
{"status":"duplicate","reason":"message_id"}



=== TEST 3: nginx restarted with an empty zone: Redis still knows the delivery
--- redis_action
wait up
--- more_headers
Content-Type: application/json
X-Chatwoot-Delivery: 0d1d2c3a-0001-4e5f-9a10-2b3c4d5e6f70
--- request eval
"POST /hook\n$::M1"
--- response_body
{"status":"duplicate","reason":"delivery_id"}
--- no_error_log
[error]



=== TEST 4: the dedupe keys are in Redis, under the prefix, with the dedupe TTL
--- request
GET /redis-ctl/cmd/PTTL/cwai:d:0d1d2c3a-0001-4e5f-9a10-2b3c4d5e6f70
--- response_body_like: ^[1-6]\d{4}$



=== TEST 5: prefix= and chatwootai_l2_ttl dedupe
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms prefix=tenant7:;
    chatwootai_l2_ttl dedupe 2h;
--- redis_action
wait up
--- request eval
["POST /hook\n$::M2", "GET /redis-ctl/cmd/PTTL/tenant7:m:7:40002"]
--- response_body_like eval
[$::ACCEPTED, qr/^7[01]\d{5}$/]



=== TEST 6: a unix socket, db=, and the keys in that database
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis unix:$TEST_NGINX_REDIS_SOCKET db=3 timeout=100ms;
--- redis_action
wait up
--- request eval
["POST /hook\n$::M10", "GET /redis-ctl/cmd/EXISTS/cwai:m:7:40010?db=3",
 "GET /redis-ctl/cmd/EXISTS/cwai:m:7:40010"]
--- response_body_like eval
[$::ACCEPTED, qr/^1$/, qr/^0$/]



=== TEST 7: a delivery within the timeout: answered after Redis, and fast
--- redis_action
wait up
--- request eval
"POST /hook\n$::M3"
--- response_body_like: ^\{"status":"accepted"
--- response_headers_like
X-Elapsed: 0\.0[0-4]\d
--- no_error_log
[error]
[warn]



=== TEST 8: Redis killed while connected: one log line, webhooks accepted, the status says down
--- redis_action
wait up
kill
wait down
--- request eval
"POST /hook\n$::M4"
--- response_body_like: ^\{"status":"accepted"
--- response_headers_like
X-Elapsed: 0\.00\d
--- grep_error_log eval: qr/redis \S+ is (?:up again|up|down)/
--- grep_error_log_out eval
"redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is up
redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is down
"
--- error_log eval
qr/\[warn\] .*chatwootai: redis \S+ is down \(Server closed the connection\): using the zone only until it is back/
--- no_error_log
[error]



=== TEST 9: while Redis is down: the status shows it, the zone still dedupes
--- request eval
["POST /hook\n$::M5", "POST /hook\n$::M5", "GET /status"]
--- response_body_like eval
[$::ACCEPTED, qr/"status":"duplicate","reason":"message_id"/,
 qr/chatwootai_redis_up 0\n(?s:.*)chatwootai_redis_workers\{state="down"\} 1\n(?s:.*)chatwootai_redis_state_changes_total\{state="down"\} 1\n(?s:.*)chatwootai_l2_total\{kind="dedupe",result="error"\} 1\n/]



=== TEST 10: restarted, Redis is used again: reconnected with backoff, one line each way
--- redis_action
wait down
start
wait up
--- request eval
"POST /hook\n$::M6"
--- response_body_like: ^\{"status":"accepted"
--- grep_error_log eval: qr/redis \S+ is (?:up again|up|down)/
--- grep_error_log_out eval
"redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is down
redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is up again
"
--- no_error_log
[error]



=== TEST 11: ... and the message is in Redis
--- request
GET /redis-ctl/cmd/EXISTS/cwai:m:7:40006
--- response_body
1



=== TEST 12: killed, then restarted under nginx: down and back up within one run
--- redis_action
wait up
restart
wait up
--- request eval
"POST /hook\n$::M7"
--- response_body_like: ^\{"status":"accepted"
--- grep_error_log eval: qr/redis \S+ is (?:up again|up|down)/
--- grep_error_log_out eval
"redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is up
redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is down
redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} is up again
"



=== TEST 13: Redis slow (DEBUG SLEEP 1 s): the webhook waits at most the timeout, counted
--- redis_action
wait up
slow 1000
--- request eval
"POST /hook\n$::M8"
--- response_body_like: ^\{"status":"accepted"
--- response_headers_like
X-Elapsed: 0\.[0-4]\d\d
--- error_log eval
[qr/chatwootai: redis \S+ is down \(a command got no answer within the timeout\)/,
 qr/redis could not dedupe this delivery: the zone decided alone/]
--- no_error_log
[error]



=== TEST 14: slow Redis: counted as a timeout and an L2 error, then up again
--- redis_action
wait up
slow 600
sleep 50
--- request eval
["POST /hook\n$::M9", "GET /redis-ctl/wait?state=up", "GET /status"]
--- response_body_like eval
[$::ACCEPTED, qr/^up$/,
 qr/chatwootai_redis_up 1\n(?s:.*)chatwootai_redis_timeouts_total [1-9]\d*\n(?s:.*)chatwootai_l2_total\{kind="dedupe",result="error"\} 1\n/]



=== TEST 15: a Redis that accepts and never answers: down after the timeout, webhooks go on
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_BLACKHOLE_PORT timeout=100ms;
--- request eval
"POST /hook\n$::M1"
--- response_body_like: ^\{"status":"accepted"
--- response_headers_like
X-Elapsed: 0\.00\d
--- wait: 0.3
--- error_log eval
qr/chatwootai: redis \S+ is down \(no answer to connect and PING within the timeout\)/
--- no_error_log
[error]



=== TEST 16: the blackhole in the status
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_BLACKHOLE_PORT timeout=100ms;
--- redis_action
sleep 300
--- request
GET /status?format=json
--- response_body_like: "redis":\{"up":false,"workers":\{"up":0,"down":1\},"state_changes":\{"up":0,"down":1\},"commands":0,"errors":0,"timeouts":[1-9]



=== TEST 17: a wrong password: down, and the password is never logged
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT password=Zq8-not-the-password timeout=100ms;
--- redis_action
sleep 200
--- request eval
"POST /hook\n$::M2"
--- response_body_like: ^\{"status":"(accepted|duplicate)"
--- error_log
is down (AUTH failed (check password=))
--- no_error_log
Zq8-not-the-password



=== TEST 18: conversation memory is shared: the peer continues the conversation from Redis
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- peer_http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- peer_config eval: $::PEER
--- redis_action
wait up
--- request eval
["POST /hook\n$::Q1",
 "GET /redis-ctl/llen?key=cwai:mem:7:901&min=2",
 "POST /peer/hook\n$::Q2",
 "GET /redis-ctl/llen?key=cwai:mem:7:901&min=4",
 "GET /redis-ctl/cmd/LRANGE/cwai:mem:7:901/0/-1",
 "GET /peer/status"]
--- response_body_like eval
[$::ACCEPTED, qr/^2$/, $::ACCEPTED, qr/^4$/,
 qr/^\{"r":"c","t":"voc\S+ aceitam pix\?"\}\n\{"r":"a","t":"[^\n]+","a":"\w+"\}\n\{"r":"c","t":"e cart\S+ de cr\S+dito\?"\}\n\{"r":"a",[^\n]+\}$/,
 qr/chatwootai_l2_total\{kind="memory",result="hit"\} 1\n/]



=== TEST 19: an ERP read cached by one nginx is an L2 hit on the other (Odoo asked once)
--- fake
openai
odoo
chatwoot
--- http_config
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- hook eval: $::PIPELINE
--- peer_http_config
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- peer_config eval: $::PEER_PIPELINE
--- redis_action
wait up
--- request eval
["POST /hook\n$::PRICE_A", "GET /redis-ctl/sleep?ms=700", "POST /peer/hook\n$::PRICE_B",
 "GET /redis-ctl/sleep?ms=700", "GET /peer/status"]
--- response_body_like eval
[$::ACCEPTED, qr/slept/, $::ACCEPTED, qr/slept/,
 qr/chatwootai_l2_total\{kind="cache",result="hit"\} 1\n/]
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my @erp = grep { $_->{fake} eq 'odoo' } @$reqs;
    die "Odoo was asked " . @erp . " times\n" unless @erp == 1;
    my @posts = grep { $_->{fake} eq 'chatwoot' && $_->{path} =~ m{/messages$} } @$reqs;
    die "expected 2 replies, got " . @posts . "\n" unless @posts == 2;
    for (@posts) { die "no price: $_->{json}{content}\n" unless $_->{json}{content} =~ /R\$ ?\d+,\d\d/ }
}



=== TEST 20: a model's answer cached by one nginx answers the other (no tokens there)
--- fake
openai
odoo
chatwoot
--- http_config
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- hook eval: $::PIPELINE
--- peer_http_config
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- peer_config eval: $::PEER_PIPELINE
--- redis_action
wait up
--- request eval
["POST /hook\n$::RULES_A", "GET /redis-ctl/sleep?ms=700", "POST /peer/hook\n$::RULES_B",
 "GET /redis-ctl/sleep?ms=700", "GET /peer/status"]
--- response_body_like eval
[$::ACCEPTED, qr/slept/, $::ACCEPTED, qr/slept/,
 qr/upstream="llm"\} 0\n(?s:.*)chatwootai_l2_total\{kind="cache",result="hit"\} 1\n/]
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my @llm = grep { $_->{fake} eq 'openai' } @$reqs;
    my @posts = grep { $_->{fake} eq 'chatwoot' && $_->{path} =~ m{/messages$} } @$reqs;
    die "expected 2 replies, got " . @posts . "\n" unless @posts == 2;
    die "the peer's answer was not the cached one\n"
        unless $posts[0]{json}{content} eq $posts[1]{json}{content};
    die "the model was asked " . @llm . " times\n" if @llm > 2;
}



=== TEST 21: a token budget spent through one nginx is spent for the other (INCRBY, then GET)
--- fake
openai
odoo
chatwoot
--- http_config
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- hook eval: $::BUDGET_PIPELINE
--- peer_http_config
    chatwootai_zone cwai 4m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=100ms;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
--- peer_config eval: $::PEER_BUDGET_PIPELINE
--- redis_action
wait up
--- request eval
["POST /hook\n$::SHIP_A", "GET /redis-ctl/sleep?ms=700", "POST /peer/hook\n$::ODD_B",
 "GET /redis-ctl/sleep?ms=700", "GET /peer/status"]
--- response_body_like eval
[$::ACCEPTED, qr/slept/, $::ACCEPTED, qr/slept/,
 qr/chatwootai_budget_exceeded_total\{zone="cwai"\} 1\n/]
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my @llm = grep { $_->{fake} eq 'openai' } @$reqs;
    die "the model was not asked on the first nginx\n" unless @llm;
    die "the model was asked over budget on the peer\n"
        if grep { ($_->{body} // '') =~ /xpto blorf/ } @llm;
    die "the peer's handoff note does not say token_budget\n"
        unless grep { $_->{fake} eq 'chatwoot' && $_->{path} =~ m{/conversations/632/messages$}
                      && $_->{json}{private} && $_->{json}{content} =~ /token_budget/ } @$reqs;
}



=== TEST 22: chatwootai_redis: a bad parameter is refused, a password never echoed
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:6379 password=;
--- must_die
--- error_log
"chatwootai_redis" directive has an invalid "password="
--- no_error_log
[alert]



=== TEST 23: chatwootai_l2_ttl takes the kinds of cached entries
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_redis 127.0.0.1:6379;
    chatwootai_l2_ttl embeddings 1h;
--- must_die
--- error_log
unknown kind "embeddings", expected embed, retrieve, erp, answer, memory or dedupe
