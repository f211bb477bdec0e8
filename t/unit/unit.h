/*
 * C unit tests for the core, on Debian's Check framework.
 * Each test_*.c ends with CWAI_SUITE(name) { ... return s; } ; the Makefile
 * collects those names so a new file needs no registration elsewhere.
 */
#ifndef CWAI_UNIT_H
#define CWAI_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CWAI_SUITE(name)  Suite *cwai_suite_##name(void); \
                          Suite *cwai_suite_##name(void)

/* Reads a fixture (path relative to t/, tests run from t/unit) into a
 * NUL-terminated heap buffer; aborts the test when missing. */
char *unit_read_file(const char *path, size_t *len);

/* One-test-case suite helper. */
Suite *unit_suite(const char *name, TCase **tc);

#endif
