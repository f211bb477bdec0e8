package Cwai::Redis;

# A real redis-server for a Test::Nginx file, on a free port, and a second
# nginx sharing it. Works under CPAN's Test::Nginx and t/compat alike.
#
#   use lib 't/lib';
#   use Test::Nginx::Socket;
#   use Cwai::Redis;     # starts redis-server before any block runs
#
# Environment (set at `use` time, for config sections):
#   TEST_NGINX_REDIS_PORT            the redis-server (127.0.0.1)
#   TEST_NGINX_REDIS_CTL_PORT        the control server below
#   TEST_NGINX_REDIS_SOCKET          the same redis-server's unix socket
#   TEST_NGINX_REDIS_BLACKHOLE_PORT  accepts TCP connections, never answers
#   TEST_NGINX_PEER_PORT             the second nginx of a block (peer_config)
#
# The control server owns redis-server. nginx can proxy to it, so that a
# block acts on Redis between two of its requests:
#
#   location /redis-ctl/ {
#       proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL_PORT/;
#       proxy_set_header X-Status-Url http://127.0.0.1:$server_port/status;
#       proxy_read_timeout 10s;
#   }
#
#   GET /redis-ctl/kill            SIGKILL redis-server (its connections drop)
#   GET /redis-ctl/start           start it again, same port, empty
#   GET /redis-ctl/restart         both
#   GET /redis-ctl/slow?ms=N       DEBUG SLEEP: Redis answers nothing for N ms
#                                  (sent in the background; returns at once)
#   GET /redis-ctl/sleep?ms=N      the control server waits N ms
#   GET /redis-ctl/wait?state=up   polls X-Status-Url (or ?status=) until
#                                  "chatwootai_redis_up 1" (down: 0), 5 s;
#                                  200 "up", or 504 with the last status
#   GET /redis-ctl/cmd/GET/KEY     any command, arguments as path segments
#                                  (URL-encoded; ?db=N: in that database);
#                                  the reply as text: strings
#                                  as is, "(nil)", integers, arrays one
#                                  element a line, "(error) ..."
#   GET /redis-ctl/llen?key=K&min=N  waits (3 s) until LLEN >= N, returns it
#
# Block sections (both runners):
#   --- redis_action          lines run after nginx started, before the
#                             requests: kill, start, restart, flushall,
#                             slow MS, sleep MS, wait up|down [URI]
#   --- peer_config           server{} content of a second nginx (own prefix,
#                             same binary and module, master_process off),
#                             started for the block and stopped after it;
#                             $TEST_NGINX_* variables are replaced
#   --- peer_http_config      its http{} content
#
# Cwai::Redis::cmd(@args) sends a command from the test process.

use strict;
use warnings;
no warnings qw(once exec);

use IO::Socket::INET;
use IO::Select;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use File::Spec;
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use Scalar::Util qw(refaddr);

our $Verbose = $ENV{TEST_NGINX_VERBOSE};
our ($RedisPort, $CtlPort, $BlackholePort, $CtlPid, $PeerPid, $PeerBlock);
our ($CtlDir, $SocketPath);

my $Installed;
my $OwnerPid = $$;

sub import {
    install();
}

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "Cwai::Redis: cannot find a free port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _redis_server {
    my $bin = $ENV{TEST_NGINX_REDIS_SERVER};
    return $bin if $bin;
    for my $d (split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/local/bin') {
        return "$d/redis-server" if -x "$d/redis-server";
    }
    return undef;
}

# ---------------------------------------------------------------------------
# hooking into Test::Nginx

sub install {
    return if $Installed++;
    require Test::Nginx::Socket;

    my $bin = _redis_server();
    if (!$bin) {
        print "1..0 # SKIP redis-server not found (apt-get install redis-server)\n";
        exit 0;
    }

    $RedisPort = _free_port();
    $CtlPort = _free_port();
    $BlackholePort = _free_port();
    $ENV{TEST_NGINX_REDIS_PORT} = $RedisPort;
    $ENV{TEST_NGINX_REDIS_CTL_PORT} = $CtlPort;
    $ENV{TEST_NGINX_REDIS_BLACKHOLE_PORT} = $BlackholePort;
    # the same server on a unix socket (its directory is removed at the end)
    $CtlDir = tempdir('cwai-redis-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $CtlDir;
    $SocketPath = "$CtlDir/redis.sock";
    $ENV{TEST_NGINX_REDIS_SOCKET} = $SocketPath;
    # config sections of blocks without a peer may mention it
    $ENV{TEST_NGINX_PEER_PORT} //= _free_port();

    _start_ctl($bin);

    &Test::Nginx::Socket::add_block_preprocessor(\&_preprocess);
    if (defined &Test::Nginx::Socket::add_test_cleanup_handler) {
        &Test::Nginx::Socket::add_test_cleanup_handler(sub { stop_peer() });
    }

    my $orig = $Test::Nginx::Util::RunTestHelper;
    if (ref $orig eq 'CODE') {
        $Test::Nginx::Util::RunTestHelper = sub {
            my ($block, $dry_run, $rep) = @_;
            if (!$dry_run) {
                start_peer($block) if defined $block->peer_config;
                run_actions($block) if defined $block->redis_action;
            }
            return $orig->(@_);
        };
    } else {
        die "Cwai::Redis: Test::Nginx has no \$RunTestHelper\n";
    }
}

END {
    if (defined $OwnerPid && $$ == $OwnerPid) {
        stop_peer();
        if ($CtlPid) {
            kill 'TERM', $CtlPid;
            my $t0 = time;
            while (waitpid($CtlPid, WNOHANG) == 0 && time - $t0 < 5) { sleep 0.05 }
            kill 'KILL', $CtlPid if kill 0, $CtlPid;
            $CtlPid = undef;
        }
    }
}

sub _preprocess {
    my ($block) = @_;
    if (defined $block->peer_config) {
        $ENV{TEST_NGINX_PEER_PORT} = _free_port();
    }
}

sub _servroot {
    my $r = $Test::Nginx::Util::ServRoot || $ENV{TEST_NGINX_SERVROOT}
            || File::Spec->rel2abs('t/servroot');
    return File::Spec->rel2abs($r);
}

sub _server_port {
    return Test::Nginx::Util::server_port() if defined &Test::Nginx::Util::server_port;
    return $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
}

# ---------------------------------------------------------------------------
# talking to the control server (from the test process)

sub ctl {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $CtlPort,
                                  Proto => 'tcp', Timeout => 5)
        or die "Cwai::Redis: control server: $!\n";
    print $s "GET $path HTTP/1.0\r\nHost: ctl\r\n\r\n";
    local $/;
    my $resp = <$s>;
    close $s;
    my ($status) = ($resp // '') =~ m{^HTTP/1\.\d (\d+)};
    my ($body) = ($resp // '') =~ /\r\n\r\n(.*)\z/s;
    return wantarray ? ($status // 0, $body // '') : $body;
}

sub _uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# Cwai::Redis::cmd('GET', 'cwai:d:abc'): the reply as text
sub cmd {
    return scalar ctl('/cmd/' . join('/', map { _uri_escape($_) } @_));
}

sub run_actions {
    my ($block) = @_;
    my $name = $block->name;
    for my $line (split /\n/, $block->redis_action) {
        $line =~ s/#.*//;
        next unless $line =~ /\S/;
        my ($what, @args) = split ' ', $line;
        my $path;
        if ($what =~ /^(kill|start|restart|flushall)$/) {
            $path = "/$what";
        } elsif ($what eq 'slow' || $what eq 'sleep') {
            $path = "/$what?ms=" . ($args[0] // 1000);
        } elsif ($what eq 'wait') {
            my $uri = $args[1] // '/status';
            $path = "/wait?state=" . ($args[0] // 'up') . "&status="
                    . _uri_escape('http://127.0.0.1:' . _server_port() . $uri);
        } else {
            die "$name: bad --- redis_action line \"$line\"\n";
        }
        my ($status, $body) = ctl($path);
        warn "Cwai::Redis: $line: $status $body\n" if $Verbose;
        Test::More::fail("$name - redis_action \"$line\": $status $body")
            unless $status == 200;
    }
}

# ---------------------------------------------------------------------------
# the second nginx

sub _expand {
    my ($s, $name) = @_;
    $s =~ s{\$(TEST_NGINX_[A-Z0-9_]+)}{
        defined $ENV{$1} ? $ENV{$1} : die "$name: \$$1 is not set\n"
    }ge;
    return $s;
}

sub peer_root {
    return _servroot() . '_peer';
}

sub start_peer {
    my ($block) = @_;
    my $name = $block->name;
    stop_peer();

    my $root = peer_root();
    remove_tree($root);
    make_path("$root/conf", "$root/logs", "$root/html");
    my $port = $ENV{TEST_NGINX_PEER_PORT};
    my $bin = $Test::Nginx::Util::NginxBinary || $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $modules = join '', map { "load_module $_;\n" }
                           split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
    my $http = _expand($block->peer_http_config // '', $name);
    my $server = _expand($block->peer_config, $name);
    my $user = $> == 0 ? "user root;\n" : '';

    open my $fh, '>', "$root/conf/nginx.conf" or die "$root/conf/nginx.conf: $!";
    print $fh <<"_EOC_";
${modules}daemon off;
master_process off;
worker_processes 1;
${user}error_log $root/logs/error.log debug;
pid $root/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log $root/logs/access.log;
    client_body_temp_path $root/client_body_temp;
    proxy_temp_path $root/proxy_temp;
    fastcgi_temp_path $root/fastcgi_temp;
    uwsgi_temp_path $root/uwsgi_temp;
    scgi_temp_path $root/scgi_temp;
    default_type text/plain;
$http
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
$server
    }
}
_EOC_
    close $fh;

    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>>', "$root/logs/stderr.log";
        open STDERR, '>>', "$root/logs/stderr.log";
        exec $bin, '-p', "$root/", '-c', "$root/conf/nginx.conf",
             '-e', "$root/logs/error.log";
        POSIX::_exit(127);
    }
    $PeerPid = $pid;
    $PeerBlock = refaddr($block);

    my $t0 = time;
    while (time - $t0 < 10) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $PeerPid = undef;
            my $log = `tail -5 $root/logs/error.log $root/logs/stderr.log 2>/dev/null`;
            Test::More::fail("$name - the peer nginx did not start:\n$log");
            return;
        }
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Proto => 'tcp');
        if ($s) {
            close $s;
            warn "Cwai::Redis: peer nginx on 127.0.0.1:$port (pid $pid)\n" if $Verbose;
            return;
        }
        sleep 0.02;
    }
    Test::More::fail("$name - the peer nginx does not listen on $port");
}

sub stop_peer {
    return unless $PeerPid;
    kill 'TERM', $PeerPid;
    my $t0 = time;
    while (waitpid($PeerPid, WNOHANG) == 0) {
        if (time - $t0 > 10) {
            kill 'KILL', $PeerPid;
            waitpid($PeerPid, 0);
            last;
        }
        sleep 0.02;
    }
    $PeerPid = undef;
}

# ---------------------------------------------------------------------------
# the control server (a child process that owns redis-server)

my ($CtlRedisPid, $CtlRedisBin, $CtlParent);

sub _start_ctl {
    my ($bin) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $CtlPort,
                                       Proto => 'tcp', Listen => 16, ReuseAddr => 1)
        or die "Cwai::Redis: control server: cannot listen on $CtlPort: $!\n";
    my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $BlackholePort,
                                     Proto => 'tcp', Listen => 16, ReuseAddr => 1)
        or die "Cwai::Redis: cannot listen on $BlackholePort: $!\n";
    my $parent = $$;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $CtlParent = $parent;
        $CtlRedisBin = $bin;
        eval { _ctl_main($listen, $hole) };
        warn "Cwai::Redis: control server: $@" if $@;
        _ctl_exit();
    }
    close $listen;
    close $hole;
    $CtlPid = $pid;

    my $t0 = time;
    while (time - $t0 < 10) {
        my ($status, $body) = eval { ctl('/ping') };
        if (defined $status && $status == 200) {
            warn "Cwai::Redis: redis-server on 127.0.0.1:$RedisPort, control on $CtlPort\n"
                if $Verbose;
            return;
        }
        sleep 0.05;
    }
    die "Cwai::Redis: redis-server did not start on $RedisPort\n";
}

sub _redis_start {
    return 1 if $CtlRedisPid && kill 0, $CtlRedisPid;
    my $version = `$CtlRedisBin --version 2>/dev/null` // '';
    my @debug = ($version =~ /v=(\d+)/ && $1 >= 7) ? ('--enable-debug-command', 'local') : ();
    my $pid = fork;
    return 0 unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>>', "$CtlDir/redis.log";
        open STDERR, '>>', "$CtlDir/redis.log";
        exec $CtlRedisBin, '--port', $RedisPort, '--bind', '127.0.0.1',
             '--unixsocket', $SocketPath, '--unixsocketperm', '777',
             '--save', '', '--appendonly', 'no', '--daemonize', 'no',
             '--dir', $CtlDir, @debug;
        POSIX::_exit(127);
    }
    $CtlRedisPid = $pid;
    my $t0 = time;
    while (time - $t0 < 10) {
        my $r = eval { _redis(['PING'], 1) };
        return 1 if defined $r && $r eq 'PONG';
        return 0 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }
    return 0;
}

sub _ctl_exit {
    _redis_kill();
    remove_tree($CtlDir) if $CtlDir;
    POSIX::_exit(0);
}

sub _redis_kill {
    return unless $CtlRedisPid;
    kill 'KILL', $CtlRedisPid;
    waitpid($CtlRedisPid, 0);
    $CtlRedisPid = undef;
}

# one command on a fresh connection; the reply as Perl data
# (errors as "(error) ..."); $nowait: send and close
sub _redis {
    my ($args, $timeout, $nowait, $db) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $RedisPort,
                                  Proto => 'tcp', Timeout => $timeout // 2)
        or die "connect: $!\n";
    if ($db) {
        print $s "*2\r\n\$6\r\nSELECT\r\n\$" . length($db) . "\r\n$db\r\n";
        my $ok = _resp($s);
        die "SELECT $db: $ok\n" unless defined $ok && $ok eq 'OK';
    }
    my $req = '*' . scalar(@$args) . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @$args;
    print $s $req;
    if ($nowait) {
        # keep the connection until Redis has read the command
        sleep 0.05;
        close $s;
        return undef;
    }
    my $r = _resp($s);
    close $s;
    return $r;
}

sub _resp {
    my ($s) = @_;
    my $line = <$s>;
    die "no reply\n" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
    return $v if $t eq '+';
    return "(error) $v" if $t eq '-';
    return $v + 0 if $t eq ':';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) {
            my $n = read($s, $buf, $v + 2 - length($buf), length($buf));
            die "short reply\n" unless $n;
        }
        return substr($buf, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { _resp($s) } 1 .. $v ];
    }
    die "bad reply \"$line\"\n";
}

sub _text {
    my ($r) = @_;
    return '(nil)' unless defined $r;
    return join("\n", map { _text($_) } @$r) if ref $r eq 'ARRAY';
    return "$r";
}

sub _query {
    my ($q) = @_;
    my %q;
    for my $kv (split /&/, $q // '') {
        my ($k, $v) = split /=/, $kv, 2;
        next unless defined $k;
        $v //= '';
        $v =~ s/\+/ /g;
        $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        $q{$k} = $v;
    }
    return \%q;
}

sub _http_get {
    my ($url) = @_;
    my ($host, $port, $path) = $url =~ m{^http://([^:/]+):(\d+)(/.*)?$}
        or return (0, "bad url $url");
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or return (0, "connect: $!");
    print $s "GET " . ($path // '/') . " HTTP/1.0\r\nHost: $host\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($status) = $resp =~ m{^HTTP/1\.\d (\d+)};
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return ($status // 0, $body // '');
}

sub _ctl_handle {
    my ($method, $target, $headers) = @_;
    my ($path, $q) = split /\?/, $target, 2;
    my $query = _query($q);

    if ($path eq '/ping') {
        my $r = eval { _redis(['PING'], 1) };
        return (defined $r && $r eq 'PONG') ? (200, 'PONG') : (503, 'redis is down');
    }
    if ($path eq '/kill') {
        _redis_kill();
        return (200, 'killed');
    }
    if ($path eq '/start') {
        return _redis_start() ? (200, 'started') : (500, 'redis-server did not start');
    }
    if ($path eq '/restart') {
        _redis_kill();
        return _redis_start() ? (200, 'restarted') : (500, 'redis-server did not start');
    }
    if ($path eq '/flushall') {
        my $r = eval { _redis(['FLUSHALL']) };
        return (200, _text($r));
    }
    if ($path eq '/slow') {
        my $ms = $query->{ms} // 1000;
        eval { _redis(['DEBUG', 'SLEEP', sprintf('%.3f', $ms / 1000)], 1, 1) };
        return $@ ? (500, $@) : (200, 'sleeping');
    }
    if ($path eq '/sleep') {
        sleep(($query->{ms} // 100) / 1000);
        return (200, 'slept');
    }
    if ($path eq '/wait') {
        my $want = ($query->{state} // 'up') eq 'down' ? 0 : 1;
        my $url = $query->{status} // $headers->{'x-status-url'}
            or return (400, 'no status url (?status= or X-Status-Url)');
        my $t0 = time;
        my $last = '';
        while (time - $t0 < 5) {
            my ($st, $body) = _http_get($url);
            $last = "$st $body";
            return (200, $want ? 'up' : 'down')
                if $body =~ /^chatwootai_redis_up $want$/m;
            sleep 0.05;
        }
        return (504, "still not " . ($want ? 'up' : 'down') . ":\n$last");
    }
    if ($path eq '/llen') {
        my $min = $query->{min} // 1;
        my $t0 = time;
        my $n = 0;
        while (time - $t0 < 3) {
            $n = eval { _redis(['LLEN', $query->{key}]) } // 0;
            last if $n >= $min;
            sleep 0.02;
        }
        return (200, $n);
    }
    if ($path =~ m{^/cmd/(.+)$}) {
        my @args = map { my $a = $_; $a =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $a }
                   split m{/}, $1, -1;
        my $r = eval { _redis(\@args, 2, 0, $query->{db}) };
        return $@ ? (500, $@) : (200, _text($r));
    }
    return (404, "unknown control $path");
}

sub _ctl_main {
    my ($listen, $hole) = @_;
    $SIG{TERM} = \&_ctl_exit;
    $SIG{PIPE} = 'IGNORE';
    _redis_start() or warn "Cwai::Redis: redis-server did not start\n";

    my $sel = IO::Select->new($listen, $hole);
    my @held;
    while (1) {
        # a control server outliving its test (killed test process)
        _ctl_exit() unless kill 0, $CtlParent;
        for my $s ($sel->can_read(0.5)) {
            if ($s == $hole) {
                my $c = $hole->accept;
                push @held, $c if $c;     # accepted, never read, never answered
                next;
            }
            my $c = $listen->accept or next;
            $c->autoflush(1);
            my $head = '';
            my $t0 = time;
            while ($head !~ /\r?\n\r?\n/ && time - $t0 < 5) {
                my $n = sysread($c, $head, 4096, length $head);
                last unless $n;
            }
            my ($method, $target) = $head =~ m{^(\w+) (\S+)};
            my %h;
            for my $l (split /\r?\n/, $head) {
                $h{lc $1} = $2 if $l =~ /^([^:\s]+):\s*(.*)$/;
            }
            my ($status, $body) = defined $target
                ? eval { _ctl_handle($method, $target, \%h) }
                : (400, 'bad request');
            ($status, $body) = (500, $@) unless defined $status;
            $body .= "\n" unless $body =~ /\n\z/;
            print $c "HTTP/1.1 $status X\r\nContent-Type: text/plain\r\n"
                   . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
            close $c;
        }
    }
}

1;
