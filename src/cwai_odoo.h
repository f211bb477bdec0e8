/*
 * Odoo external API: request builders and response parsers for the calls
 * the tools need, over either transport, chosen per tenant:
 *
 *   JSON-2 (Odoo 19+):  POST /json/2/<model>/<method>
 *                       body = named arguments + "ids" + "context"
 *                       Authorization: bearer <api key>, X-Odoo-Database: <db>
 *   JSON-RPC (<= 18):   POST /jsonrpc
 *                       {"jsonrpc":"2.0","method":"call","id":n,"params":
 *                        {"service":"object","method":"execute_kw",
 *                         "args":[db, uid, key, model, method, args, kwargs]}}
 *
 * JSON-2 headers are produced per request when the tenant's cfg carries the
 * key (one nginx location can then serve many tenants); when the operator
 * sets them in the location instead (proxy_set_header Authorization
 * "bearer ..."), leave api_key/db NULL. JSON-RPC carries db/uid/key in the
 * body, so they are required. Secrets are marked and never logged.
 *
 * Odoo values: empty fields are JSON false, many2one = [id, "name"],
 * datetimes are "YYYY-MM-DD HH:MM:SS" in UTC.
 */
#ifndef CWAI_ODOO_H
#define CWAI_ODOO_H

#include "cwai_http.h"

typedef enum {
    CWAI_ODOO_JSON2 = 0,
    CWAI_ODOO_JSONRPC
} cwai_odoo_transport_t;

/* Per tenant. */
typedef struct {
    cwai_odoo_transport_t  transport;
    const char  *db;            /* JSON-2: X-Odoo-Database (NULL: not sent);
                                   JSON-RPC: args[0] (required) */
    const char  *api_key;       /* JSON-2: bearer key (NULL: the location
                                   sets Authorization); JSON-RPC: password
                                   or API key (required) */
    int64_t      uid;           /* JSON-RPC: the bot user's id (required) */
    const char  *lang;          /* context.lang on reads ("pt_BR"); NULL: omit */
    const char  *tz;            /* context.tz on create ("America/Sao_Paulo") */
    const char  *tenant;        /* for cache keys */
    const char  *country_code;  /* phone matching; NULL: "55" (Brazil) */
    int          no_phone_search; /* 1: the phone_validation module is absent:
                                   search "phone ilike" (weaker) */
    int          partner_mobile;/* 1: res.partner has "mobile" (Odoo <= 18) */
    int          no_stock;      /* 1: no stock/sale_stock module: do not ask
                                   for qty_* / delivery_status fields */
    uint32_t     timeout_ms;
    uint32_t     cache_ttl_ms;  /* non-personal reads (products, prices);
                                   0: never cache */
} cwai_odoo_cfg_t;

/* A generic ORM call: what JSON-2 calls named arguments. All json_t are
 * borrowed (not stolen). */
typedef struct {
    const char  *model;         /* [a-z0-9_.], e.g. "product.product" */
    const char  *method;        /* [a-z0-9_], not starting with '_' */
    json_t      *ids;           /* record-level methods: array of ids; or NULL */
    json_t      *kwargs;        /* named arguments (domain, fields, limit,
                                   order, vals_list, ...) without context */
    json_t      *context;       /* or NULL */
    int64_t      rpc_id;        /* JSON-RPC "id" (0: 1) */
    int          cacheable;     /* 1: not personal; cached per cfg */
} cwai_odoo_call_t;

/*
 * Builds the call for cfg's transport. For JSON-RPC, positional args are
 * [ids] for record-level calls, [domain] for search/search_read/
 * search_count, [vals] (one record) or [vals_list] for create, else [];
 * the other named arguments (and context) go to kwargs, left out when
 * empty. Returns 0 or -1 + err.
 */
int  cwai_odoo_build(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const cwai_odoo_call_t *call, cwai_err_t *err);

/* ---- errors ------------------------------------------------------------- */

typedef enum {
    CWAI_ODOO_E_NONE = 0,
    CWAI_ODOO_E_AUTH,       /* AccessDenied / 401 Unauthorized: bad key, uid
                               or db; alert the operator (FATAL) */
    CWAI_ODOO_E_ACCESS,     /* AccessError / 403: the bot user lacks rights
                               or the method is private (FATAL) */
    CWAI_ODOO_E_NOT_FOUND,  /* NotFound / MissingError / 404: model, method
                               or record (FATAL) */
    CWAI_ODOO_E_USER,       /* UserError, ValidationError, RedirectWarning:
                               business rule; message is readable (FATAL) */
    CWAI_ODOO_E_BAD_CALL,   /* 400, 422, ValueError, TypeError, KeyError:
                               a bug in the gateway's call (FATAL) */
    CWAI_ODOO_E_TRANSIENT,  /* LockError 409, ConcurrencyError, psycopg2.*,
                               5xx, no response, truncated (RETRY) */
    CWAI_ODOO_E_SERVER,     /* another server exception (FATAL) */
    CWAI_ODOO_E_PROTOCOL    /* HTML or malformed body, unexpected shape (FATAL) */
} cwai_odoo_errkind_t;

typedef struct {
    cwai_uperr_t         up;    /* code = Odoo's exception name (e.g.
                                   "odoo.exceptions.AccessDenied") or
                                   "http_<status>"; message = its message,
                                   never the traceback ("debug") */
    cwai_odoo_errkind_t  kind;
} cwai_odoo_err_t;

/* "auth", "access", "not_found", "user", "bad_call", "transient",
 * "server", "protocol", "none". */
const char *cwai_odoo_errkind_name(cwai_odoo_errkind_t k);

/*
 * Parses the reply of any call: *result = a new reference to the method's
 * return value (JSON-2: the body; JSON-RPC: "result", or null when the key
 * is absent, i.e. the method returned None). 0, or -1 + err.
 */
int  cwai_odoo_parse(const cwai_http_resp_t *resp, cwai_odoo_transport_t t,
    json_t **result, cwai_odoo_err_t *err);

/* ---- value helpers ------------------------------------------------------ */

/* A string field: NULL for false/absent/non-string. */
const char *cwai_odoo_str(const json_t *rec, const char *field);
/* A many2one: [id, "name"] (or a bare id) -> 0; false/absent -> -1. */
int  cwai_odoo_m2o(const json_t *v, int64_t *id, const char **name);
/* An id result: int (execute_kw create) or [int] (JSON-2 create). */
int  cwai_odoo_id_result(const json_t *r, int64_t *id);
/* A number result (get_contextual_price): finite and >= 0. */
int  cwai_odoo_number_result(const json_t *r, double *v);
/* Unix seconds -> "YYYY-MM-DD HH:MM:SS" (UTC) into buf[20]. */
void cwai_odoo_datetime(int64_t t, char buf[20]);

/* ---- authentication ----------------------------------------------------- */

/* JSON-RPC common.authenticate(db, login, key, {}) -> uid; JSON-2:
 * res.users/context_get (a key check) -> uid. */
int  cwai_odoo_build_authenticate(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *login, cwai_err_t *err);
/* uid > 0 -> 0; false (wrong credentials) -> -1 with kind AUTH. */
int  cwai_odoo_parse_uid(const cwai_http_resp_t *resp, cwai_odoo_transport_t t,
    int64_t *uid, cwai_odoo_err_t *err);

/* ---- the tools' calls --------------------------------------------------- */

#define CWAI_ODOO_MAX_LIMIT  50

/* product.product search_read: sale_ok and (name ilike q or default_code
 * =ilike q); archived products are hidden by Odoo. Cacheable. */
int  cwai_odoo_build_products_search(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *query, unsigned limit,
    cwai_err_t *err);

/* One product by id (read) or by default_code (search_read, limit 1),
 * with price and stock fields. Cacheable. */
int  cwai_odoo_build_product_get(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, int64_t product_id, const char *code,
    cwai_err_t *err);

/* product.product get_contextual_price(ids=[product]) with
 * context {pricelist, quantity}: the unit price of that pricelist. */
int  cwai_odoo_build_contextual_price(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, int64_t product_id, int64_t pricelist_id,
    unsigned quantity, cwai_err_t *err);

/* res.partner search_read by phone: phone_mobile_search ilike <last 8
 * national digits> (covers numbers stored with spaces, dashes, brackets
 * and without the mobile 9); filter the candidates with
 * cwai_odoo_pick_partner(). Never cached. */
int  cwai_odoo_build_partner_by_phone(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *phone_e164, cwai_err_t *err);
/* res.partner search_read email =ilike <addr> (%, _ and \ escaped). */
int  cwai_odoo_build_partner_by_email(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const char *email, cwai_err_t *err);

/*
 * From a res.partner search_read result, the one record that really is
 * the sender: its phone is the same number as phone_e164
 * (cwai_odoo_phone_match), or its email equals email (case-insensitive).
 * Returns the number of exact matches (0, 1, or more = ambiguous); when 1,
 * *rec is that record (borrowed from result).
 */
int  cwai_odoo_pick_partner(const json_t *result, const char *phone_e164,
    const char *email, const char *country_code, const json_t **rec);

/* The national significant number of a phone number as digits (drops
 * "+"/"00" + country code, and a trunk 0). Returns its length, or -1. */
int  cwai_odoo_phone_national(const char *phone, const char *country_code,
    char *out, size_t size);
/* 1 when stored (as typed in Odoo) and sender are the same number (for
 * Brazil also with/without the mobile 9 after the area code). */
int  cwai_odoo_phone_match(const char *stored, const char *sender,
    const char *country_code);

/* sale.order search_read partner_id = partner (never child_of: only the
 * sender's own orders), newest first. Never cached. */
int  cwai_odoo_build_orders(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    int64_t partner_id, unsigned limit, cwai_err_t *err);
/* sale.order.line search_read order_id in [ids]. */
int  cwai_odoo_build_order_lines(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const int64_t *order_ids, size_t n,
    cwai_err_t *err);

/* ---- appointments (computed: Odoo Community has no slot API) ---------- */

typedef struct {
    int  open, close;           /* minutes since local midnight, [open, close) */
} cwai_odoo_iv_t;

#define CWAI_ODOO_DAY_IVS  4

typedef struct {
    int32_t          date;      /* local date as YYYYMMDD */
    size_t           n;         /* 0: closed (holiday) */
    cwai_odoo_iv_t   iv[CWAI_ODOO_DAY_IVS];
} cwai_odoo_day_t;

typedef struct {
    int                     utc_offset_min;  /* local = UTC + offset; fixed
                                                (America/Sao_Paulo: -180) */
    cwai_odoo_iv_t          week[7][CWAI_ODOO_DAY_IVS];  /* by tm_wday, 0 = Sunday */
    size_t                  nweek[7];
    const cwai_odoo_day_t  *special;         /* holidays and special hours */
    size_t                  nspecial;
    uint32_t                slot_min;        /* appointment length (> 0) */
    uint32_t                step_min;        /* a slot starts every step (0: slot_min) */
    uint32_t                notice_min;      /* earliest start: now + notice */
    uint32_t                horizon_days;    /* latest day: today + horizon (0: 60) */
    cwai_odoo_iv_t          breaks[CWAI_ODOO_DAY_IVS];  /* every day: no
                                                appointment overlaps them (lunch) */
    size_t                  nbreaks;
} cwai_odoo_hours_t;

/* A professional whose Odoo calendar is read: the events they organise
 * (user_id) or attend (partner_ids) are theirs. */
#define CWAI_ODOO_MAX_STAFF  32

typedef struct {
    const char      *name;
    int64_t          user_id;       /* res.users (0: none) */
    int64_t          partner_id;    /* res.partner (0: none) */
    unsigned         works_on;      /* bit (1 << tm_wday); 0: every day */
    int              own_hours;     /* 1: week/nweek below, not the business's */
    cwai_odoo_iv_t   week[7][CWAI_ODOO_DAY_IVS];
    size_t           nweek[7];
} cwai_odoo_staff_t;

typedef struct {
    int64_t   start, stop;      /* unix seconds */
    int       mine;             /* the partner given to the parser attends */
    uint32_t  staff;            /* bit k: the event is staff[k]'s (every bit
                                   when the parser was given no staff) */
} cwai_odoo_busy_t;

/* calendar.event search_read of the events of staff user_id (0: any)
 * overlapping [from, to): start < to and stop > from. */
int  cwai_odoo_build_busy(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    int64_t user_id, int64_t from, int64_t to, cwai_err_t *err);

/* The same read for several professionals (n <= CWAI_ODOO_MAX_STAFF;
 * n == 0: every calendar): start < to and stop > from and (user_id in
 * [their users] or partner_ids in [their partners]). */
int  cwai_odoo_build_busy_staff(cwai_http_req_t *req, const cwai_odoo_cfg_t *cfg,
    const cwai_odoo_staff_t *staff, size_t nstaff, int64_t from, int64_t to,
    cwai_err_t *err);

/*
 * Busy intervals from that result: "free" events (show_as) are skipped,
 * all-day events block their whole local days. mine = partner_id is among
 * partner_ids. *out malloc'd (free()); 0, or -1 on a malformed result.
 */
int  cwai_odoo_parse_busy(const json_t *result, int utc_offset_min,
    int64_t partner_id, cwai_odoo_busy_t **out, size_t *n);
/* The same, with each event's staff bits: staff[k] organises it (user_id)
 * or attends it (partner_ids). An event of none of them blocks nobody. */
int  cwai_odoo_parse_busy_staff(const json_t *result, int utc_offset_min,
    int64_t partner_id, const cwai_odoo_staff_t *staff, size_t nstaff,
    cwai_odoo_busy_t **out, size_t *n);

/*
 * Free slot starts (unix seconds, ascending) within [from, to), from the
 * opening hours minus the breaks and the busy intervals, not before now +
 * notice nor after the horizon. Returns the count written to starts[max];
 * -1 on bad hours. (src/cwai_slots.c, with the per-professional search.)
 */
int  cwai_odoo_free_slots(const cwai_odoo_hours_t *h, int64_t now,
    int64_t from, int64_t to, const cwai_odoo_busy_t *busy, size_t nbusy,
    int64_t *starts, size_t max);

/* Local date/time helpers for the fixed offset. */
int64_t cwai_odoo_local_midnight(int64_t t, int utc_offset_min);
/* "YYYY-MM-DD HH:MM" (or "YYYY-MM-DDTHH:MM[:SS]") local -> unix seconds. */
int  cwai_odoo_parse_local(const char *s, int utc_offset_min, int64_t *t);
/* unix seconds -> "YYYY-MM-DD HH:MM" local, into buf[17]; wday optional. */
void cwai_odoo_format_local(int64_t t, int utc_offset_min, char buf[17],
    int *wday);

typedef struct {
    const char     *name;           /* event title */
    int64_t         start, stop;    /* unix seconds */
    const int64_t  *partner_ids;    /* attendees: the customer (+ staff's partner) */
    size_t          npartners;
    int64_t         user_id;        /* staff (0: omit) */
    const char     *location;       /* NULL: omit */
    const char     *description;    /* NULL: omit */
    int64_t         rpc_id;
} cwai_odoo_event_t;

/* calendar.event create: {"vals_list":[{name, start, stop, partner_ids:
 * [[6,0,[ids]]], user_id, location, description}], context {tz}}.
 * Parse the reply with cwai_odoo_parse + cwai_odoo_id_result. */
int  cwai_odoo_build_create_event(cwai_http_req_t *req,
    const cwai_odoo_cfg_t *cfg, const cwai_odoo_event_t *ev, cwai_err_t *err);

#endif
