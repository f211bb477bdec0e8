/*
 * Conversation memory: the recent turns of a conversation, kept in the zone
 * as a small JSON array [{"r":"c"|"a","t":text,"a":agent}, ...], oldest
 * first. A bot token cannot read history from Chatwoot, so the gateway
 * remembers what it saw (webhooks) and said (its replies).
 */

#include "ngx_http_chatwootai_module.h"
#include "cwai_json.h"


#define NGX_HTTP_CWAI_MAX_TURN_TEXT  2000


/* "<kind>:<inbox>:<conversation>": conversation display ids are per
 * account and every inbox belongs to one account, so the pair is unique. */
size_t
ngx_http_cwai_conv_key(u_char *buf, size_t size, const char *kind,
    ngx_http_cwai_ctx_t *ctx)
{
    return ngx_snprintf(buf, size, "%s:%L:%L", kind, ctx->wh.inbox_id,
                        ctx->wh.conversation_id) - buf;
}


/*
 * Loads the turns under key (an empty array when there are none) and fills
 * history[] (at most NGX_HTTP_CWAI_MAX_TURNS, pointing into the returned
 * array, which the caller must json_decref). NULL on allocation failure.
 */
json_t *
ngx_http_cwai_memory_load(ngx_http_request_t *r, ngx_str_t *key,
    cwai_turn_t *history, size_t *nhistory)
{
    size_t                     i, skip;
    json_t                    *turns, *t;
    ngx_str_t                  value;
    const char                *role, *text;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    *nhistory = 0;

    turns = NULL;
    if (ngx_http_cwai_zone_get(lcf->zone, key, r->pool, &value, NULL) == NGX_OK) {
        turns = cwai_json_loadb((const char *) value.data, value.len, 0, NULL);
    }
    if (!json_is_array(turns)) {
        json_decref(turns);
        return json_array();
    }

    skip = json_array_size(turns) > NGX_HTTP_CWAI_MAX_TURNS
           ? json_array_size(turns) - NGX_HTTP_CWAI_MAX_TURNS : 0;

    json_array_foreach(turns, i, t) {
        role = json_string_value(json_object_get(t, "r"));
        text = json_string_value(json_object_get(t, "t"));
        if (i < skip || role == NULL || text == NULL) {
            continue;
        }
        history[*nhistory].role = role[0] == 'a' ? CWAI_ROLE_ASSISTANT
                                                 : CWAI_ROLE_CUSTOMER;
        history[*nhistory].text = text;
        history[*nhistory].agent = json_string_value(json_object_get(t, "a"));
        (*nhistory)++;
    }
    return turns;
}


void
ngx_http_cwai_memory_append(json_t *turns, cwai_role_t role, const char *text,
    size_t len, const char *agent)
{
    json_t  *t;

    /* cut long texts on a UTF-8 boundary: memory is context, not archive */
    if (len > NGX_HTTP_CWAI_MAX_TURN_TEXT) {
        len = NGX_HTTP_CWAI_MAX_TURN_TEXT;
        while (len && ((unsigned char) text[len] & 0xc0) == 0x80) {
            len--;
        }
    }
    t = json_pack("{s:s, s:s%}", "r", role == CWAI_ROLE_ASSISTANT ? "a" : "c",
                  "t", text, len);
    if (t != NULL && agent != NULL) {
        json_object_set_new(t, "a", json_string(agent));
    }
    if (t != NULL) {
        /* new since the load: memory_store() appends it to Redis too */
        json_object_set_new(t, "_new", json_true());
        json_array_append_new(turns, t);
    }
}


/*
 * Redis (L2) keeps a conversation as a list that every instance appends
 * its new turns to ("mem:" keys only; the playground's stay in the zone).
 */
static void
ngx_http_cwai_memory_push_new(ngx_http_request_t *r, ngx_str_t *key,
    json_t *turns, ngx_msec_t ttl)
{
    char       *s;
    size_t      i, n;
    json_t     *t;
    ngx_uint_t  l2;
    ngx_str_t   items[NGX_HTTP_CWAI_MAX_TURNS];

    l2 = key->len > 4 && ngx_strncmp(key->data, "mem:", 4) == 0;
    n = 0;
    json_array_foreach(turns, i, t) {
        if (json_object_get(t, "_new") == NULL) {
            continue;
        }
        json_object_del(t, "_new");
        if (!l2 || n == NGX_HTTP_CWAI_MAX_TURNS) {
            continue;
        }
        s = cwai_json_dumps(t, JSON_COMPACT, &items[n].len);
        if (s == NULL) {
            continue;
        }
        items[n].data = ngx_pnalloc(r->pool, items[n].len);
        if (items[n].data != NULL) {
            ngx_memcpy(items[n].data, s, items[n].len);
            n++;
        }
        free(s);
    }
    ngx_http_cwai_l2_memory_push(key, items, n, ttl);
}


/* One more turn at the end of the conversation under key. */
void
ngx_http_cwai_memory_add(ngx_http_request_t *r, ngx_str_t *key,
    cwai_role_t role, const char *text, size_t len, const char *agent)
{
    size_t        n;
    json_t       *turns;
    cwai_turn_t   history[NGX_HTTP_CWAI_MAX_TURNS];

    turns = ngx_http_cwai_memory_load(r, key, history, &n);
    if (turns == NULL) {
        return;
    }
    ngx_http_cwai_memory_append(turns, role, text, len, agent);
    ngx_http_cwai_memory_store(r, key, turns);
    json_decref(turns);
}


/* Before the pipeline: the conversation as every instance saw it, from
 * Redis (L2) into the zone. NGX_AGAIN: handler(r, data) follows;
 * otherwise go on with what the zone has. */
ngx_int_t
ngx_http_cwai_memory_fetch(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_http_cwai_l2_done_pt handler, void *data)
{
    u_char                     kbuf[64];
    ngx_int_t                  rc;
    ngx_str_t                  key;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "mem", ctx);
    rc = ngx_http_cwai_l2_memory_fetch(r, &key, lcf->zone, lcf->history_ttl,
                                       handler, data);
    if (rc == NGX_DECLINED) {
        /* memory not kept in Redis (chatwootai_l2_ttl memory 0): still
         * let the replies asked for before (rate limit, token budget) in
         * first, so that the pipeline starts with their decisions */
        rc = ngx_http_cwai_l2_barrier(r, handler, data);
    }
    return rc;
}


void
ngx_http_cwai_memory_store(ngx_http_request_t *r, ngx_str_t *key, json_t *turns)
{
    char                      *s;
    ngx_str_t                  value;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    while (json_array_size(turns) > NGX_HTTP_CWAI_MAX_TURNS) {
        json_array_remove(turns, 0);
    }
    ngx_http_cwai_memory_push_new(r, key, turns, lcf->history_ttl);
    s = cwai_json_dumps(turns, JSON_COMPACT, &value.len);
    if (s == NULL) {
        return;
    }
    value.data = (u_char *) s;
    if (ngx_http_cwai_zone_set(lcf->zone, key, &value, lcf->history_ttl) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "chatwootai: conversation memory does not fit in zone \"%V\"",
                      &lcf->zone->name);
    }
    free(s);
}
