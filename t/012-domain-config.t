# chatwootai_domain at "nginx -t": a broken domain file stops nginx with
# file:line:column; chatwootai_tenant picks the domain per request.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Chatwoot;
use Cwd ();
use File::Basename ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

our $IN = wire('message_created_incoming_whatsapp.json');
our $IN5 = wire('message_created_incoming_whatsapp.json', sub {
    $_[0]{account}{id} = 5; $_[0]{id} = 777 });

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an unknown key: nginx refuses the configuration, naming file:line:column
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain broken $TEST_NGINX_CWAI_ROOT/t/fixtures/domains-broken/unknown-key.yaml;
--- config
--- must_die
--- error_log eval
qr{chatwootai_domain "broken": \S+/t/fixtures/domains-broken/unknown-key\.yaml:14:5: unknown key "pirce" in products\[0\]; did you mean "price"\?}



=== TEST 2: a YAML syntax error
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain broken $TEST_NGINX_CWAI_ROOT/t/fixtures/domains-broken/yaml-syntax.yaml;
--- config
--- must_die
--- error_log eval
qr{yaml-syntax\.yaml:14:10: YAML syntax error}



=== TEST 3: a dangling reference
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain broken $TEST_NGINX_CWAI_ROOT/t/fixtures/domains-broken/dangling-agent.yaml;
--- config
--- must_die
--- error_log eval
qr{dangling-agent\.yaml:13:12: intents\.price_check\.agent: unknown agent "vendas"}



=== TEST 4: a missing file
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain gone /nonexistent/domain.yaml;
--- config
--- must_die
--- error_log
chatwootai_domain "gone": /nonexistent/domain.yaml



=== TEST 5: the same domain name twice
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain shop $TEST_NGINX_CWAI_ROOT/domains/retail.yaml;
    chatwootai_domain shop $TEST_NGINX_CWAI_ROOT/domains/retail.yaml;
--- config
--- must_die
--- error_log
chatwootai_domain "shop" is already defined



=== TEST 6: a tenant override layered over a domain loads
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain shop $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml $TEST_NGINX_CWAI_ROOT/domains/tenants/example-override.yaml;
--- config
    location = /pg { chatwootai_playground; }
--- request
GET /pg
--- response_body_like: "domain":"shop"



=== TEST 7: map $chatwootai_account_id -> the domain that answers, with a default
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
    chatwootai_domain retail $TEST_NGINX_CWAI_ROOT/domains/retail.yaml;
    map $chatwootai_account_id $cwai_domain {
        5        retail;
        default  cosmetics;
    }
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_tenant $cwai_domain;
    }
--- request eval
["POST /hook\n$::IN", "POST /hook\n$::IN5"]
--- more_headers
Content-Type: application/json
--- response_body_like eval
['"account_id":3,.*"domain":"cosmetics"', '"account_id":5,.*"domain":"retail"']



=== TEST 8: a tenant that names no domain is never answered by another business
--- http_config
    chatwootai_zone cwai 1m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
    map $chatwootai_account_id $cwai_domain {
        3        clinic;
        default  "";
    }
--- config
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_tenant $cwai_domain;
    }
--- request eval
"POST /hook\n$::IN"
--- more_headers
Content-Type: application/json
--- response_body_unlike: "domain"
--- error_log
no domain for account 3
