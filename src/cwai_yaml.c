/*
 * ngx_chatwootai core: YAML node tree with marks, on libyaml's document API.
 */
#include "cwai_yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- arena ------------------------------------------------------------- */

#define ARENA_BLOCK  (64 * 1024)
#define ARENA_ALIGN  16

typedef struct arena_block_s  arena_block_t;

struct arena_block_s {
    arena_block_t  *next;
    size_t          size;
    size_t          used;
    /* data follows, aligned */
};

struct cwai_arena_s {
    arena_block_t  *head;
    size_t          merged;     /* nodes created by merges (sanity limit) */
};

#define BLOCK_HDR  ((sizeof(arena_block_t) + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1))

cwai_arena_t *
cwai_arena_new(void)
{
    return calloc(1, sizeof(cwai_arena_t));
}

void
cwai_arena_free(cwai_arena_t *a)
{
    arena_block_t  *b, *next;

    if (a == NULL) {
        return;
    }
    for (b = a->head; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *
cwai_arena_alloc(cwai_arena_t *a, size_t size)
{
    arena_block_t  *b;
    size_t          bsize;
    void           *p;

    size = (size + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);
    if (size == 0) {
        size = ARENA_ALIGN;
    }
    b = a->head;
    if (b == NULL || b->size - b->used < size) {
        bsize = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
        b = malloc(BLOCK_HDR + bsize);
        if (b == NULL) {
            abort();    /* out of memory at configuration time */
        }
        b->size = bsize;
        b->used = 0;
        if (size > ARENA_BLOCK / 4 && a->head) {
            /* a big allocation: keep the current block in front */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    p = (char *) b + BLOCK_HDR + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *
cwai_arena_strndup(cwai_arena_t *a, const char *s, size_t len)
{
    char  *p = cwai_arena_alloc(a, len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
cwai_arena_strdup(cwai_arena_t *a, const char *s)
{
    return s ? cwai_arena_strndup(a, s, strlen(s)) : NULL;
}

char *
cwai_arena_printf(cwai_arena_t *a, const char *fmt, ...)
{
    va_list  ap;
    int      n;
    char    *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    p = cwai_arena_alloc(a, (size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- errors ------------------------------------------------------------ */

void
cwai_yerr(cwai_err_t *err, const char *code, const cwai_ynode_t *at,
    const char *fmt, ...)
{
    va_list  ap;
    int      n = 0;

    if (err == NULL) {
        return;
    }
    err->code = code;
    if (at) {
        n = snprintf(err->detail, sizeof(err->detail), "%s:%d:%d: ",
                     at->file, at->line, at->col);
        if (n < 0 || (size_t) n >= sizeof(err->detail)) {
            return;
        }
    }
    va_start(ap, fmt);
    vsnprintf(err->detail + n, sizeof(err->detail) - (size_t) n, fmt, ap);
    va_end(ap);
}

/* ---- parse --------------------------------------------------------------- */

#define MAX_DEPTH  64

typedef struct {
    cwai_arena_t     *a;
    yaml_document_t  *doc;
    const char       *file;
    cwai_ynode_t    **memo;     /* by libyaml node index: aliases share */
    unsigned char    *busy;     /* in progress: a recursive alias */
    cwai_err_t       *err;
} build_t;

static int
is_null_scalar(const yaml_node_t *yn)
{
    const char  *s = (const char *) yn->data.scalar.value;
    size_t       len = yn->data.scalar.length;

    if (yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
        && yn->data.scalar.style != YAML_ANY_SCALAR_STYLE)
    {
        return 0;
    }
    return len == 0
           || (len == 1 && s[0] == '~')
           || (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0
                            || memcmp(s, "NULL", 4) == 0));
}

static void
set_mark(build_t *b, cwai_ynode_t *n, const yaml_node_t *yn)
{
    n->file = b->file;
    n->line = (int) yn->start_mark.line + 1;
    n->col = (int) yn->start_mark.column + 1;
}

static cwai_ynode_t *build(build_t *b, int index, int depth);

static cwai_ynode_t *
build(build_t *b, int index, int depth)
{
    yaml_node_t        *yn = yaml_document_get_node(b->doc, index);
    cwai_ynode_t       *n;
    yaml_node_item_t   *it;
    yaml_node_pair_t   *pr;
    size_t              i, j, count;
    int                 k = index - 1;

    if (yn == NULL) {
        cwai_yerr(b->err, "domain_syntax", NULL, "%s: broken YAML document", b->file);
        return NULL;
    }
    if (b->memo[k]) {
        return b->memo[k];
    }
    if (b->busy[k]) {
        n = cwai_arena_alloc(b->a, sizeof(*n));
        set_mark(b, n, yn);
        cwai_yerr(b->err, "domain_syntax", n, "an alias refers to a node that contains it");
        return NULL;
    }
    if (depth > MAX_DEPTH) {
        n = cwai_arena_alloc(b->a, sizeof(*n));
        set_mark(b, n, yn);
        cwai_yerr(b->err, "domain_syntax", n, "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    b->busy[k] = 1;

    n = cwai_arena_alloc(b->a, sizeof(*n));
    set_mark(b, n, yn);

    switch (yn->type) {

    case YAML_SCALAR_NODE:
        if (is_null_scalar(yn)) {
            n->type = CWAI_YNULL;
            n->str = "";
            break;
        }
        n->type = CWAI_YSCALAR;
        n->len = yn->data.scalar.length;
        n->str = cwai_arena_strndup(b->a, (const char *) yn->data.scalar.value, n->len);
        n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
                    && yn->data.scalar.style != YAML_ANY_SCALAR_STYLE;
        if (strlen(n->str) != n->len) {
            cwai_yerr(b->err, "domain_syntax", n, "a NUL character inside a string");
            return NULL;
        }
        break;

    case YAML_SEQUENCE_NODE:
        n->type = CWAI_YSEQ;
        count = (size_t) (yn->data.sequence.items.top - yn->data.sequence.items.start);
        n->vals = cwai_arena_alloc(b->a, (count ? count : 1) * sizeof(cwai_ynode_t *));
        for (it = yn->data.sequence.items.start; it < yn->data.sequence.items.top; it++) {
            n->vals[n->n] = build(b, *it, depth + 1);
            if (n->vals[n->n] == NULL) {
                return NULL;
            }
            n->n++;
        }
        break;

    case YAML_MAPPING_NODE:
        n->type = CWAI_YMAP;
        count = (size_t) (yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        n->keys = cwai_arena_alloc(b->a, (count ? count : 1) * sizeof(cwai_ynode_t *));
        n->vals = cwai_arena_alloc(b->a, (count ? count : 1) * sizeof(cwai_ynode_t *));
        for (pr = yn->data.mapping.pairs.start; pr < yn->data.mapping.pairs.top; pr++) {
            cwai_ynode_t  *key = build(b, pr->key, depth + 1);

            if (key == NULL) {
                return NULL;
            }
            if (key->type != CWAI_YSCALAR) {
                cwai_yerr(b->err, "domain_syntax", key,
                          "a mapping key must be a plain string, not %s",
                          key->type == CWAI_YNULL ? "empty"
                          : key->type == CWAI_YMAP ? "a mapping" : "a list");
                return NULL;
            }
            if (strcmp(key->str, "<<") == 0) {
                cwai_yerr(b->err, "domain_syntax", key,
                          "merge keys (<<) are not supported; use layers or extends");
                return NULL;
            }
            i = n->n;
            for (j = 0; j < i; j++) {
                if (strcmp(n->keys[j]->str, key->str) == 0) {
                    cwai_yerr(b->err, "domain_schema", key,
                              "duplicate key \"%s\" (first at line %d, column %d)",
                              key->str, n->keys[j]->line, n->keys[j]->col);
                    return NULL;
                }
            }
            n->keys[i] = key;
            n->vals[i] = build(b, pr->value, depth + 1);
            if (n->vals[i] == NULL) {
                return NULL;
            }
            n->n++;
        }
        break;

    default:
        n->type = CWAI_YNULL;
        n->str = "";
        break;
    }

    b->busy[k] = 0;
    b->memo[k] = n;
    return n;
}

static void
syntax_error(cwai_err_t *err, const char *file, yaml_parser_t *p)
{
    const char  *problem = p->problem ? p->problem : "invalid YAML";

    if (p->error == YAML_READER_ERROR) {
        cwai_err_set(err, "domain_syntax", "%s:%d:%d: YAML error: %s (byte offset %zu)",
                     file, (int) p->problem_mark.line + 1,
                     (int) p->problem_mark.column + 1, problem, p->problem_offset);
        return;
    }
    if (p->context) {
        cwai_err_set(err, "domain_syntax", "%s:%d:%d: YAML syntax error: %s %s (line %d, column %d)",
                     file, (int) p->problem_mark.line + 1,
                     (int) p->problem_mark.column + 1, problem, p->context,
                     (int) p->context_mark.line + 1, (int) p->context_mark.column + 1);
        return;
    }
    cwai_err_set(err, "domain_syntax", "%s:%d:%d: YAML syntax error: %s",
                 file, (int) p->problem_mark.line + 1,
                 (int) p->problem_mark.column + 1, problem);
}

int
cwai_yaml_parse(cwai_arena_t *a, const char *file, const char *data, size_t len,
    cwai_ynode_t **root, cwai_err_t *err)
{
    yaml_parser_t    parser;
    yaml_document_t  doc, doc2;
    yaml_node_t     *top;
    build_t          b;
    size_t           nnodes;
    int              rc = -1;

    *root = NULL;
    if (!yaml_parser_initialize(&parser)) {
        cwai_err_set(err, "domain_io", "%s: out of memory", file);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) data, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(err, file, &parser);
        yaml_parser_delete(&parser);
        return -1;
    }

    top = yaml_document_get_root_node(&doc);
    if (top == NULL) {
        /* an empty file: an empty layer */
        cwai_ynode_t  *n = cwai_arena_alloc(a, sizeof(*n));

        n->type = CWAI_YMAP;
        n->file = file;
        n->line = 1;
        n->col = 1;
        n->keys = cwai_arena_alloc(a, sizeof(cwai_ynode_t *));
        n->vals = cwai_arena_alloc(a, sizeof(cwai_ynode_t *));
        *root = n;
        rc = 0;
        goto done;
    }

    /* a second document is a mistake: a domain file is one document */
    if (!yaml_parser_load(&parser, &doc2)) {
        syntax_error(err, file, &parser);
        goto done;
    }
    if (yaml_document_get_root_node(&doc2) != NULL) {
        cwai_err_set(err, "domain_syntax",
                     "%s:%d:%d: a second YAML document (\"---\"); a domain file holds one",
                     file, (int) doc2.start_mark.line + 1, (int) doc2.start_mark.column + 1);
        yaml_document_delete(&doc2);
        goto done;
    }
    yaml_document_delete(&doc2);

    nnodes = (size_t) (doc.nodes.top - doc.nodes.start);
    b.a = a;
    b.doc = &doc;
    b.file = file;
    b.err = err;
    b.memo = calloc(nnodes, sizeof(cwai_ynode_t *));
    b.busy = calloc(nnodes, 1);
    if (b.memo == NULL || b.busy == NULL) {
        free(b.memo);
        free(b.busy);
        cwai_err_set(err, "domain_io", "%s: out of memory", file);
        goto done;
    }
    *root = build(&b, 1, 0);
    free(b.memo);
    free(b.busy);
    if (*root == NULL) {
        goto done;
    }
    if ((*root)->type != CWAI_YMAP) {
        cwai_yerr(err, "domain_schema", *root,
                  "the top level of a domain file must be a mapping of sections");
        *root = NULL;
        goto done;
    }
    rc = 0;

done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- merge --------------------------------------------------------------- */

#define MERGE_LIMIT  4000000

const cwai_ynode_t *
cwai_ymap_get(const cwai_ynode_t *map, const char *key)
{
    size_t  i;

    if (map == NULL || map->type != CWAI_YMAP) {
        return NULL;
    }
    for (i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i]->str, key) == 0) {
            return map->vals[i];
        }
    }
    return NULL;
}

static cwai_ynode_t *
merge(cwai_arena_t *a, const cwai_ynode_t *base, const cwai_ynode_t *over,
    cwai_err_t *err)
{
    cwai_ynode_t        *m;
    const cwai_ynode_t  *ov;
    size_t               i, cap;

    if (base == NULL || base->type != CWAI_YMAP || over->type != CWAI_YMAP) {
        return (cwai_ynode_t *) over;
    }
    if (++a->merged > MERGE_LIMIT) {
        cwai_yerr(err, "domain_schema", over, "the merged document is too large");
        return NULL;
    }

    m = cwai_arena_alloc(a, sizeof(*m));
    *m = *over;                       /* the mark of the latest layer */
    cap = base->n + over->n;
    m->keys = cwai_arena_alloc(a, (cap ? cap : 1) * sizeof(cwai_ynode_t *));
    m->vals = cwai_arena_alloc(a, (cap ? cap : 1) * sizeof(cwai_ynode_t *));
    m->n = 0;

    for (i = 0; i < base->n; i++) {
        ov = cwai_ymap_get(over, base->keys[i]->str);
        if (ov == NULL) {
            m->keys[m->n] = base->keys[i];
            m->vals[m->n++] = base->vals[i];
            continue;
        }
        if (ov->type == CWAI_YNULL) {
            continue;                 /* deleted by the later layer */
        }
        m->keys[m->n] = base->keys[i];
        m->vals[m->n] = merge(a, base->vals[i], ov, err);
        if (m->vals[m->n] == NULL) {
            return NULL;
        }
        m->n++;
    }
    for (i = 0; i < over->n; i++) {
        if (cwai_ymap_get(base, over->keys[i]->str) != NULL) {
            continue;
        }
        m->keys[m->n] = over->keys[i];
        m->vals[m->n++] = over->vals[i];
    }
    return m;
}

cwai_ynode_t *
cwai_yaml_merge(cwai_arena_t *a, const cwai_ynode_t *base, const cwai_ynode_t *over,
    cwai_err_t *err)
{
    return merge(a, base, over, err);
}
