# $chatwootai_* variables, for log_format and map.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;

our $IN = wire('message_created_incoming_whatsapp.json');
our $IG = wire('message_created_incoming_instagram.json');
our $STATUS = wire('conversation_status_changed.json');

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai 1m;
    map $chatwootai_account_id $tenant {
        3        bela-pele;
        default  unknown;
    }
_EOC_
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        add_header X-Event $chatwootai_event always;
        add_header X-Account $chatwootai_account_id always;
        add_header X-Inbox $chatwootai_inbox_id always;
        add_header X-Conversation $chatwootai_conversation_id always;
        add_header X-Message $chatwootai_message_id always;
        add_header X-Channel $chatwootai_channel always;
        add_header X-Status $chatwootai_status always;
        add_header X-Tenant $tenant always;
    }
_EOC_
    $block->set_value('more_headers', "Content-Type: application/json\n")
        unless defined $block->more_headers;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a WhatsApp message
--- request eval
"POST /hook\n$::IN"
--- response_headers
X-Event: message_created
X-Account: 3
X-Inbox: 7
X-Conversation: 318
X-Message: 90211
X-Channel: whatsapp
X-Status: accepted
X-Tenant: bela-pele



=== TEST 2: an Instagram message
--- request eval
"POST /hook\n$::IG"
--- response_headers
X-Channel: instagram
X-Inbox: 9



=== TEST 3: a conversation event has no message id
--- request eval
"POST /hook\n$::STATUS"
--- response_headers
X-Event: conversation_status_changed
X-Status: ignored
X-Message:
X-Conversation: 318



=== TEST 4: a rejected request has only the status
--- request
POST /hook
{oops
--- error_code: 400
--- response_headers
X-Status: rejected
X-Event:
X-Tenant: unknown



=== TEST 5: variables in an access log line
--- http_config
    chatwootai_zone cwai 1m;
    log_format cwai '$chatwootai_status $chatwootai_event a=$chatwootai_account_id c=$chatwootai_conversation_id ch=$chatwootai_channel';
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        access_log logs/cwai.log cwai;
    }
    location = /log { alias logs/cwai.log; }
--- request eval
["POST /hook\n$::IN", "GET /log"]
--- response_body eval
['{"status":"accepted","event":"message_created","account_id":3,"inbox_id":7,"conversation_id":318,"message_id":90211,"channel":"whatsapp"}
', "accepted message_created a=3 c=318 ch=whatsapp\n"]
