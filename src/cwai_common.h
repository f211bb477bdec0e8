/*
 * ngx_chatwootai core: small shared definitions.
 * The core is plain C (jansson, libyaml, OpenSSL libcrypto); it never
 * includes nginx headers and never performs I/O on its own.
 */
#ifndef CWAI_COMMON_H
#define CWAI_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* An error a caller can show to a client as {"error": code, "detail": detail}. */
typedef struct {
    const char  *code;          /* static string, e.g. "invalid_json" */
    char         detail[512];   /* domain errors: "path:line:col: message" */
} cwai_err_t;

void cwai_err_set(cwai_err_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 64-bit FNV-1a: stable across processes, builds and reloads (cache keys). */
uint64_t cwai_hash64(const void *data, size_t len);
uint64_t cwai_hash64_more(uint64_t h, const void *data, size_t len);

#define CWAI_HASH64_INIT  0xcbf29ce484222325ULL

#endif
