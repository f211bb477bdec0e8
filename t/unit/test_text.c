/* Text normalisation, tokenisation, stemming, language and typo fixes. */
#include "unit.h"
#include "cwai_text.h"

static char *
norm(const char *s)
{
    cwai_ntext_t  t;
    char         *out;

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    out = strdup(t.folded);
    cwai_text_free(&t);
    return out;
}

#define ck_norm(in, want) do {                                  \
        char *got_ = norm(in);                                  \
        ck_assert_msg(strcmp(got_, want) == 0,                  \
                      "norm(\"%s\") = \"%s\", want \"%s\"",      \
                      in, got_, want);                          \
        free(got_);                                             \
    } while (0)

START_TEST(case_accents_punctuation)
{
    ck_norm("Olá, VOCÊS têm SÉRUM?!", "ola voces tem serum");
    ck_norm("Ação, coração, maçã, pôr, ÂMBAR, Ünico, Ñandu", "acao coracao maca por ambar unico nandu");
    ck_norm("à prova d'água", "a aprovadagua");     /* one expression: waterproof */
    ck_norm("a prova dagua", "a aprovadagua");
    ck_norm("d'água", "d agua");
    ck_norm("e\xcc\x81 cafe\xcc\x81", "e cafe");         /* NFD input */
    ck_norm("  \t\n  ", "");
    ck_norm("", "");
}
END_TEST

START_TEST(numbers_money_times)
{
    ck_norm("R$ 1.234,56 e R$69,90", "r$ 1.234,56 e r$ 69,90");
    ck_norm("18h30, 15h, 6x, 10%, 16:30.", "18h30 15h 6x 10% 16:30");
    ck_norm("dia 2/12.", "dia 2/12");
    ck_norm("a/b 3/ 4", "a b 3 4");
}
END_TEST

START_TEST(repeated_letters_and_slang)
{
    ck_norm("oiee\nbom diaa", "oi bom dia");
    ck_norm("siiiim amooooo obrigadaaaa", "sim amo obrigado");
    ck_norm("vc tem? qto ta? pq tb blz obg hj amanhã", "voce tem quanto esta porque tambem beleza obrigado hoje amanha");
    ck_norm("oq vcs tem pra isso", "o que voces tem para isso");
    ck_norm("kkkkk rsrs hahaha", "risos risos risos");
    ck_norm("carro massa", "carro massa");   /* legitimate doubles stay */
}
END_TEST

START_TEST(emoji_and_counts)
{
    cwai_ntext_t  t;
    const char   *s = "amei, obrigada \xf0\x9f\x98\x8d\xf0\x9f\x98\x8d\nvlw!? \xe2\x9d\xa4\xef\xb8\x8f";

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    ck_assert_str_eq(t.folded, "amei obrigado valeu");
    ck_assert_uint_eq(t.n_emoji, 3);
    ck_assert_uint_eq(t.n_question, 1);
    ck_assert_uint_eq(t.n_exclaim, 1);
    ck_assert_uint_eq(t.n_bubbles, 2);
    ck_assert_int_eq(t.tok[2].brk, 1);      /* after the newline */
    ck_assert_str_eq(t.tok[1].raw, "obrigada");
    ck_assert_int_eq(t.tok[1].fixed, 1);
    cwai_text_free(&t);
}
END_TEST

START_TEST(greetings_are_not_topics)
{
    cwai_ntext_t  t;
    const char   *s = "boa noite, tem perfume pra noite?";

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    ck_assert_str_eq(t.tok[0].w, "boa");
    ck_assert_int_eq(t.tok[0].stop, 1);
    ck_assert_int_eq(t.tok[1].stop, 1);                 /* "noite" of the greeting */
    ck_assert_uint_eq(t.ntok, 6);
    ck_assert_str_eq(t.tok[5].w, "noite");
    ck_assert_int_eq(t.tok[5].stop, 0);                 /* "noite" asked about */
    cwai_text_free(&t);
}
END_TEST

START_TEST(invalid_utf8_and_long_input)
{
    cwai_ntext_t  t;
    char         *big;
    const char    bad[] = "ol\xc3 \xff\xfe caf\xc3\xa9 \xed\xa0\x80 ok";

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, bad, sizeof(bad) - 1), 0);
    ck_assert_str_eq(t.folded, "ol cafe ok");
    big = malloc(100000);
    memset(big, 'a', 99999);
    big[99999] = '\0';
    ck_assert_int_eq(cwai_text_parse(&t, big, 99999), 0);
    ck_assert_uint_eq(t.ntok, 1);
    ck_assert_uint_eq(t.tok[0].wlen, 1);     /* "aaaa..." collapses */
    cwai_text_free(&t);
    free(big);
    ck_assert_int_eq(cwai_text_parse(&t, NULL, 0), 0);
    ck_assert_uint_eq(t.ntok, 0);
    cwai_text_free(&t);
}
END_TEST

START_TEST(stems_and_stopwords)
{
    char    out[64];
    size_t  n;

#define ck_stem(w, want) do {                                   \
        n = cwai_text_stem(w, strlen(w), out);                  \
        ck_assert_uint_eq(n, strlen(want));                     \
        ck_assert_str_eq(out, want);                            \
    } while (0)
    ck_stem("hidratantes", "hidratante");
    ck_stem("promocoes", "promocao");
    ck_stem("naturais", "natural");
    ck_stem("disponiveis", "disponivel");
    ck_stem("cores", "cor");
    ck_stem("bens", "bem");
    ck_stem("mais", "mais");
    ck_stem("depois", "depois");
    ck_stem("gratis", "gratis");
    ck_stem("fps", "fps");
    ck_stem("pele", "pele");
    ck_stem("mandar", "manda");
    ck_stem("agendar", "agenda");
    ck_stem("protetor", "protetor");
#undef ck_stem
    ck_assert(cwai_text_is_stopword("de", 2));
    ck_assert(cwai_text_is_stopword("voces", 5));
    ck_assert(!cwai_text_is_stopword("serum", 5));
    ck_assert(!cwai_text_is_stopword("nao", 3));
    ck_assert_str_eq(cwai_text_slang("qto", 3), "quanto");
    ck_assert_ptr_null(cwai_text_slang("serum", 5));
}
END_TEST

static const char *
lang(const char *s)
{
    cwai_ntext_t  t;
    const char   *l;

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    l = cwai_text_language(&t);
    cwai_text_free(&t);
    return l;
}

START_TEST(language_guess)
{
    ck_assert_str_eq(lang("oi, vcs tem serum?"), "pt-BR");
    ck_assert_str_eq(lang("Hi! How much is the vitamin C serum?"), "en");
    ck_assert_str_eq(lang("hello"), "en");
    ck_assert_str_eq(lang("Hola, ¿cuánto cuesta el sérum?"), "es");
    ck_assert_str_eq(lang("quiero hablar con una persona"), "es");
    ck_assert_str_eq(lang("I want to talk to a human please"), "en");
    ck_assert_str_eq(lang("bjs"), "pt-BR");
    ck_assert_str_eq(lang("ok"), "pt-BR");
}
END_TEST

START_TEST(phrases)
{
    cwai_ntext_t  t;
    const char   *s = "Quero falar com um atendente humano";

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    ck_assert(cwai_text_has_phrase(&t, "falar com"));
    ck_assert(cwai_text_has_phrase(&t, "um atend*"));
    ck_assert(!cwai_text_has_phrase(&t, "atendentes"));
    ck_assert(!cwai_text_has_phrase(&t, "falar atendente"));
    cwai_text_free(&t);
}
END_TEST

START_TEST(distance_and_vocab)
{
    cwai_vocab_t  *v = cwai_vocab_new();
    cwai_ntext_t   t;
    const char    *s = "quero agedar uma hidratacao e um protetr solar pra pele sensivel";

    ck_assert_int_eq(cwai_text_distance("agendar", 7, "agedar", 6, 2), 1);
    ck_assert_int_eq(cwai_text_distance("abcd", 4, "abdc", 4, 2), 1);
    ck_assert_int_eq(cwai_text_distance("abc", 3, "xyz", 3, 1), 2);
    ck_assert_int_eq(cwai_text_distance("serum", 5, "serum", 5, 0), 0);

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(cwai_vocab_add_text(v, "Agendar, marcar, hidratação, protetor solar, pele sensível",
                                         strlen("Agendar, marcar, hidratação, protetor solar, pele sensível")), 0);
    ck_assert_int_eq(cwai_vocab_add(v, "protetor", 8), 0);
    ck_assert_int_eq(cwai_vocab_freeze(v), 0);
    ck_assert_uint_eq(cwai_vocab_size(v), 7);
    ck_assert(cwai_vocab_has(v, "protetor", 8));
    ck_assert_str_eq(cwai_vocab_correct(v, "protetr", 7), "protetor");
    ck_assert_str_eq(cwai_vocab_correct(v, "hidratacoa", 10), "hidratacao");
    ck_assert_ptr_null(cwai_vocab_correct(v, "protetor", 8));
    ck_assert_ptr_null(cwai_vocab_correct(v, "xpto", 4));

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, s, strlen(s)), 0);
    ck_assert_int_eq(cwai_text_correct(&t, v), 2);
    ck_assert_str_eq(t.folded, "quero agendar uma hidratacao e um protetor solar para pele sensivel");
    cwai_text_free(&t);
    cwai_vocab_free(v);
}
END_TEST

START_TEST(fold_helper)
{
    char    out[64];
    size_t  n = cwai_text_fold("Sérum Ácido Hialurônico 2%!", strlen("Sérum Ácido Hialurônico 2%!"),
                               out, sizeof(out));

    ck_assert_str_eq(out, "serum acido hialuronico 2%!");
    ck_assert_uint_eq(n, strlen(out));
    n = cwai_text_fold("Ação", 5, out, 3);
    ck_assert_str_eq(out, "ac");
}
END_TEST

CWAI_SUITE(text)
{
    TCase  *tc;
    Suite  *s = unit_suite("text", &tc);

    tcase_add_test(tc, case_accents_punctuation);
    tcase_add_test(tc, numbers_money_times);
    tcase_add_test(tc, repeated_letters_and_slang);
    tcase_add_test(tc, emoji_and_counts);
    tcase_add_test(tc, greetings_are_not_topics);
    tcase_add_test(tc, invalid_utf8_and_long_input);
    tcase_add_test(tc, stems_and_stopwords);
    tcase_add_test(tc, language_guess);
    tcase_add_test(tc, phrases);
    tcase_add_test(tc, distance_and_vocab);
    tcase_add_test(tc, fold_helper);
    return s;
}
