# The L1 zone: get/set/add/incr/delete, expiry, eviction when full,
# contents kept across "nginx -s reload", one zone for every worker.
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }   # keep the zone between blocks
use Test::Nginx::Socket 'no_plan';


our @FILL = map { "PUT /tiny?key=fill$_\n" . ('v' x 2000) } 1 .. 60;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', "    chatwootai_zone cwai 1m;\n    chatwootai_zone tiny 32k;\n")
        unless defined $block->http_config;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location /z { chatwootai_zone_api; }
    location /tiny { chatwootai_zone_api zone=tiny; }
    location = /status { chatwootai_status; }
_EOC_
});

master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: set, get, add-if-absent, incr, delete
--- request eval
["PUT /z?key=greeting&ttl=60000\nol\xc3\xa1", "GET /z?key=greeting",
 "POST /z?key=greeting&op=add\nother", "POST /z?key=fresh&op=add\nfirst",
 "POST /z?key=n&op=incr&by=5", "POST /z?key=n&op=incr&by=-2",
 "DELETE /z?key=n", "GET /z?key=n"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 404]
--- response_body_like eval
['\{"stored":true\}', '\{"key":"greeting","value":"ol\xc3\xa1","ttl_ms":(59\d\d\d|60000)\}',
 '\{"added":false\}', '\{"added":true\}', '\{"value":5\}', '\{"value":3\}',
 '\{"deleted":true\}', '\{"error":"not_found"']



=== TEST 2: keys are URL-decoded and may hold any bytes
--- request eval
["PUT /z?key=conv%3A7%2F318\nx", "GET /z?key=conv:7/318"]
--- response_body_like eval
['stored', '"key":"conv:7/318","value":"x"']



=== TEST 3: an entry with a short TTL (checked in the next test)
--- request
PUT /z?key=short&ttl=300
soon gone
--- response_body_like: stored
--- wait: 1



=== TEST 4: ... has expired; a long-lived one survives the reload
--- request eval
["GET /z?key=short", "GET /z?key=greeting"]
--- error_code eval
[404, 200]



=== TEST 5: a different configuration (a reload) keeps the zone's data
--- config
    location /z { chatwootai_zone_api; }
    location /other { return 204; }
    location /tiny { chatwootai_zone_api zone=tiny; }
--- request
GET /z?key=fresh
--- response_body_like: "value":"first"



=== TEST 6: a full zone evicts the least recently used entries
--- request eval
[@::FILL[0..59], "GET /tiny?key=fill1", "GET /tiny?key=fill60", "GET /status"]
--- error_code eval
[(200) x 60, 404, 200, 200]
--- response_body_like eval
[('stored') x 60, 'not_found', '"value":"v+"',
 'chatwootai_zone_evictions_total\{zone="tiny"\} [1-9]']
--- no_error_log
[alert]
--- timeout: 20



=== TEST 7: two workers share one zone (reuseport spreads the connections)
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_zone tiny 32k;
    server {
        listen 127.0.0.1:1986 reuseport;
        location /z {
            chatwootai_zone_api;
            add_header X-Worker $pid;
        }
    }
--- config
    location /pz {
        proxy_pass http://127.0.0.1:1986/z;
    }
--- request eval
[("POST /pz?key=shared&op=incr") x 20, "GET /pz?key=shared"]
--- response_body_like eval
[(map { "\"value\":$_\\}" } 1 .. 20), '"value":"20"']
