# No message answered twice: a retried delivery (same X-Chatwoot-Delivery)
# and the same message through another receiver are duplicates.
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }   # keep the zone between blocks
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;

our $IN = wire('message_created_incoming_whatsapp.json');
our $IN_OTHER = wire('message_created_incoming_whatsapp.json', sub { $_[0]{id} = 91000 });
our $IN_SHORT = wire('message_created_incoming_whatsapp.json', sub { $_[0]{id} = 92000 });
our $H1 = signed_headers($IN, delivery => '6f1d2c3a-8b47-4e5f-9a10-2b3c4d5e6f70');
our $H2 = signed_headers($IN, delivery => '11111111-2222-4333-8444-555555555555');
our $H3 = signed_headers($IN_OTHER, delivery => '6f1d2c3a-8b47-4e5f-9a10-2b3c4d5e6f70');


add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', "    chatwootai_zone cwai 1m;\n")
        unless defined $block->http_config;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
        chatwootai_dedupe_ttl 60s;
    }
    location = /hook-short {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
        chatwootai_dedupe_ttl 1s;
    }
    location = /status { chatwootai_status; }
_EOC_
});

master_on();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a retried delivery is a duplicate
--- request eval
["POST /hook\n$::IN", "POST /hook\n$::IN"]
--- more_headers eval
$::H1
--- response_body eval
['{"status":"accepted","event":"message_created","account_id":3,"inbox_id":7,"conversation_id":318,"message_id":90211,"channel":"whatsapp"}
', '{"status":"duplicate","reason":"delivery_id"}
']



=== TEST 2: the same message under another delivery id is a duplicate
--- request eval
"POST /hook\n$::IN"
--- more_headers eval
$::H2
--- response_body
{"status":"duplicate","reason":"message_id"}



=== TEST 3: duplicates are counted by key
--- request
GET /status
--- response_body_like
chatwootai_webhooks_total\{zone="cwai",outcome="duplicate"\} 2
(?s:.*)chatwootai_duplicates_total\{zone="cwai",key="delivery_id"\} 1
chatwootai_duplicates_total\{zone="cwai",key="message_id"\} 1



=== TEST 4: a new message in a retried delivery id is still caught by the delivery id
--- request eval
"POST /hook\n$::IN_OTHER"
--- more_headers eval
$::H3
--- response_body
{"status":"duplicate","reason":"delivery_id"}



=== TEST 5: a message remembered for a short TTL (checked in the next test)
--- request eval
"POST /hook-short\n$::IN_SHORT"
--- more_headers eval
::signed_headers($::IN_SHORT, delivery => 'aaaaaaaa-2222-4333-8444-555555555555')
--- response_body_like: "status":"accepted"
--- wait: 2



=== TEST 6: ... has expired, so the same delivery is new again
--- request eval
"POST /hook-short\n$::IN_SHORT"
--- more_headers eval
::signed_headers($::IN_SHORT, delivery => 'aaaaaaaa-2222-4333-8444-555555555555')
--- response_body_like: "status":"accepted"
