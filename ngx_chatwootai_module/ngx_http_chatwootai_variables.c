/*
 * $chatwootai_* variables, for log_format and map (for example choosing a
 * tenant's domain or secret from $chatwootai_account_id).
 */

#include "ngx_http_chatwootai_module.h"


enum {
    CWAI_VAR_EVENT = 0,
    CWAI_VAR_ACCOUNT,
    CWAI_VAR_INBOX,
    CWAI_VAR_CONVERSATION,
    CWAI_VAR_MESSAGE,
    CWAI_VAR_CHANNEL,
    CWAI_VAR_STATUS,
    CWAI_VAR_AGENT,
    CWAI_VAR_OUTCOME,
    CWAI_VAR_CACHE,
    CWAI_VAR_TOKENS
};


static ngx_int_t ngx_http_cwai_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_cwai_vars[] = {

    { ngx_string("chatwootai_event"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_EVENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_account_id"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_ACCOUNT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_inbox_id"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_INBOX, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_conversation_id"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_CONVERSATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_message_id"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_MESSAGE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_channel"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_CHANNEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_status"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_agent"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_AGENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_outcome"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_OUTCOME, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_cache"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_CACHE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("chatwootai_tokens"), NULL, ngx_http_cwai_variable,
      CWAI_VAR_TOKENS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_cwai_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_cwai_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }
        var->get_handler = v->get_handler;
        var->data = v->data;
    }
    return NGX_OK;
}


static ngx_int_t
ngx_http_cwai_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char               *p;
    int64_t               n = 0;
    const char           *s = NULL;
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_chatwootai_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {
    case CWAI_VAR_STATUS:
        s = ctx->status;
        break;
    case CWAI_VAR_EVENT:
        if (ctx->parsed) {
            v->len = ctx->event.len;
            v->data = ctx->event.data;
            v->valid = 1;
            v->no_cacheable = 1;
            v->not_found = 0;
            return NGX_OK;
        }
        break;
    case CWAI_VAR_CHANNEL:
        /* a static string (cwai_webhook.c's table) */
        s = ctx->parsed && ngx_strcmp(ctx->wh.channel, "unknown") != 0
            ? ctx->wh.channel : NULL;
        break;
    case CWAI_VAR_ACCOUNT:
        n = ctx->parsed ? ctx->wh.account_id : 0;
        break;
    case CWAI_VAR_INBOX:
        n = ctx->parsed ? ctx->wh.inbox_id : 0;
        break;
    case CWAI_VAR_CONVERSATION:
        n = ctx->parsed ? ctx->wh.conversation_id : 0;
        break;
    case CWAI_VAR_MESSAGE:
        n = ctx->parsed ? ctx->wh.message_id : 0;
        break;
    case CWAI_VAR_AGENT:
        s = ctx->agent;
        break;
    case CWAI_VAR_OUTCOME:
        s = ctx->outcome;
        break;
    case CWAI_VAR_CACHE:
        /* HIT: every cacheable call came from the zone; MISS: none did */
        if (ctx->cache_hits || ctx->cache_misses) {
            s = ctx->cache_misses == 0 ? "HIT"
              : ctx->cache_hits == 0 ? "MISS" : "PARTIAL";
        }
        break;
    case CWAI_VAR_TOKENS:
        if (ctx->outcome != NULL) {
            p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }
            v->len = ngx_sprintf(p, "%uL", ctx->tokens) - p;
            v->data = p;
            v->valid = 1;
            v->no_cacheable = 1;
            v->not_found = 0;
            return NGX_OK;
        }
        break;
    }

    if (s == NULL && n == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (s != NULL) {
        v->len = ngx_strlen(s);
        v->data = (u_char *) s;
    } else {
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }
        v->len = ngx_sprintf(p, "%L", n) - p;
        v->data = p;
    }
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}
