#include "unit.h"
#include "unit_suites.h"   /* generated: CWAI_SUITES(X) list */

char *
unit_read_file(const char *path, size_t *len)
{
    char    full[1024];
    FILE   *f;
    long    n;
    char   *buf;

    snprintf(full, sizeof(full), "../%s", path);
    f = fopen(full, "rb");
    ck_assert_msg(f != NULL, "fixture %s not found", full);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);
    if (len) {
        *len = (size_t) n;
    }
    return buf;
}

Suite *
unit_suite(const char *name, TCase **tc)
{
    Suite  *s = suite_create(name);

    *tc = tcase_create("core");
    tcase_set_timeout(*tc, 30);
    suite_add_tcase(s, *tc);
    return s;
}

#define X(name) Suite *cwai_suite_##name(void);
CWAI_SUITES(X)
#undef X

int
main(void)
{
    SRunner  *sr = srunner_create(NULL);
    int       failed, run;

#define X(name) srunner_add_suite(sr, cwai_suite_##name());
    CWAI_SUITES(X)
#undef X

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    run = srunner_ntests_run(sr);
    srunner_free(sr);
    printf("unit: %d passed, %d failed\n", run - failed, failed);
    return failed == 0 ? 0 : 1;
}
