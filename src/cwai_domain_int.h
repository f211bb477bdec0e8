/*
 * ngx_chatwootai core: internals shared by the domain loader's files
 * (cwai_domain.c, cwai_domain_fields.c, cwai_domain_conv.c).
 */
#ifndef CWAI_DOMAIN_INT_H
#define CWAI_DOMAIN_INT_H

#include "cwai_domain.h"
#include "cwai_yaml.h"

typedef struct {
    cwai_arena_t   *a;          /* owns everything in the domain */
    cwai_err_t     *err;
    cwai_domain_t  *d;
} cwai_conv_t;

/* flags of the field readers */
#define CV_REQ       0x01       /* must be present */
#define CV_NONEMPTY  0x02       /* string or list must not be empty */
#define CV_ID        0x04       /* [A-Za-z0-9][A-Za-z0-9_.-]* */
#define CV_SLUG      0x08       /* [a-z0-9][a-z0-9_-]* */
#define CV_TEXT      0x10       /* may hold {placeholders}: check them */

#define CV_PATH  256

/* path + "." + key (or "[i]") into buf */
const char *cv_path(char *buf, const char *path, const char *key);
const char *cv_index(char *buf, const char *path, size_t i);

/* the value of key, NULL when absent or null */
const cwai_ynode_t *cv_get(const cwai_ynode_t *map, const char *key);

/* type checks; allowed is NULL-terminated; unknown keys are errors */
int cv_map(cwai_conv_t *c, const cwai_ynode_t *n, const char *path,
    const char *const *allowed);
int cv_seq(cwai_conv_t *c, const cwai_ynode_t *n, const char *path);
int cv_missing(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key);
int cv_check_id(cwai_conv_t *c, const cwai_ynode_t *n, const char *path,
    unsigned flags);

/* field readers: 0 ok (absent and optional: *out untouched), -1 error */
int cv_str(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, const char **out);
int cv_int(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, int64_t min, int64_t max, int64_t *out);
int cv_intv(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, int min, int max, int *out);
int cv_money(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, int64_t *cents);
int cv_number(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, double min, double max, double *out);
int cv_bool(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, int *out);
int cv_date(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, cwai_date_t *out);
int cv_time(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, int *out);
int cv_enum(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, const char *const *names, int *out);
int cv_strs(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, cwai_strs_t *out);
int cv_kvs(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, cwai_kvs_t *out);
int cv_day_hours(cwai_conv_t *c, const cwai_ynode_t *n, const char *path,
    int allow_closed, cwai_day_hours_t *out);
int cv_week(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key, unsigned flags, cwai_week_t *out);
int cv_text(cwai_conv_t *c, const cwai_ynode_t *n, const char *path,
    const char *s);

/* "a string \"69,90\"", "a list", ... */
const char *cv_describe(const cwai_ynode_t *n, char *buf, size_t size);
/* the nearest of names[] to s, NULL if none is near */
const char *cv_nearest(const char *s, const char *const *names);
/* "a, b, c" (truncated with "...") */
void cv_join(char *buf, size_t size, const char *const *names, size_t n);
int cv_weekday(const char *s);      /* "monday" -> 1; -1 if none */

/* the whole merged tree -> *d */
int cwai_domain_convert(cwai_conv_t *c, const cwai_ynode_t *root);

#endif
