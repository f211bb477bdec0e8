/*
 * Locale data: time zones, names, formatting, Brazilian places.
 * See cwai_locale.h.
 */
#include "cwai_locale.h"

#include <stdio.h>
#include <string.h>

/* ---- time zones ----------------------------------------------------------
 * Zones without daylight-saving time (as of 2026). Brazil abolished DST in
 * 2019; Mexico (except the border) in 2022; Paraguay adopted permanent -03
 * in 2024. Sorted by name for bsearch-free linear lookup (the table is tiny).
 */
typedef struct {
    const char  *name;
    int          minutes;
} tz_t;

static const tz_t  tz_table[] = {
    { "America/Araguaina", -180 },
    { "America/Argentina/Buenos_Aires", -180 },
    { "America/Asuncion", -180 },
    { "America/Bahia", -180 },
    { "America/Belem", -180 },
    { "America/Boa_Vista", -240 },
    { "America/Bogota", -300 },
    { "America/Buenos_Aires", -180 },
    { "America/Campo_Grande", -240 },
    { "America/Caracas", -240 },
    { "America/Cayenne", -180 },
    { "America/Costa_Rica", -360 },
    { "America/Cuiaba", -240 },
    { "America/Eirunepe", -300 },
    { "America/El_Salvador", -360 },
    { "America/Fortaleza", -180 },
    { "America/Guatemala", -360 },
    { "America/Guayaquil", -300 },
    { "America/La_Paz", -240 },
    { "America/Lima", -300 },
    { "America/Maceio", -180 },
    { "America/Managua", -360 },
    { "America/Manaus", -240 },
    { "America/Mexico_City", -360 },
    { "America/Montevideo", -180 },
    { "America/Noronha", -120 },
    { "America/Panama", -300 },
    { "America/Paramaribo", -180 },
    { "America/Porto_Velho", -240 },
    { "America/Puerto_Rico", -240 },
    { "America/Recife", -180 },
    { "America/Rio_Branco", -300 },
    { "America/Santarem", -180 },
    { "America/Santo_Domingo", -240 },
    { "America/Sao_Paulo", -180 },
    { "America/Tegucigalpa", -360 },
    { "Brazil/Acre", -300 },
    { "Brazil/DeNoronha", -120 },
    { "Brazil/East", -180 },
    { "Brazil/West", -240 },
    { "Etc/UTC", 0 },
    { "GMT", 0 },
    { "UTC", 0 },
};

int
cwai_tz_offset(const char *iana, int *minutes)
{
    size_t  i;

    if (iana == NULL) {
        return -1;
    }
    for (i = 0; i < sizeof(tz_table) / sizeof(tz_table[0]); i++) {
        if (strcmp(tz_table[i].name, iana) == 0) {
            *minutes = tz_table[i].minutes;
            return 0;
        }
    }
    return -1;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t  q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

cwai_local_t
cwai_local_from_unix(int64_t unix_time, int offset_minutes)
{
    cwai_local_t  l;
    int64_t       t = unix_time + (int64_t) offset_minutes * 60;
    int64_t       days = floor_div(t, 86400);

    l.date = cwai_date_from_days(days);
    l.minute = (int) ((t - days * 86400) / 60);
    l.wday = cwai_date_weekday(l.date);
    return l;
}

int64_t
cwai_local_to_unix(cwai_date_t date, int minute, int offset_minutes)
{
    return cwai_date_to_days(date) * 86400 + (int64_t) minute * 60
           - (int64_t) offset_minutes * 60;
}

/* ---- names and formats ---------------------------------------------------- */

int
cwai_lang_family(const char *lang)
{
    if (lang == NULL) {
        return 0;
    }
    if ((lang[0] == 'e' || lang[0] == 'E') && (lang[1] == 'n' || lang[1] == 'N')) {
        return 1;
    }
    if ((lang[0] == 'e' || lang[0] == 'E') && (lang[1] == 's' || lang[1] == 'S')) {
        return 2;
    }
    return 0;
}

static const char  *const wd_short[3][7] = {
    { "domingo", "segunda", "terça", "quarta", "quinta", "sexta", "sábado" },
    { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" },
    { "domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado" },
};

static const char  *const wd_long_pt[7] = {
    "domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira",
    "sexta-feira", "sábado"
};

const char *
cwai_weekday_name(int wday, const char *lang)
{
    return wd_short[cwai_lang_family(lang)][((wday % 7) + 7) % 7];
}

const char *
cwai_weekday_long(int wday, const char *lang)
{
    int  f = cwai_lang_family(lang);

    wday = ((wday % 7) + 7) % 7;
    return f == 0 ? wd_long_pt[wday] : wd_short[f][wday];
}

void
cwai_fmt_ddmm(cwai_date_t d, char *buf, size_t size)
{
    snprintf(buf, size, "%02d/%02d", d.day % 100, d.month % 100);
}

void
cwai_fmt_day(cwai_date_t d, const char *lang, char *buf, size_t size)
{
    char  dm[8];

    cwai_fmt_ddmm(d, dm, sizeof(dm));
    snprintf(buf, size, "%s, %s", cwai_weekday_name(cwai_date_weekday(d), lang), dm);
}

void
cwai_fmt_day_on(cwai_date_t d, const char *lang, char *buf, size_t size)
{
    char  dm[8];
    int   wd = cwai_date_weekday(d), f = cwai_lang_family(lang);

    cwai_fmt_ddmm(d, dm, sizeof(dm));
    if (f == 1) {
        snprintf(buf, size, "on %s, %s", cwai_weekday_name(wd, lang), dm);
    } else if (f == 2) {
        snprintf(buf, size, "el %s, %s", cwai_weekday_name(wd, lang), dm);
    } else {
        snprintf(buf, size, "%s %s, %s", (wd == 0 || wd == 6) ? "no" : "na",
                 cwai_weekday_name(wd, lang), dm);
    }
}

int
cwai_pt_feminine(const char *name)
{
    char    w[32];
    size_t  n = 0, len;

    if (name == NULL) {
        return 0;
    }
    len = cwai_text_fold(name, strlen(name), w, sizeof(w));
    while (n < len && w[n] != ' ' && w[n] != '-') {
        n++;
    }
    w[n] = '\0';
    if (n == 0) {
        return 0;
    }
    if (strcmp(w, "base") == 0 || strcmp(w, "pele") == 0 || strcmp(w, "loja") == 0) {
        return 1;
    }
    if (w[n - 1] == 'a' && strcmp(w, "dia") != 0 && strcmp(w, "sistema") != 0) {
        return 1;
    }
    return (n > 3 && strcmp(w + n - 3, "cao") == 0) || (n > 3 && strcmp(w + n - 3, "gem") == 0)
           || (n > 3 && strcmp(w + n - 3, "dade") == 0);
}

void
cwai_fmt_hhmm(int minute, char *buf, size_t size)
{
    if (minute < 0) {
        minute = 0;
    }
    snprintf(buf, size, "%02d:%02d", (minute / 60) % 100, minute % 60);
}

size_t
cwai_fmt_brl(int64_t cents, char *buf, size_t size)
{
    char      digits[32], out[48];
    int       neg = cents < 0, n, i, o = 0, lead;
    uint64_t  v = neg ? (uint64_t) (-(cents + 1)) + 1 : (uint64_t) cents;

    n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long) (v / 100));
    if (neg) {
        out[o++] = '-';
    }
    out[o++] = 'R';
    out[o++] = '$';
    out[o++] = ' ';
    lead = n % 3 == 0 ? 3 : n % 3;
    for (i = 0; i < n; i++) {
        if (i > 0 && (i - lead) % 3 == 0) {
            out[o++] = '.';
        }
        out[o++] = digits[i];
    }
    o += snprintf(out + o, sizeof(out) - (size_t) o, ",%02u", (unsigned) (v % 100));
    if (size == 0) {
        return 0;
    }
    snprintf(buf, size, "%.*s", o, out);
    return strlen(buf);
}

/* ---- Brazilian places ------------------------------------------------------ */

#define CUE  1          /* ambiguous word: needs "em", "para", "moro"... before */

typedef struct {
    const char  *phrase;        /* folded words */
    const char  *uf;
    const char  *group;
    const char  *label;
    int          flags;
} place_t;

#define GSP  "grande_sp"
#define ISP  "interior_sp"
#define SSE  "sul_sudeste"
#define CON  "centro_oeste_nordeste"
#define NOR  "norte"

/* longer phrases first where one is a prefix of another */
static const place_t  places[] = {
    { "interior de sao paulo", "SP", ISP, "interior de SP", 0 },
    { "interior de sp", "SP", ISP, "interior de SP", 0 },
    { "interior paulista", "SP", ISP, "interior de SP", 0 },
    { "litoral de sao paulo", "SP", ISP, "litoral de SP", 0 },
    { "litoral de sp", "SP", ISP, "litoral de SP", 0 },
    { "litoral paulista", "SP", ISP, "litoral de SP", 0 },
    { "sao paulo capital", "SP", GSP, "São Paulo (capital)", 0 },
    { "capital de sao paulo", "SP", GSP, "São Paulo (capital)", 0 },
    { "capital paulista", "SP", GSP, "São Paulo (capital)", 0 },
    { "sp capital", "SP", GSP, "São Paulo (capital)", 0 },
    { "capital de sp", "SP", GSP, "São Paulo (capital)", 0 },
    { "capital sp", "SP", GSP, "São Paulo (capital)", 0 },
    { "grande sao paulo", "SP", GSP, "Grande São Paulo", 0 },
    { "grande sp", "SP", GSP, "Grande São Paulo", 0 },
    { "sao bernardo do campo", "SP", GSP, "São Bernardo do Campo", 0 },
    { "sao bernardo", "SP", GSP, "São Bernardo do Campo", 0 },
    { "sao caetano do sul", "SP", GSP, "São Caetano do Sul", 0 },
    { "sao caetano", "SP", GSP, "São Caetano do Sul", 0 },
    { "santo andre", "SP", GSP, "Santo André", 0 },
    { "osasco", "SP", GSP, "Osasco", 0 },
    { "guarulhos", "SP", GSP, "Guarulhos", 0 },
    { "diadema", "SP", GSP, "Diadema", 0 },
    { "maua", "SP", GSP, "Mauá", CUE },
    { "barueri", "SP", GSP, "Barueri", 0 },
    { "carapicuiba", "SP", GSP, "Carapicuíba", 0 },
    { "cotia", "SP", GSP, "Cotia", 0 },
    { "taboao da serra", "SP", GSP, "Taboão da Serra", 0 },
    { "itapevi", "SP", GSP, "Itapevi", 0 },
    { "mogi das cruzes", "SP", GSP, "Mogi das Cruzes", 0 },
    { "suzano", "SP", GSP, "Suzano", 0 },
    { "itaquaquecetuba", "SP", GSP, "Itaquaquecetuba", 0 },
    { "embu das artes", "SP", GSP, "Embu das Artes", 0 },
    { "sao jose dos campos", "SP", ISP, "São José dos Campos", 0 },
    { "sao jose do rio preto", "SP", ISP, "São José do Rio Preto", 0 },
    { "ribeirao preto", "SP", ISP, "Ribeirão Preto", 0 },
    { "presidente prudente", "SP", ISP, "Presidente Prudente", 0 },
    { "praia grande", "SP", ISP, "Praia Grande", 0 },
    { "sao vicente", "SP", ISP, "São Vicente", 0 },
    { "sao carlos", "SP", ISP, "São Carlos", 0 },
    { "campinas", "SP", ISP, "Campinas", 0 },
    { "santos", "SP", ISP, "Santos", CUE },
    { "sorocaba", "SP", ISP, "Sorocaba", 0 },
    { "jundiai", "SP", ISP, "Jundiaí", 0 },
    { "piracicaba", "SP", ISP, "Piracicaba", 0 },
    { "bauru", "SP", ISP, "Bauru", 0 },
    { "guaruja", "SP", ISP, "Guarujá", 0 },
    { "franca", "SP", ISP, "Franca", CUE },
    { "limeira", "SP", ISP, "Limeira", 0 },
    { "taubate", "SP", ISP, "Taubaté", 0 },
    { "araraquara", "SP", ISP, "Araraquara", 0 },
    { "marilia", "SP", ISP, "Marília", CUE },
    { "indaiatuba", "SP", ISP, "Indaiatuba", 0 },
    { "atibaia", "SP", ISP, "Atibaia", 0 },
    { "ubatuba", "SP", ISP, "Ubatuba", 0 },
    { "sao paulo", "SP", GSP, "São Paulo", 0 },
    { "sampa", "SP", GSP, "São Paulo", 0 },
    { "sp", "SP", GSP, "São Paulo", 0 },
    /* Sul e Sudeste */
    { "rio grande do sul", "RS", SSE, "Rio Grande do Sul", 0 },
    { "rio grande do norte", "RN", CON, "Rio Grande do Norte", 0 },
    { "rio de janeiro", "RJ", SSE, "Rio de Janeiro", 0 },
    { "rio branco", "AC", NOR, "Rio Branco", 0 },
    { "minas gerais", "MG", SSE, "Minas Gerais", 0 },
    { "belo horizonte", "MG", SSE, "Belo Horizonte", 0 },
    { "bh", "MG", SSE, "Belo Horizonte", 0 },
    { "uberlandia", "MG", SSE, "Uberlândia", 0 },
    { "juiz de fora", "MG", SSE, "Juiz de Fora", 0 },
    { "contagem", "MG", SSE, "Contagem", CUE },
    { "betim", "MG", SSE, "Betim", 0 },
    { "montes claros", "MG", SSE, "Montes Claros", 0 },
    { "minas", "MG", SSE, "Minas Gerais", CUE },
    { "niteroi", "RJ", SSE, "Niterói", 0 },
    { "petropolis", "RJ", SSE, "Petrópolis", 0 },
    { "duque de caxias", "RJ", SSE, "Duque de Caxias", 0 },
    { "nova iguacu", "RJ", SSE, "Nova Iguaçu", 0 },
    { "sao goncalo", "RJ", SSE, "São Gonçalo", 0 },
    { "rio", "RJ", SSE, "Rio de Janeiro", CUE },
    { "espirito santo", "ES", SSE, "Espírito Santo", 0 },
    { "vila velha", "ES", SSE, "Vila Velha", 0 },
    { "vitoria da conquista", "BA", CON, "Vitória da Conquista", 0 },
    { "vitoria", "ES", SSE, "Vitória", CUE },
    { "parana", "PR", SSE, "Paraná", 0 },
    { "curitiba", "PR", SSE, "Curitiba", 0 },
    { "londrina", "PR", SSE, "Londrina", 0 },
    { "maringa", "PR", SSE, "Maringá", 0 },
    { "foz do iguacu", "PR", SSE, "Foz do Iguaçu", 0 },
    { "ponta grossa", "PR", SSE, "Ponta Grossa", 0 },
    { "santa catarina", "SC", SSE, "Santa Catarina", 0 },
    { "florianopolis", "SC", SSE, "Florianópolis", 0 },
    { "floripa", "SC", SSE, "Florianópolis", 0 },
    { "joinville", "SC", SSE, "Joinville", 0 },
    { "blumenau", "SC", SSE, "Blumenau", 0 },
    { "balneario camboriu", "SC", SSE, "Balneário Camboriú", 0 },
    { "chapeco", "SC", SSE, "Chapecó", 0 },
    { "porto alegre", "RS", SSE, "Porto Alegre", 0 },
    { "caxias do sul", "RS", SSE, "Caxias do Sul", 0 },
    { "pelotas", "RS", SSE, "Pelotas", 0 },
    { "santa maria", "RS", SSE, "Santa Maria", CUE },
    /* Centro-Oeste e Nordeste */
    { "distrito federal", "DF", CON, "Distrito Federal", 0 },
    { "brasilia", "DF", CON, "Brasília", 0 },
    { "goias", "GO", CON, "Goiás", 0 },
    { "goiania", "GO", CON, "Goiânia", 0 },
    { "anapolis", "GO", CON, "Anápolis", 0 },
    { "mato grosso do sul", "MS", CON, "Mato Grosso do Sul", 0 },
    { "mato grosso", "MT", CON, "Mato Grosso", 0 },
    { "cuiaba", "MT", CON, "Cuiabá", 0 },
    { "campo grande", "MS", CON, "Campo Grande", CUE },
    { "dourados", "MS", CON, "Dourados", CUE },
    { "bahia", "BA", CON, "Bahia", 0 },
    { "salvador", "BA", CON, "Salvador", CUE },
    { "feira de santana", "BA", CON, "Feira de Santana", 0 },
    { "sergipe", "SE", CON, "Sergipe", 0 },
    { "aracaju", "SE", CON, "Aracaju", 0 },
    { "alagoas", "AL", CON, "Alagoas", 0 },
    { "maceio", "AL", CON, "Maceió", 0 },
    { "pernambuco", "PE", CON, "Pernambuco", 0 },
    { "recife", "PE", CON, "Recife", 0 },
    { "olinda", "PE", CON, "Olinda", 0 },
    { "caruaru", "PE", CON, "Caruaru", 0 },
    { "paraiba", "PB", CON, "Paraíba", 0 },
    { "joao pessoa", "PB", CON, "João Pessoa", 0 },
    { "campina grande", "PB", CON, "Campina Grande", 0 },
    { "natal", "RN", CON, "Natal", CUE },
    { "mossoro", "RN", CON, "Mossoró", 0 },
    { "ceara", "CE", CON, "Ceará", 0 },
    { "fortaleza", "CE", CON, "Fortaleza", CUE },
    { "piaui", "PI", CON, "Piauí", 0 },
    { "teresina", "PI", CON, "Teresina", 0 },
    { "maranhao", "MA", CON, "Maranhão", 0 },
    { "sao luis", "MA", CON, "São Luís", 0 },
    /* Norte */
    { "amazonas", "AM", NOR, "Amazonas", 0 },
    { "manaus", "AM", NOR, "Manaus", 0 },
    { "belem", "PA", NOR, "Belém", 0 },
    { "santarem", "PA", NOR, "Santarém", 0 },
    { "acre", "AC", NOR, "Acre", 0 },
    { "rondonia", "RO", NOR, "Rondônia", 0 },
    { "porto velho", "RO", NOR, "Porto Velho", 0 },
    { "roraima", "RR", NOR, "Roraima", 0 },
    { "boa vista", "RR", NOR, "Boa Vista", CUE },
    { "amapa", "AP", NOR, "Amapá", 0 },
    { "macapa", "AP", NOR, "Macapá", 0 },
    { "tocantins", "TO", NOR, "Tocantins", 0 },
    { "palmas", "TO", NOR, "Palmas", CUE },
    /* unambiguous UF codes (others are common words: es, se, pe, ma, ...) */
    { "mg", "MG", SSE, "MG", 0 },
    { "rj", "RJ", SSE, "RJ", 0 },
    { "pr", "PR", SSE, "PR", 0 },
    { "sc", "SC", SSE, "SC", 0 },
    { "df", "DF", CON, "DF", 0 },
    { "ms", "MS", CON, "MS", 0 },
    { "mt", "MT", CON, "MT", 0 },
    { "ba", "BA", CON, "BA", 0 },
    { "pb", "PB", CON, "PB", 0 },
    { "rn", "RN", CON, "RN", 0 },
    { "pi", "PI", CON, "PI", 0 },
    { "ac", "AC", NOR, "AC", 0 },
    { "ro", "RO", NOR, "RO", 0 },
    { "rr", "RR", NOR, "RR", 0 },
    { "ap", "AP", NOR, "AP", 0 },
};

static int
match_at(const cwai_ntext_t *t, size_t i, const char *phrase, size_t *ntok)
{
    const char  *p = phrase, *sp;
    size_t       j = i, n;

    while (*p) {
        sp = strchr(p, ' ');
        n = sp ? (size_t) (sp - p) : strlen(p);
        if (j >= t->ntok || t->tok[j].wlen != n || memcmp(t->tok[j].w, p, n) != 0) {
            return 0;
        }
        j++;
        p += n;
        if (*p == ' ') {
            p++;
        }
    }
    *ntok = j - i;
    return 1;
}

static int
has_cue(const cwai_ntext_t *t, size_t i)
{
    static const char  *const cues[] = {
        "em", "para", "de", "moro", "entregam", "entrega", "enviam", "envia",
        "mandam", "manda", "frete", "cidade", "sou", "no", "na", NULL
    };
    size_t  k, j;

    for (k = 1; k <= 2 && k <= i; k++) {
        for (j = 0; cues[j]; j++) {
            if (strcmp(t->tok[i - k].w, cues[j]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

int
cwai_place_find(const cwai_ntext_t *t, cwai_place_t *out)
{
    size_t  i, p, n;
    int     interior;

    interior = cwai_text_find(t, "interior", 0) >= 0 || cwai_text_find(t, "litoral", 0) >= 0;
    for (p = 0; p < sizeof(places) / sizeof(places[0]); p++) {
        for (i = 0; i < t->ntok; i++) {
            if (!match_at(t, i, places[p].phrase, &n)) {
                continue;
            }
            if ((places[p].flags & CUE) && !has_cue(t, i)) {
                continue;
            }
            out->uf = places[p].uf;
            out->group = places[p].group;
            out->label = places[p].label;
            if (interior && strcmp(out->group, GSP) == 0
                && (strcmp(places[p].phrase, "sp") == 0
                    || strcmp(places[p].phrase, "sao paulo") == 0))
            {
                out->group = ISP;
                out->label = "interior de SP";
            }
            return 1;
        }
    }
    return 0;
}
