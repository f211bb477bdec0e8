/*
 * Decisions that several nginx instances behind a load balancer must take
 * as one: which message of a burst answers it (chatwootai_debounce) and
 * whether a contact has a token left (chatwootai_rate_limit). Each is one
 * Lua script run by Redis — atomic, so two instances asking at once get
 * consistent answers — on the worker's connection (ngx_http_chatwootai_redis.c).
 * Redis is never needed: when it is down, slow or replies with an error,
 * the caller keeps the zone's decision.
 */

#include "ngx_http_chatwootai_module.h"

#include <hiredis/hiredis.h>


/*
 * The end of a message's quiet window. KEYS[1] holds the id of the burst's
 * latest message — the one that reached Redis last, as the zone's key is
 * the one that reached the zone last — and "<id>!" once that one answered;
 * ARGV[1] is this message's id, ARGV[2] the key's TTL in ms. Merged (the
 * latest id is returned): another message came later and answers, or it
 * (or this very message, accepted by two instances while their dedupe ran
 * without Redis) answered already, with a newer id. Otherwise this message
 * answers and the key says so. An older answered id means this message's
 * mark was lost (Redis restarted): answering beats losing it.
 */
static const char  ngx_http_cwai_burst_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v and v ~= ARGV[1] then\n"
    "  local last, done = string.gsub(v, '!$', '')\n"
    "  local n, id = tonumber(last), tonumber(ARGV[1])\n"
    "  if done == 0 or last == ARGV[1] or (n and id and n > id) then\n"
    "    return last\n"
    "  end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. '!', 'PX', ARGV[2])\n"
    "return 1\n";

/*
 * GCRA, as ngx_http_cwai_zone_limit(), on Redis's clock (the instances'
 * clocks may differ). KEYS[1] holds the theoretical arrival time in ms;
 * ARGV[1] is the interval in ms, ARGV[2] the burst. 1: a token was taken,
 * 0: over the limit (nothing changes). TIME before a write needs effects
 * replication before Redis 5.
 */
static const char  ngx_http_cwai_limit_lua[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local interval = tonumber(ARGV[1])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if tat < now then tat = now end\n"
    "if tat - now > tonumber(ARGV[2]) * interval then return 0 end\n"
    "tat = tat + interval\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',\n"
    "           string.format('%.0f', tat - now))\n"
    "return 1\n";


typedef struct {
    ngx_http_request_t           *r;
    ngx_http_cwai_l2_decided_pt   handler;
    void                         *data;
} ngx_http_cwai_l2_decision_t;


/* 1 → NGX_OK, 0 → NGX_DECLINED, a string (the burst's latest id) →
 * NGX_DECLINED with it; anything else → NGX_ERROR */
static void
ngx_http_cwai_l2_decided(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_str_t                     latest, *l;
    ngx_http_cwai_l2_decision_t  *d = data;

    l = NULL;
    if (rc != NGX_HTTP_CWAI_REDIS_REPLY) {
        rc = NGX_ERROR;

    } else if (reply->type == REDIS_REPLY_INTEGER) {
        rc = reply->integer == 1 ? NGX_OK : NGX_DECLINED;

    } else if (reply->type == REDIS_REPLY_STRING) {
        latest.len = reply->len;
        latest.data = ngx_pnalloc(d->r->pool, reply->len);
        if (latest.data != NULL) {
            ngx_memcpy(latest.data, reply->str, reply->len);
            l = &latest;
        }
        rc = NGX_DECLINED;

    } else {
        /* an error reply is logged and counted by the client */
        rc = NGX_ERROR;
    }

    d->handler(d->r, d->data, rc, l);
}


static ngx_int_t
ngx_http_cwai_l2_eval(ngx_http_request_t *r, const char *script,
    ngx_str_t *key, ngx_uint_t nargs, ngx_str_t *args,
    ngx_http_cwai_l2_decided_pt handler, void *data)
{
    ngx_http_cwai_l2_decision_t *d;

    if (!ngx_http_cwai_redis_configured() || !ngx_http_cwai_redis_up()) {
        return NGX_DECLINED;
    }
    d = ngx_palloc(r->pool, sizeof(ngx_http_cwai_l2_decision_t));
    if (d == NULL) {
        return NGX_DECLINED;
    }
    d->r = r->main;
    d->handler = handler;
    d->data = data;

    return ngx_http_cwai_redis_eval(r, ngx_http_cwai_l2_decided, d, script,
                                    key, 1, args, nargs)
           == NGX_OK ? NGX_AGAIN : NGX_DECLINED;
}


ngx_uint_t
ngx_http_cwai_l2_burst_mark(ngx_str_t *key, int64_t id, ngx_msec_t ttl)
{
    u_char       kbuf[512], ibuf[NGX_INT64_LEN], tbuf[NGX_INT_T_LEN];
    size_t       argvlen[5];
    const char  *argv[5];

    if (!ngx_http_cwai_redis_configured() || !ngx_http_cwai_redis_up()) {
        return 0;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    if (argv[1] == NULL) {
        return 0;
    }
    argv[0] = "SET";
    argvlen[0] = 3;
    argv[2] = (const char *) ibuf;
    argvlen[2] = ngx_sprintf(ibuf, "%L", id) - ibuf;
    argv[3] = "PX";
    argvlen[3] = 2;
    argv[4] = (const char *) tbuf;
    argvlen[4] = ngx_sprintf(tbuf, "%M", ttl) - tbuf;

    /* fire and forget: sent after the message's turn (RPUSH), so an
     * instance that sees this mark finds the turn in Redis too */
    return ngx_http_cwai_redis_command(NULL, NULL, NULL, 5, argv, argvlen)
           == NGX_OK;
}


ngx_int_t
ngx_http_cwai_l2_burst_claim(ngx_http_request_t *r, ngx_str_t *key, int64_t id,
    ngx_msec_t ttl, ngx_http_cwai_l2_decided_pt handler, void *data)
{
    u_char     ibuf[NGX_INT64_LEN], tbuf[NGX_INT_T_LEN];
    ngx_str_t  args[2];

    args[0].data = ibuf;
    args[0].len = ngx_sprintf(ibuf, "%L", id) - ibuf;
    args[1].data = tbuf;
    args[1].len = ngx_sprintf(tbuf, "%M", ttl) - tbuf;

    return ngx_http_cwai_l2_eval(r, ngx_http_cwai_burst_lua, key, 2, args,
                                 handler, data);
}


ngx_int_t
ngx_http_cwai_l2_limit(ngx_http_request_t *r, ngx_str_t *key,
    ngx_msec_t interval, ngx_uint_t burst, ngx_http_cwai_l2_decided_pt handler,
    void *data)
{
    u_char     ibuf[NGX_INT_T_LEN], bbuf[NGX_INT_T_LEN];
    ngx_str_t  args[2];

    args[0].data = ibuf;
    args[0].len = ngx_sprintf(ibuf, "%M", interval) - ibuf;
    args[1].data = bbuf;
    args[1].len = ngx_sprintf(bbuf, "%ui", burst) - bbuf;

    return ngx_http_cwai_l2_eval(r, ngx_http_cwai_limit_lua, key, 2, args,
                                 handler, data);
}


typedef struct {
    ngx_http_request_t         *r;
    ngx_http_cwai_l2_done_pt    handler;
    void                       *data;
} ngx_http_cwai_l2_barrier_t;


static void
ngx_http_cwai_l2_passed(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_http_cwai_l2_barrier_t  *b = data;

    b->handler(b->r, b->data);
}


ngx_int_t
ngx_http_cwai_l2_barrier(ngx_http_request_t *r, ngx_http_cwai_l2_done_pt handler,
    void *data)
{
    size_t                       argvlen[1];
    const char                  *argv[1];
    ngx_http_cwai_l2_barrier_t  *b;

    if (!ngx_http_cwai_redis_configured() || !ngx_http_cwai_redis_up()) {
        return NGX_DECLINED;
    }
    b = ngx_palloc(r->pool, sizeof(ngx_http_cwai_l2_barrier_t));
    if (b == NULL) {
        return NGX_DECLINED;
    }
    b->r = r->main;
    b->handler = handler;
    b->data = data;

    argv[0] = "PING";
    argvlen[0] = 4;
    return ngx_http_cwai_redis_request(r, ngx_http_cwai_l2_passed, b, 1, argv,
                                       argvlen)
           == NGX_OK ? NGX_AGAIN : NGX_DECLINED;
}
