/* Entity extraction (dates, times, ages, amounts), locale helpers (time
 * zones, weekday names, money, Brazilian places) and reply post-processing. */
#include "unit.h"
#include "cwai_compose.h"
#include "cwai_extract.h"
#include "cwai_locale.h"

static const cwai_date_t  MON_30_11 = { 2026, 11, 30 };   /* the fixtures' "now" */

static void
ents(const char *s, cwai_entities_t *e)
{
    cwai_ntext_t  t;

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    cwai_extract(&t, MON_30_11, e);
    cwai_text_free(&t);
}

#define ck_date(e, y, m, d) do {                                        \
        ck_assert_int_eq((e).date.year, y);                             \
        ck_assert_int_eq((e).date.month, m);                            \
        ck_assert_int_eq((e).date.day, d);                              \
    } while (0)

START_TEST(dates)
{
    cwai_entities_t  e;

    ents("queria marcar quarta dia 2", &e);
    ck_date(e, 2026, 12, 2);
    ck_assert_int_eq(e.weekday, 3);
    ents("tenho massagem quinta às 15h", &e);
    ck_date(e, 2026, 12, 3);
    ck_assert_int_eq(e.time, 15 * 60);
    ents("segunda dia 7", &e);
    ck_date(e, 2026, 12, 7);
    ents("segunda", &e);                        /* today is Monday: the next one */
    ck_date(e, 2026, 12, 7);
    ents("hoje", &e);
    ck_date(e, 2026, 11, 30);
    ents("amanhã de manhã", &e);
    ck_date(e, 2026, 12, 1);
    ck_assert_int_eq(e.daypart, CWAI_DAYPART_MORNING);
    ents("depois de amanhã", &e);
    ck_date(e, 2026, 12, 2);
    ents("pode ser 08/12?", &e);
    ck_date(e, 2026, 12, 8);
    ents("7 de janeiro", &e);
    ck_date(e, 2027, 1, 7);
    ents("dia 29", &e);                         /* the 29th already passed this month */
    ck_date(e, 2026, 12, 29);
    ents("dia 30", &e);
    ck_date(e, 2026, 11, 30);
    ents("segunda via do boleto", &e);
    ck_assert_int_eq(e.date.year, 0);
    ents("entrega em 5 dias uteis", &e);
    ck_assert_int_eq(e.date.year, 0);
    ck_assert_int_eq(e.time, -1);
    ents("de quinta pra terça dia 8", &e);
    ck_date(e, 2026, 12, 8);
    ck_assert_int_eq(e.ndates, 2);
}
END_TEST

START_TEST(times_and_dayparts)
{
    cwai_entities_t  e;

    ents("18h30 com a renata", &e);
    ck_assert_int_eq(e.time, 18 * 60 + 30);
    ents("dia 8 as 16h30 pode ser", &e);
    ck_assert_int_eq(e.time, 16 * 60 + 30);
    ents("às 16:30", &e);
    ck_assert_int_eq(e.time, 16 * 60 + 30);
    ents("as 9", &e);
    ck_assert_int_eq(e.time, 9 * 60);
    ents("meio-dia", &e);
    ck_assert_int_eq(e.time, 12 * 60);
    ents("15hrs", &e);
    ck_assert_int_eq(e.time, 15 * 60);
    ents("boa tarde", &e);
    ck_assert_int_eq(e.daypart, CWAI_DAYPART_NONE);
    ents("tem horário à tarde?", &e);
    ck_assert_int_eq(e.daypart, CWAI_DAYPART_AFTERNOON);
    ents("em até 7 dias", &e);
    ck_assert_int_eq(e.time, -1);
    ck_assert_int_eq(cwai_extract_time_token("25h", 3), -1);
    ck_assert_int_eq(cwai_extract_time_token("9h05", 4), 9 * 60 + 5);
    ck_assert_int_eq(cwai_extract_time_token("6x", 2), -1);
}
END_TEST

START_TEST(ages_and_amounts)
{
    cwai_entities_t  e;

    ents("tenho 15 anos posso fazer?", &e);
    ck_assert_int_eq(e.age, 15);
    ents("comprei há 2 anos", &e);
    ck_assert_int_eq(e.age, -1);
    ents("se eu levar os 2 no pix", &e);
    ck_assert_int_eq(e.all, 2);
    ck_assert_int_eq(e.quantity, -1);
    ents("vou levar 2 + o delineador", &e);
    ck_assert_int_eq(e.quantity, 2);
    ents("quanto fica tudo?", &e);
    ck_assert_int_eq(e.all, 99);
    ents("quanto fica os 3 juntos?", &e);
    ck_assert_int_eq(e.all, 3);
    ents("quero 3 unidades", &e);
    ck_assert_int_eq(e.quantity, 3);
}
END_TEST

START_TEST(time_zones_and_local_time)
{
    int           off;
    cwai_local_t  l;
    cwai_date_t   d = { 2026, 11, 30 };

    ck_assert_int_eq(cwai_tz_offset("America/Sao_Paulo", &off), 0);
    ck_assert_int_eq(off, -180);
    ck_assert_int_eq(cwai_tz_offset("America/Manaus", &off), 0);
    ck_assert_int_eq(off, -240);
    ck_assert_int_eq(cwai_tz_offset("America/Noronha", &off), 0);
    ck_assert_int_eq(off, -120);
    ck_assert_int_eq(cwai_tz_offset("Europe/Lisbon", &off), -1);      /* has DST */
    ck_assert_int_eq(cwai_tz_offset(NULL, &off), -1);
    /* 2026-11-30T10:00:00-03:00 */
    ck_assert(cwai_local_to_unix(d, 600, -180) == 1796043600LL);
    l = cwai_local_from_unix(1796043600LL, -180);
    ck_assert_int_eq(l.date.day, 30);
    ck_assert_int_eq(l.minute, 600);
    ck_assert_int_eq(l.wday, 1);
    l = cwai_local_from_unix(1796043600LL - 11 * 3600, -180);           /* 23:00 the day before */
    ck_assert_int_eq(l.date.day, 29);
    ck_assert_int_eq(l.minute, 23 * 60);
    ck_assert_int_eq(l.wday, 0);
}
END_TEST

START_TEST(names_and_formats)
{
    char         buf[64];
    cwai_date_t  wed = { 2026, 12, 2 }, sat = { 2026, 12, 12 };

    ck_assert_str_eq(cwai_weekday_name(3, "pt-BR"), "quarta");
    ck_assert_str_eq(cwai_weekday_name(6, "pt-BR"), "sábado");
    ck_assert_str_eq(cwai_weekday_name(3, "en"), "Wednesday");
    ck_assert_str_eq(cwai_weekday_name(3, "es-AR"), "miércoles");
    ck_assert_str_eq(cwai_weekday_long(5, NULL), "sexta-feira");
    cwai_fmt_day(wed, "pt-BR", buf, sizeof(buf));
    ck_assert_str_eq(buf, "quarta, 02/12");
    cwai_fmt_day_on(wed, "pt-BR", buf, sizeof(buf));
    ck_assert_str_eq(buf, "na quarta, 02/12");
    cwai_fmt_day_on(sat, "pt-BR", buf, sizeof(buf));
    ck_assert_str_eq(buf, "no sábado, 12/12");
    cwai_fmt_hhmm(9 * 60, buf, sizeof(buf));
    ck_assert_str_eq(buf, "09:00");
    cwai_fmt_brl(123456, buf, sizeof(buf));
    ck_assert_str_eq(buf, "R$ 1.234,56");
    cwai_fmt_brl(6990, buf, sizeof(buf));
    ck_assert_str_eq(buf, "R$ 69,90");
    cwai_fmt_brl(100000000, buf, sizeof(buf));
    ck_assert_str_eq(buf, "R$ 1.000.000,00");
    cwai_fmt_brl(-5, buf, sizeof(buf));
    ck_assert_str_eq(buf, "-R$ 0,05");
    ck_assert(cwai_pt_feminine("Máscara de Cílios"));
    ck_assert(cwai_pt_feminine("Base Líquida"));
    ck_assert(cwai_pt_feminine("Hidratação Facial"));
    ck_assert(!cwai_pt_feminine("Sérum Niacinamida"));
    ck_assert(!cwai_pt_feminine("Kit Natal Glow"));
}
END_TEST

static const char *
place(const char *s, const char **group)
{
    cwai_ntext_t  t;
    cwai_place_t  p;
    static char   uf[8];

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    if (!cwai_place_find(&t, &p)) {
        cwai_text_free(&t);
        return NULL;
    }
    cwai_text_free(&t);
    snprintf(uf, sizeof(uf), "%s", p.uf);
    *group = p.group;
    return uf;
}

START_TEST(brazilian_places)
{
    const char  *g = NULL;

    ck_assert_str_eq(place("vocês entregam em Belo Horizonte?", &g), "MG");
    ck_assert_str_eq(g, "sul_sudeste");
    ck_assert_str_eq(place("moro em sp capital", &g), "SP");
    ck_assert_str_eq(g, "grande_sp");
    ck_assert_str_eq(place("moro no interior de SP", &g), "SP");
    ck_assert_str_eq(g, "interior_sp");
    ck_assert_str_eq(place("frete pra Recife?", &g), "PE");
    ck_assert_str_eq(g, "centro_oeste_nordeste");
    ck_assert_str_eq(place("entregam em Manaus", &g), "AM");
    ck_assert_str_eq(g, "norte");
    ck_assert_str_eq(place("moro em natal", &g), "RN");
    ck_assert_ptr_null(place("quero o kit natal glow", &g));      /* Christmas, not the city */
    ck_assert_ptr_null(place("quanto custa?", &g));
}
END_TEST

START_TEST(reply_post_processing)
{
    char  s[128];

    snprintf(s, sizeof(s), "Oi! \xf0\x9f\x98\x8a Como posso ajudar? \xf0\x9f\x92\x9b");
    cwai_strip_emoji(s);
    ck_assert_str_eq(s, "Oi! Como posso ajudar?");
    snprintf(s, sizeof(s), "Primeira frase. Segunda frase longa demais para caber.");
    cwai_limit_length(s, 30);
    ck_assert_str_eq(s, "Primeira frase.");
    snprintf(s, sizeof(s), "semponto e muito comprido");
    cwai_limit_length(s, 7);
    ck_assert_str_eq(s, "sempont");
    snprintf(s, sizeof(s), "curta.");
    cwai_limit_length(s, 100);
    ck_assert_str_eq(s, "curta.");
}
END_TEST

CWAI_SUITE(extract)
{
    TCase  *tc;
    Suite  *s = unit_suite("extract", &tc);

    tcase_add_test(tc, dates);
    tcase_add_test(tc, times_and_dayparts);
    tcase_add_test(tc, ages_and_amounts);
    tcase_add_test(tc, time_zones_and_local_time);
    tcase_add_test(tc, names_and_formats);
    tcase_add_test(tc, brazilian_places);
    tcase_add_test(tc, reply_post_processing);
    return s;
}
