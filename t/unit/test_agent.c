/*
 * The embedded agent on the cosmetics domain: every customer turn of
 * fixtures/store/conversations.json, with its history and the reference
 * "now", must route correctly (>= 90%) and price/policy/slot answers must
 * contain the expected facts. CWAI_AGENT_VERBOSE=1 prints every turn.
 */
#include "unit.h"
#include "cwai_agent.h"
#include "cwai_compose.h"
#include "cwai_locale.h"
#include "cwai_text.h"

#include <ctype.h>
#include <jansson.h>

#define UNIT_MIN_FACTS          58      /* of 75; the other 17 need order or loyalty data */
#define UNIT_MIN_FACTS_OWN      58      /* the agent's own replies as the history */
#define UNIT_MIN_FACTS_PROFILE  64      /* with the loyalty profile; 11 need order data */

static cwai_domain_t *
load_cosmetics(void)
{
    const char     *paths[] = { "../../domains/cosmetics.yaml" };
    cwai_err_t      err;
    cwai_domain_t  *d;

    memset(&err, 0, sizeof(err));
    d = cwai_domain_load(paths, 1, &err);
    ck_assert_msg(d != NULL, "cosmetics.yaml: %s %s", err.code ? err.code : "", err.detail);
    return d;
}

/* Lower case, no accents, single spaces, money as "r$<reais>,<cents>". */
static void
fact_norm(const char *s, char *out, size_t size)
{
    char    f[4096];
    size_t  n = cwai_text_fold(s, strlen(s), f, sizeof(f)), i = 0, o = 0;
    int     space = 0;

    while (i < n && o + 16 < size) {
        if (f[i] == 'r' && f[i + 1] == '$') {
            size_t  j = i + 2;
            char    digits[32];
            size_t  nd = 0;

            while (j < n && f[j] == ' ') {
                j++;
            }
            if (j < n && isdigit((unsigned char) f[j])) {
                while (j < n && nd < 20 && (isdigit((unsigned char) f[j])
                                            || (f[j] == '.' && j + 1 < n && isdigit((unsigned char) f[j + 1]))))
                {
                    if (f[j] != '.') {
                        digits[nd++] = f[j];
                    }
                    j++;
                }
                digits[nd] = '\0';
                if (j + 2 < n + 1 && f[j] == ',' && isdigit((unsigned char) f[j + 1])
                    && isdigit((unsigned char) f[j + 2]))
                {
                    o += (size_t) snprintf(out + o, size - o, "r$%s,%c%c", digits, f[j + 1], f[j + 2]);
                    j += 3;
                } else {
                    o += (size_t) snprintf(out + o, size - o, "r$%s,00", digits);
                }
                i = j;
                space = 0;
                continue;
            }
        }
        /* "2.890" -> "2890" */
        if (f[i] == '.' && i > 0 && isdigit((unsigned char) f[i - 1]) && i + 3 < n + 1
            && isdigit((unsigned char) f[i + 1]) && isdigit((unsigned char) f[i + 2])
            && isdigit((unsigned char) f[i + 3]) && !isdigit((unsigned char) f[i + 4]))
        {
            i++;
            continue;
        }
        if (isspace((unsigned char) f[i])) {
            if (!space && o > 0) {
                out[o++] = ' ';
            }
            space = 1;
            i++;
            continue;
        }
        space = 0;
        out[o++] = f[i++];
    }
    out[o] = '\0';
}

static int
has_fact(const char *reply, const char *fact)
{
    char  r[4096], f[256];

    fact_norm(reply, r, sizeof(r));
    fact_norm(fact, f, sizeof(f));
    return strstr(r, f) != NULL;
}

static int64_t
parse_now(const char *s)
{
    cwai_date_t  d;
    int          h, m, oh, om;
    char         sign;

    ck_assert_int_eq(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%*2d%c%2d:%2d", &d.year, &d.month, &d.day,
                            &h, &m, &sign, &oh, &om), 8);
    return cwai_local_to_unix(d, h * 60 + m, (sign == '-' ? -1 : 1) * (oh * 60 + om));
}

typedef struct {
    int  turns, routed_ok;
    int  facts, facts_ok;
    int  must_not_bad;
    int  handoffs;
} eval_t;

static const char *
ok_agents(json_t *turn, char *buf, size_t size)
{
    json_t  *acc = json_object_get(turn, "acceptable_agents");
    size_t   i, o = 0;

    o += (size_t) snprintf(buf, size, "%s", json_string_value(json_object_get(turn, "expected_agent")));
    for (i = 0; acc && i < json_array_size(acc) && o < size; i++) {
        o += (size_t) snprintf(buf + o, size - o, "|%s", json_string_value(json_array_get(acc, i)));
    }
    return buf;
}

static int
agent_ok(json_t *turn, const char *agent)
{
    json_t  *acc = json_object_get(turn, "acceptable_agents");
    size_t   i;

    if (strcmp(json_string_value(json_object_get(turn, "expected_agent")), agent) == 0) {
        return 1;
    }
    for (i = 0; acc && i < json_array_size(acc); i++) {
        if (strcmp(json_string_value(json_array_get(acc, i)), agent) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The customer's loyalty profile as the ERP would give it (customers.json). */
static int
profile_of(json_t *customers, json_t *conv, cwai_customer_t *out)
{
    json_t  *id = json_object_get(json_object_get(conv, "contact"), "customer_id");
    size_t   i;

    if (customers == NULL || !json_is_integer(id)) {
        return 0;
    }
    for (i = 0; i < json_array_size(customers); i++) {
        json_t  *cu = json_array_get(customers, i);

        if (json_integer_value(json_object_get(cu, "id")) == json_integer_value(id)) {
            memset(out, 0, sizeof(*out));
            out->name = json_string_value(json_object_get(cu, "name"));
            out->tier = json_string_value(json_object_get(cu, "loyalty_tier"));
            out->points = json_integer_value(json_object_get(cu, "loyalty_points"));
            return 1;
        }
    }
    return 0;
}

/* Runs every customer turn. own: the assistant turns of the history are the
 * agent's own replies (else the reference replies of the fixture).
 * customers: pass each known customer's profile (NULL: none). */
static void
run_all(const cwai_bot_t *b, json_t *convs, unsigned flags, int own, json_t *customers,
    int verbose, eval_t *ev)
{
    size_t  ci, ti, i;

    memset(ev, 0, sizeof(*ev));
    for (ci = 0; ci < json_array_size(convs); ci++) {
        json_t       *conv = json_array_get(convs, ci);
        json_t       *turns = json_object_get(conv, "turns");
        size_t        nt = json_array_size(turns);
        cwai_turn_t  *hist = calloc(nt + 1, sizeof(cwai_turn_t));
        char        **own_replies = calloc(nt + 1, sizeof(char *));
        const char  **agents = calloc(nt + 1, sizeof(char *));
        int64_t       now = parse_now(json_string_value(json_object_get(conv, "reference_now")));
        cwai_customer_t  prof;
        int           has_prof = profile_of(customers, conv, &prof);
        const char   *channel = json_string_value(json_object_get(conv, "channel"));

        if (verbose) {
            printf("== %s %s\n", json_string_value(json_object_get(conv, "id")),
                   json_string_value(json_object_get(conv, "title")));
        }
        for (ti = 0; ti < nt; ti++) {
            json_t              *turn = json_array_get(turns, ti);
            const char          *role = json_string_value(json_object_get(turn, "role"));
            cwai_agent_input_t   in;
            cwai_answer_t        a;
            json_t              *facts, *must_not;
            char                 buf[128];
            int                  ok, fok = 1;

            hist[ti].role = strcmp(role, "customer") == 0 ? CWAI_ROLE_CUSTOMER : CWAI_ROLE_ASSISTANT;
            hist[ti].text = json_string_value(json_object_get(turn, "text"));
            if (hist[ti].role == CWAI_ROLE_ASSISTANT) {
                hist[ti].agent = ti > 0 ? agents[ti - 1] : NULL;
                if (own && ti > 0 && own_replies[ti - 1]) {
                    hist[ti].text = own_replies[ti - 1];
                }
                continue;
            }
            memset(&in, 0, sizeof(in));
            in.text = hist[ti].text;
            in.channel = channel;
            in.now = now;
            in.history = hist;
            in.nhistory = ti;
            in.flags = flags;
            in.customer = has_prof ? &prof : NULL;
            ck_assert_int_eq(cwai_agent_answer(b, &in, &a), 0);
            ck_assert_ptr_nonnull(a.reply);
            agents[ti] = a.agent;           /* static strings */
            own_replies[ti] = strdup(a.reply);
            ev->turns++;
            ev->handoffs += a.handoff;
            ok = agent_ok(turn, a.agent);
            ev->routed_ok += ok;
            facts = json_object_get(turn, "expected_facts");
            for (i = 0; facts && i < json_array_size(facts); i++) {
                int  h = has_fact(a.reply, json_string_value(json_array_get(facts, i)));

                ev->facts++;
                ev->facts_ok += h;
                fok &= h;
            }
            must_not = json_object_get(turn, "must_not");
            for (i = 0; must_not && i < json_array_size(must_not); i++) {
                if (has_fact(a.reply, json_string_value(json_array_get(must_not, i)))) {
                    ev->must_not_bad++;
                }
            }
            if (verbose) {
                printf("  %s [%s] %-10s %-22s %.2f %s%s\n    > %s\n    < %s\n",
                       ok ? "ok " : "BAD", ok_agents(turn, buf, sizeof(buf)), a.agent,
                       a.intent ? a.intent : "-", a.confidence,
                       a.handoff ? "HANDOFF " : "", fok ? "" : "FACTS-MISSING", in.text, a.reply);
                for (i = 0; facts && i < json_array_size(facts); i++) {
                    const char  *f = json_string_value(json_array_get(facts, i));

                    if (!has_fact(a.reply, f)) {
                        printf("    missing fact: %s\n", f);
                    }
                }
            }
            cwai_answer_free(&a);
        }
        for (ti = 0; ti < nt; ti++) {
            free(own_replies[ti]);
        }
        free(own_replies);
        free(agents);
        free(hist);
    }
}

static json_t *
load_json(const char *path)
{
    size_t        len;
    char         *s = unit_read_file(path, &len);
    json_error_t  je;
    json_t       *j = json_loadb(s, len, 0, &je);

    free(s);
    ck_assert_msg(j != NULL, "%s: %s", path, je.text);
    return j;
}

START_TEST(conversations_accuracy)
{
    cwai_domain_t  *d = load_cosmetics();
    cwai_err_t      err;
    cwai_bot_t     *b;
    json_t         *convs = load_json("fixtures/store/conversations.json");
    json_t         *customers = load_json("fixtures/store/customers.json");
    eval_t          ev, ho, own, prof, pg;
    const char     *v = getenv("CWAI_AGENT_VERBOSE");
    int             vb = v ? atoi(v) : 0;

    memset(&err, 0, sizeof(err));
    b = cwai_agent_new(d, &err);
    ck_assert_msg(b != NULL, "%s", err.detail);

    /* 1: the fixture's history, intent examples as the domain has them
     * (it includes these very turns); 2: held out (examples equal to the
     * message or one of its bubbles are ignored); 3: held out, with the
     * agent's own replies as the assistant turns; 4: held out, with the
     * customer's loyalty profile as the ERP would give it; 5: the agent's
     * own replies, examples as the domain has them (what the playground
     * does: t/011-playground-conversations.t) */
    run_all(b, convs, 0, 0, NULL, vb == 1, &ev);
    run_all(b, convs, CWAI_AGENT_HOLDOUT, 0, NULL, vb == 2, &ho);
    run_all(b, convs, CWAI_AGENT_HOLDOUT, 1, NULL, vb == 3, &own);
    run_all(b, convs, CWAI_AGENT_HOLDOUT, 0, customers, vb == 4, &prof);
    run_all(b, convs, 0, 1, NULL, vb == 5, &pg);
    printf("agent: routing %d/%d = %.1f%%; held-out %d/%d = %.1f%%; held-out + own replies %.1f%%;"
           " held-out + profile %.1f%%\n",
           ev.routed_ok, ev.turns, 100.0 * ev.routed_ok / ev.turns,
           ho.routed_ok, ho.turns, 100.0 * ho.routed_ok / ho.turns,
           100.0 * own.routed_ok / own.turns, 100.0 * prof.routed_ok / prof.turns);
    printf("agent: expected facts %d/%d; held-out %d/%d; own replies %d/%d (not held out %d/%d);"
           " with profile %d/%d; must_not violations %d; handoffs %d\n",
           ev.facts_ok, ev.facts, ho.facts_ok, ho.facts, own.facts_ok, own.facts, pg.facts_ok, pg.facts,
           prof.facts_ok, prof.facts,
           ev.must_not_bad + own.must_not_bad + prof.must_not_bad + pg.must_not_bad, ev.handoffs);
    ck_assert_msg(ev.routed_ok * 10 >= ev.turns * 9, "routing accuracy below 90%%");
    ck_assert_msg(ho.routed_ok * 10 >= ho.turns * 9, "held-out routing accuracy below 90%%");
    ck_assert_msg(own.routed_ok * 10 >= own.turns * 9, "own-history routing accuracy below 90%%");
    ck_assert_msg(pg.routed_ok * 10 >= pg.turns * 9, "own-history (not held out) routing accuracy below 90%%");
    ck_assert_int_eq(ev.must_not_bad + ho.must_not_bad + own.must_not_bad + prof.must_not_bad
                     + pg.must_not_bad, 0);
    ck_assert_int_ge(ev.facts_ok, UNIT_MIN_FACTS);
    ck_assert_int_ge(ho.facts_ok, UNIT_MIN_FACTS);
    ck_assert_int_ge(own.facts_ok, UNIT_MIN_FACTS_OWN);
    ck_assert_int_ge(pg.facts_ok, UNIT_MIN_FACTS_OWN);
    ck_assert_int_ge(prof.facts_ok, UNIT_MIN_FACTS_PROFILE);
    json_decref(convs);
    json_decref(customers);
    cwai_agent_free(b);
    cwai_domain_free(d);
}
END_TEST

/* ---- behaviour of the API ---------------------------------------------------- */

static cwai_domain_t  *g_dom;
static cwai_bot_t     *g_bot;

static void
bot_setup(void)
{
    cwai_err_t  err;

    memset(&err, 0, sizeof(err));
    g_dom = load_cosmetics();
    g_bot = cwai_agent_new(g_dom, &err);
    ck_assert_msg(g_bot != NULL, "%s", err.detail);
}

static void
bot_teardown(void)
{
    cwai_agent_free(g_bot);
    cwai_domain_free(g_dom);
    g_bot = NULL;
    g_dom = NULL;
}

#define NOW_MON_10H  1796043600LL     /* 2026-11-30T10:00:00-03:00, a Monday */

static void
ask(const char *text, const char *channel, int64_t now, cwai_answer_t *a)
{
    cwai_agent_input_t  in;

    memset(&in, 0, sizeof(in));
    in.text = text;
    in.channel = channel;
    in.now = now;
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, a), 0);
    ck_assert_ptr_nonnull(a->reply);
}

static int
has_source(const cwai_answer_t *a, const char *id)
{
    size_t  i;

    for (i = 0; i < a->nsources; i++) {
        if (strcmp(a->sources[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(answer_json)
{
    cwai_answer_t  a;
    json_t        *j, *t;

    ask("quanto custa o sérum de vitamina c?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "sales");
    ck_assert(has_source(&a, "BP-SER-001"));
    ck_assert_msg(strstr(a.reply, "R$ 89,90") != NULL, "%s", a.reply);
    ck_assert(a.us.total > 0 && a.us.total >= a.us.route);
    j = cwai_answer_to_json(&a);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "reply")), a.reply);
    ck_assert_str_eq(json_string_value(json_object_get(j, "agent")), "sales");
    ck_assert(json_is_string(json_object_get(j, "intent")));
    ck_assert(json_is_real(json_object_get(j, "confidence")));
    ck_assert(json_is_array(json_object_get(j, "sources")));
    ck_assert(json_is_false(json_object_get(j, "handoff")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "language")), "pt-BR");
    t = json_object_get(j, "timings");
    ck_assert(json_is_real(json_object_get(t, "normalise_us")));
    ck_assert(json_is_real(json_object_get(t, "retrieve_us")));
    ck_assert(json_is_real(json_object_get(t, "route_us")));
    ck_assert(json_is_real(json_object_get(t, "compose_us")));
    ck_assert(json_is_real(json_object_get(t, "total_us")));
    json_decref(j);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(deterministic)
{
    cwai_answer_t  a, b;

    ask("oi, tem protetor solar pra pele oleosa?", "instagram", NOW_MON_10H, &a);
    ask("oi, tem protetor solar pra pele oleosa?", "instagram", NOW_MON_10H, &b);
    ck_assert_str_eq(a.reply, b.reply);
    ck_assert_str_eq(a.agent, b.agent);
    ck_assert(a.confidence == b.confidence);
    ck_assert_uint_eq(a.nsources, b.nsources);
    cwai_answer_free(&a);
    cwai_answer_free(&b);
}
END_TEST

START_TEST(languages)
{
    cwai_answer_t  a;

    ask("Hi there!", NULL, NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "smalltalk");
    ck_assert_str_eq(a.language, "en");
    ck_assert_msg(strncmp(a.reply, "Hi", 2) == 0, "%s", a.reply);
    cwai_answer_free(&a);
    ask("hola, buenas tardes", NULL, NOW_MON_10H, &a);
    ck_assert_str_eq(a.language, "es");
    ck_assert_msg(strstr(a.reply, "Hola") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
    ask("I want to talk to a human, please", NULL, NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "handoff");
    ck_assert_str_eq(a.language, "en");
    ck_assert_int_eq(a.handoff, 1);
    ck_assert_msg(strstr(a.reply, "team") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
    ask("quiero hablar con una persona", NULL, NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "handoff");
    ck_assert_str_eq(a.language, "es");
    ck_assert_msg(strstr(a.reply, "equipo") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(handoffs)
{
    cwai_answer_t  a;
    size_t         i;
    int            lab = 0;

    ask("quero falar com um atendente", "whatsapp", NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "handoff");
    ck_assert_int_eq(a.handoff, 1);
    ck_assert_str_eq(a.handoff_reason, "customer_request");
    for (i = 0; i < a.nlabels; i++) {
        lab |= strcmp(a.labels[i], "bot-handoff") == 0;
    }
    ck_assert(lab);
    cwai_answer_free(&a);
    ask("vou colocar vocês no procon", "whatsapp", NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "handoff");
    cwai_answer_free(&a);
    ask("passei o sérum e meu rosto inchou, está ardendo muito", "whatsapp", NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "handoff");
    ck_assert_msg(strstr(a.reply, "192") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
    /* nothing about the store: say so and hand off, invent nothing */
    ask("qual a capital da França?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_int_eq(a.handoff, 1);
    ck_assert_uint_eq(a.nsources, 0);
    ck_assert(strstr(a.reply, "R$") == NULL);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(support_and_tools)
{
    cwai_answer_t  a;

    ask("cadê meu pedido? ainda não chegou", "whatsapp", NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "support");
    ck_assert_int_eq(a.handoff, 1);
    ck_assert_str_eq(a.needs_tool, "customer_orders");
    cwai_answer_free(&a);
    ask("qual o valor mínimo pro frete grátis?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_msg(strstr(a.reply, "R$ 199,00") != NULL, "%s", a.reply);
    ck_assert(has_source(&a, "R-ENT-01") || has_source(&a, "FAQ-01"));
    cwai_answer_free(&a);
    ask("vocês entregam em Recife? quanto tempo demora?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_msg(strstr(a.reply, "5 a 9 dias") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(clock_and_hours)
{
    cwai_answer_t  a;

    /* a Sunday: the store is closed "hoje" */
    ask("vocês abrem hoje?", "whatsapp", NOW_MON_10H - 86400, &a);
    ck_assert_str_eq(a.agent, "support");
    ck_assert_msg(strstr(a.reply, "29/11") != NULL && strstr(a.reply, "fechad") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
    /* 24/12: special hours */
    ask("que horas vocês abrem dia 24?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_msg(strstr(a.reply, "14:00") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
    /* the same words on another day give another date */
    ask("tem horário de hidratação capilar amanhã?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_str_eq(a.agent, "scheduling");
    ck_assert_msg(strstr(a.reply, "15:30") != NULL, "%s", a.reply);      /* 01/12 */
    cwai_answer_free(&a);
    ask("tem horário de hidratação capilar amanhã?", "whatsapp", NOW_MON_10H + 86400, &a);
    ck_assert_msg(strstr(a.reply, "13:00") != NULL && strstr(a.reply, "02/12") != NULL, "%s", a.reply);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(channel_limits)
{
    cwai_answer_t  a;
    size_t         i, chars = 0;

    ask("oi", "sms", NOW_MON_10H, &a);                 /* sms: no emoji */
    for (i = 0; a.reply[i]; i++) {
        ck_assert((unsigned char) a.reply[i] != 0xf0);
    }
    cwai_answer_free(&a);
    ask("qual a política de troca de produto com defeito e de arrependimento e reembolso?", "sms",
        NOW_MON_10H, &a);
    for (i = 0; a.reply[i]; i++) {
        chars += ((unsigned char) a.reply[i] & 0xc0) != 0x80;
    }
    ck_assert_uint_le(chars, 480);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(customer_profile)
{
    cwai_agent_input_t  in;
    cwai_answer_t       a;
    cwai_customer_t     cu = { "Roberta", "prata", 2890 };

    memset(&in, 0, sizeof(in));
    in.text = "quantos pontos eu tenho?";
    in.now = NOW_MON_10H;
    in.customer = &cu;
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, &a), 0);
    ck_assert_msg(strstr(a.reply, "2.890") && strstr(a.reply, "R$ 140,00") && strstr(a.reply, "110"),
                  "%s", a.reply);
    ck_assert_int_eq(a.handoff, 0);
    cwai_answer_free(&a);
    in.customer = NULL;
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, &a), 0);
    ck_assert(strstr(a.reply, "2.890") == NULL);
    ck_assert_int_eq(a.handoff, 1);
    cwai_answer_free(&a);
}
END_TEST

/* Asks text after a history of alternating customer / assistant (sales)
 * turns. */
static void
ask_after(const char *const *hist, size_t nhist, const char *text, cwai_answer_t *a)
{
    cwai_turn_t         h[8];
    cwai_agent_input_t  in;
    size_t              i;

    ck_assert_uint_le(nhist, 8);
    memset(h, 0, sizeof(h));
    for (i = 0; i < nhist; i++) {
        h[i].role = i % 2 ? CWAI_ROLE_ASSISTANT : CWAI_ROLE_CUSTOMER;
        h[i].text = hist[i];
        h[i].agent = i % 2 ? "sales" : NULL;
    }
    memset(&in, 0, sizeof(in));
    in.text = text;
    in.channel = "whatsapp";
    in.now = NOW_MON_10H;
    in.history = h;
    in.nhistory = nhist;
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, a), 0);
    ck_assert_ptr_nonnull(a->reply);
}

START_TEST(recommendations_and_totals)
{
    static const char *const hair[] = {
        "meu cabelo ta caindo mt\noq vcs tem pra isso",
        "Indico o Shampoo Antiqueda 300ml (BP-SHA-034), por R$ 46,90. Também temos o Condicionador "
        "Antiqueda 300ml (BP-CON-035), por R$ 48,90."
    };
    static const char *const one[] = {
        "quanto custa o sérum de vitamina c?",
        "O Sérum Vitamina C 10% 30ml (BP-SER-001) custa R$ 89,90 e está disponível."
    };
    static const char *const skin[] = { "tenho pele seca e sensível" , "Oi! Como posso ajudar?" };
    cwai_answer_t  a;

    /* waterproof make-up: the balm, not the micellar water */
    ask_after(skin, 2, "e pra tirar maquiagem? uso rimel a prova dagua", &a);
    ck_assert_str_eq(a.agent, "sales");
    ck_assert_msg(strstr(a.reply, "Bálsamo Demaquilante") && !strstr(a.reply, "Micelar"), "%s", a.reply);
    cwai_answer_free(&a);

    /* "o que vocês têm pra X": the products that answer the need */
    ask("meu cabelo ta caindo mt, oq vcs tem pra isso?", "whatsapp", NOW_MON_10H, &a);
    ck_assert_msg(strstr(a.reply, "Shampoo Antiqueda") && strstr(a.reply, "Condicionador Antiqueda")
                  && strstr(a.reply, "Tônico Capilar"), "%s", a.reply);
    cwai_answer_free(&a);

    /* "os 3" with two quoted: the third product of the request completes it */
    ask_after(hair, 2, "quanto fica os 3 juntos?", &a);
    ck_assert_msg(strstr(a.reply, "R$ 185,70") && strstr(a.reply, "Tônico Capilar"), "%s", a.reply);
    cwai_answer_free(&a);

    /* "os 2" with only one: said, not silently summed */
    ask_after(one, 2, "quanto fica os 2?", &a);
    ck_assert_msg(strstr(a.reply, "só 1 produto") && strstr(a.reply, "R$ 89,90"), "%s", a.reply);
    cwai_answer_free(&a);

    /* instalments: as many as asked, up to the maximum and the minimum instalment */
    ask_after(one, 2, "parcela em 2 vezes?", &a);
    ck_assert_msg(strstr(a.reply, "2x") && strstr(a.reply, "R$ 44,95"), "%s", a.reply);
    cwai_answer_free(&a);
    ask_after(one, 2, "em 6x da?", &a);
    ck_assert_msg(strstr(a.reply, "Em 6x a parcela ficaria abaixo do mínimo de R$ 30,00")
                  && strstr(a.reply, "2x") && strstr(a.reply, "R$ 44,95"), "%s", a.reply);
    cwai_answer_free(&a);
    ask_after(one, 2, "e em 10x?", &a);
    ck_assert_msg(strstr(a.reply, "até 6x"), "%s", a.reply);
    cwai_answer_free(&a);
}
END_TEST

START_TEST(odd_input)
{
    cwai_agent_input_t  in;
    cwai_answer_t       a;
    char               *big = malloc(20001);

    memset(&in, 0, sizeof(in));
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, &a), -1);   /* no text */
    in.text = "";
    in.now = NOW_MON_10H;
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, &a), 0);
    ck_assert_ptr_nonnull(a.reply);
    cwai_answer_free(&a);
    in.text = "\xff\xfe\x80 ???";
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, &a), 0);
    cwai_answer_free(&a);
    memset(big, 'a', 20000);
    big[20000] = '\0';
    in.text = big;
    ck_assert_int_eq(cwai_agent_answer(g_bot, &in, &a), 0);
    cwai_answer_free(&a);
    free(big);
    ck_assert_ptr_null(cwai_agent_new(NULL, NULL));
}
END_TEST

CWAI_SUITE(agent)
{
    TCase  *tc, *api;
    Suite  *s = unit_suite("agent", &tc);

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conversations_accuracy);
    api = tcase_create("api");
    tcase_set_timeout(api, 60);
    tcase_add_unchecked_fixture(api, bot_setup, bot_teardown);
    tcase_add_test(api, answer_json);
    tcase_add_test(api, deterministic);
    tcase_add_test(api, languages);
    tcase_add_test(api, handoffs);
    tcase_add_test(api, support_and_tools);
    tcase_add_test(api, clock_and_hours);
    tcase_add_test(api, channel_limits);
    tcase_add_test(api, customer_profile);
    tcase_add_test(api, recommendations_and_totals);
    tcase_add_test(api, odd_input);
    suite_add_tcase(s, api);
    return s;
}
