# Self-test of the test harness: the Test::Nginx runner (real or t/compat)
# and the fake upstreams of t/lib/Cwai/Fake.pm.  Stock nginx features only.

use lib 't/lib';
use Test::Nginx::Socket;
use Cwai::Fake;

repeat_each(2);

# tests per repetition, block by block (see the sections of each block)
plan tests => repeat_each() * (
      5     # 1  status, 2 headers, body, no_error_log
    + 2     # 2  status, body_like
    + 3     # 3  status, body, header
    + 4     # 4  2 requests x (status, body_like)
    + 3     # 5  status, error_log, no_error_log
    + 2     # 6  status, grep_error_log_out
    + 3     # 7  must_die, 2 error_log patterns
    + 2     # 8  status, body
    + 5     # 9  2 requests x (status, header), fake_requests
    + 3     # 10 status, body, fake_requests
    + 2     # 11 status, error_log
    + 4     # 12 status, body_like, header, fake_requests
    + 6     # 13 2 requests x (status, body_like, no_error_log)
    + 3     # 14 status, body_like, header
    + 2     # 15 status, error_log
    + 3     # 16 status, body, fake_requests
);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: return, response_headers (with absence), no_error_log
--- config
    location = /t {
        add_header X-Test yes;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
X-Test: yes
!X-Absent
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: error_code and response_body_like
--- config
    location = /t { return 404; }
--- request
GET /nope
--- error_code: 404
--- response_body_like: 404 Not Found



=== TEST 3: POST body through proxy_pass, more_headers, rand port
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            return 200 "body=$http_x_body ua=$http_user_agent\n";
        }
    }
--- config
    location = /echo {
        client_body_in_single_buffer on;
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
--- more_headers
User-Agent: cwai-harness
--- request
POST /echo
hello world
--- response_body
body=hello world ua=cwai-harness
--- response_headers
Content-Type: text/plain



=== TEST 4: several requests in one block (request eval array)
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 403; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 403]
--- response_body_like eval
["^a\$", "403 Forbidden"]



=== TEST 5: error_log with an upstream that refuses connections
--- config
    location = /t { proxy_pass http://127.0.0.1:1/; }
--- request
GET /t
--- error_code: 502
--- error_log
connect() failed (111: Connection refused)
--- no_error_log
[crit]



=== TEST 6: grep_error_log
--- config
    location = /t { proxy_pass http://127.0.0.1:1/; }
--- request
GET /t
--- error_code: 502
--- grep_error_log eval: qr/connect\(\) failed \(\d+: [^)]+\)/
--- grep_error_log_out
connect() failed (111: Connection refused)



=== TEST 7: must_die shows the startup error with file:line
--- config
    location = /t { no_such_directive on; }
--- must_die
--- error_log eval
[qr/\[emerg\] .*unknown directive "no_such_directive" in \S+nginx\.conf:\d+/,
 "unknown directive"]



=== TEST 8: user_files under the html root
--- user_files
>>> hello.txt
hi from a user file
--- config
--- request
GET /hello.txt
--- response_body
hi from a user file



=== TEST 9: fake: scripted sequence, first 429 (fixture head + body) then 200
--- fake eval
{ openai => { routes => {
    'POST /v1/chat/completions' => [
        { status => 429, head_file => 'openai/error-429-rate-limit.headers',
          file => 'openai/error-429-rate-limit.json' },
        { file => 'openai/chat-completion-final.json' },
    ],
} } }
--- config
    location /v1/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_OPENAI_PORT;
    }
--- request eval
["POST /v1/chat/completions\n{\"model\":\"m\"}", "POST /v1/chat/completions\n{\"model\":\"m\"}"]
--- error_code eval
[429, 200]
--- response_headers eval
["retry-after: 1", "Content-Type: application/json"]
--- fake_requests
openai POST /v1/chat/completions
openai POST /v1/chat/completions



=== TEST 10: fake: delayed response within proxy_read_timeout
--- fake eval
{ slow => { routes => { 'GET /slow' => { delay => 300, body => "slow\n" } } } }
--- config
    location = /t {
        proxy_read_timeout 3s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_SLOW_PORT/slow;
    }
--- request
GET /t
--- response_body
slow
--- fake_requests
slow GET /slow



=== TEST 11: fake: delay longer than proxy_read_timeout gives 504
--- fake eval
{ slow => { routes => { 'GET /slow' => { delay => 2000, body => "late\n" } } } }
--- config
    location = /t {
        proxy_read_timeout 200ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_SLOW_PORT/slow;
    }
--- request
GET /t
--- error_code: 504
--- error_log
upstream timed out



=== TEST 12: fake: recorded request checked with eval matchers
--- fake eval
{ echo => { routes => {
    'POST /v1/echo' => sub {
        my ($req) = @_;
        return { status => 201, json => { got => $req->{json}, ct => $req->{headers}{'content-type'} } };
    },
} } }
--- config
    location = /api {
        proxy_set_header Authorization "Bearer sk-test";
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_ECHO_PORT/v1/echo?x=1;
    }
--- more_headers
Content-Type: application/json
--- request
POST /api
{"hello":"world","n":[1,2]}
--- error_code: 201
--- response_body_like: "got":\{"hello":"world","n":\[1,2\]\}
--- response_headers
Content-Type: application/json
--- fake_requests eval
[ { fake => 'echo', method => 'POST', path => '/v1/echo', query => 'x=1',
    status => 201,
    headers => { Authorization => 'Bearer sk-test', 'X-Absent' => undef,
                 'Content-Type' => qr{^application/json} },
    json => { hello => 'world', n => [1, 2] } } ]



=== TEST 13: fake: recording read back through nginx in the same block (alias)
--- fake eval
{ echo => { routes => { 'POST /v1/echo' => { body => "ok\n" } } } }
--- config
    location = /api {
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_ECHO_PORT/v1/echo;
    }
    location = /fake-log {
        default_type application/json;
        alias $TEST_NGINX_SERVER_ROOT/logs/fake-echo.log;
    }
--- request eval
["POST /api\n{\"k\":\"v\"}", "GET /fake-log"]
--- response_body_like eval
["^ok\$", '^\{.*"json":\{"k":"v"\}.*"method":"POST".*"path":"/v1/echo".*\}\n\z']
--- no_error_log
[error]



=== TEST 14: fake: chunked SSE fixture, one chunk per event, 20 ms apart
--- fake eval
{ openai => { routes => { 'POST /v1/chat/completions' => {
    file => 'openai/chat-completion-stream.sse', chunked => 1,
    chunk_on => "\n\n", chunk_delay => 20 } } } }
--- config
    location /v1/ {
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_OPENAI_PORT;
    }
--- request
POST /v1/chat/completions
{"stream":true}
--- response_body_like: ^data: \{"id":"chatcmpl-.*\n\ndata: \[DONE\]\n\n$
--- response_headers
Content-Type: text/event-stream



=== TEST 15: fake: malformed response gives 502
--- fake eval
{ bad => { routes => { 'GET /x' => { raw => "HTTP/1.1 200 OK\r\nBroken Header Line\r\n\r\n" } } } }
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_BAD_PORT/x; }
--- request
GET /t
--- error_code: 502
--- error_log
upstream sent invalid header



=== TEST 16: fake: text form (a sink answering 200 {} to everything)
--- fake
sink
--- config
    location /hook/ { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_SINK_PORT/in/; }
--- request
POST /hook/a?b=1
payload
--- response_body chomp
{}
--- fake_requests
sink POST /in/a?b=1
