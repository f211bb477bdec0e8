package Cwai::Fake::Proto;

# Shared helpers of the protocol presets (t/lib/Cwai/Fake/Preset/*.pm):
# strict JSON, Python-style floats, text normalisation, the deterministic
# embedding shared by the fake OpenAI and the fake Qdrant, money in pt-BR,
# and the per-block failure scripts ("script => {...}" option).
# Assertion helpers for recordings are in Cwai::Fake::Expect.

use strict;
use warnings;
use utf8;

use JSON::PP ();
use Encode ();
use Unicode::Normalize ();
use Digest::MD5 ();
use Exporter 'import';

our @EXPORT_OK = qw(
    json_decode json_encode py_float norm_text words embed embed_tokens
    money_br script_step apply_script fixture_file hash32 store
);

my $STRICT = JSON::PP->new->utf8->allow_nonref;
my $OUT    = JSON::PP->new->utf8->canonical->allow_nonref->allow_blessed->convert_blessed;

# -> (data, undef) or (undef, error text).  Accepts any JSON value.
sub json_decode {
    my ($bytes) = @_;
    return (undef, 'empty body') if !defined $bytes || $bytes !~ /\S/;
    my $v = eval { $STRICT->decode($bytes) };
    return (undef, ($@ =~ s/ at \S+ line \d+.*//sr)) if $@;
    return ($v, undef);
}

# Canonical (sorted keys) compact UTF-8 JSON; py_float() values are written
# the way Python writes floats (42.0, 80.91000000000001).
sub json_encode {
    my ($v) = @_;
    my $s = $OUT->encode($v);
    $s =~ s/"\\u0000PYF:([^"\\]*)\\u0000"/$1/g;
    return $s;
}

{
    package Cwai::Fake::Proto::Float;
    sub TO_JSON { "\x{0}PYF:" . Cwai::Fake::Proto::py_repr(${ $_[0] }) . "\x{0}" }
}

# A number that is encoded as a JSON float (Odoo's 42.0, not 42).
sub py_float {
    my ($x) = @_;
    return $x if !defined $x || ref $x;
    my $v = $x + 0;
    return bless \$v, 'Cwai::Fake::Proto::Float';
}

# Python repr() of a float: the shortest text that reads back the same.
sub py_repr {
    my ($x) = @_;
    return '0.0' if $x == 0;
    my ($p, $m, $e);
    for my $try (0 .. 16) {
        my $s = sprintf("%.${try}e", $x);
        if ($s + 0 == $x || $try == 16) {
            ($m, $e) = $s =~ /^(-?[\d.]+)e([-+]\d+)$/;
            $p = $try;
            last;
        }
    }
    $e += 0;
    if ($e >= -4 && $e < 16) {
        my $d = $p - $e;
        $d = 1 if $d < 1;
        return sprintf("%.${d}f", $x);
    }
    $m =~ s/\.?0+$// if $m =~ /\./;
    return sprintf("%se%s%02d", $m, $e < 0 ? '-' : '+', abs $e);
}

# lower case, accents removed, [a-z0-9%] words separated by one space
sub norm_text {
    my ($s) = @_;
    $s = '' unless defined $s;
    $s = Encode::decode('UTF-8', $s) if !utf8::is_utf8($s) && $s =~ /[\x80-\xff]/;
    $s = Unicode::Normalize::NFD(lc $s);
    $s =~ s/\p{Mn}+//g;
    $s =~ s/[^a-z0-9%\-]+/ /g;
    $s =~ s/(?<![a-z0-9])-|-(?![a-z0-9])/ /g;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\s+/ /g;
    return $s;
}

our %STOP = map { $_ => 1 } qw(
    a o as os um uma uns umas de da do das dos e em no na nos nas num numa
    para pra pro pros por pelo pela com sem que qual quais se ou mas mais
    muito muita ja eu me meu minha meus minhas voce voces vc vcs seu sua
    nosso nossa isso esse essa este esta isto aquele aquela ai la aqui
    the of and or to in on for with is are an at be it this that
    el la los las y del al por favor ola oi tudo bem
);

# content words of a text (normalised; stopwords and 1-letter words dropped
# unless keep_short)
sub words {
    my ($s, %o) = @_;
    my @w = grep { !$STOP{$_} && (length > 1 || $o{keep_short}) } split / /, norm_text($s);
    return @w;
}

sub hash32 {
    my ($s) = @_;
    return unpack('N', Digest::MD5::md5(Encode::encode('UTF-8', $s)));
}

sub _stem {
    my ($w) = @_;
    return $w if $w =~ /^\d/ || length $w <= 3;
    $w =~ s/(?:oes|aes|ais|eis|ns)$// and return $w;
    $w =~ s/s$//;
    return $w;
}

# The deterministic embedding: signed feature hashing of the stemmed content
# words (weight 1) and of word bigrams (weight 0.5), L2-normalised.  Texts
# that share words get a positive cosine; the same text always gets the same
# vector, in the fake OpenAI and in the fake Qdrant alike.
sub embed {
    my ($text, $dim) = @_;
    $dim ||= 8;
    my @v = (0) x $dim;
    my @w = map { _stem($_) } words($text);
    my @feat = map { [$_, 1] } @w;
    push @feat, map { ["$w[$_] $w[$_ + 1]", 0.5] } 0 .. $#w - 1;
    for my $f (@feat) {
        my $h = hash32($f->[0]);
        $v[$h % $dim] += (($h >> 31) & 1 ? -1 : 1) * $f->[1];
        my $h2 = hash32("#$f->[0]");
        $v[$h2 % $dim] += (($h2 >> 31) & 1 ? -1 : 1) * $f->[1] * 0.5;
    }
    return _unit(\@v, $text);
}

# token-array input ([1, 2, 3]) of the embeddings endpoint
sub embed_tokens {
    my ($tokens, $dim) = @_;
    return embed(join(' ', map { "t$_" } @$tokens), $dim);
}

sub _unit {
    my ($v, $seed) = @_;
    my $n = 0;
    $n += $_ * $_ for @$v;
    if ($n == 0) {          # no content word: a fixed direction per text
        $v->[ hash32("empty:" . ($seed // '')) % @$v ] = 1;
        $n = 1;
    }
    $n = sqrt $n;
    return [ map { 0 + sprintf('%.6f', $_ / $n) } @$v ];
}

# 1234.5 -> "R$ 1.234,50" (half up to the cent)
sub money_br {
    my ($x) = @_;
    my $neg = $x < 0;
    my $c = int(abs($x) * 100 + 0.5 + 1e-7);
    my $int = int($c / 100);
    my $s = reverse join '.', unpack '(A3)*', reverse $int;
    return ($neg ? '-' : '') . sprintf('R$ %s,%02d', $s, $c % 100);
}

sub fixture_file {
    my ($rel) = @_;
    my $dir = $Cwai::Fake::FixturesDir || 't/fixtures';
    my $path = "$dir/$rel";
    open my $in, '<:raw', $path or die "cannot read $path: $!\n";
    local $/;
    my $d = <$in>;
    close $in;
    return $d;
}

# t/fixtures/store/NAME.json, decoded (a fresh copy each call)
sub store {
    my ($name) = @_;
    my ($v, $err) = json_decode(fixture_file("store/$name.json"));
    die "store/$name.json: $err\n" if $err;
    return $v;
}

# ---------------------------------------------------------------------------
# failure scripts
#
#   script => { ENDPOINT => [ITEM, ...], '*' => [ITEM, ...] }
#
# The n-th request to ENDPOINT (or to any endpoint, for '*') takes the n-th
# ITEM; past the end of the list the real behaviour applies.  An ITEM is
#   'pass' / undef        the real behaviour
#   'NAME'                a named failure of the preset (see its %ERRORS)
#   '503'                 that status with the service's generic error body
#   {error => 'NAME', ...}  a named failure plus response fields (delay,
#                         headers, close, ...)
#   {pass => 1, ...}      the real response plus response fields
#                         (e.g. {pass => 1, delay => 1500})
#   {status => ..., ...}  a Cwai::Fake response as is
#   sub { my ($req, $real) = @_; ... }   $real->() is the real response
# Generic names every preset knows: hang, reset, malformed, empty,
# oversized (size => N bytes, default 4 MiB), html (502 proxy page).

my %GENERIC = (
    hang      => { hang => 1 },
    timeout   => { hang => 1 },
    reset     => { reset => 1 },
    close     => { raw => '' },
    empty     => { status => 200, headers => { 'Content-Type' => 'application/json' }, body => '' },
    malformed => { status => 200, headers => { 'Content-Type' => 'application/json' },
                   body => '{"id":"broken","result":[{"truncated": tr' },
    html      => { status => 502, headers => { 'Content-Type' => 'text/html' },
                   body => "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
                         . "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n" },
);

# -> the item to use for this request (undef: real behaviour)
sub script_step {
    my ($script, $counters, @endpoints) = @_;
    return undef unless ref $script eq 'HASH';
    for my $ep (@endpoints, '*') {
        next unless defined $ep && exists $script->{$ep};
        my $list = $script->{$ep};
        $list = [$list] unless ref $list eq 'ARRAY';
        my $n = $counters->{$ep}++;
        return $n < @$list ? $list->[$n] : undef;
    }
    return undef;
}

# $named: sub(NAME, ITEM) -> response or undef; $status_err: sub(STATUS) ->
# response; $real: sub() -> response
sub apply_script {
    my (%a) = @_;
    my ($item, $req, $real, $named, $status_err) = @a{qw(item req real named status)};
    return $real->() if !defined $item || (!ref $item && $item eq 'pass');
    if (ref $item eq 'CODE') {
        return $item->($req, $real);
    }
    $item = { error => $item } if !ref $item;
    if (ref $item eq 'HASH') {
        my %extra = %$item;
        my $base;
        if (delete $extra{pass}) {
            $base = $real->();
        } elsif (defined(my $name = delete $extra{error})) {
            if ($name =~ /^\d{3}$/) {
                $base = $status_err->($name);
            } elsif ($name eq 'oversized') {
                my $size = delete $extra{size} // 4 * 1024 * 1024;
                $base = { status => 200, headers => { 'Content-Type' => 'application/json' },
                          body => '{"padding":"' . ('x' x ($size > 16 ? $size - 14 : 1)) . '"}' };
            } else {
                $base = $named->($name, \%extra) // ($GENERIC{$name} ? { %{ $GENERIC{$name} } } : undef);
                die "cwai fake: unknown scripted failure '$name'\n" unless $base;
            }
        } else {
            return \%extra;
        }
        delete $extra{size};
        my %h = (%{ $base->{headers} || {} });
        if (my $eh = delete $extra{headers}) {
            %h = (%h, %$eh);
            # drop same-named headers that differ only in case
            for my $k (keys %$eh) {
                delete $h{$_} for grep { lc $_ eq lc $k && $_ ne $k } keys %h;
            }
        }
        my %r = (%$base, %extra);
        $r{headers} = \%h if %h;
        return \%r;
    }
    die "cwai fake: bad script item $item\n";
}

sub generic_failure {
    my ($name) = @_;
    return $GENERIC{$name} ? { %{ $GENERIC{$name} } } : undef;
}

1;
