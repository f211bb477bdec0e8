/*
 * Router of the embedded agent: message -> agent (sales, support,
 * scheduling, handoff, smalltalk), intent and confidence.
 *
 * Evidence, summed per agent:
 *   - the domain's intents: nearest examples (hashed embeddings, stopwords
 *     kept) and keyword phrases (stem sequences), plus a tiny priority
 *     tie-break;
 *   - retrieval: a product named (sales), a service, professional, date or
 *     time (scheduling), the best rule/FAQ and its category (support,
 *     sales or scheduling), personal requests ("meu pedido": support);
 *   - handoff: an explicit request for a person, the domain's handoff
 *     topics (keywords + examples; health topics need an event such as
 *     "usei", "ficou", "ardendo" so that "tem protetor que não arde?" stays
 *     a sales question);
 *   - the conversation: follow-ups ("e o gel?"), confirmations ("pode
 *     ser", a bare time, a name) keep the previous agent; after a handoff
 *     the conversation stays with a person unless it is only small talk.
 * Confidence grows with the winning score and its margin; below the
 * domain's handoff.confidence_threshold the message goes to a person.
 */
#ifndef CWAI_ROUTER_H
#define CWAI_ROUTER_H

#include "cwai_agent_int.h"

void cwai_router_route(cwai_ctx_t *c);

/* Appends the Chatwoot labels of the decision (intent, handoff topic) to
 * labels[n..]; returns the new count (<= CWAI_ANSWER_MAX_LABELS). */
size_t cwai_router_labels(const cwai_ctx_t *c, const char **labels, size_t n);

#endif
