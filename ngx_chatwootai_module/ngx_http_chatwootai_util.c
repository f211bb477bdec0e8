/*
 * Small helpers shared by the handlers: JSON responses, the request body
 * as one buffer, header lookup.
 */

#include "ngx_http_chatwootai_module.h"


ngx_int_t
ngx_http_cwai_send_json(ngx_http_request_t *r, ngx_uint_t status, json_t *doc)
{
    char         *s;
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    /* 6 significant digits: confidences and timings, not 0.911000000003 */
    s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(doc);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    len = ngx_strlen(s);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    b->last = ngx_cpymem(b->last, s, len);
    *b->last++ = '\n';
    free(s);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;
    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_cwai_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *detail)
{
    json_t  *doc;

    doc = json_pack("{s:s, s:s}", "error", code, "detail", detail ? detail : "");
    if (doc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_cwai_send_json(r, status, doc);
}


ngx_int_t
ngx_http_cwai_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    /* one spare byte: the core gets a NUL-terminated buffer */
    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }
    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        if (b->in_file) {
            /* large bodies are buffered to a temp file (client_body_buffer_size) */
            n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }
            p += n;
        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }
    *p = '\0';
    body->len = p - body->data;
    return NGX_OK;
}


ngx_table_elt_t *
ngx_http_cwai_find_header(ngx_http_request_t *r, const char *lowcase_name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }
        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) lowcase_name, len) == 0)
        {
            return &h[i];
        }
    }
}


/*
 * A secret given as file:PATH (relative to the configuration directory, at
 * most 4096 bytes, surrounding whitespace dropped), read when nginx reads
 * its configuration so that "nginx -t" fails on a missing or empty file.
 * Other values are returned as they are. The value is never logged.
 */
char *
ngx_http_cwai_conf_secret(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *value,
    ngx_str_t *out)
{
    u_char           *s, *e;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         path;
    ngx_file_info_t   fi;

    if (value->len <= 5 || ngx_strncmp(value->data, "file:", 5) != 0) {
        *out = *value;
        return NGX_CONF_OK;
    }

    path.data = value->data + 5;
    path.len = value->len - 5;
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V: cannot open \"%s\"", name, path.data);
        return NGX_CONF_ERROR;
    }
    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || ngx_file_size(&fi) > 4096) {
        ngx_close_file(fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: \"%s\" is not a readable file of at most "
                           "4096 bytes", name, path.data);
        return NGX_CONF_ERROR;
    }
    s = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (s == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }
    n = ngx_read_fd(fd, s, (size_t) ngx_file_size(&fi));
    ngx_close_file(fd);
    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V: cannot read \"%s\"", name, path.data);
        return NGX_CONF_ERROR;
    }

    e = s + n;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
    }
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'
                     || e[-1] == '\n'))
    {
        e--;
    }
    if (e == s) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: \"%s\" is empty", name,
                           path.data);
        return NGX_CONF_ERROR;
    }
    *e = '\0';
    out->data = s;
    out->len = e - s;
    return NGX_CONF_OK;
}
