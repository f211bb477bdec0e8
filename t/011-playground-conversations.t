# Every customer turn of the store's example conversations
# (t/fixtures/store/conversations.json) through the playground API, each
# conversation as one playground conversation at its reference "now":
# routing accuracy must reach 90% and the answers must carry the figures
# the fixtures expect (prices, policies, slots), except those only the
# customer's own ERP records hold (orders, loyalty balance).
use lib 't/lib';
use Test::Nginx::Socket;
use JSON::PP ();
use Cwd ();
use File::Basename ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

my $json = JSON::PP->new->utf8->canonical;
binmode Test::More->builder->$_, ':utf8' for qw(output failure_output todo_output);
my $convs = do {
    open my $fh, '<:raw', 't/fixtures/store/conversations.json' or die $!;
    local $/;
    $json->decode(<$fh>);
};

# Facts that come from the customer's own records in the ERP (order
# numbers, tracking, order dates and totals, loyalty points): the embedded
# agent cannot know them; the model with the Odoo tools can.
our %NEEDS_ERP = map { $_ => 1 } (
    'CONV-03:SO0131', 'CONV-03:QB205248190BR', 'CONV-03:03/12', 'CONV-03:R$ 198,70',
    'CONV-06:SO0116', 'CONV-08:2890', 'CONV-08:R$ 140,00', 'CONV-08:110',
    'CONV-14:SO0139', 'CONV-14:R$ 142,60', 'CONV-14:03/12', 'CONV-14:R$ 136,21',
    'CONV-04:R$ 135,00', 'CONV-16:R$ 152,00',
    'CONV-19:SO0137', 'CONV-20:SO0133', 'CONV-20:R$ 162,00',
);

our (@REQ, @TURN);
for my $c (@$convs) {
    for my $t (@{ $c->{turns} }) {
        next unless $t->{role} eq 'customer';
        push @REQ, "POST /pg\n" . $json->encode({
            domain => 'cosmetics', text => $t->{text}, channel => $c->{channel},
            conversation_id => "fixture-$c->{id}", now => $c->{reference_now} });
        push @TURN, { conv => $c->{id}, %$t };
    }
}

our ($routed, $facts, $facts_ok, @missed) = (0, 0, 0);

add_response_body_check(sub {
    my ($block, $body, $i, $repeated, $dry_run) = @_;
    return if $dry_run || !$block->name =~ /conversations/;
    my $t = $TURN[$i] or return;
    my $ans = eval { $json->decode($body) } or die "not JSON: $body";
    my @ok = @{ $t->{acceptable_agents} || [$t->{expected_agent}] };
    $routed++ if grep { $_ eq $ans->{agent} } @ok, $t->{expected_agent};
    for my $f (@{ $t->{expected_facts} || [] }) {
        next if $NEEDS_ERP{"$t->{conv}:$f"};
        $facts++;
        if (index($ans->{reply}, $f) >= 0) { $facts_ok++ }
        else { push @missed, "$t->{conv} \"$f\" in: $ans->{reply}" }
    }
    return unless $i == $#TURN;
    my $acc = $routed / @TURN;
    Test::More::diag(sprintf "routing %d/%d = %.1f%%; facts %d/%d", $routed,
                     scalar @TURN, 100 * $acc, $facts_ok, $facts);
    Test::More::diag("missed: $_") for @missed;
    die sprintf("routing accuracy %.1f%% is below 90%%\n", 100 * $acc) if $acc < 0.9;
    die "facts missing from the answers (see the diagnostics above)\n" if @missed;
});

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_');
    chatwootai_zone cwai 4m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
_EOC_
    $block->set_value('config', <<'_EOC_');
    location = /pg { chatwootai_playground; }
_EOC_
});

plan tests => 2 * @REQ;    # status + body per request; the check dies in the last
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the store's conversations, turn by turn
--- request eval
\@::REQ
--- more_headers
Content-Type: application/json
--- response_body_like eval
[ map { qr/"agent":"/ } @::REQ ]
--- timeout: 30
