/*
 * The module's filters. For subrequests that are our upstream calls, they
 * capture the response (ngx_http_chatwootai_call.c). For main requests:
 * JSON errors from the module's locations: nginx answers some requests
 * itself before a content handler runs (413 for a Content-Length over
 * client_max_body_size, 400, 408, 500) with an HTML page. Chatwoot and
 * scripts read JSON, so in our locations that page becomes
 * {"error": ..., "detail": ...}.
 */

#include "ngx_http_chatwootai_module.h"


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static void
ngx_http_cwai_error_code(ngx_uint_t status, const char **code,
    const char **detail)
{
    switch (status) {
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        *code = "body_too_large";
        *detail = "the body is larger than client_max_body_size";
        return;
    case NGX_HTTP_BAD_REQUEST:
        *code = "bad_request";
        *detail = "the HTTP request is malformed";
        return;
    case NGX_HTTP_REQUEST_TIME_OUT:
        *code = "request_timeout";
        *detail = "the request was not received in time";
        return;
    case NGX_HTTP_FORBIDDEN:
        *code = "forbidden";
        *detail = "access to this location is denied";
        return;
    case NGX_HTTP_NOT_ALLOWED:
        *code = "method_not_allowed";
        *detail = "this method is not allowed here";
        return;
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        *code = "unavailable";
        *detail = "the service is temporarily unavailable";
        return;
    default:
        *code = status >= 500 ? "internal_error" : "request_error";
        *detail = status >= 500 ? "the gateway failed to handle the request"
                                : "the request cannot be handled";
        return;
    }
}


static ngx_int_t
ngx_http_cwai_header_filter(ngx_http_request_t *r)
{
    const char                *code, *detail;
    json_t                    *doc;
    char                      *s;
    size_t                     len;
    ngx_buf_t                 *b;
    ngx_http_cwai_ctx_t       *ctx;
    ngx_http_cwai_call_t      *call;
    ngx_http_cwai_loc_conf_t  *lcf;

    if (r != r->main) {
        /* our upstream calls: capture, never pass on */
        call = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
        return call ? ngx_http_cwai_call_header(r, call)
                    : ngx_http_next_header_filter(r);
    }

    if (r->headers_out.status < NGX_HTTP_BAD_REQUEST) {
        return ngx_http_next_header_filter(r);
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    if (!lcf->json_errors
        || r->headers_out.content_type.len < 9
        || ngx_strncmp(r->headers_out.content_type.data, "text/html", 9) != 0)
    {
        return ngx_http_next_header_filter(r);
    }

    ngx_http_cwai_error_code(r->headers_out.status, &code, &detail);

    if (r->headers_out.status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
        && lcf->zone != NULL)
    {
        ngx_http_cwai_count_outcome(&lcf->zone->sh->stats,
                                    NGX_HTTP_CWAI_REJECTED, code);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }
        ngx_http_set_ctx(r, ctx, ngx_http_chatwootai_module);
    }
    ctx->status = "rejected";

    doc = json_pack("{s:s, s:s}", "error", code, "detail", detail);
    s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (s == NULL) {
        return ngx_http_next_header_filter(r);
    }
    len = ngx_strlen(s);
    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        free(s);
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->last, s, len);
    *b->last++ = '\n';
    free(s);
    b->last_buf = 1;
    b->last_in_chain = 1;
    ctx->error_body = b;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;
    ngx_http_clear_content_length(r);
    r->headers_out.content_length_n = b->last - b->pos;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_cwai_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_uint_t            last = 0;
    ngx_chain_t          *cl, out;
    ngx_http_cwai_ctx_t   *ctx;
    ngx_http_cwai_call_t  *call;

    if (r != r->main) {
        call = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
        return call ? ngx_http_cwai_call_body(r, call, in)
                    : ngx_http_next_body_filter(r, in);
    }
    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    if (ctx == NULL || ctx->error_body == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    /* swallow nginx's HTML page; send ours when it ends */
    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
        if (cl->buf->last_buf) {
            last = 1;
        }
    }
    if (!last) {
        return NGX_OK;
    }

    out.buf = ctx->error_body;
    out.next = NULL;
    ctx->error_body = NULL;
    return ngx_http_next_body_filter(r, &out);
}


ngx_int_t
ngx_http_cwai_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cwai_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_cwai_body_filter;

    return NGX_OK;
}
