package Cwai::Browser;

# A small W3C WebDriver client for headless Chromium, for browser tests in the
# Test::Nginx suite (t/090-playground-browser.t).  Core Perl only (HTTP::Tiny,
# JSON::PP); needs Debian's chromium and chromium-driver (`make deps`).
#
#   my $b = Cwai::Browser->new;                 # starts chromedriver + Chromium
#   $b->get('http://127.0.0.1:1984/playground/');
#   my $el = $b->find('#text');                 # CSS selector -> element id
#   $b->send_keys($el, "oi\x{E007}");           # \x{E007} = Enter
#   $b->click($b->find('#send'));
#   $b->wait_for(sub { $b->find_all('.msg.bot') >= 1 }, 10, 'a bot answer');
#   print $b->text($b->find('.reply', $msg_el));   # find inside an element
#   my $n = $b->execute('return document.title.length');
#   $b->quit;                                   # also on DESTROY / exit
#
# Clean-up: chromedriver runs in its own process group with Chromium below
# it; quit() (or DESTROY) ends the session, kills that group and any process
# whose command line names this session's fresh temporary directory (profile,
# HOME, crashpad database: nothing is written elsewhere), and removes it.  A watchdog process does the same if the owner dies without
# quitting (killed by a signal, _exit in a forked fake, ...).
#
# Environment: CWAI_CHROMIUM, CWAI_CHROMEDRIVER (binaries), CWAI_BROWSER_LOG=1
# (keep the chromedriver log dir and print its path).

use strict;
use warnings;

use HTTP::Tiny;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use JSON::PP ();
use IO::Socket::INET;
use POSIX qw(WNOHANG setpgid _exit);
use File::Temp ();
use File::Path ();
use File::Spec;
use Time::HiRes qw(time sleep);

our $VERSION = '0.1';

use constant ELEMENT_KEY => 'element-6066-11e4-a52e-4f735466cecf';

our @CHROME_ARGS = (qw(
    --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-dev-shm-usage --disable-extensions --disable-default-apps
    --no-default-browser-check --disable-domain-reliability
    --disable-client-side-phishing-detection --no-proxy-server
    --disable-crash-reporter --lang=pt-BR
), '--window-size=1100,900');

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub _which {
    my ($name) = @_;
    for my $dir (split /:/, ($ENV{PATH} || '') . ':/usr/bin:/usr/lib/chromium') {
        my $p = "$dir/$name";
        return $p if -f $p && -x _;
    }
    return undef;
}

# -> (chromium, chromedriver) paths, or dies with what to install
sub binaries {
    my $chromium = $ENV{CWAI_CHROMIUM} || _which('chromium') || _which('chromium-browser');
    my $driver = $ENV{CWAI_CHROMEDRIVER} || _which('chromedriver');
    my @missing;
    push @missing, 'chromium (the browser' . ($chromium ? " $chromium" : '') . ')'
        unless $chromium && -x $chromium;
    push @missing, 'chromedriver (package chromium-driver' . ($driver ? ", $driver" : '') . ')'
        unless $driver && -x $driver;
    die "Cwai::Browser: not installed: " . join(', ', @missing)
        . ". Install them with `make deps` or "
        . "`apt-get install -y chromium chromium-driver`.\n" if @missing;
    return ($chromium, $driver);
}

# "" when both are there, else the reason
sub missing {
    my $ok = eval { binaries(); 1 };
    return $ok ? '' : $@;
}

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "Cwai::Browser: cannot get a free port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub new {
    my ($class, %opt) = @_;
    my ($chromium, $driver) = binaries();

    my $self = bless {
        owner   => $$,
        timeout => $opt{timeout} // 10,
        http    => Cwai::Browser::HTTP->new(timeout => 60, keep_alive => 1, proxy => undef,
                                            http_proxy => undef, https_proxy => undef,
                                            agent => "Cwai::Browser/$VERSION"),
    }, $class;

    $self->{dir} = File::Temp::tempdir('cwai-browser-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    $self->{profile} = "$self->{dir}/profile";
    mkdir $self->{profile} or die "Cwai::Browser: mkdir $self->{profile}: $!\n";

    my $ok = eval {
        $self->_start_driver($driver);
        $self->_start_watchdog;
        $self->_new_session($chromium, $opt{args} || []);
        1;
    };
    if (!$ok) {
        my $err = $@;
        my $log = $self->driver_log_tail;
        $self->quit;
        die $err . ($log ? "chromedriver log (end):\n$log" : '');
    }
    return $self;
}

sub _start_driver {
    my ($self, $driver) = @_;
    my $log = "$self->{dir}/chromedriver.log";

    for my $try (1 .. 3) {
        my $port = _free_port();
        my $pid = fork();
        die "Cwai::Browser: fork: $!\n" unless defined $pid;
        if ($pid == 0) {
            setpgid(0, 0);
            # nothing of Chromium's (crashpad database, caches) outside the
            # session directory, and every helper's command line names it
            $ENV{HOME} = $self->{dir};
            $ENV{XDG_CONFIG_HOME} = "$self->{dir}/config";
            $ENV{XDG_CACHE_HOME} = "$self->{dir}/cache";
            open STDIN, '<', '/dev/null';
            open STDOUT, '>>', $log;
            open STDERR, '>&', \*STDOUT;
            exec $driver, "--port=$port", "--log-path=$log", '--log-level=INFO'
                or _exit(127);
        }
        setpgid($pid, $pid);   # also from here: no race with kill(-pgid)
        $self->{driver_pid} = $pid;
        $self->{base} = "http://127.0.0.1:$port";

        my $deadline = time + 10;
        while (time < $deadline) {
            if (waitpid($pid, WNOHANG) == $pid) {
                delete $self->{driver_pid};
                last;
            }
            my $r = $self->{http}->get("$self->{base}/status");
            if ($r->{success}) {
                my $v = eval { $JSON->decode($r->{content}) };
                return 1 if $v && $v->{value} && $v->{value}{ready};
            }
            sleep 0.05;
        }
        $self->_kill_driver;
    }
    die "Cwai::Browser: chromedriver ($driver) did not start\n";
}

# Kills the driver's group and every process of this profile if the owner
# goes away without quit().
sub _start_watchdog {
    my ($self) = @_;
    my $owner = $$;
    my $pid = fork();
    die "Cwai::Browser: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        # SIGUSR1: the owner quit() and cleaned up; anything else (the owner
        # is gone, or a signal to us, e.g. Ctrl-C to the process group):
        # clean up here
        my ($done, $signalled) = (0, 0);
        $SIG{USR1} = sub { $done = 1 };
        $SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { $signalled = 1 };
        $SIG{PIPE} = 'IGNORE';
        # hold none of the owner's sockets (e.g. a fake's client connection)
        if (opendir my $fds, '/proc/self/fd') {
            my @fds = grep { /^\d+$/ && $_ > 2 } readdir $fds;
            closedir $fds;
            POSIX::close($_) for @fds;
        }
        while (!$done && !$signalled && getppid() == $owner) {
            sleep 0.2;
        }
        if (!$done) {
            eval {
                $self->_cleanup_processes;
                File::Path::remove_tree($self->{dir}) unless $ENV{CWAI_BROWSER_LOG};
            };
        }
        _exit(0);
    }
    $self->{watchdog_pid} = $pid;
}

sub _new_session {
    my ($self, $chromium, $extra) = @_;
    my $caps = {
        capabilities => {
            alwaysMatch => {
                browserName => 'chrome',
                pageLoadStrategy => 'normal',
                'goog:chromeOptions' => {
                    binary => $chromium,
                    args => [@CHROME_ARGS, "--user-data-dir=$self->{profile}", @$extra],
                },
            },
        },
    };
    my $v = $self->_cmd(POST => '/session', $caps);
    $self->{session} = $v->{sessionId}
        or die "Cwai::Browser: no session id in " . $JSON->encode($v) . "\n";
    $self->{browser_version} = $v->{capabilities}{browserVersion} // '?';
    $self->_cmd(POST => "/session/$self->{session}/timeouts",
                { pageLoad => 15000, script => 10000, implicit => 0 });
}

sub version { $_[0]{browser_version} }

# one WebDriver command -> its "value"; dies with the WebDriver error
sub _cmd {
    my ($self, $method, $path, $body) = @_;
    die "Cwai::Browser: no browser (quit already?)\n" unless $self->{base};
    my %o = (headers => { 'Content-Type' => 'application/json; charset=utf-8' });
    $o{content} = $JSON->encode($body // {}) if $method eq 'POST';
    my $r = $self->{http}->request($method, $self->{base} . $path, \%o);
    my $v = eval { $JSON->decode($r->{content}) };
    if (!$r->{success} || !$v) {
        my $what;
        if ($v && ref $v->{value} eq 'HASH') {
            my ($e, $m) = map { $_ // '' } @{ $v->{value} }{qw(error message)};
            $what = index($m, $e) == 0 ? $m : "$e: $m";
        } else {
            $what = "HTTP $r->{status} $r->{reason}: " . substr($r->{content} // '', 0, 500);
        }
        $what =~ s/\s*\(Session info:.*//s;
        die "Cwai::Browser: $method $path: $what\n";
    }
    return $v->{value};
}

sub _s { "/session/$_[0]{session}" }

# ---------------------------------------------------------------------------
# commands

sub get {
    my ($self, $url) = @_;
    $self->_cmd(POST => $self->_s . '/url', { url => $url });
}

sub title { $_[0]->_cmd(GET => $_[0]->_s . '/title') }

sub url { $_[0]->_cmd(GET => $_[0]->_s . '/url') }

# find($css [, $from_element]) -> element id (dies when absent)
sub find {
    my ($self, $css, $from) = @_;
    my $path = $self->_s . (defined $from ? "/element/$from/element" : '/element');
    my $v = $self->_cmd(POST => $path, { using => 'css selector', value => $css });
    return $v->{+ELEMENT_KEY};
}

# find_all($css [, $from_element]) -> list of element ids
sub find_all {
    my ($self, $css, $from) = @_;
    my $path = $self->_s . (defined $from ? "/element/$from/elements" : '/elements');
    my $v = $self->_cmd(POST => $path, { using => 'css selector', value => $css });
    return map { $_->{+ELEMENT_KEY} } @$v;
}

sub click {
    my ($self, $el) = @_;
    $self->_cmd(POST => $self->_s . "/element/$el/click", {});
}

sub clear {
    my ($self, $el) = @_;
    $self->_cmd(POST => $self->_s . "/element/$el/clear", {});
}

# keys: a string; "\x{E007}" is Enter, "\x{E004}" Tab (WebDriver key codes)
sub send_keys {
    my ($self, $el, $keys) = @_;
    $self->_cmd(POST => $self->_s . "/element/$el/value", { text => $keys });
}

# the rendered text of an element (innerText-like: hidden parts left out)
sub text {
    my ($self, $el) = @_;
    return $self->_cmd(GET => $self->_s . "/element/$el/text");
}

sub attribute {
    my ($self, $el, $name) = @_;
    return $self->_cmd(GET => $self->_s . "/element/$el/attribute/$name");
}

sub property {
    my ($self, $el, $name) = @_;
    return $self->_cmd(GET => $self->_s . "/element/$el/property/$name");
}

# execute($js, @args): the script's return value (elements come back as
# {ELEMENT_KEY => id}); pass an element as {Cwai::Browser::ELEMENT_KEY() => $id}
sub execute {
    my ($self, $script, @args) = @_;
    return $self->_cmd(POST => $self->_s . '/execute/sync',
                       { script => $script, args => \@args });
}

sub screenshot {
    my ($self, $file) = @_;
    require MIME::Base64;
    my $png = MIME::Base64::decode_base64($self->_cmd(GET => $self->_s . '/screenshot'));
    open my $out, '>:raw', $file or die "Cwai::Browser: $file: $!\n";
    print $out $png;
    close $out;
    return $file;
}

# wait_for(sub { ... }, $seconds, $what): polls until the sub returns true
# (WebDriver errors inside count as false); returns its value or dies.
sub wait_for {
    my ($self, $cond, $secs, $what) = @_;
    $secs //= $self->{timeout};
    my $deadline = time + $secs;
    my $last_err;
    while (1) {
        my $v = eval { $cond->() };
        $last_err = $@ if $@;
        return $v if $v;
        last if time >= $deadline;
        sleep 0.05;
    }
    die "Cwai::Browser: timed out after ${secs}s waiting for "
        . ($what // 'a condition') . ($last_err ? " (last error: $last_err)" : "\n");
}

sub driver_log_tail {
    my ($self, $lines) = @_;
    my $f = "$self->{dir}/chromedriver.log";
    open my $in, '<', $f or return '';
    my @l = <$in>;
    close $in;
    $lines //= 15;
    @l = @l[-$lines .. -1] if @l > $lines;
    return join '', @l;
}

# ---------------------------------------------------------------------------
# clean-up

sub _kill_driver {
    my ($self) = @_;
    my $pid = delete $self->{driver_pid} or return;
    kill 'TERM', -$pid;
    kill 'TERM', $pid;
    my $deadline = time + 2;
    while (time < $deadline) {
        last if waitpid($pid, WNOHANG) == $pid || !kill(0, $pid);
        sleep 0.02;
    }
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid($pid, WNOHANG);
}

# processes whose command line names our session directory (Chromium and its
# helpers, crashpad included, wherever they ended up in the process tree)
sub _profile_pids {
    my ($self) = @_;
    my $needle = "$self->{dir}/";
    my @pids;
    opendir my $d, '/proc' or return ();
    for my $p (readdir $d) {
        next unless $p =~ /^\d+$/ && $p != $$;
        open my $f, '<', "/proc/$p/cmdline" or next;
        local $/;
        my $cmd = <$f> // '';
        close $f;
        push @pids, $p if index($cmd, $needle) >= 0;
    }
    closedir $d;
    return @pids;
}

sub _cleanup_processes {
    my ($self) = @_;
    $self->_kill_driver;
    my @pids = $self->_profile_pids;
    return unless @pids;
    kill 'TERM', @pids;
    my $deadline = time + 2;
    while (time < $deadline && (@pids = grep { kill 0, $_ } $self->_profile_pids)) {
        sleep 0.05;
    }
    kill 'KILL', @pids if @pids;
    waitpid($_, WNOHANG) for @pids;
}

sub quit {
    my ($self) = @_;
    return if $self->{quit}++ || $self->{owner} != $$;
    if ($self->{session} && $self->{base}) {
        my $http = Cwai::Browser::HTTP->new(timeout => 5, proxy => undef,
                                            http_proxy => undef, https_proxy => undef);
        $http->request(DELETE => "$self->{base}/session/$self->{session}");
    }
    delete $self->{session};
    $self->_cleanup_processes;
    delete $self->{base};
    if (my $w = delete $self->{watchdog_pid}) {
        kill 'USR1', $w;
        waitpid($w, 0);
    }
    if ($ENV{CWAI_BROWSER_LOG}) {
        warn "Cwai::Browser: logs kept in $self->{dir}\n";
    } else {
        File::Path::remove_tree($self->{dir});
    }
}

sub DESTROY {
    my ($self) = @_;
    local ($@, $!, $?);
    $self->quit;
}

# HTTP::Tiny writes a POST's head and body separately: without TCP_NODELAY
# every WebDriver command waits for a delayed ACK (~40 ms).
package Cwai::Browser::HTTP;
our @ISA = ('HTTP::Tiny');

sub _open_handle {
    my $self = shift;
    my $h = $self->SUPER::_open_handle(@_);
    setsockopt($h->{fh}, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1)
        if $h && $h->{fh};
    return $h;
}

1;
