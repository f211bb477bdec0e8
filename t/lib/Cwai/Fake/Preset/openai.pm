package Cwai::Fake::Preset::openai;

# Fake OpenAI (Chat Completions with tools, Embeddings) with a deterministic
# model.  Declared with "--- fake" / "openai", or with options:
#
#   { openai => { options => {
#         api_key     => 'sk-test',      # require "Authorization: Bearer sk-test"
#         dimensions  => 8,              # embeddings when the request has none
#         models      => ['gpt-4.1-mini', 'text-embedding-3-small'],  # else any
#         model_name  => 'gpt-4.1-mini-2025-04-14',   # reported model (default: as asked)
#         flavor      => 'openai',       # or 'llamacpp' (integer error codes, no details)
#         context_tokens   => 1047576,   # prompt + cap above this: 400 context_length_exceeded
#         cache_min_tokens => 0, cache_step => 1,     # prompt-cache emulation
#         reject_max_tokens => 0,        # 1: o-series style 400 on "max_tokens"
#         reject_temperature => 0,       # 1: 400 on a non-default temperature
#         answers => [ qr/horário de funcionamento/ => 'Abrimos às 9h.' ],  # canned texts
#         year => 2026,                  # year of "dd/mm" dates
#         script => { chat => ['rate_limit', 'pass'], embeddings => ['503'] },
#     } } }
#
# Named failures for "script": rate_limit (429 + the fixture's retry-after and
# x-ratelimit headers), insufficient_quota (429), overloaded (503),
# server_error (500), context_length (400), invalid_key (401), llamacpp (400,
# llama.cpp shape), and the generic ones of Cwai::Fake::Proto (hang, reset,
# malformed, empty, oversized, html).  The rules of the model are in
# t/README.md ("The fake model").

use strict;
use warnings;
use utf8;

use Cwai::Fake ();
use Cwai::Fake::Proto qw(json_decode json_encode norm_text words embed embed_tokens
                         money_br script_step apply_script);
use JSON::PP ();
use Digest::MD5 qw(md5_hex);
use MIME::Base64 ();
use Encode ();

my $CHARS = JSON::PP->new->allow_nonref;      # decodes character strings
my $BASE_CREATED = 1764072000;

our %ERRORS = (
    rate_limit => { status => 429, head_file => 'openai/error-429-rate-limit.headers',
                    file => 'openai/error-429-rate-limit.json' },
    insufficient_quota => { status => 429, file => 'openai/error-429-insufficient-quota.json',
                            headers => { 'x-request-id' => 'req_quota' } },
    overloaded => { status => 503, file => 'openai/error-503-overloaded.json' },
    context_length => { status => 400, file => 'openai/error-400-context-length.json' },
    invalid_key => { status => 401, file => 'openai/error-401-invalid-key.json' },
    llamacpp => { status => 400, file => 'openai/error-llamacpp-400.json' },
    server_error => { status => 500, json => { error => {
        message => 'The server had an error while processing your request. Sorry about that!',
        type => 'server_error', param => undef, code => undef } } },
);

Cwai::Fake::preset(openai => sub {
    my %o = @_;
    my $st = { n => 0, counters => {}, prefixes => {} };
    return { routes => { '* /*' => sub { dispatch($_[0], \%o, $st) } } };
});

sub _copy { my $r = shift; return { %$r, ($r->{headers} ? (headers => { %{ $r->{headers} } }) : ()) } }

sub err {
    my ($o, $status, $message, $type, $param, $code) = @_;
    if (($o->{flavor} // '') eq 'llamacpp') {
        return { status => $status, json => { error => {
            code => $status, message => $message, type => $type } } };
    }
    return { status => $status, json => { error => {
        message => $message, type => $type, param => $param, code => $code } } };
}

sub invalid {
    my ($o, $message, $param, $code) = @_;
    return err($o, 400, $message, 'invalid_request_error', $param, $code);
}

sub dispatch {
    my ($req, $o, $st) = @_;
    my $prefix = $o->{prefix} // '/v1';
    my $m = uc $req->{method};
    my $p = $req->{path};
    my $ep = $m eq 'POST' && $p eq "$prefix/chat/completions" ? 'chat'
           : $m eq 'POST' && $p eq "$prefix/embeddings"       ? 'embeddings'
           : $m eq 'GET'  && $p eq "$prefix/models"           ? 'models'
           : undef;
    my $real = sub {
        return err($o, 404, "Invalid URL ($m $p)", 'invalid_request_error', undef, undef)
            unless $ep;
        if (defined(my $key = $o->{api_key})) {
            my $auth = $req->{headers}{authorization};
            if (!defined $auth || $auth !~ /^Bearer\s+(\S+)\s*$/) {
                return err($o, 401, "You didn't provide an API key. You need to provide your API key "
                    . "in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                    . "or as the password field (with blank username) if you're accessing the API from "
                    . "your browser and are prompted for a username. You can obtain an API key from "
                    . "https://platform.openai.com/account/api-keys.",
                    'invalid_request_error', undef, undef);
            }
            if ($1 ne $key) {
                my $k = $1;
                my $mask = length $k > 8 ? substr($k, 0, 3) . ('*' x (length($k) - 7)) . substr($k, -4)
                                         : '*' x length $k;
                return err($o, 401, "Incorrect API key provided: $mask. You can find your API key at "
                    . "https://platform.openai.com/account/api-keys.",
                    'invalid_request_error', undef, 'invalid_api_key');
            }
        }
        return models($o) if $ep eq 'models';
        my ($b, $jerr) = json_decode($req->{body});
        if ($jerr || ref $b ne 'HASH') {
            return invalid($o, "We could not parse the JSON body of your request. (HINT: This likely "
                . "means you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                . "payload, but what was sent was not valid JSON. If you have trouble figuring out how "
                . "to fix this, please contact us through our help center at help.openai.com.)",
                undef, undef);
        }
        return $ep eq 'chat' ? chat($b, $o, $st) : embeddings($b, $o);
    };
    my $item = script_step($o->{script}, $st->{counters}, $ep // 'other');
    my $resp = apply_script(
        item => $item, req => $req, real => $real,
        named => sub { $ERRORS{ $_[0] } ? _copy($ERRORS{ $_[0] }) : undef },
        status => sub {
            my $s = shift;
            return err($o, $s, $s >= 500 ? 'The server had an error while processing your request. '
                . 'Sorry about that!' : "HTTP $s", $s >= 500 ? 'server_error' : 'invalid_request_error',
                undef, undef);
        },
    );
    $resp->{headers}{'x-request-id'} //= sprintf('req_%032x', ++$st->{rid})
        if ref $resp eq 'HASH' && !$resp->{raw} && !$resp->{hang} && !$resp->{reset}
           && !$resp->{head_file};
    return $resp;
}

sub models {
    my ($o) = @_;
    my @m = @{ $o->{models} || ['gpt-4.1-mini', 'text-embedding-3-small'] };
    return { json => { object => 'list', data => [ map {
        { id => $_, object => 'model', created => $BASE_CREATED, owned_by => 'system' } } @m ] } };
}

sub _known_model {
    my ($o, $model) = @_;
    return 1 unless $o->{models};
    return scalar grep { $_ eq $model } @{ $o->{models} };
}

sub _model_404 {
    my ($o, $model) = @_;
    return err($o, 404, "The model `$model` does not exist or you do not have access to it.",
               'invalid_request_error', undef, 'model_not_found');
}

# ---------------------------------------------------------------------------
# embeddings

sub embeddings {
    my ($b, $o) = @_;
    my $model = $b->{model};
    return invalid($o, 'you must provide a model parameter', undef, undef)
        if !defined $model || ref $model || $model eq '';
    return _model_404($o, $model) unless _known_model($o, $model);
    return invalid($o, "Missing required parameter: 'input'.", 'input', 'missing_required_parameter')
        unless exists $b->{input};
    for my $k (sort keys %$b) {
        next if $k =~ /^(?:model|input|dimensions|encoding_format|user)$/;
        return invalid($o, "Unrecognized request argument supplied: $k", undef, undef);
    }
    my $in = $b->{input};
    my $bad = invalid($o, "'\$.input' is invalid. Please check the API reference: "
        . "https://platform.openai.com/docs/api-reference.", undef, undef);
    my @items;
    if (!ref $in) {
        return $bad if !defined $in || $in eq '';
        @items = ($in);
    } elsif (ref $in eq 'ARRAY') {
        return $bad if !@$in || @$in > 2048;
        if (!grep { ref $_ || !defined $_ || $_ !~ /^\d+$/ } @$in) {
            @items = ([@$in]);                     # one token array
        } else {
            for my $x (@$in) {
                if (ref $x eq 'ARRAY') {
                    return $bad if !@$x || grep { ref $_ || !defined $_ || $_ !~ /^\d+$/ } @$x;
                } elsif (ref $x || !defined $x || $x eq '') {
                    return $bad;
                }
                push @items, $x;
            }
        }
    } else {
        return $bad;
    }
    my $dim = $o->{dimensions} || 8;
    if (exists $b->{dimensions}) {
        my $d = $b->{dimensions};
        return invalid($o, 'This model does not support specifying dimensions.', undef, undef)
            if $model !~ /^text-embedding-3/ && !$o->{any_dimensions};
        return invalid($o, "Invalid value for 'dimensions' = " . ($d // 'null')
            . ". Must be greater or equal to 1.", 'dimensions', 'invalid_value')
            if !defined $d || ref $d || $d !~ /^\d+$/ || $d < 1 || $d > 3072;
        $dim = $d;
    }
    my $fmt = $b->{encoding_format} // 'float';
    return invalid($o, "Invalid value for 'encoding_format' = $fmt. Supported values are: "
        . "'float' and 'base64'.", 'encoding_format', 'invalid_value')
        if ref $fmt || ($fmt ne 'float' && $fmt ne 'base64');

    my ($tokens, @data) = (0);
    for my $i (0 .. $#items) {
        my $x = $items[$i];
        my $v = ref $x ? embed_tokens($x, $dim) : embed($x, $dim);
        $tokens += ref $x ? scalar @$x : _tokens(Encode::encode('UTF-8', $x));
        push @data, { object => 'embedding', index => $i,
                      embedding => $fmt eq 'base64'
                          ? MIME::Base64::encode_base64(pack('f<*', @$v), '') : $v };
    }
    return { json => { object => 'list', data => \@data, model => $o->{model_name} // $model,
                       usage => { prompt_tokens => $tokens, total_tokens => $tokens } } };
}

sub _tokens { my $n = length shift; return int(($n + 3) / 4) }

# ---------------------------------------------------------------------------
# chat completions: validation

my %CHAT_PARAMS = map { $_ => 1 } qw(
    model messages tools tool_choice parallel_tool_calls temperature top_p n stream
    stream_options stop max_tokens max_completion_tokens presence_penalty
    frequency_penalty logit_bias logprobs top_logprobs response_format seed user
    safety_identifier prompt_cache_key prompt_cache_retention store metadata
    service_tier reasoning_effort modalities audio prediction web_search_options
    verbosity functions function_call
);

sub _is_text_content {
    my ($c, $allowed) = @_;
    return 'string' if defined $c && !ref $c;
    return undef unless ref $c eq 'ARRAY';
    return 'parts';
}

sub validate_chat {
    my ($b, $o) = @_;
    my $model = $b->{model};
    return invalid($o, 'you must provide a model parameter', undef, undef)
        if !defined $model || ref $model || $model eq '';
    for my $k (sort keys %$b) {
        return invalid($o, "Unrecognized request argument supplied: $k", undef, undef)
            unless $CHAT_PARAMS{$k};
    }
    return invalid($o, "Missing required parameter: 'messages'.", 'messages',
                   'missing_required_parameter') unless exists $b->{messages};
    my $msgs = $b->{messages};
    return invalid($o, "Invalid type for 'messages': expected an array, but got "
                   . _type($msgs) . " instead.", 'messages', 'invalid_type')
        if ref $msgs ne 'ARRAY';
    return invalid($o, "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                   . "but got an empty array instead.", 'messages', 'empty_array') unless @$msgs;

    my %pending;        # tool_call_id => index of its assistant message
    my $pending_at;
    for my $i (0 .. $#$msgs) {
        my $m = $msgs->[$i];
        my $at = "messages[$i]";
        return invalid($o, "Invalid type for '$at': expected an object, but got " . _type($m)
                       . " instead.", $at, 'invalid_type') if ref $m ne 'HASH';
        my $role = $m->{role};
        return invalid($o, "Missing required parameter: '$at.role'.", "$at.role",
                       'missing_required_parameter') unless defined $role;
        if (!ref $role && $role !~ /^(?:system|developer|user|assistant|tool|function)$/ || ref $role) {
            return invalid($o, "Invalid value: '" . (ref $role ? _type($role) : $role) . "'. Supported values are: 'system', "
                . "'assistant', 'user', 'function', 'tool', and 'developer'.", "$at.role", 'invalid_value');
        }
        if (%pending && $role ne 'tool') {
            return invalid($o, "An assistant message with 'tool_calls' must be followed by tool "
                . "messages responding to each 'tool_call_id'. The following tool_call_ids did not "
                . "have response messages: " . join(', ', sort keys %pending),
                "messages.[$pending_at].role", undef);
        }
        if (defined $m->{name} && (ref $m->{name} || $m->{name} eq '')) {
            return invalid($o, "Invalid type for '$at.name': expected a string, but got "
                           . _type($m->{name}) . " instead.", "$at.name", 'invalid_type');
        }
        my $c = $m->{content};
        if ($role eq 'system' || $role eq 'developer' || $role eq 'user' || $role eq 'tool') {
            return invalid($o, "Missing required parameter: '$at.content'.", "$at.content",
                           'missing_required_parameter') unless exists $m->{content};
            if (!defined $c) {
                return invalid($o, "Invalid value for 'content': expected a string, got null.",
                               "$at.content", undef);
            }
            if (ref $c && ref $c ne 'ARRAY') {
                return invalid($o, "Invalid type for '$at.content': expected one of a string or "
                    . "array of objects, but got " . _type($c) . " instead.", "$at.content", 'invalid_type');
            }
            if (ref $c) {
                my $e = _check_parts($o, $c, "$at.content", $role eq 'user' ? 1 : 0);
                return $e if $e;
            }
        }
        if ($role eq 'assistant') {
            my $tc = $m->{tool_calls};
            if (defined $c && ref $c && ref $c ne 'ARRAY') {
                return invalid($o, "Invalid type for '$at.content': expected one of a string or "
                    . "array of objects, but got " . _type($c) . " instead.", "$at.content", 'invalid_type');
            }
            if (!defined $c && !defined $tc && !defined $m->{function_call} && !defined $m->{refusal}
                && !defined $m->{audio})
            {
                return invalid($o, "Invalid value for 'content': expected a string, got null.",
                               "$at.content", undef);
            }
            if (defined $tc) {
                return invalid($o, "Invalid type for '$at.tool_calls': expected an array, but got "
                    . _type($tc) . " instead.", "$at.tool_calls", 'invalid_type') if ref $tc ne 'ARRAY';
                return invalid($o, "Invalid '$at.tool_calls': empty array. Expected an array with minimum "
                    . "length 1, but got an empty array instead.", "$at.tool_calls", 'empty_array') unless @$tc;
                for my $j (0 .. $#$tc) {
                    my $call = $tc->[$j];
                    my $ct = "$at.tool_calls[$j]";
                    return invalid($o, "Invalid type for '$ct': expected an object, but got "
                        . _type($call) . " instead.", $ct, 'invalid_type') if ref $call ne 'HASH';
                    for my $k (qw(id type function)) {
                        return invalid($o, "Missing required parameter: '$ct.$k'.", "$ct.$k",
                                       'missing_required_parameter') unless defined $call->{$k};
                    }
                    return invalid($o, "Invalid value: '" . (ref $call->{type} ? _type($call->{type}) : $call->{type})
                        . "'. Supported values are: 'function' and 'custom'.", "$ct.type", 'invalid_value')
                        if ref $call->{type} || $call->{type} ne 'function';
                    my $f = $call->{function};
                    return invalid($o, "Invalid type for '$ct.function': expected an object, but got "
                        . _type($f) . " instead.", "$ct.function", 'invalid_type') if ref $f ne 'HASH';
                    for my $k (qw(name arguments)) {
                        return invalid($o, "Missing required parameter: '$ct.function.$k'.",
                            "$ct.function.$k", 'missing_required_parameter') unless defined $f->{$k};
                        return invalid($o, "Invalid type for '$ct.function.$k': expected a string, but "
                            . "got " . _type($f->{$k}) . " instead.", "$ct.function.$k", 'invalid_type')
                            if ref $f->{$k};
                    }
                    return invalid($o, "Invalid type for '$ct.id': expected a string, but got "
                        . _type($call->{id}) . " instead.", "$ct.id", 'invalid_type') if ref $call->{id};
                    $pending{ $call->{id} } = $i;
                }
                $pending_at = $i;
            }
        }
        if ($role eq 'tool') {
            return invalid($o, "Missing required parameter: '$at.tool_call_id'.", "$at.tool_call_id",
                           'missing_required_parameter') unless defined $m->{tool_call_id};
            return invalid($o, "Invalid type for '$at.tool_call_id': expected a string, but got "
                . _type($m->{tool_call_id}) . " instead.", "$at.tool_call_id", 'invalid_type')
                if ref $m->{tool_call_id};
            if (!defined $pending_at || !exists $pending{ $m->{tool_call_id} }) {
                return invalid($o, "Invalid parameter: messages with role 'tool' must be a response to "
                    . "a preceeding message with 'tool_calls'.", "messages.[$i].role", undef);
            }
            delete $pending{ $m->{tool_call_id} };
            undef $pending_at unless %pending;
        }
    }
    if (%pending) {
        return invalid($o, "An assistant message with 'tool_calls' must be followed by tool messages "
            . "responding to each 'tool_call_id'. The following tool_call_ids did not have response "
            . "messages: " . join(', ', sort keys %pending), "messages.[$pending_at].role", undef);
    }

    # tools
    my $tools = $b->{tools};
    if (defined $tools) {
        return invalid($o, "Invalid type for 'tools': expected an array, but got " . _type($tools)
                       . " instead.", 'tools', 'invalid_type') if ref $tools ne 'ARRAY';
        return invalid($o, "Invalid 'tools': empty array. Expected an array with minimum length 1, "
                       . "but got an empty array instead.", 'tools', 'empty_array') unless @$tools;
        my %names;
        for my $i (0 .. $#$tools) {
            my $t = $tools->[$i];
            my $at = "tools[$i]";
            return invalid($o, "Invalid type for '$at': expected an object, but got " . _type($t)
                           . " instead.", $at, 'invalid_type') if ref $t ne 'HASH';
            return invalid($o, "Missing required parameter: '$at.type'.", "$at.type",
                           'missing_required_parameter') unless defined $t->{type};
            return invalid($o, "Invalid value: '" . (ref $t->{type} ? _type($t->{type}) : $t->{type})
                . "'. Supported values are: 'function' and 'custom'.", "$at.type", 'invalid_value')
                if ref $t->{type} || $t->{type} ne 'function';
            my $f = $t->{function};
            return invalid($o, "Missing required parameter: '$at.function'.", "$at.function",
                           'missing_required_parameter') if ref $f ne 'HASH';
            my $name = $f->{name};
            return invalid($o, "Missing required parameter: '$at.function.name'.", "$at.function.name",
                           'missing_required_parameter') unless defined $name && !ref $name;
            return invalid($o, "Invalid '$at.function.name': string does not match pattern. Expected a "
                . "string that matches the pattern '^[a-zA-Z0-9_-]+\$'.", "$at.function.name", 'invalid_value')
                if $name !~ /^[a-zA-Z0-9_-]{1,64}$/;
            return invalid($o, "Invalid 'tools': duplicate function name '$name'.", 'tools', 'invalid_value')
                if $names{$name}++;
            if (defined(my $p = $f->{parameters})) {
                my $e = _check_schema($o, $name, $p, $f->{strict}, "$at.function.parameters");
                return $e if $e;
            }
        }
    }
    my $tc = $b->{tool_choice};
    if (defined $tc) {
        return invalid($o, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                       . "'tools' are specified.", 'tool_choice', undef) unless $tools;
        if (ref $tc eq 'HASH') {
            my $n = ref $tc->{function} eq 'HASH' ? $tc->{function}{name} : undef;
            return invalid($o, "Missing required parameter: 'tool_choice.function'.", 'tool_choice.function',
                           'missing_required_parameter') unless defined $n && ($tc->{type} // '') eq 'function';
            return invalid($o, "Invalid value for 'tool_choice': function '$n' not found in 'tools'.",
                           'tool_choice', undef)
                unless grep { ($_->{function}{name} // '') eq $n } @$tools;
        } elsif (ref $tc || $tc !~ /^(?:none|auto|required)$/) {
            return invalid($o, "Invalid value: '" . (ref $tc ? _type($tc) : $tc) . "'. Supported values "
                . "are: 'none', 'auto', and 'required'.", 'tool_choice', 'invalid_value');
        }
    }
    if (defined $b->{parallel_tool_calls}) {
        return invalid($o, "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only "
                       . "allowed when 'tools' are specified.", 'parallel_tool_calls', undef) unless $tools;
        return invalid($o, "Invalid type for 'parallel_tool_calls': expected a boolean, but got "
            . _type($b->{parallel_tool_calls}) . " instead.", 'parallel_tool_calls', 'invalid_type')
            unless JSON::PP::is_bool($b->{parallel_tool_calls});
    }
    if (defined(my $t = $b->{temperature})) {
        return invalid($o, "Invalid type for 'temperature': expected a decimal, but got " . _type($t)
                       . " instead.", 'temperature', 'invalid_type') if ref $t || $t !~ /^-?[\d.eE+-]+$/;
        return invalid($o, "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, "
                       . "but got $t instead.", 'temperature', 'decimal_above_max_value') if $t > 2;
        return invalid($o, "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, "
                       . "but got $t instead.", 'temperature', 'decimal_below_min_value') if $t < 0;
        return invalid($o, "Unsupported value: 'temperature' does not support $t with this model. Only "
                       . "the default (1) value is supported.", 'temperature', 'unsupported_value')
            if $o->{reject_temperature} && $t != 1;
    }
    for my $k (qw(max_tokens max_completion_tokens n)) {
        next unless defined(my $v = $b->{$k});
        return invalid($o, "Invalid type for '$k': expected an integer, but got " . _type($v)
                       . " instead.", $k, 'invalid_type') if ref $v || $v !~ /^-?\d+$/;
        return invalid($o, "Invalid '$k': integer below minimum value. Expected a value >= 1, but got "
                       . "$v instead.", $k, 'integer_below_min_value') if $v < 1;
    }
    return invalid($o, "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                   . "'max_completion_tokens' instead.", 'max_tokens', 'unsupported_parameter')
        if $o->{reject_max_tokens} && defined $b->{max_tokens};
    if (defined $b->{stream_options} && !($b->{stream} && JSON::PP::is_bool($b->{stream}))) {
        return invalid($o, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                       'stream_options', undef);
    }
    if (defined(my $rf = $b->{response_format})) {
        my $t = ref $rf eq 'HASH' ? $rf->{type} : undef;
        return invalid($o, "Invalid value: '" . ($t // 'null') . "'. Supported values are: "
            . "'json_object', 'json_schema', and 'text'.", 'response_format.type', 'invalid_value')
            if !defined $t || ref $t || $t !~ /^(?:text|json_object|json_schema)$/;
        if ($t eq 'json_object' && !grep { _text_of($_->{content}) =~ /json/i } @$msgs) {
            return invalid($o, "'messages' must contain the word 'json' in some form, to use "
                           . "'response_format' of type 'json_object'.", 'messages', undef);
        }
        if ($t eq 'json_schema' && (ref $rf->{json_schema} ne 'HASH' || !defined $rf->{json_schema}{name})) {
            return invalid($o, "Missing required parameter: 'response_format.json_schema'.",
                           'response_format.json_schema', 'missing_required_parameter');
        }
    }
    return _model_404($o, $model) unless _known_model($o, $model);
    return undef;
}

sub _check_parts {
    my ($o, $parts, $at, $user) = @_;
    return invalid($o, "Invalid '$at': empty array. Expected an array with minimum length 1, but got "
                   . "an empty array instead.", $at, 'empty_array') unless @$parts;
    for my $j (0 .. $#$parts) {
        my $p = $parts->[$j];
        my $t = ref $p eq 'HASH' ? $p->{type} : undef;
        my @ok = $user ? qw(text image_url input_audio file) : qw(text);
        if (!defined $t || ref $t || !grep { $_ eq $t } @ok) {
            return invalid($o, "Invalid value: '" . ($t // 'null') . "'. Supported values are: "
                . join(', ', map { "'$_'" } @ok) . ".", "$at\[$j].type", 'invalid_value');
        }
        if ($t eq 'text' && (!defined $p->{text} || ref $p->{text})) {
            return invalid($o, "Missing required parameter: '$at\[$j].text'.", "$at\[$j].text",
                           'missing_required_parameter');
        }
    }
    return undef;
}

sub _check_schema {
    my ($o, $name, $s, $strict, $at) = @_;
    return invalid($o, "Invalid schema for function '$name': schema must be a JSON Schema of "
        . "'type: \"object\"', got 'type: \"" . (ref $s eq 'HASH' ? ($s->{type} // 'None') : _type($s))
        . "\"'.", $at, 'invalid_function_parameters')
        if ref $s ne 'HASH' || (defined $s->{type} && $s->{type} ne 'object')
           || (!defined $s->{type} && %$s);
    return undef unless $strict && JSON::PP::is_bool($strict) && $strict;
    my $walk;
    $walk = sub {
        my ($node, @ctx) = @_;
        return undef unless ref $node eq 'HASH';
        my $ctx = '(' . join(', ', map { "'$_'" } @ctx) . (@ctx == 1 ? ',' : '') . ')';
        my @types = ref $node->{type} eq 'ARRAY' ? @{ $node->{type} } : ($node->{type} // ());
        if (grep { $_ eq 'object' } @types) {
            my $props = $node->{properties} || {};
            if (!exists $node->{additionalProperties} || !JSON::PP::is_bool($node->{additionalProperties})
                || $node->{additionalProperties})
            {
                return "In context=$ctx, 'additionalProperties' is required to be supplied and to be false.";
            }
            my %req = map { $_ => 1 } @{ ref $node->{required} eq 'ARRAY' ? $node->{required} : [] };
            my @missing = grep { !$req{$_} } sort keys %$props;
            if (@missing) {
                return "In context=$ctx, 'required' is required to be supplied and to be an array "
                    . "including every key in properties. Missing '$missing[0]'.";
            }
            for my $k (sort keys %$props) {
                my $e = $walk->($props->{$k}, @ctx, 'properties', $k);
                return $e if $e;
            }
        }
        if (grep { $_ eq 'array' } @types) {
            my $e = $walk->($node->{items}, @ctx, 'items');
            return $e if $e;
        }
        return undef;
    };
    my $e = $walk->($s);
    return $e ? invalid($o, "Invalid schema for function '$name': $e", $at, 'invalid_function_parameters')
              : undef;
}

sub _type {
    my ($v) = @_;
    return 'null' unless defined $v;
    return 'a boolean' if JSON::PP::is_bool($v);
    return 'an array' if ref $v eq 'ARRAY';
    return 'an object' if ref $v eq 'HASH';
    return $v =~ /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/ ? 'a number' : 'a string';
}

sub _text_of {
    my ($c) = @_;
    return '' unless defined $c;
    return $c unless ref $c;
    return join "\n", map { $_->{text} // '' } grep { ref $_ eq 'HASH' && ($_->{type} // '') eq 'text' }
        @{ ref $c eq 'ARRAY' ? $c : [] };
}

# ---------------------------------------------------------------------------
# the deterministic model

my $RE_INJECT = qr/\b(?:(?:ignor\w*|esquec\w*|desconsider\w*|desobedec\w*) (?:\S+ ){0,3}(?:instruc\w*|regras)|ignore (?:all |the |your |any )?(?:previous |prior |above )?instructions|system prompt|prompt do sistema|modo (?:desenvolvedor|dev|deus)\b|developer mode|jailbreak|finja que|voce agora e|a partir de agora voce|aja como se)/;
my $RE_DEMAND = qr/\b(?:me da|me de|me dar|me daria|quero|exijo|aplica|aplique|conceda|concede|libera|libere|preciso de|da um|de um|manda|faz|faca|give me)\b/;
my $RE_HUMAN = qr/\b(?:atendente|atendentes|humano|humana|pessoa|gerente|supervisor\w*|falar com alguem|alguem de verdade|real person|human|operador\w*)\b/;
my $RE_MEDICAL = qr/\b(?:alergi\w*|alergic\w*|reacao|reacoes|irritac\w*|irritou|irritada|queimou|queimad\w*|ardend\w*|ardencia|coceira|inchad\w*|inchou|bolhas)\b/;
my $RE_LEGAL = qr/\b(?:procon|reclame aqui|advogad\w*|processar|processo judicial|justica)\b/;
my $RE_ORDER = qr/\b(?:pedido|pedidos|entrega|entregue|entregar|rastreio|rastreamento|rastrear|encomenda|chegou|chegar|despachad\w*|enviad[oa])\b/;
my $RE_BOOK = qr/\b(?:agendar|agendamento|agenda|horario|horarios|marcar|marca|remarcar|reservar|reserva|vaga|vagas)\b/;
my $RE_NOT_BOOK = qr/\b(?:funcionamento|abre|abrem|fecha|fecham|aberto|aberta|abertos)\b/;
my $RE_PRICE = qr/\b(?:quanto (?:custa|custam|e|sai|fica|ta|esta)|preco|precos|valor|valores|custa|custam|custo|estoque|disponivel|disponiveis|tem o|tem a|tem os|tem as|voces tem|vcs tem|vende|vendem|how much|price)\b/;
my $RE_GREETING = qr/^(?:oi+e*|ola|opa|bom dia|boa tarde|boa noite|hello|hi|hey|hola|e ai|eai|buenas)\b/;
my %TOPICS = (
    frete     => qr/\b(?:frete|fretes|envio|enviam|cep|transportadora|sedex|correios)\b/,
    trocas    => qr/\b(?:troca|trocas|trocar|devoluc\w*|devolver|arrependimento|reembolso|estorno)\b/,
    pagamento => qr/\b(?:pix|cartao|boleto|parcel\w*|pagamento|pagar|desconto)\b/,
    seguranca => $RE_MEDICAL,
);
my @TOPIC_ORDER = qw(frete trocas pagamento seguranca);

# words that are about the request, not the product
my %INTENT_WORD = map { $_ => 1 } qw(
    quanto quanta custa custam custo preco precos valor valores sai fica ta esta estao
    estoque disponivel disponiveis tem tem tenho vende vendem produto produtos voces vcs vc
    qual quais gostaria queria quero saber sobre pode podem poderia me dizer informar ainda
    ola oi bom boa dia tarde noite tudo bem favor obrigado obrigada hoje amanha agora
    how much price is the does cost
    agendar agendamento agenda horario horarios marcar marca remarcar reservar reserva vaga vagas
    para as às dia uma um
    pedido pedidos entrega entregue rastreio rastreamento rastrear encomenda chegou chegar cade
    onde status meus minhas
    atendente humano humana pessoa falar
);

sub _user_words {
    my ($text) = @_;
    my @out;
    for my $w (split /[^\p{L}\p{N}%\-]+/, lc($text // '')) {
        next if $w eq '' || $w =~ /^-+$/;
        my $n = norm_text($w);
        next if $n eq '' || $Cwai::Fake::Proto::STOP{$n} || $INTENT_WORD{$n};
        next if $n =~ /^(?:r|rs)$/ || $n =~ /^\d+(?:[.,]\d+)?$/ && @out == 0;
        next if $n =~ /^\d{1,2}h(?:\d{2})?$/ || $n =~ /^\d{1,2}(?::\d{2})$/;
        push @out, $w;
    }
    # a trailing lone number is a quantity or an amount, not a product word
    pop @out while @out && $out[-1] =~ /^\d+(?:[.,]\d+)?$/;
    return @out;
}

sub candidates {
    my ($text, $o) = @_;
    my $n = norm_text($text);
    my %c;
    $c{code} = uc $1 if $text =~ /\b([A-Za-z]{2}-[A-Za-z]{2,5}-\d{2,4})\b/;
    my @pw = _user_words($text);
    @pw = grep { uc($_) ne ($c{code} // '') } @pw;
    $c{query} = join ' ', @pw if @pw;
    if (lc($text) =~ /(?<![\d:\/.,])\b([01]?\d|2[0-3])\s*(?:h(?:rs?|s)?(?![a-z])|:(?=\d))\s*([0-5]\d)?(?![\d%])/) {
        $c{time} = sprintf('%02d:%02d', $1, $2 // 0);
    }
    if ($text =~ /\b(\d{4})-(\d{2})-(\d{2})\b/) {
        $c{date} = "$1-$2-$3";
    } elsif ($text =~ m{\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b}) {
        my $y = $3 // $o->{year} // 2026;
        $y += 2000 if $y < 100;
        $c{date} = sprintf('%04d-%02d-%02d', $y, $2, $1);
    }
    my %wd = (segunda => 'mon', terca => 'tue', quarta => 'wed', quinta => 'thu', sexta => 'fri',
              sabado => 'sat', domingo => 'sun', monday => 'mon', tuesday => 'tue', wednesday => 'wed',
              thursday => 'thu', friday => 'fri', saturday => 'sat', sunday => 'sun');
    for my $w (split / /, $n) { if ($wd{$w}) { $c{weekday} = $wd{$w}; last } }
    $c{start} = "$c{date} $c{time}" if defined $c{date} && defined $c{time};
    # service words for a booking: the product words minus time words
    my @sw = grep { norm_text($_) !~ /^(?:\d.*|segunda|terca|quarta|quinta|sexta|sabado|domingo|feira|manha|tarde|noite|semana|proxima|proximo)$/ } @pw;
    $c{service} = join ' ', @sw if @sw;
    return \%c;
}

my %SYN = (
    query   => [qw(query q search search_query text term terms keywords keyword search_term termo
                   busca consulta pergunta question name product product_name nome produto)],
    code    => [qw(code sku default_code product_code codigo ref reference)],
    reason  => [qw(reason motivo summary note nota why resumo)],
    service => [qw(service service_name servico service_id procedimento)],
    date    => [qw(date day data dia from date_from start_date)],
    start   => [qw(start start_time start_at starts_at datetime date_time inicio when)],
    time    => [qw(time hour hora horario)],
    slot    => [qw(slot_id slot)],
    topic   => [qw(topic category categoria topico)],
    professional => [qw(professional profissional staff)],
    id      => [qw(id product_id)],
);
my %DEFAULT_ARGS = (
    search_products  => [qw(query)],
    product_details  => [qw(code)],
    handoff_to_human => [qw(reason)],
    available_slots  => [qw(service date)],
    book_appointment => [qw(slot date time service)],
    customer_orders  => [],
);

# arguments for tool $def from the candidate values, following its schema
sub fill_args {
    my ($def, %cand) = @_;
    my $name = $def->{function}{name};
    my $params = $def->{function}{parameters};
    my %args;
    if (ref $params ne 'HASH' || ref $params->{properties} ne 'HASH') {
        my @keys = @{ $DEFAULT_ARGS{$name} || [qw(query)] };
        $args{$_} = $cand{$_} for grep { defined $cand{$_} } @keys;
        return \%args;
    }
    my $props = $params->{properties};
    my %req = map { $_ => 1 } @{ ref $params->{required} eq 'ARRAY' ? $params->{required} : [] };
    my %used;
    for my $p (sort keys %$props) {
        my $lp = lc $p;
        for my $kind (qw(slot code query reason service start date time topic professional id)) {
            next unless grep { $_ eq $lp } @{ $SYN{$kind} };
            next unless defined $cand{$kind};
            next if $used{$kind};
            my $v = $cand{$kind};
            my $schema = $props->{$p};
            my @types = ref $schema->{type} eq 'ARRAY' ? @{ $schema->{type} } : ($schema->{type} // 'string');
            if (ref $schema->{enum} eq 'ARRAY') {
                my @e = grep { defined } @{ $schema->{enum} };
                my ($hit) = grep { $_ eq $v } @e;
                ($hit) = grep { substr(norm_text($_), 0, 4) eq substr(norm_text($v), 0, 4) } @e unless defined $hit;
                next unless defined $hit;
                $v = $hit;
            }
            if (grep { $_ eq 'integer' || $_ eq 'number' } @types and !grep { $_ eq 'string' } @types) {
                next unless $v =~ /^\d+$/;
                $v += 0;
            }
            $args{$p} = $v;
            $used{$kind} = 1;
            last;
        }
    }
    for my $p (sort keys %req) {
        next if exists $args{$p};
        my $schema = $props->{$p} || {};
        my @types = ref $schema->{type} eq 'ARRAY' ? @{ $schema->{type} } : ($schema->{type} // 'string');
        $args{$p} = grep({ $_ eq 'null' } @types) ? undef
                  : $types[0] eq 'string' ? (ref $schema->{enum} eq 'ARRAY' ? $schema->{enum}[0] : '')
                  : $types[0] =~ /^(?:integer|number)$/ ? 0
                  : $types[0] eq 'boolean' ? JSON::PP::false
                  : $types[0] eq 'array' ? [] : {};
    }
    return \%args;
}

sub _parse_chars {
    my ($s) = @_;
    return undef unless defined $s && $s =~ /^\s*[\[{"\d-]|^\s*(?:true|false|null)\s*$/;
    my $v = eval { $CHARS->decode($s) };
    return $@ ? undef : $v;
}

sub _rules_tool {
    my ($tools) = @_;
    my %erp = map { $_ => 1 } keys %DEFAULT_ARGS;
    my ($n) = grep { !$erp{$_} && /rule|regra|faq|knowledge|polic|politic|retriev|search_docs|base/i }
              sort keys %$tools;
    return $n;
}

sub _sentences {
    my ($text) = @_;
    my @s = grep { /\S/ } split /(?<=[.?!])\s+|\n+/, $text // '';
    s/^\s+|\s+$//g for @s;
    s/[.?!]+$// for @s;
    return @s;
}

# -> { calls => [{name, args}], text => ..., refusal => 0|1 }
sub decide {
    my ($b, $o) = @_;
    my @msgs = @{ $b->{messages} };
    my ($ui) = grep { ($msgs[$_]{role} // '') eq 'user' } reverse 0 .. $#msgs;
    my $user = defined $ui ? _text_of($msgs[$ui]{content}) : '';
    my $sys = join "\n", map { _text_of($_->{content}) }
              grep { ($_->{role} // '') =~ /^(?:system|developer)$/ } @msgs;

    my (@made, %result);
    for my $i ((defined $ui ? $ui + 1 : 0) .. $#msgs) {
        my $m = $msgs[$i];
        if (($m->{role} // '') eq 'assistant' && ref $m->{tool_calls} eq 'ARRAY') {
            push @made, map { { id => $_->{id}, name => $_->{function}{name},
                                args => _parse_chars($_->{function}{arguments}) } } @{ $m->{tool_calls} };
        } elsif (($m->{role} // '') eq 'tool') {
            $result{ $m->{tool_call_id} } = _text_of($m->{content});
        }
    }
    my @done = map { { %$_, result => $result{ $_->{id} } } } @made;
    my %called = map { $_->{name} => 1 } @done;

    my %tools = map { ($_->{function}{name} => $_) } @{ $b->{tools} || [] };
    my @order = map { $_->{function}{name} } @{ $b->{tools} || [] };
    my $choice = $b->{tool_choice};
    my $forced = ref $choice eq 'HASH' ? $choice->{function}{name} : undef;
    if (defined $choice && !ref $choice && $choice eq 'none') { %tools = (); @order = () }
    my $parallel = !(defined $b->{parallel_tool_calls} && !$b->{parallel_tool_calls});

    my $n = norm_text($user);
    my $cand = candidates($user, $o);
    my @calls;
    my $call = sub {
        my ($name, %c) = @_;
        return 0 unless $tools{$name};
        push @calls, { name => $name, args => fill_args($tools{$name}, %$cand, %c) };
        return 1;
    };
    my $injection = $n =~ $RE_INJECT
        || ($n =~ /(\d{2,3}) ?%/ && $1 >= 15 && $n =~ $RE_DEMAND && $n =~ /\b(?:desconto|off|gratis|de graca)\b/);
    my $handoff = $n =~ $RE_MEDICAL ? 'possível reação adversa relatada pela cliente'
                : $n =~ $RE_LEGAL   ? 'reclamação formal ou ameaça de ação legal'
                : $n =~ $RE_HUMAN   ? 'cliente pediu atendimento humano'
                : undef;
    my $booking = $n =~ $RE_BOOK && $n !~ $RE_NOT_BOOK;
    my $order = $n =~ $RE_ORDER;
    my $price = $n =~ $RE_PRICE || defined $cand->{code};

    if ($forced) {
        $call->($forced, reason => $handoff // 'cliente pediu');
        return { calls => \@calls };
    }
    if ($injection) {
        if (defined $choice && !ref $choice && $choice eq 'required' && @order) {
            $call->($tools{handoff_to_human} ? 'handoff_to_human' : $order[0],
                    reason => 'pedido fora das regras da loja');
            return { calls => \@calls };
        }
        return { text => 'Desculpe, não posso ignorar as regras da loja nem conceder descontos ou '
                       . 'condições fora da nossa política. Posso ajudar com produtos, pedidos ou '
                       . 'agendamentos?', refusal => 1 };
    }
    if (defined $handoff) {
        return { text => compose(\@done, $cand, $sys, $user, $o) } if $called{handoff_to_human};
        return { calls => \@calls } if $call->('handoff_to_human', reason => $handoff);
        return { text => 'Vou pedir para uma pessoa da nossa equipe continuar o seu atendimento.' };
    }
    if ($booking) {
        if (!$called{available_slots}) {
            $call->('available_slots');
        } elsif ($cand->{time} && !$called{book_appointment} && $tools{book_appointment}) {
            my ($slots) = grep { $_->{name} eq 'available_slots' } @done;
            my $slot = find_slot($slots->{result}, $cand->{time}, $cand->{date}, $cand->{weekday});
            $call->('book_appointment', %$slot) if $slot;
        }
    }
    if ($order && !$called{customer_orders} && $tools{customer_orders}) {
        push @calls, { name => 'customer_orders', args => fill_args($tools{customer_orders}) };
    }
    if ($price) {
        if ($cand->{code} && $tools{product_details} && !$called{product_details}) {
            $call->('product_details');
        } elsif ($cand->{query} && !$called{search_products}) {
            $call->('search_products');
        }
    }
    if (my $rt = _rules_tool(\%tools)) {
        if (!$called{$rt}) {
            my @topics = grep { $n =~ $TOPICS{$_} } @TOPIC_ORDER;
            for my $t (@topics) {
                my ($q) = grep { norm_text($_) =~ $TOPICS{$t} } _sentences($user);
                $call->($rt, query => $q // $user, topic => $t);
            }
            if (!@topics && !@calls && !$booking && !$order && !$price && $n !~ $RE_GREETING) {
                $call->($rt, query => $user, topic => undef) if $n ne '';
            }
        }
    }
    @calls = ($calls[0]) if !$parallel && @calls > 1;
    return { calls => \@calls } if @calls;
    if (defined $choice && !ref $choice && $choice eq 'required' && @order) {
        $call->($order[0], reason => 'cliente pediu');
        return { calls => \@calls };
    }
    return { text => compose(\@done, $cand, $sys, $user, $o,
                             { booking => $booking, price => $price, order => $order }) };
}

# the slot of an available_slots result at that time (and date)
my %WDAY = (mon => 1, tue => 2, wed => 3, thu => 4, fri => 5, sat => 6, sun => 0,
            seg => 1, ter => 2, qua => 3, qui => 4, sex => 5, sab => 6, dom => 0);

sub _wday_of {
    my ($r, $date) = @_;
    my $w = $r->{weekday} // $r->{weekday_pt} // $r->{day_of_week};
    if (defined $w && !ref $w) {
        my $k = substr(norm_text($w), 0, 3);
        return $WDAY{$k} if exists $WDAY{$k};
    }
    return undef unless defined $date && $date =~ /^(\d{4})-(\d{2})-(\d{2})$/;
    require Time::Local;
    return (gmtime(Time::Local::timegm(0, 0, 12, $3, $2 - 1, $1)))[6];
}

sub find_slot {
    my ($result, $time, $date, $weekday) = @_;
    my $data = _parse_chars($result);
    my @recs;
    my $walk;
    $walk = sub {
        my ($d) = @_;
        if (ref $d eq 'ARRAY') { $walk->($_) for @$d }
        elsif (ref $d eq 'HASH') {
            if (grep { defined $d->{$_} && !ref $d->{$_} } qw(start start_time time hora)) { push @recs, $d }
            else { $walk->($_) for map { $d->{$_} } sort keys %$d }
        }
    };
    $walk->($data);
    for my $r (@recs) {
        my ($start) = grep { defined } map { $r->{$_} } qw(start start_time time hora);
        next unless $start =~ /(?:^|[ T])\Q$time\E(?::00)?$/ || $start eq $time;
        my $rdate = $r->{date} // $r->{day} // ($start =~ /^(\d{4}-\d{2}-\d{2})/ ? $1 : undef);
        next if defined $date && defined $rdate && $rdate ne $date;
        if (defined $weekday && !defined $date) {
            my $w = _wday_of($r, $rdate);
            next if defined $w && $w != $WDAY{$weekday};
        }
        my %s = (time => $time);
        $s{start} = $start =~ /^\d{4}-\d{2}-\d{2}/ ? $start : defined $rdate ? "$rdate $start" : $start;
        $s{slot} = $r->{slot_id} // $r->{id} if defined($r->{slot_id} // $r->{id});
        $s{date} = $rdate if defined $rdate;
        $s{service} = $r->{service_id} // $r->{service} // $r->{service_name}
            if defined($r->{service_id} // $r->{service} // $r->{service_name});
        $s{professional} = $r->{professional} if defined $r->{professional} && !ref $r->{professional};
        return \%s;
    }
    if (!@recs && defined $result && $result =~ /\b\Q$time\E\b/) {
        return { time => $time, (defined $date ? (date => $date) : ()) };
    }
    return undef;
}

# facts (strings) found in a tool result
sub facts {
    my ($result, $tool) = @_;
    my $data = _parse_chars($result);
    my @f;
    if (!defined $data) {
        return () unless defined $result && $result =~ /\S/;
        my $t = $result;
        $t = substr($t, 0, 300) . '…' if length $t > 300;
        return ($t);
    }
    if (!ref $data) {
        return () if JSON::PP::is_bool($data);
        return ($tool =~ /price|preco/i || $data =~ /^\d+\.\d+$/ ? money_br($data) : "$data");
    }
    if (ref $data eq 'HASH' && defined $data->{error}) {
        my $e = ref $data->{error} eq 'HASH' ? ($data->{error}{message} // 'erro') : $data->{error};
        return ("não consegui consultar ($e)");
    }
    my $walk;
    $walk = sub {
        my ($d) = @_;
        return if @f >= 6;
        if (ref $d eq 'ARRAY') {
            for my $x (@$d) {
                if (ref $x) { $walk->($x) }
                elsif (defined $x && !JSON::PP::is_bool($x)) { push @f, "$x" }
                last if @f >= 6;
            }
        } elsif (ref $d eq 'HASH') {
            my $fact = record_fact($d);
            if (defined $fact) { push @f, $fact; return }
            $walk->($d->{$_}) for grep { ref $d->{$_} } sort keys %$d;
        }
    };
    $walk->($data);
    return @f;
}

sub _str {
    my ($v) = @_;
    return undef unless defined $v;
    return $v->[1] if ref $v eq 'ARRAY' && @$v == 2 && !ref $v->[1];
    return undef if ref $v || JSON::PP::is_bool($v);
    return $v;
}

sub _money {
    my ($v) = @_;
    return undef unless defined $v && !ref $v;
    return $v if $v =~ /R\$/;
    return money_br($v) if $v =~ /^-?\d+(?:\.\d+)?$/;
    return undef;
}

sub record_fact {
    my ($r) = @_;
    my ($label) = grep { defined } map { _str($r->{$_}) }
        qw(name title service_name display_name product_name default_code slot_id);
    my ($text) = grep { defined } map { _str($r->{$_}) } qw(text answer content description_sale);
    my @p;
    my ($promo) = grep { defined } map { _money($r->{$_}) } qw(promo_price x_promo_price);
    my ($pr) = grep { defined } map { _money($r->{$_}) }
        qw(price lst_price list_price price_unit price_total amount_total amount total value);
    if (defined $promo) { push @p, defined $pr && $pr ne $promo ? "$promo (de $pr)" : $promo }
    elsif (defined $pr) { push @p, $pr }
    my ($q) = grep { defined && !ref && /^-?[\d.]+$/ } map { $r->{$_} } qw(free_qty qty_available stock);
    push @p, $q > 0 ? int($q) . ' em estoque' : 'sem estoque' if defined $q;
    for my $k (qw(state status delivery_status x_delivery_status)) {
        my $v = _str($r->{$k});
        push @p, $v if defined $v && $v ne '';
    }
    for my $k (qw(tracking_code x_tracking_code carrier_tracking_ref)) {
        my $v = _str($r->{$k});
        push @p, "rastreio $v" if defined $v && $v ne '';
    }
    for my $k (qw(expected_delivery_date x_expected_delivery_date commitment_date)) {
        my $v = _str($r->{$k});
        push @p, "previsão $v" if defined $v && $v ne '';
    }
    my $when = join ' ', grep { defined && $_ ne '' } map { _str($r->{$_}) } qw(date start);
    push @p, $when if $when ne '';
    my $prof = _str($r->{professional}) // _str($r->{user_id});
    push @p, "com $prof" if defined $prof;
    return undef unless defined $label || defined $text || @p;
    if (!defined $label) {
        return defined $text ? _cut($text) : join(', ', @p);
    }
    my $f = $label;
    $f .= ' — ' . join(', ', @p) if @p;
    $f .= ': ' . _cut($text) if defined $text && !@p && $text ne $label;
    return $f;
}

sub _cut { my $t = shift; return length $t > 280 ? substr($t, 0, 280) . '…' : $t }

sub compose {
    my ($done, $cand, $sys, $user, $o, $intent) = @_;
    $intent ||= {};
    if (@$done) {
        if (grep { $_->{name} eq 'handoff_to_human' } @$done) {
            return 'Tudo bem! Vou transferir você para uma pessoa da nossa equipe. Só um instante, por favor.';
        }
        my ($book) = grep { $_->{name} eq 'book_appointment' } @$done;
        if ($book) {
            my @f = facts($book->{result}, $book->{name});
            s/[\s.;]+$// for @f;
            return 'Pronto, seu horário está reservado' . (@f ? ': ' . join('; ', @f) : '') . '.';
        }
        my @f;
        push @f, facts($_->{result}, $_->{name}) for @$done;
        s/[\s.;]+$// for @f;
        my ($slots) = grep { $_->{name} eq 'available_slots' } @$done;
        if ($slots && $cand->{time}) {
            return "Não encontrei horário livre às $cand->{time}. "
                . (@f ? 'Horários disponíveis: ' . join('; ', @f) . '.' : 'Quer tentar outro dia?');
        }
        return 'Não encontrei nada sobre isso. Pode me dar mais detalhes?' unless @f;
        return 'Encontrei isto: ' . join('; ', @f) . '. Posso ajudar em mais alguma coisa?';
    }
    my @answers = @{ $o->{answers} || [] };
    while (@answers) {
        my ($re, $a) = splice @answers, 0, 2;
        next unless $user =~ $re;
        return ref $a eq 'CODE' ? $a->($user, $sys) : $a;
    }
    my $n = norm_text($user);
    if ($n =~ $RE_GREETING && scalar(words($user)) <= 3) {
        my ($store) = $sys =~ /\b(?:loja|empresa|cl[ií]nica|est[uú]dio) ((?:\p{Lu}[\w\x{c0}-\x{17f}]*)(?: (?:\p{Lu}[\w\x{c0}-\x{17f}]*|d[aeo]s?))*)/;
        $store =~ s/ d[aeo]s?$// if defined $store;
        return 'Olá! Sou a assistente virtual' . (defined $store ? " da $store" : '')
             . '. Como posso ajudar?';
    }
    if ($intent->{price} && !$cand->{query} && !$cand->{code} && !$intent->{order}) {
        return 'Claro! Qual produto você procura?';
    }
    if ($intent->{price} && ($cand->{code} || $cand->{query})) {
        return 'Não consigo consultar o preço de ' . ($cand->{code} // $cand->{query})
             . ' agora. Quer que eu chame uma pessoa da equipe?';
    }
    # the system prompt's fact closest to the question
    my @lines = grep { /\S/ } map { s/^\s*(?:[-*•]|\d+[.)])\s*//r } split /\n+|(?<=\.)\s+(?=\p{Lu})/, $sys;
    my %uw = map { $_ => 1 } words($user);
    my ($best, $score) = (undef, 0);
    for my $l (@lines) {
        my %seen;
        my $s = grep { $uw{$_} && !$seen{$_}++ } words($l);
        ($best, $score) = ($l, $s) if $s > $score;
    }
    if (!defined $best) {
        ($best) = grep { /^\s*(?:[-*•]|\d+[.)])\s+/ } split /\n+/, $sys;
        $best =~ s/^\s*(?:[-*•]|\d+[.)])\s*// if defined $best;
    }
    return "Segundo as regras da loja: $best" if defined $best;
    return 'Como posso ajudar? Posso tirar dúvidas sobre produtos, pedidos e agendamentos.';
}

# ---------------------------------------------------------------------------
# chat completions: the response

sub chat {
    my ($b, $o, $st) = @_;
    my $e = validate_chat($b, $o);
    return $e if $e;
    my $n = ++$st->{n};

    # usage: prompt tokens from the request size, cached tokens from the
    # longest message-boundary prefix seen in an earlier request
    my $acc = json_encode($b->{model}) . "\n" . (defined $b->{tools} ? json_encode($b->{tools}) : '');
    my @pref;
    for my $m (@{ $b->{messages} }) {
        $acc .= "\n" . json_encode($m);
        push @pref, $acc;
    }
    my $prompt = _tokens($acc);
    my $cached = 0;
    for my $k (reverse 0 .. $#pref) {
        if ($st->{prefixes}{ md5_hex($pref[$k]) }) { $cached = int(length($pref[$k]) / 4); last }
    }
    $st->{prefixes}{ md5_hex($_) } = 1 for @pref;
    $cached = 0 if $cached < ($o->{cache_min_tokens} // 0);
    my $step = $o->{cache_step} || 1;
    $cached = int($cached / $step) * $step;
    $cached = $prompt if $cached > $prompt;

    my $cap = $b->{max_completion_tokens} // $b->{max_tokens};
    my $ctx = $o->{context_tokens} // 1047576;
    if ($prompt + ($cap // 0) > $ctx) {
        return invalid($o, "This model's maximum context length is $ctx tokens. However, your messages "
            . "resulted in $prompt tokens. Please reduce the length of the messages.",
            'messages', 'context_length_exceeded');
    }

    my $d = decide($b, $o);
    my $finish = 'stop';
    my $message = { role => 'assistant', content => undef, refusal => undef, annotations => [] };
    my $completion;
    if ($d->{calls} && @{ $d->{calls} }) {
        my $i = 0;
        my @tc = map {
            { id => sprintf('call_cwai%04d%02d%s', $n, $i++, substr(md5_hex(json_encode($_)), 0, 8)),
              type => 'function',
              function => { name => $_->{name}, arguments => json_encode($_->{args} // {}) } }
        } @{ $d->{calls} };
        $_->{function}{arguments} = Encode::decode('UTF-8', $_->{function}{arguments}) for @tc;
        $completion = 1 + _tokens(Encode::encode('UTF-8', join '', map {
            $_->{function}{name} . $_->{function}{arguments} } @tc));
        if (defined $cap && $completion > $cap) {
            $tc[-1]{function}{arguments} = substr($tc[-1]{function}{arguments}, 0, 4 * $cap);
            $completion = $cap;
            $finish = 'length';
        } else {
            $finish = 'tool_calls';
        }
        $message->{tool_calls} = \@tc;
    } else {
        my $text = $d->{text};
        my $rf = ref $b->{response_format} eq 'HASH' ? $b->{response_format} : {};
        if (($rf->{type} // '') eq 'json_object') {
            $text = Encode::decode('UTF-8', json_encode({ answer => $text }));
        } elsif (($rf->{type} // '') eq 'json_schema') {
            my $schema = $rf->{json_schema}{schema} || {};
            my $props = ref $schema->{properties} eq 'HASH' ? $schema->{properties} : {};
            my ($sp) = grep { ($props->{$_}{type} // '') eq 'string' } sort keys %$props;
            my $args = fill_args({ function => { name => 'response', parameters => $schema } });
            $args->{ $sp // 'answer' } = $text;
            $text = Encode::decode('UTF-8', json_encode($args));
        }
        $completion = 1 + _tokens(Encode::encode('UTF-8', $text));
        if (defined $cap && $completion > $cap) {
            $text = substr($text, 0, 4 * $cap);
            $completion = $cap;
            $finish = 'length';
        }
        $message->{content} = $text;
    }
    my $llama = ($o->{flavor} // '') eq 'llamacpp';
    my $usage = { prompt_tokens => $prompt, completion_tokens => $completion,
                  total_tokens => $prompt + $completion };
    unless ($llama) {
        $usage->{prompt_tokens_details} = { cached_tokens => $cached, audio_tokens => 0 };
        $usage->{completion_tokens_details} = { reasoning_tokens => 0, audio_tokens => 0,
            accepted_prediction_tokens => 0, rejected_prediction_tokens => 0 };
    }
    if ($llama) {
        delete @$message{qw(refusal annotations)};
    }
    my $id = sprintf('chatcmpl-cwai%06d%s', $n, substr(md5_hex($acc), 0, 16));
    my $model = $o->{model_name} // $b->{model};
    my $created = $BASE_CREATED + $n;
    my @headers = (
        'x-ratelimit-limit-requests' => 5000,
        'x-ratelimit-remaining-requests' => 5000 - $n,
        'x-ratelimit-limit-tokens' => 200000,
        'x-ratelimit-remaining-tokens' => 200000 - $prompt > 0 ? 200000 - $prompt : 0,
        'x-ratelimit-reset-requests' => '12ms',
        'x-ratelimit-reset-tokens' => '0s',
        'openai-processing-ms' => 42,
    );
    @headers = () if $llama;

    if ($b->{stream} && JSON::PP::is_bool($b->{stream})) {
        return stream_response($b, $o, $id, $created, $model, $message, $finish, $usage, \@headers);
    }
    my $resp = {
        id => $id, object => 'chat.completion', created => $created, model => $model,
        choices => [ map { { index => $_, message => $message, logprobs => undef,
                             finish_reason => $finish } } 0 .. ($b->{n} // 1) - 1 ],
        usage => $usage,
    };
    if ($llama) {
        $resp->{timings} = { prompt_n => $prompt, prompt_ms => 12.5, predicted_n => $completion,
                             predicted_ms => 30.1 };
    } else {
        $resp->{service_tier} = 'default';
        $resp->{system_fingerprint} = 'fp_cwaifake0';
    }
    return { status => 200, headers => { @headers }, json => $resp };
}

sub stream_response {
    my ($b, $o, $id, $created, $model, $message, $finish, $usage, $headers) = @_;
    my $with_usage = ref $b->{stream_options} eq 'HASH' && $b->{stream_options}{include_usage};
    my @ev;
    my $chunk = sub {
        my ($choices, $u) = @_;
        my $c = { id => $id, object => 'chat.completion.chunk', created => $created, model => $model,
                  service_tier => 'default', system_fingerprint => 'fp_cwaifake0', choices => $choices };
        $c->{usage} = $u if $with_usage;
        push @ev, 'data: ' . json_encode($c) . "\n\n";
    };
    my $choice = sub { { index => 0, delta => $_[0], logprobs => undef, finish_reason => $_[1] } };
    if ($message->{tool_calls}) {
        my $i = 0;
        for my $tc (@{ $message->{tool_calls} }) {
            $chunk->([ $choice->({ ($i == 0 ? (role => 'assistant', content => undef) : ()),
                tool_calls => [ { index => $i, id => $tc->{id}, type => 'function',
                                  function => { name => $tc->{function}{name}, arguments => '' } } ] }) ], undef);
            my $args = $tc->{function}{arguments};
            for my $piece ($args =~ /(.{1,16})/gs) {
                $chunk->([ $choice->({ tool_calls => [ { index => $i, function => { arguments => $piece } } ] }) ], undef);
            }
            $i++;
        }
    } else {
        $chunk->([ $choice->({ role => 'assistant', content => '', refusal => undef }) ], undef);
        my @words = split /(?<= )/, $message->{content};
        while (@words) {
            $chunk->([ $choice->({ content => join '', splice @words, 0, 6 }) ], undef);
        }
    }
    $chunk->([ $choice->({}, $finish) ], undef);
    $chunk->([], $usage) if $with_usage;
    push @ev, "data: [DONE]\n\n";
    return { status => 200, headers => { @$headers, 'Content-Type' => 'text/event-stream; charset=utf-8' },
             chunked => 1, chunks => \@ev };
}

1;
