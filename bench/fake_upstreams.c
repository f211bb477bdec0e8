/*
 * fake-upstreams: the benchmark's fixed-latency fakes (an OpenAI-compatible
 * model and Chatwoot's REST API) in C, answering with the fixtures' exact
 * bodies, as bench/fake_upstreams.py does. The Python fake spends about a
 * core at 2,000 messages/s on a 2-core box shared with nginx; this one is
 * a single epoll loop, so the CPU goes to what is measured.
 *
 *   fake-upstreams PORT MODEL_MS OTHER_MS FIXTURES_DIR
 *
 * Routes: POST /v1/chat/completions* -> the model's final answer after
 * MODEL_MS; GET /counts -> {"llm":N,"chatwoot":N}; anything else -> the
 * Chatwoot message after OTHER_MS. HTTP/1.1 keep-alive, one request at a
 * time per connection (nginx's upstream keepalive does not pipeline).
 * Each delay is fixed, so the answers due are two FIFO queues.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define IN_CAP  65536

typedef struct {
    int      fd;
    int      waiting;       /* a request is queued: parse no further */
    int      closed;        /* the peer went away while queued */
    size_t   in_len;
    char    *in;
    char    *out;           /* the unsent rest of a response */
    size_t   out_len, out_sent;
} conn_t;

typedef struct {
    conn_t  **c;
    double   *due;
    size_t    head, n, cap;
} fifo_t;

static const char  *bodies[3];     /* model, chatwoot, (counts: built) */
static size_t       body_len[3];
static long         counts[2];

static char *
slurp(const char *dir, const char *name, size_t *len)
{
    char  path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return bench_slurp(path, len);
}

static void
fifo_push(fifo_t *q, conn_t *c, double due)
{
    size_t  i;

    if (q->n == q->cap) {
        size_t    ncap = q->cap ? 2 * q->cap : 1024;
        conn_t  **nc = malloc(ncap * sizeof(*nc));
        double   *nd = malloc(ncap * sizeof(*nd));

        if (nc == NULL || nd == NULL) {
            exit(1);
        }
        for (i = 0; i < q->n; i++) {
            nc[i] = q->c[(q->head + i) % q->cap];
            nd[i] = q->due[(q->head + i) % q->cap];
        }
        free(q->c);
        free(q->due);
        q->c = nc;
        q->due = nd;
        q->head = 0;
        q->cap = ncap;
    }
    q->c[(q->head + q->n) % q->cap] = c;
    q->due[(q->head + q->n) % q->cap] = due;
    q->n++;
}

static void
conn_free(int ep, conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static int parse(int ep, conn_t *c, fifo_t *q, double *delay);

/* Sends what is left of the response; 0 done, 1 blocked, -1 gone. */
static int
flush_out(int ep, conn_t *c)
{
    ssize_t             w;
    struct epoll_event  ev;

    while (c->out_sent < c->out_len) {
        w = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
        if (w > 0) {
            c->out_sent += (size_t) w;
        } else if (w < 0 && errno == EAGAIN) {
            ev.events = EPOLLIN | EPOLLOUT;
            ev.data.ptr = c;
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 1;
        } else {
            return -1;
        }
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_sent = 0;
    return 0;
}

static int
respond(int ep, conn_t *c, const char *body, size_t len)
{
    char  head[160];
    int   hl;

    hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n", len);
    c->out = malloc((size_t) hl + len);
    if (c->out == NULL) {
        return -1;
    }
    memcpy(c->out, head, (size_t) hl);
    memcpy(c->out + hl, body, len);
    c->out_len = (size_t) hl + len;
    c->out_sent = 0;
    return flush_out(ep, c);
}

/* One complete request at the start of c->in: queue it (or answer /counts).
 * 0: nothing more to do now; -1: close. */
static int
parse(int ep, conn_t *c, fifo_t *q, double *delay)
{
    char    *end, *p, *line_end, path[256];
    size_t   head_len, clen = 0, total;
    int      model;

    while (!c->waiting && c->out == NULL) {
        end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (end == NULL) {
            return c->in_len >= IN_CAP ? -1 : 0;
        }
        head_len = (size_t) (end + 4 - c->in);
        line_end = memmem(c->in, head_len, "\r\n", 2);
        p = memchr(c->in, ' ', (size_t) (line_end - c->in));
        if (p == NULL) {
            return -1;
        }
        p++;
        {
            char   *sp = memchr(p, ' ', (size_t) (line_end - p));
            size_t  pl = sp ? (size_t) (sp - p) : (size_t) (line_end - p);

            if (pl >= sizeof(path)) {
                pl = sizeof(path) - 1;
            }
            memcpy(path, p, pl);
            path[pl] = '\0';
        }
        for (p = line_end + 2; p < end; ) {
            char *le = memmem(p, (size_t) (end + 2 - p), "\r\n", 2);

            if (le - p > 15 && strncasecmp(p, "content-length:", 15) == 0) {
                clen = strtoul(p + 15, NULL, 10);
            }
            p = le + 2;
        }
        total = head_len + clen;
        if (total > IN_CAP) {
            return -1;
        }
        if (c->in_len < total) {
            return 0;
        }
        memmove(c->in, c->in + total, c->in_len - total);
        c->in_len -= total;

        if (strcmp(path, "/counts") == 0) {
            char  b[96];
            int   bl = snprintf(b, sizeof(b), "{\"llm\": %ld, \"chatwoot\": %ld}",
                                counts[0], counts[1]);

            if (respond(ep, c, b, (size_t) bl) < 0) {
                return -1;
            }
            continue;
        }
        model = strncmp(path, "/v1/chat/completions", 20) == 0;
        counts[model ? 0 : 1]++;
        c->waiting = model ? 1 : 2;
        fifo_push(&q[model ? 0 : 1], c, bench_now_ms() + delay[model ? 0 : 1]);
    }
    return 0;
}

/* The peer's bytes; -1 when the connection is to be closed. */
static int
on_read(int ep, conn_t *c, fifo_t *q, double *delay)
{
    ssize_t  r;

    for (;;) {
        if (c->in_len == IN_CAP) {
            return -1;
        }
        r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (r > 0) {
            c->in_len += (size_t) r;
            continue;
        }
        if (r < 0 && errno == EAGAIN) {
            break;
        }
        return -1;
    }
    return parse(ep, c, q, delay);
}

int
main(int argc, char **argv)
{
    int                 ls, ep, one = 1, i, n, timeout;
    double              delay[2], t;
    fifo_t              q[2];
    struct sockaddr_in  sa;
    struct epoll_event  ev, evs[512];

    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT MODEL_MS OTHER_MS FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    delay[0] = atof(argv[2]);
    delay[1] = atof(argv[3]);
    bodies[0] = slurp(argv[4], "openai/chat-completion-final.json", &body_len[0]);
    bodies[1] = slurp(argv[4], "chatwoot/reply_create_message_response.json", &body_len[1]);
    memset(q, 0, sizeof(q));

    ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(ls, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(ls, 4096) != 0) {
        perror("fake-upstreams: listen");
        return 1;
    }
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);

    for (;;) {
        /* answers that are due, oldest first */
        t = bench_now_ms();
        for (i = 0; i < 2; i++) {
            while (q[i].n && q[i].due[q[i].head] <= t) {
                conn_t  *c = q[i].c[q[i].head];

                q[i].head = (q[i].head + 1) % q[i].cap;
                q[i].n--;
                c->waiting = 0;
                if (c->closed || respond(ep, c, bodies[i], body_len[i]) < 0
                    || parse(ep, c, q, delay) < 0)
                {
                    conn_free(ep, c);
                }
            }
        }
        timeout = -1;
        for (i = 0; i < 2; i++) {
            if (q[i].n) {
                double  d = q[i].due[q[i].head] - t;
                int     ms = d <= 0 ? 0 : (int) d + 1;

                if (timeout < 0 || ms < timeout) {
                    timeout = ms;
                }
            }
        }
        n = epoll_wait(ep, evs, 512, timeout);
        for (i = 0; i < n; i++) {
            conn_t  *c = evs[i].data.ptr;

            if (c == NULL) {
                int  fd;

                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    if (c == NULL || (c->in = malloc(IN_CAP)) == NULL) {
                        exit(1);
                    }
                    c->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (c->closed) {
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && c->out != NULL) {
                int  rc = flush_out(ep, c);

                if (rc < 0) {
                    goto gone;
                }
                if (rc == 0) {
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    if (parse(ep, c, q, delay) < 0) {
                        goto gone;
                    }
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                if (on_read(ep, c, q, delay) < 0) {
                    goto gone;
                }
            }
            continue;
        gone:
            if (c->waiting) {
                /* still in a queue: freed when it comes out */
                c->closed = 1;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            } else {
                conn_free(ep, c);
            }
        }
    }
}
