#include "cwai_common.h"

#include <stdarg.h>
#include <stdio.h>

void
cwai_err_set(cwai_err_t *err, const char *code, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return;
    }
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
}

uint64_t
cwai_hash64_more(uint64_t h, const void *data, size_t len)
{
    const unsigned char  *p = data;

    while (len--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t
cwai_hash64(const void *data, size_t len)
{
    return cwai_hash64_more(CWAI_HASH64_INIT, data, len);
}
