# chatwootai_rate_limit (per contact) and chatwootai_token_budget (per
# tenant and day): a message over a limit is still answered — by the
# embedded agent, or handed off — but never sent to the model.
use utf8;
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwai::Fake;
use Cwai::Chatwoot;
use Cwd ();
use File::Basename ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

# one contact (the fixture's sender), several conversations
sub msg { my ($text, $id, $conv) = @_;
          wire('message_created_incoming_whatsapp.json', sub {
              $_[0]{content} = $text; $_[0]{id} = $id;
              $_[0]{conversation}{id} = $conv }) }

our $ASK1  = msg('qual o prazo para trocar um produto?', 4201, 601);
our $FAQ2  = msg('vocês aceitam pix? tem desconto?', 4202, 602);
our $ODD3  = msg('xpto blorf quibbly zanf', 4203, 603);
our $ASK4  = msg('qual o prazo de entrega para Curitiba?', 4204, 604);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai 4m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
_EOC_
    # each message is answered at once (the quiet window is t/031's)
    $block->set_value('http_config',
                      $block->http_config . "    chatwootai_debounce off;\n");
    my $limits = $block->limits // '';
    $block->set_value('config', <<_EOC_) unless defined $block->config;
    location = /hook {
        chatwootai_webhook;
        chatwootai_webhook_auth off;
        chatwootai_llm /_cwai/openai model=gpt-4.1-mini max_tokens=300;
        chatwootai_chatwoot /_cwai/chatwoot;
        chatwootai_confidence answer=1.01 fallback=0.6;
        chatwootai_cache_ttl 0;
        $limits
    }
    location /_cwai/openai/ {
        internal;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_FAKE_OPENAI_PORT/;
        proxy_buffering off;
        proxy_read_timeout 2s;
    }
    location /_cwai/chatwoot/ {
        internal;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_FAKE_CHATWOOT_PORT/;
        proxy_buffering off;
        proxy_set_header Api-Access-Token bot-token;
    }
    location = /status { chatwootai_status; }
    location = /sleep { proxy_pass http://127.0.0.1:\$TEST_NGINX_FAKE_CHATWOOT_PORT/sleep; }
_EOC_
    $block->set_value('more_headers', "Content-Type: application/json\n")
        unless defined $block->more_headers;
});

# the customer messages the model was asked about (the last user turn)
sub asked { my ($reqs) = @_;
            my %seen;
            for my $r (grep { $_->{fake} eq 'openai' } @$reqs) {
                for my $m (@{ $r->{json}{messages} || [] }) {
                    $seen{$1} = 1 if $m->{role} eq 'user' && ($m->{content} // '') =~
                        /(prazo para trocar|aceitam pix|xpto blorf|entrega para Curitiba)/;
                }
            }
            return \%seen }
sub posts { my ($reqs, $conv) = @_;
            map { $_->{json} } grep { $_->{fake} eq 'chatwoot'
                && $_->{path} =~ m{/conversations/$conv/messages$} } @$reqs }

# the info line is in error.log (checked once, whatever the request count)
sub logged { my ($re) = @_;
             open my $fh, "<", "$Test::Nginx::Util::ServRoot/logs/error.log" or die $!;
             die "error.log lacks $re\n" unless grep { /$re/ } <$fh> }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: rates, bursts, budgets and off load
--- config
    location = /a { chatwootai_webhook; chatwootai_webhook_auth off;
                    chatwootai_rate_limit 10/m burst=5; chatwootai_token_budget 200000 per=day; }
    location = /b { chatwootai_webhook; chatwootai_webhook_auth off;
                    chatwootai_rate_limit 2/s; chatwootai_token_budget 1; }
    location = /c { chatwootai_webhook; chatwootai_webhook_auth off;
                    chatwootai_rate_limit off; chatwootai_token_budget off; }
--- request
GET /a
--- error_code: 405



=== TEST 2: a bad rate is refused
--- config
    location = /a { chatwootai_webhook; chatwootai_webhook_auth off;
                    chatwootai_rate_limit 10/x; }
--- must_die
--- error_log
invalid rate "10/x"



=== TEST 3: a bad budget is refused
--- config
    location = /a { chatwootai_webhook; chatwootai_webhook_auth off;
                    chatwootai_token_budget 100 per=week; }
--- must_die
--- error_log
invalid parameter "per=week"



=== TEST 4: under the limits the model answers every message
--- limits
chatwootai_rate_limit 10/m burst=5;
chatwootai_token_budget 1000000;
--- fake
openai
chatwoot
--- request eval
["POST /hook\n$::ASK1", "POST /hook\n$::ASK4"]
--- response_body_like eval
['"status":"accepted"', '"status":"accepted"']
--- wait: 1
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was not asked about both messages: @{[ sort keys %$asked ]}\n"
        unless $asked->{'prazo para trocar'} && $asked->{'entrega para Curitiba'};
    die "no reply posted\n" unless ::posts($reqs, 601) && ::posts($reqs, 604);
}
--- no_error_log
[error]
over chatwootai_rate_limit



=== TEST 5: a contact over its rate limit gets the embedded answer, not the model
--- limits
chatwootai_rate_limit 1/m;
--- fake eval
{ openai => {},
  chatwoot => { routes => { 'GET /sleep' => { delay => 500, body => 'ok' } } } }
--- request eval
["POST /hook\n$::ASK1", "POST /hook\n$::FAQ2", "GET /sleep", "GET /status"]
--- response_body_like eval
['"status":"accepted"(?!.*"limit")', '"status":"accepted".*"limit":"rate_limited"', 'ok',
 'chatwootai_rate_limited_total\{zone="cwai"\} 1\n']
--- wait: 0.5
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was not asked about the first message\n" unless $asked->{'prazo para trocar'};
    die "the model was asked about the rate-limited message\n" if $asked->{'aceitam pix'};
    my @p = ::posts($reqs, 602);
    die "no answer to the rate-limited message\n" unless @p;
    die "not the embedded answer: $p[0]{content}\n" unless $p[0]{content} =~ /5%/;
    ::logged(qr/contact \d+ of inbox \d+ is over chatwootai_rate_limit: message 4202 is answered without the model/);
}



=== TEST 6: over the rate limit and not confident: a handoff saying why
--- limits
chatwootai_rate_limit 1/h;
--- fake
openai
chatwoot
--- request eval
["POST /hook\n$::ASK1", "POST /hook\n$::ODD3"]
--- wait: 1
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was asked about the rate-limited message\n" if $asked->{'xpto blorf'};
    my @p = ::posts($reqs, 603);
    die "expected a notice and a private note, got " . @p . "\n" unless @p >= 2;
    die "the note does not say rate_limited\n"
        unless grep { $_->{private} && $_->{content} =~ /rate_limited/ } @p;
    die "not handed off\n" unless grep { $_->{fake} eq 'chatwoot'
        && $_->{path} =~ m{/conversations/603/toggle_status$} } @$reqs;
}



=== TEST 7: a tenant over its daily token budget: no model, the embedded answer or a handoff
--- limits
chatwootai_token_budget 1;
--- fake eval
{ openai => {},
  chatwoot => { routes => { 'GET /sleep' => { delay => 1000, body => 'ok' } } } }
--- request eval
["POST /hook\n$::ASK1", "GET /sleep", "POST /hook\n$::FAQ2", "POST /hook\n$::ODD3",
 "GET /sleep", "GET /status"]
--- response_body_like eval
['"status":"accepted"', 'ok', '"status":"accepted"(?!.*"limit")', '"status":"accepted"', 'ok',
 'chatwootai_budget_exceeded_total\{zone="cwai"\} 2\n']
--- wait: 0.5
--- fake_requests eval
sub {
    my ($reqs) = @_;
    my $asked = ::asked($reqs);
    die "the model was not asked about the first message\n" unless $asked->{'prazo para trocar'};
    die "the model was asked over budget\n" if $asked->{'aceitam pix'} || $asked->{'xpto blorf'};
    my @p = ::posts($reqs, 602);
    die "no embedded answer over budget\n" unless @p && $p[0]{content} =~ /5%/;
    @p = ::posts($reqs, 603);
    die "the handoff note does not say token_budget\n"
        unless grep { $_->{private} && $_->{content} =~ /token_budget/ } @p;
    ::logged(qr/domain "cosmetics" spent \d+ model tokens today, chatwootai_token_budget is 1: a message is answered without the model/);
}
