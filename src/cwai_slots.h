/*
 * Free appointment slots, computed (Odoo Community has no slot API): the
 * business's hours of each local day (weekly or special) minus the daily
 * breaks, cut into appointments of hours->slot_min starting every
 * hours->step_min, not before now + notice nor after the horizon, and not
 * over a busy calendar event.
 *
 * With professionals (nstaff > 0), a start is free when one of the
 * professionals in `want` (those who perform the service) works that
 * weekday, is within their own hours, and has no event over it; that
 * professional is returned with the start (the first one in staff order).
 * Without professionals every event blocks the whole business (one shared
 * calendar).
 */
#ifndef CWAI_SLOTS_H
#define CWAI_SLOTS_H

#include "cwai_odoo.h"

typedef struct {
    const cwai_odoo_hours_t  *hours;
    const cwai_odoo_staff_t  *staff;    /* or NULL */
    size_t                    nstaff;   /* <= CWAI_ODOO_MAX_STAFF */
    uint32_t                  want;     /* bit k: staff[k] may do it */
    const cwai_odoo_busy_t   *busy;     /* or NULL */
    size_t                    nbusy;
    int64_t                   now;      /* unix seconds */
    int64_t                   from, to; /* [from, to), unix seconds */
    int                       around;   /* minutes since local midnight the
                                           customer asked for; -1: none */
} cwai_slots_query_t;

typedef struct {
    int64_t  start;                     /* unix seconds */
    int      who;                       /* index in staff, -1: no staff */
} cwai_free_slot_t;

/*
 * At most max free slots of [from, to), chronological, spread over the
 * days: each day with free time gets its share (round robin), and within
 * a day the ones nearest to `around`, else evenly spaced over the day (so
 * evenings are listed too). *more (optional) = 1 when free slots were left
 * out. Returns the count, or -1 on bad hours or allocation failure.
 */
int cwai_slots_find(const cwai_slots_query_t *q, cwai_free_slot_t *out,
    size_t max, int *more);

#endif
