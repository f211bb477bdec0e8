/* Domains: loading the shipped domains, merge semantics, the broken files
 * in t/fixtures/domains-broken (exact file:line:col), the skeleton of
 * "cwai domain new", and the date/money helpers.  Tests run from t/unit. */
#include "unit.h"
#include "cwai_domain.h"

#define BASE   "../../domains/base.yaml"
#define DOM(x) "../../domains/" x ".yaml"

static cwai_domain_t *
load_files(cwai_err_t *err, const char *a, const char *b, const char *c)
{
    const char  *paths[3];
    size_t       n = 0;

    paths[n++] = a;
    if (b) {
        paths[n++] = b;
    }
    if (c) {
        paths[n++] = c;
    }
    memset(err, 0, sizeof(*err));
    return cwai_domain_load(paths, n, err);
}

static cwai_date_t
date(int y, int m, int d)
{
    cwai_date_t  r = { y, m, d };

    return r;
}

/* ---- the shipped domains --------------------------------------------------- */

START_TEST(cosmetics_counts_and_values)
{
    cwai_err_t                  err;
    cwai_domain_t              *d = load_files(&err, BASE, DOM("cosmetics"), NULL);
    const cwai_product_t       *p;
    const cwai_service_t       *s;
    const cwai_rule_t          *r;
    const cwai_kv_t            *kv;
    const cwai_holiday_t       *h;
    const cwai_faq_t           *f;
    const cwai_intent_t        *in;
    const cwai_handoff_topic_t *t;
    const cwai_channel_t       *ch;
    const cwai_template_t      *tp;
    cwai_day_hours_t            dh;
    char                        money[32];

    ck_assert_msg(d != NULL, "%s", err.detail);
    ck_assert_str_eq(d->id, "cosmetics");
    ck_assert_str_eq(d->name, "Bela Pele Cosméticos");
    ck_assert_str_eq(d->language, "pt-BR");
    ck_assert_str_eq(d->timezone, "America/Sao_Paulo");
    ck_assert_str_eq(d->currency, "BRL");
    ck_assert_int_eq(d->has_utc_offset, 1);
    ck_assert_int_eq(d->utc_offset_minutes, -180);
    ck_assert_uint_eq(d->nproducts, 60);
    ck_assert_uint_eq(d->nservices, 12);
    ck_assert_uint_eq(d->nrules, 40);
    ck_assert_uint_eq(d->nfaqs, 30);
    ck_assert_uint_eq(d->nprofessionals, 7);
    ck_assert_uint_eq(d->nholidays, 7);
    ck_assert_uint_eq(d->availability.nslots, 94);
    ck_assert_uint_ge(d->nintents, 25);
    /* base.yaml was given explicitly and is also cosmetics' "extends": once */
    ck_assert_uint_eq(d->sources.n, 2);

    /* products */
    p = cwai_domain_product(d, "BP-SER-002");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->name, "Sérum Niacinamida 10% + Zinco 30ml");
    ck_assert_int_eq(p->price_cents, 6990);
    ck_assert_int_eq(p->promo_price_cents, -1);
    ck_assert_int_eq(p->stock, 52);
    ck_assert_int_eq(p->erp_id, 1002);
    ck_assert_int_eq(p->active, 1);
    kv = cwai_kvs_get(&p->attributes, "skin_types");
    ck_assert_ptr_nonnull(kv);
    ck_assert_int_eq(kv->type, CWAI_VAL_LIST);
    ck_assert_uint_eq(kv->items.n, 2);
    ck_assert_str_eq(kv->items.v[0], "oleosa");

    p = cwai_domain_product(d, "BP-SER-005");     /* promotion */
    ck_assert_int_eq(p->price_cents, 12990);
    ck_assert_int_eq(p->promo_price_cents, 10990);
    ck_assert_int_eq(cwai_date_cmp(p->promo_until, date(2026, 12, 31)), 0);
    ck_assert_int_eq(cwai_product_price_on(p, date(2026, 11, 30)), 10990);
    ck_assert_int_eq(cwai_product_price_on(p, date(2027, 1, 1)), 12990);

    p = cwai_domain_product(d, "BP-SER-003");     /* out of stock, restock date */
    ck_assert_int_eq(p->stock, 0);
    ck_assert_int_eq(cwai_date_cmp(p->restock_date, date(2026, 12, 10)), 0);

    ck_assert_int_eq(cwai_domain_product(d, "BP-ILU-033")->active, 0);
    ck_assert_int_eq(cwai_domain_product(d, "BP-BSP-055")->active, 0);

    p = cwai_domain_product(d, "BP-KIT-057");     /* kit components resolved */
    ck_assert_uint_eq(p->components.n, 3);
    ck_assert_ptr_eq(p->component_ptrs[1], cwai_domain_product(d, "BP-SER-002"));
    ck_assert_ptr_null(cwai_domain_product(d, "BP-NOPE-999"));

    /* services and professionals */
    s = cwai_domain_service(d, "SRV-08");
    ck_assert_str_eq(s->name, "Drenagem Linfática Corporal");
    ck_assert_int_eq(s->duration_minutes, 60);
    ck_assert_int_eq(s->price_cents, 14000);
    ck_assert_int_eq(s->package_sessions, 5);
    ck_assert_int_eq(s->package_price_cents, 60000);
    ck_assert_int_eq(s->package_valid_days, 60);
    ck_assert_uint_eq(s->professionals.n, 2);
    ck_assert_str_eq(s->professionals.v[0], "PRF-03");
    ck_assert_int_eq(cwai_domain_service(d, "SRV-07")->deposit_percent, 30);
    ck_assert_int_eq(cwai_domain_service(d, "SRV-12")->price_cents, 0);
    ck_assert_int_eq(cwai_domain_service(d, "SRV-02")->min_age, 16);
    ck_assert_int_eq(cwai_domain_professional(d, "PRF-01")->works_on,
                     (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6));

    /* hours, holidays, availability */
    ck_assert_uint_eq(d->hours.day[1].n, 1);                 /* monday */
    ck_assert_int_eq(d->hours.day[1].iv[0].open, 9 * 60);
    ck_assert_int_eq(d->hours.day[1].iv[0].close, 20 * 60);
    ck_assert_int_eq(d->hours.day[6].iv[0].close, 18 * 60);  /* saturday */
    ck_assert_uint_eq(d->hours.day[0].n, 0);                 /* sunday closed */
    ck_assert_int_eq(d->support_hours.set, 1);
    ck_assert_int_eq(d->support_hours.day[6].iv[0].close, 13 * 60);

    h = cwai_domain_holiday(d, date(2026, 12, 7));
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(h->name, "Inventário anual");
    ck_assert_int_eq(h->kind, CWAI_HOLIDAY_CLOSURE);
    ck_assert_int_eq(h->closed, 1);
    ck_assert_int_eq(cwai_domain_hours_on(d, date(2026, 12, 7), &dh, &h), 0);

    ck_assert_int_eq(cwai_domain_hours_on(d, date(2026, 12, 13), &dh, &h), 1);  /* special Sunday */
    ck_assert_int_eq(h->kind, CWAI_HOLIDAY_SPECIAL_HOURS);
    ck_assert_int_eq(h->services, 0);
    ck_assert_int_eq(dh.iv[0].open, 10 * 60);
    ck_assert_int_eq(dh.iv[0].close, 16 * 60);
    ck_assert_int_eq(cwai_domain_hours_on(d, date(2026, 12, 25), &dh, &h), 0);
    ck_assert_str_eq(h->name, "Natal");
    ck_assert_int_eq(cwai_domain_hours_on(d, date(2026, 12, 1), &dh, &h), 1);   /* plain Tuesday */
    ck_assert_ptr_null(h);

    ck_assert_uint_eq(d->availability.breaks.n, 1);
    ck_assert_int_eq(d->availability.breaks.iv[0].open, 12 * 60);
    ck_assert_int_eq(cwai_date_cmp(d->availability.slots_to, date(2026, 12, 14)), 0);
    ck_assert_str_eq(d->availability.slots[0].id, "SL-20261201-002");
    ck_assert_int_eq(d->availability.slots[0].start, 13 * 60);
    ck_assert_str_eq(d->availability.slots[0].service_ptr->name, "Avaliação de Pele");
    ck_assert_str_eq(d->availability.slots[0].professional_ptr->name, "Renata Oliveira");

    /* rules with figures, FAQs */
    r = cwai_domain_rule(d, "R-PAG-02");
    kv = cwai_kvs_get(&r->figures, "pix_discount_percent");
    ck_assert_int_eq(kv->type, CWAI_VAL_INT);
    ck_assert_int_eq(kv->integer, 5);
    kv = cwai_kvs_get(&cwai_domain_rule(d, "R-ENT-01")->figures, "free_shipping_min");
    ck_assert_int_eq(kv->type, CWAI_VAL_NUMBER);
    ck_assert_int_eq(kv->cents, 19900);
    kv = cwai_kvs_get(&cwai_domain_rule(d, "R-ENT-02")->figures, "days_grande_sp");
    ck_assert_int_eq(kv->type, CWAI_VAL_STRING);
    ck_assert_str_eq(kv->text, "1 a 2");
    kv = cwai_kvs_get(&cwai_domain_rule(d, "R-PRO-01")->figures, "coupon_code");
    ck_assert_str_eq(kv->text, "BEMVINDA10");
    ck_assert_ptr_nonnull(strstr(cwai_domain_rule(d, "R-TRO-01")->text, "7 dias corridos"));

    f = cwai_domain_faq(d, "FAQ-14");
    ck_assert_uint_eq(f->rules.n, 3);
    ck_assert_ptr_eq(f->rule_ptrs[2], cwai_domain_rule(d, "R-PAG-03"));
    ck_assert_uint_ge(f->variants.n, 2);

    /* intents (base + domain), templates, phrases */
    in = cwai_domain_intent(d, "price_query");
    ck_assert_str_eq(in->agent, "sales");
    ck_assert_ptr_eq(in->agent_ptr, cwai_domain_agent(d, "sales"));
    ck_assert_str_eq(in->examples.v[0], "vcs tem serum de niacinamida?\nqto ta");
    ck_assert_str_eq(cwai_domain_intent(d, "adverse_reaction")->agent, "handoff");
    ck_assert_str_eq(cwai_domain_intent(d, "payment_methods")->agent, "support");  /* from base */

    tp = cwai_domain_template(d, "price_promo");
    ck_assert_ptr_nonnull(strstr(cwai_template_text(tp, "pt-BR", d->language), "{promo_price}"));
    ck_assert_ptr_nonnull(strstr(cwai_template_text(tp, "es-MX", d->language), "promoción"));
    tp = cwai_domain_template(d, "greeting");  /* the domain's text merged over base's */
    ck_assert_ptr_eq(tp->intent_ptr, cwai_domain_intent(d, "greeting"));
    ck_assert_ptr_nonnull(strstr(cwai_template_text(tp, "pt-BR", d->language), "Oi! 😊"));

    ck_assert_ptr_nonnull(strstr(cwai_domain_phrase(d, "en-US", "handoff"), "member of our team"));
    ck_assert_ptr_nonnull(strstr(cwai_domain_phrase(d, "es", "greeting"), "¡Hola!"));
    ck_assert_ptr_nonnull(strstr(cwai_domain_phrase(d, "fr", "fallback"), "Não tenho certeza"));
    ck_assert_str_eq(d->persona.name, "Bela");
    ck_assert_int_eq(d->persona.formality, CWAI_FORMALITY_INFORMAL);
    ck_assert_uint_eq(d->persona.style.n, 5);               /* from base */

    /* handoff topics: base's merged with the domain's additions */
    t = cwai_domain_handoff_topic(d, "medical_risk");
    ck_assert_int_eq(t->priority, CWAI_PRIORITY_URGENT);
    ck_assert_uint_eq(t->rules.n, 3);
    ck_assert_ptr_eq(t->rule_ptrs[0], cwai_domain_rule(d, "R-ATE-04"));
    ck_assert_ptr_nonnull(cwai_domain_handoff_topic(d, "resale"));
    ck_assert_double_eq_tol(d->handoff.confidence_threshold, 0.55, 1e-9);

    ch = cwai_domain_channel(d, "whatsapp");
    ck_assert_int_eq(ch->markup, CWAI_MARKUP_WHATSAPP);
    ck_assert_int_eq(ch->max_length, 4096);
    ck_assert_int_eq(cwai_domain_channel(d, "email")->markup, CWAI_MARKUP_HTML);
    ck_assert_int_eq(cwai_domain_tool(d, "customer_orders")->backend, CWAI_TOOL_ODOO);
    ck_assert_str_eq(cwai_domain_tool(d, "customer_orders")->model, "sale.order");
    ck_assert_uint_ge(d->nsynonyms, 10);

    cwai_domain_format_money(d, 10716, money, sizeof(money));
    ck_assert_str_eq(money, "R$ 107,16");
    cwai_domain_free(d);
}
END_TEST

START_TEST(other_domains_load)
{
    static const struct {
        const char  *file;
        const char  *id;
        size_t       min_items;        /* products + services */
    } doms[] = {
        { DOM("healthcare"), "healthcare", 20 },
        { DOM("retail"), "retail", 20 },
        { DOM("services"), "services", 20 },
    };
    cwai_err_t      err;
    cwai_domain_t  *d;
    size_t          i;

    for (i = 0; i < sizeof(doms) / sizeof(doms[0]); i++) {
        /* alone (they extend base.yaml) and with base.yaml given first */
        d = load_files(&err, doms[i].file, NULL, NULL);
        ck_assert_msg(d != NULL, "%s", err.detail);
        cwai_domain_free(d);
        d = load_files(&err, BASE, doms[i].file, NULL);
        ck_assert_msg(d != NULL, "%s", err.detail);
        ck_assert_str_eq(d->id, doms[i].id);
        ck_assert_uint_ge(d->nproducts + d->nservices, doms[i].min_items);
        ck_assert_uint_ge(d->nrules + d->nfaqs, 30);
        ck_assert_uint_ge(d->nintents, 15);
        ck_assert_ptr_nonnull(cwai_domain_phrase(d, "en", "greeting"));
        ck_assert_ptr_nonnull(cwai_domain_phrase(d, "es", "handoff"));
        cwai_domain_free(d);
    }

    d = load_files(&err, DOM("healthcare"), NULL, NULL);
    ck_assert_int_eq(cwai_domain_agent(d, "sales")->enabled, 0);
    ck_assert_ptr_null(cwai_domain_intent(d, "stock_query"));     /* deleted by null */
    ck_assert_ptr_null(cwai_domain_template(d, "out_of_stock"));
    ck_assert_str_eq(cwai_domain_intent(d, "price_query")->agent, "scheduling");
    ck_assert_int_eq(cwai_domain_service(d, "SRV-CAR")->price_cents, 38000);
    ck_assert_int_eq(cwai_domain_service(d, "SRV-LAB")->price_from, 1);
    ck_assert_int_eq(d->persona.emoji, CWAI_EMOJI_NONE);
    ck_assert_int_eq(cwai_domain_handoff_topic(d, "emergency")->priority, CWAI_PRIORITY_URGENT);
    cwai_domain_free(d);

    d = load_files(&err, DOM("retail"), NULL, NULL);
    ck_assert_int_eq(cwai_domain_agent(d, "scheduling")->enabled, 0);
    ck_assert_str_eq(cwai_kvs_get(&cwai_domain_product(d, "AUR-ELE-006")->attributes,
                                  "voltage")->text, "127V");
    ck_assert_int_eq(cwai_domain_product(d, "AUR-ELE-013")->active, 0);
    cwai_domain_free(d);

    d = load_files(&err, DOM("services"), NULL, NULL);
    ck_assert_int_eq(cwai_domain_service(d, "SRV-LIM-15")->package_price_cents, 80000);
    ck_assert_uint_eq(cwai_domain_service(d, "SRV-LIM-15")->professionals.n, 2);
    cwai_domain_free(d);
}
END_TEST

START_TEST(tenant_override)
{
    cwai_err_t      err;
    cwai_domain_t  *d = load_files(&err, BASE, DOM("cosmetics"), DOM("tenants/example-override"));

    ck_assert_msg(d != NULL, "%s", err.detail);
    ck_assert_uint_eq(d->sources.n, 3);
    ck_assert_str_eq(d->id, "cosmetics-moema");                     /* scalar replaced */
    ck_assert_str_eq(d->contact.whatsapp, "+5511955550177");         /* map merged ... */
    ck_assert_str_eq(d->contact.email, "contato@bellapele.example"); /* ... rest kept */
    ck_assert_int_eq(d->hours.day[6].iv[0].open, 10 * 60);          /* saturday replaced */
    ck_assert_int_eq(d->hours.day[1].iv[0].close, 20 * 60);         /* monday inherited */
    ck_assert_uint_eq(d->hours.day[0].n, 1);                        /* sunday now open */
    ck_assert_uint_eq(d->nholidays, 2);                             /* list replaced */
    ck_assert_ptr_null(cwai_domain_holiday(d, date(2026, 12, 7)));
    ck_assert_ptr_null(cwai_domain_handoff_topic(d, "exception_request"));   /* null deletes */
    ck_assert_ptr_nonnull(cwai_domain_handoff_topic(d, "resale"));
    ck_assert_ptr_null(cwai_domain_intent(d, "resale"));
    ck_assert_str_eq(d->handoff.team, "atendimento-moema");
    ck_assert_int_eq(cwai_domain_channel(d, "instagram")->max_length, 800);
    ck_assert_int_eq(cwai_domain_channel(d, "instagram")->markup, CWAI_MARKUP_PLAIN);
    ck_assert_int_eq(d->persona.emoji, CWAI_EMOJI_LIGHT);
    ck_assert_str_eq(d->persona.name, "Bela");
    ck_assert_ptr_nonnull(strstr(cwai_domain_phrase(d, "pt-BR", "greeting"), "Moema"));
    ck_assert_ptr_nonnull(strstr(cwai_domain_phrase(d, "pt-BR", "fallback"), "Não tenho"));
    ck_assert_uint_eq(d->nproducts, 60);
    cwai_domain_free(d);

    /* the override alone pulls in cosmetics.yaml and base.yaml */
    d = load_files(&err, DOM("tenants/example-override"), NULL, NULL);
    ck_assert_msg(d != NULL, "%s", err.detail);
    ck_assert_uint_eq(d->sources.n, 3);
    ck_assert_str_eq(d->id, "cosmetics-moema");
    cwai_domain_free(d);
}
END_TEST

/* ---- merge semantics on small in-memory layers ------------------------------ */

static const char  L1[] =
    "version: 1\n"
    "domain:\n"
    "  id: mini\n"
    "  name: Mini\n"
    "  language: pt-BR\n"
    "  timezone: America/Sao_Paulo\n"
    "  currency: BRL\n"
    "  contact: {email: a@example.com, phone: \"+551100000000\"}\n"
    "persona: {name: Ana, style: [a, b, c]}\n"
    "i18n:\n"
    "  pt-BR: {greeting: Oi, farewell: Tchau, handoff: Humano, fallback: Não sei}\n"
    "hours:\n"
    "  weekly: &week {monday: \"09:00-18:00\", tuesday: \"09:00-18:00\"}\n"
    "  support: *week\n"
    "agents: {sales: {name: Vendas}, support: {name: Suporte}}\n"
    "intents:\n"
    "  buy: {agent: sales, keywords: [comprar]}\n"
    "  help: {agent: support, keywords: [ajuda]}\n"
    "rules:\n"
    "  - {id: R-1, title: A, text: a}\n"
    "  - {id: R-2, title: B, text: b}\n";

static const char  L2[] =
    "domain: {name: Mini Loja, contact: {phone: \"+551199999999\"}}\n"
    "persona: {style: [z]}\n"
    "hours:\n"
    "  weekly: {tuesday: closed, saturday: [\"08:00-12:00\", \"13:00-14:00\"]}\n"
    "intents:\n"
    "  help: null\n"
    "  buy: {keywords: [levar, comprar]}\n"
    "rules:\n"
    "  - {id: R-9, title: Z, text: z}\n";

START_TEST(merge_semantics)
{
    cwai_err_t          err;
    cwai_domain_t      *d;
    cwai_domain_src_t   src[2] = {
        { "layer1.yaml", L1, sizeof(L1) - 1 },
        { "layer2.yaml", L2, sizeof(L2) - 1 },
    };

    memset(&err, 0, sizeof(err));
    d = cwai_domain_load_mem(src, 1, &err);
    ck_assert_msg(d != NULL, "%s", err.detail);
    ck_assert_uint_eq(d->nintents, 2);
    ck_assert_uint_eq(d->support_hours.day[2].n, 1);       /* the alias */
    ck_assert_uint_eq(d->languages.n, 1);                  /* defaults to [language] */
    cwai_domain_free(d);

    d = cwai_domain_load_mem(src, 2, &err);
    ck_assert_msg(d != NULL, "%s", err.detail);
    ck_assert_str_eq(d->name, "Mini Loja");                /* scalar replaces */
    ck_assert_str_eq(d->id, "mini");                       /* untouched key kept */
    ck_assert_str_eq(d->contact.phone, "+551199999999");   /* maps merge */
    ck_assert_str_eq(d->contact.email, "a@example.com");
    ck_assert_uint_eq(d->persona.style.n, 1);              /* lists replace */
    ck_assert_str_eq(d->persona.style.v[0], "z");
    ck_assert_uint_eq(d->hours.day[1].n, 1);               /* monday kept */
    ck_assert_uint_eq(d->hours.day[2].n, 0);               /* tuesday closed */
    ck_assert_uint_eq(d->hours.day[6].n, 2);               /* saturday added, 2 ranges */
    ck_assert_int_eq(d->hours.day[6].iv[1].open, 13 * 60);
    ck_assert_uint_eq(d->nintents, 1);                     /* null deletes */
    ck_assert_ptr_null(cwai_domain_intent(d, "help"));
    ck_assert_uint_eq(cwai_domain_intent(d, "buy")->keywords.n, 2);
    ck_assert_str_eq(cwai_domain_intent(d, "buy")->agent, "sales");
    ck_assert_uint_eq(d->nrules, 1);
    ck_assert_str_eq(d->rules[0].id, "R-9");
    ck_assert_str_eq(d->sources.v[1], "layer2.yaml");
    cwai_domain_free(d);
}
END_TEST

START_TEST(errors_name_the_layer)
{
    static const char   bad2[] = "hours:\n  weekly:\n    friday: \"18:00-09:00\"\n";
    static const char   bad1[] = "version: 2\n";
    cwai_err_t          err;
    cwai_domain_src_t   src[2] = {
        { "layer1.yaml", L1, sizeof(L1) - 1 },
        { "tenant.yaml", bad2, sizeof(bad2) - 1 },
    };

    memset(&err, 0, sizeof(err));
    ck_assert_ptr_null(cwai_domain_load_mem(src, 2, &err));
    ck_assert_str_eq(err.detail,
                     "tenant.yaml:3:13: hours.weekly.friday: \"18:00-09:00\" closes before it opens");
    ck_assert_str_eq(err.code, "domain_schema");

    src[1].name = "v.yaml";
    src[1].data = bad1;
    src[1].len = sizeof(bad1) - 1;
    ck_assert_ptr_null(cwai_domain_load_mem(src, 2, &err));
    ck_assert_str_eq(err.detail, "v.yaml:1:10: version: 2 is out of range (1 to 1)");

    /* a missing required key is reported where the map was last written */
    src[1].name = "p.yaml";
    src[1].data = "persona: {name: null}\n";
    src[1].len = strlen(src[1].data);
    ck_assert_ptr_null(cwai_domain_load_mem(src, 2, &err));
    ck_assert_str_eq(err.detail, "p.yaml:1:10: persona: missing required key \"name\"");

    /* a base alone is not a domain */
    ck_assert_ptr_null(load_files(&err, BASE, NULL, NULL));
    ck_assert_ptr_nonnull(strstr(err.detail, "base.yaml:"));
    ck_assert_ptr_nonnull(strstr(err.detail, "domain: missing required key \"id\""));

    ck_assert_ptr_null(load_files(&err, "../fixtures/domains-broken/no-such-file.yaml", NULL, NULL));
    ck_assert_str_eq(err.code, "domain_io");
    ck_assert_ptr_nonnull(strstr(err.detail, "no-such-file.yaml: cannot read"));
}
END_TEST

/* ---- broken files ----------------------------------------------------------- */

static const struct {
    const char  *file;
    const char  *where;          /* file:line:col */
    const char  *what;           /* fragment of the message */
    const char  *code;
} broken[] = {
    { "yaml-syntax", "yaml-syntax.yaml:14:10",
      "YAML syntax error: did not find expected ',' or ']'", "domain_syntax" },
    { "unknown-key", "unknown-key.yaml:14:5",
      "unknown key \"pirce\" in products[0]; did you mean \"price\"?", "domain_schema" },
    { "unknown-section", "unknown-section.yaml:11:1",
      "unknown section \"product\"; did you mean \"products\"?", "domain_schema" },
    { "unknown-channel", "unknown-channel.yaml:12:3",
      "unknown key \"whatsap\" in channels; did you mean \"whatsapp\"?", "domain_schema" },
    { "wrong-type-amount", "wrong-type-amount.yaml:14:12",
      "products[0].price: expected an amount such as 69.90 (a dot for decimals), got a string \"69,90\"",
      "domain_schema" },
    { "wrong-type-integer", "wrong-type-integer.yaml:14:23",
      "services[0].duration_minutes: expected an integer, got a string \"noventa\"", "domain_schema" },
    { "missing-required", "missing-required.yaml:12:5",
      "products[0]: missing required key \"name\"", "domain_schema" },
    { "dangling-agent", "dangling-agent.yaml:13:12",
      "intents.price_check.agent: unknown agent \"vendas\" (known: sales, support, scheduling, handoff, smalltalk)",
      "domain_reference" },
    { "dangling-template-intent", "dangling-template-intent.yaml:13:13",
      "templates.price_text.intent: unknown intent \"price_qery\"; did you mean \"price_query\"?",
      "domain_reference" },
    { "dangling-kit-sku", "dangling-kit-sku.yaml:18:23",
      "products[1].components[1]: unknown product sku \"P-9\"", "domain_reference" },
    { "dangling-faq-rule", "dangling-faq-rule.yaml:19:13",
      "faqs[0].rules[0]: unknown rule \"R-2\"", "domain_reference" },
    { "bad-label-ref", "bad-label-ref.yaml:15:14",
      "intents.price_check.labels[0]: unknown label \"precos\"; did you mean \"preco\"?",
      "domain_reference" },
    { "slot-wrong-professional", "slot-wrong-professional.yaml:28:96",
      "availability.slots[1].professional: \"PRF-1\" does not perform service \"S-2\"",
      "domain_reference" },
    { "duplicate-sku", "duplicate-sku.yaml:18:10",
      "products[2].sku: duplicate product sku \"P-1\" (first at ", "domain_reference" },
    { "duplicate-key", "duplicate-key.yaml:15:5",
      "duplicate key \"price\" (first at line 14, column 5)", "domain_schema" },
    { "negative-price", "negative-price.yaml:15:12",
      "services[0].price: -5.00 must not be negative", "domain_schema" },
    { "promo-not-below", "promo-not-below.yaml:15:18",
      "products[0].promo_price: 69.90 is not below the price 59.90", "domain_schema" },
    { "bad-time", "bad-time.yaml:14:12",
      "holidays[0].hours: bad time range \"09:00-25:00\"", "domain_schema" },
    { "overlapping-hours", "overlapping-hours.yaml:10:29",
      "hours.weekly.monday[1]: \"11:30-18:00\" overlaps another range", "domain_schema" },
    { "bad-date", "bad-date.yaml:12:11",
      "holidays[0].date: bad date \"2026-02-30\"", "domain_schema" },
    { "bad-timezone", "bad-timezone.yaml:6:13",
      "domain.timezone: bad timezone \"GMT-3\"", "domain_schema" },
    { "bad-enum", "bad-enum.yaml:13:13",
      "channels.whatsapp.markup: unknown value \"markdwn\"; did you mean \"markdown\"?",
      "domain_schema" },
    { "bad-placeholder", "bad-placeholder.yaml:14:14",
      "templates.price.text.pt-BR: bad placeholder at \"{ product}", "domain_schema" },
    { "missing-language", "missing-language.yaml:6:13",
      "domain.language: no i18n phrases for \"fr\" (i18n has: pt-BR, en, es)", "domain_schema" },
    { "extends-missing", "extends-missing.yaml:2:39",
      "extends: cannot read \"../fixtures/domains-broken/nope.yaml\"", "domain_io" },
    { "cycle-a", "cycle-b.yaml:2:10",
      "extends: \"../fixtures/domains-broken/cycle-a.yaml\" extends itself (a cycle)",
      "domain_schema" },
};

START_TEST(broken_files)
{
    cwai_err_t       err;
    cwai_domain_t   *d;
    char             path[256], where[256];
    size_t           i = (size_t) _i;

    snprintf(path, sizeof(path), "../fixtures/domains-broken/%s.yaml", broken[i].file);
    snprintf(where, sizeof(where), "../fixtures/domains-broken/%s: ", broken[i].where);
    d = load_files(&err, path, NULL, NULL);
    ck_assert_msg(d == NULL, "%s loaded", path);
    ck_assert_msg(strncmp(err.detail, where, strlen(where)) == 0,
                  "%s: want \"%s...\", got \"%s\"", broken[i].file, where, err.detail);
    ck_assert_msg(strstr(err.detail, broken[i].what) != NULL,
                  "%s: want \"%s\" in \"%s\"", broken[i].file, broken[i].what, err.detail);
    ck_assert_str_eq(err.code, broken[i].code);
}
END_TEST

/* ---- cwai domain new --------------------------------------------------------- */

START_TEST(skeleton_loads)
{
    cwai_err_t          err;
    cwai_domain_t      *d;
    char               *text, slug[64];
    cwai_domain_src_t   src;

    cwai_domain_slugify("Escola de Inglês Maple!", slug, sizeof(slug));
    ck_assert_str_eq(slug, "escola-de-ingles-maple");
    cwai_domain_slugify("  Clínica São João  ", slug, sizeof(slug));
    ck_assert_str_eq(slug, "clinica-sao-joao");
    cwai_domain_slugify("education", slug, sizeof(slug));
    ck_assert_str_eq(slug, "education");

    /* self-contained */
    memset(&err, 0, sizeof(err));
    text = cwai_domain_skeleton("Escola de Inglês Maple", "Escola de idiomas \"Maple\" em Curitiba",
                                NULL, 2026, &err);
    ck_assert_msg(text != NULL, "%s", err.detail);
    src.name = "education.yaml";
    src.data = text;
    src.len = strlen(text);
    d = cwai_domain_load_mem(&src, 1, &err);
    ck_assert_msg(d != NULL, "%s\n%s", err.detail, text);
    ck_assert_str_eq(d->id, "escola-de-ingles-maple");
    ck_assert_str_eq(d->name, "Escola de Inglês Maple");
    ck_assert_str_eq(d->description, "Escola de idiomas \"Maple\" em Curitiba");
    ck_assert_uint_eq(d->nrules, 2);
    ck_assert_uint_eq(d->nfaqs, 1);
    ck_assert_ptr_nonnull(cwai_domain_holiday(d, date(2026, 12, 25)));
    cwai_domain_free(d);
    free(text);

    /* extending base.yaml (path relative to the new file's directory) */
    text = cwai_domain_skeleton("education", "Cursos livres", "../../domains/base.yaml", 2027, &err);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "extends: \"../../domains/base.yaml\""));
    src.name = "education.yaml";
    src.data = text;
    src.len = strlen(text);
    d = cwai_domain_load_mem(&src, 1, &err);
    ck_assert_msg(d != NULL, "%s", err.detail);
    ck_assert_str_eq(d->id, "education");
    ck_assert_uint_ge(d->nintents, 10);                     /* base's intents too */
    ck_assert_uint_eq(d->sources.n, 2);
    cwai_domain_free(d);
    free(text);

    ck_assert_ptr_null(cwai_domain_skeleton("???", "x", NULL, 2026, &err));
}
END_TEST

/* ---- helpers ------------------------------------------------------------------ */

START_TEST(dates_times_money)
{
    cwai_date_t     dt;
    int             m;
    char            buf[32];
    cwai_domain_t   fake;

    ck_assert_int_eq(cwai_date_parse("2026-11-30", &dt), 0);
    ck_assert_int_eq(cwai_date_weekday(dt), 1);            /* Monday */
    ck_assert_int_eq(cwai_date_weekday(date(1970, 1, 1)), 4);
    ck_assert_int_eq(cwai_date_weekday(date(1969, 12, 28)), 0);
    ck_assert_int_eq(cwai_date_parse("2028-02-29", &dt), 0);
    ck_assert_int_eq(cwai_date_parse("2026-02-29", &dt), -1);
    ck_assert_int_eq(cwai_date_parse("2026-13-01", &dt), -1);
    ck_assert_int_eq(cwai_date_parse("26-11-30", &dt), -1);
    dt = cwai_date_from_days(cwai_date_to_days(date(2026, 12, 31)) + 1);
    ck_assert_int_eq(cwai_date_cmp(dt, date(2027, 1, 1)), 0);

    ck_assert_int_eq(cwai_time_parse("24:00", &m), 0);
    ck_assert_int_eq(m, 1440);
    ck_assert_int_eq(cwai_time_parse("18:30", &m), 0);
    ck_assert_int_eq(m, 1110);
    ck_assert_int_eq(cwai_time_parse("25:00", &m), -1);
    ck_assert_int_eq(cwai_time_parse("24:01", &m), -1);
    ck_assert_int_eq(cwai_time_parse("9:00", &m), -1);

    memset(&fake, 0, sizeof(fake));
    fake.currency = "BRL";
    fake.language = "pt-BR";
    cwai_domain_format_money(&fake, 123456, buf, sizeof(buf));
    ck_assert_str_eq(buf, "R$ 1.234,56");
    cwai_domain_format_money(&fake, 5, buf, sizeof(buf));
    ck_assert_str_eq(buf, "R$ 0,05");
    cwai_domain_format_money(&fake, -1990, buf, sizeof(buf));
    ck_assert_str_eq(buf, "-R$ 19,90");
    fake.currency = "USD";
    fake.language = "en";
    cwai_domain_format_money(&fake, 123456789, buf, sizeof(buf));
    ck_assert_str_eq(buf, "US$ 1,234,567.89");
    ck_assert_uint_eq(cwai_domain_format_money(&fake, 100, buf, 6), 5);
    ck_assert_str_eq(buf, "US$ 1");
}
END_TEST

CWAI_SUITE(domain)
{
    TCase  *tc;
    Suite  *s = unit_suite("domain", &tc);

    tcase_add_test(tc, cosmetics_counts_and_values);
    tcase_add_test(tc, other_domains_load);
    tcase_add_test(tc, tenant_override);
    tcase_add_test(tc, merge_semantics);
    tcase_add_test(tc, errors_name_the_layer);
    tcase_add_loop_test(tc, broken_files, 0, (int) (sizeof(broken) / sizeof(broken[0])));
    tcase_add_test(tc, skeleton_loads);
    tcase_add_test(tc, dates_times_money);
    return s;
}
