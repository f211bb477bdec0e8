/*
 * ngx_chatwootai core: business domains.
 *
 * A domain describes one business (persona, hours, rules, FAQs, catalogue,
 * services, intents, templates, channels, handoff policy...) in YAML; see
 * docs/domains.md for the schema.  Layers (base -> domain -> tenant
 * override, or a file's own "extends:") are deep-merged (maps merge, lists
 * and scalars replace, a null deletes), validated and converted into the
 * plain C structs below.
 *
 * Everything a loaded domain points to is owned by it and released by
 * cwai_domain_free().  Strings are NUL-terminated UTF-8; optional strings
 * that are absent are NULL; lists that are absent are empty (n == 0).
 * There is no global state: loading is thread-safe and a loaded domain is
 * read-only, so any number of threads may read it.
 *
 * Errors are "path:line:col: message" (1-based) in err->detail, with
 * err->code one of "domain_io", "domain_syntax", "domain_schema",
 * "domain_reference".
 */
#ifndef CWAI_DOMAIN_H
#define CWAI_DOMAIN_H

#include "cwai_common.h"

#include <stddef.h>
#include <stdint.h>

#define CWAI_DOMAIN_MAX_FILE      (16 * 1024 * 1024)
#define CWAI_DOMAIN_MAX_LAYERS    16
#define CWAI_DAY_MAX_INTERVALS    4

/* ---- small value types ---------------------------------------------- */

typedef struct {
    const char  **v;
    size_t        n;
} cwai_strs_t;

/* A calendar date; year == 0 means "not set". */
typedef struct {
    int  year, month, day;
} cwai_date_t;

/* [open, close) in minutes since local midnight; close may be 1440. */
typedef struct {
    int  open, close;
} cwai_interval_t;

/* Opening intervals of one day, sorted, non-overlapping; n == 0: closed. */
typedef struct {
    size_t           n;
    cwai_interval_t  iv[CWAI_DAY_MAX_INTERVALS];
} cwai_day_hours_t;

/* day[] is indexed like struct tm's tm_wday: 0 = Sunday ... 6 = Saturday. */
typedef struct {
    int               set;      /* 0: the section was absent */
    cwai_day_hours_t  day[7];
} cwai_week_t;

typedef enum {
    CWAI_VAL_STRING = 0,
    CWAI_VAL_INT,
    CWAI_VAL_NUMBER,
    CWAI_VAL_BOOL,
    CWAI_VAL_LIST
} cwai_val_type_t;

/* A named machine-readable value: rule figures, product attributes. */
typedef struct {
    const char       *key;
    cwai_val_type_t   type;
    const char       *text;     /* the scalar as written; NULL for LIST */
    int64_t           integer;  /* INT; BOOL 0/1; NUMBER truncated */
    double            number;   /* INT and NUMBER */
    int64_t           cents;    /* INT and NUMBER: value x 100, half-up */
    cwai_strs_t       items;    /* LIST: the scalars as written */
} cwai_kv_t;

typedef struct {
    cwai_kv_t  *v;
    size_t      n;
} cwai_kvs_t;

/* ---- enums ----------------------------------------------------------- */

typedef enum {
    CWAI_FORMALITY_INFORMAL = 0,
    CWAI_FORMALITY_NEUTRAL,
    CWAI_FORMALITY_FORMAL
} cwai_formality_t;

typedef enum {
    CWAI_EMOJI_NONE = 0,
    CWAI_EMOJI_LIGHT,
    CWAI_EMOJI_MODERATE,
    CWAI_EMOJI_FREQUENT
} cwai_emoji_t;

typedef enum {
    CWAI_MARKUP_PLAIN = 0,
    CWAI_MARKUP_WHATSAPP,       /* *bold* _italic_ ~strike~ */
    CWAI_MARKUP_MARKDOWN,
    CWAI_MARKUP_HTML
} cwai_markup_t;

typedef enum {
    CWAI_HOLIDAY_HOLIDAY = 0,   /* "holiday" */
    CWAI_HOLIDAY_CLOSURE,       /* "closure": closed for another reason */
    CWAI_HOLIDAY_SPECIAL_HOURS  /* "special_hours" */
} cwai_holiday_kind_t;

typedef enum {
    CWAI_PRIORITY_LOW = 0,
    CWAI_PRIORITY_NORMAL,
    CWAI_PRIORITY_HIGH,
    CWAI_PRIORITY_URGENT
} cwai_priority_t;

typedef enum {
    CWAI_TOOL_BUILTIN = 0,      /* answered from the domain data itself */
    CWAI_TOOL_ODOO,             /* JSON-RPC to Odoo (model + method) */
    CWAI_TOOL_HTTP              /* a location of the operator's */
} cwai_tool_backend_t;

/* ---- sections ---------------------------------------------------------- */

typedef struct {
    const char  *address;
    const char  *phone;
    const char  *whatsapp;
    const char  *instagram;
    const char  *facebook;
    const char  *email;
    const char  *privacy_email;
    const char  *website;
} cwai_contact_t;

typedef struct {
    const char        *name;        /* "Bela" */
    const char        *role;        /* "assistente virtual da ..." */
    const char        *tone;        /* free text for an LLM prompt */
    cwai_formality_t   formality;
    cwai_emoji_t       emoji;
    const char        *pronoun;     /* "você", "o senhor/a senhora" */
    const char        *greeting;    /* default language; else i18n greeting */
    const char        *farewell;
    const char        *signature;
    cwai_strs_t        style;       /* writing guidelines */
    cwai_strs_t        avoid;       /* words / topics to avoid */
} cwai_persona_t;

/* Fixed phrases of one language.  Only the domain language is required to
 * have greeting/farewell/handoff/fallback; absent phrases are NULL and
 * cwai_domain_phrase() falls back to the domain language. */
typedef struct {
    const char  *lang;              /* "pt-BR", "en", "es" */
    const char  *greeting;
    const char  *farewell;
    const char  *thanks;            /* reply to a "thank you" */
    const char  *handoff;           /* "I'm passing you to a person" */
    const char  *handoff_after_hours;
    const char  *fallback;          /* "I'm not sure, ..." */
    const char  *clarify;           /* asks the customer to rephrase */
    const char  *out_of_hours;
    const char  *wait;              /* "one moment, please" */
    const char  *closed_day;        /* "we are closed on {date}" */
} cwai_phrases_t;

typedef struct {
    cwai_date_t          date;
    const char          *name;
    cwai_holiday_kind_t  kind;
    int                  closed;    /* 1: no opening at all */
    cwai_day_hours_t     hours;     /* when !closed */
    int                  services;  /* 1: services/appointments happen */
    const char          *note;
} cwai_holiday_t;

typedef struct cwai_tool_s  cwai_tool_t;

typedef struct {
    const char          *id;        /* sales, support, scheduling, handoff, smalltalk, ... */
    const char          *name;
    const char          *description;
    cwai_strs_t          handles;   /* what it handles, one line each */
    int                  enabled;
    cwai_strs_t          tools;     /* tool names */
    const cwai_tool_t  **tool_ptrs; /* resolved, same order as tools */
} cwai_agent_t;

typedef struct {
    const char  *name;              /* Chatwoot label: [a-z0-9_-]+ */
    const char  *description;
    const char  *color;             /* "#RRGGBB" or NULL */
} cwai_label_t;

typedef struct {
    const char          *id;
    const char          *agent;     /* agent id */
    const cwai_agent_t  *agent_ptr;
    const char          *description;
    cwai_strs_t          examples;  /* example customer messages */
    cwai_strs_t          keywords;  /* lowercase cues, may include misspellings */
    cwai_strs_t          labels;    /* Chatwoot labels applied when routed here */
    int                  priority;  /* higher wins ties; default 0 */
} cwai_intent_t;

typedef struct {
    const char  *id;
    const char  *title;
    const char  *text;
    const char  *category;
    cwai_strs_t  keywords;
    cwai_kvs_t   figures;           /* pix_discount_percent: 5, free_shipping_min: 199.00 */
} cwai_rule_t;

typedef struct {
    const char          *id;
    const char          *question;
    const char          *answer;
    const char          *category;
    cwai_strs_t          variants;  /* other phrasings of the question */
    cwai_strs_t          keywords;
    cwai_strs_t          rules;     /* rule ids the answer is based on */
    const cwai_rule_t  **rule_ptrs;
} cwai_faq_t;

typedef struct cwai_product_s  cwai_product_t;

struct cwai_product_s {
    const char             *sku;            /* unique; referenced by kits */
    int64_t                 erp_id;         /* Odoo product id; 0: none */
    const char             *name;
    const char             *category;
    const char             *brand;
    const char             *description;
    const char             *url;
    int64_t                 price_cents;
    int64_t                 promo_price_cents;  /* -1: no promotion */
    cwai_date_t             promo_until;        /* last day, inclusive */
    int64_t                 stock;          /* units; -1: not tracked */
    cwai_date_t             restock_date;   /* expected restock */
    int                     active;         /* 0: discontinued, never offer */
    cwai_strs_t             tags;
    cwai_strs_t             components;     /* kit: skus of the products inside */
    const cwai_product_t  **component_ptrs;
    cwai_kvs_t              attributes;     /* skin_types: [...], size: 30ml, ... */
};

typedef struct {
    const char   *id;
    int64_t       erp_id;
    const char   *name;
    const char   *category;
    const char   *description;
    int           duration_minutes;
    int64_t       price_cents;              /* 0: free */
    int           price_from;               /* 1: "a partir de" price */
    cwai_strs_t   requirements;
    cwai_strs_t   contraindications;
    int           min_age;                  /* 0: none */
    int           guardian_required_under;  /* 0: none */
    int           deposit_percent;          /* 0: none */
    int           package_sessions;         /* 0: no package */
    int64_t       package_price_cents;
    int           package_valid_days;
    int           active;
    cwai_strs_t   tags;
    cwai_strs_t   professionals;            /* ids, derived from professionals[].services */
    cwai_kvs_t    attributes;
} cwai_service_t;

typedef struct {
    const char   *id;
    const char   *name;
    const char   *role;
    unsigned      works_on;                 /* bit (1 << tm_wday) */
    cwai_strs_t   services;                 /* service ids */
    cwai_week_t   hours;                    /* own hours; !set: the domain's */
    int64_t       erp_user_id;              /* Odoo res.users (calendar); 0: none */
    int64_t       erp_partner_id;           /* Odoo res.partner (attendee); 0: none */
} cwai_professional_t;

typedef struct {
    const char                 *id;
    cwai_date_t                 date;
    int                         start, end; /* minutes since midnight */
    const char                 *service;
    const cwai_service_t       *service_ptr;
    const char                 *professional;
    const cwai_professional_t  *professional_ptr;
} cwai_slot_t;

typedef struct {
    int               slot_minutes;         /* granularity, default 30 */
    int               lead_minutes;         /* minimum notice, default 0 */
    int               horizon_days;         /* how far ahead, default 30 */
    int               must_end_by_close;    /* default 1 */
    cwai_day_hours_t  breaks;               /* no services, e.g. lunch */
    cwai_date_t       slots_from, slots_to; /* period the slots snapshot covers */
    cwai_slot_t      *slots;                /* free slots snapshot (optional) */
    size_t            nslots;
} cwai_availability_t;

typedef struct {
    const char       *id;                   /* medical_risk, legal_threat, ... */
    const char       *description;
    cwai_strs_t       keywords;
    cwai_strs_t       examples;
    cwai_strs_t       labels;
    cwai_priority_t   priority;
    const char       *reply;                /* to the customer; NULL: i18n handoff */
    cwai_strs_t       rules;                /* related rule ids (e.g. R-ATE-04) */
    const cwai_rule_t **rule_ptrs;
} cwai_handoff_topic_t;

typedef struct {
    double                 confidence_threshold;  /* below: hand off; default 0.5 */
    int                    max_bot_turns;          /* 0: unlimited */
    const char            *team;                   /* Chatwoot team to assign */
    cwai_strs_t            labels;                 /* added on every handoff */
    const char            *private_note;           /* template, {reason} {topic} {intent} */
    cwai_handoff_topic_t  *topics;
    size_t                 ntopics;
    double                 min_retrieval_score;    /* 0: the agent's default */
} cwai_handoff_t;

typedef struct {
    const char     *name;                   /* whatsapp, instagram, facebook, email, web, ... */
    int             enabled;
    int             max_length;             /* characters per message */
    int             max_messages;           /* split a long answer into at most N */
    cwai_markup_t   markup;
    int             emoji;                  /* 0: strip emoji on this channel */
} cwai_channel_t;

typedef struct {
    const char  *lang;
    const char  *text;
} cwai_text_t;

typedef struct {
    const char           *key;              /* intent id or answer kind: price, hours, ... */
    const char           *intent;           /* optional intent id */
    const cwai_intent_t  *intent_ptr;
    const char           *description;
    cwai_text_t          *texts;            /* one per language; {placeholders} */
    size_t                ntexts;
} cwai_template_t;

struct cwai_tool_s {
    const char           *name;             /* search_products, available_slots, ... */
    int                   enabled;
    const char           *description;
    cwai_tool_backend_t   backend;
    const char           *model;            /* Odoo model, e.g. product.product */
    const char           *method;           /* Odoo method, e.g. search_read */
    cwai_strs_t           fields;
    int                   limit;            /* 0: backend default */
    int                   requires_identity;/* only for the identified customer */
};

/* Colloquial term -> catalogue words ("rimel" -> "máscara de cílios"). */
typedef struct {
    const char  *term;
    const char  *means;
} cwai_synonym_t;

/* ---- the domain --------------------------------------------------------- */

typedef struct {
    /* metadata */
    const char            *id;              /* [a-z0-9_-]+ */
    const char            *name;
    const char            *description;
    const char            *language;        /* default language, "pt-BR" */
    cwai_strs_t            languages;       /* supported; contains language */
    const char            *timezone;        /* IANA, "America/Sao_Paulo" */
    int                    has_utc_offset;
    int                    utc_offset_minutes;  /* fixed offset, e.g. -180 */
    const char            *currency;        /* ISO 4217, "BRL" */
    const char            *country;         /* ISO 3166, "BR" */
    cwai_contact_t         contact;

    cwai_persona_t         persona;
    cwai_phrases_t        *i18n;            size_t  ni18n;

    cwai_week_t            hours;           /* opening hours (required) */
    cwai_week_t            support_hours;   /* humans answer; !set: hours */
    cwai_holiday_t        *holidays;        size_t  nholidays;   /* by date */

    cwai_agent_t          *agents;          size_t  nagents;
    cwai_intent_t         *intents;         size_t  nintents;
    cwai_label_t          *labels;          size_t  nlabels;
    cwai_rule_t           *rules;           size_t  nrules;
    cwai_faq_t            *faqs;            size_t  nfaqs;
    cwai_product_t        *products;        size_t  nproducts;
    cwai_service_t        *services;        size_t  nservices;
    cwai_professional_t   *professionals;   size_t  nprofessionals;
    cwai_availability_t    availability;
    cwai_handoff_t         handoff;
    cwai_channel_t        *channels;        size_t  nchannels;
    cwai_template_t       *templates;       size_t  ntemplates;
    cwai_tool_t           *tools;           size_t  ntools;

    cwai_strs_t            sources;         /* files merged, in order */
    void                  *pool;            /* internal */

    cwai_synonym_t        *synonyms;        size_t  nsynonyms;
} cwai_domain_t;

/* A YAML document in memory: name is used in error messages and to
 * resolve a relative "extends:". */
typedef struct {
    const char  *name;
    const char  *data;
    size_t       len;
} cwai_domain_src_t;

/* Loads the layers in order (each may "extends:" others, loaded first and
 * once), merges, validates and converts.  NULL + err on any error. */
cwai_domain_t *cwai_domain_load(const char *const *paths, size_t npaths,
    cwai_err_t *err);
cwai_domain_t *cwai_domain_load_mem(const cwai_domain_src_t *srcs,
    size_t nsrcs, cwai_err_t *err);
void cwai_domain_free(cwai_domain_t *d);

/* ---- lookups (linear; NULL when absent) ---------------------------------- */

const cwai_product_t *cwai_domain_product(const cwai_domain_t *d, const char *sku);
const cwai_service_t *cwai_domain_service(const cwai_domain_t *d, const char *id);
const cwai_professional_t *cwai_domain_professional(const cwai_domain_t *d,
    const char *id);
const cwai_rule_t *cwai_domain_rule(const cwai_domain_t *d, const char *id);
const cwai_faq_t *cwai_domain_faq(const cwai_domain_t *d, const char *id);
const cwai_agent_t *cwai_domain_agent(const cwai_domain_t *d, const char *id);
const cwai_intent_t *cwai_domain_intent(const cwai_domain_t *d, const char *id);
const cwai_label_t *cwai_domain_label(const cwai_domain_t *d, const char *name);
const cwai_channel_t *cwai_domain_channel(const cwai_domain_t *d, const char *name);
const cwai_template_t *cwai_domain_template(const cwai_domain_t *d, const char *key);
const cwai_tool_t *cwai_domain_tool(const cwai_domain_t *d, const char *name);
const cwai_handoff_topic_t *cwai_domain_handoff_topic(const cwai_domain_t *d,
    const char *id);
const cwai_holiday_t *cwai_domain_holiday(const cwai_domain_t *d, cwai_date_t date);
const cwai_kv_t *cwai_kvs_get(const cwai_kvs_t *kvs, const char *key);

/* The phrase "greeting", "handoff", ... in lang ("en-US" also tries "en"),
 * else in the domain language; NULL if neither has it. */
const char *cwai_domain_phrase(const cwai_domain_t *d, const char *lang,
    const char *key);
/* A template's text in lang, else in the domain language, else the first. */
const char *cwai_template_text(const cwai_template_t *t, const char *lang,
    const char *fallback_lang);

/* The opening hours on a date (holidays first, then the weekly hours);
 * *holiday is set to the matching holiday or NULL.  Returns 1 if open. */
int cwai_domain_hours_on(const cwai_domain_t *d, cwai_date_t date,
    cwai_day_hours_t *out, const cwai_holiday_t **holiday);

/* The price that applies on a date: the promotion while date <= promo_until. */
int64_t cwai_product_price_on(const cwai_product_t *p, cwai_date_t date);

/* "R$ 1.234,56" (BRL, pt-BR/es style), "US$ 5.00"/"$5.00" (en)...
 * Returns the length written (always NUL-terminated when size > 0). */
size_t cwai_domain_format_money(const cwai_domain_t *d, int64_t cents,
    char *buf, size_t size);

/* ---- new domains ("cwai domain new") ------------------------------------- */

/* "Escola Aprender Mais!" -> "escola-aprender-mais": ASCII letters and
 * digits, lowercase, joined by "-" (the domain id of a new domain). */
void cwai_domain_slugify(const char *name, char *out, size_t size);

/* The YAML text of a skeleton domain that loads as it is: with extends
 * (a path written into "extends:", relative to where the file will live)
 * it holds only the business's own sections; with extends NULL it is
 * self-contained.  year dates the example holiday.  malloc'd: free() it.
 * NULL + err when name has no ASCII letter or digit. */
char *cwai_domain_skeleton(const char *name, const char *description,
    const char *extends, int year, cwai_err_t *err);

/* ---- dates and times ----------------------------------------------------- */

int cwai_date_parse(const char *s, cwai_date_t *out);     /* YYYY-MM-DD; 0 ok */
int cwai_time_parse(const char *s, int *minutes);         /* HH:MM; 0 ok */
int cwai_date_cmp(cwai_date_t a, cwai_date_t b);
int64_t cwai_date_to_days(cwai_date_t date);              /* since 1970-01-01 */
cwai_date_t cwai_date_from_days(int64_t days);
int cwai_date_weekday(cwai_date_t date);                  /* 0 = Sunday */
extern const char *const cwai_weekday_names[7];           /* "sunday", ... */

#endif
