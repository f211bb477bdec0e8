/*
 * Chatwoot webhook payloads: parse (jansson) and decide what the bot does
 * with them. See docs/chatwoot-protocol notes in docs/webhook.md.
 */
#ifndef CWAI_WEBHOOK_H
#define CWAI_WEBHOOK_H

#include "cwai_common.h"

#include <jansson.h>

typedef enum {
    CWAI_EV_OTHER = 0,
    CWAI_EV_MESSAGE_CREATED,
    CWAI_EV_MESSAGE_UPDATED,
    CWAI_EV_CONVERSATION_CREATED,
    CWAI_EV_CONVERSATION_STATUS_CHANGED,
    CWAI_EV_CONVERSATION_UPDATED,
    CWAI_EV_CONVERSATION_OPENED,
    CWAI_EV_CONVERSATION_RESOLVED,
    CWAI_EV_TYPING,
    CWAI_EV_WEBWIDGET_TRIGGERED,
    CWAI_EV__COUNT
} cwai_event_type_t;

typedef enum {
    CWAI_MSG_UNKNOWN = 0, CWAI_MSG_INCOMING, CWAI_MSG_OUTGOING,
    CWAI_MSG_ACTIVITY, CWAI_MSG_TEMPLATE
} cwai_msg_type_t;

typedef enum {
    CWAI_SENDER_NONE = 0,       /* null sender: echo from the phone app */
    CWAI_SENDER_CONTACT, CWAI_SENDER_USER, CWAI_SENDER_AGENT_BOT,
    CWAI_SENDER_CAPTAIN, CWAI_SENDER_OTHER
} cwai_sender_t;

typedef enum {
    CWAI_STATUS_UNKNOWN = 0, CWAI_STATUS_OPEN, CWAI_STATUS_PENDING,
    CWAI_STATUS_RESOLVED, CWAI_STATUS_SNOOZED
} cwai_conv_status_t;

/* Bits for cwai_filter_conf_t.statuses */
#define CWAI_STATUS_BIT(s)  (1u << (s))

typedef struct {
    json_t             *root;           /* owned; strings below point into it */

    cwai_event_type_t   type;
    const char         *event;          /* the "event" value as sent */
    int64_t             account_id;     /* 0 when the payload has none */
    int64_t             inbox_id;
    int64_t             conversation_id;    /* display id (REST paths) */
    int64_t             message_id;     /* 0 for conversation events */
    const char         *channel;        /* short: whatsapp, instagram, ... */
    const char         *channel_raw;    /* "Channel::Whatsapp" */

    cwai_msg_type_t     message_type;
    int                 is_private;
    cwai_sender_t       sender;
    const char         *content;        /* NULL for attachment-only */
    size_t              content_len;
    size_t              attachments;
    const char         *content_type;

    cwai_conv_status_t  status;         /* conversation status */
    cwai_sender_t       assignee;       /* NONE, USER or AGENT_BOT */
    int                 can_reply;

    /* the contact (for later lookups bound to the sender) */
    int64_t             contact_id;
    const char         *contact_name;
    const char         *contact_phone;
    const char         *contact_email;
} cwai_webhook_t;

/*
 * Parses a webhook body. On error returns -1 and fills err with
 * code "invalid_json" (syntax, with line and column) or "invalid_payload"
 * (a required field missing or of the wrong type, naming its path).
 */
int cwai_webhook_parse(const char *body, size_t len, cwai_webhook_t *wh,
    cwai_err_t *err);
void cwai_webhook_free(cwai_webhook_t *wh);

const char *cwai_event_name(cwai_event_type_t t);   /* metric label */
const char *cwai_status_name(cwai_conv_status_t s);
cwai_conv_status_t cwai_status_from_name(const char *s, size_t len);

typedef struct {
    unsigned    statuses;       /* CWAI_STATUS_BIT mask the bot answers in */
} cwai_filter_conf_t;

/* What a webhook tells about who owns the conversation. */
typedef enum {
    CWAI_OWNER_NOCHANGE = 0,
    CWAI_OWNER_HUMAN_REPLIED,   /* an agent (user) posted a public reply */
    CWAI_OWNER_ASSIGNED,        /* a user is the assignee */
    CWAI_OWNER_STATUS,          /* status moved to one the bot does not own */
    CWAI_OWNER_RELEASED         /* back to a bot status, or resolved */
} cwai_owner_signal_t;

const char *cwai_owner_signal_name(cwai_owner_signal_t s);

typedef struct {
    int                  accept;        /* 1: a customer message to answer */
    const char          *reason;        /* why ignored (static string) */
    cwai_owner_signal_t  owner;
} cwai_verdict_t;

void cwai_webhook_classify(const cwai_webhook_t *wh,
    const cwai_filter_conf_t *conf, cwai_verdict_t *v);

#endif
