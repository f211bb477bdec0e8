/*
 * Entity extractors. See cwai_extract.h.
 */
#include "cwai_extract.h"

#include <stdlib.h>
#include <string.h>

static int
weq(const cwai_tok_t *k, const char *w)
{
    size_t  n = strlen(w);

    return k->wlen == n && memcmp(k->w, w, n) == 0;
}

static int
tok_is(const cwai_ntext_t *t, size_t i, const char *w)
{
    return i < t->ntok && weq(&t->tok[i], w);
}

static int
parse_uint(const char *s, size_t n, int *v)
{
    size_t  i;
    int     x = 0;

    if (n == 0 || n > 4) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static int
number_word(const cwai_tok_t *k)
{
    static const char  *const words[] = {
        "zero", "um", "dois", "tres", "quatro", "cinco", "seis", "sete", "oito",
        "nove", "dez", NULL
    };
    int  i, v;

    if (k->kind == CWAI_TOK_NUM && parse_uint(k->w, k->wlen, &v) == 0) {
        return v;
    }
    if (weq(k, "uma") || weq(k, "hum")) {
        return 1;
    }
    if (weq(k, "duas")) {
        return 2;
    }
    for (i = 0; words[i]; i++) {
        if (weq(k, words[i])) {
            return i;
        }
    }
    return -1;
}

int
cwai_extract_time_token(const char *w, size_t len)
{
    size_t  i = 0, j;
    int     h, m = 0;

    while (i < len && w[i] >= '0' && w[i] <= '9') {
        i++;
    }
    if (i == 0 || i > 2 || parse_uint(w, i, &h) != 0 || h > 23) {
        return -1;
    }
    if (i < len && w[i] == ':') {
        j = i + 1;
        if (len - j != 2 || parse_uint(w + j, 2, &m) != 0 || m > 59) {
            return -1;
        }
        return h * 60 + m;
    }
    if (i >= len || w[i] != 'h') {
        return -1;
    }
    j = ++i;
    while (i < len && w[i] >= '0' && w[i] <= '9') {
        i++;
    }
    if (i > j) {
        if (i - j != 2 || parse_uint(w + j, 2, &m) != 0 || m > 59) {
            return -1;
        }
    }
    /* accepted tails: "", "s", "rs", "r", "oras", "ora" */
    if (i < len) {
        const char  *tail = w + i;
        size_t       tl = len - i;

        if (!((tl == 1 && (tail[0] == 's' || tail[0] == 'r'))
              || (tl == 2 && memcmp(tail, "rs", 2) == 0)
              || (tl == 3 && memcmp(tail, "ora", 3) == 0)
              || (tl == 4 && memcmp(tail, "oras", 4) == 0)))
        {
            return -1;
        }
    }
    return h * 60 + m;
}

static int
days_in_month(int y, int m)
{
    static const int  dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dm[(m - 1) % 12];
}

static int
month_word(const cwai_tok_t *k)
{
    static const char  *const months[] = {
        "janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho",
        "agosto", "setembro", "outubro", "novembro", "dezembro", NULL
    };
    int  i;

    for (i = 0; months[i]; i++) {
        if (weq(k, months[i])) {
            return i + 1;
        }
    }
    return 0;
}

static int
weekday_word(const cwai_ntext_t *t, size_t i)
{
    static const char  *const wd[] = {
        "domingo", "segunda", "terca", "quarta", "quinta", "sexta", "sabado", NULL
    };
    int  k;

    for (k = 0; wd[k]; k++) {
        if (weq(&t->tok[i], wd[k])) {
            /* "segunda via", "segunda vez", "quinta opcao": not a day */
            if (tok_is(t, i + 1, "via") || tok_is(t, i + 1, "vez")
                || tok_is(t, i + 1, "opcao") || tok_is(t, i + 1, "parcela"))
            {
                return -1;
            }
            return k;
        }
    }
    return -1;
}

/* The next date with day-of-month d on or after today. */
static cwai_date_t
next_day_of_month(cwai_date_t today, int d)
{
    cwai_date_t  r = today;
    int          k;

    if (d < today.day) {
        r.month++;
        if (r.month > 12) {
            r.month = 1;
            r.year++;
        }
    }
    for (k = 0; k < 3 && d > days_in_month(r.year, r.month); k++) {
        r.month++;
        if (r.month > 12) {
            r.month = 1;
            r.year++;
        }
    }
    r.day = d;
    return r;
}

static cwai_date_t
add_days(cwai_date_t d, int n)
{
    return cwai_date_from_days(cwai_date_to_days(d) + n);
}

static void
note_date(cwai_entities_t *e, cwai_date_t d, cwai_date_t *seen, int *nseen)
{
    int  i;

    e->date = d;
    for (i = 0; i < *nseen; i++) {
        if (cwai_date_cmp(seen[i], d) == 0) {
            return;
        }
    }
    if (*nseen < 16) {
        seen[(*nseen)++] = d;
    }
}

static void
note_time(cwai_entities_t *e, int m, int *seen, int *nseen)
{
    int  i;

    e->time = m;
    for (i = 0; i < *nseen; i++) {
        if (seen[i] == m) {
            return;
        }
    }
    if (*nseen < 16) {
        seen[(*nseen)++] = m;
    }
}

void
cwai_extract(const cwai_ntext_t *t, cwai_date_t today, cwai_entities_t *e)
{
    cwai_date_t  seen_d[16];
    int          seen_t[16], nd = 0, nt = 0, v, m, mo, pending_wd = -1;
    size_t       i;

    memset(e, 0, sizeof(*e));
    e->weekday = -1;
    e->time = -1;
    e->age = -1;
    e->quantity = -1;

    for (i = 0; i < t->ntok; i++) {
        const cwai_tok_t  *k = &t->tok[i];
        int                wd;

        /* ---- dates ---- */
        if (weq(k, "hoje")) {
            e->relative = 1;
            note_date(e, today, seen_d, &nd);
            continue;
        }
        if (weq(k, "amanha")) {
            e->relative = 1;
            note_date(e, add_days(today, (i >= 2 && tok_is(t, i - 2, "depois")) ? 2 : 1),
                      seen_d, &nd);
            continue;
        }
        wd = weekday_word(t, i);
        if (wd >= 0) {
            int  diff = (wd - cwai_date_weekday(today) + 7) % 7;

            e->weekday = wd;
            /* a number right after ("quarta dia 2", "sexta 4/12") wins */
            if (tok_is(t, i + 1, "dia") || tok_is(t, i + 1, "feira")
                || (i + 1 < t->ntok && t->tok[i + 1].kind == CWAI_TOK_NUM))
            {
                pending_wd = wd;
                continue;
            }
            e->relative = 1;
            note_date(e, add_days(today, diff == 0 ? 7 : diff), seen_d, &nd);
            continue;
        }
        if (weq(k, "feira") && pending_wd >= 0 && !tok_is(t, i + 1, "dia")
            && !(i + 1 < t->ntok && t->tok[i + 1].kind == CWAI_TOK_NUM))
        {
            int  diff = (pending_wd - cwai_date_weekday(today) + 7) % 7;

            e->relative = 1;
            note_date(e, add_days(today, diff == 0 ? 7 : diff), seen_d, &nd);
            pending_wd = -1;
            continue;
        }
        if (k->kind == CWAI_TOK_NUM && memchr(k->w, '/', k->wlen)) {
            const char  *s1 = memchr(k->w, '/', k->wlen);
            const char  *s2 = memchr(s1 + 1, '/', (size_t) (k->w + k->wlen - s1 - 1));
            int          d, y = today.year;
            size_t       ml = s2 ? (size_t) (s2 - s1 - 1) : (size_t) (k->w + k->wlen - s1 - 1);

            if (parse_uint(k->w, (size_t) (s1 - k->w), &d) == 0
                && parse_uint(s1 + 1, ml, &mo) == 0 && mo >= 1 && mo <= 12
                && d >= 1 && d <= days_in_month(y, mo))
            {
                cwai_date_t  r;

                if (s2 && parse_uint(s2 + 1, (size_t) (k->w + k->wlen - s2 - 1), &y) == 0) {
                    if (y < 100) {
                        y += 2000;
                    }
                }
                r.year = y;
                r.month = mo;
                r.day = d;
                if (!s2 && cwai_date_to_days(r) < cwai_date_to_days(today) - 31) {
                    r.year++;
                }
                note_date(e, r, seen_d, &nd);
                pending_wd = -1;
                continue;
            }
        }
        if (k->kind == CWAI_TOK_NUM && parse_uint(k->w, k->wlen, &v) == 0
            && v >= 1 && v <= 31)
        {
            int  is_day = i > 0 && tok_is(t, i - 1, "dia")
                          && !(i >= 2 && tok_is(t, i - 2, "meio"));
            int  mw = 0;

            if (tok_is(t, i + 1, "de") && i + 2 < t->ntok) {
                mw = month_word(&t->tok[i + 2]);
            } else if (i + 1 < t->ntok) {
                mw = month_word(&t->tok[i + 1]);
            }
            if (mw > 0) {
                cwai_date_t  r;

                r.year = today.year;
                r.month = mw;
                r.day = v <= days_in_month(r.year, mw) ? v : days_in_month(r.year, mw);
                if (cwai_date_to_days(r) < cwai_date_to_days(today) - 31) {
                    r.year++;
                }
                note_date(e, r, seen_d, &nd);
                pending_wd = -1;
                continue;
            }
            if (is_day || pending_wd >= 0) {
                if (is_day || tok_is(t, i - 1, "feira") || weekday_word(t, i - 1) >= 0) {
                    note_date(e, next_day_of_month(today, v), seen_d, &nd);
                    pending_wd = -1;
                    continue;
                }
            }
        }

        /* ---- times ---- */
        if (k->kind == CWAI_TOK_MIXED || (k->kind == CWAI_TOK_NUM && memchr(k->w, ':', k->wlen))) {
            m = cwai_extract_time_token(k->w, k->wlen);
            if (m >= 0) {
                note_time(e, m, seen_t, &nt);
                continue;
            }
        }
        if (weq(k, "meio") && tok_is(t, i + 1, "dia")) {
            note_time(e, 12 * 60, seen_t, &nt);
            i++;
            continue;
        }
        if (k->kind == CWAI_TOK_NUM && parse_uint(k->w, k->wlen, &v) == 0 && v <= 23
            && i > 0 && (tok_is(t, i - 1, "as") || tok_is(t, i - 1, "a")
                         || tok_is(t, i - 1, "das") || tok_is(t, i - 1, "ate")))
        {
            static const char  *const units[] = {
                "dia", "dias", "anos", "vezes", "reais", "meses", "semanas",
                "minutos", "unidades", "pontos", "parcelas", "x", NULL
            };
            int  hours_word = tok_is(t, i + 1, "h") || tok_is(t, i + 1, "horas")
                              || tok_is(t, i + 1, "hora") || tok_is(t, i + 1, "hs");
            int  unit = 0, u;

            for (u = 0; units[u]; u++) {
                unit |= tok_is(t, i + 1, units[u]);
            }
            if (!unit && (hours_word || v >= 7)) {
                note_time(e, v * 60, seen_t, &nt);
                continue;
            }
        }

        /* ---- parts of the day ---- */
        if (weq(k, "manha") || weq(k, "cedinho")) {
            e->daypart = CWAI_DAYPART_MORNING;
            continue;
        }
        if (weq(k, "tarde") && !(i > 0 && tok_is(t, i - 1, "boa"))) {
            e->daypart = CWAI_DAYPART_AFTERNOON;
            continue;
        }
        if (weq(k, "noite") && !(i > 0 && (tok_is(t, i - 1, "boa") || tok_is(t, i - 1, "ontem")))) {
            e->daypart = CWAI_DAYPART_EVENING;
            continue;
        }

        /* ---- age ---- */
        if (k->kind == CWAI_TOK_NUM && parse_uint(k->w, k->wlen, &v) == 0 && v >= 1
            && v <= 120 && (tok_is(t, i + 1, "anos") || tok_is(t, i + 1, "aninhos"))
            && !(i > 0 && (tok_is(t, i - 1, "ha") || tok_is(t, i - 1, "faz"))))
        {
            e->age = v;
            continue;
        }

        /* ---- quantities ---- */
        if ((weq(k, "os") || weq(k, "as")) && i + 1 < t->ntok) {
            v = number_word(&t->tok[i + 1]);
            /* "as 9" is a time ("às 9"), "as 2" two items */
            if (weq(k, "as") && v >= 7 && t->tok[i + 1].kind == CWAI_TOK_NUM) {
                continue;
            }
            if (v >= 2 && v <= 20 && !tok_is(t, i + 2, "horas") && !tok_is(t, i + 2, "h")) {
                e->all = v;
                i++;
                continue;
            }
        }
        if (weq(k, "tudo") || weq(k, "todos") || weq(k, "todas") || weq(k, "juntos")
            || weq(k, "juntas") || weq(k, "junto") || weq(k, "ambos") || weq(k, "ambas")
            || weq(k, "total"))
        {
            if (e->all == 0) {
                e->all = 99;
            }
            continue;
        }
        if ((weq(k, "levar") || weq(k, "levo") || weq(k, "quero") || weq(k, "querer")
             || weq(k, "compro") || weq(k, "comprar") || weq(k, "pegar") || weq(k, "pego")
             || weq(k, "manda") || weq(k, "mais"))
            && i + 1 < t->ntok)
        {
            v = number_word(&t->tok[i + 1]);
            if (v >= 1 && v <= 50 && t->tok[i + 1].kind != CWAI_TOK_MIXED
                && !(weq(k, "quero") && v == 1))
            {
                e->quantity = v;
                i++;
                continue;
            }
        }
        if (i + 1 < t->ntok && (tok_is(t, i + 1, "unidades") || tok_is(t, i + 1, "unidade")
                                || tok_is(t, i + 1, "unid")))
        {
            v = number_word(k);
            if (v >= 1 && v <= 50) {
                e->quantity = v;
            }
        }
    }
    e->ndates = nd;
    e->ntimes = nt;
}
