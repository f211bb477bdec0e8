package Cwai::Fake::Expect;

# Order-independent assertions on what the fakes recorded, for
# "--- fake_requests eval":
#
#   use Cwai::Fake::Expect;          # in the .t file, after use Cwai::Fake;
#                                    # the functions are then callable in eval sections
#
#   --- fake_requests eval
#   expect(
#       [1, { fake => 'chatwoot', method => 'POST', path => qr{/messages$},
#             json => { content => qr/R\$ 89,90/, private => json_false } }],
#       [0, { fake => 'chatwoot', path => qr{/toggle_status$} }],
#       ['>=1', { fake => 'odoo', path => '/json/2/res.partner/search_read',
#                 json => { domain => [['phone_mobile_search', 'ilike', '87412365']] } }],
#       [2, 'openai POST /v1/chat/completions'],
#       { total => 4, wait => 2 },       # optional: the number of all requests,
#   )                                    # and how long to wait for them (s)
#
# Each rule is [COUNT, MATCHER]: COUNT is a number (exactly), '>=N' or '<=N';
# MATCHER is what a "--- fake_requests eval" item may be: a "NAME METHOD URI"
# string, a qr// on that line, or a hash (fake, method, uri, path, query,
# status, headers, body, json (subset match), check => sub { $_[0] = record }).
# expect() returns the sub that Cwai::Fake calls; it waits (up to "wait", by
# default TEST_NGINX_TIMEOUT) for the counts to be reached, so requests the
# module makes after answering the client are seen too.

use strict;
use warnings;
use Time::HiRes qw(time sleep);
use Scalar::Util qw(blessed);
require Exporter;
our @ISA = ('Exporter');
our @EXPORT = qw(expect matching json_true json_false json_null json_bool contains);

# Also visible in "--- ... eval" sections, which Test::Base evaluates in the
# package Test::Base::Filter (under both runners).
sub import {
    no strict 'refs';
    for my $f (@EXPORT) {
        *{"Test::Base::Filter::$f"} = \&{$f} unless defined &{"Test::Base::Filter::$f"};
    }
    __PACKAGE__->export_to_level(1, @_);
}

sub json_true  { sub { my $v = shift; blessed($v) && $v->isa('JSON::PP::Boolean') && $v } }
sub json_false { sub { my $v = shift; blessed($v) && $v->isa('JSON::PP::Boolean') && !$v } }
sub json_bool  { sub { my $v = shift; blessed($v) && $v->isa('JSON::PP::Boolean') } }
# a key present with the value null (use undef for "absent or null")
sub json_null  { sub { !defined $_[0] } }
sub contains   { my $s = shift; qr/\Q$s\E/ }

sub _summary { my $r = shift; "$r->{fake} $r->{method} $r->{uri}" }

# -> undef if the record matches, else why not
sub mismatch {
    my ($exp, $r) = @_;
    if (!ref $exp) {
        (my $e = $exp) =~ s/^\s+|\s+$//g;
        $e =~ s/\s+/ /g;
        return _summary($r) eq $e ? undef : "not \"$e\"";
    }
    if (ref $exp eq 'Regexp') {
        return _summary($r) =~ $exp ? undef : "does not match $exp";
    }
    die "Cwai::Fake::Expect: bad matcher $exp\n" unless ref $exp eq 'HASH';
    for my $k (qw(fake method uri path query version status route)) {
        next unless exists $exp->{$k};
        my $d = Cwai::Fake::subset_diff($exp->{$k}, $r->{$k}, $k);
        return $d if $d;
    }
    if (my $h = $exp->{headers}) {
        for my $name (sort keys %$h) {
            my $d = Cwai::Fake::subset_diff($h->{$name}, $r->{headers}{ lc $name }, "header $name");
            return $d if $d;
        }
    }
    for my $k (qw(body json)) {
        next unless exists $exp->{$k};
        my $d = Cwai::Fake::subset_diff($exp->{$k}, $r->{$k}, $k);
        return $d if $d;
    }
    if (my $code = $exp->{check}) {
        my $ok = eval { $code->($r) };
        return "check died: $@" if $@;
        return "check returned false" unless $ok;
    }
    return undef;
}

# the recorded requests that match
sub matching {
    my ($reqs, $exp) = @_;
    return grep { !defined mismatch($exp, $_) } @$reqs;
}

sub _count_ok {
    my ($want, $n) = @_;
    return $n >= $1 if $want =~ /^\s*>=\s*(\d+)\s*$/;
    return $n <= $1 if $want =~ /^\s*<=\s*(\d+)\s*$/;
    return $n == $want;
}

sub _describe {
    my ($exp) = @_;
    return "\"$exp\"" unless ref $exp;
    return "$exp" if ref $exp eq 'Regexp';
    local $Data::Dumper::Terse = 1;
    local $Data::Dumper::Indent = 0;
    local $Data::Dumper::Sortkeys = 1;
    require Data::Dumper;
    return Data::Dumper::Dumper($exp);
}

sub expect {
    my @rules = @_;
    my ($total, $wait_opt);
    @rules = grep {
        if (ref $_ eq 'HASH') { $total = $_->{total}; $wait_opt = $_->{wait}; 0 } else { 1 }
    } @rules;
    for (@rules) {
        die "Cwai::Fake::Expect: a rule is [COUNT, MATCHER]\n" unless ref $_ eq 'ARRAY' && @$_ == 2;
    }
    return sub {
        my ($reqs) = @_;
        my $wait = $wait_opt // 3;
        if (!defined $wait_opt && defined &Test::Nginx::Util::timeout) {
            my $t = Test::Nginx::Util::timeout();
            $wait = $t if $t;
        }
        my $deadline = time + $wait;
        my @fail;
        my $check = sub {
            @fail = ();
            for my $rule (@rules) {
                my ($want, $exp) = @$rule;
                my $n = () = matching($reqs, $exp);
                push @fail, "expected $want request(s) matching " . _describe($exp) . ", got $n"
                    unless _count_ok($want, $n);
            }
            push @fail, "expected $total request(s) in all, got " . scalar(@$reqs)
                if defined $total && !_count_ok($total, scalar @$reqs);
            return !@fail;
        };
        # wait for late requests, then look once more for extra ones
        until ($check->() || time > $deadline) {
            sleep 0.05;
            $reqs = [ Cwai::Fake::requests() ];
        }
        sleep 0.1;
        $reqs = [ Cwai::Fake::requests() ];
        return 1 if $check->();

        # explain the first failing rule with the nearest records
        my @why;
        for my $rule (@rules) {
            my ($want, $exp) = @$rule;
            next if _count_ok($want, scalar(() = matching($reqs, $exp)));
            for my $r (@$reqs) {
                my $d = mismatch($exp, $r);
                push @why, "  " . _summary($r) . ": $d" if $d;
            }
            last;
        }
        die join("\n", @fail, @why ? ("why the others did not match:", @why) : ()) . "\n";
    };
}

1;
