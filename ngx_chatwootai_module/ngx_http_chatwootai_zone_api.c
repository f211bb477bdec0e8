/*
 * chatwootai_zone_api: an operator's window on the L1 zone — read, write,
 * count and purge entries (for example a cached answer after a domain
 * file changed). Protect it like any admin location (allow/deny).
 *
 *   GET    ?key=K                   {"key","value","ttl_ms"} or 404
 *   PUT    ?key=K[&ttl=MS]  body    set
 *   POST   ?key=K&op=add[&ttl=MS]   add if absent: {"added":true|false}
 *   POST   ?key=K&op=incr[&by=N][&ttl=MS]   {"value":N}
 *   DELETE ?key=K                   {"deleted":true|false}
 *   GET    (no key)                 zone usage
 */

#include "ngx_http_chatwootai_module.h"


static void ngx_http_cwai_zone_api_body(ngx_http_request_t *r);


static ngx_int_t
ngx_http_cwai_arg(ngx_http_request_t *r, const char *name, ngx_str_t *out)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }
    dst = ngx_pnalloc(r->pool, raw.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }
    out->data = dst;
    src = raw.data;
    ngx_unescape_uri(&dst, &src, raw.len, 0);
    out->len = dst - out->data;
    return NGX_OK;
}


static ngx_int_t
ngx_http_cwai_arg_num(ngx_http_request_t *r, const char *name, int64_t dflt,
    int64_t *out)
{
    ngx_str_t   s;
    ngx_uint_t  neg;
    ngx_int_t   n;

    *out = dflt;
    if (ngx_http_cwai_arg(r, name, &s) != NGX_OK) {
        return NGX_OK;
    }
    neg = (s.len > 1 && s.data[0] == '-');
    n = ngx_atoi(s.data + neg, s.len - neg);
    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }
    *out = neg ? -n : n;
    return NGX_OK;
}


ngx_int_t
ngx_http_cwai_zone_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   key, value;
    ngx_msec_t                  ttl;
    ngx_http_cwai_loc_conf_t   *lcf;
    ngx_http_cwai_zone_usage_t  u;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    if (r->method & (NGX_HTTP_PUT|NGX_HTTP_POST)) {
        rc = ngx_http_read_client_request_body(r, ngx_http_cwai_zone_api_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }
        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_cwai_arg(r, "key", &key) != NGX_OK) {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "missing_key", "?key= is required");
        }
        ngx_http_cwai_zone_usage(lcf->zone, &u);
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:s%, s:I, s:I, s:I}",
                             "zone", lcf->zone->name.data, lcf->zone->name.len,
                             "size", (json_int_t) u.size,
                             "free", (json_int_t) u.free,
                             "entries", (json_int_t) u.entries));
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &value, &ttl);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (rc == NGX_DECLINED) {
            return ngx_http_cwai_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                            "no live entry for this key");
        }
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:s%, s:s%, s:I}",
                             "key", key.data, key.len,
                             "value", value.data, value.len,
                             "ttl_ms", (json_int_t) ttl));
    }

    if (r->method & NGX_HTTP_DELETE) {
        rc = ngx_http_cwai_zone_delete(lcf->zone, &key);
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:b}", "deleted", rc == NGX_OK));
    }

    return NGX_HTTP_NOT_ALLOWED;
}


static ngx_int_t
ngx_http_cwai_zone_api_write(ngx_http_request_t *r)
{
    int64_t                    ttl, by, result;
    ngx_int_t                  rc;
    ngx_str_t                  key, op, value;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    if (ngx_http_cwai_arg(r, "key", &key) != NGX_OK || key.len == 0) {
        return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST, "missing_key",
                                        "?key= is required");
    }
    if (ngx_http_cwai_arg_num(r, "ttl", 0, &ttl) != NGX_OK || ttl < 0) {
        return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_ttl",
                                        "?ttl= must be milliseconds >= 0");
    }
    if (ngx_http_cwai_read_body(r, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ngx_http_cwai_arg(r, "op", &op) != NGX_OK) {
        ngx_str_set(&op, "set");
    }

    if (op.len == 4 && ngx_strncmp(op.data, "incr", 4) == 0) {
        if (ngx_http_cwai_arg_num(r, "by", 1, &by) != NGX_OK) {
            return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_by", "?by= must be an integer");
        }
        rc = ngx_http_cwai_zone_incr(lcf->zone, &key, by, (ngx_msec_t) ttl,
                                     &result);
        if (rc != NGX_OK) {
            return ngx_http_cwai_send_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                            "zone_full", "the entry does not fit");
        }
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:I}", "value", (json_int_t) result));
    }

    if (op.len == 3 && ngx_strncmp(op.data, "add", 3) == 0) {
        rc = ngx_http_cwai_zone_add(lcf->zone, &key, &value, (ngx_msec_t) ttl);
        if (rc == NGX_ERROR) {
            return ngx_http_cwai_send_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                            "zone_full", "the entry does not fit");
        }
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:b}", "added", rc == NGX_OK));
    }

    if (op.len == 3 && ngx_strncmp(op.data, "set", 3) == 0) {
        rc = ngx_http_cwai_zone_set(lcf->zone, &key, &value, (ngx_msec_t) ttl);
        if (rc != NGX_OK) {
            return ngx_http_cwai_send_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                            "zone_full", "the entry does not fit");
        }
        return ngx_http_cwai_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:b}", "stored", 1));
    }

    return ngx_http_cwai_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_op",
                                    "?op= must be set, add or incr");
}


static void
ngx_http_cwai_zone_api_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_cwai_zone_api_write(r));
}
