package Test::Nginx::Socket;

# Compatible stand-in for CPAN's Test::Nginx::Socket (openresty/test-nginx),
# written for this project.  Used only when the real module is not on @INC
# (t/run-suite.sh adds -I t/compat in that case).  The .t files are plain
# Test::Nginx data files and must keep running unmodified under the real
# framework, so this module follows its section semantics, test names and
# test counts.  See t/README.md for the supported subset.

use strict;
use warnings;

use Test::Base -base;
use Test::Nginx::Util;

use Time::HiRes qw(sleep time);
use IO::Select ();
use IO::Socket::INET;
use POSIX qw(EAGAIN EWOULDBLOCK EINTR);
use HTTP::Response;
use List::Util qw(min);
use Digest::MD5 ();
use Digest::SHA ();
use JSON::PP ();

our $VERSION = '0.33-cwai';

our @EXPORT = qw( env_to_nginx is_str plan run_tests run_test
  repeat_each config_preamble worker_connections
  master_process_enabled
  no_long_string workers master_on master_off
  log_level no_shuffle no_root_location use_hup
  server_name
  server_addr server_root html_dir server_port server_port_for_client
  timeout no_nginx_manager check_accum_error_log
  add_block_preprocessor bail_out add_test_cleanup_handler add_cleanup_handler
  add_response_body_check
);

sub value_contains ($$);
sub fmt_str ($);

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub set_http_config_filter ($)  { $Test::Nginx::Util::FilterHttpConfig = shift }

$Test::Nginx::Util::RunTestHelper         = \&run_test_helper;
$Test::Nginx::Util::CheckErrorLog         = \&check_error_log;
$Test::Nginx::Util::CheckShutdownErrorLog = \&check_shutdown_error_log;

# ---------------------------------------------------------------------------
# building requests

# "METH [url [version]]\nbody" -> parts
sub parse_request ($$) {
    my ($name, $text) = @_;
    my ($first, $content) = split /\n/, $text, 2;
    if (!defined $first || $first eq '') {
        bail_out("$name - Request line should be non-empty");
    }
    if ($first !~ /^\s*(\S+)[ \t]*(?:(\S+)[ \t]*)?(?:(\S+)[ \t]*)?\s*$/) {
        bail_out("$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".");
    }
    return {
        method   => $1,
        url      => defined $2 ? $2 : '/',
        http_ver => defined $3 ? $3 : 'HTTP/1.1',
        content  => defined $content ? $content : '',
    };
}

sub parse_more_headers ($) {
    my ($in) = @_;
    my ($out, $is_chunked) = ('', undef);
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val = '' unless defined $val;
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Turns a request given as packets (strings) into packets that carry the
# full HTTP/1.x request: request line, Host, Connection, more_headers,
# Content-Length and the body.
sub build_request_from_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn_header, $packets) = @_;

    my $whole = join '', @$packets;
    my $req = parse_request($name, $whole);
    my $content = $req->{content};

    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n"
        if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn_header\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    my $head = "$req->{method} $req->{url} $req->{http_ver}\r\n$headers";

    return [$head . $content] if @$packets == 1;

    # several packets: keep the split points of the body
    my @out = ($head);
    my $first_line_len = index($whole, "\n");
    $first_line_len = length $whole if $first_line_len < 0;
    my $consumed = 0;
    for my $p (@$packets) {
        my $start = $consumed;
        $consumed += length $p;
        my $body_start = $first_line_len + 1;
        my $from = $start < $body_start ? $body_start : $start;
        my $n = $consumed - $from;
        $n = 0 if $n < 0;
        my $piece = substr($content, 0, $n, '');
        if ($start < $body_start) { $out[0] .= $piece } else { push @out, $piece }
    }
    $out[-1] .= $content if length $content;
    return \@out;
}

sub _packets_of ($$) {
    my ($name, $one_req) = @_;
    return ([$one_req], [undef]) if !ref $one_req;
    bail_out("$name - Invalid syntax. $one_req should be a string or an array of packets.")
        if ref $one_req ne 'ARRAY';
    my (@values, @delays);
    for my $p (@$one_req) {
        if (!ref $p) { push @values, $p; push @delays, undef }
        elsif (ref $p eq 'HASH') { push @values, $p->{value}; push @delays, $p->{delay_before} }
        else { bail_out("$name - Invalid syntax. $p should be a string or hash with value.") }
    }
    return (\@values, \@delays);
}

sub _hdr_for ($$$) {
    my ($more_headers, $i, $what) = @_;
    if (ref $more_headers eq 'ARRAY') {
        my $h = $more_headers->[$i];
        bail_out("--- more_headers lacks data for the $what") unless defined $h;
        return parse_more_headers($h);
    }
    return parse_more_headers($more_headers);
}

# list of requests; each request is a list of {value, delay_before}
sub get_req_from_block ($) {
    my ($block) = @_;
    my $name = $block->name;
    my @req_list;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        push @req_list, ref $raw eq 'ARRAY'
            ? [map { { value => $_ } } @$raw]
            : [{ value => $raw }];
        return \@req_list;
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }
    my $more_headers = $block->more_headers || '';

    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            if ref $reqs ne 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $r = expand_env_in_text($reqs->[$i], $name, $Test::Nginx::Util::RandPorts);
            my ($hdr, $chunked) = _hdr_for($more_headers, $i, "$i pipelined request");
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            $all .= build_request_from_packets($name, $hdr, $chunked, $conn, [$r])->[0];
        }
        push @req_list, [{ value => $all }];
        return \@req_list;
    }

    bail_out("$name - no --- request section") unless defined $request;

    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);
    bail_out("$name - invalid ---request : MUST be string or array of requests")
        if ref $request && ref $request ne 'ARRAY';

    for my $i (0 .. $#reqs) {
        my ($hdr, $chunked) = _hdr_for($more_headers, $i, "${i}th request");
        my ($values, $delays) = _packets_of($name, $reqs[$i]);
        my $built = build_request_from_packets($name, $hdr, $chunked, 'close', $values);
        my @bits;
        for my $j (0 .. $#$built) {
            push @bits, { value => $built->[$j], delay_before => $delays->[$j] };
        }
        push @req_list, \@bits;
    }
    return \@req_list;
}

# ---------------------------------------------------------------------------
# sending

sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @bits = @$req;

    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $addr = $block->server_addr_for_client // $ServerAddr;
    my $sock;
    for my $try (1 .. 50) {
        $sock = IO::Socket::INET->new(PeerAddr => $addr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $wait = (sleep_time() + sleep_time() * $try) * $try / 2;
        $wait = 1 if $wait > 1;
        last if $try == 50;
        sleep $wait;
    }
    if (!$sock) {
        my $msg = "$name - Can't connect to $addr:$ServerPortForClient: $! (aborted)\n";
        bail_out($msg) if ++$TotalConnectingTimeouts >= 3;
        Test::More::fail($msg);
        return (undef, $head_req);
    }
    $sock->blocking(0);

    my $resp = '';
    my $wbuf = '';
    my $first = 1;
    my $sel = IO::Select->new($sock);
    my $writing = 1;
    my $reading = 1;

    while ($reading) {
        if ($writing && $wbuf eq '') {
            my $bit = shift @bits;
            if (!$bit) {
                $writing = 0;
                if (defined(my $sd = $block->shutdown)) {
                    $sd = 1 if $sd =~ /^\s*$/s;
                    shutdown($sock, $sd);
                }
                next;
            }
            my $delay = $bit->{delay_before};
            $delay = $middle_delay if !defined $delay && !$first;
            sleep $delay if $delay;
            $first = 0;
            $wbuf = $bit->{value} // '';
            next;
        }

        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef, $timeout);
        if (!$r && !$w) {
            if ($! == EINTR) { next }
            close $sock;
            if (!defined $block->abort) {
                Test::More::fail("ERROR: client socket timed out - $name\n");
            } else {
                sleep 0.005;
            }
            return ($resp, $head_req);
        }
        if ($w && @$w && $writing) {
            my $n = syswrite($sock, $wbuf);
            if (defined $n) {
                substr($wbuf, 0, $n, '');
            } elsif ($! != EAGAIN && $! != EWOULDBLOCK) {
                warn "write failed: $!\n";
                $resp = "write failed: $!" if $resp eq '';
                $writing = 0;
            }
        }
        if ($r && @$r) {
            while (1) {
                my $n = sysread($sock, my $buf, 65536);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    warn "WARNING: $name - HTTP response read failure: $!\n"
                        unless $!{ECONNRESET};
                    $reading = 0;
                    last;
                }
                if ($n == 0) { $reading = 0; last }
                $resp .= $buf;
            }
        }
    }
    close $sock;
    return ($resp, $head_req);
}

# ---------------------------------------------------------------------------
# parsing responses

sub parse_response ($$$) {
    my ($name, $raw_resp, $head_req) = @_;
    my $left;
    my $raw_headers = $raw_resp =~ /(.*?\r\n)\r\n/s ? $1 : '';

    my $res = HTTP::Response->parse($raw_resp);
    my $code = $res->code;
    if ($code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my @trailers = $res->header('Trailer');

    if (defined $enc && $enc eq 'chunked') {
        my $raw = $res->content // '';
        my $decoded = '';
        while (1) {
            if (@trailers == 0 && $raw =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                $left = $1 if $raw =~ /\G (.+) /gcsx;
                last;
            }
            if (@trailers > 0 && $raw =~ /\G 0 [\ \t]* \r\n /gcsx) {
                for my $t (@trailers) {
                    if ($raw !~ /\G(\Q$t\E:\ [^\n]*\r\n)/gcs) {
                        Test::More::fail("$name - invalid trailer data received (expected $t).");
                        return;
                    }
                }
                if ($raw !~ /\G\r\n/gcs) {
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
                $left = $1 if $raw =~ /\G (.+) /gcsx;
                last;
            }
            if ($raw =~ /\G [\ \t]* ([A-Fa-f0-9]+) [^\r\n]* \r\n /gcsx) {
                my $size = hex $1;
                my $pos = pos $raw;
                if (length($raw) - $pos < $size) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enought octets for the data section)");
                    return;
                }
                $decoded .= substr($raw, $pos, $size);
                pos($raw) = $pos + $size;
                if ($raw !~ /\G\r\n/gcs) {
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
            } elsif ($raw =~ /\G.+/gcs) {
                Test::More::fail("$name - invalid chunked body received: $&");
                return;
            } else {
                Test::More::fail("$name - no last chunk found - $raw");
                return;
            }
        }
        $res->content($decoded);

    } elsif (defined $len && $len ne '' && $len =~ /^\d+$/) {
        my $raw = $res->content // '';
        if ($head_req) {
            $left = $raw if length $raw;
            $res->content('');
        } elsif (length $raw < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                length $raw, "\n";
        } elsif (length $raw > $len) {
            $left = substr $raw, $len;
            $res->content(substr $raw, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# the per-repetition helper

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.") if $req_idx != 0;
        return $value->[0];
    }
    return $value;
}

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    $repeated_req_idx //= 0;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() unless defined $timeout;

    my ($res, $n, $need_array);
    my $req_idx = 0;

    for my $one_req (@$reqs) {
        my ($raw_resp, $head_req);
        if ($dry_run) {
            $raw_resp = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        } else {
            ($raw_resp, $head_req) = send_request($one_req,
                parse_time($block->raw_request_middle_delay), $timeout, $block);
        }

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

      again:
        $raw_resp //= '';
        my ($raw_headers, $left);
        if (!defined $block->ignore_response) {
            ($res, $raw_headers, $left) = parse_response($name, $raw_resp, $head_req);
        }

        if (!$n) {
            if (defined $left && length $left) {
                (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last chunk in response: \"$l\"\n";
            }
        } else {
            $raw_resp = $left;
            $n--;
        }

        if (!defined $block->ignore_response) {
            check_error_code($block, $res, $dry_run, $req_idx, $need_array);
            check_raw_response_headers($block, $raw_headers, $dry_run, $req_idx, $need_array);
            check_response_headers($block, $res, $raw_headers, $dry_run, $req_idx, $need_array);
            transform_response_body($block, $res, $req_idx);
            check_response_body($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array);
        }

        if ($n || $req_idx < @$reqs - 1) {
            sleep($block->wait) if $block->wait;
            check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
            check_access_log($block, $dry_run, $repeated_req_idx)
                unless defined $block->ignore_response;
        }

        $req_idx++;
        goto again if $n;
    }

    sleep($block->wait) if $block->wait;

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
    check_access_log($block, $dry_run, $repeated_req_idx)
        unless defined $block->ignore_response;
}

# ---------------------------------------------------------------------------
# checks

sub _skip_if ($$) {
    my ($why, $dry_run) = @_;
    return 0 unless $dry_run;
    SKIP: { Test::More::skip("$why - tests skipped due to $dry_run", 1); }
    return 1;
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    return if _skip_if($name, $dry_run);
    my $got = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, $block->error_code_like, $req_idx, $need_array);
        Test::More::like($got, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($got, get_indexed_value($name, $block->error_code, $req_idx, $need_array),
                       "$name - status code ok");
    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers //= '';
    if (defined $block->raw_response_headers_like) {
        if (!_skip_if("$name - raw_response_headers_like", $dry_run)) {
            my $e = get_indexed_value($name, $block->raw_response_headers_like, $req_idx, $need_array);
            Test::More::like($raw_headers, qr/$e/s, "$name - raw resp headers like");
        }
    }
    if (defined $block->raw_response_headers_unlike) {
        if (!_skip_if("$name - raw_response_headers_unlike", $dry_run)) {
            my $e = get_indexed_value($name, $block->raw_response_headers_unlike, $req_idx, $need_array);
            Test::More::unlike($raw_headers, qr/$e/s, "$name - raw resp headers unlike");
        }
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers //= '';

    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value($name, $block->response_headers,
                                                      $req_idx, $need_array));
        while (my ($key, $val) = each %$headers) {
            next if _skip_if("$name - response_headers", $dry_run);
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                                   "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;
            Test::More::is($actual, $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value($name, $block->response_headers_like,
                                                      $req_idx, $need_array));
        while (my ($key, $val) = each %$headers) {
            next if _skip_if("$name - response_headers_like", $dry_run);
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;
            Test::More::like($actual, qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub run_filter_helper ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;
    return $filter->($content) if ref $filter eq 'CODE';
    bail_out("$name - the --- response_body_filters section only supports "
             . "subroutine reference values and string values") if ref $filter;
    my %f = (
        md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
        sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
        uc => sub { uc $_[0] }, lc => sub { lc $_[0] },
        ucfirst => sub { ucfirst $_[0] }, lcfirst => sub { lcfirst $_[0] },
        length => sub { length $_[0] },
    );
    bail_out("$name - unknown filter, \"$filter\", specified in the --- response_body_filters section")
        unless $f{$filter};
    return $f{$filter}->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    return unless defined $res && defined $res->content;
    my $filters = $block->response_body_filters;
    return unless defined $filters;
    my $name = $block->name;
    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    my $f = $filters;
    if (ref $filters->[0] eq 'ARRAY') {
        $f = $filters->[$req_idx];
        bail_out("$name - the ---response_body_filters two-dimensional array "
                 . "unmatch the specified request($req_idx)") unless defined $f;
    }
    my $new = $res->content;
    $new = run_filter_helper($block, $_, $new) for (ref $f eq 'ARRAY' ? @$f : ($f));
    $res->content($new);
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined(my $file = $block->write_resp_body_file)) {
        if (defined $res && open my $out, '>', $file) {
            print $out $res->content // '';
            close $out;
        }
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }
        if (defined $block->response_body_json_sort) {
            my $js = JSON::PP->new->canonical(1);
            my $obj;
            if (eval { $obj = $js->loose(1)->decode($content); 1 }) {
                $content = $js->encode($obj) . "\n";
            }
        }

        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use response_body eval instead.");
            $expected = eval get_indexed_value($name, $block->response_body_eval, $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body, $req_idx, $need_array);
        }
        if ($block->charset && defined $expected) {
            require Encode;
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name, $Test::Nginx::Util::RandPorts);
        }

        return if _skip_if("$name - response_body", $dry_run);
        if (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $repeated_req_idx, req $req_idx)");
        } else {
            is_str($content, $expected,
                "$name - response_body - response is expected (repeated req $repeated_req_idx, req $req_idx)");
        }

    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my ($patterns, $type, $cmp) = defined $block->response_body_like
            ? ($block->response_body_like, 'like', \&Test::More::like)
            : ($block->response_body_unlike, 'unlike', \&Test::More::unlike);
        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }
        my $pat = get_indexed_value($name, $patterns, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content) // '';
        return if _skip_if("$name - response_body_$type", $dry_run);
        $cmp->($content, qr/$pat/s, "$name - response_body_$type - response is expected ($summary)");
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx, $repeated_req_idx, $dry_run);
    }
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub value_contains ($$) {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for (@$val) { return 1 if value_contains($_, $pat) }
    }
    return undef;
}

sub _pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# "--- error_log" / "--- no_error_log" style checks against a list of lines
sub _check_log_patterns ($$$$$$;$) {
    my ($name, $what, $file, $pats, $lines, $dry_run, $suffix) = @_;
    $suffix = defined $suffix ? " $suffix" : '';
    $pats = _pattern_list($pats);
    $lines ||= [];

    if ($what eq 'must') {
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat;
                if (_line_matches($line, $pat)) {
                    if (!_skip_if("$name - $file", $dry_run)) {
                        Test::More::pass("$name - pattern \"$pat\" matches a line in $file$suffix");
                    }
                    undef $pat;
                }
            }
        }
        for my $pat (@$pats) {
            next unless defined $pat;
            next if _skip_if("$name - $file", $dry_run);
            Test::More::fail("$name - pattern \"$pat\" should match a line in $file$suffix");
        }
        return;
    }

    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next unless defined $pat;
            next unless _line_matches($line, $pat);
            $found{$pat} = 1;
            next if _skip_if("$name - no_$file", $dry_run);
            my @more = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
            Test::More::fail("$name - pattern \"" . fmt_str($pat)
                . "\" should not match any line in $file but matches line \""
                . fmt_str($line) . "\"$suffix\n" . join('', @more));
        }
    }
    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        next if _skip_if("$name - no_$file", $dry_run);
        Test::More::pass("$name - pattern \"" . fmt_str($pat) . "\" does not match a line in $file$suffix");
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;
    if (defined $block->access_log) {
        $lines ||= access_log_data();
        _check_log_patterns($name, 'must', 'access.log', $block->access_log, $lines,
                            $dry_run, "(req $repeated_req_idx)");
    }
    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        _check_log_patterns($name, 'must_not', 'access.log', $block->no_access_log, $lines,
                            $dry_run, "(req $repeated_req_idx)");
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_on = (alert => 1, crit => 1, emerg => 1);

    my $grep_pats = $block->grep_error_log;
    my $grep_pat;
    if (defined $grep_pats) {
        $grep_pat = ref $grep_pats eq 'ARRAY' ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
            unless defined $expected;
        $expected = expand_env_in_text($expected, $name, $Test::Nginx::Util::RandPorts)
            unless ref $expected;
        $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';

        if (!_skip_if("$name - error_log", $dry_run)) {
            $lines ||= error_log_data();
            my $matched = '';
            for my $line (@{ $lines || [] }) {
                if ((ref $grep_pat && $line =~ /$grep_pat/) || $line =~ /\Q$grep_pat\E/) {
                    my $m = $&;
                    $matched .= "$m\n" if $m !~ /\n/;
                }
            }
            if (ref $expected eq 'Regexp') {
                Test::More::like($matched, $expected, "$name - grep_error_log_out (req $repeated_req_idx)");
            } else {
                is_str($matched, $expected, "$name - grep_error_log_out (req $repeated_req_idx)");
            }
        }
    }

    for my $sec (qw(error_log no_error_log)) {
        my $pats = $block->$sec;
        next unless defined $pats;
        for my $lvl (keys %warn_on) {
            delete $warn_on{$lvl} if value_contains($pats, "[$lvl");
        }
        $lines ||= error_log_data();
        _check_log_patterns($name, $sec eq 'error_log' ? 'must' : 'must_not', 'error.log',
                            $pats, $lines, $dry_run, "(req $repeated_req_idx)");
    }

    return if $dry_run;

    if (%warn_on) {
        $lines ||= error_log_data();
        for my $line (@{ $lines || [] }) {
            for my $lvl (keys %warn_on) {
                warn "WARNING: $name - " . fmt_str($line) . "\n" if $line =~ /\[$lvl\]/;
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            Test::More::fail("$name - $l\n");
        }
    }
}

sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines;
    if (defined $block->shutdown_error_log) {
        $lines ||= error_log_data();
        _check_log_patterns($name, 'must', 'error.log', $block->shutdown_error_log, $lines,
                            $dry_run ? 'dry_run' : 0, undef);
    }
    if (defined $block->no_shutdown_error_log) {
        $lines ||= error_log_data();
        _check_log_patterns($name, 'must_not', 'error.log', $block->no_shutdown_error_log, $lines,
                            $dry_run ? 'dry_run' : 0, undef);
    }
}

1;
