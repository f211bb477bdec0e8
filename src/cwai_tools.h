/*
 * The tools the model may call, and their safe binding to ERP requests.
 *
 *   search_products    product.product search (name / code), public data
 *   product_details    one product: price (the customer's pricelist price
 *                      when the sender is a known partner), stock
 *   find_customer      the sender's own partner record
 *   customer_orders    the sender's own orders, with lines
 *   available_slots    free appointment slots: opening hours minus busy
 *                      calendar.event rows (Odoo Community has no slot API)
 *   book_appointment   create a calendar.event for the sender
 *   handoff_to_human   a structured action (reason + summary), never text
 *   search_rules       retrieval over the domain's rules (the caller runs
 *                      embeddings + Qdrant or the built-in index)
 *
 * Safety rules, enforced here whatever the model writes:
 *   - Whose data: find_customer, customer_orders, book_appointment and
 *     personal prices use only cwai_identity_t, which the caller fills from
 *     the Chatwoot webhook (the channel-verified sender phone, a trusted
 *     e-mail). Any phone, e-mail, partner or customer id in the model's
 *     arguments is ignored. The partner is resolved by an exact match of
 *     that phone/e-mail (0 or several matches: not identified).
 *   - customer_orders keeps only rows whose partner_id is the bound
 *     partner, and lines whose order is one of them (defence in depth).
 *   - Prices, discounts and stock come only from Odoo: no tool argument
 *     can carry a price; unknown argument keys are ignored.
 *   - Tool results are compact JSON holding only whitelisted fields.
 *
 * The run is sans-I/O (see cwai_http.h): the caller loops
 *
 *   run = cwai_tools_start(&ctx, &identity, call);
 *   for (;;) switch (cwai_tools_status(run)) {
 *   case CWAI_TOOLRUN_REQUEST:  cwai_tools_next(run, &req); perform req;
 *                               cwai_tools_feed(run, &resp); break;
 *   case CWAI_TOOLRUN_RETRY:    wait (cwai_http_retry_delay on
 *                               cwai_tools_error(run)), then next() again,
 *                               or cwai_tools_give_up(run); break;
 *   case CWAI_TOOLRUN_RETRIEVE: q = cwai_tools_query(run, &topic); retrieve;
 *                               cwai_tools_set_result(run, hits_json); break;
 *   case CWAI_TOOLRUN_HANDOFF:  (do the handoff after this turn) -> content
 *   case CWAI_TOOLRUN_DONE:     cwai_chat_add_tool_result(chat, call->id,
 *                               cwai_tools_result(run)); done
 *   }
 */
#ifndef CWAI_TOOLS_H
#define CWAI_TOOLS_H

#include "cwai_http.h"
#include "cwai_odoo.h"
#include "cwai_openai.h"

typedef enum {
    CWAI_TID_SEARCH_PRODUCTS = 0,
    CWAI_TID_PRODUCT_DETAILS,
    CWAI_TID_FIND_CUSTOMER,
    CWAI_TID_CUSTOMER_ORDERS,
    CWAI_TID_AVAILABLE_SLOTS,
    CWAI_TID_BOOK_APPOINTMENT,
    CWAI_TID_HANDOFF,
    CWAI_TID_SEARCH_RULES,
    CWAI_TID__COUNT
} cwai_tool_id_t;

#define CWAI_TOOLS_ALL   ((1u << CWAI_TID__COUNT) - 1)
#define CWAI_TOOL_BIT(t) (1u << (t))

/* "search_products", ...; NULL when out of range. */
const char *cwai_tools_name(cwai_tool_id_t t);
/* The id of a tool name, or -1. */
int         cwai_tools_lookup(const char *name);

/*
 * The "tools" array for the chat request, for the tools in mask, in enum
 * order (keep it byte-stable for prompt caching). descriptions (may be
 * NULL, or hold NULLs) replaces the built-in English description of tool
 * i, e.g. with the domain's pt-BR text. strict 1: OpenAI strict schemas
 * (every property required, optional ones nullable); 0: plain JSON Schema
 * for compatible servers. New reference, or NULL.
 */
json_t *cwai_tools_declare(unsigned mask, const char *const *descriptions,
    int strict);

/* The sender, as the channel verified it. Filled by the caller from the
 * webhook; the partner fields are filled here once resolved (keep the
 * struct for the whole conversation turn, or cache it). */
typedef struct {
    const char  *phone;         /* E.164 (+5511987654321), or NULL */
    const char  *email;         /* only when trusted (e-mail inbox, HMAC-
                                   verified widget contact), else NULL */
    int          resolved;      /* 1: the lookup was made */
    int          ambiguous;     /* several partners matched */
    int64_t      partner_id;    /* 0: not identified */
    int64_t      pricelist_id;  /* 0: none */
    char         name[128];     /* the partner's name */
} cwai_identity_t;

/* A bookable service: its length and who performs it. */
typedef struct {
    const char  *id;                /* "SRV-01" */
    const char  *name;              /* "Limpeza de Pele Profunda" */
    uint32_t     duration_min;      /* 0: hours->slot_min */
    uint32_t     staff;             /* bit k: ctx->staff[k] performs it */
} cwai_tools_service_t;

typedef struct {
    const cwai_odoo_cfg_t    *odoo;         /* NULL: ERP tools answer
                                               {"error":"erp_unavailable"} */
    const cwai_odoo_hours_t  *hours;        /* NULL: no scheduling; slot_min
                                               is the granularity of starts
                                               and the default length */
    /* The professionals whose Odoo calendars are read (nstaff 0: one
     * shared calendar, below). A slot is free when one professional who
     * performs the service is; the booking is theirs (user_id, attendee). */
    const cwai_odoo_staff_t  *staff;
    size_t                    nstaff;       /* <= CWAI_ODOO_MAX_STAFF */
    const cwai_tools_service_t *services;   /* matched by id or name */
    size_t                    nservices;
    int64_t                   staff_user_id;    /* without staff: calendar
                                                   owner (res.users; 0: every
                                                   event blocks) */
    int64_t                   staff_partner_id; /* also an attendee (0: none) */
    const char               *location;     /* event location, or NULL */
    const char               *channel;      /* "WhatsApp", for the event text */
    const char               *currency;     /* shown with prices ("BRL"), or NULL */
    int                       utc_offset_min; /* local time of the results
                                               (dates of orders); the slots
                                               use hours->utc_offset_min */
    int64_t                   now;          /* unix seconds (required) */
    unsigned                  max_results;  /* products/orders (0: 5, max 20) */
    unsigned                  max_slots;    /* slots listed (0: 12, max 50) */
    int                       no_personal_prices; /* 1: never resolve the
                                               sender for product_details */
} cwai_tools_ctx_t;

typedef enum {
    CWAI_TOOLRUN_REQUEST = 0,
    CWAI_TOOLRUN_RETRY,
    CWAI_TOOLRUN_RETRIEVE,
    CWAI_TOOLRUN_HANDOFF,
    CWAI_TOOLRUN_DONE
} cwai_toolrun_status_t;

typedef struct cwai_toolrun_s  cwai_toolrun_t;

/* ctx and id must outlive the run; call is only read here. NULL only on
 * allocation failure. Invalid arguments or an unknown tool give DONE at
 * once, with an error content the model can act on. */
cwai_toolrun_t *cwai_tools_start(const cwai_tools_ctx_t *ctx,
    cwai_identity_t *id, const cwai_tool_call_t *call);
void            cwai_tools_free(cwai_toolrun_t *run);

cwai_toolrun_status_t cwai_tools_status(const cwai_toolrun_t *run);
/* -1 when the tool name is unknown. */
int             cwai_tools_id(const cwai_toolrun_t *run);

/* Fills req for the current step (status REQUEST or RETRY). 0 or -1 (not
 * in such a state, allocation: the run is then DONE with an error). */
int             cwai_tools_next(cwai_toolrun_t *run, cwai_http_req_t *req);
/* Feeds the reply of the request from cwai_tools_next(). */
cwai_toolrun_status_t cwai_tools_feed(cwai_toolrun_t *run,
    const cwai_http_resp_t *resp);
/* The last upstream error (class NONE when none). */
const cwai_uperr_t *cwai_tools_error(const cwai_toolrun_t *run);
/* After RETRY: stop trying; DONE with {"error":"erp_unavailable"}. */
void            cwai_tools_give_up(cwai_toolrun_t *run);

/* The content of the "tool" message (JSON text); NULL unless DONE or HANDOFF. */
const char     *cwai_tools_result(const cwai_toolrun_t *run);

/* RETRIEVE: the model's query (non-empty) and optional topic (NULL). */
const char     *cwai_tools_query(const cwai_toolrun_t *run, const char **topic);
/* RETRIEVE -> DONE with content (e.g. cwai_qdrant_tool_content()); NULL or
 * invalid UTF-8 gives {"error":"retrieval_failed"}. 0 or -1. */
int             cwai_tools_set_result(cwai_toolrun_t *run, const char *content);

/* HANDOFF: reason is one of customer_request, complaint, health_risk,
 * wholesale, out_of_scope, other; summary is the model's note for the
 * human agents (UTF-8, at most 1000 bytes, may be ""). */
void            cwai_tools_handoff(const cwai_toolrun_t *run,
    const char **reason, const char **summary);

/* {"error": code, "message": message} as a malloc'd JSON text. */
char           *cwai_tools_error_result(const char *code, const char *message);

#endif
