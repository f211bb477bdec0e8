/*
 * Free appointment slots from opening hours, breaks, professionals and
 * busy calendar events (see cwai_slots.h).
 */
#include "cwai_slots.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MAX_SLOTS   288     /* a start every 5 minutes at most */
#define FIND_MAX_DAYS   92      /* the busy read spans 90 days at most */
#define FREE_MAX_DAYS   400

static int
iv_cmp(const void *a, const void *b)
{
    return ((const cwai_odoo_iv_t *) a)->open - ((const cwai_odoo_iv_t *) b)->open;
}

static int
hours_ok(const cwai_odoo_hours_t *h)
{
    return h != NULL && h->slot_min > 0 && h->slot_min <= 1440
           && h->step_min <= 1440 && h->utc_offset_min >= -1440
           && h->utc_offset_min <= 1440 && h->nbreaks <= CWAI_ODOO_DAY_IVS;
}

/* [lo, hi): the request's window within now + notice and the horizon. */
static void
bounds(const cwai_odoo_hours_t *h, int64_t now, int64_t from, int64_t to,
    int64_t *lo, int64_t *hi)
{
    int64_t  horizon, earliest = now + (int64_t) h->notice_min * 60;

    horizon = cwai_odoo_local_midnight(now, h->utc_offset_min)
              + (int64_t) ((h->horizon_days ? h->horizon_days : 60) + 1) * 86400;
    *lo = from > earliest ? from : earliest;
    *hi = to < horizon ? to : horizon;
}

/* The business's intervals on the local day starting at `day`. */
static size_t
day_intervals(const cwai_odoo_hours_t *h, int64_t day, cwai_odoo_iv_t *iv,
    int *wday)
{
    cwai_utc_tm_t  tm;
    int32_t        date;
    size_t         i, n;

    cwai_utc_split(day + (int64_t) h->utc_offset_min * 60, &tm);
    *wday = tm.wday;
    date = tm.year * 10000 + tm.month * 100 + tm.day;
    for (i = 0; h->special && i < h->nspecial; i++) {
        if (h->special[i].date == date) {
            n = h->special[i].n > CWAI_ODOO_DAY_IVS ? CWAI_ODOO_DAY_IVS
                : h->special[i].n;
            memcpy(iv, h->special[i].iv, n * sizeof(iv[0]));
            qsort(iv, n, sizeof(iv[0]), iv_cmp);
            return n;
        }
    }
    n = h->nweek[tm.wday] > CWAI_ODOO_DAY_IVS ? CWAI_ODOO_DAY_IVS
        : h->nweek[tm.wday];
    memcpy(iv, h->week[tm.wday], n * sizeof(iv[0]));
    qsort(iv, n, sizeof(iv[0]), iv_cmp);
    return n;
}

static int
within(const cwai_odoo_iv_t *iv, size_t n, int m, int e)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (iv[i].open <= m && e <= iv[i].close) {
            return 1;
        }
    }
    return 0;
}

/* Who can take [s, e) (m..me local minutes): a staff index, -1 when there
 * is no staff and nothing is busy, -2 when nobody can. */
static int
free_who(const cwai_slots_query_t *q, int64_t s, int64_t e, int wday, int m,
    int me)
{
    const cwai_odoo_staff_t  *st;
    size_t                    k, j;

    if (q->nstaff == 0 || q->staff == NULL) {
        for (j = 0; q->busy && j < q->nbusy; j++) {
            if (q->busy[j].start < e && q->busy[j].stop > s) {
                return -2;
            }
        }
        return -1;
    }
    for (k = 0; k < q->nstaff; k++) {
        st = &q->staff[k];
        if (!(q->want & (1u << k))
            || (st->works_on && !(st->works_on & (1u << wday)))
            || (st->own_hours && !within(st->week[wday], st->nweek[wday] >
                                         CWAI_ODOO_DAY_IVS ? CWAI_ODOO_DAY_IVS
                                         : st->nweek[wday], m, me)))
        {
            continue;
        }
        for (j = 0; q->busy && j < q->nbusy; j++) {
            if ((q->busy[j].staff & (1u << k))
                && q->busy[j].start < e && q->busy[j].stop > s)
            {
                break;
            }
        }
        if (q->busy == NULL || j == q->nbusy) {
            return (int) k;
        }
    }
    return -2;
}

/* The free slots of one local day, chronological; -1 on bad hours. */
static int
day_slots(const cwai_slots_query_t *q, int64_t day, int64_t lo, int64_t hi,
    cwai_free_slot_t *out, size_t max)
{
    const cwai_odoo_hours_t  *h = q->hours;
    cwai_odoo_iv_t            iv[CWAI_ODOO_DAY_IVS];
    size_t                    niv, i, b, cnt = 0;
    int                       wday, m, me, who, step, dur = (int) h->slot_min;
    int64_t                   s, e;

    step = h->step_min ? (int) h->step_min : dur;
    niv = day_intervals(h, day, iv, &wday);
    for (i = 0; i < niv; i++) {
        if (iv[i].open < 0 || iv[i].close > 1440 || iv[i].open >= iv[i].close) {
            return -1;
        }
        for (m = iv[i].open; m + dur <= iv[i].close && cnt < max; m += step) {
            me = m + dur;
            s = day + (int64_t) m * 60;
            e = s + (int64_t) dur * 60;
            if (s < lo || e > hi) {
                continue;
            }
            for (b = 0; b < h->nbreaks; b++) {
                if (h->breaks[b].open < me && h->breaks[b].close > m) {
                    break;
                }
            }
            if (b < h->nbreaks) {
                continue;
            }
            who = free_who(q, s, e, wday, m, me);
            if (who == -2 || (cnt > 0 && out[cnt - 1].start >= s)) {
                continue;
            }
            out[cnt].start = s;
            out[cnt].who = who;
            cnt++;
        }
    }
    return (int) cnt;
}

int
cwai_odoo_free_slots(const cwai_odoo_hours_t *h, int64_t now, int64_t from,
    int64_t to, const cwai_odoo_busy_t *busy, size_t nbusy, int64_t *starts,
    size_t max)
{
    cwai_slots_query_t  q;
    cwai_free_slot_t    buf[DAY_MAX_SLOTS];
    int64_t             lo, hi, day;
    size_t              cnt = 0, d;
    int                 n, i;

    if (!hours_ok(h) || (max > 0 && starts == NULL)) {
        return -1;
    }
    memset(&q, 0, sizeof(q));
    q.hours = h;
    q.busy = busy;
    q.nbusy = nbusy;
    bounds(h, now, from, to, &lo, &hi);
    day = cwai_odoo_local_midnight(lo, h->utc_offset_min);
    for (d = 0; d < FREE_MAX_DAYS && day < hi && cnt < max; d++, day += 86400) {
        n = day_slots(&q, day, lo, hi, buf, DAY_MAX_SLOTS);
        if (n < 0) {
            return -1;
        }
        for (i = 0; i < n && cnt < max; i++) {
            starts[cnt++] = buf[i].start;
        }
    }
    return (int) cnt;
}

int
cwai_slots_find(const cwai_slots_query_t *q, cwai_free_slot_t *out,
    size_t max, int *more)
{
    const cwai_odoo_hours_t  *h = q ? q->hours : NULL;
    cwai_free_slot_t         *buf, *ds;
    size_t                    n[FIND_MAX_DAYS], take[FIND_MAX_DAYS];
    size_t                    ndays, d, j, left, cnt = 0, k;
    int64_t                   lo, hi, first, day;
    long                      l, r, mins;
    int                       got, progress;

    if (more) {
        *more = 0;
    }
    if (q == NULL || !hours_ok(h) || q->nstaff > CWAI_ODOO_MAX_STAFF
        || (max > 0 && out == NULL))
    {
        return -1;
    }
    bounds(h, q->now, q->from, q->to, &lo, &hi);
    if (max == 0 || lo >= hi) {
        return 0;
    }
    first = cwai_odoo_local_midnight(lo, h->utc_offset_min);
    ndays = (size_t) ((hi - first + 86399) / 86400);
    if (ndays > FIND_MAX_DAYS) {
        ndays = FIND_MAX_DAYS;
    }
    buf = malloc(ndays * DAY_MAX_SLOTS * sizeof(*buf));
    if (buf == NULL) {
        return -1;
    }
    for (d = 0; d < ndays; d++) {
        got = day_slots(q, first + (int64_t) d * 86400, lo, hi,
                        buf + d * DAY_MAX_SLOTS, DAY_MAX_SLOTS);
        if (got < 0) {
            free(buf);
            return -1;
        }
        n[d] = (size_t) got;
        take[d] = 0;
    }
    /* each day its share, one slot per day per round */
    for (left = max, progress = 1; left > 0 && progress; ) {
        progress = 0;
        for (d = 0; d < ndays && left > 0; d++) {
            if (take[d] < n[d]) {
                take[d]++;
                left--;
                progress = 1;
            }
        }
    }
    for (d = 0; d < ndays; d++) {
        k = take[d];
        if (more && k < n[d]) {
            *more = 1;
        }
        if (k == 0) {
            continue;
        }
        ds = buf + d * DAY_MAX_SLOTS;
        day = first + (int64_t) d * 86400;
        if (q->around < 0) {
            for (j = 0; j < k; j++) {
                out[cnt++] = ds[j * n[d] / k];
            }
            continue;
        }
        /* the k nearest to the time asked for: a window around it */
        for (r = 0; (size_t) r < n[d] && (ds[r].start - day) / 60 < q->around; r++) {
            /* first at or after the time */
        }
        for (l = r - 1, j = 0; j < k; j++) {
            mins = (size_t) r < n[d] ? (long) ((ds[r].start - day) / 60) - q->around
                   : -1;
            if (l < 0 || (mins >= 0
                          && mins <= q->around - (long) ((ds[l].start - day) / 60)))
            {
                r++;
            } else {
                l--;
            }
        }
        for (l = l + 1; l < r; l++) {
            out[cnt++] = ds[l];
        }
    }
    free(buf);
    return (int) cnt;
}
