/*
 * ngx_chatwootai core: the domain schema.  Walks the merged YAML tree
 * section by section, validates every key (unknown keys, types, ranges,
 * required fields, duplicate ids, references between sections) and fills
 * cwai_domain_t.  docs/domains.md documents the same schema for people.
 */
#include "cwai_domain_int.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define E_SCHEMA  "domain_schema"
#define E_REF     "domain_reference"

/* ---- helpers ------------------------------------------------------------------ */

static size_t
count_set(const cwai_ynode_t *map)
{
    size_t  i, n = 0;

    for (i = 0; i < map->n; i++) {
        n += map->vals[i]->type != CWAI_YNULL;
    }
    return n;
}

static void *
alloc_array(cwai_conv_t *c, size_t n, size_t size)
{
    return cwai_arena_alloc(c->a, (n ? n : 1) * size);
}

static int
ref_error(cwai_conv_t *c, const cwai_ynode_t *at, const char *path, const char *what,
    const char *id, const char *const *known, size_t n)
{
    const char  **arr = alloc_array(c, n + 1, sizeof(char *));
    const char   *near;
    char          list[200];
    size_t        i;

    for (i = 0; i < n; i++) {
        arr[i] = known[i];
    }
    arr[n] = NULL;
    near = cv_nearest(id, arr);
    if (n == 0) {
        cwai_yerr(c->err, E_REF, at, "%s: unknown %s \"%s\" (none is defined)", path, what, id);
    } else if (near) {
        cwai_yerr(c->err, E_REF, at, "%s: unknown %s \"%s\"; did you mean \"%s\"?",
                  path, what, id, near);
    } else {
        cv_join(list, sizeof(list), arr, n);
        cwai_yerr(c->err, E_REF, at, "%s: unknown %s \"%s\" (known: %s)", path, what, id, list);
    }
    return -1;
}

/* the ids of an array of structs, for ref_error() */
static const char *const *
known_ids(cwai_conv_t *c, const void *arr, size_t n, size_t stride, size_t offset)
{
    const char  **k = alloc_array(c, n, sizeof(char *));
    size_t        j;

    for (j = 0; j < n; j++) {
        memcpy(&k[j], (const char *) arr + j * stride + offset, sizeof(char *));
    }
    return k;
}

#define KNOWN(arr, n, field)                                                  \
    known_ids(c, (arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), field))

/* items[i].key must differ from items[0..i-1].key */
static int
dup_check(cwai_conv_t *c, const cwai_ynode_t *seq, size_t i, const char *key,
    const char *path, const char *what)
{
    const cwai_ynode_t  *v = cv_get(seq->vals[i], key), *w;
    char                 p[CV_PATH];
    size_t               j;

    if (v == NULL || v->type != CWAI_YSCALAR) {
        return 0;
    }
    for (j = 0; j < i; j++) {
        w = cv_get(seq->vals[j], key);
        if (w && w->type == CWAI_YSCALAR && strcmp(w->str, v->str) == 0) {
            cwai_yerr(c->err, E_REF, v, "%s: duplicate %s \"%s\" (first at %s:%d:%d)",
                      cv_path(p, path, key), what, v->str, w->file, w->line, w->col);
            return -1;
        }
    }
    return 0;
}

static int
check_lang(cwai_conv_t *c, const cwai_ynode_t *n, const char *path, const char *s)
{
    const unsigned char  *p = (const unsigned char *) s;
    int                   k = 0;

    while (islower(*p)) {
        p++;
        k++;
    }
    if (k < 2 || k > 3) {
        goto bad;
    }
    while (*p == '-') {
        p++;
        k = 0;
        while (isalnum(*p)) {
            p++;
            k++;
        }
        if (k < 2 || k > 8) {
            goto bad;
        }
    }
    if (*p == '\0') {
        return 0;
    }
bad:
    cwai_yerr(c->err, E_SCHEMA, n, "%s: bad language tag \"%s\" (expected e.g. pt-BR, en, es)",
              path, s);
    return -1;
}

static const cwai_ynode_t *
seq_item_node(const cwai_ynode_t *map, const char *key, size_t i)
{
    const cwai_ynode_t  *v = cv_get(map, key);

    return (v && v->type == CWAI_YSEQ && i < v->n) ? v->vals[i] : map;
}

/* ---- domain ------------------------------------------------------------------- */

static const char *const domain_keys[] = {
    "id", "name", "description", "language", "languages", "timezone", "utc_offset",
    "currency", "country", "contact", NULL
};

static const char *const contact_keys[] = {
    "address", "phone", "whatsapp", "instagram", "facebook", "email", "privacy_email",
    "website", NULL
};

static int
check_timezone(cwai_conv_t *c, const cwai_ynode_t *n, const char *path)
{
    const unsigned char  *p = (const unsigned char *) n->str;
    int                   parts = 0;

    if (strcmp(n->str, "UTC") == 0) {
        return 0;
    }
    if (!isupper(*p)) {
        goto bad;
    }
    while (*p) {
        if (!isalpha(*p)) {
            goto bad;
        }
        while (isalnum(*p) || *p == '_' || *p == '-' || *p == '+') {
            p++;
        }
        if (*p == '/') {
            parts++;
            p++;
            continue;
        }
        if (*p != '\0') {
            goto bad;
        }
    }
    if (parts >= 1 && parts <= 2 && n->str[n->len - 1] != '/') {
        return 0;
    }
bad:
    cwai_yerr(c->err, E_SCHEMA, n,
              "%s: bad timezone \"%s\" (expected an IANA name such as America/Sao_Paulo, or UTC)",
              path, n->str);
    return -1;
}

static int
conv_domain(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "domain"), *v, *ct;
    const char          *off = NULL;
    size_t               i;
    char                 p[CV_PATH];

    if (n == NULL) {
        return cv_missing(c, root, "", "domain");
    }
    if (cv_map(c, n, "domain", domain_keys) != 0
        || cv_str(c, n, "domain", "id", CV_REQ | CV_SLUG, &d->id) != 0
        || cv_str(c, n, "domain", "name", CV_REQ | CV_NONEMPTY, &d->name) != 0
        || cv_str(c, n, "domain", "description", 0, &d->description) != 0
        || cv_str(c, n, "domain", "language", CV_REQ | CV_NONEMPTY, &d->language) != 0
        || check_lang(c, cv_get(n, "language"), "domain.language", d->language) != 0
        || cv_strs(c, n, "domain", "languages", CV_NONEMPTY, &d->languages) != 0
        || cv_str(c, n, "domain", "timezone", CV_REQ | CV_NONEMPTY, &d->timezone) != 0
        || check_timezone(c, cv_get(n, "timezone"), "domain.timezone") != 0
        || cv_str(c, n, "domain", "utc_offset", 0, &off) != 0
        || cv_str(c, n, "domain", "currency", CV_REQ, &d->currency) != 0
        || cv_str(c, n, "domain", "country", 0, &d->country) != 0)
    {
        return -1;
    }
    for (i = 0; i < d->languages.n; i++) {
        if (check_lang(c, seq_item_node(n, "languages", i), cv_index(p, "domain.languages", i),
                       d->languages.v[i]) != 0)
        {
            return -1;
        }
    }
    if (d->languages.n == 0) {
        d->languages.v = alloc_array(c, 1, sizeof(char *));
        d->languages.v[0] = d->language;
        d->languages.n = 1;
    } else {
        for (i = 0; i < d->languages.n; i++) {
            if (strcmp(d->languages.v[i], d->language) == 0) {
                break;
            }
        }
        if (i == d->languages.n) {
            cwai_yerr(c->err, E_SCHEMA, cv_get(n, "languages"),
                      "domain.languages: must include the default language \"%s\"", d->language);
            return -1;
        }
    }
    v = cv_get(n, "currency");
    if (strlen(d->currency) != 3 || !isupper((unsigned char) d->currency[0])
        || !isupper((unsigned char) d->currency[1]) || !isupper((unsigned char) d->currency[2]))
    {
        cwai_yerr(c->err, E_SCHEMA, v,
                  "domain.currency: bad currency \"%s\" (expected an ISO 4217 code such as BRL)",
                  d->currency);
        return -1;
    }
    if (d->country && (strlen(d->country) != 2 || !isupper((unsigned char) d->country[0])
                       || !isupper((unsigned char) d->country[1])))
    {
        cwai_yerr(c->err, E_SCHEMA, cv_get(n, "country"),
                  "domain.country: bad country \"%s\" (expected an ISO 3166 code such as BR)",
                  d->country);
        return -1;
    }
    if (off) {
        int  h, m;

        if (strlen(off) != 6 || (off[0] != '+' && off[0] != '-') || off[3] != ':'
            || !isdigit((unsigned char) off[1]) || !isdigit((unsigned char) off[2])
            || !isdigit((unsigned char) off[4]) || !isdigit((unsigned char) off[5])
            || (h = (off[1] - '0') * 10 + off[2] - '0') > 14
            || (m = (off[4] - '0') * 10 + off[5] - '0') > 59)
        {
            cwai_yerr(c->err, E_SCHEMA, cv_get(n, "utc_offset"),
                      "domain.utc_offset: bad offset \"%s\" (expected +HH:MM or -HH:MM, e.g. -03:00)",
                      off);
            return -1;
        }
        d->has_utc_offset = 1;
        d->utc_offset_minutes = (off[0] == '-' ? -1 : 1) * (h * 60 + m);
    }
    ct = cv_get(n, "contact");
    if (ct) {
        cwai_contact_t  *k = &d->contact;

        if (cv_map(c, ct, "domain.contact", contact_keys) != 0
            || cv_str(c, ct, "domain.contact", "address", 0, &k->address) != 0
            || cv_str(c, ct, "domain.contact", "phone", 0, &k->phone) != 0
            || cv_str(c, ct, "domain.contact", "whatsapp", 0, &k->whatsapp) != 0
            || cv_str(c, ct, "domain.contact", "instagram", 0, &k->instagram) != 0
            || cv_str(c, ct, "domain.contact", "facebook", 0, &k->facebook) != 0
            || cv_str(c, ct, "domain.contact", "email", 0, &k->email) != 0
            || cv_str(c, ct, "domain.contact", "privacy_email", 0, &k->privacy_email) != 0
            || cv_str(c, ct, "domain.contact", "website", 0, &k->website) != 0)
        {
            return -1;
        }
    }
    return 0;
}

/* ---- persona and i18n --------------------------------------------------------- */

static const char *const persona_keys[] = {
    "name", "role", "tone", "formality", "emoji", "pronoun", "greeting", "farewell",
    "signature", "style", "avoid", NULL
};
static const char *const formality_names[] = { "informal", "neutral", "formal", NULL };
static const char *const emoji_names[] = { "none", "light", "moderate", "frequent", NULL };

static int
conv_persona(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_persona_t      *ps = &c->d->persona;
    const cwai_ynode_t  *n = cv_get(root, "persona");
    int                  f = CWAI_FORMALITY_NEUTRAL, e = CWAI_EMOJI_LIGHT;

    if (n == NULL) {
        return cv_missing(c, root, "", "persona");
    }
    if (cv_map(c, n, "persona", persona_keys) != 0
        || cv_str(c, n, "persona", "name", CV_REQ | CV_NONEMPTY, &ps->name) != 0
        || cv_str(c, n, "persona", "role", 0, &ps->role) != 0
        || cv_str(c, n, "persona", "tone", 0, &ps->tone) != 0
        || cv_enum(c, n, "persona", "formality", 0, formality_names, &f) != 0
        || cv_enum(c, n, "persona", "emoji", 0, emoji_names, &e) != 0
        || cv_str(c, n, "persona", "pronoun", 0, &ps->pronoun) != 0
        || cv_str(c, n, "persona", "greeting", CV_TEXT, &ps->greeting) != 0
        || cv_str(c, n, "persona", "farewell", CV_TEXT, &ps->farewell) != 0
        || cv_str(c, n, "persona", "signature", 0, &ps->signature) != 0
        || cv_strs(c, n, "persona", "style", 0, &ps->style) != 0
        || cv_strs(c, n, "persona", "avoid", 0, &ps->avoid) != 0)
    {
        return -1;
    }
    ps->formality = (cwai_formality_t) f;
    ps->emoji = (cwai_emoji_t) e;
    return 0;
}

static const char *const phrase_keys[] = {
    "greeting", "farewell", "thanks", "handoff", "handoff_after_hours", "fallback",
    "clarify", "out_of_hours", "wait", "closed_day", NULL
};
static const char *const phrase_required[] = {
    "greeting", "farewell", "handoff", "fallback", NULL
};

static int
conv_i18n(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "i18n"), *v, *deflt = NULL;
    cwai_phrases_t      *ph;
    size_t               i, k;
    char                 p[CV_PATH];

    if (n == NULL) {
        return cv_missing(c, root, "", "i18n");
    }
    if (cv_map(c, n, "i18n", NULL) != 0) {
        return -1;
    }
    d->i18n = alloc_array(c, count_set(n), sizeof(cwai_phrases_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "i18n", n->keys[i]->str);
        if (check_lang(c, n->keys[i], p, n->keys[i]->str) != 0 || cv_map(c, v, p, phrase_keys) != 0) {
            return -1;
        }
        ph = &d->i18n[d->ni18n];
        ph->lang = cwai_arena_strdup(c->a, n->keys[i]->str);
        if (cv_str(c, v, p, "greeting", CV_TEXT, &ph->greeting) != 0
            || cv_str(c, v, p, "farewell", CV_TEXT, &ph->farewell) != 0
            || cv_str(c, v, p, "thanks", CV_TEXT, &ph->thanks) != 0
            || cv_str(c, v, p, "handoff", CV_TEXT, &ph->handoff) != 0
            || cv_str(c, v, p, "handoff_after_hours", CV_TEXT, &ph->handoff_after_hours) != 0
            || cv_str(c, v, p, "fallback", CV_TEXT, &ph->fallback) != 0
            || cv_str(c, v, p, "clarify", CV_TEXT, &ph->clarify) != 0
            || cv_str(c, v, p, "out_of_hours", CV_TEXT, &ph->out_of_hours) != 0
            || cv_str(c, v, p, "wait", CV_TEXT, &ph->wait) != 0
            || cv_str(c, v, p, "closed_day", CV_TEXT, &ph->closed_day) != 0)
        {
            return -1;
        }
        if (strcmp(ph->lang, d->language) == 0) {
            deflt = v;
            for (k = 0; phrase_required[k]; k++) {
                if (cv_get(v, phrase_required[k]) == NULL) {
                    return cv_missing(c, v, p, phrase_required[k]);
                }
            }
        }
        d->ni18n++;
    }
    if (deflt == NULL) {
        const char  **langs = alloc_array(c, d->ni18n, sizeof(char *));
        char          list[200];

        for (i = 0; i < d->ni18n; i++) {
            langs[i] = d->i18n[i].lang;
        }
        cv_join(list, sizeof(list), langs, d->ni18n);
        cwai_yerr(c->err, E_SCHEMA, cv_get(cv_get(root, "domain"), "language"),
                  "domain.language: no i18n phrases for \"%s\" (i18n has: %s)",
                  d->language, list);
        return -1;
    }
    return 0;
}

/* ---- hours and holidays ------------------------------------------------------- */

static const char *const hours_keys[] = { "weekly", "support", NULL };
static const char *const holiday_keys[] = {
    "date", "name", "kind", "closed", "hours", "services", "note", NULL
};
static const char *const holiday_kinds[] = { "holiday", "closure", "special_hours", NULL };

static int
conv_hours(cwai_conv_t *c, const cwai_ynode_t *root)
{
    const cwai_ynode_t  *n = cv_get(root, "hours");

    if (n == NULL) {
        return cv_missing(c, root, "", "hours");
    }
    if (cv_map(c, n, "hours", hours_keys) != 0
        || cv_week(c, n, "hours", "weekly", CV_REQ, &c->d->hours) != 0
        || cv_week(c, n, "hours", "support", 0, &c->d->support_hours) != 0)
    {
        return -1;
    }
    return 0;
}

static int
conv_holidays(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "holidays"), *it, *hv;
    cwai_holiday_t      *h;
    size_t               i;
    int                  kind, closed;
    char                 p[CV_PATH], ph[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_seq(c, n, "holidays") != 0) {
        return -1;
    }
    d->holidays = alloc_array(c, n->n, sizeof(cwai_holiday_t));
    for (i = 0; i < n->n; i++) {
        it = n->vals[i];
        h = &d->holidays[i];
        cv_index(p, "holidays", i);
        kind = CWAI_HOLIDAY_HOLIDAY;
        closed = -1;
        h->services = -1;
        if (cv_map(c, it, p, holiday_keys) != 0
            || cv_date(c, it, p, "date", CV_REQ, &h->date) != 0
            || cv_str(c, it, p, "name", CV_REQ | CV_NONEMPTY, &h->name) != 0
            || cv_enum(c, it, p, "kind", 0, holiday_kinds, &kind) != 0
            || cv_bool(c, it, p, "closed", 0, &closed) != 0
            || cv_bool(c, it, p, "services", 0, &h->services) != 0
            || cv_str(c, it, p, "note", 0, &h->note) != 0
            || dup_check(c, n, i, "date", p, "holiday date") != 0)
        {
            return -1;
        }
        h->kind = (cwai_holiday_kind_t) kind;
        hv = cv_get(it, "hours");
        if (hv) {
            if (closed == 1) {
                cwai_yerr(c->err, E_SCHEMA, hv, "%s: \"hours\" on a closed day (remove one of them)",
                          cv_path(ph, p, "hours"));
                return -1;
            }
            if (cv_day_hours(c, hv, cv_path(ph, p, "hours"), 0, &h->hours) != 0) {
                return -1;
            }
            h->closed = 0;
        } else if (closed == 0) {
            cwai_yerr(c->err, E_SCHEMA, it, "%s: open (closed: false) but no \"hours\"", p);
            return -1;
        } else {
            h->closed = 1;
        }
        if (h->services < 0) {
            h->services = !h->closed;
        } else if (h->services && h->closed) {
            cwai_yerr(c->err, E_SCHEMA, cv_get(it, "services"),
                      "%s: services on a closed day (give \"hours\" or set services: false)",
                      cv_path(ph, p, "services"));
            return -1;
        }
        d->nholidays++;
    }
    return 0;
}

/* ---- tools, agents, labels, intents, templates -------------------------------- */

static const char *const tool_keys[] = {
    "enabled", "description", "backend", "model", "method", "fields", "limit",
    "requires_identity", NULL
};
static const char *const backend_names[] = { "builtin", "odoo", "http", NULL };

static int
conv_tools(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "tools"), *v;
    cwai_tool_t         *t;
    size_t               i;
    int                  backend;
    char                 p[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "tools", NULL) != 0) {
        return -1;
    }
    d->tools = alloc_array(c, count_set(n), sizeof(cwai_tool_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "tools", n->keys[i]->str);
        t = &d->tools[d->ntools];
        t->enabled = 1;
        backend = CWAI_TOOL_BUILTIN;
        if (cv_check_id(c, n->keys[i], p, CV_SLUG) != 0
            || cv_map(c, v, p, tool_keys) != 0
            || cv_bool(c, v, p, "enabled", 0, &t->enabled) != 0
            || cv_str(c, v, p, "description", 0, &t->description) != 0
            || cv_enum(c, v, p, "backend", 0, backend_names, &backend) != 0
            || cv_str(c, v, p, "model", 0, &t->model) != 0
            || cv_str(c, v, p, "method", 0, &t->method) != 0
            || cv_strs(c, v, p, "fields", 0, &t->fields) != 0
            || cv_intv(c, v, p, "limit", 0, 0, 1000, &t->limit) != 0
            || cv_bool(c, v, p, "requires_identity", 0, &t->requires_identity) != 0)
        {
            return -1;
        }
        t->name = cwai_arena_strdup(c->a, n->keys[i]->str);
        t->backend = (cwai_tool_backend_t) backend;
        if (t->backend == CWAI_TOOL_ODOO && t->model == NULL) {
            cwai_yerr(c->err, E_SCHEMA, v, "%s: missing required key \"model\" (backend odoo)", p);
            return -1;
        }
        d->ntools++;
    }
    return 0;
}

static const char *const agent_keys[] = {
    "name", "description", "handles", "enabled", "tools", NULL
};

static int
conv_agents(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "agents"), *v;
    cwai_agent_t        *ag;
    size_t               i, k, enabled = 0;
    char                 p[CV_PATH], pt[CV_PATH];

    if (n == NULL) {
        return cv_missing(c, root, "", "agents");
    }
    if (cv_map(c, n, "agents", NULL) != 0) {
        return -1;
    }
    d->agents = alloc_array(c, count_set(n), sizeof(cwai_agent_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "agents", n->keys[i]->str);
        ag = &d->agents[d->nagents];
        ag->enabled = 1;
        if (cv_check_id(c, n->keys[i], p, CV_SLUG) != 0
            || cv_map(c, v, p, agent_keys) != 0
            || cv_str(c, v, p, "name", 0, &ag->name) != 0
            || cv_str(c, v, p, "description", 0, &ag->description) != 0
            || cv_strs(c, v, p, "handles", 0, &ag->handles) != 0
            || cv_bool(c, v, p, "enabled", 0, &ag->enabled) != 0
            || cv_strs(c, v, p, "tools", 0, &ag->tools) != 0)
        {
            return -1;
        }
        ag->id = cwai_arena_strdup(c->a, n->keys[i]->str);
        ag->tool_ptrs = alloc_array(c, ag->tools.n, sizeof(cwai_tool_t *));
        for (k = 0; k < ag->tools.n; k++) {
            ag->tool_ptrs[k] = cwai_domain_tool(d, ag->tools.v[k]);
            if (ag->tool_ptrs[k] == NULL) {
                return ref_error(c, seq_item_node(v, "tools", k),
                                 cv_index(pt, cv_path(pt, p, "tools"), k), "tool",
                                 ag->tools.v[k], KNOWN(d->tools, d->ntools, name), d->ntools);
            }
        }
        enabled += ag->enabled;
        d->nagents++;
    }
    if (enabled == 0) {
        cwai_yerr(c->err, E_SCHEMA, n, "agents: no agent is enabled");
        return -1;
    }
    return 0;
}

static const char *const label_keys[] = { "description", "color", NULL };

static int
conv_labels(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "labels"), *v;
    cwai_label_t        *lb;
    size_t               i, k;
    char                 p[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "labels", NULL) != 0) {
        return -1;
    }
    d->labels = alloc_array(c, count_set(n), sizeof(cwai_label_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "labels", n->keys[i]->str);
        lb = &d->labels[d->nlabels];
        if (cv_check_id(c, n->keys[i], p, CV_SLUG) != 0
            || cv_map(c, v, p, label_keys) != 0
            || cv_str(c, v, p, "description", 0, &lb->description) != 0
            || cv_str(c, v, p, "color", 0, &lb->color) != 0)
        {
            return -1;
        }
        if (lb->color) {
            for (k = 1; k < 7 && isxdigit((unsigned char) lb->color[k]); k++) {
                /* scan */
            }
            if (lb->color[0] != '#' || k != 7 || lb->color[7] != '\0') {
                char  pc[CV_PATH];

                cwai_yerr(c->err, E_SCHEMA, cv_get(v, "color"),
                          "%s: bad color \"%s\" (expected #RRGGBB)", cv_path(pc, p, "color"),
                          lb->color);
                return -1;
            }
        }
        lb->name = cwai_arena_strdup(c->a, n->keys[i]->str);
        d->nlabels++;
    }
    return 0;
}

static int
resolve_labels(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const cwai_strs_t *labels)
{
    cwai_domain_t  *d = c->d;
    size_t          k;
    char            pl[CV_PATH];

    for (k = 0; k < labels->n; k++) {
        if (cwai_domain_label(d, labels->v[k]) == NULL) {
            return ref_error(c, seq_item_node(map, "labels", k),
                             cv_index(pl, cv_path(pl, path, "labels"), k), "label",
                             labels->v[k], KNOWN(d->labels, d->nlabels, name), d->nlabels);
        }
    }
    return 0;
}

static const char *const intent_keys[] = {
    "agent", "description", "examples", "keywords", "labels", "priority", NULL
};

static int
conv_intents(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "intents"), *v;
    cwai_intent_t       *in;
    size_t               i;
    char                 p[CV_PATH], pa[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "intents", NULL) != 0) {
        return -1;
    }
    d->intents = alloc_array(c, count_set(n), sizeof(cwai_intent_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "intents", n->keys[i]->str);
        in = &d->intents[d->nintents];
        if (cv_check_id(c, n->keys[i], p, CV_SLUG) != 0
            || cv_map(c, v, p, intent_keys) != 0
            || cv_str(c, v, p, "agent", CV_REQ, &in->agent) != 0
            || cv_str(c, v, p, "description", 0, &in->description) != 0
            || cv_strs(c, v, p, "examples", 0, &in->examples) != 0
            || cv_strs(c, v, p, "keywords", 0, &in->keywords) != 0
            || cv_strs(c, v, p, "labels", CV_SLUG, &in->labels) != 0
            || cv_intv(c, v, p, "priority", 0, -100, 100, &in->priority) != 0)
        {
            return -1;
        }
        in->id = cwai_arena_strdup(c->a, n->keys[i]->str);
        in->agent_ptr = cwai_domain_agent(d, in->agent);
        if (in->agent_ptr == NULL) {
            return ref_error(c, cv_get(v, "agent"), cv_path(pa, p, "agent"), "agent", in->agent,
                             KNOWN(d->agents, d->nagents, id), d->nagents);
        }
        if (in->examples.n == 0 && in->keywords.n == 0) {
            cwai_yerr(c->err, E_SCHEMA, v,
                      "%s: needs \"examples\" or \"keywords\" (the router has nothing to match)", p);
            return -1;
        }
        if (resolve_labels(c, v, p, &in->labels) != 0) {
            return -1;
        }
        d->nintents++;
    }
    return 0;
}

static const char *const template_keys[] = { "intent", "description", "text", NULL };

static int
conv_templates(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "templates"), *v, *tx;
    cwai_template_t     *t;
    size_t               i, k;
    char                 p[CV_PATH], pt[CV_PATH], pl[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "templates", NULL) != 0) {
        return -1;
    }
    d->templates = alloc_array(c, count_set(n), sizeof(cwai_template_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "templates", n->keys[i]->str);
        t = &d->templates[d->ntemplates];
        if (cv_check_id(c, n->keys[i], p, CV_SLUG) != 0
            || cv_map(c, v, p, template_keys) != 0
            || cv_str(c, v, p, "intent", 0, &t->intent) != 0
            || cv_str(c, v, p, "description", 0, &t->description) != 0)
        {
            return -1;
        }
        t->key = cwai_arena_strdup(c->a, n->keys[i]->str);
        if (t->intent) {
            t->intent_ptr = cwai_domain_intent(d, t->intent);
            if (t->intent_ptr == NULL) {
                return ref_error(c, cv_get(v, "intent"), cv_path(pt, p, "intent"), "intent",
                                 t->intent, KNOWN(d->intents, d->nintents, id), d->nintents);
            }
        }
        tx = cv_get(v, "text");
        cv_path(pt, p, "text");
        if (tx == NULL) {
            return cv_missing(c, v, p, "text");
        }
        if (cv_map(c, tx, pt, NULL) != 0) {
            return -1;
        }
        t->texts = alloc_array(c, count_set(tx), sizeof(cwai_text_t));
        for (k = 0; k < tx->n; k++) {
            if (tx->vals[k]->type == CWAI_YNULL) {
                continue;
            }
            cv_path(pl, pt, tx->keys[k]->str);
            if (check_lang(c, tx->keys[k], pl, tx->keys[k]->str) != 0
                || cv_str(c, tx, pt, tx->keys[k]->str, CV_NONEMPTY | CV_TEXT,
                          &t->texts[t->ntexts].text) != 0)
            {
                return -1;
            }
            t->texts[t->ntexts++].lang = cwai_arena_strdup(c->a, tx->keys[k]->str);
        }
        if (t->ntexts == 0) {
            cwai_yerr(c->err, E_SCHEMA, tx, "%s: no text in any language", pt);
            return -1;
        }
        d->ntemplates++;
    }
    return 0;
}

/* ---- rules and FAQs ------------------------------------------------------------- */

static const char *const rule_keys[] = {
    "id", "title", "text", "category", "keywords", "figures", NULL
};

static int
conv_rules(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "rules"), *it;
    cwai_rule_t         *r;
    size_t               i;
    char                 p[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_seq(c, n, "rules") != 0) {
        return -1;
    }
    d->rules = alloc_array(c, n->n, sizeof(cwai_rule_t));
    for (i = 0; i < n->n; i++) {
        it = n->vals[i];
        r = &d->rules[i];
        cv_index(p, "rules", i);
        if (cv_map(c, it, p, rule_keys) != 0
            || cv_str(c, it, p, "id", CV_REQ | CV_ID, &r->id) != 0
            || dup_check(c, n, i, "id", p, "rule id") != 0
            || cv_str(c, it, p, "title", CV_REQ | CV_NONEMPTY, &r->title) != 0
            || cv_str(c, it, p, "text", CV_REQ | CV_NONEMPTY, &r->text) != 0
            || cv_str(c, it, p, "category", 0, &r->category) != 0
            || cv_strs(c, it, p, "keywords", 0, &r->keywords) != 0
            || cv_kvs(c, it, p, "figures", 0, &r->figures) != 0)
        {
            return -1;
        }
        d->nrules++;
    }
    return 0;
}

static const char *const faq_keys[] = {
    "id", "question", "answer", "category", "variants", "keywords", "rules", NULL
};

static int
conv_faqs(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "faqs"), *it;
    cwai_faq_t          *f;
    size_t               i, k;
    char                 p[CV_PATH], pr[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_seq(c, n, "faqs") != 0) {
        return -1;
    }
    d->faqs = alloc_array(c, n->n, sizeof(cwai_faq_t));
    for (i = 0; i < n->n; i++) {
        it = n->vals[i];
        f = &d->faqs[i];
        cv_index(p, "faqs", i);
        if (cv_map(c, it, p, faq_keys) != 0
            || cv_str(c, it, p, "id", CV_REQ | CV_ID, &f->id) != 0
            || dup_check(c, n, i, "id", p, "faq id") != 0
            || cv_str(c, it, p, "question", CV_REQ | CV_NONEMPTY, &f->question) != 0
            || cv_str(c, it, p, "answer", CV_REQ | CV_NONEMPTY, &f->answer) != 0
            || cv_str(c, it, p, "category", 0, &f->category) != 0
            || cv_strs(c, it, p, "variants", 0, &f->variants) != 0
            || cv_strs(c, it, p, "keywords", 0, &f->keywords) != 0
            || cv_strs(c, it, p, "rules", 0, &f->rules) != 0)
        {
            return -1;
        }
        f->rule_ptrs = alloc_array(c, f->rules.n, sizeof(cwai_rule_t *));
        for (k = 0; k < f->rules.n; k++) {
            f->rule_ptrs[k] = cwai_domain_rule(d, f->rules.v[k]);
            if (f->rule_ptrs[k] == NULL) {
                return ref_error(c, seq_item_node(it, "rules", k),
                                 cv_index(pr, cv_path(pr, p, "rules"), k), "rule",
                                 f->rules.v[k], KNOWN(d->rules, d->nrules, id), d->nrules);
            }
        }
        d->nfaqs++;
    }
    return 0;
}

/* ---- products, services, professionals ---------------------------------------- */

static const char *const product_keys[] = {
    "sku", "erp_id", "name", "category", "brand", "description", "url", "price",
    "promo_price", "promo_until", "stock", "restock_date", "active", "tags",
    "components", "attributes", NULL
};

static int
conv_products(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "products"), *it;
    cwai_product_t      *pd;
    size_t               i, k;
    char                 p[CV_PATH], pc[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_seq(c, n, "products") != 0) {
        return -1;
    }
    d->products = alloc_array(c, n->n, sizeof(cwai_product_t));
    for (i = 0; i < n->n; i++) {
        it = n->vals[i];
        pd = &d->products[i];
        cv_index(p, "products", i);
        pd->promo_price_cents = -1;
        pd->stock = -1;
        pd->active = 1;
        if (cv_map(c, it, p, product_keys) != 0
            || cv_str(c, it, p, "sku", CV_REQ | CV_ID, &pd->sku) != 0
            || dup_check(c, n, i, "sku", p, "product sku") != 0
            || cv_int(c, it, p, "erp_id", 0, 1, INT64_MAX, &pd->erp_id) != 0
            || dup_check(c, n, i, "erp_id", p, "product erp_id") != 0
            || cv_str(c, it, p, "name", CV_REQ | CV_NONEMPTY, &pd->name) != 0
            || cv_str(c, it, p, "category", 0, &pd->category) != 0
            || cv_str(c, it, p, "brand", 0, &pd->brand) != 0
            || cv_str(c, it, p, "description", 0, &pd->description) != 0
            || cv_str(c, it, p, "url", 0, &pd->url) != 0
            || cv_money(c, it, p, "price", CV_REQ, &pd->price_cents) != 0
            || cv_money(c, it, p, "promo_price", 0, &pd->promo_price_cents) != 0
            || cv_date(c, it, p, "promo_until", 0, &pd->promo_until) != 0
            || cv_int(c, it, p, "stock", 0, 0, INT64_MAX, &pd->stock) != 0
            || cv_date(c, it, p, "restock_date", 0, &pd->restock_date) != 0
            || cv_bool(c, it, p, "active", 0, &pd->active) != 0
            || cv_strs(c, it, p, "tags", 0, &pd->tags) != 0
            || cv_strs(c, it, p, "components", CV_ID, &pd->components) != 0
            || cv_kvs(c, it, p, "attributes", 0, &pd->attributes) != 0)
        {
            return -1;
        }
        if (pd->promo_until.year && pd->promo_price_cents < 0) {
            cwai_yerr(c->err, E_SCHEMA, cv_get(it, "promo_until"),
                      "%s: promo_until without promo_price", p);
            return -1;
        }
        if (pd->promo_price_cents >= pd->price_cents) {
            cwai_yerr(c->err, E_SCHEMA, cv_get(it, "promo_price"),
                      "%s: %s is not below the price %s", cv_path(pc, p, "promo_price"),
                      cv_get(it, "promo_price")->str, cv_get(it, "price")->str);
            return -1;
        }
        d->nproducts++;
    }
    /* kits: every component is a product of this domain, and not the kit */
    for (i = 0; i < d->nproducts; i++) {
        pd = &d->products[i];
        pd->component_ptrs = alloc_array(c, pd->components.n, sizeof(cwai_product_t *));
        for (k = 0; k < pd->components.n; k++) {
            it = seq_item_node(n->vals[i], "components", k);
            cv_index(pc, cv_path(pc, cv_index(p, "products", i), "components"), k);
            pd->component_ptrs[k] = cwai_domain_product(d, pd->components.v[k]);
            if (pd->component_ptrs[k] == NULL) {
                return ref_error(c, it, pc, "product sku", pd->components.v[k],
                                 KNOWN(d->products, d->nproducts, sku), d->nproducts);
            }
            if (pd->component_ptrs[k] == pd) {
                cwai_yerr(c->err, E_REF, it, "%s: the kit \"%s\" lists itself", pc, pd->sku);
                return -1;
            }
        }
    }
    return 0;
}

static const char *const service_keys[] = {
    "id", "erp_id", "name", "category", "description", "duration_minutes", "price",
    "price_from", "requirements", "contraindications", "min_age",
    "guardian_required_under", "deposit_percent", "package", "active", "tags",
    "attributes", NULL
};
static const char *const package_keys[] = { "sessions", "price", "valid_days", NULL };

static int
conv_services(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "services"), *it, *pk;
    cwai_service_t      *s;
    size_t               i;
    char                 p[CV_PATH], pp[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_seq(c, n, "services") != 0) {
        return -1;
    }
    d->services = alloc_array(c, n->n, sizeof(cwai_service_t));
    for (i = 0; i < n->n; i++) {
        it = n->vals[i];
        s = &d->services[i];
        cv_index(p, "services", i);
        s->active = 1;
        if (cv_map(c, it, p, service_keys) != 0
            || cv_str(c, it, p, "id", CV_REQ | CV_ID, &s->id) != 0
            || dup_check(c, n, i, "id", p, "service id") != 0
            || cv_int(c, it, p, "erp_id", 0, 1, INT64_MAX, &s->erp_id) != 0
            || cv_str(c, it, p, "name", CV_REQ | CV_NONEMPTY, &s->name) != 0
            || cv_str(c, it, p, "category", 0, &s->category) != 0
            || cv_str(c, it, p, "description", 0, &s->description) != 0
            || cv_intv(c, it, p, "duration_minutes", CV_REQ, 1, 1440, &s->duration_minutes) != 0
            || cv_money(c, it, p, "price", CV_REQ, &s->price_cents) != 0
            || cv_bool(c, it, p, "price_from", 0, &s->price_from) != 0
            || cv_strs(c, it, p, "requirements", 0, &s->requirements) != 0
            || cv_strs(c, it, p, "contraindications", 0, &s->contraindications) != 0
            || cv_intv(c, it, p, "min_age", 0, 0, 120, &s->min_age) != 0
            || cv_intv(c, it, p, "guardian_required_under", 0, 0, 21,
                       &s->guardian_required_under) != 0
            || cv_intv(c, it, p, "deposit_percent", 0, 0, 100, &s->deposit_percent) != 0
            || cv_bool(c, it, p, "active", 0, &s->active) != 0
            || cv_strs(c, it, p, "tags", 0, &s->tags) != 0
            || cv_kvs(c, it, p, "attributes", 0, &s->attributes) != 0)
        {
            return -1;
        }
        pk = cv_get(it, "package");
        if (pk) {
            cv_path(pp, p, "package");
            if (cv_map(c, pk, pp, package_keys) != 0
                || cv_intv(c, pk, pp, "sessions", CV_REQ, 2, 100, &s->package_sessions) != 0
                || cv_money(c, pk, pp, "price", CV_REQ, &s->package_price_cents) != 0
                || cv_intv(c, pk, pp, "valid_days", 0, 1, 3650, &s->package_valid_days) != 0)
            {
                return -1;
            }
        }
        d->nservices++;
    }
    return 0;
}

static const char *const professional_keys[] = {
    "id", "name", "role", "works_on", "services", "hours", "erp_user_id",
    "erp_partner_id", NULL
};

static int
conv_professionals(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t        *d = c->d;
    const cwai_ynode_t   *n = cv_get(root, "professionals"), *it;
    cwai_professional_t  *pf;
    cwai_strs_t           days;
    size_t                i, k, j, cnt;
    int                   wd;
    char                  p[CV_PATH], pk[CV_PATH];
    const char           *near;

    if (n == NULL) {
        return 0;
    }
    if (cv_seq(c, n, "professionals") != 0) {
        return -1;
    }
    d->professionals = alloc_array(c, n->n, sizeof(cwai_professional_t));
    for (i = 0; i < n->n; i++) {
        it = n->vals[i];
        pf = &d->professionals[i];
        cv_index(p, "professionals", i);
        memset(&days, 0, sizeof(days));
        if (cv_map(c, it, p, professional_keys) != 0
            || cv_str(c, it, p, "id", CV_REQ | CV_ID, &pf->id) != 0
            || dup_check(c, n, i, "id", p, "professional id") != 0
            || cv_str(c, it, p, "name", CV_REQ | CV_NONEMPTY, &pf->name) != 0
            || cv_str(c, it, p, "role", 0, &pf->role) != 0
            || cv_strs(c, it, p, "works_on", 0, &days) != 0
            || cv_strs(c, it, p, "services", 0, &pf->services) != 0
            || cv_week(c, it, p, "hours", 0, &pf->hours) != 0
            || cv_int(c, it, p, "erp_user_id", 0, 1, INT64_MAX, &pf->erp_user_id) != 0
            || dup_check(c, n, i, "erp_user_id", p, "professional erp_user_id") != 0
            || cv_int(c, it, p, "erp_partner_id", 0, 1, INT64_MAX,
                      &pf->erp_partner_id) != 0
            || dup_check(c, n, i, "erp_partner_id", p,
                         "professional erp_partner_id") != 0)
        {
            return -1;
        }
        for (k = 0; k < days.n; k++) {
            wd = cv_weekday(days.v[k]);
            if (wd < 0) {
                near = cv_nearest(days.v[k], cwai_weekday_names);
                cv_index(pk, cv_path(pk, p, "works_on"), k);
                cwai_yerr(c->err, E_SCHEMA, seq_item_node(it, "works_on", k),
                          "%s: \"%s\" is not a weekday%s%s%s", pk, days.v[k],
                          near ? "; did you mean \"" : " (monday ... sunday)",
                          near ? near : "", near ? "\"?" : "");
                return -1;
            }
            pf->works_on |= 1u << wd;
        }
        if (days.n == 0) {
            pf->works_on = 0x7f;
        }
        for (k = 0; k < pf->services.n; k++) {
            if (cwai_domain_service(d, pf->services.v[k]) == NULL) {
                return ref_error(c, seq_item_node(it, "services", k),
                                 cv_index(pk, cv_path(pk, p, "services"), k), "service",
                                 pf->services.v[k], KNOWN(d->services, d->nservices, id),
                                 d->nservices);
            }
        }
        d->nprofessionals++;
    }
    /* services[].professionals, derived */
    for (j = 0; j < d->nservices; j++) {
        cwai_service_t  *s = &d->services[j];

        for (cnt = 0, i = 0; i < d->nprofessionals; i++) {
            for (k = 0; k < d->professionals[i].services.n; k++) {
                cnt += strcmp(d->professionals[i].services.v[k], s->id) == 0;
            }
        }
        s->professionals.v = alloc_array(c, cnt, sizeof(char *));
        for (i = 0; i < d->nprofessionals; i++) {
            for (k = 0; k < d->professionals[i].services.n; k++) {
                if (strcmp(d->professionals[i].services.v[k], s->id) == 0) {
                    s->professionals.v[s->professionals.n++] = d->professionals[i].id;
                    break;
                }
            }
        }
    }
    return 0;
}

/* ---- availability ------------------------------------------------------------- */

static const char *const availability_keys[] = {
    "slot_minutes", "lead_minutes", "horizon_days", "must_end_by_close", "breaks",
    "slots_from", "slots_to", "slots", NULL
};
static const char *const slot_keys[] = {
    "id", "date", "start", "end", "service", "professional", NULL
};

static int
conv_availability(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t        *d = c->d;
    cwai_availability_t  *av = &d->availability;
    const cwai_ynode_t   *n = cv_get(root, "availability"), *sl, *it, *br;
    cwai_slot_t          *s;
    size_t                i, k;
    char                  p[CV_PATH], pk[CV_PATH];

    av->slot_minutes = 30;
    av->horizon_days = 30;
    av->must_end_by_close = 1;
    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "availability", availability_keys) != 0
        || cv_intv(c, n, "availability", "slot_minutes", 0, 5, 480, &av->slot_minutes) != 0
        || cv_intv(c, n, "availability", "lead_minutes", 0, 0, 43200, &av->lead_minutes) != 0
        || cv_intv(c, n, "availability", "horizon_days", 0, 1, 366, &av->horizon_days) != 0
        || cv_bool(c, n, "availability", "must_end_by_close", 0, &av->must_end_by_close) != 0
        || cv_date(c, n, "availability", "slots_from", 0, &av->slots_from) != 0
        || cv_date(c, n, "availability", "slots_to", 0, &av->slots_to) != 0)
    {
        return -1;
    }
    br = cv_get(n, "breaks");
    if (br && cv_day_hours(c, br, "availability.breaks", 0, &av->breaks) != 0) {
        return -1;
    }
    if (av->slots_from.year && av->slots_to.year && cwai_date_cmp(av->slots_from, av->slots_to) > 0) {
        cwai_yerr(c->err, E_SCHEMA, cv_get(n, "slots_to"),
                  "availability.slots_to: before slots_from");
        return -1;
    }
    sl = cv_get(n, "slots");
    if (sl == NULL) {
        return 0;
    }
    if (cv_seq(c, sl, "availability.slots") != 0) {
        return -1;
    }
    av->slots = alloc_array(c, sl->n, sizeof(cwai_slot_t));
    for (i = 0; i < sl->n; i++) {
        it = sl->vals[i];
        s = &av->slots[i];
        cv_index(p, "availability.slots", i);
        if (cv_map(c, it, p, slot_keys) != 0
            || cv_str(c, it, p, "id", CV_REQ | CV_ID, &s->id) != 0
            || dup_check(c, sl, i, "id", p, "slot id") != 0
            || cv_date(c, it, p, "date", CV_REQ, &s->date) != 0
            || cv_time(c, it, p, "start", CV_REQ, &s->start) != 0
            || cv_time(c, it, p, "end", CV_REQ, &s->end) != 0
            || cv_str(c, it, p, "service", CV_REQ, &s->service) != 0
            || cv_str(c, it, p, "professional", 0, &s->professional) != 0)
        {
            return -1;
        }
        if (s->start >= s->end) {
            cwai_yerr(c->err, E_SCHEMA, cv_get(it, "end"), "%s: ends before it starts", p);
            return -1;
        }
        if ((av->slots_from.year && cwai_date_cmp(s->date, av->slots_from) < 0)
            || (av->slots_to.year && cwai_date_cmp(s->date, av->slots_to) > 0))
        {
            cwai_yerr(c->err, E_SCHEMA, cv_get(it, "date"),
                      "%s.date: outside slots_from .. slots_to", p);
            return -1;
        }
        s->service_ptr = cwai_domain_service(d, s->service);
        if (s->service_ptr == NULL) {
            return ref_error(c, cv_get(it, "service"), cv_path(pk, p, "service"), "service",
                             s->service, KNOWN(d->services, d->nservices, id), d->nservices);
        }
        if (s->professional) {
            s->professional_ptr = cwai_domain_professional(d, s->professional);
            if (s->professional_ptr == NULL) {
                return ref_error(c, cv_get(it, "professional"), cv_path(pk, p, "professional"),
                                 "professional", s->professional,
                                 KNOWN(d->professionals, d->nprofessionals, id),
                                 d->nprofessionals);
            }
            for (k = 0; k < s->professional_ptr->services.n; k++) {
                if (strcmp(s->professional_ptr->services.v[k], s->service) == 0) {
                    break;
                }
            }
            if (k == s->professional_ptr->services.n) {
                cwai_yerr(c->err, E_REF, cv_get(it, "professional"),
                          "%s: \"%s\" does not perform service \"%s\"",
                          cv_path(pk, p, "professional"), s->professional, s->service);
                return -1;
            }
            if (!(s->professional_ptr->works_on & (1u << cwai_date_weekday(s->date)))) {
                cwai_yerr(c->err, E_REF, cv_get(it, "professional"),
                          "%s: \"%s\" does not work on %s (%04d-%02d-%02d)",
                          cv_path(pk, p, "professional"), s->professional,
                          cwai_weekday_names[cwai_date_weekday(s->date)],
                          s->date.year, s->date.month, s->date.day);
                return -1;
            }
        }
        av->nslots++;
    }
    return 0;
}

/* ---- handoff and channels ------------------------------------------------------ */

static const char *const handoff_keys[] = {
    "confidence_threshold", "min_retrieval_score", "max_bot_turns", "team", "labels",
    "private_note", "topics", NULL
};
static const char *const topic_keys[] = {
    "description", "keywords", "examples", "labels", "priority", "reply", "rules", NULL
};
static const char *const priority_names[] = { "low", "normal", "high", "urgent", NULL };

static int
conv_handoff(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t         *d = c->d;
    cwai_handoff_t        *h = &d->handoff;
    const cwai_ynode_t    *n = cv_get(root, "handoff"), *tp, *v;
    cwai_handoff_topic_t  *t;
    size_t                 i, k;
    int                    prio;
    char                   p[CV_PATH], pr[CV_PATH];

    h->confidence_threshold = 0.5;
    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "handoff", handoff_keys) != 0
        || cv_number(c, n, "handoff", "confidence_threshold", 0, 0.0, 1.0,
                     &h->confidence_threshold) != 0
        || cv_number(c, n, "handoff", "min_retrieval_score", 0, 0.0, 1.0,
                     &h->min_retrieval_score) != 0
        || cv_intv(c, n, "handoff", "max_bot_turns", 0, 0, 1000, &h->max_bot_turns) != 0
        || cv_str(c, n, "handoff", "team", 0, &h->team) != 0
        || cv_strs(c, n, "handoff", "labels", CV_SLUG, &h->labels) != 0
        || resolve_labels(c, n, "handoff", &h->labels) != 0
        || cv_str(c, n, "handoff", "private_note", CV_TEXT, &h->private_note) != 0)
    {
        return -1;
    }
    tp = cv_get(n, "topics");
    if (tp == NULL) {
        return 0;
    }
    if (cv_map(c, tp, "handoff.topics", NULL) != 0) {
        return -1;
    }
    h->topics = alloc_array(c, count_set(tp), sizeof(cwai_handoff_topic_t));
    for (i = 0; i < tp->n; i++) {
        v = tp->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "handoff.topics", tp->keys[i]->str);
        t = &h->topics[h->ntopics];
        prio = CWAI_PRIORITY_HIGH;
        if (cv_check_id(c, tp->keys[i], p, CV_SLUG) != 0
            || cv_map(c, v, p, topic_keys) != 0
            || cv_str(c, v, p, "description", 0, &t->description) != 0
            || cv_strs(c, v, p, "keywords", 0, &t->keywords) != 0
            || cv_strs(c, v, p, "examples", 0, &t->examples) != 0
            || cv_strs(c, v, p, "labels", CV_SLUG, &t->labels) != 0
            || resolve_labels(c, v, p, &t->labels) != 0
            || cv_enum(c, v, p, "priority", 0, priority_names, &prio) != 0
            || cv_str(c, v, p, "reply", CV_TEXT, &t->reply) != 0
            || cv_strs(c, v, p, "rules", 0, &t->rules) != 0)
        {
            return -1;
        }
        t->rule_ptrs = alloc_array(c, t->rules.n, sizeof(cwai_rule_t *));
        for (k = 0; k < t->rules.n; k++) {
            t->rule_ptrs[k] = cwai_domain_rule(d, t->rules.v[k]);
            if (t->rule_ptrs[k] == NULL) {
                return ref_error(c, seq_item_node(v, "rules", k),
                                 cv_index(pr, cv_path(pr, p, "rules"), k), "rule",
                                 t->rules.v[k], KNOWN(d->rules, d->nrules, id), d->nrules);
            }
        }
        if (t->keywords.n == 0 && t->examples.n == 0) {
            cwai_yerr(c->err, E_SCHEMA, v, "%s: needs \"keywords\" or \"examples\"", p);
            return -1;
        }
        t->id = cwai_arena_strdup(c->a, tp->keys[i]->str);
        t->priority = (cwai_priority_t) prio;
        h->ntopics++;
    }
    return 0;
}

static const char *const channel_names[] = {
    "whatsapp", "instagram", "facebook", "email", "web", "telegram", "sms", "line", "api",
    NULL
};
static const char *const channel_keys[] = {
    "enabled", "max_length", "max_messages", "markup", "emoji", NULL
};
static const char *const markup_names[] = { "plain", "whatsapp", "markdown", "html", NULL };

static int
conv_channels(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "channels"), *v;
    cwai_channel_t      *ch;
    size_t               i;
    int                  markup;
    char                 p[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "channels", channel_names) != 0) {
        return -1;
    }
    d->channels = alloc_array(c, count_set(n), sizeof(cwai_channel_t));
    for (i = 0; i < n->n; i++) {
        v = n->vals[i];
        if (v->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "channels", n->keys[i]->str);
        ch = &d->channels[d->nchannels];
        ch->enabled = 1;
        ch->max_length = 4096;
        ch->max_messages = 1;
        ch->emoji = 1;
        markup = CWAI_MARKUP_PLAIN;
        if (cv_map(c, v, p, channel_keys) != 0
            || cv_bool(c, v, p, "enabled", 0, &ch->enabled) != 0
            || cv_intv(c, v, p, "max_length", 0, 20, 100000, &ch->max_length) != 0
            || cv_intv(c, v, p, "max_messages", 0, 1, 20, &ch->max_messages) != 0
            || cv_enum(c, v, p, "markup", 0, markup_names, &markup) != 0
            || cv_bool(c, v, p, "emoji", 0, &ch->emoji) != 0)
        {
            return -1;
        }
        ch->name = cwai_arena_strdup(c->a, n->keys[i]->str);
        ch->markup = (cwai_markup_t) markup;
        d->nchannels++;
    }
    return 0;
}

/* ---- synonyms ------------------------------------------------------------------ */

static int
conv_synonyms(cwai_conv_t *c, const cwai_ynode_t *root)
{
    cwai_domain_t       *d = c->d;
    const cwai_ynode_t  *n = cv_get(root, "synonyms");
    size_t               i;
    char                 p[CV_PATH];

    if (n == NULL) {
        return 0;
    }
    if (cv_map(c, n, "synonyms", NULL) != 0) {
        return -1;
    }
    d->synonyms = alloc_array(c, count_set(n), sizeof(cwai_synonym_t));
    for (i = 0; i < n->n; i++) {
        if (n->vals[i]->type == CWAI_YNULL) {
            continue;
        }
        cv_path(p, "synonyms", n->keys[i]->str);
        if (n->keys[i]->len == 0) {
            cwai_yerr(c->err, E_SCHEMA, n->keys[i], "synonyms: an empty term");
            return -1;
        }
        if (cv_str(c, n, "synonyms", n->keys[i]->str, CV_NONEMPTY,
                   &d->synonyms[d->nsynonyms].means) != 0)
        {
            return -1;
        }
        d->synonyms[d->nsynonyms++].term = cwai_arena_strdup(c->a, n->keys[i]->str);
    }
    return 0;
}

/* ---- the whole document --------------------------------------------------------- */

static const char *const top_keys[] = {
    "version", "extends", "domain", "persona", "i18n", "hours", "holidays", "agents",
    "intents", "labels", "rules", "faqs", "products", "services", "professionals",
    "availability", "handoff", "channels", "templates", "tools", "synonyms", NULL
};

int
cwai_domain_convert(cwai_conv_t *c, const cwai_ynode_t *root)
{
    int64_t  version = 1;

    if (cv_map(c, root, "", top_keys) != 0
        || cv_int(c, root, "", "version", 0, 1, 1, &version) != 0
        || conv_domain(c, root) != 0
        || conv_persona(c, root) != 0
        || conv_i18n(c, root) != 0
        || conv_hours(c, root) != 0
        || conv_holidays(c, root) != 0
        || conv_tools(c, root) != 0
        || conv_agents(c, root) != 0
        || conv_labels(c, root) != 0
        || conv_intents(c, root) != 0
        || conv_templates(c, root) != 0
        || conv_rules(c, root) != 0
        || conv_faqs(c, root) != 0
        || conv_products(c, root) != 0
        || conv_services(c, root) != 0
        || conv_professionals(c, root) != 0
        || conv_availability(c, root) != 0
        || conv_handoff(c, root) != 0
        || conv_channels(c, root) != 0
        || conv_synonyms(c, root) != 0)
    {
        return -1;
    }
    return 0;
}
