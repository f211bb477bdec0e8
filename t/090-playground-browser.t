# The playground page (nginx-conf/html/playground.html) in headless Chromium:
# pick the cosmetics domain, type questions, see the answers with agent,
# confidence, sources and time.
#
# How: the block's nginx serves the page and the API, and its request goes
# to /browser, proxied to a fake upstream (t/lib/Cwai/Fake.pm) whose route
# is a Perl callback, drive_playground() below.  It starts chromedriver +
# Chromium (t/lib/Cwai/Browser.pm), drives the page served by this very
# nginx, and answers with a plain-text transcript that the block asserts.
#
# Needs Debian's chromium and chromium-driver (`make deps`); without them the
# test FAILS and says so.  Runtime: about 2-4 s.
use lib 't/lib';
use Test::Nginx::Socket;
use Cwai::Fake;
use Cwai::Browser;
use Cwd ();
use File::Basename ();
use Encode ();
use Time::HiRes ();

BEGIN {
    $ENV{TEST_NGINX_CWAI_ROOT} //=
        Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__)) . '/..');
}

if (my $why = Cwai::Browser::missing()) {
    Test::More::diag("090-playground-browser: $why"
        . "The browser test will fail until they are installed.");
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'_EOC_') unless defined $block->http_config;
    chatwootai_zone cwai 1m;
    chatwootai_domain cosmetics $TEST_NGINX_CWAI_ROOT/domains/cosmetics.yaml;
_EOC_
});

plan tests => 7;
no_shuffle();
no_long_string();
run_tests();


# ---------------------------------------------------------------------------
# the browser side, run inside the fake's process

sub u { Encode::decode_utf8($_[0]) }

sub one_line {
    my ($s) = @_;
    $s //= '';
    $s =~ s/\s*\n\s*/ \/ /g;
    return $s;
}

# Types a question into #text, sends it with a click on #send or Enter, waits
# for the next .msg.bot / .msg.error and describes it.
sub ask {
    my ($b, $out, $label, $question, $how) = @_;
    my $count_js = 'return document.querySelectorAll("#transcript .msg.bot, #transcript .msg.error").length';
    my $before = $b->execute($count_js);

    my $text = $b->find('#text');
    $b->clear($text);
    if ($how eq 'enter') {
        $b->send_keys($text, $question . "\x{E007}");
    } else {
        $b->send_keys($text, $question);
        $b->click($b->find('#send'));
    }
    push @$out, "--- $label ($how): $question";

    $b->wait_for(sub { $b->execute($count_js) > $before }, 10, "an answer to \"$question\"");

    my @msgs = $b->find_all('#transcript .msg.bot, #transcript .msg.error');
    my $m = $msgs[-1];
    my $class = $b->attribute($m, 'class');
    if ($class =~ /\berror\b/) {
        push @$out, 'error: ' . one_line($b->text($b->find('.reply', $m)));
        return;
    }
    push @$out, 'reply: ' . one_line($b->text($b->find('.reply', $m)));
    for my $f (qw(agent intent confidence sources handoff time turn now-sent)) {
        my ($el) = $b->find_all(".meta .$f", $m);
        push @$out, "$f: " . one_line($b->text($el)) if defined $el;
    }
}

sub drive_playground {
    my ($req) = @_;
    my $url = $req->{headers}{'x-playground-url'}
        or return { status => 400, body => "no X-Playground-Url header\n" };

    my $t0 = Time::HiRes::time();
    my $tl = $t0;
    my (@out, @steps);
    my $lap = sub {
        my $t = Time::HiRes::time();
        push @steps, sprintf('%s %.2f', $_[0], $t - $tl);
        $tl = $t;
    };
    my $b;
    my $ok = eval {
        $b = Cwai::Browser->new;
        push @out, 'browser: Chromium ' . $b->version;
        $lap->('start');

        $b->get($url);
        push @out, 'title: ' . $b->title;
        $b->wait_for(sub { $b->execute('return document.body.dataset.ready === "1"') },
                     10, 'the domain list');
        $lap->('load');
        push @out, 'domains: ' . $b->execute(
            'return Array.from(document.querySelectorAll("#domain option")).map(o => o.value).join(", ")');

        $b->click($b->find('#domain option[value="cosmetics"]'));
        $b->click($b->find('#channel option[value="whatsapp"]'));
        push @out, 'selected: ' . $b->property($b->find('#domain'), 'value')
                   . ' / ' . $b->property($b->find('#channel'), 'value');
        push @out, 'domain-info: ' . $b->text($b->find('#domain-info'));
        push @out, 'conversation: ' . $b->text($b->find('#conv'));

        $lap->('select');
        ask($b, \@out, 'Q1', u('quanto custa o sérum de vitamina C?'), 'click');
        $lap->('Q1');
        ask($b, \@out, 'Q2', u('e o gel de limpeza?'), 'enter');
        $lap->('Q2');

        # a bad "now" is shown inline, then a local time gets the domain's offset
        my $now = $b->find('#now');
        $b->send_keys($now, u('amanhã cedo'));
        ask($b, \@out, 'Q3 now=bad', u('vocês abrem hoje?'), 'click');
        $b->clear($now);
        $b->send_keys($now, '2026-12-25T10:00');
        ask($b, \@out, 'Q4 now=2026-12-25T10:00', u('vocês abrem hoje?'), 'click');
        $lap->('Q3+Q4');
        push @out, 'counts: bot=' . scalar($b->find_all('#transcript .msg.bot'))
                   . ' customer=' . scalar($b->find_all('#transcript .msg.customer'))
                   . ' error=' . scalar($b->find_all('#transcript .msg.error'));

        # a new conversation starts again at turn 1
        my $conv = $b->text($b->find('#conv'));
        $b->click($b->find('#new'));
        $b->clear($now);
        my $conv2 = $b->text($b->find('#conv'));
        push @out, '--- new conversation: ' . ($conv2 ne $conv ? 'new id' : 'SAME id')
                   . ', bot messages left: ' . scalar($b->find_all('#transcript .msg.bot'));
        ask($b, \@out, 'Q5', u('e o gel de limpeza?'), 'enter');
        $lap->('Q5');

        # an unreachable API is reported on the page
        $b->get($url . '?api=/broken-api');
        $b->wait_for(sub { scalar $b->find_all('#transcript .msg.error') }, 10,
                     'the error of a bad ?api=');
        push @out, '--- bad api: ' . one_line($b->text($b->find('#transcript .msg.error')));
        $lap->('bad-api');
        1;
    };
    my $err = $@;
    if (!$ok && $b) {
        my $shot = eval {
            $b->screenshot(Cwai::Fake::_servroot() . '/logs/playground-failure.png')
        };
        push @out, "screenshot: $shot" if $shot;
        my $page = eval { $b->text($b->find('body')) };
        push @out, "page text:\n$page" if defined $page;
    }
    $b->quit if $b;
    $lap->('quit');
    push @out, sprintf('elapsed: %.2f s (%s)', Time::HiRes::time() - $t0, join(', ', @steps));

    my $body = join("\n", @out) . "\n";
    if (!$ok) {
        warn "090-playground-browser: BROWSER TEST FAILED: $err";
        return { status => 500, body => "BROWSER TEST FAILED: $err\n$body" };
    }
    return { status => 200, body => $body,
             headers => { 'Content-Type' => 'text/plain; charset=utf-8' } };
}

__DATA__

=== TEST 1: the page is served, self-contained, with the ids the test uses
--- config
    location = /playground/ {
        root $TEST_NGINX_CWAI_ROOT/nginx-conf/html;
        try_files /playground.html =404;
        charset utf-8;
    }
--- request
GET /playground/
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body_filters eval
sub {
    my $html = shift;
    my @r = map { $html =~ /\bid="$_"/ ? $_ : "NO-$_" } qw(domain channel now text send new transcript);
    push @r, $html =~ /<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?!data:)/
             ? 'EXTERNAL-RESOURCE' : 'self-contained';
    return CORE::join(' ', @r) . "\n";
}
--- response_body
domain channel now text send new transcript self-contained
--- no_error_log
[error]



=== TEST 2: chat with the cosmetics domain in headless Chromium
--- config
    location = /playground/ {
        root $TEST_NGINX_CWAI_ROOT/nginx-conf/html;
        try_files /playground.html =404;
        charset utf-8;
    }
    location = /playground/api {
        chatwootai_playground;
    }
    location = /broken-api {
        default_type application/json;
        return 503 '{"error":"unavailable","detail":"maintenance"}';
    }
    location = /browser {
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_BROWSER_PORT/run;
        proxy_set_header X-Playground-Url http://127.0.0.1:$server_port/playground/;
        proxy_read_timeout 90s;
    }
--- fake eval
{ browser => { routes => { 'GET /run' => \&main::drive_playground } } }
--- request
GET /browser
--- timeout: 90
--- error_code: 200
--- response_body_like eval
qr{
^domains:\ [^\n]*\bcosmetics\b[^\n]*\n
^selected:\ cosmetics\ /\ whatsapp\n
^domain-info:\ Bela\ Pele[^\n]*60\ produtos[^\n]*\n
(?:.*\n)*?
^---\ Q1\ \(click\):\ quanto\ custa[^\n]*\n
^reply:\ [^\n]*R\$\ \d+,\d\d[^\n]*\n
^agent:\ sales\n
^intent:\ \S+\n
^confidence:\ \d{1,3}%\n
^sources:\ [^\n]*\bBP-SER-001\b[^\n]*\n
^handoff:\ n[^\n]*\n
^time:\ [\d.,]+\ \S*s\n
^turn:\ 1\n
^---\ Q2\ \(enter\):\ e\ o\ gel\ de\ limpeza\?\n
^reply:\ [^\n]*R\$\ \d+,\d\d[^\n]*\n
^agent:\ sales\n
(?:[^\n]*\n)*?
^sources:\ [^\n]*\bBP-LIM-\d+[^\n]*\n
(?:[^\n]*\n)*?
^turn:\ 2\n
^---\ Q3\ now=bad\ \(click\):[^\n]*\n
^error:\ invalid_request\ [^\n]*"now"[^\n]*\n
^---\ Q4\ now=2026-12-25T10:00\ \(click\):[^\n]*\n
^reply:\ [^\n]*Natal[^\n]*\n
(?:[^\n]*\n)*?
^turn:\ 3\n
^now-sent:\ 2026-12-25T10:00:00-03:00\n
^counts:\ bot=3\ customer=4\ error=1\n
^---\ new\ conversation:\ new\ id,\ bot\ messages\ left:\ 0\n
^---\ Q5\ \(enter\):[^\n]*\n
(?:[^\n]*\n)*?
^turn:\ 1\n
^---\ bad\ api:\ [^\n]*/broken-api:\ unavailable:\ maintenance\n
}mx
--- no_error_log
[error]
