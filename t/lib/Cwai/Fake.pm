package Cwai::Fake;

# Fake upstream HTTP servers for the Test::Nginx suite (OpenAI, Qdrant, Odoo,
# Chatwoot, ...).  Works under the real CPAN Test::Nginx and under the
# project's compat runner (t/compat).  Usage and the full spec format are in
# t/README.md; in short:
#
#   use lib 't/lib';
#   use Test::Nginx::Socket;
#   use Cwai::Fake;
#
#   --- fake eval
#   { openai => { routes => {
#         'POST /v1/chat/completions' => [
#             { status => 429, head_file => 'openai/error-429-rate-limit.headers',
#               file => 'openai/error-429-rate-limit.json' },
#             { file => 'openai/chat-completion-final.json', delay => 100 },
#         ] } } }
#   --- config
#   location /v1/ { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_OPENAI_PORT; }
#   --- fake_requests
#   openai POST /v1/chat/completions
#
# A block preprocessor starts one process per fake before nginx starts (each
# serves any number of concurrent connections from one select() loop, so a
# scripted sequence is shared by all of them) and stops them when the block
# ends.  Every request is appended as one JSON line to
# <servroot>/logs/fake-<name>.log.

use strict;
use warnings;
no warnings 'once';

use IO::Socket::INET;
use IO::Select;
use POSIX qw(WNOHANG);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Socket qw(SOL_SOCKET SO_LINGER);
use Scalar::Util qw(refaddr blessed);
use Time::HiRes qw(time sleep);
use File::Spec;
use File::Path qw(make_path);
use JSON::PP ();
use MIME::Base64 ();
use Encode ();

our $VERSION = '0.1';

our %Presets;          # name => spec hash, or sub (%opts) returning one
our @Running;          # fakes of the current block
our $CurrentBlockAddr; # refaddr of the block they belong to
our $FixturesDir = File::Spec->rel2abs($ENV{CWAI_FIXTURES_DIR} || 't/fixtures');
our $Verbose = $ENV{TEST_NGINX_VERBOSE};

my $Installed;
my $OwnerPid = $$;
my $JSON = JSON::PP->new->utf8->canonical->allow_nonref->allow_blessed->convert_blessed;

sub import {
    install();
}

# ---------------------------------------------------------------------------
# hooking into Test::Nginx (same calls for the real framework and t/compat)

sub install {
    return if $Installed++;
    require Test::Nginx::Socket;

    &Test::Nginx::Socket::add_block_preprocessor(\&_preprocess);

    if (defined &Test::Nginx::Socket::add_test_cleanup_handler) {
        &Test::Nginx::Socket::add_test_cleanup_handler(sub { stop_all() });
    }

    # Wrap the per-repetition request helper: fakes restart (fresh scripted
    # sequences, empty recordings) before each repetition after the first,
    # and "--- fake_requests" is checked after the block's requests, its
    # --- wait and its error-log checks.
    my $orig = $Test::Nginx::Util::RunTestHelper;
    if (ref $orig eq 'CODE') {
        $Test::Nginx::Util::RunTestHelper = sub {
            my ($block, $dry_run, $rep) = @_;
            if ($rep && @Running && $CurrentBlockAddr == refaddr($block)) {
                restart_all();
            }
            my @ret = $orig->(@_);
            if (defined $block->fake_requests) {
                check_requests($block, $dry_run, $rep || 0);
            }
            return @ret;
        };
    } else {
        warn "Cwai::Fake: Test::Nginx has no \$RunTestHelper; --- fake_requests is disabled\n";
    }
}

END {
    stop_all() if $$ == $OwnerPid;
}

sub _servroot {
    return $Test::Nginx::Util::ServRoot
        || $ENV{TEST_NGINX_SERVER_ROOT}
        || File::Spec->rel2abs('t/servroot');
}

sub log_path {
    my ($name) = @_;
    return File::Spec->catfile(_servroot(), 'logs', "fake-$name.log");
}

sub port_env_name {
    my ($name) = @_;
    (my $u = uc $name) =~ s/[^A-Z0-9_]/_/g;
    return "TEST_NGINX_FAKE_${u}_PORT";
}

# ---------------------------------------------------------------------------
# presets (protocol-exact fakes built on top of this module)

# preset(NAME => {routes => ..., default => ...})  or  preset(NAME => sub { ... })
sub preset {
    my ($name, $spec) = @_;
    $Presets{$name} = $spec;
}

sub _load_preset {
    my ($name, $opts) = @_;
    if (!exists $Presets{$name} && $name =~ /^\w+$/) {
        my $file = "Cwai/Fake/Preset/$name.pm";
        my $ok = eval { require $file; 1 };
        if (!$ok && $@ !~ /^Can't locate \Q$file\E/) {
            die "Cwai::Fake: loading preset $name: $@";
        }
    }
    my $p = $Presets{$name};
    return undef unless defined $p;
    return ref $p eq 'CODE' ? $p->(%{ $opts || {} }) : $p;
}

# ---------------------------------------------------------------------------
# spec parsing

sub _die_spec { die "Cwai::Fake: bad --- fake section: @_\n" }

# Returns a list of [name, spec] in declaration order.
sub parse_spec {
    my @v = @_;
    my @fakes;

    if (@v == 1 && !ref $v[0] && $v[0] =~ /\bat \(eval \d+\) line \d+/) {
        _die_spec("the eval filter failed: $v[0]");
    }
    if (@v == 1 && !ref $v[0]) {
        # text form: one "NAME [PORT|auto] [PRESET]" per line
        for my $line (split /\n/, $v[0]) {
            $line =~ s/#.*//;
            next unless $line =~ /\S/;
            my ($name, $port, $preset, @rest) = split ' ', $line;
            _die_spec("too many words in \"$line\"") if @rest;
            push @fakes, [$name, { port => $port, (defined $preset ? (preset => $preset) : ()) }];
        }
    } else {
        my @pairs;
        if (@v == 1 && ref $v[0] eq 'HASH') {
            @pairs = map { ($_, $v[0]{$_}) } sort keys %{ $v[0] };
        } elsif (@v == 1 && ref $v[0] eq 'ARRAY') {
            @pairs = @{ $v[0] };
        } else {
            @pairs = @v;
        }
        _die_spec("expected NAME => {spec} pairs") if @pairs % 2;
        while (@pairs) {
            my ($name, $spec) = splice @pairs, 0, 2;
            $spec = { port => $spec } if !ref $spec;
            _die_spec("spec of $name must be a hash") if ref $spec ne 'HASH';
            push @fakes, [$name, $spec];
        }
    }

    for my $f (@fakes) {
        my ($name, $spec) = @$f;
        _die_spec("bad fake name \"$name\" (use [A-Za-z][A-Za-z0-9_]*)")
            unless $name =~ /^[A-Za-z][A-Za-z0-9_]*$/;
        my $pname = $spec->{preset} // $name;
        my $preset = _load_preset($pname, $spec->{options});
        _die_spec("unknown preset \"$pname\" for $name")
            if defined $spec->{preset} && !$preset;
        $f->[1] = _merge($preset, $spec) if $preset;
        my $port = $f->[1]{port};
        _die_spec("bad port \"$port\" for $name")
            if defined $port && $port ne 'auto' && $port !~ /^\d+$/;
    }
    return @fakes;
}

sub _routes_list {
    my ($routes) = @_;
    return () unless $routes;
    return map { [$_, $routes->{$_}] } sort keys %$routes if ref $routes eq 'HASH';
    my @r = @$routes;
    my @out;
    while (@r) { my ($k, $v) = splice @r, 0, 2; push @out, [$k, $v] }
    return @out;
}

sub _merge {
    my ($preset, $spec) = @_;
    my %m = (%$preset, %$spec);
    delete $m{preset};
    my %seen;
    my @routes;
    for my $r (_routes_list($spec->{routes}), _routes_list($preset->{routes})) {
        my $k = ref $r->[0] ? "re:$r->[0]" : $r->[0];
        next if $seen{$k}++;
        push @routes, @$r;
    }
    $m{routes} = \@routes if @routes;
    return \%m;
}

# compiled routes: [ {key, method, path, prefix, query, re, resp} ] in match order
sub _compile_routes {
    my ($spec) = @_;
    my (@exact, @prefix, @re);
    for my $r (_routes_list($spec->{routes})) {
        my ($key, $resp) = @$r;
        if (ref $key eq 'Regexp') {
            push @re, { key => "$key", re => $key, resp => $resp };
            next;
        }
        my ($method, $target) = $key =~ /^\s*(\S+)\s+(\S+)\s*$/
            or _die_spec("bad route \"$key\" (want \"METHOD /path\")");
        my ($path, $query) = split /\?/, $target, 2;
        my $rt = { key => $key, method => uc $method, path => $path, query => $query, resp => $resp };
        if ($path =~ s/\*$//) {
            $rt->{path} = $path;
            $rt->{prefix} = 1;
            push @prefix, $rt;
        } else {
            push @exact, $rt;
        }
    }
    @prefix = sort { length($b->{path}) <=> length($a->{path}) } @prefix;
    return [@exact, @prefix, @re];
}

# ---------------------------------------------------------------------------
# lifecycle (parent side)

sub _preprocess {
    my ($block) = @_;
    stop_all();

    my @v = $block->fake;
    return unless @v && defined $v[0];

    my $bname = $block->name;
    my @fakes = eval { parse_spec(@v) };
    if ($@) {
        Test::Nginx::Util::bail_out("$bname - $@");
    }

    $CurrentBlockAddr = refaddr($block);
    my %used;
    for my $f (@fakes) {
        my ($name, $spec) = @$f;
        Test::Nginx::Util::bail_out("$bname - fake \"$name\" declared twice") if $used{$name}++;
        my $port = $spec->{port};
        $port = 0 if !defined $port || $port eq 'auto';
        my $sock;
        for my $try (1 .. 20) {
            $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                          Proto => 'tcp', Listen => 128, ReuseAddr => 1);
            last if $sock || !$port;
            sleep 0.1;   # a fake of the previous block may still hold it
        }
        if (!$sock) {
            Test::Nginx::Util::bail_out("$bname - fake $name: cannot listen on 127.0.0.1:$port: $@ $!");
        }
        my $fake = {
            name   => $name,
            port   => $sock->sockport,
            sock   => $sock,
            spec   => $spec,
            routes => _compile_routes($spec),
        };
        $ENV{ port_env_name($name) } = $fake->{port};
        unlink log_path($name);
        push @Running, $fake;
    }
    _spawn($_) for @Running;
}

sub _spawn {
    my ($fake) = @_;
    my $pid = fork();
    die "Cwai::Fake: fork failed: $!" unless defined $pid;
    if ($pid == 0) {
        $Test::Nginx::Util::InSubprocess = 1;
        eval {
            Test::More->builder->no_ending(1) if Test::More->can('builder');
            for my $other (@Running) {
                close $other->{sock} if $other != $fake;
            }
            _serve($fake);
        };
        warn "Cwai::Fake $fake->{name}: $@" if $@;
        POSIX::_exit(0);
    }
    $fake->{pid} = $pid;
    warn "Cwai::Fake: $fake->{name} on 127.0.0.1:$fake->{port} (pid $pid)\n" if $Verbose;
}

sub _kill {
    my ($fake) = @_;
    my $pid = delete $fake->{pid} or return;
    kill 'TERM', $pid;
    my $deadline = time + 2;
    while (time < $deadline) {
        return if waitpid($pid, WNOHANG) == $pid || !kill(0, $pid);
        sleep 0.01;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub restart_all {
    for my $fake (@Running) {
        _kill($fake);
        unlink log_path($fake->{name});
    }
    _spawn($_) for @Running;
}

sub stop_all {
    for my $fake (@Running) {
        _kill($fake);
        close $fake->{sock} if $fake->{sock};
    }
    @Running = ();
    undef $CurrentBlockAddr;
}

# ---------------------------------------------------------------------------
# recordings

# requests()        -> every recorded request of the current block's fakes,
#                      in arrival order
# requests('name')  -> only that fake's
sub requests {
    my ($only) = @_;
    my @all;
    my @names = defined $only ? ($only) : map { $_->{name} } @Running;
    my $i = 0;
    for my $name (@names) {
        my $file = log_path($name);
        open my $in, '<', $file or next;
        while (my $line = <$in>) {
            next unless $line =~ /\S/;
            my $r = eval { $JSON->decode($line) };
            if (!$r) { warn "Cwai::Fake: bad line in $file: $line"; next }
            $r->{_order} = $i;
            push @all, $r;
        }
        close $in;
        $i++;
    }
    @all = sort { $a->{time} <=> $b->{time} || $a->{_order} <=> $b->{_order}
                  || $a->{seq} <=> $b->{seq} } @all;
    delete $_->{_order} for @all;
    return @all;
}

sub summary_line {
    my ($r) = @_;
    return "$r->{fake} $r->{method} $r->{uri}";
}

sub _expected_items {
    my @v = @_;
    if (@v == 1 && ref $v[0] eq 'CODE') { return (code => $v[0]) }
    if (@v == 1 && ref $v[0] eq 'ARRAY') { return (items => $v[0]) }
    if (@v == 1 && !ref $v[0]) {
        my @lines = grep { /\S/ && !/^\s*#/ } split /\n/, $v[0];
        s/^\s+|\s+$//g for @lines;
        s/\s+/ /g for @lines;
        return (items => \@lines);
    }
    return (items => [@v]);
}

sub _fmt { my $v = shift; return defined $v ? (ref $v ? "$v" : "\"$v\"") : 'undef' }

sub _match_scalar {
    my ($exp, $got, $what) = @_;
    if (ref $exp eq 'Regexp') {
        return "$what: got " . _fmt($got) . ", expected to match $exp"
            if !defined $got || ref $got || $got !~ $exp;
        return undef;
    }
    if (!defined $exp) {
        return defined $got ? "$what: got " . _fmt($got) . ", expected undef/absent" : undef;
    }
    return "$what: got " . _fmt($got) . ", expected " . _fmt($exp)
        if !defined $got || ref $got && !blessed $got || "$got" ne "$exp";
    return undef;
}

# every key/element in $exp must be in $got (hashes may have more keys)
sub subset_diff {
    my ($exp, $got, $path) = @_;
    $path //= 'json';
    if (ref $exp eq 'HASH') {
        return "$path: expected an object, got " . _fmt($got) if ref $got ne 'HASH';
        for my $k (sort keys %$exp) {
            if (!exists $got->{$k}) {
                return "$path.$k: missing" if defined $exp->{$k};
                next;
            }
            my $d = subset_diff($exp->{$k}, $got->{$k}, "$path.$k");
            return $d if $d;
        }
        return undef;
    }
    if (ref $exp eq 'ARRAY') {
        return "$path: expected an array, got " . _fmt($got) if ref $got ne 'ARRAY';
        return "$path: expected " . @$exp . " elements, got " . @$got if @$exp != @$got;
        for my $i (0 .. $#$exp) {
            my $d = subset_diff($exp->[$i], $got->[$i], "$path\[$i]");
            return $d if $d;
        }
        return undef;
    }
    if (ref $exp eq 'CODE') {
        my $ok = eval { $exp->($got) };
        return "$path: check died: $@" if $@;
        return $ok ? undef : "$path: check returned false for " . _fmt($got);
    }
    return _match_scalar($exp, $got, $path);
}

sub _match_item {
    my ($exp, $r) = @_;
    if (!ref $exp) {
        (my $e = $exp) =~ s/^\s+|\s+$//g;
        $e =~ s/\s+/ /g;
        my $line = summary_line($r);
        return $line eq $e ? undef : "got \"$line\", expected \"$e\"";
    }
    if (ref $exp eq 'Regexp') {
        my $line = summary_line($r);
        return $line =~ $exp ? undef : "got \"$line\", expected to match $exp";
    }
    return "bad expectation " . _fmt($exp) if ref $exp ne 'HASH';

    for my $k (qw(fake method uri path query version status)) {
        next unless exists $exp->{$k};
        my $d = _match_scalar($exp->{$k}, $r->{$k}, $k);
        return $d if $d;
    }
    if (my $h = $exp->{headers}) {
        for my $name (sort keys %$h) {
            my $d = _match_scalar($h->{$name}, $r->{headers}{ lc $name }, "header $name");
            return $d if $d;
        }
    }
    if (exists $exp->{body}) {
        my $d = _match_scalar($exp->{body}, $r->{body}, 'body');
        return $d if $d;
    }
    if (exists $exp->{json}) {
        my $d = subset_diff($exp->{json}, $r->{json}, 'json');
        return $d if $d;
    }
    if (my $code = $exp->{check}) {
        my $ok = eval { $code->($r) };
        return "check died: $@" if $@;
        return "check returned false" unless $ok;
    }
    return undef;
}

sub check_requests {
    my ($block, $dry_run, $rep) = @_;
    my $name = $block->name;
    my $title = "$name - fake_requests ok (repeated req $rep)";

    if ($dry_run) {
        SKIP: { Test::More::skip("$title - tests skipped due to $dry_run", 1); }
        return;
    }
    if (!@Running) {
        Test::More::fail($title);
        Test::More::diag("--- fake_requests without a --- fake section in this block");
        return;
    }

    my @spec = $block->fake_requests;
    if (@spec == 1 && !ref $spec[0] && $spec[0] =~ /\bat \(eval \d+\) line \d+/) {
        Test::More::fail($title);
        Test::More::diag("--- fake_requests: the eval filter failed: $spec[0]");
        return;
    }
    my %exp = _expected_items(@spec);
    my $wait = Test::Nginx::Util::parse_time($block->fake_wait);
    $wait = Test::Nginx::Util::timeout() unless defined $wait;
    my $deadline = time + $wait;
    my @got = requests();
    if ($exp{items}) {
        my $want = @{ $exp{items} };
        while (@got < $want && time < $deadline) {
            sleep 0.02;
            @got = requests();
        }
    }
    # leave time for late extra requests to show up
    sleep(($Test::Nginx::Util::TestNginxSleep || 0.015) * 4);
    @got = requests();

    my $err;
    if ($exp{code}) {
        eval { $exp{code}->(\@got); 1 } or do { $err = $@ || 'check died' };
    } else {
        my $items = $exp{items};
        for my $i (0 .. $#$items) {
            if ($i > $#got) { $err = "request #" . ($i + 1) . " missing"; last }
            my $d = _match_item($items->[$i], $got[$i]);
            if ($d) { $err = "request #" . ($i + 1) . ": $d"; last }
        }
        if (!$err && @got > @$items) {
            $err = "unexpected extra request #" . (@$items + 1) . ": " . summary_line($got[@$items]);
        }
    }

    if (!Test::More::ok(!$err, $title)) {
        chomp $err;
        Test::More::diag($err);
        Test::More::diag("recorded requests (" . scalar(@got) . "):\n"
            . join('', map { "  " . summary_line($_) . " -> $_->{status}\n" } @got));
    }
}

# ---------------------------------------------------------------------------
# the server (child process)

my %Reason = (
    100 => 'Continue', 200 => 'OK', 201 => 'Created', 202 => 'Accepted',
    204 => 'No Content', 206 => 'Partial Content', 301 => 'Moved Permanently',
    302 => 'Found', 304 => 'Not Modified', 400 => 'Bad Request',
    401 => 'Unauthorized', 403 => 'Forbidden', 404 => 'Not Found',
    405 => 'Method Not Allowed', 408 => 'Request Timeout', 409 => 'Conflict',
    413 => 'Payload Too Large', 415 => 'Unsupported Media Type',
    422 => 'Unprocessable Entity', 429 => 'Too Many Requests',
    500 => 'Internal Server Error', 501 => 'Not Implemented',
    502 => 'Bad Gateway', 503 => 'Service Unavailable', 504 => 'Gateway Timeout',
);

my %ContentType = (
    json => 'application/json', sse => 'text/event-stream', xml => 'text/xml',
    txt => 'text/plain', html => 'text/html',
);

sub _fixture_path {
    my ($f) = @_;
    return $f if File::Spec->file_name_is_absolute($f) || $f =~ m{^\./};
    return File::Spec->catfile($FixturesDir, $f);
}

sub _slurp {
    my ($f) = @_;
    my $path = _fixture_path($f);
    open my $in, '<:raw', $path or die "cannot read $path: $!\n";
    local $/;
    my $d = <$in>;
    close $in;
    return $d // '';
}

sub _bytes {
    my ($s) = @_;
    return '' unless defined $s;
    return utf8::is_utf8($s) ? Encode::encode('UTF-8', $s) : $s;
}

sub _serve {
    my ($fake) = @_;
    my $name = $fake->{name};

    $SIG{TERM} = $SIG{INT} = sub { POSIX::_exit(0) };
    $SIG{PIPE} = 'IGNORE';
    $SIG{CHLD} = 'DEFAULT';
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    $0 = "cwai-fake $name 127.0.0.1:$fake->{port}";

    my $ppid = getppid();
    my $lsock = $fake->{sock};
    $lsock->blocking(0);

    my %conns;            # fileno => conn
    my %hits;             # route key => times matched
    my $seq = 0;

    while (1) {
        POSIX::_exit(0) if getppid() != $ppid;

        my $now = time;
        my $tmo = 0.25;
        my $rset = IO::Select->new($lsock);
        my $wset = IO::Select->new();

        for my $c (values %conns) {
            $rset->add($c->{sock}) unless $c->{eof};
            if ($c->{state} eq 'write' && @{ $c->{segs} }) {
                my $at = $c->{segs}[0]{at};
                if ($at <= $now) {
                    $wset->add($c->{sock});
                } else {
                    $tmo = $at - $now if $at - $now < $tmo;
                }
            }
        }

        my ($r, $w) = IO::Select->select($rset, $wset->count ? $wset : undef, undef, $tmo);

        for my $s (@{ $r || [] }) {
            if ($s == $lsock) {
                while (my $cs = $lsock->accept) {
                    $cs->blocking(0);
                    $conns{ fileno $cs } = { sock => $cs, rbuf => '', state => 'read', segs => [] };
                }
                next;
            }
            my $c = $conns{ fileno $s } or next;
            while (1) {
                my $n = sysread($s, my $buf, 65536);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                    $c->{eof} = 1;
                    last;
                }
                if ($n == 0) { $c->{eof} = 1; last }
                $c->{rbuf} .= $buf;
            }
        }

        # advance every connection as far as it can go
        for my $fd (keys %conns) {
            my $c = $conns{$fd};
            for (1 .. 1000) {
                my $st = $c->{state};
                if ($st eq 'read') {
                    my $req = _parse_request($c);
                    if ($req) {
                        $req->{seq} = ++$seq;
                        _handle($fake, $c, $req, \%hits);
                        next;
                    }
                    if (delete $c->{bad}) {
                        _queue($c, time, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                         . "Connection: close\r\n\r\n", 1);
                        next;
                    }
                    _close($c, \%conns, $fd) if $c->{eof};
                    last;
                }
                if ($st eq 'write') {
                    _write_ready($c);
                    last if @{ $c->{segs} };
                    if ($c->{close_after}) {
                        _close($c, \%conns, $fd);
                        last;
                    }
                    $c->{state} = 'read';
                    next;
                }
                if ($st eq 'hang') {
                    $c->{rbuf} = '';
                    _close($c, \%conns, $fd) if $c->{eof};
                    last;
                }
                if ($st eq 'done') {
                    _close($c, \%conns, $fd);
                }
                last;
            }
        }
    }
}

# The pid of the process holding the other end of a loopback connection:
# /proc/net/tcp gives the socket's inode, /proc/PID/fd who holds it.
sub _sender_pid {
    my ($sock) = @_;
    my ($pport, $lport) = ($sock->peerport, $sock->sockport);
    my $inode;
    if (open my $fh, '<', '/proc/net/tcp') {
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            next unless @f > 9 && $f[1] =~ /:([0-9A-F]{4})$/ && hex($1) == $pport;
            next unless $f[2] =~ /:([0-9A-F]{4})$/ && hex($1) == $lport;
            $inode = $f[9];
            last;
        }
        close $fh;
    }
    return undef unless $inode;
    for my $fd (glob '/proc/[0-9]*/fd/*') {
        my $l = readlink $fd;
        next unless defined $l && $l eq "socket:[$inode]";
        return $1 if $fd =~ m{^/proc/(\d+)/};
    }
    return undef;
}

sub _close {
    my ($c, $conns, $fd) = @_;
    if ($c->{reset}) {
        setsockopt($c->{sock}, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    }
    close $c->{sock};
    delete $conns->{$fd};
    $c->{state} = 'closed';
}

sub _write_ready {
    my ($c) = @_;
    while (@{ $c->{segs} }) {
        my $seg = $c->{segs}[0];
        return if $seg->{at} > time;
        if ($seg->{data} eq '') { shift @{ $c->{segs} }; next }
        my $n = syswrite($c->{sock}, $seg->{data});
        if (!defined $n) {
            return if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $c->{segs} = [];
            $c->{close_after} = 1;
            return;
        }
        substr($seg->{data}, 0, $n, '');
        shift @{ $c->{segs} } if $seg->{data} eq '';
    }
}

sub _queue {
    my ($c, $at, $data, $close) = @_;
    push @{ $c->{segs} }, { at => $at, data => $data };
    $c->{state} = 'write';
    $c->{close_after} = 1 if $close;
}

# -> request hash, or undef if incomplete (sets {bad} on garbage)
sub _parse_request {
    my ($c) = @_;
    my $buf = \$c->{rbuf};
    $$buf =~ s/\A(?:\r?\n)+//;
    my $end = index($$buf, "\r\n\r\n");
    if ($end < 0) {
        $c->{bad} = 1 if length $$buf > 1024 * 1024;
        return undef;
    }
    my $head = substr($$buf, 0, $end);
    my @lines = split /\r\n/, $head;
    my $reqline = shift @lines;
    my ($method, $uri, $version) = $reqline =~ m{^(\S+) (\S+)(?: (HTTP/\d\.\d))?$}
        or do { $c->{bad} = 1; return undef };
    $version //= 'HTTP/0.9';

    my (@list, %h);
    for my $l (@lines) {
        if ($l =~ /^[ \t]/ && @list) { $list[-1][1] .= " " . ($l =~ s/^\s+//r); next }
        my ($k, $v) = $l =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/ or do { $c->{bad} = 1; return undef };
        push @list, [$k, $v];
    }
    for my $p (@list) {
        my $k = lc $p->[0];
        $h{$k} = exists $h{$k} ? "$h{$k}, $p->[1]" : $p->[1];
    }

    my $pos = $end + 4;
    my $body = '';
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $p = $pos;
        while (1) {
            my $eol = index($$buf, "\r\n", $p);
            return undef if $eol < 0;
            my ($size) = substr($$buf, $p, $eol - $p) =~ /^\s*([0-9A-Fa-f]+)/
                or do { $c->{bad} = 1; return undef };
            $size = hex $size;
            $p = $eol + 2;
            if ($size == 0) {
                # trailers up to an empty line
                while (1) {
                    my $e = index($$buf, "\r\n", $p);
                    return undef if $e < 0;
                    my $empty = $e == $p;
                    $p = $e + 2;
                    last if $empty;
                }
                last;
            }
            return undef if length($$buf) < $p + $size + 2;
            $body .= substr($$buf, $p, $size);
            $p += $size + 2;
        }
        $pos = $p;
    } elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        $len =~ /^\d+$/ or do { $c->{bad} = 1; return undef };
        return undef if length($$buf) < $pos + $len;
        $body = substr($$buf, $pos, $len);
        $pos += $len;
    }
    substr($$buf, 0, $pos, '');

    my ($path, $query) = split /\?/, $uri, 2;
    my $keepalive = $version eq 'HTTP/1.1'
        ? (($h{connection} // '') !~ /\bclose\b/i)
        : (($h{connection} // '') =~ /\bkeep-alive\b/i);

    return {
        method => $method, uri => $uri, path => $path, query => $query,
        version => $version, headers => \%h, header_list => \@list,
        body => $body, keepalive => $keepalive ? 1 : 0,
    };
}

sub _route {
    my ($fake, $req) = @_;
    for my $rt (@{ $fake->{routes} }) {
        if ($rt->{re}) {
            return $rt if "$req->{method} $req->{uri}" =~ $rt->{re};
            next;
        }
        next unless $rt->{method} eq '*' || $rt->{method} eq uc $req->{method};
        if ($rt->{prefix}) {
            next unless index($req->{path}, $rt->{path}) == 0;
        } else {
            next unless $req->{path} eq $rt->{path};
        }
        next if defined $rt->{query} && ($req->{query} // '') ne $rt->{query};
        return $rt;
    }
    return undef;
}

sub _record {
    my ($fake, $req, $extra) = @_;
    my %rec = (
        fake => $fake->{name}, seq => $req->{seq}, time => $req->{time},
        method => $req->{method}, uri => $req->{uri}, path => $req->{path},
        query => $req->{query}, version => $req->{version},
        headers => $req->{headers}, header_list => $req->{header_list},
        %$extra,
    );
    my $body = $req->{body};
    my $text = eval { Encode::decode('UTF-8', $body, Encode::FB_CROAK | Encode::LEAVE_SRC) };
    if (defined $text) {
        $rec{body} = $text;
    } else {
        $rec{body_base64} = MIME::Base64::encode_base64($body, '');
    }
    $rec{json} = $req->{json} if defined $req->{json};

    my $file = log_path($fake->{name});
    my $dir = File::Spec->catdir(_servroot(), 'logs');
    make_path($dir) unless -d $dir;
    if (open my $out, '>>:raw', $file) {
        print $out $JSON->encode(\%rec), "\n";
        close $out;
    } else {
        warn "Cwai::Fake $fake->{name}: cannot append to $file: $!\n";
    }
}

sub _handle {
    my ($fake, $c, $req, $hits) = @_;
    $req->{time} = time;
    $req->{fake} = $fake->{name};
    if (length $req->{body} && $req->{body} =~ /^\s*[\[{"]/) {
        my $j = eval { JSON::PP->new->utf8->allow_nonref->decode($req->{body}) };
        $req->{json} = $j if defined $j || !$@;
    }

    my $rt = _route($fake, $req);
    my $resp;
    my $route_key;
    if ($rt) {
        $route_key = $rt->{key};
        my $r = $rt->{resp};
        if (ref $r eq 'ARRAY') {
            my $n = $hits->{$route_key}++;
            $r = $n < @$r ? $r->[$n] : $r->[-1];
        }
        $resp = $r;
    } elsif (exists $fake->{spec}{default}) {
        $resp = $fake->{spec}{default};
    } elsif (!@{ $fake->{routes} }) {
        $resp = { status => 200, json => {} };     # a sink: accepts anything
    } else {
        $resp = { status => 404, json => { error => {
            message => "cwai fake $fake->{name}: no route for $req->{method} $req->{path}",
            type => 'cwai_fake_no_route' } } };
    }

    if (ref $resp eq 'CODE') {
        my $r = eval { $resp->($req) };
        $resp = $@ ? { status => 500, body => "fake handler died: $@" } : $r;
    }
    $resp = { body => $resp } if !ref $resp;
    $resp = { status => 500, body => "bad fake response " . ref($resp) } if ref $resp ne 'HASH';

    my ($bytes, $status, $segs_spec) = eval { _compose($resp, $req) };
    if ($@) {
        warn "Cwai::Fake $fake->{name}: cannot build the response to $req->{method} $req->{uri}: $@";
        $resp = { status => 500 };
        ($bytes, $status, $segs_spec) = ("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
            . "Content-Length: " . length($@) . "\r\nConnection: close\r\n\r\n$@", 500, undef);
        $resp->{close} = 1;
    }

    _record($fake, $req, { route => $route_key, status => $status });

    my $start = time + ($resp->{delay} || 0) / 1000;

    if ($resp->{kill_sender}) {
        # the nginx worker that sent this request dies mid-chain (kill -9)
        my $pid = _sender_pid($c->{sock});
        if ($pid) {
            kill $resp->{kill_sender}, $pid;
        } else {
            warn "Cwai::Fake $fake->{name}: kill_sender: no process owns the peer socket\n";
        }
        $c->{state} = 'hang';
        return;
    }
    if ($resp->{reset}) {
        $c->{reset} = 1;
        $c->{state} = 'done';
        return;
    }
    if ($resp->{hang}) {
        $c->{state} = 'hang';
        return;
    }

    my $close = $resp->{close} || !$req->{keepalive} || $resp->{raw}
                || $resp->{no_content_length} || defined $resp->{drop_after};
    $close = 0 if $resp->{raw} && $resp->{keepalive};

    if ($segs_spec) {
        my $at = $start;
        my $i = 0;
        for my $seg (@$segs_spec) {
            $at += ($resp->{chunk_delay} || 0) / 1000 if $i++ > 0;
            _queue($c, $at, $seg, $close);
        }
    } else {
        _queue($c, $start, $bytes, $close);
    }
    $c->{state} = 'write';
}

# -> (full bytes, status, optional list of timed segments)
sub _compose {
    my ($resp, $req) = @_;

    if (defined $resp->{raw}) {
        my $raw = _bytes($resp->{raw});
        my ($st) = $raw =~ m{^HTTP/\d\.\d (\d{3})};
        return ($raw, $st // 0, undef);
    }

    my $status = $resp->{status};
    my $reason = $resp->{reason};
    my @headers;

    if (my $hf = $resp->{head_file}) {
        my $head = _slurp($hf);
        my @l = split /\r?\n/, $head;
        my $first = shift @l // '';
        if ($first =~ m{^HTTP/\d\.\d (\d{3})(?: (.*))?}) {
            $status //= $1;
            $reason //= $2 if $status == $1;
        } else {
            unshift @l, $first;
        }
        for (@l) {
            next unless /^([^:\s]+):\s*(.*?)\s*$/;
            push @headers, [$1, $2];
        }
    }
    $status //= 200;
    $reason //= $Reason{$status} // 'Unknown';

    my $h = $resp->{headers};
    if (ref $h eq 'HASH') {
        for my $k (sort keys %$h) {
            @headers = grep { lc $_->[0] ne lc $k } @headers;
            push @headers, [$k, $h->{$k}] if defined $h->{$k};
        }
    } elsif (ref $h eq 'ARRAY') {
        my @p = @$h;
        while (@p) { my ($k, $v) = splice @p, 0, 2; push @headers, [$k, $v] }
    }

    my ($body, $ctype);
    if (exists $resp->{json}) {
        $body = $JSON->encode($resp->{json});
        $ctype = 'application/json';
    } elsif (defined $resp->{file}) {
        $body = _slurp($resp->{file});
        my ($ext) = $resp->{file} =~ /\.(\w+)$/;
        $ctype = $ContentType{ lc($ext // '') } // 'application/octet-stream';
    } else {
        $body = _bytes($resp->{body});
        $ctype = $body =~ /^\s*[\[{]/ ? 'application/json' : 'text/plain' if length $body;
    }
    if (my $size = $resp->{body_size}) {
        my $unit = length $body ? $body : 'x';
        $body = substr($unit x (int($size / length $unit) + 1), 0, $size);
    }

    my $has = sub { my $n = lc shift; scalar grep { lc $_->[0] eq $n } @headers };
    my $is_head = uc($req->{method}) eq 'HEAD';
    my $no_body = $is_head || $status == 204 || $status == 304 || $status < 200;

    push @headers, ['Content-Type', $ctype] if $ctype && !$has->('content-type') && !$no_body;

    my @chunks;
    if ($resp->{chunked} && !$no_body) {
        if ($resp->{chunks}) {
            @chunks = map { _bytes($_) } @{ $resp->{chunks} };
        } elsif (defined(my $sep = $resp->{chunk_on})) {
            @chunks = grep { length } split /(?<=\Q$sep\E)/, $body;
        } elsif (my $cs = $resp->{chunk_size}) {
            @chunks = unpack("(a$cs)*", $body);
        } else {
            @chunks = length $body ? ($body) : ();
        }
        push @headers, ['Transfer-Encoding', 'chunked'] unless $has->('transfer-encoding');
    } elsif (!$resp->{no_content_length} && !$has->('content-length')) {
        push @headers, ['Content-Length', $resp->{content_length} // length $body]
            unless $status == 204 || $status == 304 || $status < 200;
    }

    my $close = $resp->{close} || !$req->{keepalive} || $resp->{no_content_length}
                || defined $resp->{drop_after};
    push @headers, ['Connection', $close ? 'close' : 'keep-alive'] unless $has->('connection');

    my $head = "HTTP/1.1 $status $reason\r\n"
        . join('', map { "$_->[0]: $_->[1]\r\n" } @headers) . "\r\n";

    if (@chunks || ($resp->{chunked} && !$no_body)) {
        my @segs = ($head);
        for my $ch (@chunks) {
            $segs[-1] .= sprintf("%x\r\n%s\r\n", length $ch, $ch);
            push @segs, '';
        }
        $segs[-1] .= $resp->{no_last_chunk} ? '' : "0\r\n\r\n";
        @segs = grep { length } @segs;
        my $all = join '', @segs;
        if (defined $resp->{drop_after}) {
            return (substr($all, 0, $resp->{drop_after}), $status, undef);
        }
        return ($all, $status, $resp->{chunk_delay} ? \@segs : undef);
    }

    my $all = $head . ($no_body ? '' : $body);
    $all = substr($all, 0, $resp->{drop_after}) if defined $resp->{drop_after};
    return ($all, $status, undef);
}

1;
