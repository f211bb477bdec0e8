# Directives: what nginx -t accepts and what it refuses, with clear messages.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a minimal webhook location loads
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs;
    }
--- request
GET /hook
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body
{"error":"method_not_allowed","detail":"the webhook accepts POST only"}



=== TEST 2: the webhook without a secret is refused
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /hook {
        chatwootai_webhook;
    }
--- must_die
--- error_log
chatwootai_webhook needs chatwootai_webhook_secret



=== TEST 3: a handler without any zone is refused
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret x;
    }
--- must_die
--- error_log
"chatwootai_webhook" needs a shared memory zone



=== TEST 4: zone=NAME must name a declared zone
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /status {
        chatwootai_status zone=nope;
    }
--- must_die
--- error_log
unknown chatwootai_zone "nope"



=== TEST 5: a zone too small is refused
--- http_config
    chatwootai_zone cwai 4k;
--- config
--- must_die
--- error_log
zone "cwai" is too small



=== TEST 6: the same zone twice is refused
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_zone cwai 1m;
--- config
--- must_die
--- error_log
chatwootai_zone "cwai" is already defined



=== TEST 7: a missing secret file fails at startup
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret file:/nonexistent/cwai-secret;
    }
--- must_die
--- error_log
chatwootai_webhook_secret: cannot open "/nonexistent/cwai-secret"



=== TEST 8: an unknown bot status is refused
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_secret x;
        chatwootai_bot_statuses pending resolved;
    }
--- must_die
--- error_log
invalid status "resolved", expected pending, open or snoozed



=== TEST 9: token mode needs a token
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth token;
    }
--- must_die
--- error_log
"chatwootai_webhook_auth token" needs chatwootai_webhook_token



=== TEST 10: a bad auth mode is refused
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth maybe;
    }
--- must_die
--- error_log
invalid value "maybe"



=== TEST 11: two handlers in one location are refused
--- http_config
    chatwootai_zone cwai 1m;
--- config
    location = /x {
        chatwootai_status;
        chatwootai_zone_api;
    }
--- must_die
--- error_log
this location already has a content handler
