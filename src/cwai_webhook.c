#include "cwai_webhook.h"
#include "cwai_json.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; cwai_event_type_t type; } events[] = {
    { "message_created",             CWAI_EV_MESSAGE_CREATED },
    { "message_updated",             CWAI_EV_MESSAGE_UPDATED },
    { "conversation_created",        CWAI_EV_CONVERSATION_CREATED },
    { "conversation_status_changed", CWAI_EV_CONVERSATION_STATUS_CHANGED },
    { "conversation_updated",        CWAI_EV_CONVERSATION_UPDATED },
    { "conversation_opened",         CWAI_EV_CONVERSATION_OPENED },
    { "conversation_resolved",       CWAI_EV_CONVERSATION_RESOLVED },
    { "conversation_typing_on",      CWAI_EV_TYPING },
    { "conversation_typing_off",     CWAI_EV_TYPING },
    { "webwidget_triggered",         CWAI_EV_WEBWIDGET_TRIGGERED },
};

static const char *event_names[CWAI_EV__COUNT] = {
    "other", "message_created", "message_updated", "conversation_created",
    "conversation_status_changed", "conversation_updated",
    "conversation_opened", "conversation_resolved", "conversation_typing",
    "webwidget_triggered"
};

static const struct { const char *raw; const char *name; } channels[] = {
    { "Channel::Whatsapp",     "whatsapp" },
    { "Channel::Instagram",    "instagram" },
    { "Channel::FacebookPage", "facebook" },
    { "Channel::WebWidget",    "web" },
    { "Channel::Email",        "email" },
    { "Channel::Api",          "api" },
    { "Channel::Telegram",     "telegram" },
    { "Channel::TwilioSms",    "sms" },
    { "Channel::Sms",          "sms" },
    { "Channel::Line",         "line" },
    { "Channel::Tiktok",       "tiktok" },
    { "Channel::Voice",        "voice" },
};

const char *
cwai_event_name(cwai_event_type_t t)
{
    return (unsigned) t < CWAI_EV__COUNT ? event_names[t] : "other";
}

const char *
cwai_status_name(cwai_conv_status_t s)
{
    switch (s) {
    case CWAI_STATUS_OPEN:     return "open";
    case CWAI_STATUS_PENDING:  return "pending";
    case CWAI_STATUS_RESOLVED: return "resolved";
    case CWAI_STATUS_SNOOZED:  return "snoozed";
    default:                   return "unknown";
    }
}

cwai_conv_status_t
cwai_status_from_name(const char *s, size_t len)
{
    cwai_conv_status_t  st;

    for (st = CWAI_STATUS_OPEN; st <= CWAI_STATUS_SNOOZED; st++) {
        const char *n = cwai_status_name(st);
        if (strlen(n) == len && memcmp(n, s, len) == 0) {
            return st;
        }
    }
    return CWAI_STATUS_UNKNOWN;
}

const char *
cwai_owner_signal_name(cwai_owner_signal_t s)
{
    switch (s) {
    case CWAI_OWNER_HUMAN_REPLIED: return "human_replied";
    case CWAI_OWNER_ASSIGNED:      return "assigned";
    case CWAI_OWNER_STATUS:        return "status_changed";
    case CWAI_OWNER_RELEASED:      return "released";
    default:                       return "none";
    }
}

/* ---- typed field access with a path for error messages ---------------- */

static const char *
type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "object";
    case JSON_ARRAY:   return "array";
    case JSON_STRING:  return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL:    return "number";
    case JSON_TRUE:
    case JSON_FALSE:   return "boolean";
    default:           return "null";
    }
}

/*
 * The value of obj[key] when it has the type (JSON_INTEGER, JSON_STRING,
 * JSON_OBJECT): 0 and *out set; absent or null: 0 and *out NULL, or -1 when
 * required; another type: -1. Errors name the field by path.
 */
static int
get_typed(json_t *obj, const char *key, const char *path, int required,
    json_type type, const char *type_text, json_t **out, cwai_err_t *err)
{
    json_t  *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            cwai_err_set(err, "invalid_payload", "field %s%s is missing", path, key);
            return -1;
        }
        return 0;
    }
    if (json_typeof(v) != type) {
        cwai_err_set(err, "invalid_payload", "field %s%s must be %s, got %s",
                     path, key, type_text, type_name(v));
        return -1;
    }
    *out = v;
    return 0;
}

static int
get_int(json_t *obj, const char *key, const char *path, int required,
    int64_t *out, cwai_err_t *err)
{
    json_t  *v;

    if (get_typed(obj, key, path, required, JSON_INTEGER, "an integer", &v, err)
        != 0)
    {
        return -1;
    }
    if (v != NULL) {
        *out = (int64_t) json_integer_value(v);
    }
    return 0;
}

static int
get_str(json_t *obj, const char *key, const char *path, int required,
    const char **out, size_t *len, cwai_err_t *err)
{
    json_t  *v;

    if (get_typed(obj, key, path, required, JSON_STRING, "a string", &v, err) != 0) {
        return -1;
    }
    if (v != NULL) {
        *out = json_string_value(v);
        if (len) {
            *len = json_string_length(v);
        }
    }
    return 0;
}

static int
get_obj(json_t *obj, const char *key, const char *path, int required,
    json_t **out, cwai_err_t *err)
{
    return get_typed(obj, key, path, required, JSON_OBJECT, "an object", out, err);
}

static cwai_sender_t
sender_from_type(const char *t)
{
    if (t == NULL)                            return CWAI_SENDER_OTHER;
    if (strcmp(t, "contact") == 0)            return CWAI_SENDER_CONTACT;
    if (strcmp(t, "user") == 0)               return CWAI_SENDER_USER;
    if (strcmp(t, "agent_bot") == 0)          return CWAI_SENDER_AGENT_BOT;
    if (strcmp(t, "captain_assistant") == 0)  return CWAI_SENDER_CAPTAIN;
    return CWAI_SENDER_OTHER;
}

/* The conversation object: top level of conversation events, or nested. */
static int
parse_conversation(json_t *conv, const char *path, cwai_webhook_t *wh,
    cwai_err_t *err)
{
    const char  *status = NULL, *atype = NULL, *channel = NULL;
    size_t       slen = 0, i;
    json_t      *meta, *assignee, *acct, *v;
    char         mpath[64];

    if (get_int(conv, "id", path, 1, &wh->conversation_id, err) != 0
        || get_int(conv, "inbox_id", path, 1, &wh->inbox_id, err) != 0
        || get_str(conv, "status", path, 1, &status, &slen, err) != 0
        || get_str(conv, "channel", path, 0, &channel, NULL, err) != 0
        || get_obj(conv, "meta", path, 0, &meta, err) != 0)
    {
        return -1;
    }
    wh->status = cwai_status_from_name(status, slen);

    v = json_object_get(conv, "can_reply");
    wh->can_reply = (v == NULL || !json_is_false(v));

    if (channel != NULL) {
        wh->channel_raw = channel;
        wh->channel = "other";
        for (i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
            if (strcmp(channel, channels[i].raw) == 0) {
                wh->channel = channels[i].name;
                break;
            }
        }
    }

    if (wh->account_id == 0
        && get_obj(conv, "account", path, 0, &acct, err) == 0 && acct != NULL)
    {
        snprintf(mpath, sizeof(mpath), "%saccount.", path);
        if (get_int(acct, "id", mpath, 0, &wh->account_id, err) != 0) {
            return -1;
        }
    }

    if (meta != NULL) {
        snprintf(mpath, sizeof(mpath), "%smeta.", path);
        if (get_obj(meta, "assignee", mpath, 0, &assignee, err) != 0
            || get_str(meta, "assignee_type", mpath, 0, &atype, NULL, err) != 0)
        {
            return -1;
        }
        if (atype != NULL) {
            wh->assignee = strcmp(atype, "User") == 0 ? CWAI_SENDER_USER
                         : strcmp(atype, "AgentBot") == 0 ? CWAI_SENDER_AGENT_BOT
                         : CWAI_SENDER_OTHER;
        } else if (assignee != NULL) {
            const char *t = NULL;
            (void) get_str(assignee, "type", "", 0, &t, NULL, NULL);
            wh->assignee = t ? sender_from_type(t) : CWAI_SENDER_USER;
        }
    }
    return 0;
}

static int
parse_message(json_t *root, cwai_webhook_t *wh, cwai_err_t *err)
{
    json_t      *v, *conv, *sender, *acct, *inbox, *meta, *msender;
    const char  *mt = NULL, *stype = NULL;
    int64_t      sid = 0, mid = 0;

    if (get_int(root, "id", "", 1, &wh->message_id, err) != 0
        || get_obj(root, "conversation", "", 1, &conv, err) != 0
        || get_obj(root, "account", "", 0, &acct, err) != 0
        || get_obj(root, "inbox", "", 0, &inbox, err) != 0
        || get_str(root, "content_type", "", 0, &wh->content_type, NULL, err) != 0
        || get_str(root, "content", "", 0, &wh->content, &wh->content_len, err) != 0)
    {
        return -1;
    }
    if (acct != NULL && get_int(acct, "id", "account.", 0, &wh->account_id, err) != 0) {
        return -1;
    }

    v = json_object_get(root, "message_type");
    if (v == NULL || json_is_null(v)) {
        cwai_err_set(err, "invalid_payload", "field message_type is missing");
        return -1;
    }
    if (json_is_string(v)) {
        mt = json_string_value(v);
        wh->message_type = strcmp(mt, "incoming") == 0 ? CWAI_MSG_INCOMING
                         : strcmp(mt, "outgoing") == 0 ? CWAI_MSG_OUTGOING
                         : strcmp(mt, "activity") == 0 ? CWAI_MSG_ACTIVITY
                         : strcmp(mt, "template") == 0 ? CWAI_MSG_TEMPLATE
                         : CWAI_MSG_UNKNOWN;
    } else if (json_is_integer(v)) {
        /* push form: 0 incoming, 1 outgoing, 2 activity, 3 template */
        json_int_t n = json_integer_value(v);
        wh->message_type = (n >= 0 && n <= 3) ? (cwai_msg_type_t) (n + 1)
                                              : CWAI_MSG_UNKNOWN;
    } else {
        cwai_err_set(err, "invalid_payload",
                     "field message_type must be a string or an integer, got %s",
                     type_name(v));
        return -1;
    }

    v = json_object_get(root, "private");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            cwai_err_set(err, "invalid_payload",
                         "field private must be a boolean, got %s", type_name(v));
            return -1;
        }
        wh->is_private = json_is_true(v);
    }

    v = json_object_get(root, "attachments");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v)) {
            cwai_err_set(err, "invalid_payload",
                         "field attachments must be an array, got %s", type_name(v));
            return -1;
        }
        wh->attachments = json_array_size(v);
    }

    if (parse_conversation(conv, "conversation.", wh, err) != 0) {
        return -1;
    }
    if (inbox != NULL) {
        int64_t iid = 0;
        if (get_int(inbox, "id", "inbox.", 0, &iid, err) != 0) {
            return -1;
        }
        if (iid != 0) {
            wh->inbox_id = iid;
        }
    }

    /* Contacts carry no sender.type; agents and bots do (protocol §4). */
    if (get_obj(root, "sender", "", 0, &sender, err) != 0) {
        return -1;
    }
    if (sender == NULL) {
        wh->sender = CWAI_SENDER_NONE;
        return 0;
    }
    if (get_str(sender, "type", "sender.", 0, &stype, NULL, err) != 0
        || get_int(sender, "id", "sender.", 0, &sid, err) != 0)
    {
        return -1;
    }
    if (stype != NULL) {
        wh->sender = sender_from_type(stype);
    } else {
        /* no type: a contact if it matches the conversation's contact, or
         * if the message is incoming (only contacts write incoming ones) */
        wh->sender = wh->message_type == CWAI_MSG_INCOMING ? CWAI_SENDER_CONTACT
                                                           : CWAI_SENDER_OTHER;
        meta = json_object_get(conv, "meta");
        msender = meta ? json_object_get(meta, "sender") : NULL;
        if (json_is_object(msender)
            && get_int(msender, "id", "", 0, &mid, NULL) == 0 && mid == sid
            && sid != 0)
        {
            wh->sender = CWAI_SENDER_CONTACT;
        }
    }
    if (wh->sender == CWAI_SENDER_CONTACT) {
        wh->contact_id = sid;
        (void) get_str(sender, "name", "", 0, &wh->contact_name, NULL, NULL);
        (void) get_str(sender, "phone_number", "", 0, &wh->contact_phone, NULL, NULL);
        (void) get_str(sender, "email", "", 0, &wh->contact_email, NULL, NULL);
    }
    return 0;
}

int
cwai_webhook_parse(const char *body, size_t len, cwai_webhook_t *wh,
    cwai_err_t *err)
{
    json_error_t  jerr;
    json_t       *root;
    const char   *ev = NULL;
    size_t        i;
    int           rc;

    memset(wh, 0, sizeof(*wh));
    wh->channel = "unknown";
    wh->can_reply = 1;

    if (len == 0) {
        cwai_err_set(err, "invalid_json", "empty body");
        return -1;
    }
    /* REJECT_DUPLICATES: two "event" keys are an attack, not a payload.
     * ALLOW_NUL is off: strings with \u0000 are refused. */
    root = cwai_json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        cwai_err_set(err, "invalid_json", "line %d column %d: %s",
                     jerr.line, jerr.column, jerr.text);
        return -1;
    }
    wh->root = root;

    if (!json_is_object(root)) {
        cwai_err_set(err, "invalid_payload", "body must be a JSON object, got %s",
                     type_name(root));
        goto failed;
    }
    if (get_str(root, "event", "", 1, &ev, NULL, err) != 0) {
        goto failed;
    }
    wh->event = ev;
    wh->type = CWAI_EV_OTHER;
    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (strcmp(ev, events[i].name) == 0) {
            wh->type = events[i].type;
            break;
        }
    }

    switch (wh->type) {
    case CWAI_EV_MESSAGE_CREATED:
    case CWAI_EV_MESSAGE_UPDATED:
        rc = parse_message(root, wh, err);
        break;
    case CWAI_EV_CONVERSATION_CREATED:
    case CWAI_EV_CONVERSATION_STATUS_CHANGED:
    case CWAI_EV_CONVERSATION_UPDATED:
    case CWAI_EV_CONVERSATION_OPENED:
    case CWAI_EV_CONVERSATION_RESOLVED:
        rc = parse_conversation(root, "", wh, err);
        break;
    default:
        rc = 0;     /* events we do not act on need no fields */
        break;
    }
    if (rc != 0) {
        goto failed;
    }
    return 0;

failed:
    json_decref(root);
    wh->root = NULL;
    return -1;
}

void
cwai_webhook_free(cwai_webhook_t *wh)
{
    if (wh->root) {
        json_decref(wh->root);
        wh->root = NULL;
    }
}

static int
bot_status(const cwai_webhook_t *wh, const cwai_filter_conf_t *conf)
{
    return (conf->statuses & CWAI_STATUS_BIT(wh->status)) != 0;
}

void
cwai_webhook_classify(const cwai_webhook_t *wh, const cwai_filter_conf_t *conf,
    cwai_verdict_t *v)
{
    v->accept = 0;
    v->owner = CWAI_OWNER_NOCHANGE;

    switch (wh->type) {
    case CWAI_EV_MESSAGE_CREATED:
        if (wh->message_type == CWAI_MSG_OUTGOING && !wh->is_private
            && wh->sender == CWAI_SENDER_USER)
        {
            v->owner = CWAI_OWNER_HUMAN_REPLIED;
        } else if (wh->assignee == CWAI_SENDER_USER) {
            v->owner = CWAI_OWNER_ASSIGNED;
        }

        if (wh->message_type != CWAI_MSG_INCOMING) {
            v->reason = "not_incoming";
        } else if (wh->is_private) {
            v->reason = "private_note";
        } else if (wh->sender != CWAI_SENDER_CONTACT) {
            v->reason = "not_from_contact";
        } else if ((wh->content == NULL || wh->content_len == 0)
                   && wh->attachments == 0)
        {
            v->reason = "empty_message";
        } else if (!bot_status(wh, conf)) {
            v->reason = wh->status == CWAI_STATUS_OPEN ? "conversation_open"
                      : wh->status == CWAI_STATUS_RESOLVED ? "conversation_resolved"
                      : wh->status == CWAI_STATUS_SNOOZED ? "conversation_snoozed"
                      : wh->status == CWAI_STATUS_PENDING ? "conversation_pending"
                      : "conversation_status_unknown";
        } else if (wh->assignee == CWAI_SENDER_USER) {
            v->reason = "human_assigned";
        } else {
            v->accept = 1;
            v->reason = "customer_message";
        }
        return;

    case CWAI_EV_CONVERSATION_CREATED:
    case CWAI_EV_CONVERSATION_STATUS_CHANGED:
    case CWAI_EV_CONVERSATION_UPDATED:
    case CWAI_EV_CONVERSATION_OPENED:
    case CWAI_EV_CONVERSATION_RESOLVED:
        if (wh->assignee == CWAI_SENDER_USER && wh->status != CWAI_STATUS_RESOLVED) {
            v->owner = CWAI_OWNER_ASSIGNED;
        } else if (bot_status(wh, conf) || wh->status == CWAI_STATUS_RESOLVED) {
            /* handed back to the bot, or the episode ended */
            v->owner = wh->type == CWAI_EV_CONVERSATION_CREATED
                       ? CWAI_OWNER_NOCHANGE : CWAI_OWNER_RELEASED;
        } else {
            v->owner = CWAI_OWNER_STATUS;
        }
        v->reason = "conversation_event";
        return;

    case CWAI_EV_MESSAGE_UPDATED:
        v->reason = "message_updated";
        return;

    default:
        v->reason = "unsupported_event";
        return;
    }
}
