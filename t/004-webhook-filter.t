# What the bot answers and what it leaves alone (bot loops, private notes,
# humans in charge), and how it remembers that a human took over.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;

our $IN = wire('message_created_incoming_whatsapp.json');
our $IG = wire('message_created_incoming_instagram.json');
our $BOT = wire('message_created_outgoing_by_bot.json');
our $NOTE = wire('message_created_private_note.json');
our $UPD = wire('message_updated.json');
our $STATUS = wire('conversation_status_changed.json');
our $OPEN_IN = wire('message_created_incoming_whatsapp.json', sub { $_[0]{conversation}{status} = 'open' });
our $SNOOZED_IN = wire('message_created_incoming_whatsapp.json', sub { $_[0]{conversation}{status} = 'snoozed'; $_[0]{id} = 777 });
our $HUMAN_REPLY = wire('message_created_outgoing_by_bot.json', sub {
    $_[0]{sender} = { id => 15, name => 'Carla Mendes', type => 'user' }; $_[0]{id} = 90300 });
our $IN2 = wire('message_created_incoming_whatsapp.json', sub { $_[0]{id} = 90301 });
our $BACK = wire('conversation_status_changed.json', sub {
    $_[0]{status} = 'pending'; $_[0]{meta}{assignee} = undef; $_[0]{meta}{assignee_type} = undef });
our $IN3 = wire('message_created_incoming_whatsapp.json', sub { $_[0]{id} = 90302 });
our $EMPTY = wire('message_created_incoming_whatsapp.json', sub { $_[0]{content} = undef; $_[0]{id} = 5 });
our $OTHER = '{"event":"contact_created","id":1}';

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', "    chatwootai_zone cwai 1m;\n")
        unless defined $block->http_config;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        add_header X-Cwai $chatwootai_status always;
    }
    location = /status { chatwootai_status; }
_EOC_
    $block->set_value('more_headers', "Content-Type: application/json\n")
        unless defined $block->more_headers;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a customer's WhatsApp message is accepted
--- request eval
"POST /hook\n$::IN"
--- response_headers
X-Cwai: accepted
--- response_body
{"status":"accepted","event":"message_created","account_id":3,"inbox_id":7,"conversation_id":318,"message_id":90211,"channel":"whatsapp"}



=== TEST 2: an Instagram image with a caption is accepted
--- request eval
"POST /hook\n$::IG"
--- response_body_like: "status":"accepted".*"channel":"instagram"



=== TEST 3: the bot's own reply comes back and is ignored (no loop)
--- request eval
"POST /hook\n$::BOT"
--- response_headers
X-Cwai: ignored
--- response_body
{"status":"ignored","reason":"not_incoming"}



=== TEST 4: an agent's private note is ignored
--- request eval
"POST /hook\n$::NOTE"
--- response_body
{"status":"ignored","reason":"not_incoming"}



=== TEST 5: message_updated (read receipts) is ignored
--- request eval
"POST /hook\n$::UPD"
--- response_body
{"status":"ignored","reason":"message_updated"}



=== TEST 6: a conversation event is recorded, not answered
--- request eval
"POST /hook\n$::STATUS"
--- response_body
{"status":"ignored","reason":"conversation_event"}



=== TEST 7: a message in an open conversation belongs to humans
--- request eval
"POST /hook\n$::OPEN_IN"
--- response_body
{"status":"ignored","reason":"conversation_open"}



=== TEST 8: answering in snoozed conversations too, when configured
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_bot_statuses pending snoozed;
    }
--- request eval
"POST /hook\n$::SNOOZED_IN"
--- response_body_like: "status":"accepted"



=== TEST 9: no content and no attachment
--- request eval
"POST /hook\n$::EMPTY"
--- response_body
{"status":"ignored","reason":"empty_message"}



=== TEST 10: events the bot does not act on
--- request eval
"POST /hook\n$::OTHER"
--- response_body
{"status":"ignored","reason":"unsupported_event"}



=== TEST 11: after a human replies in a pending conversation the bot stays silent, until it is handed back
--- request eval
["POST /hook\n$::HUMAN_REPLY", "POST /hook\n$::IN2", "POST /hook\n$::BACK", "POST /hook\n$::IN3"]
--- more_headers
Content-Type: application/json
--- response_body eval
[
'{"status":"ignored","reason":"not_incoming"}
',
'{"status":"ignored","reason":"human_active"}
',
'{"status":"ignored","reason":"conversation_event"}
',
'{"status":"accepted","event":"message_created","account_id":3,"inbox_id":7,"conversation_id":318,"message_id":90302,"channel":"whatsapp"}
'
]



=== TEST 12: ignored reasons are counted
--- request eval
["POST /hook\n$::BOT", "POST /hook\n$::UPD", "GET /status"]
--- response_body_like eval
['ignored', 'ignored', 'chatwootai_ignored_total\{zone="cwai",reason="not_incoming"\} 1\n(?s:.*)chatwootai_ignored_total\{zone="cwai",reason="message_updated"\} 1\n']
