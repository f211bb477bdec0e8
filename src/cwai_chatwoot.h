/*
 * Chatwoot REST calls made by the gateway (the agent bot's allowed set):
 * reply, private note, toggle_status (handoff), toggle_typing_status,
 * labels (GET + POST, which replaces the whole list) and assignments.
 *
 * Paths: /api/v1/accounts/{account}/conversations/{display id}/...
 * Auth: the agent bot's access token in the header api_access_token. The
 * operator normally sets it in the nginx location
 *     proxy_set_header Api-Access-Token "<bot token>";
 * (the hyphen form reaches Rails as HTTP_API_ACCESS_TOKEN too, and
 * survives proxies that drop underscored headers). For one location
 * serving several accounts, put the token in cwai_cw_conv_t.api_token:
 * it is then sent per request (as Api-Access-Token) and never logged.
 */
#ifndef CWAI_CHATWOOT_H
#define CWAI_CHATWOOT_H

#include "cwai_http.h"

#define CWAI_CW_MAX_CONTENT     150000  /* characters (Chatwoot's limit) */
#define CWAI_CW_MAX_ITEMS       10      /* WhatsApp list rows */
#define CWAI_CW_MAX_TITLE       24      /* characters; 20 for <= 3 items
                                           (WhatsApp reply buttons) */
#define CWAI_CW_MAX_LABELS      64

typedef struct {
    int64_t      account_id;
    int64_t      conversation_id;   /* the display id of the webhook */
    const char  *api_token;         /* per-request token, or NULL */
    uint32_t     timeout_ms;
} cwai_cw_conv_t;

typedef struct {
    const char  *title;             /* shown; a tap comes back as this text */
    const char  *value;             /* NULL: the title */
} cwai_cw_item_t;

/* The customer reply: {"content", "message_type":"outgoing", "private":
 * false, "content_type":"text", "echo_id"?}. echo_id ([A-Za-z0-9_.:-],
 * <= 64) comes back in the reply and in the webhook echo. */
int  cwai_chatwoot_build_reply(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *content, const char *echo_id, cwai_err_t *err);

/* A reply with choices: content_type "input_select",
 * content_attributes.items [{title, value}], 1..CWAI_CW_MAX_ITEMS items. */
int  cwai_chatwoot_build_select(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *content, const cwai_cw_item_t *items, size_t n,
    const char *echo_id, cwai_err_t *err);

/* A private note for the human agents: {"content", "message_type":
 * "outgoing", "private": true}. */
int  cwai_chatwoot_build_note(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *content, cwai_err_t *err);

/* POST .../toggle_status {"status"} (+ "snoozed_until" epoch, only with
 * "snoozed"). The handoff is status "open"; "pending" gives it back to
 * the bot. */
int  cwai_chatwoot_build_toggle_status(cwai_http_req_t *req,
    const cwai_cw_conv_t *c, const char *status, int64_t snoozed_until,
    cwai_err_t *err);

/* POST .../toggle_typing_status {"typing_status":"on"|"off",
 * "is_private":false}. Shown in Chatwoot's UI only (not on WhatsApp). */
int  cwai_chatwoot_build_typing(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    int on, cwai_err_t *err);

/* GET .../labels (the current list). */
int  cwai_chatwoot_build_labels_get(cwai_http_req_t *req,
    const cwai_cw_conv_t *c, cwai_err_t *err);
/* POST .../labels {"labels":[...]}: REPLACES the whole list, so send the
 * result of cwai_chatwoot_labels_merge(). */
int  cwai_chatwoot_build_labels_set(cwai_http_req_t *req,
    const cwai_cw_conv_t *c, const char *const *labels, size_t n,
    cwai_err_t *err);

/*
 * current + add - remove, without duplicates (case-insensitive), current
 * order first. Current labels are kept as Chatwoot has them; added ones are
 * lower-cased and must be [a-z0-9_-]{1,255} (others are dropped). *out is a
 * malloc'd array of malloc'd strings (free with cwai_chatwoot_labels_free).
 * Returns 1 when the list changed (a POST is needed), 0 when not, -1 on
 * allocation failure or NULL arrays with a count.
 */
int  cwai_chatwoot_labels_merge(const char *const *current, size_t ncurrent,
    const char *const *add, size_t nadd, const char *const *remove,
    size_t nremove, char ***out, size_t *nout);
void cwai_chatwoot_labels_free(char **labels, size_t n);

/* POST .../assignments {"assignee_id"} or {"team_id"} (exactly one > 0). */
int  cwai_chatwoot_build_assign(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    int64_t assignee_id, int64_t team_id, cwai_err_t *err);

typedef struct {
    int64_t  id;                    /* the created message's id */
    char     echo_id[65];           /* "" when absent */
    int      private_note;
} cwai_cw_message_t;

/*
 * Parsers. Errors (-1 + err):
 *   401 "unauthorized" ("Invalid Access Token", "... not authorized for
 *       bots") and 403, 404 "not_found": FATAL;
 *   422 "too_many_messages" (Chatwoot's 200/min flood guard: a bot loop)
 *       and other 422 "unprocessable": FATAL;
 *   429 "rate_limited" (text/plain "Retry later", no Retry-After) and 5xx,
 *       no response, truncated: RETRY;
 *   a 2xx body of the wrong shape: FATAL "malformed_body".
 */
int  cwai_chatwoot_parse_message(const cwai_http_resp_t *resp,
    cwai_cw_message_t *out, cwai_uperr_t *err);
/* {"payload":["a","b"]} (GET and POST labels). */
int  cwai_chatwoot_parse_labels(const cwai_http_resp_t *resp, char ***labels,
    size_t *n, cwai_uperr_t *err);
/* {"payload":{"success":..,"current_status":"open",...}} -> status[16]. */
int  cwai_chatwoot_parse_status(const cwai_http_resp_t *resp, char status[16],
    cwai_uperr_t *err);
/* Any 2xx, body ignored (typing, assignments). */
int  cwai_chatwoot_parse_ok(const cwai_http_resp_t *resp, cwai_uperr_t *err);
/* Classifies a non-2xx reply. Returns -1. */
int  cwai_chatwoot_error(const cwai_http_resp_t *resp, cwai_uperr_t *err);

#endif
