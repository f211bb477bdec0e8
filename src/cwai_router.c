/*
 * Router. See cwai_router.h.
 */
#include "cwai_router.h"

#include <math.h>
#ifdef CWAI_DEBUG_ROUTER
#include <stdio.h>
#endif
#include <stdlib.h>
#include <string.h>

#define MAX_INTENTS  256
#define MAX_TOPICS   64

static int
is_health(const char *id)
{
    return id && (strstr(id, "medical") || strstr(id, "health") || strstr(id, "adverse")
                  || strstr(id, "reaction") || strstr(id, "saude"));
}

static int
is_human_request(const char *id)
{
    return id && (strstr(id, "human") || strstr(id, "atendente"));
}

/* A health complaint is an event ("usei e ficou vermelha", "está ardendo"),
 * not a wish ("tem protetor que não arde?"). Returns a factor 0.3..1. */
static float
health_factor(const ptext_t *m)
{
    static const char  *const events[] = {
        "usei", "passei", "apliquei", "ficou", "fiquei", "apareceu", "apareceram",
        "causou", "comecou", "inchou", "inchado", "inchada", "ardendo", "cocando",
        "queimou", "irritou", "sangrando", "estou", "depois", "alergia", NULL
    };
    static const char  *const seeking[] = {
        "indica", "indicam", "recomenda", "recomendam", "qual", "quais", "procuro", NULL
    };
    float  f = 0.3f;

    if (cwai_has_word(m, events)) {
        f = 1.0f;
    }
    if (cwai_has_word(m, seeking) || cwai_has_phrase(m, "nao arde") || cwai_has_phrase(m, "que nao")
        || (m->t.ntok > 0 && strcmp(m->t.tok[0].w, "tem") == 0))
    {
        f *= 0.4f;
    }
    return f;
}

static int
content_tokens(const ptext_t *m)
{
    size_t  i;
    int     n = 0;

    for (i = 0; i < m->t.ntok; i++) {
        n += !m->t.tok[i].stop;
    }
    return n;
}

/* "pode ser", "sim", "isso", "fechado", "pode marcar", "ok" */
static int
affirmative(const ptext_t *m)
{
    static const char  *const yes[] = {
        "sim", "isso", "pode", "fechado", "fechou", "combinado", "beleza", "ok",
        "okay", "certo", "claro", "bora", "quero", "marca", "marcar", "confirmo",
        "confirma", "perfeito", "otimo", NULL
    };

    return m->t.ntok <= 6 && cwai_has_word(m, yes);
}

/* A bare personal name: 2-5 capitalised words and nothing else. */
static int
looks_like_name(const char *s, size_t len)
{
    size_t  i = 0;
    int     words = 0;

    while (i < len) {
        unsigned char  ch;

        while (i < len && (s[i] == ' ' || s[i] == '\n')) {
            i++;
        }
        if (i >= len) {
            break;
        }
        ch = (unsigned char) s[i];
        if (!((ch >= 'A' && ch <= 'Z') || ch == 0xc3)) {
            /* allow lower-case particles: da, de, do, dos, das */
            size_t  j = i;

            while (j < len && s[j] != ' ' && s[j] != '\n') {
                j++;
            }
            if (!((j - i == 2 || j - i == 3) && s[i] == 'd')) {
                return 0;
            }
            i = j;
            continue;
        }
        words++;
        while (i < len && s[i] != ' ' && s[i] != '\n') {
            ch = (unsigned char) s[i];
            if ((ch >= '0' && ch <= '9') || ch == '?' || ch == '!' || ch == ',' || ch == ':') {
                return 0;
            }
            i++;
        }
    }
    return words >= 2 && words <= 5;
}

static int
has_emoji_only(const ptext_t *m)
{
    return m->t.ntok == 0 && m->t.n_emoji > 0;
}

/* Hashes of the message and of each of its sentences/bubbles. */
static size_t
segment_hashes(const ptext_t *m, uint64_t *h, size_t max)
{
    char    buf[2048];
    size_t  i, n = 0, len = 0;

    if (max == 0) {
        return 0;
    }
    h[n++] = cwai_hash64(m->t.folded, m->t.folded_len);
    for (i = 0; i <= m->t.ntok; i++) {
        if (i == m->t.ntok || (m->t.tok[i].brk && len > 0)) {
            if (len > 0 && n < max) {
                h[n++] = cwai_hash64(buf, len);
            }
            len = 0;
            if (i == m->t.ntok) {
                break;
            }
        }
        if (len + m->t.tok[i].wlen + 1 < sizeof(buf)) {
            if (len) {
                buf[len++] = ' ';
            }
            memcpy(buf + len, m->t.tok[i].w, m->t.tok[i].wlen);
            len += m->t.tok[i].wlen;
        }
    }
    return n;
}

static void
add_label(cwai_ctx_t *c, const char *l, const char **labels, size_t *n)
{
    size_t  i;

    (void) c;
    for (i = 0; i < *n; i++) {
        if (strcmp(labels[i], l) == 0) {
            return;
        }
    }
    if (*n < CWAI_ANSWER_MAX_LABELS) {
        labels[(*n)++] = l;
    }
}

void
cwai_router_route(cwai_ctx_t *c)
{
    const cwai_domain_t  *d = c->d;
    const cwai_bot_t     *b = c->b;
    float                 knn[MAX_INTENTS], kws[MAX_INTENTS], is[MAX_INTENTS];
    float                 tknn[MAX_TOPICS], tkw[MAX_TOPICS], ts[MAX_TOPICS];
    cwai_hit_t            hits[24];
    uint64_t              seg[16];
    size_t                nseg, nh, i, j, ni = d->nintents, nt = d->handoff.ntopics;
    float                *A = c->ascore, best, second, hf;
    int                   a, bt, other_strong, nonctx = 0, ctxonly = 0, follow, sched_ent;
    int                   name = 0, ncontent, small_cue;
    double                conf, thr;

    if (ni > MAX_INTENTS) {
        ni = MAX_INTENTS;
    }
    if (nt > MAX_TOPICS) {
        nt = MAX_TOPICS;
    }
    memset(knn, 0, sizeof(knn));
    memset(kws, 0, sizeof(kws));
    memset(tknn, 0, sizeof(tknn));
    memset(tkw, 0, sizeof(tkw));
    for (a = 0; a < AG__N; a++) {
        A[a] = 0;
    }

    /* ---- intents and topics: nearest examples ---- */
    nseg = (c->in->flags & CWAI_AGENT_HOLDOUT) ? segment_hashes(&c->m, seg, 16) : 0;
    nh = cwai_index_search(b->iix, &c->m.t, 0, hits, 24);
    for (i = 0; i < nh; i++) {
        const cwai_doc_t  *doc = cwai_index_doc(b->iix, hits[i].doc);
        int                skip = 0;

        for (j = 0; j < nseg; j++) {
            if (b->iix_hash[hits[i].doc] == seg[j]) {
                skip = 1;
            }
        }
        if (skip) {
            continue;
        }
        if (doc->kind == KI_EXAMPLE && (size_t) doc->ref < ni && hits[i].score > knn[doc->ref]) {
            knn[doc->ref] = hits[i].score;
        } else if (doc->kind == KI_TOPIC && (size_t) doc->ref < nt && hits[i].score > tknn[doc->ref]) {
            tknn[doc->ref] = hits[i].score;
        }
    }

    /* ---- keywords ---- */
    for (i = 0; i < b->nkw; i++) {
        const kw_t  *k = &b->kw[i];
        int          at;
        float        w;

        if (k->kind == KW_SYNONYM) {
            continue;
        }
        at = cwai_kw_find(&c->m, k);
        if (at < 0) {
            continue;
        }
        w = 0.22f + 0.12f * (float) (k->n - 1);
        if (k->n == 1 && c->m.t.tok[at].stop) {
            w = 0.08f;
        }
        if (k->kind == KW_INTENT && (size_t) k->owner < ni) {
            kws[k->owner] += w * (kws[k->owner] > 0 ? 0.5f : 1.0f);
        } else if (k->kind == KW_TOPIC && (size_t) k->owner < nt) {
            tkw[k->owner] += w * (tkw[k->owner] > 0 ? 0.5f : 1.0f);
        }
    }

    hf = health_factor(&c->m);
    for (i = 0; i < ni; i++) {
        float  kwv = kws[i] > 0.6f ? 0.6f : kws[i];

        is[i] = 0.7f * knn[i] + kwv + 0.002f * (float) d->intents[i].priority;
        if (is_health(d->intents[i].id)) {
            is[i] *= hf;
        }
        a = b->intent_agent[i];
        if (a >= 0 && is[i] > A[a]) {
            A[a] = is[i];
        }
    }
    bt = -1;
    for (i = 0; i < nt; i++) {
        float  kwv = tkw[i] > 0.6f ? 0.6f : tkw[i];

        ts[i] = 0.7f * tknn[i] + kwv;
        if (is_health(d->handoff.topics[i].id)) {
            ts[i] *= hf;
        }
        if (bt < 0 || ts[i] > ts[bt]) {
            bt = (int) i;
        }
    }
    if (bt >= 0 && ts[bt] > A[AG_HANDOFF]) {
        A[AG_HANDOFF] = ts[bt];
    }

    /* ---- retrieval evidence ---- */
    for (i = 0; i < (size_t) c->nprod; i++) {
        if (c->prod[i].context) {
            ctxonly++;
        } else {
            nonctx++;
        }
    }
    if (nonctx) {
        A[AG_SALES] += 0.35f;
    } else if (c->prod_need) {
        /* the domain's synonyms say these words mean a kind of product */
        A[AG_SALES] += 0.25f;
    } else if (c->prod_generic && c->nph > 0 && c->ph[0].score >= 0.25f) {
        A[AG_SALES] += 0.15f;
    }
    if (ctxonly && !nonctx) {
        A[AG_SUPPORT] += 0.1f;
    }
    sched_ent = c->ent.date.year != 0 || c->ent.time >= 0 || c->ent.daypart != 0;
    if (c->svc >= 0) {
        static const char  *const cues[] = {
            "marcar", "marca", "agendar", "agenda", "horario", "vaga", "reservar", "remarcar",
            "desmarcar", "fazer", NULL
        };
        int  cue = sched_ent || cwai_has_word(&c->m, cues) || c->ent.age >= 0;

        A[AG_SCHEDULING] += cue || !nonctx ? 0.3f : 0.12f;
        c->mixed_sched = cue;
    } else if (c->svc_ambiguous) {
        A[AG_SCHEDULING] += 0.1f;
    }
    if (c->prof >= 0) {
        A[AG_SCHEDULING] += 0.25f;
    }
    if (sched_ent && (c->svc >= 0 || c->sched.svc >= 0)) {
        A[AG_SCHEDULING] += 0.2f;
        if (c->last_agent == AG_SCHEDULING) {
            A[AG_SCHEDULING] += 0.2f;
        }
    }
    if (c->ent.age >= 0 && (c->svc >= 0 || c->sched.svc >= 0)) {
        A[AG_SCHEDULING] += 0.15f;
    }
    if (c->nkh > 0 && c->kh[0].score >= 0.2f) {
        const cwai_doc_t  *doc = cwai_index_doc(b->kix, c->kh[0].doc);
        int                ag = doc->kind == KX_RULE ? b->rule_agent[doc->ref] : b->faq_agent[doc->ref];

        A[ag] += 0.3f * c->kh[0].score;
    }
    if (c->personal) {
        A[AG_SUPPORT] += 0.2f;
    }
    if (c->ncart > 0 && !c->personal) {
        /* paying or shipping what was just quoted is part of the sale */
        static const char  *const pay[] = {
            "pix", "cartao", "parcela", "parcelado", "parcelar", "vezes", "frete", "boleto", NULL
        };
        size_t  t;
        int     nx = 0;

        for (t = 0; t < c->m.t.ntok; t++) {
            const cwai_tok_t  *k = &c->m.t.tok[t];

            nx |= k->kind == CWAI_TOK_MIXED && k->wlen >= 2 && k->wlen <= 3 && k->w[k->wlen - 1] == 'x';
        }
        if (nx || cwai_has_word(&c->m, pay)) {
            A[AG_SALES] += c->last_agent == AG_SALES ? 0.35f : 0.2f;
        }
    }

    /* ---- small talk only when nothing else is asked ---- */
    other_strong = 0;
    for (a = 0; a < AG__N; a++) {
        if (a != AG_SMALLTALK && A[a] >= 0.4f) {
            other_strong = 1;
        }
    }
    if (has_emoji_only(&c->m)) {
        A[AG_SMALLTALK] += 0.6f;
    }
    if (other_strong) {
        A[AG_SMALLTALK] *= 0.5f;
    }

    /* ---- the conversation ---- */
    ncontent = content_tokens(&c->m);
    {
        static const char  *const nice[] = {
            "legal", "adoro", "amo", "amei", "lindo", "linda", "maravilha", "maravilhosa",
            "top", "show", "otimo", "otima", "entendi", "aff", "risos", "haha", NULL
        };

        /* greetings, thanks and goodbyes in the languages the agent speaks,
         * whatever the domain's examples cover */
        static const char  *const social[] = {
            "oi", "ola", "hello", "hi", "hey", "hola", "buenas", "buenos", "obrigado", "valeu",
            "thanks", "thank", "gracias", "tchau", "bye", "adios", "beijos", "bjs", NULL
        };
        static const char  *const social2[] = {
            "bom dia", "boa tarde", "boa noite", "good morning", "good afternoon", "good evening",
            "ate mais", "ate logo", "hasta luego", "muchas gracias", NULL
        };
        int  soc = cwai_has_word(&c->m, social);

        for (i = 0; social2[i] && !soc; i++) {
            soc = cwai_has_phrase(&c->m, social2[i]);
        }
        small_cue = c->m.t.n_emoji > 0 || cwai_has_word(&c->m, nice) || soc;
        if (soc && !other_strong) {
            A[AG_SMALLTALK] += 0.2f;
        }
        for (i = 0; i < b->nkw && !small_cue; i++) {
            if (b->kw[i].kind == KW_INTENT && (size_t) b->kw[i].owner < ni
                && b->intent_agent[b->kw[i].owner] == AG_SMALLTALK && cwai_kw_find(&c->m, &b->kw[i]) >= 0)
            {
                small_cue = 1;
            }
        }
    }
    {
        static const char  *const ack[] = {
            "ok", "okay", "entendi", "beleza", "certo", "combinado", "aguardo", "aguardando",
            "esperar", "espero", "valeu", "tranquilo", NULL
        };
        int  is_ack = cwai_has_word(&c->m, ack);

        if ((small_cue || is_ack) && !other_strong && ncontent <= 8) {
            A[AG_SMALLTALK] += (small_cue ? 0.15f : 0.0f) + (is_ack ? 0.15f : 0.0f)
                               + (c->m.t.n_emoji > 1 ? 0.2f : 0.1f * (float) c->m.t.n_emoji);
            small_cue = 1;
        }
    }
    c->affirm = affirmative(&c->m);
    name = looks_like_name(c->in->text, c->in->len ? c->in->len : strlen(c->in->text));
    c->is_name = name;
    follow = c->m.t.ntok > 0 && strcmp(c->m.t.tok[0].w, "e") == 0;
    if (c->last_agent >= 0 && c->last_agent != AG_SMALLTALK) {
        float  top = 0;

        for (a = 0; a < AG__N; a++) {
            if (a != c->last_agent && A[a] > top) {
                top = A[a];
            }
        }
        if ((c->affirm || name) && (c->last_agent == AG_SCHEDULING || c->last_agent == AG_SALES)) {
            A[c->last_agent] += 0.5f;
            if (!cwai_has_phrase(&c->m, "obrigado") && !cwai_has_phrase(&c->m, "valeu")) {
                A[AG_SMALLTALK] *= 0.5f;
            }
        } else if (c->last_agent == AG_SCHEDULING && sched_ent && ncontent <= 3) {
            A[AG_SCHEDULING] += 0.5f;
        } else if (follow) {
            A[c->last_agent] += 0.25f;
        } else if (top < 0.45f && !small_cue) {
            A[c->last_agent] += 0.3f;
        }
        if (c->hist_handoff && c->last_agent == AG_HANDOFF && !small_cue) {
            A[AG_HANDOFF] += 0.4f;
        }
    }

    /* ---- decision ---- */
    a = AG_SMALLTALK;
    best = -1;
    second = 0;
    for (i = 0; i < AG__N; i++) {
        if (A[i] > best) {
            second = best < 0 ? 0 : best;
            best = A[i];
            a = (int) i;
        } else if (A[i] > second) {
            second = A[i];
        }
    }
    if (best < 0) {
        best = 0;
    }
#ifdef CWAI_DEBUG_ROUTER
    fprintf(stderr, "router: sales %.3f support %.3f sched %.3f handoff %.3f small %.3f\n",
            A[0], A[1], A[2], A[3], A[4]);
#endif
    conf = 1.0 - exp(-2.4 * best);
    {
        double  margin = (best - second) / 0.3;

        if (margin > 1) {
            margin = 1;
        }
        conf *= 0.8 + 0.2 * margin;
    }
    c->conf = conf;
    c->agent = a;
    c->smalltalk_only = !other_strong;
    c->mixed_sales = nonctx > 0;

    /* intent: the best of the chosen agent */
    c->intent = -1;
    c->iscore_best = 0;
    for (i = 0; i < ni; i++) {
        if (b->intent_agent[i] == a && (c->intent < 0 || is[i] > is[c->intent])) {
            c->intent = (int) i;
        }
    }
    if (c->intent >= 0) {
        c->iscore_best = is[c->intent];
        if (is[c->intent] < 0.15f) {
            c->intent = -1;
        }
    }
    c->intent_name = c->intent >= 0 ? d->intents[c->intent].id : "follow_up";
    c->topic = -1;
    if (a == AG_HANDOFF) {
        if (bt >= 0 && ts[bt] >= 0.25f
            && (c->intent < 0 || ts[bt] >= is[c->intent] - 0.05f
                || !is_human_request(d->handoff.topics[bt].id)))
        {
            c->topic = bt;
        }
        if (c->intent < 0 && c->topic >= 0) {
            c->intent_name = "handoff_topic";
        }
    }

    {
        /* a disabled agent is not routed to: its messages go to a person */
        const cwai_agent_t  *def = cwai_domain_agent(d, cwai_agent_names[a]);

        if (def && !def->enabled && a != AG_HANDOFF) {
            c->agent = AG_HANDOFF;
            c->intent = -1;
            c->intent_name = "agent_disabled";
            return;
        }
    }
    thr = d->handoff.confidence_threshold > 0 ? d->handoff.confidence_threshold : 0.5;
    if (c->conf < thr && a == AG_HANDOFF && !c->hist_handoff) {
        /* a weak guess at a handoff topic is no reason to name one */
        c->topic = -1;
        c->intent = -1;
        c->intent_name = "low_confidence";
    } else if (c->conf < thr && a != AG_HANDOFF && !(a == AG_SMALLTALK && c->m.t.ntok <= 3)) {
        c->agent = AG_HANDOFF;
        c->intent = -1;
        c->intent_name = "low_confidence";
    }
}

size_t
cwai_router_labels(const cwai_ctx_t *c, const char **labels, size_t n)
{
    size_t  i, k = n;

    if (c->intent >= 0) {
        const cwai_intent_t  *it = &c->d->intents[c->intent];

        for (i = 0; i < it->labels.n; i++) {
            add_label((cwai_ctx_t *) c, it->labels.v[i], labels, &k);
        }
    }
    if (c->topic >= 0) {
        const cwai_handoff_topic_t  *tp = &c->d->handoff.topics[c->topic];

        for (i = 0; i < tp->labels.n; i++) {
            add_label((cwai_ctx_t *) c, tp->labels.v[i], labels, &k);
        }
    }
    return k;
}
