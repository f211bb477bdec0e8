/*
 * Text normalisation for customer messages. See cwai_text.h.
 */
#include "cwai_text.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 folding ------------------------------------------------------ */

/* U+00C0 .. U+00FF; "" = separator; two-letter folds are in fold2 */
static const char  latin1_fold[65] =
    "aaaaaaEceeeeiiiidnooooo_ouuuuyTT"      /* C0..DF; E, _, T special */
    "aaaaaaEceeeeiiiidnooooo_ouuuuyTy";     /* E0..FF */

/* U+0100 .. U+017F, Latin Extended-A, base letters */
static const char  latin_ext_a[129] =
    "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh" "iiiiiiiiii"
    "ii" "jj" "kkk" "llllllllll" "nnnnnnnnn" "oooooo" "oo" "rrrrrr"
    "ssssssss" "tttttt" "uuuuuuuuuuuu" "ww" "yyy" "zzzzzz" "s";

typedef struct {
    unsigned  emoji;
    unsigned  question;
    unsigned  exclaim;
    unsigned  newlines;
} fold_stats_t;

/* Decodes one UTF-8 sequence; returns its length (>= 1) and the code point
 * in *cp, or U+FFFD for an invalid byte (length 1). */
static size_t
utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    uint32_t  c = p[0];
    size_t    need, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1; c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2; c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3; c &= 0x07;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (need >= n) {
        *cp = 0xfffd;
        return 1;
    }
    for (i = 1; i <= need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if ((need == 2 && c < 0x800) || (need == 3 && (c < 0x10000 || c > 0x10ffff))
        || (c >= 0xd800 && c <= 0xdfff))
    {
        *cp = 0xfffd;
        return 1;
    }
    *cp = c;
    return need + 1;
}

static int
is_emoji(uint32_t cp)
{
    return (cp >= 0x1f000 && cp <= 0x1faff)
        || (cp >= 0x2600 && cp <= 0x27bf)
        || (cp >= 0x2b00 && cp <= 0x2bff)
        || cp == 0x2665 || cp == 0x2764;
}

/* Writes the fold of cp into out (room for 2), returns bytes written;
 * 0 = drop silently; a ' ' = separator. */
static size_t
fold_cp(uint32_t cp, char *out, fold_stats_t *st)
{
    char  c;

    if (cp < 0x80) {
        c = (char) cp;
        if (c >= 'A' && c <= 'Z') {
            c = (char) (c - 'A' + 'a');
        } else if (c == '\r' || c == '\t' || c == '\v' || c == '\f') {
            c = ' ';
        } else if (c == '\n') {
            if (st) {
                st->newlines++;
            }
        } else if (c == '?') {
            if (st) {
                st->question++;
            }
        } else if (c == '!') {
            if (st) {
                st->exclaim++;
            }
        } else if ((unsigned char) c < 0x20 || c == 0x7f) {
            c = ' ';
        }
        out[0] = c;
        return 1;
    }
    if (cp >= 0xc0 && cp <= 0xff) {
        c = latin1_fold[cp - 0xc0];
        switch (c) {
        case '_':
            out[0] = ' ';
            return 1;
        case 'E':                       /* U+00C6 / U+00E6 ae */
            out[0] = 'a';
            out[1] = 'e';
            return 2;
        case 'T':                       /* thorn / sharp s */
            if (cp == 0xdf) {
                out[0] = 's';
                out[1] = 's';
            } else {
                out[0] = 't';
                out[1] = 'h';
            }
            return 2;
        default:
            out[0] = c;
            return 1;
        }
    }
    if (cp >= 0x100 && cp <= 0x17f) {
        out[0] = latin_ext_a[cp - 0x100];
        return 1;
    }
    if (cp == 0xaa) {                   /* ordinal indicators */
        out[0] = 'a';
        return 1;
    }
    if (cp == 0xba) {
        out[0] = 'o';
        return 1;
    }
    if ((cp >= 0x300 && cp <= 0x36f)    /* combining marks (NFD input) */
        || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0x200d || cp == 0x200b
        || cp == 0xfeff || (cp >= 0x1f3fb && cp <= 0x1f3ff))
    {
        return 0;
    }
    if (cp == 0x2019 || cp == 0x2018 || cp == 0x00b4 || cp == 0x0060) {
        out[0] = '\'';
        return 1;
    }
    if (cp == 0x201c || cp == 0x201d) {
        out[0] = '"';
        return 1;
    }
    if (cp == 0x2026) {                 /* ellipsis */
        out[0] = '.';
        return 1;
    }
    if (cp == 0x2028 || cp == 0x2029) {
        if (st) {
            st->newlines++;
        }
        out[0] = '\n';
        return 1;
    }
    if (is_emoji(cp)) {
        if (st) {
            st->emoji++;
        }
        out[0] = ' ';
        return 1;
    }
    if (cp >= 0x180 && cp < 0x2000) {
        /* other letters (Greek, Cyrillic...): kept as they are by caller */
        return (size_t) -1;
    }
    out[0] = ' ';
    return 1;
}

static size_t
fold_into(const char *s, size_t len, char *out, size_t cap, fold_stats_t *st)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i = 0, o = 0, n, k;
    uint32_t              cp;
    char                  tmp[2];

    if (cap == 0) {
        return 0;
    }
    while (i < len) {
        n = utf8_next(p + i, len - i, &cp);
        k = fold_cp(cp, tmp, st);
        if (k == (size_t) -1) {
            if (o + n >= cap) {
                break;
            }
            memcpy(out + o, p + i, n);
            o += n;
        } else {
            if (o + k >= cap) {
                break;
            }
            memcpy(out + o, tmp, k);
            o += k;
        }
        i += n;
    }
    out[o] = '\0';
    return o;
}

size_t
cwai_text_fold(const char *s, size_t len, char *out, size_t cap)
{
    return fold_into(s, len, out, cap, NULL);
}

/* ---- word tables -------------------------------------------------------- */

typedef struct {
    const char  *from;
    const char  *to;
} slang_t;

/* sorted by from (strcmp order) for bsearch */
static const slang_t  slang_table[] = {
    { "add", "adicionar" },
    { "agr", "agora" },
    { "amnh", "amanha" },
    { "bj", "beijos" },
    { "bjo", "beijos" },
    { "bjos", "beijos" },
    { "bjs", "beijos" },
    { "bjss", "beijos" },
    { "blz", "beleza" },
    { "brigada", "obrigado" },
    { "brigado", "obrigado" },
    { "cel", "celular" },
    { "cmg", "comigo" },
    { "ctg", "contigo" },
    { "ctz", "certeza" },
    { "dagua", "d agua" },
    { "dnv", "de novo" },
    { "dps", "depois" },
    { "eh", "e" },
    { "fds", "fim de semana" },
    { "gnt", "gente" },
    { "hj", "hoje" },
    { "hr", "hora" },
    { "hrs", "horas" },
    { "insta", "instagram" },
    { "kd", "cade" },
    { "mds", "meu deus" },
    { "msg", "mensagem" },
    { "mt", "muito" },
    { "mta", "muita" },
    { "mto", "muito" },
    { "mts", "muitos" },
    { "n", "nao" },
    { "nd", "nada" },
    { "neh", "ne" },
    { "ngm", "ninguem" },
    { "nn", "nao" },
    { "obg", "obrigado" },
    { "obgd", "obrigado" },
    { "obgda", "obrigado" },
    { "obgdo", "obrigado" },
    { "obrigada", "obrigado" },
    { "oie", "oi" },
    { "oq", "o que" },
    { "pf", "por favor" },
    { "pfv", "por favor" },
    { "pfvr", "por favor" },
    { "pls", "por favor" },
    { "plz", "por favor" },
    { "pq", "porque" },
    { "pra", "para" },
    { "pras", "para" },
    { "pro", "para" },
    { "pros", "para" },
    { "q", "que" },
    { "qdo", "quando" },
    { "qlq", "qualquer" },
    { "qm", "quem" },
    { "qnd", "quando" },
    { "qndo", "quando" },
    { "qnt", "quanto" },
    { "qnto", "quanto" },
    { "qq", "qualquer" },
    { "qqr", "qualquer" },
    { "qr", "quer" },
    { "qria", "queria" },
    { "qro", "quero" },
    { "qt", "quanto" },
    { "qta", "quanta" },
    { "qtas", "quantas" },
    { "qto", "quanto" },
    { "qtos", "quantos" },
    { "rs", "risos" },
    { "rsrs", "risos" },
    { "sdd", "saudade" },
    { "sdds", "saudade" },
    { "ss", "sim" },
    { "ta", "esta" },
    { "tah", "esta" },
    { "tb", "tambem" },
    { "tbem", "tambem" },
    { "tbm", "tambem" },
    { "td", "tudo" },
    { "tds", "todos" },
    { "tmb", "tambem" },
    { "to", "estou" },
    { "vc", "voce" },
    { "vcs", "voces" },
    { "vdd", "verdade" },
    { "vlw", "valeu" },
    { "whats", "whatsapp" },
    { "wpp", "whatsapp" },
    { "zap", "whatsapp" },
};

static int
cmp_slang(const void *k, const void *e)
{
    return strcmp((const char *) k, ((const slang_t *) e)->from);
}

const char *
cwai_text_slang(const char *w, size_t len)
{
    char            key[16];
    const slang_t  *s;

    if (len == 0 || len >= sizeof(key)) {
        return NULL;
    }
    memcpy(key, w, len);
    key[len] = '\0';
    /* laughter: kkk, kkkk..., hahaha, hehe */
    if ((len >= 2 && strspn(key, "k") == len)
        || (len >= 4 && (strspn(key, "ha") == len || strspn(key, "he") == len)))
    {
        return "risos";
    }
    s = bsearch(key, slang_table, sizeof(slang_table) / sizeof(slang_table[0]),
                sizeof(slang_table[0]), cmp_slang);
    return s ? s->to : NULL;
}

/* sorted stopwords (pt, en, es), folded */
static const char  *const stopwords[] = {   /* pt, en, es */
    "a", "ai", "ainda", "an", "and", "ao", "aos", "aquela", "aquele", "aqui",
    "are", "as", "ate", "com", "como", "da", "das", "de", "del", "dela",
    "dele", "do", "does", "dos", "e", "el", "ela", "ele", "eles", "em",
    "entao", "es", "essa", "esse", "esta", "estao", "estou", "eu", "foi",
    "for", "have", "how", "i", "is", "isso", "isto", "it", "ja", "la", "las",
    "lhe", "los", "mas", "me", "meu", "mi", "minha", "my", "na", "nas", "ne",
    "no", "nos", "num", "numa", "o", "of", "os", "ou", "para", "pela", "pelo",
    "pode", "por", "posso", "quais", "qual", "quanta", "quanto", "quantos",
    "que", "queria", "quero", "se", "sera", "seu", "so", "su", "sua",
    "tambem", "te", "tem", "temos", "ter", "the", "to", "um", "uma", "umas",
    "uns", "vai", "voce", "voces", "vou", "y", "you", "your",
};

static int
cmp_str(const void *k, const void *e)
{
    return strcmp((const char *) k, *(const char *const *) e);
}

static int
in_sorted(const char *const *tab, size_t n, const char *w, size_t len)
{
    char  key[24];

    if (len == 0 || len >= sizeof(key)) {
        return 0;
    }
    memcpy(key, w, len);
    key[len] = '\0';
    return bsearch(key, tab, n, sizeof(tab[0]), cmp_str) != NULL;
}

int
cwai_text_is_stopword(const char *w, size_t len)
{
    static const size_t  n = sizeof(stopwords) / sizeof(stopwords[0]);

    return in_sorted(stopwords, n, w, len);
}

/* ---- stemming ------------------------------------------------------------ */

static const char  *const stem_keep[] = {
    "antes", "apos", "atras", "bonus", "depois", "gratis", "lapis", "mais",
    "menos", "onibus", "pires", "pois", "simples", "tres", "virus",
};

static int
ends(const char *w, size_t len, const char *suf)
{
    size_t  n = strlen(suf);

    return len >= n && memcmp(w + len - n, suf, n) == 0;
}

size_t
cwai_text_stem(const char *w, size_t len, char *out)
{
    size_t  n = len;
    char    p;

    memcpy(out, w, len);
    out[len] = '\0';
    /* infinitives: "mandar" -> "manda", "devolver" -> "devolve" */
    if (len >= 5 && w[len - 1] == 'r'
        && (w[len - 2] == 'a' || w[len - 2] == 'e' || w[len - 2] == 'i'))
    {
        out[len - 1] = '\0';
        return len - 1;
    }
    if (len <= 3 || w[len - 1] != 's'
        || in_sorted(stem_keep, sizeof(stem_keep) / sizeof(stem_keep[0]), w, len))
    {
        return len;
    }
    if (ends(w, len, "oes")) {
        out[len - 3] = 'a';
        out[len - 2] = 'o';
        n = len - 1;
    } else if (ends(w, len, "ais") && len > 4) {
        out[len - 2] = 'l';
        n = len - 1;
    } else if (ends(w, len, "eis") && len > 4) {
        out[len - 2] = 'l';
        n = len - 1;
    } else if (len > 4 && ends(w, len, "es") && (w[len - 3] == 'r' || w[len - 3] == 'z')) {
        n = len - 2;
    } else if (ends(w, len, "ns")) {
        out[len - 2] = 'm';
        n = len - 1;
    } else {
        p = w[len - 2];
        if (p == 'a' || p == 'e' || p == 'o' || p == 'u') {
            n = len - 1;
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- tokenising ---------------------------------------------------------- */

static int
is_wordc(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Collapses repeated letters in place; returns the new length. */
static size_t
collapse(char *w, size_t len)
{
    size_t  i, o = 0, run;

    for (i = 0; i < len; ) {
        run = 1;
        while (i + run < len && w[i + run] == w[i]) {
            run++;
        }
        if (run >= 3 && !is_digit((unsigned char) w[i])) {
            w[o++] = w[i];
        } else {
            memmove(w + o, w + i, run);
            o += run;
        }
        i += run;
    }
    if (o > 2 && w[o - 1] == w[o - 2] && is_vowel(w[o - 1])) {
        o--;
    }
    return o;
}

static char *
arena_put(cwai_ntext_t *t, const char *s, size_t n)
{
    char  *p;

    if (t->buf_len + n + 1 > t->buf_cap) {
        return NULL;
    }
    p = t->buf + t->buf_len;
    memcpy(p, s, n);
    p[n] = '\0';
    t->buf_len += n + 1;
    return p;
}

static int
set_word(cwai_ntext_t *t, cwai_tok_t *k, const char *w, size_t n)
{
    char    tmp[256];
    size_t  sl;

    k->w = arena_put(t, w, n);
    if (k->w == NULL) {
        return -1;
    }
    k->wlen = (uint16_t) n;
    if (n < sizeof(tmp) && k->kind == CWAI_TOK_WORD) {
        sl = cwai_text_stem(w, n, tmp);
        if (sl == n) {
            k->stem = k->w;
        } else {
            k->stem = arena_put(t, tmp, sl);
            if (k->stem == NULL) {
                return -1;
            }
        }
        k->stemlen = (uint16_t) sl;
    } else {
        k->stem = k->w;
        k->stemlen = (uint16_t) n;
    }
    k->stop = (uint8_t) cwai_text_is_stopword(k->w, n);
    return 0;
}

static int
push_tok(cwai_ntext_t *t, const char *raw, size_t rawlen, const char *w, size_t wlen,
    int kind, int brk, int fixed)
{
    cwai_tok_t  *k;

    if (t->ntok == t->tok_cap) {
        return -1;
    }
    k = &t->tok[t->ntok];
    memset(k, 0, sizeof(*k));
    k->kind = (uint8_t) kind;
    k->brk = (uint8_t) brk;
    k->fixed = (uint8_t) fixed;
    k->raw = arena_put(t, raw, rawlen);
    if (k->raw == NULL) {
        return -1;
    }
    k->rawlen = (uint16_t) rawlen;
    if (set_word(t, k, w, wlen) != 0) {
        return -1;
    }
    t->ntok++;
    return 0;
}

static int
rebuild_folded(cwai_ntext_t *t)
{
    size_t  i, need = 1, o = 0;
    char   *p;

    for (i = 0; i < t->ntok; i++) {
        need += t->tok[i].wlen + 1;
    }
    p = realloc(t->folded, need);
    if (p == NULL) {
        return -1;
    }
    t->folded = p;
    for (i = 0; i < t->ntok; i++) {
        if (i) {
            p[o++] = ' ';
        }
        memcpy(p + o, t->tok[i].w, t->tok[i].wlen);
        o += t->tok[i].wlen;
    }
    p[o] = '\0';
    t->folded_len = o;
    return 0;
}

/* Fixed expressions that mean one thing: "à prova d'água" is "waterproof",
 * not "water". The words become one token. */
static const struct {
    const char  *words[4];
    const char  *as;
} expressions[] = {
    { { "prova", "d", "agua", NULL }, "aprovadagua" },
    { { "prova", "dagua", NULL, NULL }, "aprovadagua" },
    { { "waterproof", NULL, NULL, NULL }, "aprovadagua" },
};

/* Greetings carry no topic: "boa noite" must not retrieve "Âmbar Noturno". */
static void
mark_greetings(cwai_ntext_t *t)
{
    size_t  i;

    for (i = 0; i + 1 < t->ntok; i++) {
        const char  *a = t->tok[i].w, *b = t->tok[i + 1].w;

        if ((strcmp(a, "bom") == 0 || strcmp(a, "boa") == 0 || strcmp(a, "buenos") == 0
             || strcmp(a, "buenas") == 0 || strcmp(a, "good") == 0)
            && (strcmp(b, "dia") == 0 || strcmp(b, "tarde") == 0 || strcmp(b, "noite") == 0
                || strcmp(b, "dias") == 0 || strcmp(b, "tardes") == 0 || strcmp(b, "noches") == 0
                || strcmp(b, "morning") == 0 || strcmp(b, "afternoon") == 0
                || strcmp(b, "evening") == 0))
        {
            t->tok[i].stop = 1;
            t->tok[i + 1].stop = 1;
        }
    }
}

static void
merge_expressions(cwai_ntext_t *t)
{
    size_t  e, i, j, n;

    for (e = 0; e < sizeof(expressions) / sizeof(expressions[0]); e++) {
        for (n = 0; n < 4 && expressions[e].words[n]; n++) {
        }
        for (i = 0; i + n <= t->ntok; i++) {
            cwai_tok_t  *k = &t->tok[i];

            for (j = 0; j < n; j++) {
                if (strcmp(t->tok[i + j].w, expressions[e].words[j]) != 0) {
                    break;
                }
            }
            if (j < n) {
                continue;
            }
            if (set_word(t, k, expressions[e].as, strlen(expressions[e].as)) != 0) {
                return;
            }
            k->fixed = 1;
            k->stop = 0;
            memmove(&t->tok[i + 1], &t->tok[i + n], (t->ntok - i - n) * sizeof(cwai_tok_t));
            t->ntok -= n - 1;
        }
    }
}

void
cwai_text_free(cwai_ntext_t *t)
{
    if (t == NULL) {
        return;
    }
    free(t->buf);
    free(t->tok);
    free(t->folded);
    memset(t, 0, sizeof(*t));
}

int
cwai_text_parse(cwai_ntext_t *t, const char *s, size_t len)
{
    fold_stats_t  st;
    char         *f;
    size_t        flen, i, start, n, wl;
    int           brk = 0, kind, has_alpha, has_digit;
    const char   *exp, *e, *sp;
    char          word[64];

    cwai_text_free(t);
    if (s == NULL) {
        len = 0;
    }
    if (len > CWAI_TEXT_MAX_INPUT) {
        len = CWAI_TEXT_MAX_INPUT;
    }
    memset(&st, 0, sizeof(st));
    f = malloc(len + 1);
    if (f == NULL) {
        return -1;
    }
    flen = fold_into(s ? s : "", len, f, len + 1, &st);
    t->n_emoji = st.emoji;
    t->n_question = st.question;
    t->n_exclaim = st.exclaim;

    /* at most one token per 2 bytes, each expanding to at most 3 words */
    t->tok_cap = (flen / 2 + 1) * 3 + 16;
    t->tok = malloc(t->tok_cap * sizeof(cwai_tok_t));
    /* per token: raw + word + stem, plus room for a typo fix (<= 2 x 33) */
    t->buf_cap = 3 * flen + 72 * t->tok_cap + 64;
    t->buf = malloc(t->buf_cap);
    if (t->tok == NULL || t->buf == NULL) {
        free(f);
        cwai_text_free(t);
        return -1;
    }
    t->n_bubbles = 1;

    for (i = 0; i < flen; ) {
        unsigned char  c = (unsigned char) f[i];

        if (!is_wordc(c)) {
            if (c == '\n' || c == '.' || c == '!' || c == '?' || c == ';') {
                brk = 1;
                if (c == '\n' && t->ntok > 0) {
                    t->n_bubbles++;
                }
            }
            i++;
            continue;
        }
        start = i;
        has_alpha = has_digit = 0;
        while (i < flen) {
            c = (unsigned char) f[i];
            if (is_wordc(c)) {
                if (is_digit(c)) {
                    has_digit = 1;
                } else {
                    has_alpha = 1;
                }
                i++;
            } else if ((c == ',' || c == '.' || c == ':' || c == '/') && i > start
                       && is_digit((unsigned char) f[i - 1]) && i + 1 < flen
                       && is_digit((unsigned char) f[i + 1]))
            {
                i++;
            } else if (c == '%' && i > start && is_digit((unsigned char) f[i - 1])) {
                i++;
                break;
            } else if (c == '$' && i == start + 1 && f[start] == 'r') {
                i++;
                has_alpha = 1;
                break;
            } else {
                break;
            }
        }
        n = i - start;
        if (n >= sizeof(word)) {
            n = sizeof(word) - 1;
        }
        memcpy(word, f + start, n);
        word[n] = '\0';
        kind = has_digit ? (has_alpha ? CWAI_TOK_MIXED : CWAI_TOK_NUM) : CWAI_TOK_WORD;
        exp = NULL;
        if (kind == CWAI_TOK_WORD && n >= 3 && strspn(word, "k") == n) {
            exp = "risos";                      /* kkkk before collapsing */
        }
        if (kind == CWAI_TOK_WORD) {
            wl = collapse(word, n);
        } else {
            wl = n;
        }
        if (exp == NULL && kind == CWAI_TOK_WORD) {
            exp = cwai_text_slang(word, wl);
        }
        if (exp == NULL) {
            if (push_tok(t, f + start, n, word, wl, kind, brk, wl != n) != 0) {
                goto nomem;
            }
        } else {
            for (e = exp; *e; e = sp) {
                sp = strchr(e, ' ');
                if (sp == NULL) {
                    sp = e + strlen(e);
                }
                if (push_tok(t, f + start, n, e, (size_t) (sp - e), CWAI_TOK_WORD,
                             brk, 1) != 0)
                {
                    goto nomem;
                }
                brk = 0;
                if (*sp == ' ') {
                    sp++;
                }
            }
        }
        brk = 0;
    }
    free(f);
    merge_expressions(t);
    mark_greetings(t);
    if (rebuild_folded(t) != 0) {
        cwai_text_free(t);
        return -1;
    }
    return 0;

nomem:
    free(f);
    cwai_text_free(t);
    return -1;
}

int
cwai_text_find(const cwai_ntext_t *t, const char *word, size_t from)
{
    size_t  i, n = strlen(word);

    for (i = from; i < t->ntok; i++) {
        if (t->tok[i].wlen == n && memcmp(t->tok[i].w, word, n) == 0) {
            return (int) i;
        }
    }
    return -1;
}

static int
tok_match(const cwai_tok_t *k, const char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '*') {
        n--;
        return (k->wlen >= n && memcmp(k->w, p, n) == 0);
    }
    return (k->wlen == n && memcmp(k->w, p, n) == 0)
        || (k->stemlen == n && memcmp(k->stem, p, n) == 0);
}

int
cwai_text_has_phrase(const cwai_ntext_t *t, const char *phrase)
{
    const char  *words[16];
    size_t       lens[16], nw = 0, i, j;
    const char  *p = phrase, *sp;

    while (*p && nw < 16) {
        while (*p == ' ') {
            p++;
        }
        if (!*p) {
            break;
        }
        sp = strchr(p, ' ');
        if (sp == NULL) {
            sp = p + strlen(p);
        }
        words[nw] = p;
        lens[nw++] = (size_t) (sp - p);
        p = sp;
    }
    if (nw == 0 || nw > t->ntok) {
        return 0;
    }
    for (i = 0; i + nw <= t->ntok; i++) {
        for (j = 0; j < nw; j++) {
            if (!tok_match(&t->tok[i + j], words[j], lens[j])) {
                break;
            }
        }
        if (j == nw) {
            return 1;
        }
    }
    return 0;
}

/* ---- language ------------------------------------------------------------ */

static const char  *const lang_en[] = {
    "afternoon", "any", "are", "buy", "can", "could", "does", "evening",
    "hello", "help", "hey", "hi", "how", "human", "is", "morning", "much",
    "my", "need", "open", "please", "price", "shipping", "speak", "talk",
    "thank", "thanks", "the", "there", "this", "what", "when", "where",
    "with", "would", "you", "your",
};

static const char  *const lang_es[] = {
    "alguien", "buenas", "buenos", "con", "cuanto", "cuesta", "donde", "el",
    "envian", "envio", "es", "estan", "gracias", "hablar", "hay", "hola",
    "los", "muchas", "necesito", "noches", "precio", "puedo", "quiero",
    "tardes", "tengo", "tienda", "tiene", "tienen", "usted", "ustedes", "y",
    "yo",
};

static const char  *const lang_pt[] = {
    "atendente", "boa", "bom", "com", "da", "do", "esta", "estou", "eu",
    "falar", "minha", "nao", "obrigado", "oi", "ola", "pedido", "pra",
    "preco", "quanto", "quero", "tem", "tudo", "um", "uma", "voce", "voces",
};

const char *
cwai_text_language(const cwai_ntext_t *t)
{
    size_t  i;
    int     en = 0, es = 0, pt = 0;

#define N(a) (sizeof(a) / sizeof(a[0]))
    for (i = 0; i < t->ntok; i++) {
        const cwai_tok_t  *k = &t->tok[i];

        if (i > 0 && t->tok[i - 1].raw == k->raw) {
            continue;                   /* second word of one expansion */
        }
        en += in_sorted(lang_en, N(lang_en), k->raw, k->rawlen);
        es += in_sorted(lang_es, N(lang_es), k->raw, k->rawlen);
        pt += in_sorted(lang_pt, N(lang_pt), k->raw, k->rawlen)
              || (k->fixed && k->rawlen != k->wlen
                  && !(k->rawlen == 2 && memcmp(k->raw, "to", 2) == 0));
    }
#undef N
    if (en > pt && en >= es && en > 0) {
        return "en";
    }
    if (es > pt && es > en) {
        return "es";
    }
    return "pt-BR";
}

/* ---- edit distance ------------------------------------------------------- */

int
cwai_text_distance(const char *a, size_t al, const char *b, size_t bl, int max)
{
    int     d[3][34];
    size_t  i, j;
    int    *pp, *p, *c, best, v;

    if (al > 32 || bl > 32) {
        return max + 1;
    }
    if ((al > bl ? al - bl : bl - al) > (size_t) max) {
        return max + 1;
    }
    pp = d[0];
    p = d[1];
    c = d[2];
    for (j = 0; j <= bl; j++) {
        p[j] = (int) j;
    }
    for (i = 1; i <= al; i++) {
        int  *tmp;

        c[0] = (int) i;
        best = c[0];
        for (j = 1; j <= bl; j++) {
            int  cost = a[i - 1] == b[j - 1] ? 0 : 1;

            v = p[j] + 1;
            if (c[j - 1] + 1 < v) {
                v = c[j - 1] + 1;
            }
            if (p[j - 1] + cost < v) {
                v = p[j - 1] + cost;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && pp[j - 2] + 1 < v)
            {
                v = pp[j - 2] + 1;
            }
            c[j] = v;
            if (v < best) {
                best = v;
            }
        }
        if (best > max) {
            return max + 1;
        }
        tmp = pp;
        pp = p;
        p = c;
        c = tmp;
    }
    return p[bl] > max ? max + 1 : p[bl];
}

/* ---- vocabulary ------------------------------------------------------------ */

typedef struct {
    uint32_t  off;              /* into chars */
    uint16_t  len;
    uint32_t  count;
} vword_t;

typedef struct {
    uint64_t  h;
    uint32_t  id;
} vdel_t;

struct cwai_vocab_s {
    char      *chars;
    size_t     chars_len, chars_cap;
    vword_t   *words;
    size_t     nwords, words_cap;
    uint32_t  *slots;           /* open addressing: id + 1, 0 = empty */
    size_t     nslots;          /* power of two */
    vdel_t    *dels;            /* sorted by h */
    size_t     ndels;
};

cwai_vocab_t *
cwai_vocab_new(void)
{
    cwai_vocab_t  *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        return NULL;
    }
    v->nslots = 1024;
    v->slots = calloc(v->nslots, sizeof(uint32_t));
    if (v->slots == NULL) {
        free(v);
        return NULL;
    }
    return v;
}

void
cwai_vocab_free(cwai_vocab_t *v)
{
    if (v == NULL) {
        return;
    }
    free(v->chars);
    free(v->words);
    free(v->slots);
    free(v->dels);
    free(v);
}

static size_t
vocab_slot(const cwai_vocab_t *v, const char *w, size_t len, uint64_t h)
{
    size_t  i = (size_t) h & (v->nslots - 1);

    for ( ;; ) {
        uint32_t  s = v->slots[i];

        if (s == 0) {
            return i;
        }
        if (v->words[s - 1].len == len && memcmp(v->chars + v->words[s - 1].off, w, len) == 0) {
            return i;
        }
        i = (i + 1) & (v->nslots - 1);
    }
}

static int
vocab_grow(cwai_vocab_t *v)
{
    uint32_t  *old = v->slots;
    size_t     oldn = v->nslots, i;

    v->nslots *= 2;
    v->slots = calloc(v->nslots, sizeof(uint32_t));
    if (v->slots == NULL) {
        v->slots = old;
        v->nslots = oldn;
        return -1;
    }
    for (i = 0; i < oldn; i++) {
        if (old[i]) {
            const vword_t  *w = &v->words[old[i] - 1];
            const char     *s = v->chars + w->off;

            v->slots[vocab_slot(v, s, w->len, cwai_hash64(s, w->len))] = old[i];
        }
    }
    free(old);
    return 0;
}

int
cwai_vocab_add(cwai_vocab_t *v, const char *w, size_t len)
{
    size_t  i;

    if (len == 0 || len > 32) {
        return 0;
    }
    if ((v->nwords + 1) * 2 > v->nslots && vocab_grow(v) != 0) {
        return -1;
    }
    i = vocab_slot(v, w, len, cwai_hash64(w, len));
    if (v->slots[i]) {
        v->words[v->slots[i] - 1].count++;
        return 0;
    }
    if (v->nwords == v->words_cap) {
        size_t    nc = v->words_cap ? v->words_cap * 2 : 256;
        vword_t  *nw = realloc(v->words, nc * sizeof(vword_t));

        if (nw == NULL) {
            return -1;
        }
        v->words = nw;
        v->words_cap = nc;
    }
    if (v->chars_len + len + 1 > v->chars_cap) {
        size_t  nc = v->chars_cap ? v->chars_cap * 2 : 4096;
        char   *np;

        while (nc < v->chars_len + len + 1) {
            nc *= 2;
        }
        np = realloc(v->chars, nc);
        if (np == NULL) {
            return -1;
        }
        v->chars = np;
        v->chars_cap = nc;
    }
    memcpy(v->chars + v->chars_len, w, len);
    v->chars[v->chars_len + len] = '\0';
    v->words[v->nwords].off = (uint32_t) v->chars_len;
    v->words[v->nwords].len = (uint16_t) len;
    v->words[v->nwords].count = 1;
    v->chars_len += len + 1;
    v->slots[i] = (uint32_t) ++v->nwords;
    return 0;
}

int
cwai_vocab_add_text(cwai_vocab_t *v, const char *s, size_t len)
{
    cwai_ntext_t  t;
    size_t       i;
    int          rc = 0;

    memset(&t, 0, sizeof(t));
    if (cwai_text_parse(&t, s, len) != 0) {
        return -1;
    }
    for (i = 0; i < t.ntok && rc == 0; i++) {
        if (t.tok[i].kind == CWAI_TOK_WORD) {
            rc = cwai_vocab_add(v, t.tok[i].w, t.tok[i].wlen);
        }
    }
    cwai_text_free(&t);
    return rc;
}

static int
cmp_del(const void *a, const void *b)
{
    const vdel_t  *x = a, *y = b;

    if (x->h != y->h) {
        return x->h < y->h ? -1 : 1;
    }
    return x->id < y->id ? -1 : (x->id > y->id);
}

static uint64_t
hash_del(const char *w, size_t len, size_t skip)
{
    uint64_t  h = CWAI_HASH64_INIT;

    h = cwai_hash64_more(h, w, skip);
    return cwai_hash64_more(h, w + skip + 1, len - skip - 1);
}

int
cwai_vocab_freeze(cwai_vocab_t *v)
{
    size_t  i, j, n = 0;

    free(v->dels);
    v->dels = NULL;
    v->ndels = 0;
    for (i = 0; i < v->nwords; i++) {
        if (v->words[i].len >= 3) {
            n += v->words[i].len + 1;
        }
    }
    if (n == 0) {
        return 0;
    }
    v->dels = malloc(n * sizeof(vdel_t));
    if (v->dels == NULL) {
        return -1;
    }
    for (i = 0; i < v->nwords; i++) {
        const char  *s = v->chars + v->words[i].off;
        size_t       len = v->words[i].len;

        if (len < 3) {
            continue;
        }
        v->dels[v->ndels].h = cwai_hash64(s, len);
        v->dels[v->ndels++].id = (uint32_t) i;
        for (j = 0; j < len; j++) {
            v->dels[v->ndels].h = hash_del(s, len, j);
            v->dels[v->ndels++].id = (uint32_t) i;
        }
    }
    qsort(v->dels, v->ndels, sizeof(vdel_t), cmp_del);
    return 0;
}

int
cwai_vocab_has(const cwai_vocab_t *v, const char *w, size_t len)
{
    if (v == NULL || len == 0 || len > 32) {
        return 0;
    }
    return v->slots[vocab_slot(v, w, len, cwai_hash64(w, len))] != 0;
}

size_t
cwai_vocab_size(const cwai_vocab_t *v)
{
    return v ? v->nwords : 0;
}

size_t
cwai_vocab_bytes(const cwai_vocab_t *v)
{
    if (v == NULL) {
        return 0;
    }
    return sizeof(*v) + v->chars_cap + v->words_cap * sizeof(vword_t)
           + v->nslots * sizeof(uint32_t) + v->ndels * sizeof(vdel_t);
}

const char *
cwai_vocab_correct(const cwai_vocab_t *v, const char *w, size_t len)
{
    size_t          j, lo, hi, mid, k;
    uint64_t        h;
    const vword_t  *best = NULL;
    int             bestd = 3, maxd, d;

    if (v == NULL || v->dels == NULL || len < 4 || len > 32 || cwai_vocab_has(v, w, len)) {
        return NULL;
    }
    maxd = len >= 8 ? 2 : 1;
    for (j = 0; j <= len; j++) {
        h = j == len ? cwai_hash64(w, len) : hash_del(w, len, j);
        lo = 0;
        hi = v->ndels;
        while (lo < hi) {
            mid = (lo + hi) / 2;
            if (v->dels[mid].h < h) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (k = lo; k < v->ndels && v->dels[k].h == h; k++) {
            const vword_t  *c = &v->words[v->dels[k].id];
            const char     *cs = v->chars + c->off;

            d = cwai_text_distance(w, len, cs, c->len, maxd);
            if (d > maxd || c->len < 3) {
                continue;
            }
            if (best == NULL || d < bestd || (d == bestd && c->count > best->count)
                || (d == bestd && c->count == best->count
                    && strcmp(cs, v->chars + best->off) < 0))
            {
                best = c;
                bestd = d;
            }
        }
    }
    return best ? v->chars + best->off : NULL;
}

int
cwai_text_correct(cwai_ntext_t *t, const cwai_vocab_t *v)
{
    size_t       i;
    int          n = 0;
    const char  *fix;

    if (v == NULL) {
        return 0;
    }
    for (i = 0; i < t->ntok; i++) {
        cwai_tok_t  *k = &t->tok[i];

        if (k->kind != CWAI_TOK_WORD || k->wlen < 4 || k->stop
            || (k->fixed && k->wlen != k->rawlen))
        {
            continue;
        }
        fix = cwai_vocab_correct(v, k->w, k->wlen);
        if (fix == NULL) {
            continue;
        }
        if (set_word(t, k, fix, strlen(fix)) != 0) {
            return n;
        }
        k->fixed = 1;
        n++;
    }
    if (n > 0) {
        (void) rebuild_folded(t);
    }
    return n;
}
