/* Instants given by clients (the playground's "now"). */
#ifndef CWAI_TIME_H
#define CWAI_TIME_H

#include "cwai_common.h"

/*
 * Parses an ISO-8601 instant with an explicit offset:
 * "2026-11-30T10:00:00-03:00", "2026-11-30T13:00:00Z", with optional
 * fractional seconds. A time without an offset is refused: the answer
 * depends on the business's time zone, so the instant must be exact.
 * Returns 0 and sets *out (unix seconds), or -1.
 */
int cwai_parse_iso8601(const char *s, size_t len, int64_t *out);

#endif
