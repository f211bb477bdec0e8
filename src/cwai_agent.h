/*
 * The embedded agent: answers a customer message from the domain alone
 * (rules, FAQs, products, services, hours, the slots snapshot), with no
 * external service. It is the gateway's default when no LLM, Qdrant or ERP
 * is configured, and the cheap first tier when they are.
 *
 *   normalise  cwai_text.h (pt-BR slang, accents, typos against the domain
 *              vocabulary) + cwai_extract.h (dates, times, ages, amounts)
 *   retrieve   cwai_index.h over rules, FAQs, products and services
 *              (hashed embeddings, cwai_embed.h) + product/service mentions
 *   route      cwai_router.h: sales | support | scheduling | handoff |
 *              smalltalk, with a confidence
 *   compose    cwai_compose.h: a reply from retrieved facts and the domain's
 *              templates; it never invents a fact and hands off politely
 *              when nothing scores high enough
 *
 * Pure and reentrant: no I/O, no global state; the clock is an input. A
 * bot is built once per domain (at configuration load) and is then
 * read-only, usable from any number of threads.
 *
 * Lifetimes: a bot keeps pointers into its domain, so the domain must
 * outlive it. An answer's reply is malloc'd (cwai_answer_free); its other
 * strings point into the domain or are static, so use the answer before
 * freeing the bot/domain (or copy it, e.g. with cwai_answer_to_json()).
 */
#ifndef CWAI_AGENT_H
#define CWAI_AGENT_H

#include "cwai_common.h"
#include "cwai_domain.h"

#include <jansson.h>

typedef struct cwai_bot_s  cwai_bot_t;

typedef enum {
    CWAI_ROLE_CUSTOMER = 0,
    CWAI_ROLE_ASSISTANT
} cwai_role_t;

/* One previous turn of the conversation, oldest first. */
typedef struct {
    cwai_role_t   role;
    const char   *text;
    const char   *agent;        /* assistant turns: the agent that answered
                                   ("sales", ...), NULL if unknown */
} cwai_turn_t;

/* What the pipeline knows about the customer (from the ERP or Chatwoot's
 * contact), all optional. Used for loyalty prices and balances only when
 * given; the embedded agent never guesses them. */
typedef struct {
    const char   *name;         /* first name, for greetings; NULL */
    const char   *tier;         /* loyalty tier as the rules' figures name it
                                   ("prata", "ouro"); NULL: unknown */
    int64_t       points;       /* loyalty balance; < 0: unknown */
} cwai_customer_t;

#define CWAI_AGENT_MAX_TEXT 2048 /* bytes of a message that are read */

#define CWAI_AGENT_HOLDOUT  0x1 /* evaluation: ignore intent examples that
                                   repeat the message (held-out accuracy) */

typedef struct {
    const char         *text;       /* the customer message (UTF-8); bubbles
                                       sent in a burst joined with '\n' */
    size_t              len;        /* 0: strlen(text) */
    const char         *channel;    /* "whatsapp", "instagram", "web", ...; NULL */
    int64_t             now;        /* unix seconds; 0: the system clock */
    const char         *lang;       /* language hint ("en", "pt-BR"); NULL: detect */
    const cwai_customer_t *customer;/* NULL: unknown */
    const cwai_turn_t  *history;    /* previous turns, oldest first */
    size_t              nhistory;   /* only the last 16 are read */
    unsigned            flags;      /* CWAI_AGENT_* */
} cwai_agent_input_t;

#define CWAI_ANSWER_MAX_SOURCES  12
#define CWAI_ANSWER_MAX_LABELS   8

typedef struct {
    double  normalise;              /* parse, typo fixes, entities, history */
    double  retrieve;               /* index search, mentions */
    double  route;
    double  compose;
    double  total;
} cwai_timings_t;                   /* microseconds, CLOCK_MONOTONIC */

typedef struct {
    char         *reply;            /* malloc'd, never NULL after success */
    const char   *agent;            /* sales | support | scheduling | handoff | smalltalk */
    const char   *intent;           /* a domain intent id, or "low_confidence",
                                       "handoff_topic", "follow_up", ... */
    double        confidence;       /* 0..1 */
    const char   *sources[CWAI_ANSWER_MAX_SOURCES];  /* rule, FAQ, product,
                                       service and slot ids the reply used */
    size_t        nsources;
    const char   *labels[CWAI_ANSWER_MAX_LABELS];    /* Chatwoot labels */
    size_t        nlabels;
    int           handoff;          /* 1: pass the conversation to a person */
    const char   *handoff_reason;   /* "customer_request", a topic id
                                       ("medical_risk"...), "low_confidence",
                                       "no_answer", "needs_tool"; NULL */
    const char   *needs_tool;       /* a domain tool the reply promised or
                                       lacked ("customer_orders",
                                       "book_appointment", ...); NULL */
    const char   *language;         /* "pt-BR", "en", "es" */
    cwai_timings_t us;
} cwai_answer_t;

/* Builds the bot for a loaded domain: the retrieval index, the intent
 * index, vocabularies and lookup tables. NULL + err on failure (e.g. a
 * time zone with daylight-saving time and no utc_offset). */
cwai_bot_t *cwai_agent_new(const cwai_domain_t *d, cwai_err_t *err);
void        cwai_agent_free(cwai_bot_t *b);

/* Answers one message. Returns 0, or -1 when b, in or in->text is NULL or
 * memory runs out (out->reply is then NULL). out is overwritten. An empty
 * or unreadable message gets an answer too (small talk or a handoff). */
int  cwai_agent_answer(const cwai_bot_t *b, const cwai_agent_input_t *in,
    cwai_answer_t *out);
void cwai_answer_free(cwai_answer_t *a);

/* {"reply", "agent", "intent", "confidence", "sources": [...],
 *  "handoff": bool, "handoff_reason", "needs_tool", "labels": [...],
 *  "language", "timings": {"normalise_us", "retrieve_us", "route_us",
 *  "compose_us", "total_us"}}; NULL on allocation failure. */
json_t *cwai_answer_to_json(const cwai_answer_t *a);

/* Bytes the bot allocated (indexes, tables), excluding the domain. */
size_t cwai_agent_bytes(const cwai_bot_t *b);

/* Documents in the retrieval index (rules + FAQs + products + services). */
size_t cwai_agent_index_size(const cwai_bot_t *b);

#endif
