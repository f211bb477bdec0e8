/*
 * chatwootai_playground: try a domain before going live.
 *
 *   GET   the loaded domains (for the page's selector)
 *   POST  {"domain","text","channel","conversation_id","now"} -> the
 *         embedded agent's answer: reply, agent, intent, confidence,
 *         sources, timings ... With a conversation_id, the turns are kept
 *         in the zone (chatwootai_history_ttl) and given to the next call.
 */

#include "ngx_http_chatwootai_module.h"

#include "cwai_time.h"


#define CWAI_PG_MAX_TEXT     4096
#define CWAI_PG_MAX_CONV_ID  64


static void ngx_http_cwai_playground_body(ngx_http_request_t *r);


static ngx_int_t
ngx_http_cwai_playground_domains(ngx_http_request_t *r)
{
    json_t                     *list, *item;
    ngx_uint_t                  i, k;
    ngx_http_cwai_domain_t     *dom;
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_chatwootai_module);
    dom = cmcf->domains.elts;

    list = json_array();
    for (i = 0; list && i < cmcf->domains.nelts; i++) {
        const cwai_domain_t *d = dom[i].domain;
        json_t *channels = json_array(), *langs = json_array();

        for (k = 0; channels && k < d->nchannels; k++) {
            json_array_append_new(channels, json_string(d->channels[k].name));
        }
        for (k = 0; langs && k < d->languages.n; k++) {
            json_array_append_new(langs, json_string(d->languages.v[k]));
        }
        item = json_pack("{s:s%, s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:I, s:I, s:I, s:I}",
                         "domain", dom[i].name.data, dom[i].name.len,
                         "name", d->name,
                         "description", d->description,
                         "language", d->language,
                         "timezone", d->timezone,
                         "languages", langs ? langs : json_array(),
                         "channels", channels ? channels : json_array(),
                         "products", (json_int_t) d->nproducts,
                         "services", (json_int_t) d->nservices,
                         "rules", (json_int_t) d->nrules,
                         "faqs", (json_int_t) d->nfaqs);
        if (item) {
            json_array_append_new(list, item);
        }
    }
    if (list == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                                   json_pack("{s:o}", "domains", list));
}


ngx_int_t
ngx_http_cwai_playground_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
        return ngx_http_cwai_playground_domains(r);
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_cwai_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                        "method_not_allowed",
                                        "use GET for the domains, POST to ask");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_cwai_playground_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }
    return NGX_DONE;
}


static ngx_int_t
ngx_http_cwai_playground_bad(ngx_http_request_t *r, json_t *req,
    const char *code, const char *detail)
{
    json_decref(req);
    return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST, code, detail);
}


static ngx_int_t
ngx_http_cwai_playground_answer(ngx_http_request_t *r)
{
    u_char                   kbuf[CWAI_PG_MAX_CONV_ID + 80], dbuf[160];
    char                     cbuf[32];
    const char              *key_name, *text, *channel, *now_s;
    size_t                   text_len, nturns;
    int64_t                  now;
    json_t                  *req, *v, *turns = NULL, *doc;
    ngx_str_t                body, dname, conv, key;
    ngx_int_t                rc;
    cwai_turn_t              history[NGX_HTTP_CWAI_MAX_TURNS];
    json_error_t             jerr;
    cwai_answer_t            ans;
    cwai_agent_input_t       in;
    ngx_http_cwai_domain_t  *dom;

    if (ngx_http_cwai_read_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req = json_loadb((const char *) body.data, body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL) {
        ngx_snprintf(dbuf, sizeof(dbuf), "line %d column %d: %s%Z",
                     jerr.line, jerr.column, jerr.text);
        return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                        (const char *) dbuf);
    }
    if (!json_is_object(req)) {
        return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                                            "the body must be a JSON object");
    }

    json_object_foreach(req, key_name, v) {
        if (strcmp(key_name, "domain") && strcmp(key_name, "text")
            && strcmp(key_name, "channel") && strcmp(key_name, "conversation_id")
            && strcmp(key_name, "now"))
        {
            ngx_snprintf(dbuf, sizeof(dbuf), "unknown field \"%s\" (expected "
                         "domain, text, channel, conversation_id, now)%Z",
                         key_name);
            return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                                                (const char *) dbuf);
        }
    }

    v = json_object_get(req, "text");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                   "\"text\" is required: the customer's message, a non-empty string");
    }
    text = json_string_value(v);
    text_len = json_string_length(v);
    if (text_len > CWAI_PG_MAX_TEXT) {
        return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                   "\"text\" is longer than 4096 bytes");
    }

    dname.len = 0;
    v = json_object_get(req, "domain");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v)) {
            return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                                                "\"domain\" must be a string");
        }
        dname.data = (u_char *) json_string_value(v);
        dname.len = json_string_length(v);
    }

    channel = "web";
    v = json_object_get(req, "channel");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v)) {
            return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                                                "\"channel\" must be a string");
        }
        channel = json_string_value(v);
    }

    now = 0;
    v = json_object_get(req, "now");
    if (v != NULL && !json_is_null(v)) {
        now_s = json_string_value(v);
        if (now_s == NULL
            || cwai_parse_iso8601(now_s, json_string_length(v), &now) != 0)
        {
            return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                       "\"now\" must be an ISO-8601 instant with an offset, "
                       "e.g. 2026-11-30T10:00:00-03:00");
        }
    }
    if (now == 0) {
        now = (int64_t) ngx_time();
    }

    conv.len = 0;
    v = json_object_get(req, "conversation_id");
    if (json_is_string(v)) {
        conv.data = (u_char *) json_string_value(v);
        conv.len = json_string_length(v);
    } else if (json_is_integer(v)) {
        conv.data = (u_char *) cbuf;
        conv.len = ngx_sprintf((u_char *) cbuf, "%L", (int64_t) json_integer_value(v))
                   - (u_char *) cbuf;
    } else if (v != NULL && !json_is_null(v)) {
        return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                   "\"conversation_id\" must be a string or an integer");
    }
    if (conv.len > CWAI_PG_MAX_CONV_ID) {
        return ngx_http_cwai_playground_bad(r, req, "invalid_request",
                   "\"conversation_id\" is longer than 64 bytes");
    }

    rc = ngx_http_cwai_domain_for_request(r, &dname, &dom);
    if (rc == NGX_ERROR) {
        json_decref(req);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc == NGX_DECLINED) {
        if (dname.len) {
            ngx_snprintf(dbuf, sizeof(dbuf), "no domain named \"%V\" is loaded%Z",
                         &dname);
        } else {
            ngx_snprintf(dbuf, sizeof(dbuf), "no domain is loaded "
                         "(chatwootai_domain)%Z");
        }
        json_decref(req);
        return ngx_http_cwai_send_error(r, NGX_HTTP_NOT_FOUND, "unknown_domain",
                                        (const char *) dbuf);
    }

    /* the conversation so far */
    nturns = 0;
    key.data = kbuf;
    key.len = 0;
    if (conv.len) {
        key.len = ngx_snprintf(kbuf, sizeof(kbuf), "pg:%V:%V", &dom->name, &conv)
                  - kbuf;
        turns = ngx_http_cwai_memory_load(r, &key, history, &nturns);
        if (turns == NULL) {
            json_decref(req);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_memzero(&in, sizeof(in));
    in.text = text;
    in.len = text_len;
    in.channel = channel;
    in.now = now;
    in.history = history;
    in.nhistory = nturns;

    if (cwai_agent_answer(dom->bot, &in, &ans) != 0) {
        json_decref(turns);
        json_decref(req);
        return ngx_http_cwai_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "agent_failed",
                                        "the embedded agent could not answer");
    }

    doc = cwai_answer_to_json(&ans);
    if (doc != NULL) {
        json_object_set_new(doc, "domain",
                            json_stringn((const char *) dom->name.data, dom->name.len));
        json_object_set_new(doc, "channel", json_string(channel));
        if (conv.len) {
            json_object_set_new(doc, "conversation_id",
                                json_stringn((const char *) conv.data, conv.len));
            json_object_set_new(doc, "turn",
                                json_integer((json_int_t) (nturns / 2 + 1)));
        }
    }

    if (conv.len && doc != NULL) {
        ngx_http_cwai_memory_append(turns, CWAI_ROLE_CUSTOMER, text, text_len, NULL);
        ngx_http_cwai_memory_append(turns, CWAI_ROLE_ASSISTANT, ans.reply,
                                    ngx_strlen(ans.reply), ans.agent);
        ngx_http_cwai_memory_store(r, &key, turns);
    }

    cwai_answer_free(&ans);
    json_decref(turns);
    json_decref(req);

    if (doc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_cwai_send_json(r, NGX_HTTP_OK, doc);
}


static void
ngx_http_cwai_playground_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_cwai_playground_answer(r));
}
