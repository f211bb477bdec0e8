/*
 * Answer composer of the embedded agent: a reply from retrieved facts and
 * the domain's templates (docs/domains.md lists the template keys and
 * placeholders), in the customer's language where the domain has it.
 *
 *   sales       price / promotion / stock / discontinued (+ an alternative),
 *               recommendations (skin type, stock), a cart total, Pix total,
 *               instalments, shipping by region and the free-shipping
 *               threshold, the payment link (checkout goes to a person)
 *   support     the best rule or FAQ; hours (week, holidays, today); the
 *               address; delivery times by region; personal data requests
 *               (orders, points) name the tool they need and hand off
 *   scheduling  service price/duration and requirements (age), the slots
 *               snapshot by service, day, time, professional and part of
 *               day; closed days and the next free slots; a confirmation
 *               when one slot is chosen (booking itself is a tool)
 *   handoff     the topic's reply or the handoff phrase (after-hours
 *               variant), with the safety rule of health topics
 *   smalltalk   greeting, thanks, goodbye templates
 *
 * Money is "R$ 1.234,56", dates "quarta, 02/12", times "18:30", all in the
 * domain's time zone. Figures come from the rules' machine-readable
 * figures; when none scores high enough the reply says so and hands off.
 * Emoji are dropped when the persona or the channel does not use them, and
 * the reply is cut at a sentence boundary to the channel's max_length.
 */
#ifndef CWAI_COMPOSE_H
#define CWAI_COMPOSE_H

#include "cwai_agent_int.h"

int cwai_compose(cwai_ctx_t *c, cwai_answer_t *out);

/* Strips emoji (and variation selectors/joiners) in place; returns the new
 * length. */
size_t cwai_strip_emoji(char *s);

/* Cuts s (in place) to at most max characters (code points), at the last
 * sentence end before the limit when there is one. */
void cwai_limit_length(char *s, size_t max);

#endif
