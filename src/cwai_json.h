#ifndef CWAI_JSON_H
#define CWAI_JSON_H

#include <jansson.h>
#include <stddef.h>

/*
 * json_dumps() for the per-message documents (chat requests, replies,
 * conversation memory), byte for byte the same output, several times
 * faster: jansson decodes every code point of every string and tracks the
 * containers it visits, which made the chat request's serialisation a
 * tenth of a message's CPU.
 *
 * flags: JSON_COMPACT with an optional JSON_REAL_PRECISION(n) and
 * JSON_PRESERVE_ORDER (jansson's order is insertion order anyway); any
 * other flag, or a top level that is not an object or array, is handed to
 * json_dumps() itself. NULL where json_dumps() would return NULL (invalid
 * UTF-8 in a string made with a _nocheck constructor, no memory). *len,
 * when given, is the length (the text is NUL-terminated too). free() it.
 */
char *cwai_json_dumps(const json_t *j, size_t flags, size_t *len);

/*
 * json_loadb() for the per-message documents (webhooks, the model's and
 * Chatwoot's answers, conversation memory): the same tree, built without
 * jansson's per-character stream and string buffer, which made parsing
 * the webhook a fifth of a message's CPU. Anything the fast reader does
 * not take plainly (an error, a flag other than JSON_DECODE_ANY or
 * JSON_REJECT_DUPLICATES, a lone surrogate, \u0000, a duplicate key where
 * rejected, a number strtoll/strtod object to, deep nesting) is parsed
 * again by json_loadb() itself, so results and error texts are jansson's.
 */
json_t *cwai_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error);

#endif
