/* Signature vectors from t/fixtures/chatwoot/signed_example.txt */
#include "unit.h"
#include "cwai_sig.h"

#define SECRET  "Rk8vX2mP9qT4wZ7nC3bH6jYs"
#define TS      "1781964192"
#define GOOD    "sha256=9d4007506aee3901a35ec93f1070417662107d6cc9c41eb263b9f2c11b11b5a6"

static cwai_sig_result_t
verify(const char *ts, const char *sig, const char *body, size_t len, int64_t now)
{
    return cwai_sig_verify(SECRET, strlen(SECRET), ts, ts ? strlen(ts) : 0,
                           sig, sig ? strlen(sig) : 0, body, len, now, 300);
}

START_TEST(valid_vector)
{
    size_t  len;
    char   *body = unit_read_file("fixtures/chatwoot/message_created_incoming_whatsapp.wire.json", &len);

    ck_assert_uint_eq(len, 2729);
    ck_assert_int_eq(verify(TS, GOOD, body, len, 1781964192), CWAI_SIG_OK);
    ck_assert_int_eq(verify(TS, GOOD, body, len, 1781964192 + 299), CWAI_SIG_OK);
    free(body);
}
END_TEST

START_TEST(negative_vectors)
{
    size_t  len;
    char   *body = unit_read_file("fixtures/chatwoot/message_created_incoming_whatsapp.wire.json", &len);

    /* signed with the next second's timestamp */
    ck_assert_int_eq(verify(TS, "sha256=347da7399330679fecd40e54209685452c3b4b1f3e7a486e92fcc3aee2a89c71",
                            body, len, 1781964192), CWAI_SIG_MISMATCH);
    /* HMAC over the body alone */
    ck_assert_int_eq(verify(TS, "sha256=4f807571fcd2218250ea06715c9831d90b53e10355c4b5598ed2a01f05fabee3",
                            body, len, 1781964192), CWAI_SIG_MISMATCH);
    /* HMAC over the pretty-printed body */
    ck_assert_int_eq(verify(TS, "sha256=00c92b5ee5654d257f5149dba12c150213eabd4dfd3459c62bfb367d3ba86939",
                            body, len, 1781964192), CWAI_SIG_MISMATCH);
    /* one byte of body changed */
    body[10] ^= 1;
    ck_assert_int_eq(verify(TS, GOOD, body, len, 1781964192), CWAI_SIG_MISMATCH);
    free(body);
}
END_TEST

START_TEST(malformed_and_stale)
{
    const char  *b = "{}";

    ck_assert_int_eq(verify(NULL, GOOD, b, 2, 0), CWAI_SIG_MISSING);
    ck_assert_int_eq(verify(TS, NULL, b, 2, 0), CWAI_SIG_MISSING);
    ck_assert_int_eq(verify(TS, "sha1=abc", b, 2, 1781964192), CWAI_SIG_MALFORMED);
    ck_assert_int_eq(verify(TS, "sha256=zz4007506aee3901a35ec93f1070417662107d6cc9c41eb263b9f2c11b11b5a6",
                            b, 2, 1781964192), CWAI_SIG_MALFORMED);
    ck_assert_int_eq(verify("17819x4192", GOOD, b, 2, 1781964192), CWAI_SIG_MALFORMED);
    ck_assert_int_eq(verify(TS, GOOD, b, 2, 1781964192 + 301), CWAI_SIG_STALE);
    ck_assert_int_eq(verify(TS, GOOD, b, 2, 1781964192 - 301), CWAI_SIG_STALE);
    ck_assert_str_eq(cwai_sig_result_name(CWAI_SIG_STALE), "stale_timestamp");
}
END_TEST

START_TEST(uppercase_hex_accepted)
{
    size_t  len;
    char   *body = unit_read_file("fixtures/chatwoot/message_created_incoming_whatsapp.wire.json", &len);

    ck_assert_int_eq(verify(TS, "sha256=9D4007506AEE3901A35EC93F1070417662107D6CC9C41EB263B9F2C11B11B5A6",
                            body, len, 1781964192), CWAI_SIG_OK);
    free(body);
}
END_TEST

CWAI_SUITE(sig)
{
    TCase  *tc;
    Suite  *s = unit_suite("sig", &tc);

    tcase_add_test(tc, valid_vector);
    tcase_add_test(tc, negative_vectors);
    tcase_add_test(tc, malformed_and_stale);
    tcase_add_test(tc, uppercase_hex_accepted);
    return s;
}
