# chatwootai_playground: GET lists the loaded domains, POST asks the embedded
# agent of one of them (reply, agent, intent, confidence, sources, timings),
# with conversation memory by conversation_id; bad input is a 400 naming the
# field, an unknown domain a 404.
use lib 't/lib';
use Test::Nginx::Socket;
use Cwd ();
use File::Basename ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

our $LONG_TEXT = 'a' x 4097;
our $LONG_CONV = 'c' x 65;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai 1m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
    chatwootai_domain retail $TEST_NGINX_CWAI_ROOT/domains/retail.yaml;
_EOC_
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /pg {
        chatwootai_playground;
    }
_EOC_
});

plan tests => 80;
no_shuffle();
no_long_string();
run_tests();

__DATA__

=== TEST 1: GET lists the loaded domains, in load order, with their counts
--- request
GET /pg
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr{\A\{"domains":\[
\{(?=[^{}]*"domain":"cosmetics")(?=[^{}]*"name":"Bela\ Pele\ Cosm)(?=[^{}]*"language":"pt-BR")
 (?=[^{}]*"timezone":"America/Sao_Paulo")(?=[^{}]*"languages":\["pt-BR")
 (?=[^{}]*"channels":\[[^\]]*"whatsapp"[^\]]*\])(?=[^{}]*"products":60\b)
 (?=[^{}]*"services":\d+)(?=[^{}]*"rules":\d+)(?=[^{}]*"faqs":\d+)[^{}]*\},
\{(?=[^{}]*"domain":"retail")[^{}]*\}
\]\}\n?\z}x
--- no_error_log
[error]



=== TEST 2: a price question: R$ with a decimal comma, the sales agent, the product as source
--- request
POST /pg
{"domain":"cosmetics","text":"quanto custa o sérum de vitamina C?","channel":"whatsapp","conversation_id":"abc","now":"2026-11-30T10:00:00-03:00"}
--- more_headers
Content-Type: application/json
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr{\A\{(?=.*"reply":"[^"]*R\$\ \d+,\d\d)
(?=.*"agent":"sales")
(?=.*"intent":"[a-z_]+")
(?=.*"confidence":(?:0\.\d+|1(?:\.0+)?)[,\}])
(?=.*"sources":\[[^\]]*"BP-SER-001")
(?=.*"handoff":false)
(?=.*"handoff_reason":null)
(?=.*"language":"pt-BR")
(?=.*"timings":\{(?=[^\}]*"normalise_us":)(?=[^\}]*"retrieve_us":)(?=[^\}]*"route_us":)(?=[^\}]*"compose_us":)(?=[^\}]*"total_us":\d))
(?=.*"domain":"cosmetics")
(?=.*"channel":"whatsapp")
(?=.*"conversation_id":"abc")
(?=.*"turn":1[,\}])
}sx
--- no_error_log
[error]



=== TEST 3: a policy question; no domain: the first loaded; no channel: web; no conversation: no turn
--- request
POST /pg
{"text":"posso trocar um produto que eu já abri?"}
--- response_body_like eval
qr{\A\{(?=.*"reply":"[^"]{20,}")
(?=.*"agent":"support")
(?=.*"sources":\[[^\]]*"(?:R-TRO-\d+|FAQ-\d+)")
(?=.*"handoff":false)
(?=.*"domain":"cosmetics")
(?=.*"channel":"web")
(?!.*"turn")
(?!.*"conversation_id")
}sx
--- no_error_log
[error]



=== TEST 4: "now" sets the day: Christmas is a holiday of the cosmetics shop
--- request
POST /pg
{"domain":"cosmetics","text":"vocês abrem hoje?","now":"2026-12-25T10:00:00-03:00"}
--- response_body_like eval
qr{\A\{(?=.*"reply":"[^"]*Natal)(?=.*"agent":"support")}s
--- no_error_log
[error]



=== TEST 5: another loaded domain by name
--- request
POST /pg
{"domain":"retail","text":"qual o horário de funcionamento?","channel":"instagram"}
--- response_body_like eval
qr{\A\{(?=.*"reply":"[^"]+")(?=.*"agent":"[a-z]+")(?=.*"domain":"retail")(?=.*"channel":"instagram")}s
--- no_error_log
[error]



=== TEST 6: bad input is a 400 whose JSON error names the field
--- request eval
[
 "POST /pg\n{\"domain\":\"cosmetics\"}",
 "POST /pg\n{\"text\":\"\"}",
 "POST /pg\n{\"text\":42}",
 "POST /pg\n{\"text\":\"oi\",\"foo\":1}",
 "POST /pg\n{\"text\":\"oi\",\"now\":\"amanha\"}",
 "POST /pg\n{\"text\":\"oi\",\"now\":\"2026-11-30T10:00:00\"}",
 "POST /pg\n{\"text\":\"$::LONG_TEXT\"}",
 "POST /pg\n{\"text\":",
 "POST /pg\n[\"oi\"]",
 "POST /pg\n{\"text\":\"oi\",\"domain\":1}",
 "POST /pg\n{\"text\":\"oi\",\"channel\":[]}",
 "POST /pg\n{\"text\":\"oi\",\"conversation_id\":true}",
 "POST /pg\n{\"text\":\"oi\",\"conversation_id\":\"$::LONG_CONV\"}",
 "POST /pg\n{\"text\":\"oi\",\"text\":\"ola\"}",
]
--- error_code eval
[(400) x 14]
--- response_body_like eval
[
 qr{^\{"error":"invalid_request","detail":"\\"text\\" is required},
 qr{^\{"error":"invalid_request","detail":"\\"text\\" is required},
 qr{^\{"error":"invalid_request","detail":"\\"text\\" is required},
 qr{^\{"error":"invalid_request","detail":"unknown field \\"foo\\"},
 qr{^\{"error":"invalid_request","detail":"\\"now\\" must be an ISO-8601},
 qr{^\{"error":"invalid_request","detail":"\\"now\\" must be an ISO-8601},
 qr{^\{"error":"invalid_request","detail":"\\"text\\" is longer than 4096 bytes"\}},
 qr{^\{"error":"invalid_json","detail":"line \d+ column \d+: },
 qr{^\{"error":"invalid_request","detail":"the body must be a JSON object"\}},
 qr{^\{"error":"invalid_request","detail":"\\"domain\\" must be a string"\}},
 qr{^\{"error":"invalid_request","detail":"\\"channel\\" must be a string"\}},
 qr{^\{"error":"invalid_request","detail":"\\"conversation_id\\" must be a string or an integer"\}},
 qr{^\{"error":"invalid_request","detail":"\\"conversation_id\\" is longer than 64 bytes"\}},
 qr{^\{"error":"invalid_json","detail":"line \d+ column \d+: duplicate object key near '\\"text\\"'"\}},
]
--- no_error_log
[error]



=== TEST 7: an unknown domain is a 404 naming it
--- request
POST /pg
{"domain":"bakery","text":"tem pão de queijo?"}
--- error_code: 404
--- response_body
{"error":"unknown_domain","detail":"no domain named \"bakery\" is loaded"}
--- no_error_log
[error]



=== TEST 8: no domain loaded: POST is a 404, GET an empty list
--- http_config
    chatwootai_zone cwai 1m;
--- request eval
["POST /pg\n{\"text\":\"oi\"}", "GET /pg"]
--- error_code eval
[404, 200]
--- response_body eval
["{\"error\":\"unknown_domain\",\"detail\":\"no domain is loaded (chatwootai_domain)\"}\n",
 "{\"domains\":[]}\n"]



=== TEST 9: other methods are refused
--- request
PUT /pg
{"text":"oi"}
--- error_code: 405
--- response_body_like: ^\{"error":"method_not_allowed"



=== TEST 10: conversation memory: the follow-up is turn 2, another conversation starts at turn 1
--- request eval
[
 "POST /pg\n{\"domain\":\"cosmetics\",\"text\":\"quanto custa o s\x{c3}\x{a9}rum de vitamina C?\",\"conversation_id\":\"conv-010\"}",
 "POST /pg\n{\"domain\":\"cosmetics\",\"text\":\"e o gel de limpeza?\",\"conversation_id\":\"conv-010\"}",
 "POST /pg\n{\"domain\":\"cosmetics\",\"text\":\"e o gel de limpeza?\",\"conversation_id\":\"conv-other\"}",
 "POST /pg\n{\"domain\":\"cosmetics\",\"text\":\"obrigada!\",\"conversation_id\":\"conv-010\"}",
]
--- response_body_like eval
[
 qr{\A\{(?=.*"sources":\[[^\]]*"BP-SER-001")(?=.*"conversation_id":"conv-010")(?=.*"turn":1[,\}])}s,
 qr{\A\{(?=.*"reply":"[^"]*R\$ \d+,\d\d)(?=.*"agent":"sales")(?=.*"sources":\[[^\]]*"BP-LIM-\d+")(?=.*"conversation_id":"conv-010")(?=.*"turn":2[,\}])}s,
 qr{\A\{(?=.*"conversation_id":"conv-other")(?=.*"turn":1[,\}])}s,
 qr{\A\{(?=.*"conversation_id":"conv-010")(?=.*"turn":3[,\}])}s,
]
--- no_error_log
[error]
