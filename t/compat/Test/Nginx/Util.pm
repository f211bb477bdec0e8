package Test::Nginx::Util;

# Compatible stand-in for the nginx-management half of CPAN's Test::Nginx
# (openresty/test-nginx).  Written for this project from the documented
# behaviour of the real framework; used only when the real Test::Nginx is not
# on @INC (see t/run-suite.sh).  It keeps the same package variables, the same
# environment variables and the same nginx.conf layout so that .t files behave
# the same under both.

use strict;
use warnings;

our $VERSION = '0.33-cwai';

use base 'Exporter';

use POSIX qw(SIGQUIT SIGKILL SIGTERM SIGHUP SIGUSR1 WNOHANG);
use File::Spec ();
use File::Path qw(make_path remove_tree);
use File::Find qw(find);
use File::Temp qw(tempfile);
use List::Util qw(shuffle);
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use Carp qw(croak);

our $LoadedLongString = eval { require Test::LongString; 1 } ? 1 : 0;

# ---------------------------------------------------------------------------
# settings (names and defaults as in Test::Nginx::Util)

our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $UseHup               = $ENV{TEST_NGINX_USE_HUP};
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled        = 'on';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $NoRootLocation       = 0;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest   = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                            ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $RepeatEach           = 1;
our $NoLongString;
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $ConfigPreamble       = '';
our $FilterHttpConfig;
our $PostponeOutput       = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $EventType            = $ENV{TEST_NGINX_EVENT_TYPE};

# hooks filled in by Test::Nginx::Socket (same names as upstream, so helpers
# such as t/lib/Cwai/Fake.pm can wrap them under either runner)
our $RunTestHelper;
our $CheckErrorLog;
our $CheckShutdownErrorLog;

our (@BlockPreprocessors, @CleanupHandlers, @TestCleanupHandlers, @EnvToNginx);
our ($PrevBlock, $PrevConfig, $ConfigVersion, $RandPorts, $ErrLogFilePos);
our ($NginxVersion, $NginxRawVersion, $InSubprocess);
our $FirstTime = 1;

our $ServRoot = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
$ServRoot = File::Spec->rel2abs($ServRoot);
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
our $CacheDir   = File::Spec->catfile($ServRoot, 'cache');

our @EXPORT = qw(
    expand_env_in_text env_to_nginx is_str is_running check_accum_error_log
    $NoLongString no_long_string $ServerAddr server_addr $ServerName
    server_name parse_time verbose sleep_time bail_out add_cleanup_handler
    add_test_cleanup_handler access_log_data error_log_data
    setup_server_root write_config_file get_canon_version get_nginx_version
    trim show_all_chars parse_headers run_tests get_pid_from_pidfile
    $ServerPortForClient $ServerPort $NginxVersion $PidFile $ServRoot
    $ConfFile $RunTestHelper $CheckErrorLog $CheckShutdownErrorLog
    $FilterHttpConfig $NoNginxManager $RepeatEach add_block_preprocessor
    timeout worker_connections workers master_on master_off config_preamble
    repeat_each master_process_enabled log_level no_shuffle no_root_location
    html_dir server_root server_port server_port_for_client
    no_nginx_manager use_hup
);

# ---------------------------------------------------------------------------
# small setters/getters

sub no_long_string ()      { $NoLongString = 1 }
sub no_shuffle ()          { $NoShuffle = 1 }
sub no_nginx_manager ()    { $NoNginxManager = 1 }
sub use_hup ()             { $UseHup = 1 }
sub no_root_location ()    { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub config_preamble ($)    { $ConfigPreamble = shift }
sub sleep_time             { $TestNginxSleep }
sub verbose                { $Verbose }
sub html_dir ()            { $HtmlDir }
sub server_root ()         { $ServRoot }

sub _getset { my ($ref, @v) = @_; if (@v) { $$ref = $v[0]; return } return $$ref }
sub server_addr (@)            { _getset(\$ServerAddr, @_) }
sub server_name (@)            { _getset(\$ServerName, @_) }
sub timeout (@)                { _getset(\$Timeout, @_) }
sub server_port (@)            { _getset(\$ServerPort, @_) }
sub server_port_for_client (@) { _getset(\$ServerPortForClient, @_) }
sub worker_connections (@)     { _getset(\$WorkerConnections, @_) }
sub workers (@)                { _getset(\$Workers, @_) }
sub log_level (@)              { _getset(\$LogLevel, @_) }

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = shift() ? 'on' : 'off'; return }
    return $MasterProcessEnabled;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub add_block_preprocessor (&)  { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)     { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString || !$LoadedLongString) {
        return Test::More::is($got, $expected, $desc);
    }
    return Test::LongString::is_string($got, $expected, $desc);
}

sub parse_time ($) {
    my $tm = shift;
    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
            $tm = $tm / 1000;
        } else {
            $tm =~ s/([^_a-zA-Z])s$/$1/;
        }
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

# "Name: value" lines; "!Name" means the header must be absent (undef value)
sub parse_headers ($) {
    my $s = shift;
    my %headers;
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# ---------------------------------------------------------------------------
# processes

# kill(0) also succeeds for zombies; treat those as gone (PID 1 in some
# containers does not reap the daemonised nginx master).
sub is_running ($) {
    my $pid = shift;
    return 0 unless defined $pid && $pid =~ /^\d+$/ && $pid > 0;
    return 0 unless kill 0, $pid;
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        close $in;
        return 0 if $stat =~ /^\d+ \(.*\) Z /s;
    }
    return 1;
}

sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;
    return unless defined $pid;

    if ($wait) {
        kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid);
        my $left = timeout();
        while ($left > 0 && is_running($pid)) {
            waitpid($pid, WNOHANG);
            sleep 0.02;
            $left -= 0.02;
        }
    }

    my $step = $TestNginxSleep;
    for (1 .. 20) {
        return if !is_running($pid);
        kill(SIGTERM, $pid);
        $step *= 1.2;
        $step = 0.5 if $step > 0.5;
        sleep $step;
        waitpid($pid, WNOHANG);
    }

    warn "$name - WARNING: killing the process $pid with force...\n";
    kill(SIGKILL, $pid);
    waitpid($pid, WNOHANG);
    sleep 0.05;
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid eq '' ? undef : $pid;
}

sub cleanup_test ($) {
    my $block = shift;
    $_->($block) for @TestCleanupHandlers;
}

sub cleanup () {
    $_->() for @CleanupHandlers;
}

sub _stop_running_nginx ($) {
    my $name = shift;
    if (-f $PidFile) {
        my $pid = get_pid_from_pidfile($name);
        if (is_running($pid)) {
            kill_process($pid, 1, $name);
        }
        unlink $PidFile if -f $PidFile && !is_running($pid);
    }
}

# Ctrl-C or a CI timeout: run the END blocks so that nginx (a daemon in its
# own session, which does not get the terminal's signals) is stopped too.
for my $sig (qw(INT TERM)) {
    $SIG{$sig} = sub { warn "caught SIG$sig, stopping nginx\n"; exit 128 + ($sig eq 'INT' ? 2 : 15) }
        unless $SIG{$sig};
}

END {
    return if $InSubprocess;
    local $?;
    cleanup();
    if (!$ENV{TEST_NGINX_NO_CLEAN}) {
        _stop_running_nginx('END');
    }
    check_prev_block_shutdown_error_log();
}

# ---------------------------------------------------------------------------
# logs

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return undef;
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub error_log_data () {
    # leave time for log-phase messages written after the response
    sleep $TestNginxSleep * 3;
    open my $in, '<', $ErrLogFile or return undef;
    $ErrLogFilePos //= 0;
    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }
    my @lines = <$in>;
    if (!$CheckAccumErrLog) {
        $ErrLogFilePos = tell($in);
    }
    close $in;
    return \@lines;
}

sub _error_log_tail ($) {
    my $n = shift;
    open my $in, '<', $ErrLogFile or return '';
    my @lines = <$in>;
    close $in;
    @lines = grep { !/\[debug\]/ } @lines;
    @lines = @lines[-$n .. -1] if @lines > $n;
    return join '', @lines;
}

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock;
    return unless defined $block && $CheckShutdownErrorLog;
    if (defined($block->shutdown_error_log)
        || defined($block->no_shutdown_error_log))
    {
        my $dry_run = ($UseHup || $ENV{TEST_NGINX_NO_CLEAN}) ? 1 : undef;
        $CheckShutdownErrorLog->($block, $dry_run);
    }
    undef $PrevBlock;
}

# ---------------------------------------------------------------------------
# nginx version

sub get_canon_version (@) {
    sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

my $NginxV;

sub _nginx_V () {
    return $NginxV if defined $NginxV;
    $NginxV = `$NginxBinary -V 2>&1`;
    if (!defined $NginxV || $? != 0) {
        my $out = $NginxV // '';
        undef $NginxV;
        bail_out("Failed to get the version of the nginx binary "
                 . "\"$NginxBinary\" (TEST_NGINX_BINARY): $out");
    }
    return $NginxV;
}

sub get_nginx_version () {
    my $out = _nginx_V();
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# ---------------------------------------------------------------------------
# $TEST_NGINX_* expansion

sub _free_port ($) {
    my $used = shift;
    for (1 .. 1000) {
        my $port = int(rand 63547) + 1988;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port, Proto => 'tcp',
                                         Listen => 5, ReuseAddr => 1);
        if ($sock) { close $sock; return $port }
    }
    return undef;
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $rand_ports ||= {};
    my $used = { $ServerPort => 1, map { $_ => 1 } values %$rand_ports };

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my $p = _free_port($used);
                bail_out("$name - Cannot find an available listening port number for $var.\n")
                    unless defined $p;
                $rand_ports->{$var} = $p;
                $used->{$p} = 1;
            }
            $val = $rand_ports->{$var};
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;

    return $text;
}

# ---------------------------------------------------------------------------
# server root and nginx.conf

sub setup_server_root ($) {
    my $first_time = shift;

    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        if ($UseHup) {
            # nginx keeps running: remove files only, keep its pid file
            find({ bydepth => 1, no_chdir => 1, wanted => sub {
                return if -d $_;
                if (/(?:\bnginx\.pid|\.sock|\.crt|\.key)$/) {
                    return unless $first_time;
                }
                unlink $_ or warn "Failed to remove $_: $!\n";
            } }, $ServRoot);
        } else {
            remove_tree($CacheDir, $HtmlDir, $LogDir);
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }

    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $d;
        mkdir $d or bail_out("Failed to do mkdir $d: $!\n");
    }

    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub run_customer_init_script ($) {
    my $block = shift;
    my $name = $block->name;
    if ($block->post_setup_server_root) {
        eval $block->post_setup_server_root;
        bail_out("$name - post_setup_server_root failed: $@") if $@;
    }
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' unless defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            make_path($1) unless -d $1;
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("$name - failed to set the date of $path\n");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;

    my $name = $block->name;

    master_on() if $UseHup;   # reloading needs a master process

    my $http_config = expand_env_in_text($block->http_config, $name, $rand_ports) // '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;
    $config //= '';

    my $extra_http_config = '';
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        $extra_http_config .= "\n    postpone_output $PostponeOutput;\n";
    }

    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @modules = map { "load_module $_;" } grep { $_ } split /\s+/, $LoadModules;
        $main_config = join ' ', @modules, $main_config if @modules;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $post_main_config = expand_env_in_text($block->post_main_config, $name, $rand_ports) // '';

    my $err_log_file = $block->error_log_file || $ErrLogFile;
    $err_log_file = expand_env_in_text($err_log_file, $name, $rand_ports);

    my $server_name = $block->server_name // $ServerName;

    my $nginx_V = _nginx_V();
    my $temp_paths = '';
    $temp_paths .= " client_body_temp_path $ServRoot/client_body_temp;"
        unless $http_config =~ /\bclient_body_temp_path\b/;
    $temp_paths .= " proxy_temp_path $ServRoot/proxy_temp;"
        unless $http_config =~ /\bproxy_temp_path\b/;
    $temp_paths .= " fastcgi_temp_path $ServRoot/fastcgi_temp;"
        unless $nginx_V =~ /--without-http_fastcgi_module/;
    $temp_paths .= " scgi_temp_path $ServRoot/scgi_temp;"
        unless $nginx_V =~ /--without-http_scgi_module/;
    $temp_paths .= " uwsgi_temp_path $ServRoot/uwsgi_temp;"
        unless $nginx_V =~ /--without-http_uwsgi_module/;

    my $env_lines = '';
    for my $v (qw(MOCKEAGAIN_VERBOSE MOCKEAGAIN MOCKEAGAIN_WRITE_TIMEOUT_PATTERN
                  LD_PRELOAD LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES
                  DYLD_FORCE_FLAT_NAMESPACE), @EnvToNginx)
    {
        my $e = $v =~ /\s/ ? "'$v'" : $v;
        $env_lines .= "env $e;\n";
    }

    my $conf = <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
$env_lines
$main_config

http {
    access_log $AccLogFile;$temp_paths

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_

    if (!$NoRootLocation) {
        $conf .= <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }
    $conf .= "    }\n";

    if ($UseHup) {
        $conf .= <<_EOC_;
    server {
        listen          $ServerPort;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
_EOC_
    }

    $conf .= <<_EOC_;
$extra_http_config
}

$post_main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
_EOC_
    $conf .= "    use $EventType;\n" if $EventType;
    $conf .= "}\n\nenv ASAN_OPTIONS;\n";

    if (defined $WorkerUser) {
        $conf .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $conf .= "user root;\n";
    }

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out $conf;
    close $out;
}

# ---------------------------------------------------------------------------
# starting nginx

# Runs the nginx command line (which daemonises); returns ($status, $stderr).
sub _exec_nginx ($) {
    my $name = shift;

    my @cmd = ($NginxBinary);
    # -e (nginx >= 1.19.5) keeps startup errors out of a compiled-in
    # --error-log-path (Debian's is "stderr") and puts them in error.log
    push @cmd, '-e', $ErrLogFile if $NginxVersion >= get_canon_version(1, 19, 5);
    push @cmd, '-p', "$ServRoot/", '-c', $ConfFile;

    my ($efh, $efile) = tempfile('cwai-nginx-stderr-XXXXXX', TMPDIR => 1, UNLINK => 1);

    if ($Verbose) {
        warn "$name - running: @cmd\n";
    }

    my $pid = fork();
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>&', $efh;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    # nginx returns as soon as it has daemonised; a hung foreground process
    # (e.g. "daemon off" in main_config) is killed after 30 s.
    my $deadline = time + 30;
    my $status;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        if ($r < 0) { $status = -1; last }
        if (time > $deadline) {
            kill SIGKILL, $pid;
            waitpid($pid, 0);
            $status = -1;
            last;
        }
        sleep 0.005;
    }

    seek $efh, 0, 0;
    my $stderr = do { local $/; <$efh> } // '';
    close $efh;
    unlink $efile;

    return ($status, $stderr, "@cmd");
}

sub _wait_pid_file () {
    for (1 .. 200) {
        my $pid = get_pid_from_pidfile('');
        return $pid if $pid;
        sleep 0.01;
    }
    return undef;
}

sub _http_get_ver () {
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr, PeerPort => $ServerPort,
                                     Proto => 'tcp', Timeout => 2)
        or return undef;
    print $sock "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    my $resp = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(2)) {
        my $n = sysread($sock, my $buf, 4096);
        last unless $n;
        $resp .= $buf;
    }
    close $sock;
    return $resp =~ /\r\n\r\n(.*)\z/s ? $1 : undef;
}

sub _test_config_version ($) {
    my $name = shift;
    require IO::Select;
    my $nsucc = 0;
    my $deadline = time + 10 * timeout();
    while (time < $deadline) {
        my $ver = _http_get_ver();
        if (defined $ver && $ver eq $ConfigVersion) {
            return 1 if ++$nsucc >= 20;   # every worker has the new config
            next;
        }
        $nsucc = 0;
        sleep $TestNginxSleep;
    }
    Test::More::fail("$name - failed to reload configuration (HUP)");
    Test::More::diag("error.log:\n" . _error_log_tail(30));
    return 0;
}

sub _gen_rand_str ($) {
    my @a = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
    return join '', map { $a[int rand @a] } 1 .. shift;
}

# Starts nginx for a block.  Returns 1 when requests can be sent.
sub _start_nginx ($$$$) {
    my ($block, $config, $rand_ports, $first_time) = @_;
    my $name = $block->name;

    $ConfigVersion = _gen_rand_str(10) if $UseHup;

    # reload in place
    if ($UseHup && !$first_time && -f $PidFile) {
        my $pid = get_pid_from_pidfile($name);
        if (is_running($pid)) {
            setup_server_root(0);
            run_customer_init_script($block);
            write_user_files($block, $rand_ports);
            write_config_file($block, $config, $rand_ports);
            $ErrLogFilePos = 0;
            kill SIGUSR1, $pid;     # reopen the error log that was removed
            sleep $TestNginxSleep;
            kill SIGHUP, $pid;
            sleep $TestNginxSleep * 3;
            my $ok = _test_config_version($name);
            check_prev_block_shutdown_error_log();
            return $ok;
        }
    }

    _stop_running_nginx($name);
    check_prev_block_shutdown_error_log();

    setup_server_root($first_time);
    run_customer_init_script($block);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);

    my $tries = 0;
  again:
    $ErrLogFilePos = 0;
    my ($status, $stderr, $cmd) = _exec_nginx($name);

    if ($status == 0) {
        if (!_wait_pid_file()) {
            Test::More::fail("$name - nginx started but wrote no pid file $PidFile");
            Test::More::diag("stderr:\n$stderr\nerror.log:\n" . _error_log_tail(30));
            return 0;
        }
        sleep $TestNginxSleep;
        return 1;
    }

    my $log = _error_log_tail(30);
    if (($log =~ /Address already in use/ || $stderr =~ /Address already in use/)
        && $tries++ < 30)
    {
        sleep 0.1 * $tries > 1 ? 1 : 0.1 * $tries;
        goto again;
    }

    Test::More::fail("$name - nginx failed to start (status $status): $cmd");
    Test::More::diag("stderr:\n$stderr") if $stderr =~ /\S/;
    Test::More::diag("error.log:\n$log") if $log =~ /\S/;
    return 0;
}

sub _run_must_die ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;

    _stop_running_nginx($name);
    check_prev_block_shutdown_error_log();
    setup_server_root(1);
    run_customer_init_script($block);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);

    for my $i (0 .. $RepeatEach - 1) {
        $ErrLogFilePos = 0;
        my ($status, $stderr) = _exec_nginx($name);
        my $exit_code = $status == -1 ? undef : $status >> 8;

        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($status & 128) {
            Test::More::fail("$name - nginx core dumped");
        } elsif ($must_die =~ /^\s*\d+\s*$/) {
            Test::More::is($must_die, $exit_code, "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            my $pid = _wait_pid_file();
            kill_process($pid, 1, $name) if $pid;
        } elsif ($Verbose) {
            warn "$name - nginx died as expected; stderr: $stderr\n";
        }
    }
}

# ---------------------------------------------------------------------------
# the block loop

sub _skip_spec ($$) {
    my ($block, $name) = @_;

    if (defined(my $s = $block->skip_eval)) {
        if ($s =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            my ($n, $code) = ($1, $2);
            my $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
            return ($n, 'skip_eval') if $skip;
        }
    }

    if (defined(my $s = $block->skip_nginx)) {
        if ($s =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/) {
            my ($n, $op, $reason) = ($1, $2, $6);
            my $ver = get_canon_version($3, $4, $5);
            $reason ||= "nginx version $op $3.$4.$5";
            return ($n, $reason) if eval "$NginxVersion $op $ver";
        } else {
            bail_out("$name - Invalid --- skip_nginx spec: $s");
        }
    }

    return;
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    my $first_time;
    if ($FirstTime) {
        $first_time = 1;
        undef $FirstTime;
    }

    my $rand_ports = {};
    $RandPorts = $rand_ports;

    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    local $LogLevel = $block->log_level || $LogLevel;
    local $UseHup = $UseHup;
    undef $UseHup if defined $block->must_die;

    my ($tests_to_skip, $skip_reason) = _skip_spec($block, $name);

    if ($tests_to_skip) {
        for (1 .. $RepeatEach) {
            SKIP: { Test::More::skip("$name - $skip_reason", $tests_to_skip); }
        }
        return;
    }

    if (defined $block->must_die) {
        $PrevConfig = $config;
        _run_must_die($block, $config, $rand_ports);
        return;
    }

    my $dry_run = 0;

    if (!$NoNginxManager) {
        if (!defined $config) {
            bail_out("$name - No '--- config' section specified and could not get previous one.")
                unless defined $PrevConfig;
            # reuse the running nginx
        } else {
            $PrevConfig = $config;
            my $ok = _start_nginx($block, $config, $rand_ports, $first_time);
            return unless $ok;
        }
    }

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        if ($i > 0) {
            write_user_files($block, $rand_ports);
        }
        if (defined(my $todo = $block->todo)) {
            if ($todo =~ /^\s*(\d+)\s*:\s*(.*)/s) {
                TODO: {
                    Test::More::todo_skip("$name - $2", $1);
                }
                next;
            }
        }
        $RunTestHelper->($block, $dry_run, $i);
    }
}

sub run_tests () {
    srand($$ + time() * 1000000);
    $NginxVersion = get_nginx_version();

    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value("name", $0 . " " . $block->name);
        run_test($block);
        cleanup_test($block);
        $PrevBlock = $block;
    }

    cleanup();
}

1;
