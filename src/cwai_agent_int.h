/*
 * Internals of the embedded agent shared by cwai_agent.c, cwai_router.c and
 * cwai_compose.c. Not a public interface.
 */
#ifndef CWAI_AGENT_INT_H
#define CWAI_AGENT_INT_H

#include "cwai_agent.h"
#include "cwai_extract.h"
#include "cwai_index.h"
#include "cwai_locale.h"
#include "cwai_text.h"

/* knowledge index kinds; a rule or FAQ also has short documents (title,
 * each keyword, question, each variant) that point to the same item */
enum { KX_RULE = 0, KX_FAQ, KX_PRODUCT, KX_SERVICE, KX_RULE_SHORT, KX_FAQ_SHORT };
/* intent index kinds */
enum { KI_EXAMPLE = 0, KI_TOPIC };

/* agents */
enum { AG_SALES = 0, AG_SUPPORT, AG_SCHEDULING, AG_HANDOFF, AG_SMALLTALK, AG__N };
extern const char *const cwai_agent_names[AG__N];

/* skin types, bit per type */
enum { SK_OLEOSA = 1, SK_SECA = 2, SK_MISTA = 4, SK_NORMAL = 8, SK_SENSIVEL = 16,
       SK_TODOS = 32 };

#define CWAI_MAX_KW_TOKENS  8
#define CWAI_HIST_MAX       16
#define CWAI_CART_MAX       16
#define CWAI_MENTION_MAX    8

typedef struct {
    uint64_t  h;
    float     w;
    uint8_t   uniq;             /* the word names this item only */
    uint8_t   weak;             /* a descriptor ("pele", "seca"): weak evidence */
} nkey_t;

/* How a catalogue name is recognised in a message. */
typedef struct {
    nkey_t    *k;               /* distinct content-word stems of the name */
    uint16_t   n;
    float      total;           /* sum of weights */
    uint64_t  *seq;             /* content stems in order (exact name match) */
    uint16_t   nseq;
    nkey_t    *tags;            /* tag stems (weaker evidence) */
    uint16_t   ntags;
    unsigned   skin;            /* SK_* */
    nkey_t    *words;           /* products: content stems of name, tags and
                                 * description, w = IDF over the catalogue
                                 * (halved for words of the description only) */
    uint16_t   nwords;
} namekey_t;

/* A keyword or synonym phrase as stem hashes. */
typedef struct {
    uint64_t  h[CWAI_MAX_KW_TOKENS];
    uint8_t   n;
    uint8_t   kind;             /* KW_INTENT, KW_TOPIC, KW_SYNONYM */
    int16_t   owner;            /* intent, topic or synonym index */
} kw_t;

enum { KW_INTENT = 0, KW_TOPIC, KW_SYNONYM };

typedef struct {
    const cwai_rule_t  *rule;
    const cwai_kv_t    *kv;
} figure_t;

struct cwai_bot_s {
    const cwai_domain_t  *d;
    int                   tz;           /* UTC offset, minutes */
    cwai_index_t         *kix;          /* knowledge */
    cwai_index_t         *iix;          /* intent examples, handoff topics */
    cwai_vocab_t         *vocab;
    namekey_t            *pk;           /* per product */
    namekey_t            *sk;           /* per service */
    uint64_t             *prof_first;   /* per professional: first-name hash */
    uint64_t             *prof_full;    /* per professional: surname hash */
    kw_t                 *kw;
    size_t                nkw;
    int8_t               *intent_agent; /* per intent: AG_* or -1 */
    int8_t               *rule_agent;   /* per rule: AG_* by category */
    int8_t               *faq_agent;
    uint64_t             *iix_hash;     /* per intent-index doc: folded text hash */
    int32_t              *intent_doc;   /* per intent: closest rule/FAQ doc, -1 */
    uint32_t             *rule_doc;     /* per rule: its full document */
    uint32_t             *faq_doc;      /* per FAQ: its full document */
    int                   has_smalltalk_intents;
    size_t                bytes;
};

/* A parsed text with a stem hash per token. */
typedef struct {
    cwai_ntext_t  t;
    uint64_t     *sh;
} ptext_t;

typedef struct {
    int    idx;                 /* product or service index */
    float  score;
    int    ntok;                /* matched name tokens */
    int    context;             /* 1: "uso X", "comprei X": not a request */
    int    qty;
} mention_t;

typedef struct {
    int          svc, prof, time;
    cwai_date_t  date;
    int          daypart;
} sched_t;

typedef struct {
    const cwai_bot_t          *b;
    const cwai_domain_t       *d;
    const cwai_agent_input_t  *in;
    const char                *lang;       /* "pt-BR", "en", "es" */
    cwai_local_t               now;
    int64_t                    now_unix;

    ptext_t                    m;          /* the message */
    ptext_t                    syn;        /* synonym expansions of the message */
    cwai_entities_t            ent;
    cwai_place_t               place;
    int                        has_place;
    unsigned                   skin;       /* message + customer history */
    int                        personal;   /* "meu pedido", "meus pontos"... */

    mention_t                  prod[CWAI_MENTION_MAX];
    int                        nprod;
    int                        prod_generic;   /* names a kind of product only */
    int                        prod_need;      /* ... through a synonym ("tirar maquiagem") */
    uint64_t                   prod_used;      /* message positions (< 64) of product names */
    uint64_t                   svc_used;       /* ... of a service name said first */
    int                        svc;            /* service named in the message */
    int                        svc_ambiguous;
    int                        prof;           /* professional named */

    /* history */
    int                        nturns;
    int                        last_agent;     /* AG_* of the previous answer, -1 */
    int                        hist_handoff;
    int                        cart[CWAI_CART_MAX];
    int                        ncart;
    int                        focus;          /* last product of the history, -1 */
    size_t                     hist_first;     /* first history turn read */
    uint32_t                   hist_named;     /* bit i - hist_first: customer turn i
                                                * named a product */
    sched_t                    sched;          /* history + message */
    int                        sched_hist_svc; /* service before this message */
    cwai_place_t               hplace;
    int                        has_hplace;

    /* retrieval */
    cwai_hit_t                 kh[8];          /* rules and FAQs */
    size_t                     nkh;
    cwai_hit_t                 ph[8];          /* products */
    size_t                     nph;

    /* routing */
    int                        agent;
    int                        intent;         /* domain intent index, -1 */
    const char                *intent_name;
    int                        topic;          /* handoff topic index, -1 */
    double                     conf;
    float                      ascore[AG__N];
    float                      iscore_best;    /* best intent score */
    int                        affirm;         /* "pode ser", "sim", "ok" */
    int                        is_name;        /* the message is a bare name */
    int                        smalltalk_only;
    int                        mixed_sched;    /* also a scheduling request */
    int                        mixed_sales;
} cwai_ctx_t;

/* ---- helpers shared by the agent files ---------------------------------- */

int    cwai_ptext_parse(ptext_t *p, const char *s, size_t len, const cwai_vocab_t *v);
void   cwai_ptext_free(ptext_t *p);
uint64_t cwai_stem_hash(const char *s, size_t len);

/* Does the message contain the keyword (stem hashes, contiguous)? Returns
 * the start token or -1. */
int    cwai_kw_find(const ptext_t *p, const kw_t *k);
/* 1 if the message (any token from..to) has a word among the list */
int    cwai_has_word(const ptext_t *p, const char *const *words);
int    cwai_has_phrase(const ptext_t *p, const char *phrase);

/* Figures: a value by key from any rule (first match), or NULL. */
const cwai_kv_t *cwai_figure(const cwai_domain_t *d, const char *key,
    const cwai_rule_t **rule);

int    cwai_agent_index(const char *name);

/* The words of a need: content stems of the message (weight 1) and of its
 * synonym expansions (0.7), descriptors left out; returns how many. */
size_t cwai_need_words(const ptext_t *m, const ptext_t *syn, uint64_t *h, float *w, size_t max);
/* How well product p's name, tags and description answer those words: the
 * sum of weight x rarity of the words it has. */
float  cwai_need_score(const cwai_bot_t *b, int p, const uint64_t *h, const float *w, size_t n);

/* The products an earlier customer turn asks for, as retrieve() finds them
 * for the message: text parsed into m, its synonyms into syn (both to be
 * freed with cwai_ptext_free), product hits best first; returns how many. */
size_t cwai_request_products(const cwai_ctx_t *c, const char *text, ptext_t *m, ptext_t *syn,
    cwai_hit_t *ph, size_t k);

/* Rules and FAQs for a weighted query: each item scored by the best of its
 * full document and (x0.9) its short documents; hits name full documents,
 * best first. */
size_t cwai_knowledge_search(const cwai_bot_t *b, const cwai_ntext_t *const *q,
    const float *w, size_t nq, cwai_hit_t *hits, size_t k);

#endif
