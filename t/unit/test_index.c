/* Hashing embeddings and the in-memory vector index. */
#include "unit.h"
#include "cwai_embed.h"
#include "cwai_index.h"

#include <math.h>

#define UNIT_EMBED_NZ  33                       /* 2 words, 1 bigram, 30 char grams */
#define UNIT_EMBED_H   0x3c506523d7f10409ULL

static float
cos_str(const char *a, const char *b)
{
    float  va[1024], vb[1024];

    ck_assert_int_eq(cwai_embed(a, strlen(a), va, 1024), 0);
    ck_assert_int_eq(cwai_embed(b, strlen(b), vb, 1024), 0);
    return cwai_embed_cosine(va, vb, 1024);
}

START_TEST(embed_deterministic_normalised)
{
    float     a[1024], b[1024];
    double    n = 0;
    unsigned  i, nz = 0;
    uint64_t  h = CWAI_HASH64_INIT;

    ck_assert_int_eq(cwai_embed("Sérum de niacinamida", 21, a, 1024), 0);
    ck_assert_int_eq(cwai_embed("Sérum de niacinamida", 21, b, 1024), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
    for (i = 0; i < 1024; i++) {
        n += (double) a[i] * a[i];
        nz += a[i] != 0.0f;
        if (a[i] != 0.0f) {
            h = cwai_hash64_more(h, &i, sizeof(i));
        }
    }
    ck_assert(fabs(n - 1.0) < 1e-5);
    ck_assert_uint_gt(nz, 20);
    /* the non-zero pattern is a pure function of the text: pinned so that
     * a change of hashing or features is a conscious one */
    ck_assert_uint_eq(nz, UNIT_EMBED_NZ);
    ck_assert_uint_eq(h, UNIT_EMBED_H);
    ck_assert_int_eq(cwai_embed("x", 1, a, 1000), -1);      /* not a power of two */
    ck_assert_int_eq(cwai_embed("", 0, a, 64), 0);
    for (i = 0; i < 64; i++) {
        ck_assert(a[i] == 0.0f);
    }
}
END_TEST

START_TEST(embed_similarity)
{
    float  same = cos_str("serum de niacinamida", "Sérum Niacinamida 10% + Zinco 30ml");
    float  other = cos_str("serum de niacinamida", "Shampoo Antiqueda 300ml");
    float  typo = cos_str("serum de niacinamda", "Sérum Niacinamida 10% + Zinco 30ml");
    float  accent = cos_str("HIDRATAÇÃO facial", "hidratacao facial");

    ck_assert_msg(same > 0.5, "same %f", same);
    ck_assert_msg(other < 0.1, "other %f", other);
    ck_assert_msg(typo > 0.25 && typo < same, "typo %f", typo);
    ck_assert_msg(accent > 0.999, "accent %f", accent);
}
END_TEST

START_TEST(sparse_ops)
{
    cwai_embed_opts_t  o;
    cwai_embed_acc_t   acc;
    cwai_svec_t        v, w;
    cwai_ntext_t       t;

    cwai_embed_opts_default(&o);
    memset(&v, 0, sizeof(v));
    memset(&w, 0, sizeof(w));
    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_embed_acc_init(&acc, 1024), 0);
    ck_assert_int_eq(cwai_text_parse(&t, "protetor solar facial", 21), 0);
    cwai_embed_add_text(&acc, &o, &t, 1.0f);
    ck_assert_int_eq(cwai_embed_acc_take(&acc, &v), 0);
    cwai_svec_l2(&v);
    ck_assert(fabsf(cwai_svec_norm(&v) - 1.0f) < 1e-5f);
    ck_assert(fabsf(cwai_svec_dot(&v, &v) - 1.0f) < 1e-5f);
    cwai_embed_add_feature(&acc, 'w', "zzz", 3, 2.0f);
    ck_assert_int_eq(cwai_embed_acc_take(&acc, &w), 0);
    ck_assert_uint_eq(w.n, 1);
    ck_assert_int_eq(cwai_embed_acc_take(&acc, &w), 0);   /* acc was zeroed */
    ck_assert_uint_eq(w.n, 0);
    cwai_svec_free(&v);
    cwai_svec_free(&w);
    cwai_text_free(&t);
    cwai_embed_acc_free(&acc);
    ck_assert_int_eq(cwai_embed_acc_init(&acc, 100), -1);
}
END_TEST

enum { K_RULE = 0, K_PRODUCT = 1 };

static cwai_index_t *
small_index(void)
{
    cwai_index_t  *ix = cwai_index_new(NULL);
    cwai_field_t   f[2];

#define ADD(id, kind, name, body) do {                               \
        f[0].text = name; f[0].len = 0; f[0].weight = 2.0f;          \
        f[1].text = body; f[1].len = 0; f[1].weight = 1.0f;          \
        ck_assert_int_ge(cwai_index_add(ix, id, kind, 0, f, 2), 0);  \
    } while (0)
    ck_assert_ptr_nonnull(ix);
    ADD("R-ENT-01", K_RULE, "Frete grátis a partir de R$ 199,00",
        "Pedidos a partir de R$ 199,00 têm frete padrão grátis. Abaixo, frete por região.");
    ADD("R-TRO-05", K_RULE, "Prazos de reembolso",
        "Reembolsos de Pix em até 5 dias úteis; estorno no cartão em até 2 faturas.");
    ADD("R-AGE-02", K_RULE, "Cancelamento e remarcação",
        "Cancelamentos e remarcações sem custo com 24 horas de antecedência.");
    ADD("BP-SER-002", K_PRODUCT, "Sérum Niacinamida 10% + Zinco 30ml",
        "Controla a oleosidade e reduz a aparência dos poros.");
    ADD("BP-PRO-010", K_PRODUCT, "Protetor Solar Facial FPS 70 Pele Sensível",
        "Sem perfume, com bisabolol calmante, para peles sensíveis.");
    ADD("BP-SHA-034", K_PRODUCT, "Shampoo Antiqueda 300ml",
        "Shampoo fortalecedor com cafeína e biotina contra a queda.");
#undef ADD
    ck_assert_int_eq(cwai_index_build(ix), 0);
    return ix;
}

START_TEST(index_search)
{
    cwai_index_t  *ix = small_index();
    cwai_hit_t     hits[8];
    size_t         n, i;
    const char    *q;

    ck_assert_uint_eq(cwai_index_count(ix), 6);
    q = "qual o valor minimo pro frete gratis?";
    n = cwai_index_search_str(ix, q, strlen(q), 0, hits, 8);
    ck_assert_uint_ge(n, 1);
    ck_assert_str_eq(cwai_index_doc(ix, hits[0].doc)->id, "R-ENT-01");
    for (i = 1; i < n; i++) {
        ck_assert(hits[i - 1].score >= hits[i].score);
    }
    q = "quero o dinheiro de volta, quando cai o reembolso?";
    n = cwai_index_search_str(ix, q, strlen(q), 0, hits, 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(cwai_index_doc(ix, hits[0].doc)->id, "R-TRO-05");
    q = "tem protetor pra pele sensivel?";
    n = cwai_index_search_str(ix, q, strlen(q), 1u << K_PRODUCT, hits, 8);
    ck_assert_uint_ge(n, 1);
    ck_assert_str_eq(cwai_index_doc(ix, hits[0].doc)->id, "BP-PRO-010");
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(cwai_index_doc(ix, hits[i].doc)->kind, K_PRODUCT);
    }
    q = "remarcar";
    n = cwai_index_search_str(ix, q, strlen(q), 1u << K_PRODUCT, hits, 8);
    for (i = 0; i < n; i++) {
        ck_assert_msg(hits[i].score < 0.15f, "unrelated product scored %f", hits[i].score);
    }
    n = cwai_index_search_str(ix, "", 0, 0, hits, 8);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cwai_index_find(ix, "BP-SHA-034"), 5);
    ck_assert_int_eq(cwai_index_find(ix, "nope"), -1);
    ck_assert_uint_gt(cwai_index_bytes(ix), 1024 * 8);
    ck_assert_uint_gt(cwai_index_nnz(ix), 100);
    cwai_index_free(ix);
}
END_TEST

START_TEST(index_score_doc_and_ties)
{
    cwai_index_t  *ix = small_index();
    cwai_ntext_t   t;
    cwai_hit_t     h1[4], h2[4];
    size_t         n1, n2;

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(cwai_text_parse(&t, "shampoo antiqueda", 17), 0);
    ck_assert(cwai_index_score_doc(ix, &t, 5) > 0.3f);
    ck_assert(cwai_index_score_doc(ix, &t, 0) < 0.05f);
    ck_assert(cwai_index_score_doc(ix, &t, 99) == 0.0f);
    n1 = cwai_index_search(ix, &t, 0, h1, 4);
    n2 = cwai_index_search(ix, &t, 0, h2, 4);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(h1, h2, n1 * sizeof(cwai_hit_t)), 0);
    cwai_text_free(&t);
    cwai_index_free(ix);
}
END_TEST

CWAI_SUITE(index)
{
    TCase  *tc;
    Suite  *s = unit_suite("index", &tc);

    tcase_add_test(tc, embed_deterministic_normalised);
    tcase_add_test(tc, embed_similarity);
    tcase_add_test(tc, sparse_ops);
    tcase_add_test(tc, index_search);
    tcase_add_test(tc, index_score_doc_and_ties);
    return s;
}
