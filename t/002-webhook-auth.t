# Webhook authentication: Chatwoot's HMAC signature (4.12+), the weaker
# token mode for older releases, and an explicit "off".
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;

our $WIRE = fixture('chatwoot/message_created_incoming_whatsapp.wire.json');
our $FRESH = wire('message_created_incoming_whatsapp.json');

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai 1m;
_EOC_
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the signed example from Chatwoot's own algorithm is accepted
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
        chatwootai_webhook_max_skew 0;   # the vector's timestamp is fixed
    }
--- request eval
"POST /hook\n$::WIRE"
--- more_headers
Content-Type: application/json
X-Chatwoot-Timestamp: 1781964192
X-Chatwoot-Signature: sha256=9d4007506aee3901a35ec93f1070417662107d6cc9c41eb263b9f2c11b11b5a6
X-Chatwoot-Delivery: 6f1d2c3a-8b47-4e5f-9a10-2b3c4d5e6f70
--- error_code: 200
--- response_body
{"status":"accepted","event":"message_created","account_id":3,"inbox_id":7,"conversation_id":318,"message_id":90211,"channel":"whatsapp"}
--- no_error_log
[error]



=== TEST 2: signed with the next second's timestamp
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
        chatwootai_webhook_max_skew 0;
    }
--- request eval
"POST /hook\n$::WIRE"
--- more_headers
Content-Type: application/json
X-Chatwoot-Timestamp: 1781964192
X-Chatwoot-Signature: sha256=347da7399330679fecd40e54209685452c3b4b1f3e7a486e92fcc3aee2a89c71
--- error_code: 401
--- response_body
{"error":"bad_signature","detail":"X-Chatwoot-Signature does not match the body"}
--- error_log
chatwootai: webhook rejected: bad_signature



=== TEST 3: HMAC over the body alone (no timestamp prefix)
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
        chatwootai_webhook_max_skew 0;
    }
--- request eval
"POST /hook\n$::WIRE"
--- more_headers
Content-Type: application/json
X-Chatwoot-Timestamp: 1781964192
X-Chatwoot-Signature: sha256=4f807571fcd2218250ea06715c9831d90b53e10355c4b5598ed2a01f05fabee3
--- error_code: 401
--- response_body_like: "error":"bad_signature"



=== TEST 4: HMAC over the pretty-printed JSON (the body was re-serialised)
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
        chatwootai_webhook_max_skew 0;
    }
--- request eval
"POST /hook\n$::WIRE"
--- more_headers
Content-Type: application/json
X-Chatwoot-Timestamp: 1781964192
X-Chatwoot-Signature: sha256=00c92b5ee5654d257f5149dba12c150213eabd4dfd3459c62bfb367d3ba86939
--- error_code: 401
--- response_body_like: "error":"bad_signature"



=== TEST 5: the fixed vector is stale under the default 300 s skew
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request eval
"POST /hook\n$::WIRE"
--- more_headers
Content-Type: application/json
X-Chatwoot-Timestamp: 1781964192
X-Chatwoot-Signature: sha256=9d4007506aee3901a35ec93f1070417662107d6cc9c41eb263b9f2c11b11b5a6
--- error_code: 401
--- response_body
{"error":"stale_timestamp","detail":"X-Chatwoot-Timestamp is more than 300 s away from this server's clock"}



=== TEST 6: a fresh signature is accepted
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
::signed_headers($::FRESH)
--- error_code: 200
--- response_body_like: ^\{"status":"accepted"



=== TEST 7: a fresh signature made with another secret
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
::signed_headers($::FRESH, secret => 'another-bot-secret-xxxxx')
--- error_code: 401
--- response_body_like: "error":"bad_signature"



=== TEST 8: signature headers missing
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body
{"error":"missing_signature","detail":"X-Chatwoot-Signature and X-Chatwoot-Timestamp are required"}



=== TEST 9: a malformed signature header
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
"Content-Type: application/json\nX-Chatwoot-Timestamp: " . time . "\nX-Chatwoot-Signature: md5=abc\n"
--- error_code: 401
--- response_body_like: "error":"malformed_signature"



=== TEST 10: the secret from a file (file:PATH), trailing newline ignored
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret file:../html/bot.secret;
    }
--- user_files
>>> bot.secret
Rk8vX2mP9qT4wZ7nC3bH6jYs
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
::signed_headers($::FRESH)
--- error_code: 200
--- response_body_like: "status":"accepted"



=== TEST 11: a secret per tenant with map on $chatwootai_account_id
--- http_config
    chatwootai_zone cwai 1m;
    map $chatwootai_account_id $bot_secret {
        3        Rk8vX2mP9qT4wZ7nC3bH6jYs;
        default  "";
    }
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret $bot_secret;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
::signed_headers($::FRESH)
--- error_code: 200
--- response_body_like: "status":"accepted","event":"message_created","account_id":3



=== TEST 12: an account with no secret in the map is refused
--- http_config
    chatwootai_zone cwai 1m;
    map $chatwootai_account_id $bot_secret {
        99       Rk8vX2mP9qT4wZ7nC3bH6jYs;
        default  "";
    }
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret $bot_secret;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
::signed_headers($::FRESH)
--- error_code: 401
--- response_body
{"error":"unknown_secret","detail":"no webhook secret is configured for this request"}



=== TEST 13: token mode, token in the query string
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth token;
        chatwootai_webhook_token s3cr3t-t0ken;
    }
--- request eval
"POST /hook?token=s3cr3t-t0ken\n$::FRESH"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "status":"accepted"



=== TEST 14: token mode, token in a header
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth token;
        chatwootai_webhook_token s3cr3t-t0ken;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers
Content-Type: application/json
X-Chatwootai-Token: s3cr3t-t0ken
--- error_code: 200
--- response_body_like: "status":"accepted"



=== TEST 15: token mode, wrong token
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth token;
        chatwootai_webhook_token s3cr3t-t0ken;
    }
--- request eval
"POST /hook?token=s3cr3t-t0kem\n$::FRESH"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body
{"error":"bad_token","detail":"the webhook token does not match"}
--- no_error_log
s3cr3t-t0ken



=== TEST 16: token mode, no token
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth token;
        chatwootai_webhook_token s3cr3t-t0ken;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body_like: "error":"missing_token"



=== TEST 17: auth off only when configured
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "status":"accepted"



=== TEST 18: the secret never reaches the log, even at debug level
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers eval
::signed_headers($::FRESH, secret => 'wrong')
--- error_code: 401
--- no_error_log
Rk8vX2mP9qT4wZ7nC3bH6jYs
