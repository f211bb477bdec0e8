/*
 * Tool declarations and the safe binding of tool calls to ERP requests
 * (see cwai_tools.h).
 */
#include "cwai_tools.h"
#include "cwai_slots.h"
#include "cwai_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- declarations ----------------------------------------------------- */

typedef struct {
    const char         *name;
    const char         *type;       /* "string" | "integer" */
    int                 required;
    const char         *description;
    const char *const  *enums;      /* NULL-terminated, or NULL */
} param_t;

typedef struct {
    const char     *name;
    const char     *description;
    const param_t  *params;
    size_t          nparams;
} tooldef_t;

static const char *const  handoff_reasons[] = {
    "customer_request", "complaint", "health_risk", "wholesale",
    "out_of_scope", "other", NULL
};

static const param_t  p_search_products[] = {
    { "query", "string", 1, "Product name, code, brand or need, in the "
      "customer's words.", NULL },
    { "limit", "integer", 0, "How many products (1-10).", NULL },
};
static const param_t  p_product_details[] = {
    { "product_id", "integer", 0, "The product id from search_products.", NULL },
    { "default_code", "string", 0, "The product code (SKU), when no id.", NULL },
    { "quantity", "integer", 0, "Quantity for the price (default 1).", NULL },
};
static const param_t  p_customer_orders[] = {
    { "order_name", "string", 0, "One order number (e.g. S00025), or null "
      "for the latest orders.", NULL },
};
static const param_t  p_available_slots[] = {
    { "date_from", "string", 0, "First day to look at, YYYY-MM-DD (local "
      "time): the day the customer asked for; null for today.", NULL },
    { "days", "integer", 0, "How many days from date_from (1-14); 1 for "
      "one given day. Default 7.", NULL },
    { "time", "string", 0, "The time of day the customer asked for, HH:MM "
      "(local time, e.g. 18:30); each day then lists the free slots "
      "nearest to it. Null: slots spread over the day.", NULL },
    { "service", "string", 0, "The service, by id or name (e.g. Limpeza de "
      "Pele); only the professionals who perform it are considered.", NULL },
    { "professional", "string", 0, "A professional the customer asked for, "
      "by name; null for anyone.", NULL },
};
static const param_t  p_book_appointment[] = {
    { "start", "string", 1, "Start of a free slot from available_slots, "
      "YYYY-MM-DD HH:MM (local time).", NULL },
    { "service", "string", 0, "The service booked, by id or name.", NULL },
    { "professional", "string", 0, "The professional of that slot, or the "
      "one the customer asked for; null for anyone free.", NULL },
};
static const param_t  p_handoff[] = {
    { "reason", "string", 1, "Why a person must take over.", handoff_reasons },
    { "summary", "string", 1, "A short note for the human agent: what the "
      "customer wants and what was already said.", NULL },
};
static const param_t  p_search_rules[] = {
    { "query", "string", 1, "The customer's question rewritten as a search "
      "query.", NULL },
    { "topic", "string", 0, "A topic to narrow the search, or null.", NULL },
};

#define NP(a)  (sizeof(a) / sizeof((a)[0]))

static const tooldef_t  tooldefs[CWAI_TID__COUNT] = {
    { "search_products", "Search the store's active products by name, code, "
      "brand or need. Returns price and availability.", p_search_products,
      NP(p_search_products) },
    { "product_details", "Details of one product: price (the customer's own "
      "price when they are a registered customer), stock, description.",
      p_product_details, NP(p_product_details) },
    { "find_customer", "Look up the customer who is writing, by the contact "
      "the channel verified. Takes no arguments: it can only ever read the "
      "sender's own record.", NULL, 0 },
    { "customer_orders", "The orders of the customer who is writing (status, "
      "totals, items). Only ever the sender's own orders.",
      p_customer_orders, NP(p_customer_orders) },
    { "available_slots", "Free appointment slots (local time) from the "
      "opening hours, breaks and the professionals' calendars. Give the day "
      "and time the customer asked for; more_slots: true means other free "
      "times exist (ask again with another date_from or time).",
      p_available_slots, NP(p_available_slots) },
    { "book_appointment", "Book one free slot (from available_slots) for the "
      "customer who is writing, after they confirmed it.",
      p_book_appointment, NP(p_book_appointment) },
    { "handoff_to_human", "Hand the conversation to a human agent: the "
      "customer asks for a person, complains, reports a health problem or "
      "an allergic reaction, wants wholesale, or the question is outside "
      "what the tools and rules answer.", p_handoff, NP(p_handoff) },
    { "search_rules", "Search the store's rules and FAQs (shipping, "
      "payment, exchanges, policies). Answer only from what it returns.",
      p_search_rules, NP(p_search_rules) },
};

const char *
cwai_tools_name(cwai_tool_id_t t)
{
    if ((int) t < 0 || t >= CWAI_TID__COUNT) {
        return NULL;
    }
    return tooldefs[t].name;
}

int
cwai_tools_lookup(const char *name)
{
    int  i;

    for (i = 0; name && i < CWAI_TID__COUNT; i++) {
        if (strcmp(name, tooldefs[i].name) == 0) {
            return i;
        }
    }
    return -1;
}

static json_t *
param_schema(const param_t *p, int strict)
{
    json_t             *o, *e;
    const char *const  *v;
    int                 nullable = strict && !p->required;

    o = nullable ? json_pack("{s:[s,s]}", "type", p->type, "null")
        : json_pack("{s:s}", "type", p->type);
    if (o == NULL) {
        return NULL;
    }
    if (p->enums) {
        e = json_array();
        if (e == NULL || json_object_set_new(o, "enum", e) != 0) {
            json_decref(o);
            return NULL;
        }
        for (v = p->enums; *v; v++) {
            json_array_append_new(e, json_string(*v));
        }
        if (nullable) {
            json_array_append_new(e, json_null());
        }
    }
    if (json_object_set_new(o, "description", json_string(p->description))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
cwai_tools_declare(unsigned mask, const char *const *descriptions, int strict)
{
    json_t           *arr, *props, *req, *params, *fn, *ps;
    const tooldef_t  *t;
    const char       *desc;
    size_t            i, k;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }
    for (i = 0; i < CWAI_TID__COUNT; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }
        t = &tooldefs[i];
        props = json_object();
        req = json_array();
        params = json_pack("{s:s, s:o, s:o, s:b}", "type", "object",
                           "properties", props, "required", req,
                           "additionalProperties", 0);
        if (params == NULL) {
            json_decref(arr);
            return NULL;
        }
        for (k = 0; k < t->nparams; k++) {
            ps = param_schema(&t->params[k], strict);
            if (ps == NULL || json_object_set_new(props, t->params[k].name, ps)) {
                json_decref(params);
                json_decref(arr);
                return NULL;
            }
            if (strict || t->params[k].required) {
                json_array_append_new(req, json_string(t->params[k].name));
            }
        }
        desc = descriptions && descriptions[i] ? descriptions[i] : t->description;
        fn = json_pack("{s:s, s:s, s:o}", "name", t->name, "description", desc,
                       "parameters", params);
        if (fn && strict) {
            json_object_set_new(fn, "strict", json_true());
        }
        if (fn == NULL || json_array_append_new(arr,
                              json_pack("{s:s, s:o}", "type", "function",
                                        "function", fn)) != 0)
        {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ---- the run ------------------------------------------------------------- */

typedef enum {
    S_NONE = 0,
    S_RESOLVE_PHONE,
    S_RESOLVE_EMAIL,
    S_PRODUCTS,
    S_PRODUCT_GET,
    S_PRICE,
    S_ORDERS,
    S_LINES,
    S_BUSY,
    S_BOOK_CHECK,
    S_CREATE,
    S_FIND_DONE         /* pseudo-step after resolving for find_customer */
} step_t;

#define MAX_ORDERS  20

struct cwai_toolrun_s {
    const cwai_tools_ctx_t  *ctx;
    cwai_identity_t         *id;
    int                      tid;
    cwai_toolrun_status_t    status;
    step_t                   step;
    step_t                   after;         /* once the sender is resolved */
    cwai_uperr_t             err;
    char                    *result;
    /* the model's arguments, validated */
    char                    *query;
    char                    *topic;
    char                    *code;
    char                    *order_name;
    char                    *service;
    char                    *professional;
    char                    *reason;
    char                    *summary;
    int64_t                  product_id;
    unsigned                 quantity;
    unsigned                 limit;
    int64_t                  from, to;      /* slots window */
    int64_t                  start;         /* booking */
    int                      around;        /* asked time (minutes), -1 */
    cwai_odoo_hours_t        h;             /* hours with the service's length */
    const cwai_tools_service_t *svc;        /* matched service, or NULL */
    uint32_t                 want;          /* staff who may take it */
    int                      who;           /* booking: the staff index, -1 */
    /* carried between steps */
    json_t                  *acc;           /* product / orders / partner */
    int64_t                  order_ids[MAX_ORDERS];
    size_t                   norders;
};

static double
round2(double x)
{
    return round(x * 100) / 100;
}

static void
set_result_json(cwai_toolrun_t *run, json_t *o, cwai_toolrun_status_t st)
{
    free(run->result);
    run->result = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12))
                  : NULL;
    json_decref(o);
    if (run->result == NULL) {
        run->result = strdup("{\"error\":\"internal_error\"}");
    }
    run->status = st;
    run->step = S_NONE;
}

static void
done_error(cwai_toolrun_t *run, const char *code, const char *message)
{
    json_t  *o = json_pack("{s:s}", "error", code);

    if (o && message) {
        json_object_set_new(o, "message", json_string(message));
    }
    set_result_json(run, o, CWAI_TOOLRUN_DONE);
}

char *
cwai_tools_error_result(const char *code, const char *message)
{
    json_t  *o = json_pack("{s:s}", "error", code ? code : "error");
    char    *s;

    if (o && message) {
        json_object_set_new(o, "message", json_string(message));
    }
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* ---- arguments ------------------------------------------------------------ */

/* A string argument: absent/null -> *out NULL, 0; wrong type, empty,
 * longer than max bytes -> -1. */
static int
arg_str(const json_t *args, const char *key, size_t max, char **out)
{
    const json_t  *v = json_object_get(args, key);
    const char    *s;
    size_t         n;

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n')) {
        n--;
    }
    if (n == 0) {
        return 0;
    }
    if (n > max || memchr(s, '\0', n) != NULL) {
        return -1;
    }
    *out = malloc(n + 1);
    if (*out == NULL) {
        return -1;
    }
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    return 0;
}

/* An integer argument: absent/null -> dflt; wrong type -> -1; clamped. */
static int
arg_int(const json_t *args, const char *key, int64_t lo, int64_t hi,
    int64_t dflt, int64_t *out)
{
    const json_t  *v = json_object_get(args, key);
    double         d;

    *out = dflt;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v)) {
        d = json_real_value(v);
        if (!(d == floor(d)) || fabs(d) > 9e15) {
            return -1;
        }
        *out = (int64_t) d;
    } else if (json_is_string(v)) {         /* "56" from weaker models */
        char  *end;

        *out = strtoll(json_string_value(v), &end, 10);
        if (end == json_string_value(v) || *end != '\0') {
            return -1;
        }
    } else {
        return -1;
    }
    if (*out < lo) {
        *out = lo;
    }
    if (*out > hi) {
        *out = hi;
    }
    return 0;
}

/* A time argument "HH:MM" (or "HHhMM", "HH") -> minutes; absent/null ->
 * *out unchanged; anything else -> -1. */
static int
arg_time(const json_t *args, const char *key, int *out)
{
    char         *v = NULL;
    unsigned      hh = 0, mm = 0;
    char          sep = 0, tail = 0;
    int           n;

    if (arg_str(args, key, 8, &v) != 0) {
        return -1;
    }
    if (v == NULL) {
        return 0;
    }
    n = sscanf(v, "%2u%c%2u%c", &hh, &sep, &mm, &tail);
    free(v);
    if (!(n == 1 || (n == 2 && (sep == 'h' || sep == 'H'))
          || (n == 3 && (sep == ':' || sep == 'h' || sep == 'H')))
        || hh > 23 || mm > 59)
    {
        return -1;
    }
    *out = (int) (hh * 60 + mm);
    return 0;
}

/* ---- helpers for results -------------------------------------------------- */

static void
local_str(const cwai_toolrun_t *run, int64_t t, char buf[17])
{
    cwai_odoo_format_local(t, run->ctx->utc_offset_min, buf, NULL);
}

/* Odoo UTC datetime string -> local "YYYY-MM-DD HH:MM", or NULL. */
static json_t *
local_of(const cwai_toolrun_t *run, const char *odoo)
{
    int64_t  t;
    char     buf[17];

    if (cwai_utc_parse(odoo, &t) != 0) {
        return NULL;
    }
    local_str(run, t, buf);
    return json_string(buf);
}

static json_t *
cut(const char *s, size_t max)
{
    size_t  n;

    if (s == NULL) {
        return NULL;
    }
    n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    return json_stringn(s, n);
}

static void
set_opt(json_t *o, const char *key, json_t *v)
{
    if (v) {
        json_object_set_new(o, key, v);
    }
}

static const json_t *
num_field(const json_t *rec, const char *key)
{
    const json_t  *v = json_object_get(rec, key);

    return json_is_number(v) && isfinite(json_number_value(v)) ? v : NULL;
}

/* The public view of a product record; NULL when not sellable. */
static json_t *
product_view(const cwai_toolrun_t *run, const json_t *rec, int details)
{
    json_t         *o;
    const json_t   *price, *qty, *sale_ok, *active;
    const char     *cat = NULL, *uom = NULL;
    int64_t         id, dummy;

    if (!json_is_object(rec) || !json_is_integer(json_object_get(rec, "id"))) {
        return NULL;
    }
    sale_ok = json_object_get(rec, "sale_ok");
    active = json_object_get(rec, "active");
    if (json_is_false(sale_ok) || json_is_false(active)) {
        return NULL;
    }
    id = json_integer_value(json_object_get(rec, "id"));
    if (id <= 0 || cwai_odoo_str(rec, "name") == NULL) {
        return NULL;
    }
    o = json_pack("{s:I, s:o}", "id", (json_int_t) id, "name",
                  cut(cwai_odoo_str(rec, "name"), 200));
    if (o == NULL) {
        return NULL;
    }
    set_opt(o, "code", cut(cwai_odoo_str(rec, "default_code"), 64));
    price = num_field(rec, "lst_price");
    if (price == NULL) {
        price = num_field(rec, "list_price");
    }
    if (price) {
        json_object_set_new(o, "price", json_real(round2(json_number_value(price))));
        if (run->ctx->currency) {
            json_object_set_new(o, "currency", json_string(run->ctx->currency));
        }
    }
    qty = num_field(rec, "free_qty");
    if (qty == NULL) {
        qty = num_field(rec, "qty_available");
    }
    if (qty) {
        json_object_set_new(o, "in_stock",
                            json_boolean(json_number_value(qty) > 0));
        json_object_set_new(o, "available_qty",
                            json_integer((json_int_t) floor(
                                json_number_value(qty) > 0
                                ? json_number_value(qty) : 0)));
    }
    if (details && (qty = num_field(rec, "virtual_available")) != NULL) {
        json_object_set_new(o, "forecast_qty", json_integer((json_int_t) floor(
                                json_number_value(qty) > 0
                                ? json_number_value(qty) : 0)));
    }
    set_opt(o, "description", cut(cwai_odoo_str(rec, "description_sale"),
                                  details ? 1000 : 300));
    if (cwai_odoo_m2o(json_object_get(rec, "categ_id"), &dummy, &cat) == 0) {
        set_opt(o, "category", cut(cat, 120));
    }
    if (details && cwai_odoo_m2o(json_object_get(rec, "uom_id"), &dummy, &uom) == 0) {
        set_opt(o, "unit", cut(uom, 60));
    }
    return o;
}

/* ---- scheduling: service, professionals, length ----------------------------- */

/* How many words (3+ letters) of q start a word of name, both folded;
 * *nq = the number of such words in q. */
static int
name_hits(const char *q, const char *name, int *nq)
{
    char         fq[256], fn[256];
    const char  *w, *x;
    size_t       wl, xl, pre;
    int          hits = 0;

    cwai_text_fold(q, strlen(q), fq, sizeof(fq));
    cwai_text_fold(name, strlen(name), fn, sizeof(fn));
    *nq = 0;
    for (w = fq; *w; w += wl) {
        w += strspn(w, " -,.;/");
        wl = strcspn(w, " -,.;/");
        if (wl < 3) {
            continue;
        }
        ++*nq;
        /* a prefix, so "sobrancelha" finds "sobrancelhas" */
        pre = wl < 5 ? wl : 5;
        for (x = fn; *x; x += xl) {
            x += strspn(x, " -,.;/");
            xl = strcspn(x, " -,.;/");
            if (xl >= pre && strncmp(w, x, pre) == 0) {
                hits++;
                break;
            }
        }
    }
    return hits;
}

/* The service named by the model: its id, or the one name that matches
 * the most words; NULL when none or a tie. */
static const cwai_tools_service_t *
match_service(const cwai_tools_ctx_t *c, const char *q)
{
    const cwai_tools_service_t  *best = NULL;
    size_t                       i;
    int                          h, nq, top = 0, tie = 0;

    for (i = 0; q && i < c->nservices; i++) {
        if (c->services[i].id && strcasecmp(c->services[i].id, q) == 0) {
            return &c->services[i];
        }
    }
    for (i = 0; q && i < c->nservices; i++) {
        h = c->services[i].name ? name_hits(q, c->services[i].name, &nq) : 0;
        if (h > top) {
            top = h;
            best = &c->services[i];
            tie = 0;
        } else if (h == top && h > 0) {
            tie = 1;
        }
    }
    return tie ? NULL : best;
}

/* The run's hours (the service's length), the service and who may take it.
 * -1: the professional named is not one of them. */
static int
sched_setup(cwai_toolrun_t *run)
{
    const cwai_tools_ctx_t  *c = run->ctx;
    size_t                   k;
    uint32_t                 all = 0, named = 0;
    int                      nq, h, top = 0;

    run->h = *c->hours;
    run->h.step_min = c->hours->step_min ? c->hours->step_min
                      : c->hours->slot_min;
    run->svc = match_service(c, run->service);
    if (run->svc && run->svc->duration_min > 0) {
        run->h.slot_min = run->svc->duration_min;
    }
    for (k = 0; k < c->nstaff && k < CWAI_ODOO_MAX_STAFF; k++) {
        all |= 1u << k;
    }
    run->want = run->svc && (run->svc->staff & all) ? run->svc->staff & all
                : all;
    if (run->professional == NULL) {
        return 0;
    }
    /* the best match ("Camila" or "a Camila Duarte"); a tie keeps both */
    for (k = 0; k < c->nstaff && k < CWAI_ODOO_MAX_STAFF; k++) {
        if (!(run->want & (1u << k)) || c->staff[k].name == NULL) {
            continue;
        }
        h = name_hits(run->professional, c->staff[k].name, &nq);
        if (h > top) {
            top = h;
            named = 0;
        }
        if (h == top && h > 0) {
            named |= 1u << k;
        }
    }
    if (c->nstaff > 0 && named == 0) {
        return -1;
    }
    run->want = named ? named : run->want;
    return 0;
}

static void
unknown_professional(cwai_toolrun_t *run)
{
    json_t  *o, *names = json_array();
    size_t   k;
    uint32_t able = run->svc ? run->svc->staff : UINT32_MAX;

    for (k = 0; names && k < run->ctx->nstaff && k < CWAI_ODOO_MAX_STAFF; k++) {
        if ((able & (1u << k)) && run->ctx->staff[k].name) {
            json_array_append_new(names, json_string(run->ctx->staff[k].name));
        }
    }
    o = json_pack("{s:s, s:s, s:o}", "error", "unknown_professional", "message",
                  "no such professional for this service; these perform it",
                  "professionals", names);
    set_result_json(run, o, CWAI_TOOLRUN_DONE);
}

/* The professionals of the run, for the calendar read. */
static size_t
wanted_staff(const cwai_toolrun_t *run, cwai_odoo_staff_t *out)
{
    size_t  k, n = 0;

    for (k = 0; k < run->ctx->nstaff && k < CWAI_ODOO_MAX_STAFF; k++) {
        if (run->want & (1u << k)) {
            out[n++] = run->ctx->staff[k];
        }
    }
    return n;
}

/* A scheduling query of the run over [from, to). */
static void
sched_query(const cwai_toolrun_t *run, cwai_slots_query_t *q, int64_t from,
    int64_t to, const cwai_odoo_busy_t *busy, size_t nbusy)
{
    memset(q, 0, sizeof(*q));
    q->hours = &run->h;
    q->staff = run->ctx->staff;
    q->nstaff = run->ctx->nstaff;
    q->want = run->want;
    q->busy = busy;
    q->nbusy = nbusy;
    q->now = run->ctx->now;
    q->from = from;
    q->to = to;
    q->around = run->around;
}

/* ---- steps ---------------------------------------------------------------- */

static int
phone_usable(const cwai_toolrun_t *run)
{
    char  nat[32];

    return run->id->phone
           && cwai_odoo_phone_national(run->id->phone,
                                       run->ctx->odoo->country_code, nat,
                                       sizeof(nat)) >= 8;
}

static void go_after(cwai_toolrun_t *run);

static void
begin_resolve(cwai_toolrun_t *run, step_t after)
{
    run->after = after;
    if (run->id->resolved) {
        go_after(run);
    } else if (phone_usable(run)) {
        run->step = S_RESOLVE_PHONE;
        run->status = CWAI_TOOLRUN_REQUEST;
    } else if (run->id->email) {
        run->step = S_RESOLVE_EMAIL;
        run->status = CWAI_TOOLRUN_REQUEST;
    } else {
        run->id->resolved = 1;
        go_after(run);
    }
}

static void
not_identified(cwai_toolrun_t *run)
{
    const char  *why = run->id->ambiguous ? "ambiguous"
                       : (run->id->phone || run->id->email) ? "not_found"
                       : "no_verified_contact";

    switch (run->tid) {
    case CWAI_TID_FIND_CUSTOMER:
        set_result_json(run, json_pack("{s:b, s:s}", "found", 0, "reason", why),
                        CWAI_TOOLRUN_DONE);
        break;
    case CWAI_TID_CUSTOMER_ORDERS:
        set_result_json(run, json_pack("{s:b, s:s, s:[]}", "customer_identified",
                                       0, "reason", why, "orders"),
                        CWAI_TOOLRUN_DONE);
        break;
    default:
        set_result_json(run, json_pack("{s:b, s:s, s:s}", "booked", 0, "reason",
                                       "customer_not_identified", "detail", why),
                        CWAI_TOOLRUN_DONE);
        break;
    }
}

static void
finish_find(cwai_toolrun_t *run)
{
    json_t       *c;
    const char   *email = NULL, *phone = NULL;

    if (run->id->partner_id <= 0) {
        not_identified(run);
        return;
    }
    if (json_is_object(run->acc)) {
        email = cwai_odoo_str(run->acc, "email");
        phone = cwai_odoo_str(run->acc, "phone");
    }
    c = json_pack("{s:s}", "name", run->id->name);
    if (c) {
        set_opt(c, "email", cut(email ? email : run->id->email, 254));
        set_opt(c, "phone", cut(phone ? phone : run->id->phone, 40));
    }
    set_result_json(run, json_pack("{s:b, s:o}", "found", 1, "customer", c),
                    CWAI_TOOLRUN_DONE);
}

static void
go_after(cwai_toolrun_t *run)
{
    run->status = CWAI_TOOLRUN_REQUEST;
    switch (run->after) {
    case S_FIND_DONE:
        finish_find(run);
        return;
    case S_ORDERS:
    case S_BOOK_CHECK:
        if (run->id->partner_id <= 0) {
            not_identified(run);
            return;
        }
        run->step = run->after;
        return;
    default:
        run->step = run->after;
        return;
    }
}

static void
bind_partner(cwai_toolrun_t *run, const json_t *rec)
{
    int64_t      pl = 0;
    const char  *name = cwai_odoo_str(rec, "name");

    run->id->partner_id = json_integer_value(json_object_get(rec, "id"));
    run->id->pricelist_id =
        cwai_odoo_m2o(json_object_get(rec, "property_product_pricelist"), &pl,
                      NULL) == 0 ? pl : 0;
    snprintf(run->id->name, sizeof(run->id->name), "%s", name ? name : "");
    /* never cut a UTF-8 sequence */
    if (name && strlen(name) >= sizeof(run->id->name)) {
        size_t  n = sizeof(run->id->name) - 1;

        while (n > 0 && ((unsigned char) run->id->name[n] & 0xc0) == 0x80) {
            n--;
        }
        run->id->name[n] = '\0';
    }
    run->id->resolved = 1;
    json_decref(run->acc);
    run->acc = json_deep_copy(rec);
}

/* Upstream failure of the current step. */
static void
step_failed(cwai_toolrun_t *run, const cwai_odoo_err_t *oe)
{
    run->err = oe->up;
    if (oe->up.cls == CWAI_UPERR_RETRY) {
        if (run->step == S_CREATE) {
            run->step = S_BOOK_CHECK;   /* did it land? check before again */
        }
        run->status = CWAI_TOOLRUN_RETRY;
        return;
    }
    if (oe->kind == CWAI_ODOO_E_USER && run->step == S_CREATE) {
        done_error(run, "booking_refused", oe->up.message);
        return;
    }
    done_error(run, "erp_error", cwai_odoo_errkind_name(oe->kind));
}

static void
feed_resolve(cwai_toolrun_t *run, const json_t *r)
{
    const json_t  *rec;
    int            n;

    if (run->step == S_RESOLVE_PHONE) {
        n = cwai_odoo_pick_partner(r, run->id->phone, NULL,
                                   run->ctx->odoo->country_code, &rec);
    } else {
        n = cwai_odoo_pick_partner(r, NULL, run->id->email, NULL, &rec);
    }
    if (n == 1) {
        run->id->ambiguous = 0;
        bind_partner(run, rec);
        go_after(run);
        return;
    }
    if (n > 1) {
        run->id->ambiguous = 1;
    }
    if (run->step == S_RESOLVE_PHONE && run->id->email) {
        run->step = S_RESOLVE_EMAIL;
        return;
    }
    run->id->resolved = 1;
    go_after(run);
}

static void
feed_products(cwai_toolrun_t *run, const json_t *r)
{
    json_t        *list = json_array(), *v;
    const json_t  *rec;
    size_t         i;

    if (!json_is_array(r) || list == NULL) {
        json_decref(list);
        done_error(run, "erp_error", "unexpected reply");
        return;
    }
    json_array_foreach(r, i, rec) {
        if (json_array_size(list) >= run->limit) {
            break;
        }
        v = product_view(run, rec, 0);
        if (v) {
            json_array_append_new(list, v);
        }
    }
    set_result_json(run, json_pack("{s:o}", "products", list), CWAI_TOOLRUN_DONE);
}

static void
feed_product_get(cwai_toolrun_t *run, const json_t *r)
{
    json_t  *v;

    v = json_is_array(r) && json_array_size(r) >= 1
        ? product_view(run, json_array_get(r, 0), 1) : NULL;
    if (v == NULL) {
        set_result_json(run, json_pack("{s:b}", "found", 0), CWAI_TOOLRUN_DONE);
        return;
    }
    json_decref(run->acc);
    run->acc = v;
    run->product_id = json_integer_value(json_object_get(v, "id"));
    if (run->id->partner_id > 0 && run->id->pricelist_id > 0) {
        run->step = S_PRICE;
        return;
    }
    set_result_json(run, json_pack("{s:b, s:O}", "found", 1, "product", v),
                    CWAI_TOOLRUN_DONE);
}

static void
feed_price(cwai_toolrun_t *run, const json_t *r)
{
    double  p;

    if (cwai_odoo_number_result(r, &p) == 0 && json_is_object(run->acc)) {
        json_object_set_new(run->acc, "customer_price", json_real(round2(p)));
        json_object_set_new(run->acc, "quantity", json_integer(run->quantity));
    }
    set_result_json(run, json_pack("{s:b, s:O}", "found", 1, "product", run->acc),
                    CWAI_TOOLRUN_DONE);
}

static void
feed_orders(cwai_toolrun_t *run, const json_t *r)
{
    json_t        *list = json_array(), *o;
    const json_t  *rec;
    const char    *cur = NULL, *name;
    int64_t        pid, oid, cid;
    size_t         i;

    if (!json_is_array(r) || list == NULL) {
        json_decref(list);
        done_error(run, "erp_error", "unexpected reply");
        return;
    }
    run->norders = 0;
    json_array_foreach(r, i, rec) {
        if (run->norders >= run->limit || run->norders >= MAX_ORDERS) {
            break;
        }
        /* defence in depth: only the bound partner's own orders */
        if (cwai_odoo_m2o(json_object_get(rec, "partner_id"), &pid, NULL) != 0
            || pid != run->id->partner_id
            || !json_is_integer(json_object_get(rec, "id")))
        {
            continue;
        }
        oid = json_integer_value(json_object_get(rec, "id"));
        name = cwai_odoo_str(rec, "name");
        if (name == NULL || oid <= 0) {
            continue;
        }
        if (run->order_name && strcasecmp(name, run->order_name) != 0) {
            continue;
        }
        o = json_pack("{s:o}", "name", cut(name, 64));
        if (o == NULL) {
            continue;
        }
        set_opt(o, "state", cut(cwai_odoo_str(rec, "state"), 32));
        set_opt(o, "date", local_of(run, cwai_odoo_str(rec, "date_order")));
        if (num_field(rec, "amount_total")) {
            json_object_set_new(o, "total", json_real(round2(json_number_value(
                                    json_object_get(rec, "amount_total")))));
        }
        if (cwai_odoo_m2o(json_object_get(rec, "currency_id"), &cid, &cur) == 0) {
            set_opt(o, "currency", cut(cur, 8));
        }
        set_opt(o, "invoice_status", cut(cwai_odoo_str(rec, "invoice_status"), 32));
        set_opt(o, "delivery_status", cut(cwai_odoo_str(rec, "delivery_status"),
                                          32));
        json_object_set_new(o, "lines", json_array());
        json_array_append_new(list, o);
        run->order_ids[run->norders++] = oid;
    }
    json_decref(run->acc);
    run->acc = list;
    if (run->norders == 0) {
        set_result_json(run, json_pack("{s:b, s:O}", "customer_identified", 1,
                                       "orders", list), CWAI_TOOLRUN_DONE);
        return;
    }
    run->step = S_LINES;
}

static void
feed_lines(cwai_toolrun_t *run, const json_t *r)
{
    const json_t  *rec;
    json_t        *l, *lines;
    const char    *pname = NULL;
    int64_t        oid, prod;
    size_t         i, k;

    if (!json_is_array(r)) {
        done_error(run, "erp_error", "unexpected reply");
        return;
    }
    json_array_foreach(r, i, rec) {
        if (cwai_odoo_m2o(json_object_get(rec, "order_id"), &oid, NULL) != 0) {
            continue;
        }
        for (k = 0; k < run->norders && run->order_ids[k] != oid; k++) {
            /* find the order: only lines of the orders shown */
        }
        if (k == run->norders) {
            continue;
        }
        lines = json_object_get(json_array_get(run->acc, k), "lines");
        if (!json_is_array(lines) || json_array_size(lines) >= 50) {
            continue;
        }
        if (cwai_odoo_m2o(json_object_get(rec, "product_id"), &prod, &pname) != 0
            || pname == NULL)
        {
            pname = cwai_odoo_str(rec, "name");
        }
        l = json_pack("{s:o}", "product", cut(pname ? pname : "?", 200));
        if (l == NULL) {
            continue;
        }
        if (num_field(rec, "product_uom_qty")) {
            json_object_set_new(l, "qty", json_real(json_number_value(
                                    json_object_get(rec, "product_uom_qty"))));
        }
        if (num_field(rec, "price_unit")) {
            json_object_set_new(l, "price_unit", json_real(round2(
                json_number_value(json_object_get(rec, "price_unit")))));
        }
        if (num_field(rec, "discount") && json_number_value(
                json_object_get(rec, "discount")) != 0)
        {
            json_object_set_new(l, "discount_percent", json_real(round2(
                json_number_value(json_object_get(rec, "discount")))));
        }
        if (num_field(rec, "price_total")) {
            json_object_set_new(l, "total", json_real(round2(
                json_number_value(json_object_get(rec, "price_total")))));
        }
        if (num_field(rec, "qty_delivered")) {
            json_object_set_new(l, "delivered", json_real(json_number_value(
                                    json_object_get(rec, "qty_delivered"))));
        }
        json_array_append_new(lines, l);
    }
    set_result_json(run, json_pack("{s:b, s:O}", "customer_identified", 1,
                                   "orders", run->acc), CWAI_TOOLRUN_DONE);
}

static const char *
wday_name(int w)
{
    static const char *const  n[7] = { "sun", "mon", "tue", "wed", "thu",
                                       "fri", "sat" };

    return w >= 0 && w < 7 ? n[w] : "?";
}

/* The calendar read of the run: busy intervals with their staff bits. */
static int
parse_calendar(cwai_toolrun_t *run, const json_t *r, int64_t partner_id,
    cwai_odoo_busy_t **busy, size_t *nbusy)
{
    if (cwai_odoo_parse_busy_staff(r, run->h.utc_offset_min, partner_id,
                                   run->ctx->staff, run->ctx->nstaff, busy,
                                   nbusy) != 0)
    {
        done_error(run, "erp_error", "unexpected calendar reply");
        return -1;
    }
    return 0;
}

static const char *
staff_name(const cwai_toolrun_t *run, int who)
{
    return who >= 0 && (size_t) who < run->ctx->nstaff
           ? run->ctx->staff[who].name : NULL;
}

static void
feed_busy(cwai_toolrun_t *run, const json_t *r)
{
    const cwai_odoo_hours_t  *h = &run->h;
    cwai_odoo_busy_t         *busy;
    size_t                    nbusy;
    cwai_free_slot_t          slots[50];
    cwai_slots_query_t        q;
    int                       n, i, w, more;
    unsigned                  max = run->ctx->max_slots ? run->ctx->max_slots : 12;
    json_t                   *list, *o, *sl;
    char                      buf[17], off[16];

    if (max > 50) {
        max = 50;
    }
    if (parse_calendar(run, r, 0, &busy, &nbusy) != 0) {
        return;
    }
    sched_query(run, &q, run->from, run->to, busy, nbusy);
    n = cwai_slots_find(&q, slots, max, &more);
    free(busy);
    if (n < 0) {
        done_error(run, "scheduling_unavailable", "invalid opening hours");
        return;
    }
    list = json_array();
    for (i = 0; list && i < n; i++) {
        cwai_odoo_format_local(slots[i].start, h->utc_offset_min, buf, &w);
        sl = json_pack("{s:s, s:s}", "start", buf, "weekday", wday_name(w));
        if (sl && staff_name(run, slots[i].who)) {
            json_object_set_new(sl, "professional",
                                json_string(staff_name(run, slots[i].who)));
        }
        json_array_append_new(list, sl);
    }
    snprintf(off, sizeof(off), "%c%02u:%02u", h->utc_offset_min < 0 ? '-' : '+',
             (unsigned) abs(h->utc_offset_min) / 60 % 100u,
             (unsigned) abs(h->utc_offset_min) % 60);
    o = json_pack("{s:o, s:i, s:s}", "slots", list, "duration_min",
                  (int) h->slot_min, "utc_offset", off);
    if (o && run->svc && run->svc->name) {
        json_object_set_new(o, "service", json_string(run->svc->name));
    }
    if (o && more) {
        json_object_set_new(o, "more_slots", json_true());
    }
    set_result_json(run, o, CWAI_TOOLRUN_DONE);
}

static void
booked(cwai_toolrun_t *run, int64_t event_id, int already)
{
    const cwai_odoo_hours_t  *h = &run->h;
    char                      a[17], b[17];
    json_t                   *o;

    cwai_odoo_format_local(run->start, h->utc_offset_min, a, NULL);
    cwai_odoo_format_local(run->start + (int64_t) h->slot_min * 60,
                           h->utc_offset_min, b, NULL);
    o = json_pack("{s:b, s:s, s:s}", "booked", 1, "start", a, "end", b);
    if (o && event_id > 0) {
        json_object_set_new(o, "event_id", json_integer(event_id));
    }
    if (o && run->svc && run->svc->name) {
        json_object_set_new(o, "service", json_string(run->svc->name));
    }
    if (o && staff_name(run, run->who)) {
        json_object_set_new(o, "professional",
                            json_string(staff_name(run, run->who)));
    }
    if (o && already) {
        json_object_set_new(o, "already_booked", json_true());
    }
    set_result_json(run, o, CWAI_TOOLRUN_DONE);
}

static void
feed_book_check(cwai_toolrun_t *run, const json_t *r)
{
    cwai_odoo_busy_t    *busy;
    cwai_free_slot_t     slot[1];
    cwai_slots_query_t   q;
    size_t               nbusy, i, k;
    int                  n;
    int64_t              e = run->start + (int64_t) run->h.slot_min * 60;

    if (parse_calendar(run, r, run->id->partner_id, &busy, &nbusy) != 0) {
        return;
    }
    for (i = 0; i < nbusy; i++) {
        if (busy[i].mine && busy[i].start == run->start && busy[i].stop > run->start) {
            /* an earlier attempt landed: with whom, when we can tell */
            for (k = 0; k < run->ctx->nstaff && k < CWAI_ODOO_MAX_STAFF; k++) {
                if ((run->want & busy[i].staff & (1u << k)) && busy[i].staff != UINT32_MAX) {
                    run->who = (int) k;
                    break;
                }
            }
            free(busy);
            booked(run, 0, 1);
            return;
        }
    }
    /* still free for one of the professionals? (the first one free) */
    sched_query(run, &q, run->start, e, busy, nbusy);
    q.around = -1;
    n = cwai_slots_find(&q, slot, 1, NULL);
    free(busy);
    if (n != 1 || slot[0].start != run->start) {
        set_result_json(run, json_pack("{s:b, s:s}", "booked", 0, "reason",
                                       "slot_taken"), CWAI_TOOLRUN_DONE);
        return;
    }
    run->who = slot[0].who;
    run->step = S_CREATE;
}

static void
feed_create(cwai_toolrun_t *run, const json_t *r)
{
    int64_t  id;

    if (cwai_odoo_id_result(r, &id) != 0) {
        done_error(run, "erp_error", "unexpected create reply");
        return;
    }
    booked(run, id, 0);
}

/* ---- API ------------------------------------------------------------------ */

static int
parse_args(cwai_toolrun_t *run, const json_t *a)
{
    int64_t  v, days;
    char    *date = NULL;
    const cwai_odoo_hours_t  *h = run->ctx->hours;
    int64_t  today;
    cwai_free_slot_t    slot[1];
    cwai_slots_query_t  q;
    size_t   i;
    unsigned maxr = run->ctx->max_results ? run->ctx->max_results : 5;

    if (maxr > 20) {
        maxr = 20;
    }
    switch (run->tid) {
    case CWAI_TID_SEARCH_PRODUCTS:
        if (arg_str(a, "query", 200, &run->query) != 0 || run->query == NULL
            || arg_int(a, "limit", 1, 10, maxr, &v) != 0)
        {
            return -1;
        }
        run->limit = (unsigned) (v < maxr ? v : maxr);
        return 0;
    case CWAI_TID_PRODUCT_DETAILS:
        if (arg_int(a, "product_id", 0, INT64_MAX, 0, &run->product_id) != 0
            || arg_str(a, "default_code", 64, &run->code) != 0
            || arg_int(a, "quantity", 1, 1000, 1, &v) != 0
            || (run->product_id <= 0 && run->code == NULL))
        {
            return -1;
        }
        run->quantity = (unsigned) v;
        return 0;
    case CWAI_TID_FIND_CUSTOMER:
        return 0;                   /* whatever the model wrote: ignored */
    case CWAI_TID_CUSTOMER_ORDERS:
        run->limit = maxr;
        return arg_str(a, "order_name", 64, &run->order_name);
    case CWAI_TID_AVAILABLE_SLOTS:
        run->around = -1;
        if (arg_str(a, "date_from", 10, &date) != 0
            || arg_int(a, "days", 1, 14, 7, &days) != 0
            || arg_str(a, "service", 120, &run->service) != 0
            || arg_str(a, "professional", 120, &run->professional) != 0
            || arg_time(a, "time", &run->around) != 0)
        {
            free(date);
            return -1;
        }
        today = cwai_odoo_local_midnight(run->ctx->now,
                                         h ? h->utc_offset_min : 0);
        run->from = today;
        if (date && (cwai_odoo_parse_local(date, h ? h->utc_offset_min : 0,
                                           &run->from) != 0
                     || run->from != cwai_odoo_local_midnight(run->from,
                                        h ? h->utc_offset_min : 0)))
        {
            free(date);
            return -1;
        }
        free(date);
        if (run->from < today) {
            run->from = today;
        }
        run->to = run->from + days * 86400;
        return 0;
    case CWAI_TID_BOOK_APPOINTMENT:
        if (h == NULL) {
            return 0;               /* reported as scheduling_unavailable */
        }
        run->around = -1;
        run->who = -1;
        if (arg_str(a, "start", 19, &date) != 0 || date == NULL
            || arg_str(a, "service", 80, &run->service) != 0
            || arg_str(a, "professional", 120, &run->professional) != 0
            || cwai_odoo_parse_local(date, h->utc_offset_min, &run->start) != 0)
        {
            free(date);
            return -1;
        }
        free(date);
        if (run->service) {
            for (i = 0; run->service[i]; i++) {
                if ((unsigned char) run->service[i] < 0x20) {
                    run->service[i] = ' ';
                }
            }
        }
        if (sched_setup(run) != 0) {
            run->start = -1;        /* unknown professional, reported below */
            return 0;
        }
        /* must be a slot of the opening hours (not a break), in the
         * future, on a day one of the professionals works */
        sched_query(run, &q, run->start,
                    run->start + (int64_t) run->h.slot_min * 60, NULL, 0);
        if (cwai_slots_find(&q, slot, 1, NULL) != 1
            || slot[0].start != run->start)
        {
            run->start = 0;         /* reported below */
        }
        return 0;
    case CWAI_TID_HANDOFF:
        /* lenient: a handoff must never fail for a malformed argument */
        if (arg_str(a, "reason", 32, &run->reason) != 0) {
            free(run->reason);
            run->reason = NULL;
        }
        if (arg_str(a, "summary", 65536, &run->summary) != 0) {
            free(run->summary);
            run->summary = NULL;
        }
        for (i = 0; handoff_reasons[i]; i++) {
            if (run->reason && strcmp(run->reason, handoff_reasons[i]) == 0) {
                break;
            }
        }
        if (handoff_reasons[i] == NULL) {
            free(run->reason);
            run->reason = strdup("other");
        }
        if (run->summary && strlen(run->summary) > 1000) {
            i = 1000;
            while (i > 0 && ((unsigned char) run->summary[i] & 0xc0) == 0x80) {
                i--;
            }
            run->summary[i] = '\0';
        }
        return run->reason ? 0 : -1;
    case CWAI_TID_SEARCH_RULES:
        if (arg_str(a, "query", 500, &run->query) != 0 || run->query == NULL
            || arg_str(a, "topic", 64, &run->topic) != 0)
        {
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

static const char *
arg_help(int tid)
{
    switch (tid) {
    case CWAI_TID_SEARCH_PRODUCTS:   return "query (string) is required";
    case CWAI_TID_PRODUCT_DETAILS:   return "product_id (integer) or "
                                            "default_code (string) is required";
    case CWAI_TID_AVAILABLE_SLOTS:   return "date_from must be YYYY-MM-DD, "
                                            "days an integer, time HH:MM";
    case CWAI_TID_BOOK_APPOINTMENT:  return "start must be YYYY-MM-DD HH:MM "
                                            "(local time)";
    case CWAI_TID_HANDOFF:           return "reason and summary are required";
    case CWAI_TID_SEARCH_RULES:      return "query (string) is required";
    default:                         return "invalid arguments";
    }
}

cwai_toolrun_t *
cwai_tools_start(const cwai_tools_ctx_t *ctx, cwai_identity_t *id,
    const cwai_tool_call_t *call)
{
    cwai_toolrun_t  *run = calloc(1, sizeof(*run));

    if (run == NULL) {
        return NULL;
    }
    run->ctx = ctx;
    run->id = id;
    run->status = CWAI_TOOLRUN_REQUEST;
    run->tid = call ? cwai_tools_lookup(call->name) : -1;
    if (ctx == NULL || id == NULL || call == NULL) {
        done_error(run, "internal_error", NULL);
        return run;
    }
    if (run->tid < 0) {
        done_error(run, "unknown_tool", "no such tool");
        return run;
    }
    if (call->args == NULL || !json_is_object(call->args)) {
        done_error(run, "invalid_arguments", call->args_error[0]
                   ? call->args_error : "arguments must be a JSON object");
        return run;
    }
    if (parse_args(run, call->args) != 0) {
        done_error(run, "invalid_arguments", arg_help(run->tid));
        return run;
    }
    switch (run->tid) {
    case CWAI_TID_HANDOFF:
        set_result_json(run, json_pack("{s:b, s:b}", "ok", 1, "handoff", 1),
                        CWAI_TOOLRUN_HANDOFF);
        return run;
    case CWAI_TID_SEARCH_RULES:
        run->status = CWAI_TOOLRUN_RETRIEVE;
        return run;
    default:
        break;
    }
    if (ctx->odoo == NULL) {
        done_error(run, "erp_unavailable", "the store's system is not connected");
        return run;
    }
    switch (run->tid) {
    case CWAI_TID_SEARCH_PRODUCTS:
        run->step = S_PRODUCTS;
        break;
    case CWAI_TID_PRODUCT_DETAILS:
        if (!ctx->no_personal_prices && !id->resolved) {
            begin_resolve(run, S_PRODUCT_GET);
        } else {
            run->step = S_PRODUCT_GET;
        }
        break;
    case CWAI_TID_FIND_CUSTOMER:
        begin_resolve(run, S_FIND_DONE);
        break;
    case CWAI_TID_CUSTOMER_ORDERS:
        begin_resolve(run, S_ORDERS);
        break;
    case CWAI_TID_AVAILABLE_SLOTS:
        if (ctx->hours == NULL) {
            done_error(run, "scheduling_unavailable", "no opening hours set");
            break;
        }
        if (sched_setup(run) != 0) {
            unknown_professional(run);
            break;
        }
        run->step = S_BUSY;
        break;
    case CWAI_TID_BOOK_APPOINTMENT:
        if (ctx->hours == NULL) {
            done_error(run, "scheduling_unavailable", "no opening hours set");
        } else if (run->start == -1) {
            unknown_professional(run);
        } else if (run->start == 0) {
            set_result_json(run, json_pack("{s:b, s:s}", "booked", 0, "reason",
                                           "not_an_available_slot"),
                            CWAI_TOOLRUN_DONE);
        } else {
            begin_resolve(run, S_BOOK_CHECK);
        }
        break;
    default:
        done_error(run, "unknown_tool", NULL);
        break;
    }
    return run;
}

void
cwai_tools_free(cwai_toolrun_t *run)
{
    if (run == NULL) {
        return;
    }
    free(run->result);
    free(run->query);
    free(run->topic);
    free(run->code);
    free(run->order_name);
    free(run->service);
    free(run->professional);
    free(run->reason);
    free(run->summary);
    json_decref(run->acc);
    free(run);
}

cwai_toolrun_status_t
cwai_tools_status(const cwai_toolrun_t *run)
{
    return run ? run->status : CWAI_TOOLRUN_DONE;
}

int
cwai_tools_id(const cwai_toolrun_t *run)
{
    return run ? run->tid : -1;
}

int
cwai_tools_next(cwai_toolrun_t *run, cwai_http_req_t *req)
{
    const cwai_tools_ctx_t  *c = run->ctx;
    const cwai_odoo_cfg_t   *o = c->odoo;
    cwai_err_t               e;
    cwai_odoo_event_t        ev;
    cwai_odoo_staff_t        sub[CWAI_ODOO_MAX_STAFF];
    int64_t                  pids[2], a, z;
    char                     name[256], desc[160];
    int                      rc = -1;

    cwai_http_req_init(req, CWAI_UP_ERP, "POST");
    if (run->status != CWAI_TOOLRUN_REQUEST && run->status != CWAI_TOOLRUN_RETRY) {
        return -1;
    }
    run->status = CWAI_TOOLRUN_REQUEST;
    switch (run->step) {
    case S_RESOLVE_PHONE:
        rc = cwai_odoo_build_partner_by_phone(req, o, run->id->phone, &e);
        break;
    case S_RESOLVE_EMAIL:
        rc = cwai_odoo_build_partner_by_email(req, o, run->id->email, &e);
        break;
    case S_PRODUCTS:
        rc = cwai_odoo_build_products_search(req, o, run->query, run->limit, &e);
        break;
    case S_PRODUCT_GET:
        rc = cwai_odoo_build_product_get(req, o, run->product_id, run->code, &e);
        break;
    case S_PRICE:
        rc = cwai_odoo_build_contextual_price(req, o, run->product_id,
                                              run->id->pricelist_id,
                                              run->quantity, &e);
        break;
    case S_ORDERS:
        rc = cwai_odoo_build_orders(req, o, run->id->partner_id,
                                    run->order_name ? CWAI_ODOO_MAX_LIMIT
                                    : run->limit, &e);
        break;
    case S_LINES:
        rc = cwai_odoo_build_order_lines(req, o, run->order_ids, run->norders, &e);
        break;
    case S_BUSY:
    case S_BOOK_CHECK:
        a = run->step == S_BUSY ? run->from : run->start;
        z = run->step == S_BUSY ? run->to
            : run->start + (int64_t) run->h.slot_min * 60;
        if (c->nstaff > 0) {
            rc = cwai_odoo_build_busy_staff(req, o, sub, wanted_staff(run, sub),
                                            a, z, &e);
        } else {
            rc = cwai_odoo_build_busy(req, o, c->staff_user_id, a, z, &e);
        }
        break;
    case S_CREATE:
        memset(&ev, 0, sizeof(ev));
        snprintf(name, sizeof(name), "%s - %s",
                 run->svc && run->svc->name ? run->svc->name
                 : run->service ? run->service : "Atendimento", run->id->name);
        snprintf(desc, sizeof(desc), "Agendado pelo assistente virtual (%s).",
                 c->channel ? c->channel : "Chatwoot");
        /* the professional who is free owns and attends it */
        pids[0] = run->id->partner_id;
        pids[1] = run->who >= 0 ? c->staff[run->who].partner_id
                  : c->staff_partner_id;
        ev.name = name;
        ev.start = run->start;
        ev.stop = run->start + (int64_t) run->h.slot_min * 60;
        ev.partner_ids = pids;
        ev.npartners = pids[1] > 0 ? 2 : 1;
        ev.user_id = run->who >= 0 ? c->staff[run->who].user_id
                     : c->staff_user_id;
        ev.location = c->location;
        ev.description = desc;
        rc = cwai_odoo_build_create_event(req, o, &ev, &e);
        break;
    default:
        break;
    }
    if (rc != 0) {
        cwai_http_req_free(req);
        done_error(run, "internal_error", NULL);
        return -1;
    }
    return 0;
}

cwai_toolrun_status_t
cwai_tools_feed(cwai_toolrun_t *run, const cwai_http_resp_t *resp)
{
    json_t           *r;
    cwai_odoo_err_t   oe;

    if (run->status != CWAI_TOOLRUN_REQUEST || run->step == S_NONE) {
        return run->status;
    }
    cwai_uperr_clear(&run->err);
    if (cwai_odoo_parse(resp, run->ctx->odoo->transport, &r, &oe) != 0) {
        step_failed(run, &oe);
        return run->status;
    }
    switch (run->step) {
    case S_RESOLVE_PHONE:
    case S_RESOLVE_EMAIL:  feed_resolve(run, r); break;
    case S_PRODUCTS:       feed_products(run, r); break;
    case S_PRODUCT_GET:    feed_product_get(run, r); break;
    case S_PRICE:          feed_price(run, r); break;
    case S_ORDERS:         feed_orders(run, r); break;
    case S_LINES:          feed_lines(run, r); break;
    case S_BUSY:           feed_busy(run, r); break;
    case S_BOOK_CHECK:     feed_book_check(run, r); break;
    case S_CREATE:         feed_create(run, r); break;
    default:               done_error(run, "internal_error", NULL); break;
    }
    json_decref(r);
    return run->status;
}

const cwai_uperr_t *
cwai_tools_error(const cwai_toolrun_t *run)
{
    return &run->err;
}

void
cwai_tools_give_up(cwai_toolrun_t *run)
{
    if (run->status == CWAI_TOOLRUN_RETRY || run->status == CWAI_TOOLRUN_REQUEST) {
        done_error(run, "erp_unavailable", "the store's system did not answer");
    }
}

const char *
cwai_tools_result(const cwai_toolrun_t *run)
{
    if (run == NULL || (run->status != CWAI_TOOLRUN_DONE
                        && run->status != CWAI_TOOLRUN_HANDOFF))
    {
        return NULL;
    }
    return run->result;
}

const char *
cwai_tools_query(const cwai_toolrun_t *run, const char **topic)
{
    if (topic) {
        *topic = run ? run->topic : NULL;
    }
    return run && run->status == CWAI_TOOLRUN_RETRIEVE ? run->query : NULL;
}

int
cwai_tools_set_result(cwai_toolrun_t *run, const char *content)
{
    json_t  *s;

    if (run == NULL || run->status != CWAI_TOOLRUN_RETRIEVE) {
        return -1;
    }
    s = content ? json_string(content) : NULL;      /* UTF-8 check */
    if (s == NULL) {
        done_error(run, "retrieval_failed", NULL);
        return 0;
    }
    json_decref(s);
    free(run->result);
    run->result = strdup(content);
    run->status = CWAI_TOOLRUN_DONE;
    if (run->result == NULL) {
        done_error(run, "internal_error", NULL);
    }
    return 0;
}

void
cwai_tools_handoff(const cwai_toolrun_t *run, const char **reason,
    const char **summary)
{
    *reason = run && run->reason ? run->reason : "other";
    *summary = run && run->summary ? run->summary : "";
}
