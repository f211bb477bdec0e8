/*
 * Odoo JSON-2 / JSON-RPC request builders and parsers (see cwai_odoo.h).
 */
#include "cwai_odoo.h"
#include "cwai_json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUSY_MAX_EVENTS  5000

/* ---- the generic call --------------------------------------------------- */

static int
valid_name(const char *s, int dots)
{
    size_t  i;

    if (s == NULL || s[0] == '\0' || s[0] == '_' || s[0] == '.') {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_' || (dots && s[i] == '.')))
        {
            return 0;
        }
    }
    return i <= 128;
}

static int
is_search_method(const char *m)
{
    return strcmp(m, "search_read") == 0 || strcmp(m, "search") == 0
           || strcmp(m, "search_count") == 0;
}

/* A stable cache key input without credentials. */
static int
set_cache(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const cwai_odoo_call_t *call)
{
    json_t  *k;
    char    *s;
    int      rc;

    if (!call->cacheable || cfg->cache_ttl_ms == 0) {
        return 0;
    }
    k = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:s?}", "model", call->model,
                  "method", call->method, "ids", call->ids, "kw", call->kwargs,
                  "ctx", call->context, "db", cfg->db);
    if (k == NULL) {
        return -1;
    }
    s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(k);
    if (s == NULL) {
        return -1;
    }
    rc = cwai_http_req_set_cache(req, cfg->cache_ttl_ms, cfg->tenant, "erp",
                                 call->model, s, strlen(s));
    free(s);
    return rc;
}

static json_t *
json2_body(const cwai_odoo_call_t *call)
{
    json_t  *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    if ((call->ids && json_object_set(o, "ids", call->ids) != 0)
        || (call->kwargs && json_object_update(o, call->kwargs) != 0)
        || (call->context && json_object_set(o, "context", call->context) != 0))
    {
        json_decref(o);
        return NULL;
    }
    /* "ids"/"context" given in kwargs by mistake are overridden above only
     * when set; a context in kwargs stays as given. */
    return o;
}

static json_t *
jsonrpc_body(const cwai_odoo_cfg_t *cfg, const cwai_odoo_call_t *call)
{
    json_t        *args, *kw = NULL, *pos, *o;
    const json_t  *domain, *vals;

    kw = call->kwargs ? json_deep_copy(call->kwargs) : json_object();
    if (kw == NULL || !json_is_object(kw)) {
        json_decref(kw);
        return NULL;
    }
    pos = json_array();
    if (pos == NULL) {
        json_decref(kw);
        return NULL;
    }
    domain = json_object_get(kw, "domain");
    vals = json_object_get(kw, "vals_list");
    if (call->ids) {
        json_array_append(pos, call->ids);
    } else if (is_search_method(call->method) && domain) {
        json_array_append(pos, (json_t *) domain);
        json_object_del(kw, "domain");
    } else if (strcmp(call->method, "create") == 0 && json_is_array(vals)) {
        json_array_append(pos, json_array_size(vals) == 1
                          ? json_array_get(vals, 0) : (json_t *) vals);
        json_object_del(kw, "vals_list");
    }
    if (call->context) {
        json_object_set(kw, "context", call->context);
    }
    args = json_pack("[s, I, s, s, s, o]", cfg->db, (json_int_t) cfg->uid,
                     cfg->api_key, call->model, call->method, pos);
    if (args == NULL) {
        json_decref(kw);
        return NULL;
    }
    if (json_object_size(kw) > 0) {
        json_array_append_new(args, kw);
    } else {
        json_decref(kw);
    }
    o = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:I}", "jsonrpc", "2.0",
                  "method", "call", "params", "service", "object",
                  "method", "execute_kw", "args", args,
                  "id", (json_int_t) (call->rpc_id ? call->rpc_id : 1));
    return o;
}

int
cwai_odoo_build(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const cwai_odoo_call_t *call, cwai_err_t *err)
{
    json_t  *body;
    char     auth[512];

    cwai_http_req_init(req, CWAI_UP_ERP, "POST");
    if (cfg == NULL || call == NULL || !valid_name(call->model, 1)
        || !valid_name(call->method, 0))
    {
        cwai_err_set(err, "odoo_input", "invalid model or method name");
        return -1;
    }
    if ((call->ids && !json_is_array(call->ids))
        || (call->kwargs && !json_is_object(call->kwargs))
        || (call->context && !json_is_object(call->context)))
    {
        cwai_err_set(err, "odoo_input", "ids must be an array, kwargs and "
                     "context objects");
        return -1;
    }
    if (cfg->transport == CWAI_ODOO_JSONRPC) {
        if (cfg->db == NULL || cfg->api_key == NULL || cfg->uid <= 0) {
            cwai_err_set(err, "odoo_config", "JSON-RPC needs db, uid and key");
            return -1;
        }
        body = jsonrpc_body(cfg, call);
        if (body == NULL || cwai_http_req_set_path(req, "/jsonrpc") != 0) {
            goto nomem;
        }
    } else {
        body = json2_body(call);
        if (body == NULL
            || cwai_http_req_set_path(req, "/json/2/%s/%s", call->model,
                                      call->method) != 0)
        {
            goto nomem;
        }
        if (cfg->api_key) {
            if (strlen(cfg->api_key) > sizeof(auth) - 8) {
                json_decref(body);
                cwai_http_req_free(req);
                cwai_err_set(err, "odoo_config", "API key too long");
                return -1;
            }
            snprintf(auth, sizeof(auth), "bearer %s", cfg->api_key);
            if (cwai_http_req_add_header(req, "Authorization", auth, 1) != 0) {
                memset(auth, 0, sizeof(auth));
                json_decref(body);
                cwai_http_req_free(req);
                cwai_err_set(err, "odoo_config", "invalid API key");
                return -1;
            }
            memset(auth, 0, sizeof(auth));
        }
        if (cfg->db && cwai_http_req_add_header(req, "X-Odoo-Database",
                                                cfg->db, 0) != 0)
        {
            json_decref(body);
            cwai_http_req_free(req);
            cwai_err_set(err, "odoo_config", "invalid database name");
            return -1;
        }
    }
    if (cwai_http_req_set_json(req, body) != 0 || set_cache(req, cfg, call)) {
        goto nomem;
    }
    json_decref(body);
    req->timeout_ms = cfg->timeout_ms;
    return 0;

nomem:
    json_decref(body);
    cwai_http_req_free(req);
    cwai_err_set(err, "no_memory", "building the Odoo call");
    return -1;
}

/* ---- errors -------------------------------------------------------------- */

const char *
cwai_odoo_errkind_name(cwai_odoo_errkind_t k)
{
    switch (k) {
    case CWAI_ODOO_E_NONE:      return "none";
    case CWAI_ODOO_E_AUTH:      return "auth";
    case CWAI_ODOO_E_ACCESS:    return "access";
    case CWAI_ODOO_E_NOT_FOUND: return "not_found";
    case CWAI_ODOO_E_USER:      return "user";
    case CWAI_ODOO_E_BAD_CALL:  return "bad_call";
    case CWAI_ODOO_E_TRANSIENT: return "transient";
    case CWAI_ODOO_E_SERVER:    return "server";
    default:                    return "protocol";
    }
}

static cwai_odoo_errkind_t
kind_of_status(int status)
{
    switch (status) {
    case 401: return CWAI_ODOO_E_AUTH;
    case 403: return CWAI_ODOO_E_ACCESS;
    case 404: return CWAI_ODOO_E_NOT_FOUND;
    case 400:
    case 422: return CWAI_ODOO_E_BAD_CALL;
    default:
        return cwai_http_status_class(status) == CWAI_UPERR_RETRY
               ? CWAI_ODOO_E_TRANSIENT : CWAI_ODOO_E_SERVER;
    }
}

static cwai_odoo_errkind_t
kind_of_name(const char *n, int status)
{
    static const struct {
        const char           *name;
        cwai_odoo_errkind_t   kind;
    } map[] = {
        { "odoo.exceptions.AccessDenied", CWAI_ODOO_E_AUTH },
        { "werkzeug.exceptions.Unauthorized", CWAI_ODOO_E_AUTH },
        { "odoo.exceptions.AccessError", CWAI_ODOO_E_ACCESS },
        { "werkzeug.exceptions.Forbidden", CWAI_ODOO_E_ACCESS },
        { "odoo.exceptions.MissingError", CWAI_ODOO_E_NOT_FOUND },
        { "werkzeug.exceptions.NotFound", CWAI_ODOO_E_NOT_FOUND },
        { "odoo.exceptions.UserError", CWAI_ODOO_E_USER },
        { "odoo.exceptions.ValidationError", CWAI_ODOO_E_USER },
        { "odoo.exceptions.RedirectWarning", CWAI_ODOO_E_USER },
        { "odoo.exceptions.Warning", CWAI_ODOO_E_USER },
        { "werkzeug.exceptions.BadRequest", CWAI_ODOO_E_BAD_CALL },
        { "werkzeug.exceptions.UnprocessableEntity", CWAI_ODOO_E_BAD_CALL },
        { "builtins.ValueError", CWAI_ODOO_E_BAD_CALL },
        { "builtins.TypeError", CWAI_ODOO_E_BAD_CALL },
        { "builtins.KeyError", CWAI_ODOO_E_BAD_CALL },
        { "builtins.AttributeError", CWAI_ODOO_E_BAD_CALL },
        { "odoo.exceptions.ConcurrencyError", CWAI_ODOO_E_TRANSIENT },
        { "odoo.exceptions.LockError", CWAI_ODOO_E_TRANSIENT },
        { "werkzeug.exceptions.ServiceUnavailable", CWAI_ODOO_E_TRANSIENT },
        { "werkzeug.exceptions.TooManyRequests", CWAI_ODOO_E_TRANSIENT },
    };
    size_t  i;

    if (n) {
        for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(n, map[i].name) == 0) {
                return map[i].kind;
            }
        }
        if (strncmp(n, "psycopg2.", 9) == 0 || strncmp(n, "psycopg.", 8) == 0) {
            return CWAI_ODOO_E_TRANSIENT;
        }
    }
    return status == 200 ? CWAI_ODOO_E_SERVER : kind_of_status(status);
}

static void
set_err(cwai_odoo_err_t *err, cwai_odoo_errkind_t kind, int status,
    const char *code, const char *msg, size_t len, const cwai_http_resp_t *resp)
{
    char  cbuf[24];

    if (err == NULL) {
        return;
    }
    if (code == NULL) {
        snprintf(cbuf, sizeof(cbuf), "http_%d", status);
        code = cbuf;
    }
    cwai_uperr_set(&err->up, kind == CWAI_ODOO_E_TRANSIENT ? CWAI_UPERR_RETRY
                   : CWAI_UPERR_FATAL, status, code, NULL);
    if (msg) {
        cwai_http_copy_text(err->up.message, sizeof(err->up.message), msg, len);
    }
    if (kind == CWAI_ODOO_E_TRANSIENT && resp) {
        err->up.retry_after_ms = cwai_http_retry_after(resp);
    }
    err->kind = kind;
}

/* A JSON-2 error body or JSON-RPC error.data: {"name", "message", ...}. */
static void
exception_err(cwai_odoo_err_t *err, const json_t *e, int status,
    const cwai_http_resp_t *resp)
{
    const char  *name = json_string_value(json_object_get(e, "name"));
    const char  *msg = json_string_value(json_object_get(e, "message"));

    if (name && strlen(name) >= sizeof(err->up.code)) {
        name = NULL;
    }
    set_err(err, kind_of_name(name, status), status, name, msg,
            msg ? strlen(msg) : 0, resp);
}

int
cwai_odoo_parse(const cwai_http_resp_t *resp, cwai_odoo_transport_t t,
    json_t **result, cwai_odoo_err_t *err)
{
    json_t         *j = NULL, *r;
    const json_t   *e;
    cwai_uperr_t    pe;
    const char     *msg;

    *result = NULL;
    if (err) {
        memset(err, 0, sizeof(*err));
    }
    if (cwai_http_precheck(resp, &pe) != 0) {
        if (err) {
            err->up = pe;
            err->kind = pe.cls == CWAI_UPERR_RETRY ? CWAI_ODOO_E_TRANSIENT
                        : CWAI_ODOO_E_PROTOCOL;
        }
        return -1;
    }
    if (resp->len > 0) {
        j = cwai_json_loadb(resp->body, resp->len, JSON_DECODE_ANY, NULL);
    }
    if (resp->status < 200 || resp->status > 299) {
        if (json_is_object(j) && json_is_string(json_object_get(j, "name"))) {
            exception_err(err, j, resp->status, resp);      /* JSON-2 error */
        } else {
            /* HTML (wrong db, wrong content type), nginx error page, text */
            msg = resp->status == 404 ? "not found (HTML reply: wrong database "
                  "or URL, or legacy RPC disabled?)" : NULL;
            set_err(err, kind_of_status(resp->status), resp->status, NULL,
                    msg, msg ? strlen(msg) : 0, resp);
            if (err && (resp->status == 404 || resp->status == 415)) {
                err->kind = CWAI_ODOO_E_PROTOCOL;
            }
        }
        json_decref(j);
        return -1;
    }
    if (j == NULL) {
        set_err(err, CWAI_ODOO_E_PROTOCOL, resp->status, "malformed_body",
                "the reply is not JSON", 21, NULL);
        return -1;
    }
    if (t == CWAI_ODOO_JSON2) {
        *result = j;
        return 0;
    }
    if (!json_is_object(j)) {
        set_err(err, CWAI_ODOO_E_PROTOCOL, resp->status, "malformed_body",
                "JSON-RPC reply is not an object", 31, NULL);
        json_decref(j);
        return -1;
    }
    e = json_object_get(j, "error");
    if (e != NULL && !json_is_null(e)) {
        if (!json_is_object(e)) {
            set_err(err, CWAI_ODOO_E_PROTOCOL, resp->status, "malformed_body",
                    "JSON-RPC error is not an object", 31, NULL);
        } else if (json_is_object(json_object_get(e, "data"))
                   && json_is_string(json_object_get(json_object_get(e, "data"),
                                                     "name")))
        {
            exception_err(err, json_object_get(e, "data"), resp->status, resp);
        } else {
            msg = json_string_value(json_object_get(e, "message"));
            set_err(err, CWAI_ODOO_E_SERVER, resp->status, "odoo_error", msg,
                    msg ? strlen(msg) : 0, NULL);
            if (err == NULL) {
                /* nothing to report into */
            } else if (json_integer_value(json_object_get(e, "code")) == 100) {
                err->kind = CWAI_ODOO_E_AUTH;           /* session expired */
            } else if (json_integer_value(json_object_get(e, "code")) == 404) {
                err->kind = CWAI_ODOO_E_NOT_FOUND;
            }
        }
        json_decref(j);
        return -1;
    }
    r = json_object_get(j, "result");
    *result = r ? json_incref(r) : json_null();
    json_decref(j);
    return 0;
}

/* ---- values -------------------------------------------------------------- */

const char *
cwai_odoo_str(const json_t *rec, const char *field)
{
    return json_string_value(json_object_get(rec, field));
}

int
cwai_odoo_m2o(const json_t *v, int64_t *id, const char **name)
{
    const json_t  *i;

    if (name) {
        *name = NULL;
    }
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *id = json_integer_value(v);
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) < 1) {
        return -1;
    }
    i = json_array_get(v, 0);
    if (!json_is_integer(i) || json_integer_value(i) <= 0) {
        return -1;
    }
    *id = json_integer_value(i);
    if (name) {
        *name = json_string_value(json_array_get(v, 1));
    }
    return 0;
}

int
cwai_odoo_id_result(const json_t *r, int64_t *id)
{
    if (json_is_array(r) && json_array_size(r) == 1) {
        r = json_array_get(r, 0);
    }
    if (!json_is_integer(r) || json_integer_value(r) <= 0) {
        return -1;
    }
    *id = json_integer_value(r);
    return 0;
}

int
cwai_odoo_number_result(const json_t *r, double *v)
{
    double  d;

    if (!json_is_number(r)) {
        return -1;
    }
    d = json_number_value(r);
    if (!isfinite(d) || d < 0 || d > 1e15) {
        return -1;
    }
    *v = d;
    return 0;
}

void
cwai_odoo_datetime(int64_t t, char buf[20])
{
    cwai_utc_tm_t  tm;

    cwai_utc_split(t, &tm);
    snprintf(buf, 20, "%04u-%02u-%02u %02u:%02u:%02u",
             (unsigned) tm.year % 10000u, (unsigned) tm.month % 100u,
             (unsigned) tm.day % 100u, (unsigned) tm.hour % 100u,
             (unsigned) tm.min % 100u, (unsigned) tm.sec % 100u);
}

/* ---- authentication ------------------------------------------------------ */

int
cwai_odoo_build_authenticate(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const char *login, cwai_err_t *err)
{
    json_t            *o;
    cwai_odoo_call_t   call;

    if (cfg && cfg->transport == CWAI_ODOO_JSON2) {
        memset(&call, 0, sizeof(call));
        call.model = "res.users";
        call.method = "context_get";
        return cwai_odoo_build(req, cfg, &call, err);
    }
    cwai_http_req_init(req, CWAI_UP_ERP, "POST");
    if (cfg == NULL || cfg->db == NULL || cfg->api_key == NULL || login == NULL) {
        cwai_err_set(err, "odoo_config", "authenticate needs db, login and key");
        return -1;
    }
    o = json_pack("{s:s, s:s, s:{s:s, s:s, s:[s, s, s, {}]}, s:i}",
                  "jsonrpc", "2.0", "method", "call", "params",
                  "service", "common", "method", "authenticate",
                  "args", cfg->db, login, cfg->api_key, "id", 1);
    if (o == NULL || cwai_http_req_set_path(req, "/jsonrpc") != 0
        || cwai_http_req_set_json(req, o) != 0)
    {
        json_decref(o);
        cwai_http_req_free(req);
        cwai_err_set(err, "no_memory", "building authenticate");
        return -1;
    }
    json_decref(o);
    req->timeout_ms = cfg->timeout_ms;
    return 0;
}

int
cwai_odoo_parse_uid(const cwai_http_resp_t *resp, cwai_odoo_transport_t t,
    int64_t *uid, cwai_odoo_err_t *err)
{
    json_t        *r;
    const json_t  *u;

    if (cwai_odoo_parse(resp, t, &r, err) != 0) {
        return -1;
    }
    u = t == CWAI_ODOO_JSON2 ? json_object_get(r, "uid") : r;
    if (json_is_integer(u) && json_integer_value(u) > 0) {
        *uid = json_integer_value(u);
        json_decref(r);
        return 0;
    }
    if (json_is_false(u) || t == CWAI_ODOO_JSONRPC) {
        set_err(err, CWAI_ODOO_E_AUTH, resp->status, "odoo.exceptions.AccessDenied",
                "wrong login or API key", 22, NULL);
    } else {
        set_err(err, CWAI_ODOO_E_PROTOCOL, resp->status, "malformed_body",
                "no uid in context_get", 21, NULL);
    }
    json_decref(r);
    return -1;
}

/* ---- the tools' calls ------------------------------------------------- */

static json_t *
strs(const char *const *v)
{
    json_t  *a = json_array();

    while (a && *v) {
        if (json_array_append_new(a, json_string(*v)) != 0) {
            json_decref(a);
            return NULL;
        }
        v++;
    }
    return a;
}

static json_t *
product_fields(const cwai_odoo_cfg_t *cfg)
{
    static const char *const  base[] = {
        "name", "default_code", "list_price", "lst_price", "description_sale",
        "categ_id", "uom_id", "currency_id", "sale_ok", "active",
        "qty_available", "free_qty", "virtual_available", NULL
    };
    json_t  *f = strs(base);
    size_t   n;

    if (f && cfg->no_stock) {
        n = json_array_size(f);
        json_array_remove(f, n - 1);
        json_array_remove(f, n - 2);
        json_array_remove(f, n - 3);
    }
    return f;
}

static json_t *
lang_ctx(const cwai_odoo_cfg_t *cfg)
{
    return cfg->lang ? json_pack("{s:s}", "lang", cfg->lang) : NULL;
}

/* Builds call with kwargs/ids/context, then releases them. */
static int
run_build(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg, const char *model,
    const char *method, json_t *ids, json_t *kwargs, json_t *ctx,
    int cacheable, cwai_err_t *err)
{
    cwai_odoo_call_t  call;
    int               rc;
    int               need_ids = strcmp(method, "read") == 0
                                 || strcmp(method, "get_contextual_price") == 0;

    if (kwargs == NULL || (need_ids && ids == NULL)) {
        json_decref(ids);
        json_decref(kwargs);
        json_decref(ctx);
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "no_memory", "building %s/%s", model, method);
        return -1;
    }
    memset(&call, 0, sizeof(call));
    call.model = model;
    call.method = method;
    call.ids = ids;
    call.kwargs = kwargs;
    call.context = ctx;
    call.cacheable = cacheable;
    rc = cwai_odoo_build(req, cfg, &call, err);
    json_decref(ids);
    json_decref(kwargs);
    json_decref(ctx);
    return rc;
}

static int
check_cfg(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg, cwai_err_t *err)
{
    if (cfg == NULL) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_config", "no Odoo configuration");
        return -1;
    }
    return 0;
}

/* Escapes LIKE wildcards for =ilike. malloc'd. */
static char *
like_escape(const char *s)
{
    size_t  n = strlen(s), i, o = 0;
    char   *d = malloc(2 * n + 1);

    if (d == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '\\') {
            d[o++] = '\\';
        }
        d[o++] = s[i];
    }
    d[o] = '\0';
    return d;
}

int
cwai_odoo_build_products_search(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *query, unsigned limit,
    cwai_err_t *err)
{
    json_t  *kw;
    char    *code;
    size_t   n;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    n = query ? strlen(query) : 0;
    while (n > 0 && isspace((unsigned char) query[n - 1])) {
        n--;
    }
    while (n > 0 && isspace((unsigned char) *query)) {
        query++;
        n--;
    }
    if (n == 0 || n > 200) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "product query must have 1..200 bytes");
        return -1;
    }
    if (limit == 0 || limit > CWAI_ODOO_MAX_LIMIT) {
        limit = limit ? CWAI_ODOO_MAX_LIMIT : 5;
    }
    code = malloc(n + 1);
    if (code == NULL) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "no_memory", "product search");
        return -1;
    }
    memcpy(code, query, n);
    code[n] = '\0';
    kw = json_pack("{s:[[s,s,b], s, [s,s,s%], [s,s,s%]], s:o, s:i, s:s}",
                   "domain", "sale_ok", "=", 1, "|",
                   "name", "ilike", code, n,
                   "default_code", "=ilike", code, n,
                   "fields", product_fields(cfg), "limit", (int) limit,
                   "order", "name asc");
    free(code);
    return run_build(req, cfg, "product.product", "search_read", NULL, kw,
                     lang_ctx(cfg), 1, err);
}

int
cwai_odoo_build_product_get(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    int64_t product_id, const char *code, cwai_err_t *err)
{
    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (product_id > 0) {
        return run_build(req, cfg, "product.product", "read",
                         json_pack("[I]", (json_int_t) product_id),
                         json_pack("{s:o}", "fields", product_fields(cfg)),
                         lang_ctx(cfg), 1, err);
    }
    if (code == NULL || code[0] == '\0' || strlen(code) > 64) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "a product id or code is needed");
        return -1;
    }
    return run_build(req, cfg, "product.product", "search_read", NULL,
                     json_pack("{s:[[s,s,s]], s:o, s:i}", "domain",
                               "default_code", "=", code,
                               "fields", product_fields(cfg), "limit", 1),
                     lang_ctx(cfg), 1, err);
}

int
cwai_odoo_build_contextual_price(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, int64_t product_id, int64_t pricelist_id,
    unsigned quantity, cwai_err_t *err)
{
    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (product_id <= 0 || pricelist_id <= 0) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "product and pricelist ids needed");
        return -1;
    }
    if (quantity == 0) {
        quantity = 1;
    }
    if (quantity > 100000) {
        quantity = 100000;
    }
    return run_build(req, cfg, "product.product", "get_contextual_price",
                     json_pack("[I]", (json_int_t) product_id), json_object(),
                     json_pack("{s:I, s:i}", "pricelist",
                               (json_int_t) pricelist_id,
                               "quantity", (int) quantity), 1, err);
}

static json_t *
partner_fields(const cwai_odoo_cfg_t *cfg)
{
    static const char *const  base[] = {
        "name", "phone", "email", "property_product_pricelist", NULL
    };
    json_t  *f = strs(base);

    if (f && cfg->partner_mobile) {
        json_array_append_new(f, json_string("mobile"));
    }
    return f;
}

int
cwai_odoo_build_partner_by_phone(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *phone_e164, cwai_err_t *err)
{
    char   nat[32];
    int    n;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    n = cwai_odoo_phone_national(phone_e164, cfg->country_code, nat,
                                 sizeof(nat));
    if (n < 8) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "unusable phone number");
        return -1;
    }
    if (cfg->no_phone_search) {
        /* raw text compare: the last 4 digits survive most formats */
        return run_build(req, cfg, "res.partner", "search_read", NULL,
                         json_pack("{s:[[s,s,s]], s:o, s:i}", "domain",
                                   "phone", "ilike", nat + n - 4,
                                   "fields", partner_fields(cfg), "limit", 50),
                         NULL, 0, err);
    }
    return run_build(req, cfg, "res.partner", "search_read", NULL,
                     json_pack("{s:[[s,s,s]], s:o, s:i}", "domain",
                               "phone_mobile_search", "ilike", nat + n - 8,
                               "fields", partner_fields(cfg), "limit", 10),
                     NULL, 0, err);
}

static int
valid_email(const char *e)
{
    const char  *at;
    size_t       i;

    if (e == NULL || strlen(e) < 3 || strlen(e) > 254) {
        return 0;
    }
    at = strchr(e, '@');
    if (at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@')) {
        return 0;
    }
    for (i = 0; e[i]; i++) {
        if ((unsigned char) e[i] <= ' ' || e[i] == 0x7f || e[i] == '<'
            || e[i] == '>' || e[i] == ',')
        {
            return 0;
        }
    }
    return 1;
}

int
cwai_odoo_build_partner_by_email(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *email, cwai_err_t *err)
{
    char  *esc;
    int    rc;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (!valid_email(email)) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "unusable e-mail address");
        return -1;
    }
    esc = like_escape(email);
    if (esc == NULL) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "no_memory", "partner by e-mail");
        return -1;
    }
    rc = run_build(req, cfg, "res.partner", "search_read", NULL,
                   json_pack("{s:[[s,s,s]], s:o, s:i}", "domain",
                             "email", "=ilike", esc,
                             "fields", partner_fields(cfg), "limit", 10),
                   NULL, 0, err);
    free(esc);
    return rc;
}

/* ---- phone numbers ------------------------------------------------------ */

/* Digits of phone in international form (country code first), or -1. */
static int
phone_intl(const char *phone, const char *cc, char *out, size_t size)
{
    char    d[40];
    size_t  n = 0, ccl = strlen(cc), i;
    int     intl = 0;
    const char  *p = phone;

    if (phone == NULL) {
        return -1;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '+') {
        intl = 1;
        p++;
    }
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= sizeof(d)) {
                return -1;
            }
            d[n++] = *p;
        } else if (!strchr(" \t()-./\\", *p)) {
            return -1;
        }
    }
    d[n] = '\0';
    i = 0;
    if (!intl && n > 2 && d[0] == '0' && d[1] == '0') {
        intl = 1;
        i = 2;
    }
    if (!intl) {
        if (n >= ccl + 10 && strncmp(d, cc, ccl) == 0) {
            /* "55 11 98765 4321" typed without the plus */
        } else {
            while (i < n && d[i] == '0') {        /* trunk prefix */
                i++;
            }
            if (n - i < 6 || ccl + n - i + 1 > size) {
                return -1;
            }
            snprintf(out, size, "%s%s", cc, d + i);
            return (int) strlen(out);
        }
    }
    if (n - i < 7 || n - i > 15 || n - i + 1 > size) {
        return -1;
    }
    memcpy(out, d + i, n - i + 1);
    return (int) (n - i);
}

int
cwai_odoo_phone_national(const char *phone, const char *cc, char *out,
    size_t size)
{
    char    intl[40];
    int     n;
    size_t  ccl;

    if (cc == NULL || cc[0] == '\0') {
        cc = "55";
    }
    ccl = strlen(cc);
    n = phone_intl(phone, cc, intl, sizeof(intl));
    if (n < 0) {
        return -1;
    }
    if ((size_t) n > ccl && strncmp(intl, cc, ccl) == 0) {
        if ((size_t) n - ccl + 1 > size) {
            return -1;
        }
        memcpy(out, intl + ccl, (size_t) n - ccl + 1);
        return n - (int) ccl;
    }
    if ((size_t) n + 1 > size) {
        return -1;
    }
    memcpy(out, intl, (size_t) n + 1);     /* a foreign number: keep it whole */
    return n;
}

int
cwai_odoo_phone_match(const char *stored, const char *sender, const char *cc)
{
    char         a[40], b[40];
    int          na, nb;
    const char  *l, *s;

    if (cc == NULL || cc[0] == '\0') {
        cc = "55";
    }
    na = phone_intl(stored, cc, a, sizeof(a));
    nb = phone_intl(sender, cc, b, sizeof(b));
    if (na < 0 || nb < 0) {
        return 0;
    }
    if (na == nb) {
        return strcmp(a, b) == 0;
    }
    /* Brazil: mobiles gained a 9 after the area code (2012-2016); old
     * records may lack it: +55 DD 9XXXX-XXXX == +55 DD XXXX-XXXX */
    if (strcmp(cc, "55") != 0 || strncmp(a, "55", 2) != 0
        || strncmp(b, "55", 2) != 0 || abs(na - nb) != 1)
    {
        return 0;
    }
    l = na > nb ? a : b;
    s = na > nb ? b : a;
    return strlen(l) == 13 && l[4] == '9' && strncmp(l, s, 4) == 0
           && strcmp(l + 5, s + 4) == 0 && s[4] >= '6';
}

static int
email_eq(const char *stored, const char *email)
{
    size_t  n;

    if (stored == NULL || email == NULL) {
        return 0;
    }
    while (*stored == ' ') {
        stored++;
    }
    n = strlen(stored);
    while (n > 0 && stored[n - 1] == ' ') {
        n--;
    }
    return n == strlen(email) && strncasecmp(stored, email, n) == 0;
}

int
cwai_odoo_pick_partner(const json_t *result, const char *phone_e164,
    const char *email, const char *country_code, const json_t **rec)
{
    size_t         i;
    const json_t  *r;
    int            count = 0, hit;

    if (rec) {
        *rec = NULL;
    }
    if (!json_is_array(result)) {
        return 0;
    }
    if (email && !valid_email(email)) {
        email = NULL;
    }
    json_array_foreach(result, i, r) {
        if (!json_is_object(r) || !json_is_integer(json_object_get(r, "id"))
            || json_integer_value(json_object_get(r, "id")) <= 0)
        {
            continue;
        }
        hit = 0;
        if (phone_e164) {
            hit = cwai_odoo_phone_match(cwai_odoo_str(r, "phone"), phone_e164,
                                        country_code)
                  || cwai_odoo_phone_match(cwai_odoo_str(r, "mobile"),
                                           phone_e164, country_code);
        }
        if (!hit && email) {
            hit = email_eq(cwai_odoo_str(r, "email"), email);
        }
        if (hit) {
            if (count == 0 && rec) {
                *rec = r;
            }
            count++;
        }
    }
    if (count != 1 && rec) {
        *rec = NULL;
    }
    return count;
}

/* ---- orders --------------------------------------------------------------- */

int
cwai_odoo_build_orders(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    int64_t partner_id, unsigned limit, cwai_err_t *err)
{
    static const char *const  base[] = {
        "name", "state", "amount_total", "currency_id", "date_order",
        "partner_id", "invoice_status", "delivery_status", NULL
    };
    json_t  *f;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (partner_id <= 0) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "orders need the customer's partner id");
        return -1;
    }
    if (limit == 0 || limit > CWAI_ODOO_MAX_LIMIT) {
        limit = limit ? CWAI_ODOO_MAX_LIMIT : 5;
    }
    f = strs(base);
    if (f && cfg->no_stock) {
        json_array_remove(f, json_array_size(f) - 1);
    }
    return run_build(req, cfg, "sale.order", "search_read", NULL,
                     json_pack("{s:[[s,s,I]], s:o, s:s, s:i}", "domain",
                               "partner_id", "=", (json_int_t) partner_id,
                               "fields", f, "order", "date_order desc",
                               "limit", (int) limit),
                     NULL, 0, err);
}

int
cwai_odoo_build_order_lines(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const int64_t *order_ids, size_t n, cwai_err_t *err)
{
    static const char *const  fields[] = {
        "order_id", "product_id", "name", "product_uom_qty", "price_unit",
        "discount", "price_subtotal", "price_total", "qty_delivered", NULL
    };
    json_t  *ids;
    size_t   i;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (order_ids == NULL || n == 0 || n > CWAI_ODOO_MAX_LIMIT) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "1..%d order ids", CWAI_ODOO_MAX_LIMIT);
        return -1;
    }
    ids = json_array();
    for (i = 0; ids && i < n; i++) {
        if (json_array_append_new(ids, json_integer(order_ids[i])) != 0) {
            json_decref(ids);
            ids = NULL;
        }
    }
    return run_build(req, cfg, "sale.order.line", "search_read", NULL,
                     json_pack("{s:[[s,s,o]], s:o, s:s, s:i}", "domain",
                               "order_id", "in", ids, "fields", strs(fields),
                               "order", "order_id desc, id asc", "limit", 200),
                     NULL, 0, err);
}

/* ---- appointments ----------------------------------------------------------- */

int64_t
cwai_odoo_local_midnight(int64_t t, int off)
{
    int64_t  local = t + (int64_t) off * 60;
    int64_t  day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);

    return day * 86400 - (int64_t) off * 60;
}

int
cwai_odoo_parse_local(const char *s, int off, int64_t *t)
{
    int64_t  v;

    if (cwai_utc_parse(s, &v) != 0) {
        return -1;
    }
    *t = v - (int64_t) off * 60;
    return 0;
}

void
cwai_odoo_format_local(int64_t t, int off, char buf[17], int *wday)
{
    cwai_utc_tm_t  tm;

    cwai_utc_split(t + (int64_t) off * 60, &tm);
    snprintf(buf, 17, "%04u-%02u-%02u %02u:%02u", (unsigned) tm.year % 10000u,
             (unsigned) tm.month % 100u, (unsigned) tm.day % 100u,
             (unsigned) tm.hour % 100u, (unsigned) tm.min % 100u);
    if (wday) {
        *wday = tm.wday;
    }
}

/* [ids] of the non-zero ids, or NULL when none. */
static json_t *
staff_ids(const cwai_odoo_staff_t *staff, size_t n, int partners)
{
    json_t  *a = NULL;
    int64_t  v;
    size_t   i;

    for (i = 0; i < n; i++) {
        v = partners ? staff[i].partner_id : staff[i].user_id;
        if (v <= 0) {
            continue;
        }
        if (a == NULL && (a = json_array()) == NULL) {
            return NULL;
        }
        json_array_append_new(a, json_integer(v));
    }
    return a;
}

static int
build_busy(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg, int64_t user_id,
    const cwai_odoo_staff_t *staff, size_t nstaff, int64_t from, int64_t to,
    cwai_err_t *err)
{
    static const char *const  fields[] = {
        "start", "stop", "allday", "show_as", "user_id", "partner_ids", NULL
    };
    char     a[20], b[20];
    json_t  *dom, *users, *partners;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (to <= from || to - from > 90 * 86400 || nstaff > CWAI_ODOO_MAX_STAFF) {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "busy window must be 0..90 days");
        return -1;
    }
    cwai_odoo_datetime(to, b);
    cwai_odoo_datetime(from, a);
    dom = json_pack("[[s,s,s], [s,s,s]]", "start", "<", b, "stop", ">", a);
    if (dom && user_id > 0) {
        json_array_append_new(dom, json_pack("[s,s,I]", "user_id", "=",
                                             (json_int_t) user_id));
    }
    users = staff_ids(staff, nstaff, 0);
    partners = staff_ids(staff, nstaff, 1);
    /* a professional's calendar in Community: what they organise or attend */
    if (dom && users && partners) {
        json_array_append_new(dom, json_string("|"));
    }
    if (dom && users) {
        json_array_append_new(dom, json_pack("[s,s,O]", "user_id", "in", users));
    }
    if (dom && partners) {
        json_array_append_new(dom, json_pack("[s,s,O]", "partner_ids", "in",
                                             partners));
    }
    json_decref(users);
    json_decref(partners);
    return run_build(req, cfg, "calendar.event", "search_read", NULL,
                     json_pack("{s:o, s:o, s:s, s:i}", "domain", dom,
                               "fields", strs(fields), "order", "start asc",
                               "limit", 500),
                     NULL, 0, err);
}

int
cwai_odoo_build_busy(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    int64_t user_id, int64_t from, int64_t to, cwai_err_t *err)
{
    return build_busy(req, cfg, user_id, NULL, 0, from, to, err);
}

int
cwai_odoo_build_busy_staff(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const cwai_odoo_staff_t *staff, size_t nstaff, int64_t from, int64_t to,
    cwai_err_t *err)
{
    return build_busy(req, cfg, 0, staff, nstaff, from, to, err);
}

int
cwai_odoo_parse_busy(const json_t *result, int off, int64_t partner_id,
    cwai_odoo_busy_t **out, size_t *n)
{
    return cwai_odoo_parse_busy_staff(result, off, partner_id, NULL, 0, out, n);
}

int
cwai_odoo_parse_busy_staff(const json_t *result, int off, int64_t partner_id,
    const cwai_odoo_staff_t *staff, size_t nstaff, cwai_odoo_busy_t **out,
    size_t *n)
{
    size_t             i, k, j, cnt = 0;
    const json_t      *e, *pids, *p;
    cwai_odoo_busy_t  *b;
    int64_t            s, t, uid;
    const char        *show;

    *out = NULL;
    *n = 0;
    if (!json_is_array(result) || json_array_size(result) > BUSY_MAX_EVENTS) {
        return -1;
    }
    b = calloc(json_array_size(result) + 1, sizeof(*b));
    if (b == NULL) {
        return -1;
    }
    json_array_foreach(result, i, e) {
        if (!json_is_object(e)
            || cwai_utc_parse(cwai_odoo_str(e, "start"), &s) != 0
            || cwai_utc_parse(cwai_odoo_str(e, "stop"), &t) != 0)
        {
            free(b);
            return -1;          /* an event we cannot place: do not guess */
        }
        show = cwai_odoo_str(e, "show_as");
        if (show && strcmp(show, "free") == 0) {
            continue;
        }
        if (t < s) {
            t = s;
        }
        if (json_is_true(json_object_get(e, "allday"))) {
            s = cwai_odoo_local_midnight(s, off);
            t = cwai_odoo_local_midnight(t, off) + 86400;
        }
        b[cnt].start = s;
        b[cnt].stop = t;
        b[cnt].staff = nstaff == 0 || staff == NULL ? UINT32_MAX : 0;
        if (cwai_odoo_m2o(json_object_get(e, "user_id"), &uid, NULL) != 0) {
            uid = 0;
        }
        for (j = 0; j < nstaff && staff && j < CWAI_ODOO_MAX_STAFF; j++) {
            if (uid > 0 && staff[j].user_id == uid) {
                b[cnt].staff |= 1u << j;
            }
        }
        pids = json_object_get(e, "partner_ids");
        json_array_foreach(pids, k, p) {
            if (!json_is_integer(p)) {
                continue;
            }
            if (partner_id > 0 && json_integer_value(p) == partner_id) {
                b[cnt].mine = 1;
            }
            for (j = 0; j < nstaff && staff && j < CWAI_ODOO_MAX_STAFF; j++) {
                if (staff[j].partner_id > 0
                    && staff[j].partner_id == json_integer_value(p))
                {
                    b[cnt].staff |= 1u << j;
                }
            }
        }
        cnt++;
    }
    *out = b;
    *n = cnt;
    return 0;
}

int
cwai_odoo_build_create_event(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const cwai_odoo_event_t *ev, cwai_err_t *err)
{
    cwai_odoo_call_t  call;
    json_t           *vals, *pids, *kw, *ctx = NULL;
    char              a[20], b[20];
    size_t            i;
    int               rc;

    if (check_cfg(req, cfg, err) != 0) {
        return -1;
    }
    if (ev == NULL || ev->name == NULL || ev->name[0] == '\0'
        || ev->stop <= ev->start || ev->npartners == 0 || ev->partner_ids == NULL)
    {
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "an event needs a name, a time range "
                     "and an attendee");
        return -1;
    }
    cwai_odoo_datetime(ev->start, a);
    cwai_odoo_datetime(ev->stop, b);
    pids = json_array();
    for (i = 0; pids && i < ev->npartners; i++) {
        if (json_array_append_new(pids, json_integer(ev->partner_ids[i])) != 0) {
            json_decref(pids);
            pids = NULL;
        }
    }
    vals = json_pack("{s:s, s:s, s:s, s:[[i,i,o]]}", "name", ev->name,
                     "start", a, "stop", b, "partner_ids", 6, 0, pids);
    if (vals && ev->user_id > 0) {
        json_object_set_new(vals, "user_id", json_integer(ev->user_id));
    }
    if (vals && ev->location) {
        json_object_set_new(vals, "location", json_string(ev->location));
    }
    if (vals && ev->description) {
        json_object_set_new(vals, "description", json_string(ev->description));
    }
    kw = json_pack("{s:[o]}", "vals_list", vals);
    if (cfg->tz) {
        ctx = json_pack("{s:s}", "tz", cfg->tz);
    }
    if (kw == NULL) {
        json_decref(ctx);
        cwai_http_req_init(req, CWAI_UP_ERP, "POST");
        cwai_err_set(err, "odoo_input", "event text is not UTF-8");
        return -1;
    }
    memset(&call, 0, sizeof(call));
    call.model = "calendar.event";
    call.method = "create";
    call.kwargs = kw;
    call.context = ctx;
    call.rpc_id = ev->rpc_id;
    rc = cwai_odoo_build(req, cfg, &call, err);
    json_decref(kw);
    json_decref(ctx);
    return rc;
}
