/*
 * cache-latency: how long a customer waits for a cached answer served from
 * the zone (L1), from Redis (L2), and for a miss that goes to the model.
 *
 *   cache-latency FAKE_PORT MODEL_MS BODY_FILE N TAG GROUP...
 *       GROUP = NAME:NGINX_PORT[,NAME:NGINX_PORT...]
 *       e.g. miss:18690 L1:18690,L2:18691
 *
 * One process is both ends, so the clock is one clock (microseconds):
 *
 * - the fakes, on 127.0.0.1:FAKE_PORT (nginx proxy_passes its internal
 *   /_cwai/llm and /_cwai/chatwoot locations here): the model answers
 *   /v1/chat/completions after exactly MODEL_MS (a timer, not a sleep), with
 *   t/fixtures/openai/chat-completion-final.json; everything else (Chatwoot)
 *   at once with reply_create_message_response.json;
 * - the client: for each group, N webhooks per phase one after the other
 *   (the phases of a group in turn, question by question, in a random
 *   order, so that a busy machine slows them alike), each on a
 *   new connection (as Chatwoot sends them), each a new message in a new
 *   conversation (the answer cache is for single-turn questions) whose text
 *   is question i of this run (TAG makes the texts of a run its own). The
 *   latency of a sample is from connect() to the arrival at the fake
 *   Chatwoot of the reply POST of that conversation (…/conversations/ID/
 *   messages): the acknowledgement, the pipeline, the cache lookup and the
 *   reply subrequest — what the customer waits for, minus Chatwoot itself.
 *
 * Every phase asks the same N questions, so with `miss:A L1:A,L2:B` the
 * first group fills A's zone and Redis (model asked); then, question by
 * question, A answers from its zone and B, sharing A's Redis with a zone
 * that never saw them, from Redis (filling its zone on the way).
 *
 * Prints one line per phase: n, min, p50, p90, p99, max, mean (ms) and how
 * many model calls the phase made.
 */
#define _GNU_SOURCE   /* strcasestr, memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bench_util.h"

#define MAX_CONNS  256

typedef struct {
    int      fd;
    int      client;        /* 1: our webhook to nginx; 0: nginx to a fake */
    char    *in;
    size_t   in_len, in_cap;
    char    *out;
    size_t   out_len, out_sent;
    double   due;           /* a delayed (model) response: when to send it */
} conn_t;

static int      ep;
static char    *llm_body, *cw_body;
static size_t   llm_len, cw_len;
static double   model_ms;
static long     waiting_conv = -1;      /* the conversation whose reply we wait for */
static double   reply_at;               /* when it came */
static long     llm_calls;
static conn_t  *delayed[MAX_CONNS];
static size_t   ndelayed;

/* every occurrence of from in s replaced by to (a new string) */
static char *
replace_all(const char *s, const char *from, const char *to)
{
    size_t       fl = strlen(from), tl = strlen(to), n = 0;
    const char  *p;
    char        *out, *o;

    for (p = s; (p = strstr(p, from)) != NULL; p += fl) {
        n++;
    }
    out = malloc(strlen(s) + n * (tl + 1) + 1);
    o = out;
    for (p = s; ; ) {
        const char *hit = strstr(p, from);
        if (hit == NULL) {
            break;
        }
        memcpy(o, p, (size_t) (hit - p));
        o += hit - p;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    strcpy(o, p);
    return out;
}

static void
conn_close(conn_t *c)
{
    size_t  i;

    for (i = 0; i < ndelayed; i++) {
        if (delayed[i] == c) {
            delayed[i] = delayed[--ndelayed];
            break;
        }
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void
conn_want(conn_t *c, unsigned events)
{
    struct epoll_event  ev = { .events = events, .data.ptr = c };

    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_flush(conn_t *c)
{
    ssize_t  r;

    while (c->out_sent < c->out_len) {
        r = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
        if (r <= 0) {
            break;
        }
        c->out_sent += (size_t) r;
    }
    conn_want(c, c->out_sent < c->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void
respond(conn_t *c, const char *body, size_t len)
{
    size_t  need = c->out_len - c->out_sent + len + 128;
    char   *o = malloc(need);
    size_t  k = c->out_len - c->out_sent;

    memcpy(o, c->out + c->out_sent, k);
    k += (size_t) sprintf(o + k, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: %zu\r\n\r\n", len);
    memcpy(o + k, body, len);
    free(c->out);
    c->out = o;
    c->out_len = k + len;
    c->out_sent = 0;
    conn_flush(c);
}

/* the fakes: every complete request in c->in */
static void
serve(conn_t *c)
{
    for (;;) {
        char    *end, *cl, *conv;
        size_t   hlen, blen = 0;

        if (c->due > 0) {
            return;         /* keep the order: a model answer is pending */
        }
        end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (end == NULL) {
            return;
        }
        hlen = (size_t) (end + 4 - c->in);
        *end = '\0';
        cl = strcasestr(c->in, "\r\ncontent-length:");
        if (cl) {
            blen = (size_t) atol(cl + 17);
        }
        if (c->in_len < hlen + blen) {
            *end = '\r';
            return;
        }
        if (strncmp(c->in, "POST /v1/chat/completions", 25) == 0) {
            llm_calls++;
            c->due = bench_now_ms() + model_ms;
            delayed[ndelayed++] = c;
        } else {
            conv = strstr(c->in, "/conversations/");
            if (strncmp(c->in, "POST ", 5) == 0 && conv
                && strtol(conv + 15, NULL, 10) == waiting_conv
                && strncmp(strchr(conv + 15, '/') ? strchr(conv + 15, '/') : "", "/messages ", 10) == 0
                && reply_at == 0)
            {
                reply_at = bench_now_ms();
            }
            respond(c, cw_body, cw_len);
        }
        memmove(c->in, c->in + hlen + blen, c->in_len - hlen - blen);
        c->in_len -= hlen + blen;
    }
}

static int
read_in(conn_t *c)
{
    ssize_t  r;

    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            c->in_cap = c->in_cap * 2 + 8192;
            c->in = realloc(c->in, c->in_cap);
        }
        r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
        if (r > 0) {
            c->in_len += (size_t) r;
            c->in[c->in_len] = '\0';
            continue;
        }
        if (r == 0) {
            return -1;
        }
        return errno == EAGAIN ? 0 : -1;
    }
}

/* one round of the event loop, at most until deadline */
static void
loop_once(int lfd, double deadline)
{
    struct epoll_event  evs[64];
    double              t = bench_now_ms(), next = deadline;
    int                 n, i;
    size_t              k;

    for (k = 0; k < ndelayed; k++) {
        if (delayed[k]->due < next) {
            next = delayed[k]->due;
        }
    }
    /* whole milliseconds, then a busy poll for the rest: a model answer
     * leaves on time to a few microseconds */
    n = epoll_wait(ep, evs, 64, next > t ? (int) (next - t) : 0);
    for (i = 0; i < n; i++) {
        conn_t *c = evs[i].data.ptr;

        if (c == NULL) {        /* the listener */
            int fd;
            while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                conn_t              *nc = calloc(1, sizeof(conn_t));
                struct epoll_event   ev = { .events = EPOLLIN };
                int                  one = 1;

                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                nc->fd = fd;
                ev.data.ptr = nc;
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            }
            continue;
        }
        if (c->client) {
            if ((evs[i].events & EPOLLOUT) && c->out_sent < c->out_len) {
                conn_flush(c);
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                /* the acknowledgement: read and drop; the server closes */
                if (read_in(c) < 0) {
                    conn_close(c);
                }
            }
            continue;
        }
        if ((evs[i].events & EPOLLOUT) && c->out_sent < c->out_len) {
            conn_flush(c);
        }
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            if (read_in(c) < 0) {
                conn_close(c);
                continue;
            }
            serve(c);
        }
    }
    /* model answers that are due */
    t = bench_now_ms();
    for (k = 0; k < ndelayed; ) {
        conn_t *c = delayed[k];
        if (c->due <= t) {
            delayed[k] = delayed[--ndelayed];
            c->due = 0;
            respond(c, llm_body, llm_len);
            serve(c);       /* requests queued behind it */
        } else {
            k++;
        }
    }
}

/* the question of sample i: words, since the answer's key is made of the
 * normalised words (digits alone might not count) */
static void
question(char *buf, const char *tag, int i)
{
    sprintf(buf, "qual o prazo para trocar um produto %s%c%c%c", tag,
            'a' + i / 676 % 26, 'a' + i / 26 % 26, 'a' + i % 26);
}

typedef struct {
    const char  *name;
    int          port;
    double      *lat;
    size_t       nl, lost;
    long         llm;
} phase_t;

static long  id_base;

/* one webhook with question q to sa; ms until its reply reached the fake
 * Chatwoot, or -1 */
static double
sample(int lfd, struct sockaddr_in *sa, const char *tpl, const char *text,
    const char *q)
{
    long     id = id_base++;
    long     conv = id % 100000000 + 1000000;
    char    *b1, *b2, *b3, *b4, *req, num[64];
    conn_t  *c = calloc(1, sizeof(conn_t));
    double   t0, deadline, l;
    size_t   blen, k;
    int      one = 1;
    struct epoll_event  ev;

    b1 = replace_all(tpl, text, q);
    sprintf(num, "\"id\":%ld", id);
    b2 = replace_all(b1, "\"id\":90211", num);
    sprintf(num, "\"id\":%ld,", conv);
    b3 = replace_all(b2, "\"id\":318,", num);
    sprintf(num, "\"conversation_id\":%ld,", conv);
    b4 = replace_all(b3, "\"conversation_id\":318,", num);
    blen = strlen(b4);
    req = malloc(blen + 256);
    k = (size_t) sprintf(req, "POST /hook HTTP/1.1\r\nHost: bench\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
    memcpy(req + k, b4, blen);
    free(b1); free(b2); free(b3); free(b4);

    waiting_conv = conv;
    reply_at = 0;
    c->client = 1;
    c->out = req;
    c->out_len = k + blen;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    t0 = bench_now_ms();
    connect(c->fd, (struct sockaddr *) sa, sizeof(*sa));

    deadline = t0 + model_ms + 5000;
    while (reply_at == 0 && bench_now_ms() < deadline) {
        loop_once(lfd, deadline);
    }
    l = reply_at == 0 ? -1 : reply_at - t0;

    /* let the pipeline end (DONE writes the caches) before the next */
    deadline = bench_now_ms() + 2;
    while (bench_now_ms() < deadline) {
        loop_once(lfd, deadline);
    }
    return l;
}

int
main(int argc, char **argv)
{
    int                 lfd, one = 1, n, i, ph;
    size_t              tpl_len, k;
    char               *tpl, q[128];
    const char         *tag;
    double              sum;
    unsigned            seed = 20261206;
    struct sockaddr_in  sa;
    struct epoll_event  ev;

    if (argc < 7) {
        fprintf(stderr, "usage: %s FAKE_PORT MODEL_MS BODY_FILE N TAG NAME:PORT...\n", argv[0]);
        return 2;
    }
    model_ms = atof(argv[2]);
    tpl = bench_slurp(argv[3], &tpl_len);
    n = atoi(argv[4]);
    tag = argv[5];
    llm_body = bench_slurp("t/fixtures/openai/chat-completion-final.json", &llm_len);
    cw_body = bench_slurp("t/fixtures/chatwoot/reply_create_message_response.json", &cw_len);
    id_base = 800000000L + (long) (bench_now_ms()) % 1000000 * 100;

    ep = epoll_create1(0);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(lfd, 1024) != 0) {
        perror("cache-latency: fake upstream port");
        return 1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    /* the template's own text, message id and conversation id are replaced */
    {
        const char *c = strstr(tpl, "\"content\":\"");
        char       *e;
        if (c == NULL || (e = strchr(c + 11, '"')) == NULL) {
            fprintf(stderr, "cache-latency: no content in %s\n", argv[3]);
            return 1;
        }
        *e = '\0';
        c = strdup(c + 11);
        *e = '"';
        argv[3] = (char *) c;       /* the original text */
    }

    for (ph = 6; ph < argc; ph++) {
        /* a group: phases taken in turn, question by question */
        phase_t  grp[16];
        int      ng = 0, g;
        char    *tok, *save = NULL;

        for (tok = strtok_r(argv[ph], ",", &save); tok && ng < 16;
             tok = strtok_r(NULL, ",", &save))
        {
            char *colon = strrchr(tok, ':');
            if (colon == NULL) {
                fprintf(stderr, "cache-latency: phase %s is not NAME:PORT\n", tok);
                return 2;
            }
            *colon = '\0';
            memset(&grp[ng], 0, sizeof(phase_t));
            grp[ng].name = tok;
            grp[ng].port = atoi(colon + 1);
            grp[ng].lat = malloc((size_t) n * sizeof(double));
            ng++;
        }

        /* a pause between groups: the last pipeline ends, its cache
         * writes (zone, Redis) are done */
        {
            double until = bench_now_ms() + 300;
            while (bench_now_ms() < until) {
                loop_once(lfd, until);
            }
        }

        for (i = 0; i < n; i++) {
            int  order[16], j, h, t;

            /* the phases in a random order (a worker that has just worked
             * answers faster than one woken up: no phase always first or
             * always right after its own instance), except that phases of
             * the same instance keep their order (L2 before the L1 hit it
             * fills) */
            for (g = 0; g < ng; g++) {
                order[g] = g;
            }
            for (g = ng - 1; g > 0; g--) {
                j = (int) (rand_r(&seed) % (unsigned) (g + 1));
                t = order[g]; order[g] = order[j]; order[j] = t;
            }
            for (g = 0; g < ng; g++) {
                for (h = g + 1; h < ng; h++) {
                    if (grp[order[g]].port == grp[order[h]].port && order[g] > order[h]) {
                        t = order[g]; order[g] = order[h]; order[h] = t;
                    }
                }
            }

            question(q, tag, i);
            for (j = 0; j < ng; j++) {
                long    llm0 = llm_calls;
                double  l;

                g = order[j];
                sa.sin_port = htons((uint16_t) grp[g].port);
                l = sample(lfd, &sa, tpl, argv[3], q);
                if (l < 0) {
                    grp[g].lost++;
                } else {
                    grp[g].lat[grp[g].nl++] = l;
                }
                grp[g].llm += llm_calls - llm0;
            }
        }

        for (g = 0; g < ng; g++) {
            phase_t *P = &grp[g];
            double  *lat = P->lat;
            size_t   nl = P->nl;

            if (nl == 0) {
                printf("%s: no reply came (%zu lost)\n", P->name, P->lost);
                continue;
            }
            qsort(lat, nl, sizeof(double), bench_cmp_double);
            for (sum = 0, k = 0; k < nl; k++) {
                sum += lat[k];
            }
            printf("%s: n %zu, min %.3f, p50 %.3f, p90 %.3f, p99 %.3f, max %.3f, mean %.3f ms;"
                   " model calls %ld%s\n",
                   P->name, nl, lat[0], lat[nl / 2], lat[nl * 90 / 100],
                   lat[nl * 99 / 100], lat[nl - 1], sum / (double) nl, P->llm,
                   P->lost ? " (some replies never came)" : "");
        }
        fflush(stdout);
    }
    return 0;
}
