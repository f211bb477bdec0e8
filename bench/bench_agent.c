/*
 * bench-agent: CPU time per message of the embedded agent (normalise,
 * retrieve, route, compose) over every customer turn of the store
 * conversations, with their history and reference "now"; and the memory of
 * a loaded domain and of the agent built on it.
 *
 *   build/bench-agent [-n ROUNDS] [-d domains/cosmetics.yaml]
 *                     [-c t/fixtures/store/conversations.json] [--json]
 *
 * Times: a per-call CPU clock (CLOCK_THREAD_CPUTIME_ID) around
 * cwai_agent_answer() for the total, and the answer's own per-stage
 * timings. Memory: glibc's mallinfo2() in-use bytes before and after
 * loading the domain and building the agent, plus cwai_agent_bytes().
 */
#include "cwai_agent.h"
#include "cwai_domain.h"

#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char   *text;
    const char   *channel;
    int64_t       now;
    cwai_turn_t  *history;          /* shared per conversation */
    size_t        nhistory;
} msg_t;

static double
cpu_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static size_t
heap_in_use(void)
{
    struct mallinfo2  mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
    size_t  i = (size_t) (p * (double) (n - 1) + 0.5);

    return v[i < n ? i : n - 1];
}

static int64_t
parse_now(const char *s)
{
    int     y, mo, d, h, mi, oh, om;
    char    sign;
    int64_t days;

    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%*2d%c%2d:%2d", &y, &mo, &d, &h, &mi, &sign,
                            &oh, &om) != 8)
    {
        return 0;
    }
    {
        cwai_date_t  dt = { y, mo, d };

        days = cwai_date_to_days(dt);
    }
    return days * 86400 + h * 3600 + mi * 60 - (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
}

int
main(int argc, char **argv)
{
    const char     *dpath = "domains/cosmetics.yaml";
    const char     *cpath = "t/fixtures/store/conversations.json";
    int             rounds = 200, as_json = 0, i;
    size_t          m0, m1, m2, ci, ti, nmsg = 0, cap = 0, k, r;
    cwai_err_t      err;
    cwai_domain_t  *d;
    cwai_bot_t     *b;
    json_t         *convs;
    json_error_t    je;
    msg_t          *msgs = NULL;
    double         *tot, *st[5];
    double          t0;
    const char     *names[5] = { "normalise", "retrieve", "route", "compose", "total(stages)" };

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            dpath = argv[++i];
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cpath = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else {
            fprintf(stderr, "usage: %s [-n ROUNDS] [-d DOMAIN.yaml] [-c CONVERSATIONS.json] [--json]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rounds < 1) {
        rounds = 1;
    }

    memset(&err, 0, sizeof(err));
    m0 = heap_in_use();
    d = cwai_domain_load(&dpath, 1, &err);
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dpath, err.detail);
        return 1;
    }
    m1 = heap_in_use();
    t0 = cpu_us();
    b = cwai_agent_new(d, &err);
    if (b == NULL) {
        fprintf(stderr, "agent: %s\n", err.detail);
        return 1;
    }
    t0 = cpu_us() - t0;
    m2 = heap_in_use();

    convs = json_load_file(cpath, 0, &je);
    if (convs == NULL) {
        fprintf(stderr, "%s: %s\n", cpath, je.text);
        return 1;
    }
    /* every customer turn, with the turns before it; the assistant turns
     * carry the agent the bot chose for the customer turn before them */
    for (ci = 0; ci < json_array_size(convs); ci++) {
        json_t       *conv = json_array_get(convs, ci);
        json_t       *turns = json_object_get(conv, "turns");
        size_t        nt = json_array_size(turns);
        cwai_turn_t  *hist = calloc(nt + 1, sizeof(cwai_turn_t));
        int64_t       now = parse_now(json_string_value(json_object_get(conv, "reference_now")));
        const char   *last_agent = NULL;

        for (ti = 0; ti < nt; ti++) {
            json_t  *t = json_array_get(turns, ti);
            int      cust = strcmp(json_string_value(json_object_get(t, "role")), "customer") == 0;

            hist[ti].role = cust ? CWAI_ROLE_CUSTOMER : CWAI_ROLE_ASSISTANT;
            hist[ti].text = json_string_value(json_object_get(t, "text"));
            if (!cust) {
                hist[ti].agent = last_agent;
                continue;
            }
            if (nmsg == cap) {
                cap = cap ? cap * 2 : 64;
                msgs = realloc(msgs, cap * sizeof(msg_t));
            }
            msgs[nmsg].text = hist[ti].text;
            msgs[nmsg].channel = json_string_value(json_object_get(conv, "channel"));
            msgs[nmsg].now = now;
            msgs[nmsg].history = hist;
            msgs[nmsg].nhistory = ti;
            {
                cwai_agent_input_t  in;
                cwai_answer_t       a;

                memset(&in, 0, sizeof(in));
                in.text = msgs[nmsg].text;
                in.channel = msgs[nmsg].channel;
                in.now = now;
                in.history = hist;
                in.nhistory = ti;
                if (cwai_agent_answer(b, &in, &a) == 0) {
                    last_agent = a.agent;
                    cwai_answer_free(&a);
                }
            }
            nmsg++;
        }
    }

    tot = malloc(nmsg * (size_t) rounds * sizeof(double));
    for (k = 0; k < 5; k++) {
        st[k] = malloc(nmsg * (size_t) rounds * sizeof(double));
    }
    for (r = 0; r < (size_t) rounds; r++) {
        for (k = 0; k < nmsg; k++) {
            cwai_agent_input_t  in;
            cwai_answer_t       a;
            double              c0;
            size_t              at = r * nmsg + k;

            memset(&in, 0, sizeof(in));
            in.text = msgs[k].text;
            in.channel = msgs[k].channel;
            in.now = msgs[k].now;
            in.history = msgs[k].history;
            in.nhistory = msgs[k].nhistory;
            c0 = cpu_us();
            if (cwai_agent_answer(b, &in, &a) != 0) {
                fprintf(stderr, "answer failed\n");
                return 1;
            }
            tot[at] = cpu_us() - c0;
            st[0][at] = a.us.normalise;
            st[1][at] = a.us.retrieve;
            st[2][at] = a.us.route;
            st[3][at] = a.us.compose;
            st[4][at] = a.us.total;
            cwai_answer_free(&a);
        }
    }
    k = nmsg * (size_t) rounds;
    qsort(tot, k, sizeof(double), cmp_double);
    for (i = 0; i < 5; i++) {
        qsort(st[i], k, sizeof(double), cmp_double);
    }
    if (as_json) {
        printf("{\"messages\": %zu, \"rounds\": %d, \"cpu_us\": {\"median\": %.1f, \"p90\": %.1f, "
               "\"p99\": %.1f, \"max\": %.1f}, \"stages_us_median\": {\"normalise\": %.1f, "
               "\"retrieve\": %.1f, \"route\": %.1f, \"compose\": %.1f}, "
               "\"memory\": {\"domain_bytes\": %zu, \"agent_bytes\": %zu, \"agent_counted_bytes\": %zu, "
               "\"index_documents\": %zu}, \"build_us\": %.0f}\n",
               nmsg, rounds, pct(tot, k, 0.5), pct(tot, k, 0.9), pct(tot, k, 0.99), tot[k - 1],
               pct(st[0], k, 0.5), pct(st[1], k, 0.5), pct(st[2], k, 0.5), pct(st[3], k, 0.5),
               m1 - m0, m2 - m1, cwai_agent_bytes(b), cwai_agent_index_size(b), t0);
    } else {
        printf("embedded agent on %s: %zu customer turns x %d rounds\n", dpath, nmsg, rounds);
        printf("  %-16s %9s %9s %9s\n", "stage (us)", "median", "p99", "max");
        for (i = 0; i < 5; i++) {
            printf("  %-16s %9.1f %9.1f %9.1f\n", names[i], pct(st[i], k, 0.5), pct(st[i], k, 0.99),
                   st[i][k - 1]);
        }
        printf("  %-16s %9.1f %9.1f %9.1f\n", "cpu per message", pct(tot, k, 0.5), pct(tot, k, 0.99),
               tot[k - 1]);
        printf("memory: domain %zu KiB, agent (indexes, tables) %zu KiB (counted by the agent: %zu KiB),"
               " %zu retrieval documents; agent build %.1f ms CPU\n",
               (m1 - m0) / 1024, (m2 - m1) / 1024, cwai_agent_bytes(b) / 1024, cwai_agent_index_size(b),
               t0 / 1000);
    }
    free(tot);
    for (i = 0; i < 5; i++) {
        free(st[i]);
    }
    for (k = 0; k < nmsg; k++) {
        if (k == 0 || msgs[k].history != msgs[k - 1].history) {
            free(msgs[k].history);
        }
    }
    free(msgs);
    json_decref(convs);
    cwai_agent_free(b);
    cwai_domain_free(d);
    return 0;
}
