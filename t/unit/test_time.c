#include "unit.h"
#include "cwai_time.h"

START_TEST(iso8601)
{
    int64_t  t;

    ck_assert_int_eq(cwai_parse_iso8601("2026-11-30T10:00:00-03:00", 25, &t), 0);
    ck_assert_int_eq(t, 1796043600);
    ck_assert_int_eq(cwai_parse_iso8601("2026-11-30T13:00:00Z", 20, &t), 0);
    ck_assert_int_eq(t, 1796043600);
    ck_assert_int_eq(cwai_parse_iso8601("2026-11-30T13:00:00.250Z", 24, &t), 0);
    ck_assert_int_eq(t, 1796043600);
    ck_assert_int_eq(cwai_parse_iso8601("2024-02-29T00:00:00+00:00", 25, &t), 0);

    ck_assert_int_eq(cwai_parse_iso8601("2026-11-30T10:00:00", 19, &t), -1);
    ck_assert_int_eq(cwai_parse_iso8601("2026-02-29T10:00:00Z", 20, &t), -1);
    ck_assert_int_eq(cwai_parse_iso8601("2026-13-01T10:00:00Z", 20, &t), -1);
    ck_assert_int_eq(cwai_parse_iso8601("2026-11-30T25:00:00Z", 20, &t), -1);
    ck_assert_int_eq(cwai_parse_iso8601("2026-11-30T10:00:00+3", 21, &t), -1);
    ck_assert_int_eq(cwai_parse_iso8601("amanha", 6, &t), -1);
}
END_TEST

CWAI_SUITE(time)
{
    TCase  *tc;
    Suite  *s = unit_suite("time", &tc);

    tcase_add_test(tc, iso8601);
    return s;
}
