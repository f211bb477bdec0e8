package Cwai::Fake::Preset::chatwoot;

# Fake Chatwoot REST API (what an agent bot may call, v4.15): create
# messages, toggle_status, toggle_typing_status, toggle_priority, labels,
# assignments, custom_attributes, conversation show; everything else gets
# the bot 401.  Options:
#
#   { chatwoot => { options => {
#         token => 'bot-token',       # require "api_access_token: bot-token" (or Api-Access-Token)
#         user_token => 'user-token', # a human's token: may also GET .../messages
#         account => 3,               # other accounts: 401
#         conversations => [318, 319],   # known display ids (others: 404); default: any
#         # or { 318 => { status => 'pending', labels => ['vendas'], inbox_id => 7 } }
#         inbox_id => 7, api_inbox => 0, # api_inbox: "incoming" messages allowed
#         bot => { id => 4, name => 'Bia (assistente virtual)' },
#         agents => { 15 => 'Carla Mendes' }, teams => { 2 => 'Atendimento' },
#         first_message_id => 90212, flood_limit => 200,   # messages per minute per conversation
#         script => { messages => ['500', '500', 'pass'], toggle_status => ['rate_limited'] },
#     } } }
#
# Script endpoints: messages, toggle_status, toggle_typing_status,
# toggle_priority, labels, assignments, custom_attributes, conversation,
# other, '*'.  Named failures: rate_limited (429 text/plain "Retry later\n"),
# too_many_messages (422), not_found (404), invalid_token (401),
# bot_not_allowed (401), server_error (500), and the generic ones.

use strict;
use warnings;
use utf8;

use Cwai::Fake ();
use Cwai::Fake::Proto qw(json_decode script_step apply_script);
use JSON::PP ();

my $TRUE  = JSON::PP::true;
my $FALSE = JSON::PP::false;

sub cw { my ($status, $data) = @_; return { status => $status, json => $data,
         headers => { 'Content-Type' => 'application/json; charset=utf-8' } } }

our %ERRORS = (
    rate_limited      => sub { { status => 429, headers => { 'Content-Type' => 'text/plain' }, body => "Retry later\n" } },
    too_many_messages => sub { cw(422, { error => 'Validation failed: Too many messages' }) },
    not_found         => sub { cw(404, { error => 'Resource could not be found' }) },
    invalid_token     => sub { cw(401, { error => 'Invalid Access Token' }) },
    bot_not_allowed   => sub { cw(401, { error => 'Access to this endpoint is not authorized for bots' }) },
    server_error      => sub { cw(500, { status => 500, error => 'Internal Server Error' }) },
);

my %MESSAGE_TYPE = (incoming => 0, outgoing => 1, activity => 2, template => 3);
my %CONTENT_TYPE = map { $_ => 1 } qw(text input_text input_textarea input_email input_select cards form
    article incoming_email input_csat integrations sticker voice_call);
my %STATUS = map { $_ => 1 } qw(open pending resolved snoozed);

Cwai::Fake::preset(chatwoot => sub {
    my %o = @_;
    my $st = { counters => {}, next_id => $o{first_message_id} // 90212, conv => {} };
    my $known = $o{conversations};
    if (ref $known eq 'ARRAY') { $known = { map { $_ => {} } @$known } }
    if (ref $known eq 'HASH') {
        $st->{known} = 1;
        $st->{conv}{$_} = new_conv(\%o, $_, $known->{$_}) for keys %$known;
    }
    return { routes => { '* /*' => sub { dispatch($_[0], \%o, $st) } } };
});

sub new_conv {
    my ($o, $id, $init) = @_;
    $init ||= {};
    return { id => $id + 0, status => $init->{status} // 'pending', labels => [ @{ $init->{labels} || [] } ],
             inbox_id => $init->{inbox_id} // $o->{inbox_id} // 7, priority => $init->{priority},
             custom_attributes => { %{ $init->{custom_attributes} || {} } }, messages => [], times => [],
             assignee => undef, team => undef };
}

sub dispatch {
    my ($req, $o, $st) = @_;
    my $m = uc $req->{method};
    my ($acc, $cid, $act) = $req->{path} =~ m{^/api/v1/accounts/(\d+)/conversations/(\d+)(?:/([a-z_]+))?/?$};
    my $ep = !defined $cid ? 'other'
           : !defined $act ? 'conversation'
           : $act =~ /^(?:messages|toggle_status|toggle_typing_status|toggle_priority|labels|assignments|custom_attributes)$/
             ? $act : 'other';
    my $item = script_step($o->{script}, $st->{counters}, $ep);
    return apply_script(
        item => $item, req => $req,
        real => sub { real($req, $o, $st, $m, $acc, $cid, $act) },
        named => sub { $ERRORS{ $_[0] } ? $ERRORS{ $_[0] }->() : undef },
        status => sub { $_[0] == 429 ? $ERRORS{rate_limited}->()
                        : cw($_[0], $_[0] >= 500 ? { status => $_[0] + 0, error => 'Internal Server Error' }
                                                 : { error => "HTTP $_[0]" }) },
    );
}

sub _params {
    my ($req) = @_;
    my $ct = lc($req->{headers}{'content-type'} // '');
    return {} unless $ct =~ m{^application/json} && ($req->{body} // '') =~ /\S/;
    my ($b, $err) = json_decode($req->{body});
    return undef if $err;               # Rails: 400 on a JSON parse error
    return ref $b eq 'HASH' ? $b : {};
}

sub _bool {
    my ($v) = @_;
    return 0 unless defined $v;
    return $v ? 1 : 0 if JSON::PP::is_bool($v);
    return $v =~ /^(?:1|t|true|on|yes)$/i ? 1 : 0;
}

sub real {
    my ($req, $o, $st, $m, $acc, $cid, $act) = @_;
    return { status => 404, headers => { 'Content-Type' => 'text/html; charset=utf-8' },
             body => "<!DOCTYPE html>\n<html>\n<head><title>The page you were looking for doesn't exist (404)</title></head>\n"
                   . "<body><h1>The page you were looking for doesn't exist.</h1></body>\n</html>\n" }
        unless $req->{path} =~ m{^/api/};

    # auth (bot token, or a human's token)
    my $tok = $req->{headers}{api_access_token} // $req->{headers}{'api-access-token'};
    my $kind = 'bot';
    if (defined $o->{token} || defined $o->{user_token}) {
        return cw(401, { errors => ['You need to sign in or sign up before continuing.'] }) unless defined $tok;
        if (defined $o->{user_token} && $tok eq $o->{user_token}) { $kind = 'user' }
        elsif (!defined $o->{token} || $tok ne $o->{token}) { return cw(401, { error => 'Invalid Access Token' }) }
    }
    my $bot_only = cw(401, { error => 'Access to this endpoint is not authorized for bots' });
    if (!defined $cid) {
        return $kind eq 'bot' ? $bot_only : cw(404, { error => 'Resource could not be found' })
            if $req->{path} =~ m{^/api/v1/accounts/\d+/};
        return cw(404, { error => 'Resource could not be found' });
    }
    if (defined $o->{account} ? $acc != $o->{account} : $acc != 3) {
        return cw(401, { error => $kind eq 'bot' ? 'Bot is not authorized to access this account'
                                                  : 'You are not authorized to access this account' });
    }
    my $allowed = !defined $act ? ($m eq 'GET' || $m eq 'PATCH' || $m eq 'PUT')
        : $act eq 'messages' ? ($m eq 'POST' || $kind eq 'user')
        : $act eq 'labels' ? ($m eq 'GET' || $m eq 'POST')
        : $act =~ /^(?:toggle_status|toggle_typing_status|toggle_priority|custom_attributes|assignments)$/ ? $m eq 'POST'
        : 0;
    return $bot_only if !$allowed && $kind eq 'bot';
    return cw(404, { error => 'Resource could not be found' }) if !$allowed;

    my $c = $st->{conv}{$cid};
    if (!$c) {
        return cw(404, { error => 'Resource could not be found' }) if $st->{known};
        $c = $st->{conv}{$cid} = new_conv($o, $cid);
    }
    my $p = $m eq 'GET' ? {} : _params($req);
    return cw(400, { status => 400, error => 'Bad Request' }) unless defined $p;

    if (!defined $act) {
        return cw(200, conversation_json($o, $c, $acc));
    }
    if ($act eq 'messages' && $m eq 'GET') {
        return cw(200, { meta => { labels => $c->{labels}, additional_attributes => {}, contact => {},
                                   assignee => $c->{assignee}, agent_last_seen_at => 0, assignee_last_seen_at => 0 },
                         payload => $c->{messages} });
    }
    if ($act eq 'messages') {
        my $mt = $p->{message_type} // 'outgoing';
        return cw(422, { error => "'$mt' is not a valid message_type" }) if ref $mt || !exists $MESSAGE_TYPE{$mt};
        return cw(422, { error => 'Incoming messages are only allowed in Api inboxes' })
            if $mt eq 'incoming' && !$o->{api_inbox};
        my $ctype = $p->{content_type} // 'text';
        return cw(422, { error => "'$ctype' is not a valid content_type" }) if ref $ctype || !$CONTENT_TYPE{$ctype};
        my $content = $p->{content};
        return cw(422, { error => 'Validation failed: Content is invalid' }) if ref $content;
        my $ca = $p->{content_attributes};
        return cw(422, { error => 'Validation failed: Content attributes is invalid' })
            if defined $ca && ref $ca ne 'HASH';
        my $has_ca = ref $ca eq 'HASH' && %$ca;
        return cw(422, { error => "Validation failed: Content can't be blank" })
            if (!defined $content || $content !~ /\S/) && !$has_ca;
        return cw(422, { error => 'Validation failed: Content is too long (maximum is 150000 characters)' })
            if defined $content && length $content > 150000;
        if ($ctype eq 'input_select') {
            my $items = $has_ca ? $ca->{items} : undef;
            return cw(422, { error => 'Validation failed: Content attributes items must be an array of '
                                      . 'objects with title and value' })
                if ref $items ne 'ARRAY' || !@$items
                   || grep { ref $_ ne 'HASH' || grep({ $_ ne 'title' && $_ ne 'value' } keys %$_)
                             || !defined $_->{title} || ref $_->{title} } @$items;
        }
        my $now = time;
        @{ $c->{times} } = grep { $_ > $now - 60 } @{ $c->{times} };
        return cw(422, { error => 'Validation failed: Too many messages' })
            if @{ $c->{times} } >= ($o->{flood_limit} // 200);
        push @{ $c->{times} }, $now;
        my $bot = $o->{bot} || {};
        my $msg = {
            id => $st->{next_id}++, content => $content, inbox_id => $c->{inbox_id} + 0,
            conversation_id => $c->{id}, message_type => $MESSAGE_TYPE{$mt}, content_type => $ctype,
            status => 'sent', content_attributes => $has_ca ? $ca : {}, created_at => int($now),
            private => _bool($p->{private}) ? $TRUE : $FALSE, source_id => $p->{source_id},
            sender => $kind eq 'bot'
                ? { id => $bot->{id} // 4, name => $bot->{name} // 'Bia (assistente virtual)',
                    avatar_url => '', type => 'agent_bot' }
                : { id => 15, name => 'Carla Mendes', available_name => 'Carla', avatar_url => '',
                    type => 'user', availability_status => 'online', thumbnail => '' },
        };
        $msg->{echo_id} = $p->{echo_id} if defined $p->{echo_id};
        push @{ $c->{messages} }, $msg;
        return cw(200, $msg);
    }
    if ($act eq 'toggle_status') {
        my $s = $p->{status};
        if (defined $s) {
            return cw(422, { error => "'$s' is not a valid status" }) if ref $s || !$STATUS{$s};
        } else {
            $s = $c->{status} eq 'open' ? 'resolved' : 'open';
        }
        my $handoff = $kind eq 'bot' && $c->{status} eq 'pending' && $s eq 'open';
        $c->{status} = $s;
        $c->{snoozed_until} = $s eq 'snoozed' ? $p->{snoozed_until} : undef;
        return cw(200, { payload => { success => $handoff ? undef : $TRUE, conversation_id => $c->{id},
                                      current_status => $s, snoozed_until => $c->{snoozed_until} } });
    }
    if ($act eq 'toggle_typing_status') {
        return { status => 200, body => '' };
    }
    if ($act eq 'toggle_priority') {
        my $pr = $p->{priority};
        return cw(422, { error => "'$pr' is not a valid priority" })
            if defined $pr && (ref $pr || $pr !~ /^(?:urgent|high|medium|low)$/);
        $c->{priority} = $pr;
        return { status => 200, body => '' };
    }
    if ($act eq 'labels') {
        if ($m eq 'POST') {
            my $l = $p->{labels};
            return cw(422, { error => 'labels must be an array' }) if defined $l && ref $l ne 'ARRAY';
            my %seen;
            $c->{labels} = [ grep { defined && !ref && !$seen{$_}++ } @{ $l || [] } ];
        }
        return cw(200, { payload => $c->{labels} });
    }
    if ($act eq 'assignments') {
        if (exists $p->{team_id}) {
            my $t = ($o->{teams} || { 2 => 'Atendimento' })->{ $p->{team_id} // '' };
            $c->{team} = defined $t ? { id => $p->{team_id} + 0, name => $t } : undef;
            return cw(200, $c->{team} ? { id => $c->{team}{id}, name => $t, description => '',
                allow_auto_assign => $TRUE, account_id => $acc + 0, is_member => $FALSE } : undef);
        }
        my $aid = $p->{assignee_id};
        if (($p->{assignee_type} // '') eq 'AgentBot') {
            my $bot = $o->{bot} || {};
            my $ok = defined $aid && $aid == ($bot->{id} // 4);
            $c->{assignee} = $ok ? { id => $aid + 0, type => 'agent_bot' } : undef;
            return cw(200, $ok ? { id => $aid + 0, name => $bot->{name} // 'Bia (assistente virtual)',
                description => '', thumbnail => '', outgoing_url => '', bot_type => 'webhook',
                bot_config => {}, account_id => $acc + 0 } : undef);
        }
        my $name = defined $aid ? ($o->{agents} || { 15 => 'Carla Mendes' })->{$aid} : undef;
        $c->{assignee} = defined $name ? { id => $aid + 0, name => $name, type => 'user' } : undef;
        return cw(200, defined $name ? {
            id => $aid + 0, account_id => $acc + 0, availability_status => 'online', auto_offline => $TRUE,
            confirmed => $TRUE, email => lc(($name =~ s/\s.*//r)) . '@bellapele.example', provider => 'email',
            available_name => ($name =~ s/\s.*//r), name => $name, role => 'agent', thumbnail => '' } : undef);
    }
    if ($act eq 'custom_attributes') {
        my $ca = $p->{custom_attributes};
        return cw(422, { error => 'custom_attributes must be an object' }) if defined $ca && ref $ca ne 'HASH';
        $c->{custom_attributes} = $ca // {};
        return cw(200, { custom_attributes => $c->{custom_attributes} });
    }
    return $bot_only;
}

sub conversation_json {
    my ($o, $c, $acc) = @_;
    my ($last) = grep { !$_->{private} } reverse @{ $c->{messages} };
    return { id => $c->{id}, account_id => $acc + 0, inbox_id => $c->{inbox_id} + 0, status => $c->{status},
             labels => $c->{labels}, priority => $c->{priority}, custom_attributes => $c->{custom_attributes},
             can_reply => $TRUE, snoozed_until => $c->{snoozed_until}, unread_count => 0,
             meta => { sender => {}, assignee => $c->{assignee}, team => $c->{team}, hmac_verified => $FALSE },
             messages => $last ? [$last] : [] };
}

1;
