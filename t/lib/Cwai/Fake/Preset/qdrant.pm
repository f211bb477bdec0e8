package Cwai::Fake::Preset::qdrant;

# Fake Qdrant 1.19 (REST): the Query API with filters, thresholds and
# cosine/dot/euclid/manhattan scoring over collections preloaded per block,
# plus the writes a sync tool makes.  Options:
#
#   { qdrant => { options => {
#         api_key     => 'qk-test',   # require "api-key: qk-test" (or Bearer)
#         dimensions  => 8,           # size of the 'store' collections
#         tenant      => 'belapele', account_id => 3,   # payload of store points
#         collections => {            # default: the two below
#             bela_pele_rules => 'fixture',   # the 4 points of qdrant/upsert-request.json (size 8)
#             belapele        => 'store',     # store rules.json + faqs.json, embedded like the fake OpenAI
#             mine => { size => 4, distance => 'Dot',
#                       points => [ { id => 1, vector => [1,0,0,0], payload => {...} },
#                                   { id => 2, text => 'embedded with the fake embedding' } ] },
#         },
#         script => { query => ['503', 'pass'], '*' => [...] },
#     } } }
#
# Named failures: rate_limited (429 + Retry-After: 1), unavailable (503),
# timeout_error (408), internal (500), unauthorized (401 text), and the
# generic ones (hang, reset, malformed, empty, oversized, html).

use strict;
use warnings;
use utf8;

use Cwai::Fake ();
use Cwai::Fake::Proto qw(json_decode json_encode embed store script_step apply_script fixture_file);
use JSON::PP ();
use B ();

my $TIME = 0.000412;

sub ok_body  { return { status => 200, json => { result => $_[0], status => 'ok', time => $TIME } } }
sub q_err    { my ($st, $msg) = @_; return { status => $st, json => { status => { error => $msg }, time => 2.1e-05 } } }
sub fmt_err  { return q_err(400, "Format error in JSON body: $_[0]") }

our %ERRORS = (
    rate_limited  => sub { { %{ q_err(429, 'Too many requests: rate limit exceeded, retry later') },
                             headers => { 'Retry-After' => 1 } } },
    unavailable   => sub { q_err(503, 'Service unavailable: shard is not ready, please retry') },
    timeout_error => sub { q_err(408, 'Timeout error: Operation timed out, please retry') },
    internal      => sub { q_err(500, 'Service internal error: task panicked') },
    unauthorized  => sub { { status => 401, headers => { 'Content-Type' => 'text/plain' },
                             body => 'Must provide an API key or an Authorization bearer token' } },
);

Cwai::Fake::preset(qdrant => sub {
    my %o = @_;
    my $st = { counters => {}, op => 2, cols => load_collections(\%o) };
    return { routes => { '* /*' => sub { dispatch($_[0], \%o, $st) } } };
});

sub _norm {
    my ($v) = @_;
    my $n = 0;
    $n += $_ * $_ for @$v;
    $n = sqrt $n;
    return [@$v] unless $n;
    return [ map { $_ / $n } @$v ];
}

sub new_collection {
    my ($size, $distance) = @_;
    return { size => $size, distance => $distance // 'Cosine', points => {}, order => [],
             payload_schema => {} };
}

sub put_point {
    my ($c, $id, $vec, $payload, $version) = @_;
    my $key = "$id";
    push @{ $c->{order} }, $key unless $c->{points}{$key};
    $c->{points}{$key} = { id => $id, version => $version,
                           vector => $c->{distance} eq 'Cosine' ? _norm($vec) : [@$vec],
                           payload => $payload // {} };
}

sub load_collections {
    my ($o) = @_;
    my $dim = $o->{dimensions} || 8;
    my $tenant = $o->{tenant} // 'belapele';
    my $acc = $o->{account_id} // 3;
    my $cols = $o->{collections} || { bela_pele_rules => 'fixture', belapele => 'store' };
    my %out;
    for my $name (sort keys %$cols) {
        my $def = $cols->{$name};
        if (!ref $def && $def eq 'fixture') {
            my ($up) = json_decode(fixture_file('qdrant/upsert-request.json'));
            my $c = $out{$name} = new_collection(8, 'Cosine');
            put_point($c, $_->{id}, $_->{vector}, $_->{payload}, 2) for @{ $up->{points} };
        } elsif (!ref $def && $def eq 'store') {
            my $c = $out{$name} = new_collection($dim, 'Cosine');
            my $i = 0;
            for my $r (@{ store('rules') }) {
                my %p = (tenant => $tenant, account_id => $acc, kind => 'rule', type => 'business_rule',
                         source_id => $r->{id}, title => $r->{title}, text => $r->{text},
                         topic => $r->{category}, category => $r->{category},
                         keywords => $r->{keywords}, active => JSON::PP::true,
                         audience => 'customer', lang => 'pt-BR');
                put_point($c, 1001 + $i++, embed(join(' ', $r->{title}, $r->{text}, @{ $r->{keywords} || [] }), $dim),
                          \%p, 2);
            }
            $i = 0;
            for my $f (@{ store('faqs') }) {
                my %p = (tenant => $tenant, account_id => $acc, kind => 'faq', type => 'faq',
                         source_id => $f->{id}, title => $f->{question}, text => $f->{answer},
                         topic => $f->{category}, category => $f->{category},
                         rule_ids => $f->{rule_ids}, active => JSON::PP::true,
                         audience => 'customer', lang => 'pt-BR');
                put_point($c, 2001 + $i++, embed("$f->{question} $f->{answer}", $dim), \%p, 2);
            }
        } elsif (ref $def eq 'HASH') {
            my $size = $def->{size} || $dim;
            my $c = $out{$name} = new_collection($size, $def->{distance});
            for my $p (@{ $def->{points} || [] }) {
                my $vec = $p->{vector} // embed($p->{text} // '', $size);
                put_point($c, $p->{id}, $vec, $p->{payload} // (defined $p->{text} ? { text => $p->{text} } : {}), 2);
            }
        } else {
            die "qdrant fake: collection $name: 'fixture', 'store' or {size, points}\n";
        }
    }
    return \%out;
}

sub dispatch {
    my ($req, $o, $st) = @_;
    my $m = uc $req->{method};
    my $p = $req->{path};
    my ($col, $rest) = $p =~ m{^/collections/([^/]+)(/.*)?$};
    $rest //= '';
    my $ep = defined $col && $m eq 'POST' && $rest eq '/points/query' ? 'query'
           : defined $col && $m eq 'POST' && $rest eq '/points/query/batch' ? 'query'
           : defined $col && $m eq 'PUT' && $rest eq '/points' ? 'upsert'
           : defined $col ? 'collection' : 'other';
    my $real = sub {
        my $open = $m eq 'GET' && $p =~ m{^/(?:healthz|livez|readyz)$};
        if (defined(my $key = $o->{api_key}) and !$open) {
            my $got = $req->{headers}{'api-key'};
            if (!defined $got && ($req->{headers}{authorization} // '') =~ /^Bearer\s+(\S+)/i) { $got = $1 }
            return { status => 401, headers => { 'Content-Type' => 'text/plain' },
                     body => 'Must provide an API key or an Authorization bearer token' } unless defined $got;
            return { status => 401, headers => { 'Content-Type' => 'text/plain' },
                     body => 'Invalid API key or JWT' } if $got ne $key;
        }
        return route($req, $o, $st, $m, $p, $col, $rest);
    };
    my $item = script_step($o->{script}, $st->{counters}, $ep);
    return apply_script(
        item => $item, req => $req, real => $real,
        named => sub { $ERRORS{ $_[0] } ? $ERRORS{ $_[0] }->() : undef },
        status => sub { q_err($_[0], $_[0] >= 500 ? 'Service internal error: scripted failure'
                                                  : "Bad request: scripted status $_[0]") },
    );
}

sub _body {
    my ($req) = @_;
    my ($b, $e) = json_decode($req->{body});
    if ($e) {
        $e =~ s/,? at character offset \d+.*//s;
        return (undef, fmt_err(($req->{body} // '') =~ /\S/ ? "expected value at line 1 column 1 ($e)"
                                                            : 'EOF while parsing a value at line 1 column 0'));
    }
    return (undef, fmt_err('invalid type: ' . (ref $b ? 'sequence' : 'value') . ', expected struct'))
        if ref $b ne 'HASH';
    return ($b, undef);
}

sub _not_found { q_err(404, "Not found: Collection `$_[0]` doesn't exist!") }

sub route {
    my ($req, $o, $st, $m, $p, $col, $rest) = @_;
    if (!defined $col) {
        return { status => 200, json => { title => 'qdrant - vector search engine', version => '1.19.0',
                                          commit => '74f3e85b' } } if $m eq 'GET' && $p eq '/';
        return { status => 200, headers => { 'Content-Type' => 'text/plain' },
                 body => 'healthz check passed' } if $m eq 'GET' && $p =~ m{^/(?:healthz|livez|readyz)$};
        return ok_body({ collections => [ map { { name => $_ } } sort keys %{ $st->{cols} } ] })
            if $m eq 'GET' && $p eq '/collections';
        return { status => 404, body => '' };
    }
    my $c = $st->{cols}{$col};
    if ($rest eq '') {
        if ($m eq 'PUT') {
            my ($qb, $e) = _body($req);
            return $e if $e;
            return q_err(409, "Wrong input: Collection `$col` already exists!") if $c;
            my $v = $qb->{vectors};
            return fmt_err('missing field `vectors`') if ref $v ne 'HASH';
            return fmt_err('missing field `size`') if !defined $v->{size};
            return fmt_err("invalid value: integer `$v->{size}`, expected a nonzero u64")
                if $v->{size} !~ /^\d+$/ || $v->{size} < 1;
            return fmt_err("unknown variant `" . ($v->{distance} // '') . "`, expected one of `Cosine`, "
                           . "`Euclid`, `Dot`, `Manhattan`")
                if ($v->{distance} // '') !~ /^(?:Cosine|Euclid|Dot|Manhattan)$/;
            $st->{cols}{$col} = new_collection($v->{size}, $v->{distance});
            return ok_body(JSON::PP::true);
        }
        return _not_found($col) unless $c;
        if ($m eq 'DELETE') {
            delete $st->{cols}{$col};
            return ok_body(JSON::PP::true);
        }
        if ($m eq 'GET') {
            return ok_body({ status => 'green', optimizer_status => 'ok', segments_count => 1,
                points_count => scalar @{ $c->{order} }, indexed_vectors_count => 0,
                config => { params => { vectors => { size => $c->{size}, distance => $c->{distance} },
                                        shard_number => 1, replication_factor => 1,
                                        write_consistency_factor => 1, on_disk_payload => JSON::PP::true } },
                payload_schema => $c->{payload_schema} });
        }
        return { status => 405, body => '' };
    }
    if ($rest eq '/exists' && $m eq 'GET') {
        return ok_body({ exists => $c ? JSON::PP::true : JSON::PP::false });
    }
    return _not_found($col) unless $c;
    my ($qb, $e);
    if ($m ne 'GET') {
        ($qb, $e) = _body($req);
        return $e if $e;
    }
    my $opres = sub {
        my $wait = ($req->{query} // '') =~ /(?:^|&)wait=true(?:&|$)/;
        return ok_body({ operation_id => ++$st->{op}, status => $wait ? 'completed' : 'acknowledged' });
    };
    if ($rest eq '/index' && $m eq 'PUT') {
        return fmt_err('missing field `field_name`') unless defined $qb->{field_name} && !ref $qb->{field_name};
        my $s = $qb->{field_schema};
        my $t = ref $s eq 'HASH' ? $s->{type} : $s;
        return fmt_err("unknown variant `" . ($t // 'null') . "`, expected one of `keyword`, `integer`, "
                       . "`float`, `geo`, `text`, `bool`, `datetime`, `uuid`")
            if !defined $t || $t !~ /^(?:keyword|integer|float|geo|text|bool|datetime|uuid)$/;
        $c->{payload_schema}{ $qb->{field_name} } = { data_type => $t, points => scalar @{ $c->{order} } };
        return $opres->();
    }
    if ($rest eq '/points' && $m eq 'PUT') {
        my @pts;
        if (ref $qb->{points} eq 'ARRAY') {
            @pts = @{ $qb->{points} };
        } elsif (ref $qb->{batch} eq 'HASH') {
            my $bt = $qb->{batch};
            my @ids = @{ $bt->{ids} || [] };
            @pts = map { { id => $ids[$_], vector => ($bt->{vectors} || [])->[$_],
                           payload => ($bt->{payloads} || [])->[$_] } } 0 .. $#ids;
        } else {
            return fmt_err('data did not match any variant of untagged enum PointInsertOperations');
        }
        for my $pt (@pts) {
            return fmt_err('data did not match any variant of untagged enum ExtendedPointId')
                unless _valid_id($pt->{id});
            my $v = $pt->{vector};
            return fmt_err('data did not match any variant of untagged enum VectorStruct')
                if ref $v ne 'ARRAY' || grep { ref $_ || !defined $_ || $_ !~ /^-?[\d.]+(?:[eE][-+]?\d+)?$/ } @$v;
            return q_err(400, "Wrong input: Vector dimension error: expected dim: $c->{size}, got " . scalar(@$v))
                if @$v != $c->{size};
            return fmt_err('invalid type: expected a map for payload')
                if defined $pt->{payload} && ref $pt->{payload} ne 'HASH';
        }
        my $res = $opres->();
        put_point($c, $_->{id}, $_->{vector}, $_->{payload}, $st->{op}) for @pts;
        return $res;
    }
    if ($rest eq '/points/delete' && $m eq 'POST') {
        my @del;
        if (ref $qb->{points} eq 'ARRAY') { @del = map { "$_" } @{ $qb->{points} } }
        elsif (ref $qb->{filter} eq 'HASH') {
            my $err = check_filter($qb->{filter});
            return fmt_err($err) if $err;
            @del = grep { filter_ok($qb->{filter}, $c->{points}{$_}) } @{ $c->{order} };
        } else { return fmt_err('data did not match any variant of untagged enum PointsSelector') }
        my %d = map { $_ => 1 } @del;
        delete $c->{points}{$_} for @del;
        $c->{order} = [ grep { !$d{$_} } @{ $c->{order} } ];
        return $opres->();
    }
    if ($rest eq '/points/count' && $m eq 'POST') {
        my $f = $qb->{filter};
        if (defined $f) { my $err = check_filter($f); return fmt_err($err) if $err }
        my $n = grep { !defined $f || filter_ok($f, $c->{points}{$_}) } @{ $c->{order} };
        return ok_body({ count => $n });
    }
    if ($rest eq '/points/scroll' && $m eq 'POST') {
        my $f = $qb->{filter};
        if (defined $f) { my $err = check_filter($f); return fmt_err($err) if $err }
        my $limit = $qb->{limit} // 10;
        my @ids = sort { _idcmp($a, $b) } grep { !defined $f || filter_ok($f, $c->{points}{$_}) } @{ $c->{order} };
        if (defined $qb->{offset}) { @ids = grep { _idcmp($_, "$qb->{offset}") >= 0 } @ids }
        my $next = @ids > $limit ? $c->{points}{ $ids[$limit] }{id} : undef;
        splice @ids, $limit if @ids > $limit;
        my $wp = exists $qb->{with_payload} ? $qb->{with_payload} : JSON::PP::true;
        return ok_body({ points => [ map { render($c, $c->{points}{$_}, undef, $wp, $qb->{with_vector}) } @ids ],
                         next_page_offset => $next });
    }
    if ($rest eq '/points/query' && $m eq 'POST') {
        my ($res, $err) = query($c, $qb);
        return $err if $err;
        return ok_body({ points => $res });
    }
    if ($rest eq '/points/query/batch' && $m eq 'POST') {
        return fmt_err('missing field `searches`') if ref $qb->{searches} ne 'ARRAY';
        my @out;
        for my $q (@{ $qb->{searches} }) {
            return fmt_err('invalid type: expected struct QueryRequest') if ref $q ne 'HASH';
            my ($res, $err) = query($c, $q);
            return $err if $err;
            push @out, { points => $res };
        }
        return ok_body(\@out);
    }
    return { status => 404, body => '' };
}

sub _valid_id {
    my ($id) = @_;
    return 0 unless defined $id && !ref $id;
    return 1 if $id =~ /^\d+$/ && !JSON::PP::is_bool($id);
    return $id =~ /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
}

sub _idcmp {
    my ($x, $y) = @_;
    my ($nx, $ny) = ($x =~ /^\d+$/, $y =~ /^\d+$/);
    return $nx && $ny ? $x <=> $y : $nx ? -1 : $ny ? 1 : $x cmp $y;
}

sub _num { my $v = shift; return defined $v && !ref $v && $v =~ /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/ }

# -> (points, undef) or (undef, error response)
sub query {
    my ($c, $qb) = @_;
    my $q = $qb->{query};
    my $limit = $qb->{limit} // 10;
    return (undef, fmt_err("invalid type: expected usize for `limit`")) if !_num($limit) || $limit != int $limit || $limit < 0;
    return (undef, q_err(422, 'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]'))
        if $limit < 1;
    my $offset = $qb->{offset} // 0;
    return (undef, fmt_err("invalid type: expected usize for `offset`")) if !_num($offset) || $offset < 0;
    my $thr = $qb->{score_threshold};
    return (undef, fmt_err('invalid type: expected f32 for `score_threshold`')) if defined $thr && !_num($thr);
    if (defined $qb->{using} && $qb->{using} ne '') {
        return (undef, q_err(400, "Wrong input: Not existing vector name error: $qb->{using}"));
    }
    my $f = $qb->{filter};
    if (defined $f) {
        my $err = check_filter($f);
        return (undef, fmt_err($err)) if $err;
    }
    my ($vec, $exclude);
    if (ref $q eq 'HASH' && exists $q->{nearest}) { $q = $q->{nearest} }
    if (defined $q && !ref $q) {
        return (undef, fmt_err('data did not match any variant of untagged enum QueryInterface'))
            unless _valid_id($q);
        my $pt = $c->{points}{"$q"} or return (undef, q_err(404, "Not found: No point with id $q found"));
        ($vec, $exclude) = ($pt->{vector}, "$q");
    } elsif (ref $q eq 'ARRAY') {
        return (undef, fmt_err('data did not match any variant of untagged enum QueryInterface'))
            if !@$q || grep { !_num($_) } @$q;
        return (undef, q_err(400, "Wrong input: Vector dimension error: expected dim: $c->{size}, got "
                              . scalar(@$q))) if @$q != $c->{size};
        $vec = $c->{distance} eq 'Cosine' ? _norm($q) : $q;
    } elsif (defined $q) {
        return (undef, fmt_err('data did not match any variant of untagged enum QueryInterface'));
    }
    my $dist = $c->{distance};
    my $desc = $dist eq 'Cosine' || $dist eq 'Dot';
    my @hits;
    for my $key (@{ $c->{order} }) {
        next if defined $exclude && $key eq $exclude;
        my $pt = $c->{points}{$key};
        next if defined $f && !filter_ok($f, $pt);
        my $s = 0;
        if ($vec) {
            my $v = $pt->{vector};
            if ($desc) { $s += $vec->[$_] * $v->[$_] for 0 .. $#$v }
            elsif ($dist eq 'Euclid') { $s += ($vec->[$_] - $v->[$_]) ** 2 for 0 .. $#$v; $s = sqrt $s }
            else { $s += abs($vec->[$_] - $v->[$_]) for 0 .. $#$v }
            $s = 0 + sprintf('%.6f', $s);
            next if defined $thr && ($desc ? $s < $thr : $s > $thr);
        }
        push @hits, [$pt, $s];
    }
    if ($vec) {
        @hits = sort { ($desc ? $b->[1] <=> $a->[1] : $a->[1] <=> $b->[1]) || _idcmp("$a->[0]{id}", "$b->[0]{id}") } @hits;
    } else {
        @hits = sort { _idcmp("$a->[0]{id}", "$b->[0]{id}") } @hits;
    }
    splice @hits, 0, $offset;
    splice @hits, $limit if @hits > $limit;
    return ([ map { render($c, $_->[0], $_->[1], $qb->{with_payload}, $qb->{with_vector}) } @hits ], undef);
}

sub render {
    my ($c, $pt, $score, $wp, $wv) = @_;
    my %r = (id => $pt->{id}, version => $pt->{version});
    $r{score} = $score if defined $score;
    my $pl = $pt->{payload};
    if (defined $wp && !(JSON::PP::is_bool($wp) && !$wp)) {
        if (JSON::PP::is_bool($wp) || (!ref $wp && $wp)) { $r{payload} = $pl }
        elsif (ref $wp eq 'ARRAY') { $r{payload} = { map { exists $pl->{$_} ? ($_ => $pl->{$_}) : () } @$wp } }
        elsif (ref $wp eq 'HASH' && $wp->{include}) {
            $r{payload} = { map { exists $pl->{$_} ? ($_ => $pl->{$_}) : () } @{ $wp->{include} } };
        } elsif (ref $wp eq 'HASH' && $wp->{exclude}) {
            my %x = map { $_ => 1 } @{ $wp->{exclude} };
            $r{payload} = { map { $x{$_} ? () : ($_ => $pl->{$_}) } keys %$pl };
        }
    }
    $r{vector} = $pt->{vector} if $wv && !(JSON::PP::is_bool($wv) && !$wv);
    return \%r;
}

# ---------------------------------------------------------------------------
# filters

my %FILTER_KEYS = map { $_ => 1 } qw(must should must_not min_should);
my %COND_KEYS = map { $_ => 1 } qw(key match range is_empty is_null has_id nested values_count
                                   geo_bounding_box geo_radius geo_polygon datetime_range has_vector);

# -> undef or an error text (Qdrant rejects unknown keys: additionalProperties false)
sub check_filter {
    my ($f) = @_;
    return 'invalid type: expected struct Filter' if ref $f ne 'HASH';
    for my $k (sort keys %$f) {
        return "unknown field `$k`, expected one of `should`, `min_should`, `must`, `must_not`"
            unless $FILTER_KEYS{$k};
        my $v = $f->{$k};
        next unless defined $v;
        if ($k eq 'min_should') {
            return 'invalid type: expected struct MinShould' if ref $v ne 'HASH' || ref $v->{conditions} ne 'ARRAY';
            for (@{ $v->{conditions} }) { my $e = check_cond($_); return $e if $e }
            next;
        }
        for my $c (ref $v eq 'ARRAY' ? @$v : ($v)) {
            my $e = check_cond($c);
            return $e if $e;
        }
    }
    return undef;
}

sub check_cond {
    my ($c) = @_;
    return 'data did not match any variant of untagged enum Condition' if ref $c ne 'HASH';
    if (grep { $FILTER_KEYS{$_} } keys %$c) {
        return check_filter($c);
    }
    for my $k (keys %$c) {
        return 'data did not match any variant of untagged enum Condition' unless $COND_KEYS{$k};
    }
    if (exists $c->{match}) {
        my $m = $c->{match};
        return 'data did not match any variant of untagged enum Condition' if !defined $c->{key};
        return 'data did not match any variant of untagged enum Match'
            if ref $m ne 'HASH' || keys %$m != 1
               || !grep { exists $m->{$_} } qw(value any except text phrase text_any);
        if (exists $m->{value}) {
            return 'data did not match any variant of untagged enum Match' if ref $m->{value} && !JSON::PP::is_bool($m->{value}) || !defined $m->{value};
        }
        if (exists $m->{any} || exists $m->{except}) {
            return 'data did not match any variant of untagged enum Match'
                if ref(($m->{any} // $m->{except})) ne 'ARRAY';
        }
        return undef;
    }
    if (exists $c->{range}) {
        return 'data did not match any variant of untagged enum Condition'
            if !defined $c->{key} || ref $c->{range} ne 'HASH'
               || grep { !/^(?:gt|gte|lt|lte)$/ } keys %{ $c->{range} };
        return undef;
    }
    if (exists $c->{nested}) {
        my $n = $c->{nested};
        return 'data did not match any variant of untagged enum Condition'
            if ref $n ne 'HASH' || !defined $n->{key} || ref $n->{filter} ne 'HASH';
        return check_filter($n->{filter});
    }
    return undef if exists $c->{is_empty} || exists $c->{is_null} || exists $c->{has_id}
                  || exists $c->{values_count} || exists $c->{has_vector};
    return 'data did not match any variant of untagged enum Condition';
}

# values at a payload path ("a.b", "a[].b"); arrays are flattened
sub values_at {
    my ($obj, $key) = @_;
    my @cur = ($obj);
    for my $part (split /\./, $key) {
        my $flat = $part =~ s/\[\]$//;
        @cur = map { ref $_ eq 'HASH' && exists $_->{$part} ? ($_->{$part}) : () } @cur;
        @cur = map { ref $_ eq 'ARRAY' ? @$_ : ($_) } @cur if $flat;
    }
    return map { ref $_ eq 'ARRAY' ? @$_ : ($_) } @cur;
}

sub _eq {
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y;
    my ($bx, $by) = (JSON::PP::is_bool($x), JSON::PP::is_bool($y));
    return ($x ? 1 : 0) == ($y ? 1 : 0) if $bx && $by;
    return 0 if $bx || $by || ref $x || ref $y;
    my ($nx, $ny) = (_num_json($x), _num_json($y));
    return $nx && $ny ? $x == $y : !$nx && !$ny ? $x eq $y : 0;
}

# JSON::PP gives numbers as numbers: a number-looking Perl scalar that was a
# JSON string must not equal a number
sub _num_json {
    my ($v) = @_;
    return 0 if ref $v;
    return (B::svref_2object(\$_[0])->FLAGS & (B::SVp_IOK() | B::SVp_NOK())) ? 1 : 0;
}

sub cond_ok {
    my ($c, $pt) = @_;
    return filter_ok($c, $pt) if grep { $FILTER_KEYS{$_} } keys %$c;
    my $pl = $pt->{payload} || {};
    if (exists $c->{has_id}) {
        my %ids = map { ("$_" => 1) } @{ $c->{has_id} || [] };
        return $ids{"$pt->{id}"} ? 1 : 0;
    }
    if (exists $c->{is_empty}) {
        my @v = grep { defined } values_at($pl, $c->{is_empty}{key});
        return @v ? 0 : 1;
    }
    if (exists $c->{is_null}) {
        my @cur = ($pl);
        my $k = $c->{is_null}{key};
        for my $part (split /\./, $k) { @cur = map { ref $_ eq 'HASH' && exists $_->{$part} ? ($_->{$part}) : ('__absent__') } @cur }
        return (grep { !defined } @cur) ? 1 : 0;
    }
    if (exists $c->{values_count}) {
        my $n = () = values_at($pl, $c->{key});
        my $r = $c->{values_count};
        return 0 if defined $r->{gt} && !($n > $r->{gt});
        return 0 if defined $r->{gte} && !($n >= $r->{gte});
        return 0 if defined $r->{lt} && !($n < $r->{lt});
        return 0 if defined $r->{lte} && !($n <= $r->{lte});
        return 1;
    }
    if (exists $c->{nested}) {
        my $n = $c->{nested};
        for my $el (values_at($pl, $n->{key})) {
            return 1 if ref $el eq 'HASH' && filter_ok($n->{filter}, { id => $pt->{id}, payload => $el });
        }
        return 0;
    }
    my @vals = values_at($pl, $c->{key});
    if (my $m = $c->{match}) {
        if (exists $m->{value}) { return (grep { _eq($_, $m->{value}) } @vals) ? 1 : 0 }
        if (exists $m->{any}) {
            for my $v (@vals) { return 1 if grep { _eq($v, $_) } @{ $m->{any} } }
            return 0;
        }
        if (exists $m->{except}) {
            for my $v (@vals) { return 1 if !grep { _eq($v, $_) } @{ $m->{except} } }
            return @vals ? 0 : 1;
        }
        my @s = map { lc } grep { defined && !ref } @vals;
        if (exists $m->{phrase}) { my $p = lc $m->{phrase}; return (grep { index($_, $p) >= 0 } @s) ? 1 : 0 }
        my @words = grep { length } split /\W+/, lc($m->{text} // $m->{text_any} // '');
        for my $s (@s) {
            my %have = map { $_ => 1 } split /\W+/, $s;
            if (exists $m->{text}) { return 1 if @words && !grep { !$have{$_} } @words }
            else { return 1 if grep { $have{$_} } @words }
        }
        return 0;
    }
    if (my $r = $c->{range}) {
        for my $v (@vals) {
            next unless defined $v && !ref $v;
            my $cmp = sub { my ($x, $y) = @_; _num($x) && _num($y) ? $x <=> $y : $x cmp $y };
            next if defined $r->{gt} && !($cmp->($v, $r->{gt}) > 0);
            next if defined $r->{gte} && !($cmp->($v, $r->{gte}) >= 0);
            next if defined $r->{lt} && !($cmp->($v, $r->{lt}) < 0);
            next if defined $r->{lte} && !($cmp->($v, $r->{lte}) <= 0);
            return 1;
        }
        return 0;
    }
    return 0;
}

sub filter_ok {
    my ($f, $pt) = @_;
    my $list = sub { my $v = shift; return () unless defined $v; return ref $v eq 'ARRAY' ? @$v : ($v) };
    for my $c ($list->($f->{must})) { return 0 unless cond_ok($c, $pt) }
    for my $c ($list->($f->{must_not})) { return 0 if cond_ok($c, $pt) }
    my @should = $list->($f->{should});
    if (@should) { return 0 unless grep { cond_ok($_, $pt) } @should }
    if (my $ms = $f->{min_should}) {
        my $n = grep { cond_ok($_, $pt) } @{ $ms->{conditions} || [] };
        return 0 if $n < ($ms->{min_count} // 1);
    }
    return 1;
}

1;
