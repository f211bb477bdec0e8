# chatwootai_status: Prometheus text and JSON, summed over all workers.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;

our $IN = wire('message_created_incoming_whatsapp.json');
our $BOT = wire('message_created_outgoing_by_bot.json');

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', "    chatwootai_zone cwai 1m;\n")
        unless defined $block->http_config;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
    location = /metrics { chatwootai_status; }
_EOC_
});

workers(2);
master_on();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: Prometheus exposition after a mix of requests
--- request eval
["POST /hook\n$::IN", "POST /hook\n$::BOT", "POST /hook\n{}", "GET /metrics"]
--- more_headers eval
::signed_headers($::IN)
--- error_code eval
[200, 401, 401, 200]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: text/plain; version=0.0.4"]
--- response_body_like eval
['accepted', 'bad_signature', 'bad_signature',
'# HELP chatwootai_events_total Authenticated webhook events by event type.
# TYPE chatwootai_events_total counter
chatwootai_events_total\{zone="cwai",event="other"\} 0
chatwootai_events_total\{zone="cwai",event="message_created"\} 1
(?s:.*)chatwootai_webhooks_total\{zone="cwai",outcome="accepted"\} 1
chatwootai_webhooks_total\{zone="cwai",outcome="ignored"\} 0
chatwootai_webhooks_total\{zone="cwai",outcome="duplicate"\} 0
chatwootai_webhooks_total\{zone="cwai",outcome="rejected"\} 2
(?s:.*)chatwootai_rejected_total\{zone="cwai",reason="bad_signature"\} 2
(?s:.*)chatwootai_zone_size_bytes\{zone="cwai"\} 1048576
chatwootai_zone_free_bytes\{zone="cwai"\} \d+
chatwootai_zone_entries\{zone="cwai"\} 1
']



=== TEST 2: JSON with ?format=json
--- request eval
["POST /hook\n$::IN", "GET /metrics?format=json"]
--- more_headers eval
::signed_headers($::IN)
--- response_body_like eval
['accepted', '^\{"zones":\{"cwai":\{"events":\{"other":0,"message_created":1,.*"outcomes":\{"accepted":1,"ignored":0,"duplicate":0,"rejected":0\},.*"zone":\{"size":1048576,"free":\d+,"entries":1,"evictions":0,"expired":0\},"queue_records":0,"messages":\{"replied":0,"handoff":0,"failed":0,"merged":0,"resumed":0\},"upstreams":\{.*\},"cache":\{"hits":0,"misses":0,"coalesced":0\}\}\}\}$']



=== TEST 3: only GET
--- request
POST /metrics
x
--- error_code: 405
