/*
 * Chatwoot REST request builders and parsers (see cwai_chatwoot.h).
 */
#include "cwai_chatwoot.h"
#include "cwai_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Code points of valid UTF-8 s, or -1 when invalid. */
static long
utf8_chars(const char *s)
{
    json_t  *j = json_string(s);        /* jansson validates UTF-8 */
    long     n = 0;

    if (j == NULL) {
        return -1;
    }
    json_decref(j);
    for (; *s; s++) {
        if (((unsigned char) *s & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

static int
start(cwai_http_req_t *req, const cwai_cw_conv_t *c, const char *method,
    const char *tail, cwai_err_t *err)
{
    cwai_http_req_init(req, CWAI_UP_CHATWOOT, method);
    if (c == NULL || c->account_id <= 0 || c->conversation_id <= 0) {
        cwai_err_set(err, "chatwoot_input", "account and conversation ids needed");
        return -1;
    }
    if (cwai_http_req_set_path(req, "/api/v1/accounts/%lld/conversations/%lld%s",
                               (long long) c->account_id,
                               (long long) c->conversation_id, tail) != 0)
    {
        cwai_err_set(err, "no_memory", "building a Chatwoot call");
        return -1;
    }
    if (c->api_token && c->api_token[0]
        && cwai_http_req_add_header(req, "Api-Access-Token", c->api_token, 1))
    {
        cwai_http_req_free(req);
        cwai_err_set(err, "chatwoot_config", "invalid api token");
        return -1;
    }
    req->timeout_ms = c->timeout_ms;
    return 0;
}

static int
finish(cwai_http_req_t *req, json_t *body, cwai_err_t *err)
{
    int  rc = 0;

    if (body == NULL || cwai_http_req_set_json(req, body) != 0) {
        cwai_http_req_free(req);
        cwai_err_set(err, "no_memory", "building a Chatwoot call");
        rc = -1;
    }
    json_decref(body);
    return rc;
}

static int
check_content(const char *content, int required, cwai_err_t *err)
{
    long  n;

    if (content == NULL || content[0] == '\0') {
        if (required) {
            cwai_err_set(err, "chatwoot_input", "empty message content");
            return -1;
        }
        return 0;
    }
    n = utf8_chars(content);
    if (n < 0) {
        cwai_err_set(err, "chatwoot_input", "message content is not UTF-8");
        return -1;
    }
    if (n > CWAI_CW_MAX_CONTENT) {
        cwai_err_set(err, "chatwoot_input", "message of %ld characters (max %d)",
                     n, CWAI_CW_MAX_CONTENT);
        return -1;
    }
    return 0;
}

static int
valid_echo(const char *e)
{
    size_t  i;

    for (i = 0; e[i]; i++) {
        if (!(isalnum((unsigned char) e[i]) || strchr("_.:-", e[i]))) {
            return 0;
        }
    }
    return i > 0 && i <= 64;
}

static json_t *
message(const char *content, int private_note, const char *ctype,
    const char *echo_id)
{
    json_t  *o = json_object();
    int      rc = 0;

    if (o == NULL) {
        return NULL;
    }
    if (content && content[0]) {
        rc |= json_object_set_new(o, "content", json_string(content));
    }
    rc |= json_object_set_new(o, "message_type", json_string("outgoing"));
    rc |= json_object_set_new(o, "private", json_boolean(private_note));
    if (ctype) {
        rc |= json_object_set_new(o, "content_type", json_string(ctype));
    }
    if (echo_id) {
        rc |= json_object_set_new(o, "echo_id", json_string(echo_id));
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int
cwai_chatwoot_build_reply(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *content, const char *echo_id, cwai_err_t *err)
{
    if (start(req, c, "POST", "/messages", err) != 0) {
        return -1;
    }
    if (check_content(content, 1, err) != 0
        || (echo_id && !valid_echo(echo_id)))
    {
        if (echo_id && !valid_echo(echo_id)) {
            cwai_err_set(err, "chatwoot_input", "invalid echo_id");
        }
        cwai_http_req_free(req);
        return -1;
    }
    return finish(req, message(content, 0, "text", echo_id), err);
}

int
cwai_chatwoot_build_select(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *content, const cwai_cw_item_t *items, size_t n,
    const char *echo_id, cwai_err_t *err)
{
    json_t       *o, *arr, *it;
    size_t        i;
    long          tl, maxt = n <= 3 ? 20 : CWAI_CW_MAX_TITLE;
    const char   *v;

    if (start(req, c, "POST", "/messages", err) != 0) {
        return -1;
    }
    if (check_content(content, 0, err) != 0) {
        cwai_http_req_free(req);
        return -1;
    }
    if (items == NULL || n == 0 || n > CWAI_CW_MAX_ITEMS
        || (echo_id && !valid_echo(echo_id)))
    {
        cwai_http_req_free(req);
        cwai_err_set(err, "chatwoot_input", "1..%d items and a valid echo_id",
                     CWAI_CW_MAX_ITEMS);
        return -1;
    }
    arr = json_array();
    o = message(content, 0, "input_select", echo_id);
    if (o == NULL || arr == NULL
        || json_object_set_new(o, "content_attributes",
                               json_pack("{s:o}", "items", arr)) != 0)
    {
        json_decref(o);
        cwai_http_req_free(req);
        cwai_err_set(err, "no_memory", "building a Chatwoot call");
        return -1;
    }
    for (i = 0; i < n; i++) {
        tl = items[i].title ? utf8_chars(items[i].title) : -1;
        v = items[i].value ? items[i].value : items[i].title;
        if (tl < 1 || tl > maxt || utf8_chars(v) < 1 || strlen(v) > 200) {
            json_decref(o);
            cwai_http_req_free(req);
            cwai_err_set(err, "chatwoot_input", "item %zu: title must have "
                         "1..%ld characters, value 1..200 bytes", i, maxt);
            return -1;
        }
        it = json_pack("{s:s, s:s}", "title", items[i].title, "value", v);
        if (it == NULL || json_array_append_new(arr, it) != 0) {
            json_decref(o);
            cwai_http_req_free(req);
            cwai_err_set(err, "no_memory", "building a Chatwoot call");
            return -1;
        }
    }
    return finish(req, o, err);
}

int
cwai_chatwoot_build_note(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *content, cwai_err_t *err)
{
    if (start(req, c, "POST", "/messages", err) != 0) {
        return -1;
    }
    if (check_content(content, 1, err) != 0) {
        cwai_http_req_free(req);
        return -1;
    }
    return finish(req, message(content, 1, NULL, NULL), err);
}

int
cwai_chatwoot_build_toggle_status(cwai_http_req_t *req,
    const cwai_cw_conv_t *c, const char *status, int64_t snoozed_until,
    cwai_err_t *err)
{
    json_t  *o;

    if (start(req, c, "POST", "/toggle_status", err) != 0) {
        return -1;
    }
    if (status == NULL || (strcmp(status, "open") != 0
                           && strcmp(status, "pending") != 0
                           && strcmp(status, "resolved") != 0
                           && strcmp(status, "snoozed") != 0))
    {
        cwai_http_req_free(req);
        cwai_err_set(err, "chatwoot_input", "status must be open, pending, "
                     "resolved or snoozed");
        return -1;
    }
    o = json_pack("{s:s}", "status", status);
    if (o && snoozed_until > 0 && strcmp(status, "snoozed") == 0) {
        json_object_set_new(o, "snoozed_until", json_integer(snoozed_until));
    }
    return finish(req, o, err);
}

int
cwai_chatwoot_build_typing(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    int on, cwai_err_t *err)
{
    if (start(req, c, "POST", "/toggle_typing_status", err) != 0) {
        return -1;
    }
    return finish(req, json_pack("{s:s, s:b}", "typing_status",
                                 on ? "on" : "off", "is_private", 0), err);
}

int
cwai_chatwoot_build_labels_get(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    cwai_err_t *err)
{
    return start(req, c, "GET", "/labels", err);
}

/* Lower-cased copy when a valid label, else NULL. */
static char *
label_norm(const char *s)
{
    size_t  n, i;
    char   *d;

    if (s == NULL) {
        return NULL;
    }
    n = strlen(s);
    if (n == 0 || n > 255) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (!(isalnum((unsigned char) s[i]) || s[i] == '_' || s[i] == '-')
            || (unsigned char) s[i] >= 0x80)
        {
            return NULL;
        }
    }
    d = malloc(n + 1);
    if (d) {
        for (i = 0; i <= n; i++) {
            d[i] = (char) tolower((unsigned char) s[i]);
        }
    }
    return d;
}

/* A label as Chatwoot stores it: non-empty UTF-8 without controls. */
static int
label_ok(const char *s)
{
    size_t  i;

    if (s == NULL || s[0] == '\0' || strlen(s) > 255 || utf8_chars(s) < 0) {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int
cwai_chatwoot_build_labels_set(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    const char *const *labels, size_t n, cwai_err_t *err)
{
    json_t  *arr, *o;
    size_t   i;

    if (start(req, c, "POST", "/labels", err) != 0) {
        return -1;
    }
    if (n > CWAI_CW_MAX_LABELS || (n > 0 && labels == NULL)) {
        cwai_http_req_free(req);
        cwai_err_set(err, "chatwoot_input", "at most %d labels",
                     CWAI_CW_MAX_LABELS);
        return -1;
    }
    arr = json_array();
    o = json_pack("{s:o}", "labels", arr);
    for (i = 0; o && i < n; i++) {
        if (!label_ok(labels[i])) {
            json_decref(o);
            cwai_http_req_free(req);
            cwai_err_set(err, "chatwoot_input", "invalid label %zu", i);
            return -1;
        }
        if (json_array_append_new(arr, json_string(labels[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return finish(req, o, err);
}

static int
has(char **v, size_t n, const char *s)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(v[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
in_list(const char *const *v, size_t n, const char *s)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (v[i] && strcasecmp(v[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

int
cwai_chatwoot_labels_merge(const char *const *current, size_t ncurrent,
    const char *const *add, size_t nadd, const char *const *remove,
    size_t nremove, char ***out, size_t *nout)
{
    char   **r;
    size_t   n = 0, i;
    int      changed = 0;
    char    *l;

    *out = NULL;
    *nout = 0;
    if ((ncurrent && current == NULL) || (nadd && add == NULL)
        || (nremove && remove == NULL))
    {
        return -1;
    }
    r = calloc(ncurrent + nadd + 1, sizeof(char *));
    if (r == NULL) {
        return -1;
    }
    /* the current labels stay as Chatwoot has them, unless removed */
    for (i = 0; i < ncurrent; i++) {
        if (!label_ok(current[i]) || has(r, n, current[i])
            || n >= CWAI_CW_MAX_LABELS)
        {
            continue;           /* Chatwoot cannot hold such a label */
        }
        if (in_list(remove, nremove, current[i])) {
            changed = 1;
            continue;
        }
        r[n] = strdup(current[i]);
        if (r[n] == NULL) {
            goto nomem;
        }
        n++;
    }
    /* new ones: [a-z0-9_-] after lower-casing */
    for (i = 0; i < nadd; i++) {
        l = label_norm(add[i]);
        if (l == NULL || has(r, n, l) || in_list(remove, nremove, l)
            || n >= CWAI_CW_MAX_LABELS)
        {
            free(l);
            continue;
        }
        r[n++] = l;
        changed = 1;
    }
    *out = r;
    *nout = n;
    return changed;

nomem:
    cwai_chatwoot_labels_free(r, n);
    return -1;
}

void
cwai_chatwoot_labels_free(char **labels, size_t n)
{
    size_t  i;

    if (labels) {
        for (i = 0; i < n; i++) {
            free(labels[i]);
        }
        free(labels);
    }
}

int
cwai_chatwoot_build_assign(cwai_http_req_t *req, const cwai_cw_conv_t *c,
    int64_t assignee_id, int64_t team_id, cwai_err_t *err)
{
    if (start(req, c, "POST", "/assignments", err) != 0) {
        return -1;
    }
    if ((assignee_id > 0) == (team_id > 0)) {
        cwai_http_req_free(req);
        cwai_err_set(err, "chatwoot_input", "exactly one of assignee or team");
        return -1;
    }
    return finish(req, assignee_id > 0
                  ? json_pack("{s:I}", "assignee_id", (json_int_t) assignee_id)
                  : json_pack("{s:I}", "team_id", (json_int_t) team_id), err);
}

/* ---- replies ------------------------------------------------------------ */

int
cwai_chatwoot_error(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    json_t      *j = NULL;
    const char  *msg = NULL, *code = NULL;
    size_t       len = 0;

    if (resp->body && resp->len > 0 && resp->len <= CWAI_HTTP_MAX_BODY) {
        j = cwai_json_loadb(resp->body, resp->len, JSON_DECODE_ANY, NULL);
    }
    if (json_is_object(j)) {
        msg = json_string_value(json_object_get(j, "error"));
        if (msg == NULL) {
            msg = json_string_value(json_object_get(j, "message"));
        }
        len = msg ? strlen(msg) : 0;
    } else if (j == NULL && resp->body) {
        msg = resp->body;           /* "Retry later\n", an HTML error page */
        len = resp->len;
    }
    switch (resp->status) {
    case 401: code = "unauthorized"; break;
    case 403: code = "forbidden"; break;
    case 404: code = "not_found"; break;
    case 422: code = "unprocessable"; break;
    case 429: code = "rate_limited"; break;
    default: break;
    }
    if (resp->status == 422 && msg && len < 4096) {
        char  buf[4096];

        memcpy(buf, msg, len);
        buf[len] = '\0';
        if (strstr(buf, "Too many messages")) {
            code = "too_many_messages";
        }
    }
    cwai_http_fail(resp, err, code, msg, len);
    json_decref(j);
    return -1;
}

static json_t *
ok_json(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    cwai_uperr_clear(err);
    if (cwai_http_precheck(resp, err) != 0) {
        return NULL;
    }
    if (resp->status < 200 || resp->status > 299) {
        cwai_chatwoot_error(resp, err);
        return NULL;
    }
    return cwai_http_json(resp, err);
}

int
cwai_chatwoot_parse_message(const cwai_http_resp_t *resp,
    cwai_cw_message_t *out, cwai_uperr_t *err)
{
    json_t       *j;
    const json_t *id;
    const char   *echo;

    memset(out, 0, sizeof(*out));
    j = ok_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    id = json_object_get(j, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "created message without an id");
        json_decref(j);
        return -1;
    }
    out->id = json_integer_value(id);
    echo = json_string_value(json_object_get(j, "echo_id"));
    if (echo && strlen(echo) < sizeof(out->echo_id)) {
        memcpy(out->echo_id, echo, strlen(echo) + 1);
    }
    out->private_note = json_is_true(json_object_get(j, "private"));
    json_decref(j);
    return 0;
}

int
cwai_chatwoot_parse_labels(const cwai_http_resp_t *resp, char ***labels,
    size_t *n, cwai_uperr_t *err)
{
    json_t        *j;
    const json_t  *p, *v;
    size_t         i, k = 0;
    char         **r;

    *labels = NULL;
    *n = 0;
    j = ok_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    p = json_object_get(j, "payload");
    if (!json_is_array(p) || json_array_size(p) > 4096) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "labels reply without a payload array");
        json_decref(j);
        return -1;
    }
    r = calloc(json_array_size(p) + 1, sizeof(char *));
    if (r == NULL) {
        json_decref(j);
        cwai_uperr_set(err, CWAI_UPERR_RETRY, resp->status, "no_memory", NULL);
        return -1;
    }
    json_array_foreach(p, i, v) {
        if (!json_is_string(v)) {
            continue;
        }
        r[k] = strdup(json_string_value(v));
        if (r[k] == NULL) {
            cwai_chatwoot_labels_free(r, k);
            json_decref(j);
            cwai_uperr_set(err, CWAI_UPERR_RETRY, resp->status, "no_memory",
                           NULL);
            return -1;
        }
        k++;
    }
    *labels = r;
    *n = k;
    json_decref(j);
    return 0;
}

int
cwai_chatwoot_parse_status(const cwai_http_resp_t *resp, char status[16],
    cwai_uperr_t *err)
{
    json_t      *j;
    const char  *s;

    status[0] = '\0';
    j = ok_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    s = json_string_value(json_object_get(json_object_get(j, "payload"),
                                          "current_status"));
    if (s == NULL || strlen(s) >= 16) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "toggle_status reply without payload.current_status");
        json_decref(j);
        return -1;
    }
    memcpy(status, s, strlen(s) + 1);
    json_decref(j);
    return 0;
}

int
cwai_chatwoot_parse_ok(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    cwai_uperr_clear(err);
    if (cwai_http_precheck(resp, err) != 0) {
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        return cwai_chatwoot_error(resp, err);
    }
    return 0;
}
