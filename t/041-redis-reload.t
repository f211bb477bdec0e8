# chatwootai_redis across reloads (SIGHUP between blocks, two workers): the
# new workers connect, the old ones give their connection back and exit
# without leaving a socket behind; the counters survive the reload.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;
use Cwai::Redis;

our $M1 = wire('message_created_incoming_whatsapp.json', sub { $_[0]{id} = 41001 });
our $M2 = wire('message_created_incoming_whatsapp.json', sub { $_[0]{id} = 41002 });

use_hup();
workers(2);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai_reload 1m;
    chatwootai_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=200ms;
_EOC_
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
    }
    location = /status { chatwootai_status; }
_EOC_
    $block->set_value('more_headers', "Content-Type: application/json\n")
        unless defined $block->more_headers;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: both workers connect
--- redis_action
wait up
--- request
GET /status?format=json
--- response_body_like: "redis":\{"up":true,"workers":\{"up":2,"down":0\}
--- no_error_log
[alert]
[error]



=== TEST 2: a message before the reload
--- redis_action
wait up
--- request eval
"POST /hook\n$::M1"
--- response_body_like: ^\{"status":"accepted"
--- no_error_log
[alert]
[error]



=== TEST 3: after a reload: new workers up, the old ones gone cleanly, counters kept
--- redis_action
wait up
sleep 300
--- request
GET /status?format=json
--- response_body_like: "redis":\{"up":true,"workers":\{"up":2,"down":0\},"state_changes":\{"up":[4-9]\d*,"down":0\},"commands":[1-9]
--- no_error_log
[alert]
[error]
open socket



=== TEST 4: the zone was kept too: the same message is a duplicate, Redis agrees
--- redis_action
wait up
--- request eval
["POST /hook\n$::M1", "POST /hook\n$::M2"]
--- response_body_like eval
[qr/"status":"duplicate","reason":"message_id"/, qr/^\{"status":"accepted"/]
--- no_error_log
[alert]
[error]
