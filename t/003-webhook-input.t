# Bad input gets a clear status and a JSON body naming the problem.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;

our $FRESH = wire('message_created_incoming_whatsapp.json');
our $BIG = '{"event":"message_created","pad":"' . ('x' x 5000) . '"}';
our $DEEP = ("[" x 3000) . ("]" x 3000);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', "    chatwootai_zone cwai 1m;\n")
        unless defined $block->http_config;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        client_max_body_size 4k;
    }
_EOC_
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET is not allowed
--- request
GET /hook
--- error_code: 405
--- response_headers
Allow: POST
--- response_body_like: "error":"method_not_allowed"



=== TEST 2: not JSON
--- request
POST /hook
event=message_created
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 415
--- response_body
{"error":"unsupported_media_type","detail":"Content-Type must be application/json"}



=== TEST 3: JSON with a charset parameter is fine
--- request eval
"POST /hook\n$::FRESH"
--- more_headers
Content-Type: application/json; charset=utf-8
--- error_code: 200
--- response_body_like: "status":"accepted"



=== TEST 4: a body over client_max_body_size
--- request eval
"POST /hook\n$::BIG"
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body
{"error":"body_too_large","detail":"the body is larger than client_max_body_size"}



=== TEST 5: malformed JSON names line and column
--- request
POST /hook
{"event": "message_created", "id": }
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid_json","detail":"line 1 column 36: unexpected token near '}'"}



=== TEST 6: empty body
--- request
POST /hook
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid_json","detail":"empty body"}



=== TEST 7: a field of the wrong type
--- request
POST /hook
{"event":"message_created","id":"90211","conversation":{}}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid_payload","detail":"field id must be an integer, got string"}



=== TEST 8: a missing nested field
--- request
POST /hook
{"event":"message_created","id":1,"message_type":"incoming","conversation":{"id":5,"inbox_id":7}}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid_payload","detail":"field conversation.status is missing"}



=== TEST 9: not an object
--- request
POST /hook
[1,2,3]
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid_payload","detail":"body must be a JSON object, got array"}



=== TEST 10: hostile nesting fails cleanly
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
    }
--- request eval
"POST /hook\n$::DEEP"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: "error":"invalid_json"
--- no_error_log
[alert]



=== TEST 11: invalid UTF-8 is refused
--- request eval
"POST /hook\n{\"event\":\"message_created\",\"content\":\"\xff\xfe\"}"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: "error":"invalid_json"



=== TEST 12: a body buffered to a temporary file is read whole
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        client_body_buffer_size 1k;
    }
--- request eval
"POST /hook\n$::FRESH"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "status":"accepted"
--- error_log
a client request body is buffered to a temporary file
