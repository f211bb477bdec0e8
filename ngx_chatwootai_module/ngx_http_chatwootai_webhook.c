/*
 * chatwootai_webhook: Chatwoot's webhook ingress.
 * POST + JSON only; authenticate (signature, token or off); parse; decide
 * (answer, ignore, duplicate); record who owns the conversation; answer at
 * once — Chatwoot gives a bot 5 s before handing the conversation to humans.
 */

#include "ngx_http_chatwootai_module.h"

#include <hiredis/hiredis.h>

#include "cwai_sig.h"


#define CWAI_MAX_DELIVERY_ID  128


static void ngx_http_cwai_webhook_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_cwai_webhook_process(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx);
static ngx_int_t ngx_http_cwai_webhook_decide(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, const char *reason);
static void ngx_http_cwai_webhook_deduped(ngx_http_request_t *r, ngx_int_t dup);
static ngx_int_t ngx_http_cwai_webhook_ack(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx);
static void ngx_http_cwai_webhook_queued(ngx_http_request_t *r);
static ngx_int_t ngx_http_cwai_burst_wait(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, ngx_http_cwai_domain_t *dom);
static void ngx_http_cwai_webhook_defer(ngx_http_request_t *r,
    ngx_http_cwai_domain_t *dom);
static ngx_int_t ngx_http_cwai_reject(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *detail);


static void
ngx_http_cwai_ctx_cleanup(void *data)
{
    ngx_http_cwai_ctx_t  *ctx = data;

    cwai_webhook_free(&ctx->wh);
}


static ngx_http_cwai_stats_t *
ngx_http_cwai_stats(ngx_http_request_t *r)
{
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    return &lcf->zone->sh->stats;
}


static ngx_http_cwai_ctx_t *
ngx_http_cwai_ctx_create(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t   *cln;
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }
    cln->handler = ngx_http_cwai_ctx_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_chatwootai_module);
    return ctx;
}


static ngx_uint_t
ngx_http_cwai_is_json(ngx_http_request_t *r)
{
    u_char  *p, *last;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }
    p = r->headers_in.content_type->value.data;
    last = p + r->headers_in.content_type->value.len;

    if (last - p < 16 || ngx_strncasecmp(p, (u_char *) "application/json", 16) != 0) {
        return 0;
    }
    p += 16;
    /* "application/json" alone or followed by parameters (charset=utf-8) */
    return p == last || *p == ';' || *p == ' ' || *p == '\t';
}


ngx_int_t
ngx_http_cwai_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_table_elt_t           *h;
    ngx_http_cwai_ctx_t       *ctx;
    ngx_http_core_loc_conf_t  *clcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_cwai_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_POST) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");
        (void) ngx_http_cwai_reject(r, ctx, NGX_HTTP_NOT_ALLOWED,
                   "method_not_allowed", "the webhook accepts POST only");
        return ctx->rc;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    if (clcf->client_max_body_size
        && r->headers_in.content_length_n > clcf->client_max_body_size)
    {
        /* answered before reading: close rather than read the whole body */
        r->keepalive = 0;
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        (void) ngx_http_cwai_reject(r, ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "body_too_large",
                   "the body is larger than client_max_body_size");
        return ctx->rc;
    }

    if (!ngx_http_cwai_is_json(r)) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        (void) ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                   "unsupported_media_type",
                   "Content-Type must be application/json");
        return ctx->rc;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_cwai_webhook_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ngx_http_cwai_count_outcome(ngx_http_cwai_stats(r), NGX_HTTP_CWAI_REJECTED,
                                    "body_read_error");
        return rc;
    }
    return NGX_DONE;
}


static void
ngx_http_cwai_webhook_body(ngx_http_request_t *r)
{
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    ngx_http_finalize_request(r, ngx_http_cwai_webhook_process(r, ctx));
}


static ngx_int_t
ngx_http_cwai_reject(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_uint_t status, const char *code, const char *detail)
{
    ngx_uint_t  level;

    ctx->status = "rejected";
    ctx->rc = 0;
    ngx_http_cwai_count_outcome(ngx_http_cwai_stats(r), NGX_HTTP_CWAI_REJECTED,
                                code);
    level = (status == NGX_HTTP_UNAUTHORIZED) ? NGX_LOG_WARN : NGX_LOG_INFO;
    ngx_log_error(level, r->connection->log, 0,
                  "chatwootai: webhook rejected: %s: %s", code, detail);
    /* NGX_DECLINED tells the caller that the response went out */
    ctx->rc = ngx_http_cwai_send_error(r, status, code, detail);
    return NGX_DECLINED;
}


/* The webhook into ctx (a request's, or a resumed message's):
 * NGX_OK, NGX_DECLINED (err says why), NGX_ERROR (no memory). */
ngx_int_t
ngx_http_cwai_ctx_parse(ngx_pool_t *pool, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *body, cwai_err_t *err)
{
    if (cwai_webhook_parse((const char *) body->data, body->len, &ctx->wh, err)
        != 0)
    {
        return NGX_DECLINED;
    }
    ctx->parsed = 1;

    /* the variables outlive the JSON tree, freed once the pipeline started */
    ctx->event.len = ngx_strlen(ctx->wh.event);
    ctx->event.data = (u_char *) ctx->wh.event;
    ctx->event.data = ngx_pstrdup(pool, &ctx->event);
    return ctx->event.data ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_cwai_parse(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *body)
{
    cwai_err_t  err;

    if (ctx->parsed) {
        return NGX_OK;
    }
    switch (ngx_http_cwai_ctx_parse(r->pool, ctx, body, &err)) {
    case NGX_OK:
        return NGX_OK;
    case NGX_DECLINED:
        return ngx_http_cwai_reject(r, ctx, NGX_HTTP_BAD_REQUEST, err.code,
                                    err.detail);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_cwai_authenticate(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                    buf[160];
    ngx_int_t                 rc;
    ngx_str_t                 secret, given;
    ngx_table_elt_t          *sig, *ts, *h;
    cwai_sig_result_t         res;
    ngx_http_cwai_loc_conf_t *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    switch (lcf->auth) {

    case NGX_HTTP_CWAI_AUTH_OFF:
        return NGX_OK;

    case NGX_HTTP_CWAI_AUTH_TOKEN:
        if (ngx_http_complex_value(r, lcf->token, &secret) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        h = ngx_http_cwai_find_header(r, "x-chatwootai-token", 18);
        if (h != NULL) {
            given = h->value;
        } else if (ngx_http_arg(r, (u_char *) "token", 5, &given) != NGX_OK) {
            given.len = 0;
        }
        if (given.len == 0) {
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       "missing_token",
                       "the ?token= argument or X-Chatwootai-Token header is required");
        }
        if (secret.len == 0 || given.len != secret.len
            || !cwai_ct_equal(given.data, secret.data, secret.len))
        {
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       "bad_token", "the webhook token does not match");
        }
        return NGX_OK;

    default: /* NGX_HTTP_CWAI_AUTH_SIGNATURE */
        if (lcf->secret->lengths != NULL) {
            /* the secret depends on variables such as $chatwootai_account_id
             * (a map per tenant): parse first; a lying body still fails the
             * check below, since it is verified with that tenant's secret */
            rc = ngx_http_cwai_parse(r, ctx, body);
            if (rc != NGX_OK) {
                return rc;
            }
        }
        if (ngx_http_complex_value(r, lcf->secret, &secret) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (secret.len == 0) {
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       "unknown_secret",
                       "no webhook secret is configured for this request");
        }

        sig = ngx_http_cwai_find_header(r, "x-chatwoot-signature", 20);
        ts = ngx_http_cwai_find_header(r, "x-chatwoot-timestamp", 20);

        res = cwai_sig_verify(secret.data, secret.len,
                              ts ? (const char *) ts->value.data : NULL,
                              ts ? ts->value.len : 0,
                              sig ? (const char *) sig->value.data : NULL,
                              sig ? sig->value.len : 0,
                              body->data, body->len,
                              (int64_t) ngx_time(), (int64_t) lcf->max_skew);
        switch (res) {
        case CWAI_SIG_OK:
            return NGX_OK;
        case CWAI_SIG_MISSING:
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       cwai_sig_result_name(res),
                       "X-Chatwoot-Signature and X-Chatwoot-Timestamp are required");
        case CWAI_SIG_MALFORMED:
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       cwai_sig_result_name(res),
                       "expected X-Chatwoot-Signature: sha256=<64 hex> and "
                       "X-Chatwoot-Timestamp: <unix seconds>");
        case CWAI_SIG_STALE:
            ngx_snprintf(buf, sizeof(buf),
                         "X-Chatwoot-Timestamp is more than %T s away from "
                         "this server's clock%Z", lcf->max_skew);
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       cwai_sig_result_name(res), (const char *) buf);
        default:
            return ngx_http_cwai_reject(r, ctx, NGX_HTTP_UNAUTHORIZED,
                       cwai_sig_result_name(res),
                       "X-Chatwoot-Signature does not match the body");
        }
    }
}


/* Remembers who owns a conversation so the bot stays silent where a human
 * took over. Keys are per inbox: conversation display ids are per account
 * and every inbox belongs to one account. */
static void
ngx_http_cwai_record_owner(ngx_http_request_t *r, cwai_verdict_t *v)
{
    u_char                     kbuf[64], vbuf[64];
    ngx_str_t                  key, val;
    ngx_http_cwai_ctx_t       *ctx;
    ngx_http_cwai_loc_conf_t  *lcf;

    if (v->owner == CWAI_OWNER_NOCHANGE) {
        return;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    key.data = kbuf;
    val.data = vbuf;
    val.len = ngx_snprintf(vbuf, sizeof(vbuf), "%s:%s:%T",
                           cwai_owner_signal_name(v->owner),
                           cwai_status_name(ctx->wh.status), ngx_time())
              - vbuf;

    switch (v->owner) {

    case CWAI_OWNER_HUMAN_REPLIED:
        key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "h", ctx);
        break;

    case CWAI_OWNER_RELEASED:
        key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "h", ctx);
        (void) ngx_http_cwai_zone_delete(lcf->zone, &key);
        /* the owner record below says it was released */
        key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "o", ctx);
        break;

    default:
        key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "o", ctx);
        break;
    }

    if (ngx_http_cwai_zone_set(lcf->zone, &key, &val, lcf->owner_ttl) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "chatwootai: cannot record the conversation's owner "
                      "in zone \"%V\"", &lcf->zone->name);
    }
}


static void
ngx_http_cwai_remember(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    cwai_role_t role, const char *agent)
{
    u_char     kbuf[64];
    ngx_str_t  key;

    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "mem", ctx);
    ngx_http_cwai_memory_add(r, &key, role, ctx->wh.content, ctx->wh.content_len,
                             agent);
}


static ngx_uint_t
ngx_http_cwai_human_active(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    u_char                     kbuf[64];
    ngx_str_t                  key;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "h", ctx);
    return ngx_http_cwai_zone_get(lcf->zone, &key, NULL, NULL, NULL) == NGX_OK;
}


/*
 * While a message was being answered, did a human take the conversation:
 * a human reply or our own handoff (h:), or an assignment or a status the
 * bot does not own recorded since the message arrived (o:)?
 */
ngx_uint_t
ngx_http_cwai_taken_over(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    time_t since)
{
    u_char                     kbuf[64], *p, *last;
    time_t                     t;
    ngx_str_t                  key, val;
    ngx_http_cwai_loc_conf_t  *lcf;

    if (ngx_http_cwai_human_active(r, ctx)) {
        return 1;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "o", ctx);
    if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &val, NULL) != NGX_OK
        || ngx_strncmp(val.data, "released", 8) == 0)
    {
        return 0;
    }
    /* "<signal>:<status>:<unix time>" */
    last = val.data + val.len;
    for (p = last; p > val.data && p[-1] != ':'; p--) { /* void */ }
    t = ngx_atotm(p, last - p);
    return t != NGX_ERROR && t >= since;
}


/*
 * The acknowledgement is out; nginx keeps the client connection until the
 * background chain ends (the main request lives that long). A client that
 * reads until EOF would wait for the whole answer: end our side of the
 * stream now. Not on HTTP/2, where the connection carries other streams.
 */
static void
ngx_http_cwai_ack_done(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c = r->connection;

#if (NGX_HTTP_V2)
    if (r->stream) {
        return;
    }
#endif
    if (rc == NGX_OK && !c->buffered && !c->error
        && ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, ngx_socket_errno,
                       "chatwootai: shutdown() after the ack failed");
    }
}


/* NGX_OK: first time seen; NGX_DECLINED: a duplicate (reason set);
 * NGX_AGAIN: new in the zone, Redis is asked (chatwootai_redis) and
 * ngx_http_cwai_webhook_deduped() goes on. */
static ngx_int_t
ngx_http_cwai_dedupe(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    const char **reason)
{
    u_char                     kbuf[CWAI_MAX_DELIVERY_ID + 8], mbuf[48];
    ngx_int_t                  rc;
    ngx_str_t                  key, one = ngx_string("1"), keys[2];
    ngx_uint_t                 n;
    ngx_table_elt_t           *h;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    key.data = kbuf;
    n = 0;

    /* a retried delivery (Chatwoot retries bots on 429/500) keeps its id */
    h = ngx_http_cwai_find_header(r, "x-chatwoot-delivery", 19);
    if (h != NULL && h->value.len > 0 && h->value.len <= CWAI_MAX_DELIVERY_ID) {
        key.len = ngx_snprintf(kbuf, sizeof(kbuf), "d:%V", &h->value) - kbuf;
        rc = ngx_http_cwai_zone_add(lcf->zone, &key, &one, lcf->dedupe_ttl);
        if (rc == NGX_DECLINED) {
            *reason = "delivery_id";
            return NGX_DECLINED;
        }
        keys[n++] = key;
    }

    /* the same message through another receiver or a new delivery */
    key.data = mbuf;
    key.len = ngx_snprintf(mbuf, sizeof(mbuf), "m:%L:%L", ctx->wh.inbox_id,
                           ctx->wh.message_id) - mbuf;
    keys[n++] = key;
    rc = ngx_http_cwai_zone_add(lcf->zone, &key, &one, lcf->dedupe_ttl);
    if (rc == NGX_DECLINED) {
        *reason = "message_id";
        return NGX_DECLINED;
    }
    if (rc == NGX_ERROR) {
        /* cannot happen for tiny entries unless the zone is misconfigured;
         * answering twice is worse than a log line, but losing is worse still */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chatwootai: dedupe entry does not fit in zone \"%V\"",
                      &lcf->zone->name);
    }

    /* Redis (L2): SET NX on both keys, shared by every instance; when it
     * is down or slow the zone's answer stands */
    return ngx_http_cwai_l2_dedupe(r, keys, n, lcf->dedupe_ttl,
                                   ngx_http_cwai_webhook_deduped) == NGX_AGAIN
           ? NGX_AGAIN : NGX_OK;
}


/* Redis answered the dedupe (or timed out): answer the webhook now. */
static void
ngx_http_cwai_webhook_deduped(ngx_http_request_t *r, ngx_int_t dup)
{
    ngx_table_elt_t      *h;
    ngx_http_cwai_ctx_t  *ctx;
    const char           *reason;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    /* keys[0] is the delivery id when the request has one */
    h = ngx_http_cwai_find_header(r, "x-chatwoot-delivery", 19);
    reason = NULL;
    if (dup >= 0) {
        reason = (dup == 0 && h != NULL && h->value.len > 0
                  && h->value.len <= CWAI_MAX_DELIVERY_ID)
                 ? "delivery_id" : "message_id";
    }
    ngx_http_finalize_request(r, ngx_http_cwai_webhook_decide(r, ctx, reason));
}


static ngx_int_t
ngx_http_cwai_webhook_process(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_str_t                  body;
    json_t                    *doc;
    const char                *reason;
    cwai_verdict_t             v;
    cwai_filter_conf_t         fc;
    ngx_http_cwai_stats_t     *st;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    st = &lcf->zone->sh->stats;

    if (ngx_http_cwai_read_body(r, &body) != NGX_OK) {
        (void) ngx_http_cwai_reject(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                   "body_read_error", "the request body could not be read");
        return ctx->rc;
    }
    ctx->body = body;       /* the durable queue keeps it as received */

    /* both answer NGX_DECLINED once they have sent a rejection */
    rc = ngx_http_cwai_authenticate(r, ctx, &body);
    if (rc == NGX_OK) {
        rc = ngx_http_cwai_parse(r, ctx, &body);
    }
    if (rc == NGX_DECLINED) {
        return ctx->rc;
    }
    if (rc != NGX_OK) {
        return rc;
    }

    (void) ngx_atomic_fetch_add(&st->events[ctx->wh.type], 1);

    fc.statuses = (unsigned) lcf->statuses;
    cwai_webhook_classify(&ctx->wh, &fc, &v);

    ngx_http_cwai_record_owner(r, &v);

    if (v.owner == CWAI_OWNER_HUMAN_REPLIED && ctx->wh.content != NULL) {
        /* the agent's words are part of the conversation the model sees */
        ngx_http_cwai_remember(r, ctx, CWAI_ROLE_ASSISTANT, "human");
    }

    if (v.accept && ngx_http_cwai_human_active(r, ctx)) {
        v.accept = 0;
        v.reason = "human_active";
    }

    if (!v.accept) {
        ctx->status = "ignored";
        ngx_http_cwai_count_outcome(st, NGX_HTTP_CWAI_IGNORED, v.reason);
        doc = json_pack("{s:s, s:s}", "status", "ignored", "reason", v.reason);
        return doc ? ngx_http_cwai_send_json(r, NGX_HTTP_OK, doc)
                   : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_cwai_dedupe(r, ctx, &reason);
    if (rc == NGX_AGAIN) {
        /* waiting for Redis (at most its timeout): this reference is
         * dropped by the body handler's NGX_DONE, the response goes out
         * from ngx_http_cwai_webhook_deduped() */
        r->main->count++;
        return NGX_DONE;
    }
    return ngx_http_cwai_webhook_decide(r, ctx,
                                        rc == NGX_DECLINED ? reason : NULL);
}


/* The answer once dedupe is decided: reason is NULL for a new message. */
static ngx_int_t
ngx_http_cwai_webhook_decide(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    const char *reason)
{
    ngx_int_t                  rc;
    json_t                    *doc;
    ngx_http_cwai_stats_t     *st;
    ngx_http_cwai_domain_t    *dom;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    st = &lcf->zone->sh->stats;

    if (reason != NULL) {
        ctx->status = "duplicate";
        ngx_http_cwai_count_outcome(st, NGX_HTTP_CWAI_DUPLICATE, reason);
        doc = json_pack("{s:s, s:s}", "status", "duplicate", "reason", reason);
        return doc ? ngx_http_cwai_send_json(r, NGX_HTTP_OK, doc)
                   : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->status = "accepted";
    ngx_http_cwai_count_outcome(st, NGX_HTTP_CWAI_ACCEPTED, NULL);

    /* the business that answers: chatwootai_tenant, else the first domain */
    dom = NULL;
    rc = ngx_http_cwai_domain_for_request(r, NULL, &dom);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc == NGX_DECLINED && ngx_http_cwai_has_domains(r)) {
        /* a tenant name no chatwootai_domain declares: never answer with
         * another business's data; the message is counted as failed */
        (void) ngx_atomic_fetch_add(&st->pipeline[CWAI_OUTCOME_FAILED], 1);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chatwootai: no domain for account %L (chatwootai_tenant "
                      "names an unknown domain); message %L not answered",
                      ctx->wh.account_id, ctx->wh.message_id);
    }

    if (dom == NULL) {
        return ngx_http_cwai_webhook_ack(r, ctx);
    }
    ctx->dom = dom;

    /* a contact flooding the inbox costs no tokens: its messages are
     * answered by the embedded agent alone (or handed off) */
    if (ngx_http_cwai_rate_limited(r, ctx)) {
        ctx->no_model = "rate_limited";
    }

    /* recorded before the ack: an acknowledged message outlives this
     * worker (ngx_http_chatwootai_queue.c) */
    if (ngx_http_cwai_queue_add(r, ctx, dom, ngx_http_cwai_webhook_queued)
        == NGX_AGAIN)
    {
        r->main->count++;
        return NGX_DONE;
    }
    return ngx_http_cwai_webhook_ack(r, ctx);
}


/* Redis has the message (or could not take it: the zone has it). */
static void
ngx_http_cwai_webhook_queued(ngx_http_request_t *r)
{
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    ngx_http_finalize_request(r, ngx_http_cwai_webhook_ack(r, ctx));
}


/* The acknowledgement of an accepted message; with a domain, the answer
 * then runs in the background. */
static ngx_int_t
ngx_http_cwai_webhook_ack(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    ngx_int_t                rc;
    json_t                  *doc;
    ngx_http_cwai_domain_t  *dom = ctx->dom;

    doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s}",
                    "status", "accepted",
                    "event", ctx->wh.event,
                    "account_id", (json_int_t) ctx->wh.account_id,
                    "inbox_id", (json_int_t) ctx->wh.inbox_id,
                    "conversation_id", (json_int_t) ctx->wh.conversation_id,
                    "message_id", (json_int_t) ctx->wh.message_id,
                    "channel", ctx->wh.channel);
    if (doc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (dom == NULL) {
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK, doc);
    }

    json_object_set_new(doc, "domain",
                        json_stringn((const char *) dom->name.data, dom->name.len));
    if (ctx->no_model != NULL) {
        json_object_set_new(doc, "limit", json_string(ctx->no_model));
    }
    /* the chain keeps this connection until it ends: tell the client not
     * to reuse it (nginx-techniques §1) */
    r->keepalive = 0;
    rc = ngx_http_cwai_send_json(r, NGX_HTTP_OK, doc);
    ngx_http_cwai_ack_done(r, rc);

    /* the tenant's token count of the day from Redis: asked before the
     * memory, so its reply is in the zone before the pipeline starts */
    if (ctx->no_model == NULL) {
        ngx_http_cwai_budget_sync(r, dom);
    }

    /* the ack is out; the answer runs in the background, once the
     * conversation's memory is in the zone (from Redis when it is up) */
    if (ngx_http_cwai_memory_fetch(r, ctx, ngx_http_cwai_webhook_run, dom)
        != NGX_AGAIN)
    {
        ngx_http_cwai_webhook_defer(r, dom);
    }
    return rc;
}


typedef struct {
    ngx_http_cwai_wait_t       wait;
    ngx_http_cwai_domain_t    *dom;
} ngx_http_cwai_start_t;


static void
ngx_http_cwai_webhook_start(void *data)
{
    ngx_http_cwai_start_t  *s = data;

    ngx_http_cwai_webhook_run(s->wait.r, s->dom);
}


/*
 * Starts the pipeline once this event loop iteration has handled every
 * ready connection: a timer of 0 ms expires after the batch of I/O events,
 * so under load the acknowledgements of the whole batch go out before any
 * message's agent work (ack latency), and the work follows at once.
 */
static void
ngx_http_cwai_webhook_defer(ngx_http_request_t *r, ngx_http_cwai_domain_t *dom)
{
    ngx_http_cwai_start_t  *s;

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_start_t));
    if (s != NULL) {
        s->dom = dom;
        s->wait.handler = ngx_http_cwai_webhook_start;
        s->wait.data = s;
        if (ngx_http_cwai_wait(r, &s->wait, 0) == NGX_OK) {
            return;
        }
    }
    ngx_http_cwai_webhook_run(r, dom);
}


void
ngx_http_cwai_webhook_run(ngx_http_request_t *r, void *data)
{
    ngx_http_cwai_ctx_t       *ctx;
    ngx_http_cwai_domain_t    *dom = data;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    if (lcf->debounce && !ctx->burst && ngx_http_cwai_burst_wait(r, ctx, dom) == NGX_OK) {
        return;         /* ngx_http_cwai_burst_end() goes on */
    }

    /* one answer at a time per conversation, in the order of the messages */
    if (!ctx->ordered && ngx_http_cwai_order_acquire(r, ctx, dom) != NGX_OK) {
        return;         /* this function runs again once it is our turn */
    }

    if (ngx_http_cwai_pipeline_run(r, ctx, dom) != NGX_OK) {
        ngx_http_cwai_order_release(r, ctx);
        (void) ngx_atomic_fetch_add(
                   &lcf->zone->sh->stats.pipeline[CWAI_OUTCOME_FAILED], 1);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chatwootai: message %L not answered: the pipeline did not "
                      "start", ctx->wh.message_id);
        ngx_http_cwai_queue_done(r, ctx);     /* a counted failure ends it */
    }

    /* the pipeline copied what it needs: the webhook's JSON tree need not
     * live as long as the chain (memory per message in flight) */
    cwai_webhook_free(&ctx->wh);
}


/*
 * Debounce: customers on WhatsApp split one question into several short
 * messages. Each message goes into the conversation's memory at once and
 * becomes the burst's latest ("b:" key); the pipeline starts only when no
 * newer message arrived for chatwootai_debounce, on the request of the
 * latest one, and answers the burst's messages together. The others end as
 * "merged". With Redis up the "b:" key is shared too: a burst split across
 * instances is answered once, by the instance that got its last message,
 * with the messages every instance remembered in Redis.
 */
typedef struct {
    ngx_http_cwai_wait_t       wait;
    ngx_http_cwai_domain_t    *dom;
    unsigned                   marked:1;    /* the latest in Redis too */
} ngx_http_cwai_burst_t;


void
ngx_http_cwai_burst_merged(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *latest)
{
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    /* a later message of the burst answers (or answered) this one too */
    ctx->outcome = "merged";
    (void) ngx_atomic_fetch_add(&lcf->zone->sh->stats.merged, 1);
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "chatwootai: message %L of conversation %L merged into "
                  "message %V", ctx->wh.message_id, ctx->wh.conversation_id,
                  latest);
    ngx_http_cwai_queue_done(r, ctx);     /* the later one answers it */
    cwai_webhook_free(&ctx->wh);
}


/* Redis decided which message of the burst answers (or could not tell:
 * then the zone's decision, this one, stands) */
static void
ngx_http_cwai_burst_claimed(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_str_t *latest)
{
    ngx_str_t               unknown = ngx_string("(another instance's)");
    ngx_http_cwai_ctx_t    *ctx;
    ngx_http_cwai_burst_t  *b = data;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    if (rc == NGX_DECLINED) {
        ngx_http_cwai_burst_merged(r, ctx, latest ? latest : &unknown);
        return;
    }

    /* the burst's messages other instances got are in Redis's memory:
     * into the zone before the answer reads them */
    if (rc == NGX_OK
        && ngx_http_cwai_memory_fetch(r, ctx, ngx_http_cwai_webhook_run, b->dom)
           == NGX_AGAIN)
    {
        return;
    }
    ngx_http_cwai_webhook_run(r, b->dom);
}


static void
ngx_http_cwai_burst_end(void *data)
{
    u_char                     kbuf[64];
    ngx_str_t                  key, val;
    ngx_http_request_t        *r;
    ngx_http_cwai_ctx_t       *ctx;
    ngx_http_cwai_burst_t     *b = data;
    ngx_http_cwai_loc_conf_t  *lcf;

    r = b->wait.r;
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "b", ctx);
    if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &val, NULL) == NGX_OK
        && ngx_atoi(val.data, val.len) != (ngx_int_t) ctx->wh.message_id)
    {
        ngx_http_cwai_burst_merged(r, ctx, &val);
        return;
    }

    /* the latest here; Redis knows whether another instance got a later
     * one (unless this message's mark never went there: Redis was down) */
    if (b->marked
        && ngx_http_cwai_l2_burst_claim(r, &key, ctx->wh.message_id,
                                        4 * lcf->debounce,
                                        ngx_http_cwai_burst_claimed, b)
           == NGX_AGAIN)
    {
        return;
    }

    ngx_http_cwai_webhook_run(r, b->dom);
}


static ngx_int_t
ngx_http_cwai_burst_wait(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_http_cwai_domain_t *dom)
{
    u_char                     kbuf[64], vbuf[NGX_INT64_LEN];
    ngx_str_t                  key, val;
    ngx_http_cwai_burst_t     *b;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    b = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_burst_t));
    if (b == NULL) {
        return NGX_ERROR;
    }
    ctx->burst = 1;
    b->dom = dom;
    b->wait.handler = ngx_http_cwai_burst_end;
    b->wait.data = b;

    /* the message joins the conversation now: the burst's answer reads it */
    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "mem", ctx);
    ngx_http_cwai_memory_add(r, &key, CWAI_ROLE_CUSTOMER,
                             ctx->wh.content ? ctx->wh.content : "",
                             ctx->wh.content ? ctx->wh.content_len : 0, NULL);

    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "b", ctx);
    val.data = vbuf;
    val.len = ngx_sprintf(vbuf, "%L", ctx->wh.message_id) - vbuf;
    (void) ngx_http_cwai_zone_set(lcf->zone, &key, &val, 4 * lcf->debounce);
    b->marked = ngx_http_cwai_l2_burst_mark(&key, ctx->wh.message_id,
                                            4 * lcf->debounce);

    return ngx_http_cwai_wait(r, &b->wait, lcf->debounce);
}


/*
 * Per-conversation ordering: a conversation's messages are answered one at
 * a time, in the order they got their turn, so that an answer never
 * overtakes the answer to an earlier message and each answer's model sees
 * the previous one. The turn is a key "o:<inbox>:<conversation>" holding
 * the message id (Redis, shared by every instance, when it is up; else
 * the zone), taken before the pipeline starts and given back when the
 * message ends; a message whose turn is taken waits, looking again every
 * 100 ms. The key expires after 2 minutes, so a stopped chain delays the
 * next message at most that long (a resumed message takes its own turn
 * back: the key holds its id).
 */
#define NGX_HTTP_CWAI_ORDER_TTL   120000
#define NGX_HTTP_CWAI_ORDER_POLL  100

/* 1: the turn is ours (taken, or already ours); 0: another message's */
static const char  ngx_http_cwai_order_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v and v ~= ARGV[1] then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n";

static const char  ngx_http_cwai_order_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";


static void
ngx_http_cwai_order_retry(void *data)
{
    ngx_http_request_t   *r = data;
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    ngx_http_cwai_webhook_run(r, ctx->dom);
}


/* Another message has the turn: look again later. */
static ngx_int_t
ngx_http_cwai_order_wait(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    if (!ctx->order_waited) {
        ctx->order_waited = 1;
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "chatwootai: message %L waits for the answer to an "
                      "earlier message of conversation %L",
                      ctx->wh.message_id, ctx->wh.conversation_id);
    }
    ctx->order_wait.handler = ngx_http_cwai_order_retry;
    ctx->order_wait.data = r;
    return ngx_http_cwai_wait(r, &ctx->order_wait, NGX_HTTP_CWAI_ORDER_POLL);
}


/* The turn is ours: after a wait, the conversation's memory again (the
 * earlier answer may have been written by another instance). */
static void
ngx_http_cwai_order_taken(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    ctx->ordered = 1;
    if (ctx->order_waited
        && ngx_http_cwai_memory_fetch(r, ctx, ngx_http_cwai_webhook_run,
                                      ctx->dom)
           == NGX_AGAIN)
    {
        return;
    }
    ngx_http_cwai_webhook_run(r, ctx->dom);
}


static void
ngx_http_cwai_order_decided(void *data, ngx_int_t rc, struct redisReply *reply)
{
    ngx_http_request_t   *r = data;
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_INTEGER
        && reply->integer == 0)
    {
        if (ngx_http_cwai_order_wait(r, ctx) != NGX_OK) {
            ngx_http_cwai_order_taken(r, ctx);
        }
        return;
    }

    /* ours, or Redis could not tell: answering beats waiting forever */
    ctx->order_redis = (rc == NGX_HTTP_CWAI_REDIS_REPLY);
    ngx_http_cwai_order_taken(r, ctx);
}


static size_t
ngx_http_cwai_order_key(u_char *buf, size_t size, ngx_http_cwai_ctx_t *ctx)
{
    return ngx_http_cwai_conv_key(buf, size, "o", ctx);
}


/* NGX_OK: the turn is ours, go on; NGX_DONE: ngx_http_cwai_webhook_run()
 * is called again when it is. */
ngx_int_t
ngx_http_cwai_order_acquire(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_http_cwai_domain_t *dom)
{
    u_char                     kbuf[64], ibuf[NGX_INT64_LEN],
                               tbuf[NGX_INT_T_LEN];
    ngx_str_t                  key, id, val, args[2];
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    ctx->dom = dom;
    key.data = kbuf;
    key.len = ngx_http_cwai_order_key(kbuf, sizeof(kbuf), ctx);
    id.data = ibuf;
    id.len = ngx_sprintf(ibuf, "%L", ctx->wh.message_id) - ibuf;

    if (ngx_http_cwai_redis_up()) {
        args[0] = id;
        args[1].data = tbuf;
        args[1].len = ngx_sprintf(tbuf, "%d", NGX_HTTP_CWAI_ORDER_TTL) - tbuf;
        if (ngx_http_cwai_redis_eval(r, ngx_http_cwai_order_decided, r,
                                     ngx_http_cwai_order_lua, &key, 1, args, 2)
            == NGX_OK)
        {
            return NGX_DONE;
        }
    }

    /* this nginx alone: the zone */
    if (ngx_http_cwai_zone_add(lcf->zone, &key, &id, NGX_HTTP_CWAI_ORDER_TTL)
        == NGX_DECLINED
        && !(ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &val, NULL) == NGX_OK
             && val.len == id.len && ngx_memcmp(val.data, id.data, id.len) == 0)
        && ngx_http_cwai_order_wait(r, ctx) == NGX_OK)
    {
        return NGX_DONE;
    }
    ctx->ordered = 1;
    if (ctx->order_waited) {
        ngx_http_cwai_order_taken(r, ctx);
        return NGX_DONE;
    }
    return NGX_OK;
}


void
ngx_http_cwai_order_release(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    u_char                     kbuf[64], ibuf[NGX_INT64_LEN];
    ngx_str_t                  key, val, id;
    ngx_http_cwai_loc_conf_t  *lcf;

    if (!ctx->ordered) {
        return;
    }
    ctx->ordered = 0;
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    key.data = kbuf;
    key.len = ngx_http_cwai_order_key(kbuf, sizeof(kbuf), ctx);

    if (ctx->order_redis) {
        id.data = ibuf;
        id.len = ngx_sprintf(ibuf, "%L", ctx->wh.message_id) - ibuf;
        (void) ngx_http_cwai_redis_eval(NULL, NULL, NULL,
                                        ngx_http_cwai_order_release_lua,
                                        &key, 1, &id, 1);
        return;
    }

    /* ours: nobody else can have taken it while it exists */
    if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &val, NULL) == NGX_OK
        && (ngx_int_t) ngx_atoi(val.data, val.len) == (ngx_int_t) ctx->wh.message_id)
    {
        (void) ngx_http_cwai_zone_delete(lcf->zone, &key);
    }
}
