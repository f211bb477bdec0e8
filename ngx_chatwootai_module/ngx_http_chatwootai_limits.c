/*
 * Limits on what a message may cost: chatwootai_rate_limit (a token bucket
 * per contact) and chatwootai_token_budget (model tokens per tenant and
 * day). A message over either is still answered — by the embedded agent
 * alone, or handed off — never silently dropped, and never sent to the
 * model.
 */

#include "ngx_http_chatwootai_module.h"

#include "cwai_locale.h"


/* the day's counters live two days: a late message of yesterday still
 * finds its day, and nothing piles up */
#define NGX_HTTP_CWAI_BUDGET_TTL  (2 * 86400 * 1000)


/* chatwootai_rate_limit off | RATE/s|m|h [burst=N]; */
char *
ngx_http_cwai_rate_limit_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    u_char      *p, *last;
    ngx_int_t    rate, burst;
    ngx_str_t   *value;
    ngx_msec_t   unit;

    if (lcf->rate_interval != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lcf->rate_interval = 0;
        lcf->rate_burst = 0;
        return NGX_CONF_OK;
    }

    last = value[1].data + value[1].len;
    p = ngx_strlchr(value[1].data, last, '/');
    if (p == NULL || last - p != 2) {
        goto invalid;
    }
    switch (p[1]) {
    case 's': unit = 1000; break;
    case 'm': unit = 60000; break;
    case 'h': unit = 3600000; break;
    default: goto invalid;
    }
    rate = ngx_atoi(value[1].data, p - value[1].data);
    if (rate <= 0 || (ngx_msec_t) rate > unit) {
        goto invalid;
    }
    lcf->rate_interval = unit / rate;

    burst = 0;
    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "burst=", 6) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
        burst = ngx_atoi(value[2].data + 6, value[2].len - 6);
        if (burst == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid burst \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }
    lcf->rate_burst = (ngx_uint_t) burst;
    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid rate \"%V\" (expected N/s, N/m or N/h, or off)",
                       &value[1]);
    return NGX_CONF_ERROR;
}


/* chatwootai_token_budget off | N [per=day]; */
char *
ngx_http_cwai_token_budget_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (lcf->token_budget != NGX_CONF_UNSET) {
        return "is duplicate";
    }
    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lcf->token_budget = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid token budget \"%V\" (expected a positive "
                           "number of tokens, or off)", &value[1]);
        return NGX_CONF_ERROR;
    }
    if (cf->args->nelts == 3 && ngx_strcmp(value[2].data, "per=day") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" (only per=day)", &value[2]);
        return NGX_CONF_ERROR;
    }
    lcf->token_budget = n;
    return NGX_CONF_OK;
}


static ngx_http_cwai_stats_t *
ngx_http_cwai_limits_stats(ngx_http_request_t *r)
{
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    return &lcf->zone->sh->stats;
}


static void
ngx_http_cwai_rate_log(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    (void) ngx_atomic_fetch_add(&ngx_http_cwai_limits_stats(r)->rate_limited, 1);
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "chatwootai: contact %L of inbox %L is over "
                  "chatwootai_rate_limit: message %L is answered without "
                  "the model", ctx->wh.contact_id, ctx->wh.inbox_id,
                  ctx->wh.message_id);
}


/* Redis's bucket, shared by every instance: its reply comes before the
 * conversation's memory (asked after it, Redis answers in order), so
 * before the pipeline starts */
static void
ngx_http_cwai_rate_decided(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_str_t *latest)
{
    ngx_http_cwai_ctx_t  *ctx = data;

    if (rc == NGX_DECLINED && ctx->no_model == NULL) {
        ctx->no_model = "rate_limited";
        ngx_http_cwai_rate_log(r, ctx);
    }
}


ngx_uint_t
ngx_http_cwai_rate_limited(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    u_char                     kbuf[64];
    ngx_str_t                  key;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    if (lcf->rate_interval == 0 || lcf->zone == NULL) {
        return 0;
    }

    /* per contact and inbox: contact ids are per account, every inbox
     * belongs to one account */
    key.data = kbuf;
    key.len = ngx_snprintf(kbuf, sizeof(kbuf), "r:%L:%L", ctx->wh.inbox_id,
                           ctx->wh.contact_id) - kbuf;

    /* the zone's bucket counts this instance's messages: over it, the sum
     * of every instance's is over too (and down, Redis cannot help) */
    if (ngx_http_cwai_zone_limit(lcf->zone, &key, lcf->rate_interval,
                                 lcf->rate_burst)
        == NGX_DECLINED)
    {
        ngx_http_cwai_rate_log(r, ctx);
        return 1;
    }

    /* with Redis up, its bucket counts every instance's messages; the ack
     * does not wait for it, the pipeline does (see above) */
    (void) ngx_http_cwai_l2_limit(r, &key, lcf->rate_interval, lcf->rate_burst,
                                  ngx_http_cwai_rate_decided, ctx);
    return 0;
}


/* "t:<tenant>:budget:<YYYYMMDD>": the day in the domain's time zone (its
 * utc_offset, else its timezone, as the embedded agent's clock; UTC when
 * neither is known) */
static void
ngx_http_cwai_budget_key(ngx_http_cwai_domain_t *dom, u_char *buf, size_t size,
    ngx_str_t *key)
{
    int        tz;
    time_t     now;
    ngx_tm_t   tm;

    tz = 0;
    if (dom->domain->has_utc_offset) {
        tz = dom->domain->utc_offset_minutes;
    } else if (cwai_tz_offset(dom->domain->timezone ? dom->domain->timezone
                                                    : "America/Sao_Paulo",
                              &tz) != 0)
    {
        tz = 0;
    }
    now = ngx_time() + (time_t) tz * 60;
    ngx_gmtime(now, &tm);

    key->data = buf;
    key->len = ngx_snprintf(buf, size, "t:%V:budget:%04d%02d%02d", &dom->name,
                            tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday)
               - buf;
}


ngx_uint_t
ngx_http_cwai_budget_exceeded(ngx_http_request_t *r, ngx_http_cwai_domain_t *dom)
{
    u_char                     kbuf[192];
    ngx_str_t                  key, val;
    ngx_int_t                  spent;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    if (lcf->token_budget <= 0 || lcf->zone == NULL
        || !lcf->pipeline.has_llm)
    {
        return 0;
    }

    ngx_http_cwai_budget_key(dom, kbuf, sizeof(kbuf), &key);
    if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &val, NULL) != NGX_OK) {
        return 0;
    }
    spent = ngx_atoi(val.data, val.len);
    if (spent == NGX_ERROR || spent < lcf->token_budget) {
        return 0;
    }

    (void) ngx_atomic_fetch_add(
               &ngx_http_cwai_limits_stats(r)->budget_exceeded, 1);
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "chatwootai: domain \"%V\" spent %i model tokens today, "
                  "chatwootai_token_budget is %i: a message is answered "
                  "without the model", &dom->name, spent, lcf->token_budget);
    return 1;
}


void
ngx_http_cwai_budget_sync(ngx_http_request_t *r, ngx_http_cwai_domain_t *dom)
{
    u_char                     kbuf[192];
    ngx_str_t                  key;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    if (lcf->token_budget <= 0 || lcf->zone == NULL || !lcf->pipeline.has_llm) {
        return;
    }
    ngx_http_cwai_budget_key(dom, kbuf, sizeof(kbuf), &key);
    ngx_http_cwai_l2_counter_sync(lcf->zone, &key, NGX_HTTP_CWAI_BUDGET_TTL);
}


void
ngx_http_cwai_budget_add(ngx_http_request_t *r, ngx_http_cwai_domain_t *dom,
    uint64_t tokens)
{
    u_char                     kbuf[192];
    ngx_str_t                  key;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    if (tokens == 0 || lcf->token_budget <= 0 || lcf->zone == NULL) {
        return;
    }

    ngx_http_cwai_budget_key(dom, kbuf, sizeof(kbuf), &key);
    (void) ngx_http_cwai_zone_incr(lcf->zone, &key, (int64_t) tokens,
                                   NGX_HTTP_CWAI_BUDGET_TTL, NULL);
    /* every instance adds to one counter; its reply raises the zone's */
    ngx_http_cwai_l2_incrby(lcf->zone, &key, (int64_t) tokens,
                            NGX_HTTP_CWAI_BUDGET_TTL);
}
