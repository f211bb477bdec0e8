# Self-test of the runner's reload mode: with use_hup() (or the environment
# variable TEST_NGINX_USE_HUP=1) nginx is reloaded with SIGHUP between blocks
# instead of being restarted, so shared memory zones keep their contents.
# Stock nginx only: a limit_req zone allowing 1 request a minute (limit_req
# runs after the rewrite phase, so the location serves a file, not "return").

use lib 't/lib';
use Test::Nginx::Socket;

use_hup();
repeat_each(1);
plan tests => repeat_each() * (2 * blocks());
no_shuffle();
run_tests();

__DATA__

=== TEST 1: first request passes and is counted in the shm zone
--- http_config
    limit_req_zone $server_name zone=cwai_hup:1m rate=1r/m;
--- config
    location = /t { limit_req zone=cwai_hup; root html; try_files /index.html =404; }
--- request
GET /t
--- response_body_like: It works!



=== TEST 2: after the reload the zone still holds the first request
--- http_config
    limit_req_zone $server_name zone=cwai_hup:1m rate=1r/m;
--- config
    location = /t { limit_req zone=cwai_hup; root html; try_files /index.html =404; }
--- request
GET /t
--- error_code: 503
--- response_body_like: 503 Service
