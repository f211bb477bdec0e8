/*
 * Small helpers shared by the benchmark programs (not part of the module):
 * a whole file in memory, a monotonic clock in ms, a comparator for qsort
 * of latencies.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* path's bytes, NUL-terminated; exits when it cannot be read */
static inline char *
bench_slurp(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *s;
    long   n;

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = malloc((size_t) n + 1);
    if (s == NULL || fread(s, 1, (size_t) n, f) != (size_t) n) {
        exit(1);
    }
    s[n] = '\0';
    fclose(f);
    *len = (size_t) n;
    return s;
}

static inline double
bench_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

#endif
