#include "unit.h"
#include "cwai_json.h"

#include <dirent.h>

/* cwai_json_dumps must be json_dumps byte for byte (requests are compared
 * by tests and cached by key). */
static void
same(const json_t *j, size_t flags)
{
    char    *a = json_dumps(j, flags), *b;
    size_t   len = 12345;

    b = cwai_json_dumps(j, flags, &len);
    if (a == NULL) {
        ck_assert_ptr_null(b);
        return;
    }
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b, a);
    ck_assert_uint_eq(len, strlen(a));
    free(a);
    free(b);
}

static const size_t  flag_sets[] = {
    JSON_COMPACT, JSON_COMPACT | JSON_REAL_PRECISION(9),
    JSON_COMPACT | JSON_REAL_PRECISION(6) | JSON_PRESERVE_ORDER,
    JSON_COMPACT | JSON_SORT_KEYS, JSON_INDENT(2), 0
};

START_TEST(json_fixtures)
{
    static const char *dirs[] = { "../fixtures/chatwoot", "../fixtures/openai",
                                  "../fixtures/qdrant", "../fixtures/odoo" };
    size_t              d, f, n = 0;
    char                path[512];
    DIR                *dir;
    struct dirent      *e;
    json_t             *j;

    for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        dir = opendir(dirs[d]);
        if (dir == NULL) {
            continue;
        }
        while ((e = readdir(dir)) != NULL) {
            size_t  l = strlen(e->d_name);

            if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0) {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
            j = json_load_file(path, JSON_DECODE_ANY, NULL);
            if (j == NULL) {
                continue;
            }
            for (f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
                same(j, flag_sets[f]);
            }
            json_decref(j);
            n++;
        }
        closedir(dir);
    }
    ck_assert_uint_gt(n, 10);
}
END_TEST

START_TEST(json_strings_and_scalars)
{
    static const char  bytes[] = "a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f "
                                 "\xc3\xa1\xe2\x82\xac\xf0\x9f\x98\x80 end";
    json_t            *o, *a;
    char               all[32];
    size_t             i, f;

    o = json_object();
    json_object_set_new(o, "text", json_string(bytes));
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    for (i = 0; i < 32; i++) {
        all[i] = (char) (i + 1 < 32 ? i + 1 : ' ');
    }
    json_object_set_new(o, "ctl", json_stringn(all, sizeof(all)));
    json_object_set_new(o, "k\"ey\n\xc3\xa9", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(o, "r1", json_real(0.7));
    json_object_set_new(o, "r2", json_real(1e21));
    json_object_set_new(o, "r3", json_real(3.0));
    json_object_set_new(o, "r4", json_real(-1.25e-7));
    json_object_set_new(o, "t", json_true());
    json_object_set_new(o, "f", json_false());
    json_object_set_new(o, "n", json_null());
    json_object_set_new(o, "eo", json_object());
    json_object_set_new(o, "ea", json_array());
    a = json_array();
    json_array_append_new(a, json_integer(0));
    json_array_append_new(a, json_pack("{s:[i,s,{}]}", "x", 1, "y"));
    json_array_append_new(a, json_string(""));
    json_object_set_new(o, "arr", a);
    for (f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
        same(o, flag_sets[f]);
        same(a, flag_sets[f]);
    }
    /* invalid UTF-8 (only a _nocheck constructor makes it): both fail */
    json_object_set_new(o, "bad", json_string_nocheck("\xc3("));
    same(o, JSON_COMPACT);
    json_object_del(o, "bad");
    json_object_set_new(o, "surrogate", json_string_nocheck("\xed\xa0\x80"));
    same(o, JSON_COMPACT);
    json_object_del(o, "surrogate");
    json_object_set_new(o, "overlong", json_string_nocheck("\xe0\x80\xaf"));
    same(o, JSON_COMPACT);
    json_object_del(o, "overlong");
    json_object_set_new(o, "cut", json_string_nocheck("\xf0\x9f\x98"));
    same(o, JSON_COMPACT);
    json_decref(o);

    /* a scalar at the top: jansson's answer (NULL without JSON_ENCODE_ANY) */
    o = json_string("x");
    same(o, JSON_COMPACT);
    same(o, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(o);
}
END_TEST

/* cwai_json_loadb must be json_loadb: the same tree in the same key order,
 * or the same failure with the same error text. */
static void
same_load(const char *buf, size_t len, size_t flags)
{
    json_error_t  ea, eb;
    json_t       *a = json_loadb(buf, len, flags, &ea);
    json_t       *b = cwai_json_loadb(buf, len, flags, &eb);

    if (a == NULL) {
        ck_assert_msg(b == NULL, "accepted what jansson rejects: %.*s", (int) len, buf);
        ck_assert_str_eq(eb.text, ea.text);
        ck_assert_int_eq(eb.position, ea.position);
        return;
    }
    ck_assert_msg(b != NULL, "rejected what jansson accepts: %.*s", (int) len, buf);
    ck_assert(json_equal(a, b));
    {
        char  *da = json_dumps(a, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        char  *db = json_dumps(b, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

        ck_assert_str_eq(db, da);
        free(da);
        free(db);
    }
    json_decref(a);
    json_decref(b);
}

static void
same_load_all(const char *s)
{
    same_load(s, strlen(s), 0);
    same_load(s, strlen(s), JSON_DECODE_ANY);
    same_load(s, strlen(s), JSON_REJECT_DUPLICATES);
    same_load(s, strlen(s), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES);
    same_load(s, strlen(s), JSON_DECODE_INT_AS_REAL);
}

START_TEST(json_load_fixtures)
{
    static const char *dirs[] = { "../fixtures/chatwoot", "../fixtures/openai",
                                  "../fixtures/qdrant", "../fixtures/odoo" };
    size_t              d, n = 0, len, cut;
    char                path[512], *buf;
    DIR                *dir;
    struct dirent      *e;

    for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        dir = opendir(dirs[d]);
        if (dir == NULL) {
            continue;
        }
        while ((e = readdir(dir)) != NULL) {
            size_t  l = strlen(e->d_name);

            if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0) {
                continue;
            }
            snprintf(path, sizeof(path), "fixtures/%s/%s", dirs[d] + 12, e->d_name);
            buf = unit_read_file(path, &len);
            same_load(buf, len, 0);
            same_load(buf, len, JSON_DECODE_ANY);
            same_load(buf, len, JSON_REJECT_DUPLICATES);
            /* every truncation is an error at the same place */
            for (cut = 0; cut < len; cut += 1 + cut / 8) {
                same_load(buf, cut, JSON_DECODE_ANY);
            }
            free(buf);
            n++;
        }
        closedir(dir);
    }
    ck_assert_uint_gt(n, 10);
}
END_TEST

START_TEST(json_load_edges)
{
    static const char *docs[] = {
        "{}", "[]", " [ ] ", "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"a\":[1,2,{}]}}",
        "\"x\"", "1", "-0", "-0.0", "0.5", "1e5", "1E+5", "1e-400", "1e400", "-1e400",
        "01", "1.", ".5", "-", "+1", "1e", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "123456789012345678901234567890.5",
        "true", "false", "null", "truex", "[true,false,null]", "[tru]", "nul",
        "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{,}", "{\"a\":1,}", "{1:2}", "[1 2]",
        "[\"\\u00e9\\u20AC\\ud83d\\ude00\"]", "[\"\\ud83d\"]", "[\"\\ude00\"]",
        "[\"\\ud83dx\"]", "[\"\\u0000\"]", "{\"\\u0000\":1}", "[\"\\uZZZZ\"]",
        "[\"\\x\"]", "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"]", "[\"tab\there\"]",
        "{\"k\\n\":\"v\",\"k\\n\":\"w\"}", "{\"\\u00e9\":[\"\\u00e9\"]}",
        "[\"\xc3\xa9\"]", "[\"\xc3(\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe0\x80\xaf\"]", "[\"\xc0\xaf\"]", "[\"\xf0\x9f\x98\x80\"]", "\xef\xbb\xbf[]",
        "[1] x", "[1]   ", "", "   ", "[", "{", "\"abc", "[\"a\"", "[-]", "[--1]",
        "[1.5e+3,2E-2,-0.0e0]", "[[[[[[[[[[[]]]]]]]]]]]", "{\"a\":[{\"b\":null}]}\n",
    };
    size_t  i;
    char    deep[3000];

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        same_load_all(docs[i]);
    }
    /* embedded NUL, and nesting beyond the fast reader's depth */
    same_load("[1]\0", 4, 0);
    same_load("[\"a\0b\"]", 7, 0);
    memset(deep, '[', 1500);
    memset(deep + 1500, ']', 1500);
    same_load(deep, 3000, 0);
    memset(deep, '[', 2100);
    memset(deep + 2100, ']', 900);
    same_load(deep, 3000, 0);
    same_load(NULL, 0, 0);
}
END_TEST

CWAI_SUITE(json)
{
    TCase  *tc;
    Suite  *s = unit_suite("json", &tc);

    tcase_add_test(tc, json_fixtures);
    tcase_add_test(tc, json_strings_and_scalars);
    tcase_add_test(tc, json_load_fixtures);
    tcase_add_test(tc, json_load_edges);
    return s;
}
