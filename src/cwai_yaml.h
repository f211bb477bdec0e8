/*
 * ngx_chatwootai core: a YAML node tree that keeps file:line:column.
 *
 * Internal to the domain loader.  Nodes live in an arena (freed at once);
 * maps keep their keys in document order and reject duplicate keys.
 * Plain scalars "~", "null", "Null", "NULL" and empty plain scalars are
 * nulls; quoted scalars are always strings.
 */
#ifndef CWAI_YAML_H
#define CWAI_YAML_H

#include "cwai_common.h"

#include <stddef.h>

typedef struct cwai_arena_s  cwai_arena_t;

cwai_arena_t *cwai_arena_new(void);
void cwai_arena_free(cwai_arena_t *a);
void *cwai_arena_alloc(cwai_arena_t *a, size_t size);      /* zeroed, aligned */
char *cwai_arena_strndup(cwai_arena_t *a, const char *s, size_t len);
char *cwai_arena_strdup(cwai_arena_t *a, const char *s);
char *cwai_arena_printf(cwai_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef enum {
    CWAI_YNULL = 0,
    CWAI_YSCALAR,
    CWAI_YMAP,
    CWAI_YSEQ
} cwai_ynode_type_t;

typedef struct cwai_ynode_s  cwai_ynode_t;

struct cwai_ynode_s {
    cwai_ynode_type_t   type;
    const char         *file;
    int                 line, col;      /* 1-based */
    const char         *str;            /* scalar, NUL-terminated */
    size_t              len;
    int                 quoted;         /* scalar was quoted or a block scalar */
    size_t              n;              /* map pairs / seq items */
    cwai_ynode_t      **keys;           /* map only: scalar keys */
    cwai_ynode_t      **vals;           /* map values / seq items */
};

/* Parses one YAML document; an empty document gives an empty map.
 * The root must be a mapping. */
int cwai_yaml_parse(cwai_arena_t *a, const char *file, const char *data,
    size_t len, cwai_ynode_t **root, cwai_err_t *err);

/* Deep merge: maps merge key by key (over wins, a null in over deletes),
 * anything else in over replaces.  base may be NULL.  NULL + err when the
 * merge grows past a sanity limit (alias bombs). */
cwai_ynode_t *cwai_yaml_merge(cwai_arena_t *a, const cwai_ynode_t *base,
    const cwai_ynode_t *over, cwai_err_t *err);

/* The value of key in a map, NULL if absent (a null value is returned as a
 * CWAI_YNULL node; callers treat it as absent). */
const cwai_ynode_t *cwai_ymap_get(const cwai_ynode_t *map, const char *key);

/* "file:line:col: " + message into err->detail. */
void cwai_yerr(cwai_err_t *err, const char *code, const cwai_ynode_t *at,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
