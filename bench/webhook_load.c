#define _GNU_SOURCE   /* strcasestr */
/*
 * webhook-load: an open-loop load generator for the webhook — requests
 * start at a fixed rate whatever the answers do (a closed loop like wrk
 * hides latency behind its own pacing), each on a new connection as
 * Chatwoot's Net::HTTP does, each a new message (unique ids), and the
 * time to the acknowledgement is recorded.
 *
 *   webhook-load HOST PORT PATH BODY_FILE RATE SECONDS [FIRST_ID]
 *
 * FIRST_ID (default 700000001): the first message id, so that runs
 * against the same nginx do not repeat ids (dedupe would answer them).
 *
 * Prints: sent, acknowledged, errors, ack latency p50/p90/p99/max (ms).
 */
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

typedef struct {
    int     fd;
    double  start;
    char   *req;
    size_t  req_len, sent;
    char    resp[1024];
    size_t  got;
} conn_t;

/* replaces the first "id":90211 occurrences and "id":318, with unique ids */
static char *
make_body(const char *tpl, long id, size_t *len)
{
    char        *out = malloc(strlen(tpl) + 64), *o = out, num[32];
    const char  *p = tpl, *hit;
    int          conv_done = 0;

    for (;;) {
        const char *a = strstr(p, "\"id\":90211");
        const char *b = conv_done ? NULL : strstr(p, "\"id\":318,");
        hit = (a && (!b || a < b)) ? a : b;
        if (hit == NULL) {
            break;
        }
        memcpy(o, p, (size_t) (hit - p));
        o += hit - p;
        if (hit == a) {
            o += sprintf(o, "\"id\":%ld", id);
            p = hit + 10;
        } else {
            o += sprintf(o, "\"id\":%ld,", id % 100000 + 1000);
            p = hit + 9;
            conv_done = 1;
        }
    }
    strcpy(o, p);
    (void) num;
    *len = strlen(out);
    return out;
}

int
main(int argc, char **argv)
{
    FILE               *f;
    long                n_body, next_id = 700000001L;
    char               *tpl;
    double              rate, secs, t0, next, *lat;
    size_t              nlat = 0, cap, sent = 0, errors = 0, i;
    int                 ep, port;
    struct sockaddr_in  sa;
    struct epoll_event  evs[256];

    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: %s HOST PORT PATH BODY_FILE RATE SECONDS [FIRST_ID]\n",
                argv[0]);
        return 2;
    }
    if (argc == 8) {
        next_id = atol(argv[7]);
    }
    port = atoi(argv[2]);
    rate = atof(argv[5]);
    secs = atof(argv[6]);
    f = fopen(argv[4], "rb");
    if (f == NULL) {
        perror(argv[4]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n_body = ftell(f);
    fseek(f, 0, SEEK_SET);
    tpl = malloc((size_t) n_body + 1);
    if (fread(tpl, 1, (size_t) n_body, f) != (size_t) n_body) {
        return 1;
    }
    tpl[n_body] = '\0';
    fclose(f);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    inet_pton(AF_INET, argv[1], &sa.sin_addr);

    cap = (size_t) (rate * secs) + 16;
    lat = malloc(cap * sizeof(double));
    ep = epoll_create1(0);
    t0 = bench_now_ms();
    next = t0;

    while (bench_now_ms() - t0 < secs * 1000 || nlat + errors < sent) {
        double  t = bench_now_ms();
        int     n, timeout;

        /* start every request that is due */
        while (t - t0 < secs * 1000 && next <= t) {
            conn_t              *c = calloc(1, sizeof(conn_t));
            size_t               blen;
            char                *body = make_body(tpl, next_id++, &blen);
            struct epoll_event   ev;

            c->req = malloc(blen + 256);
            c->req_len = (size_t) sprintf(c->req, "POST %s HTTP/1.1\r\nHost: %s\r\n"
                                          "Content-Type: application/json\r\n"
                                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                                          argv[3], argv[1], blen);
            memcpy(c->req + c->req_len, body, blen);
            c->req_len += blen;
            free(body);
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            c->start = next;        /* open loop: latency counts from when it was due */
            if ((ntohl(sa.sin_addr.s_addr) >> 24) == 127) {
                /* thousands of connections a second leave tens of thousands
                 * in TIME_WAIT: spread them over 250 loopback sources, or
                 * the runs after the first wait for free ports */
                struct sockaddr_in  src;
                int                 one = 1;

                memset(&src, 0, sizeof(src));
                src.sin_family = AF_INET;
                src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t) (sent % 250));
                setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
                (void) bind(c->fd, (struct sockaddr *) &src, sizeof(src));
            }
            connect(c->fd, (struct sockaddr *) &sa, sizeof(sa));
            ev.events = EPOLLOUT | EPOLLIN;
            ev.data.ptr = c;
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            sent++;
            next += 1000.0 / rate;
        }

        timeout = (int) (next - bench_now_ms());
        if (timeout < 0 || bench_now_ms() - t0 >= secs * 1000) {
            timeout = t - t0 < secs * 1000 ? 0 : 50;
        }
        n = epoll_wait(ep, evs, 256, timeout);
        if (n == 0 && bench_now_ms() - t0 > secs * 1000 + 10000) {
            break;          /* stragglers: count as errors */
        }
        for (i = 0; i < (size_t) n; i++) {
            conn_t   *c = evs[i].data.ptr;
            ssize_t   r;
            char     *hdr_end, *cl;

            if ((evs[i].events & EPOLLOUT) && c->sent < c->req_len) {
                r = write(c->fd, c->req + c->sent, c->req_len - c->sent);
                if (r > 0) {
                    c->sent += (size_t) r;
                }
                if (c->sent == c->req_len) {
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                r = read(c->fd, c->resp + c->got, sizeof(c->resp) - 1 - c->got);
                if (r > 0) {
                    c->got += (size_t) r;
                    c->resp[c->got] = '\0';
                }
                hdr_end = strstr(c->resp, "\r\n\r\n");
                cl = strcasestr(c->resp, "Content-Length: ");
                if (hdr_end && cl && c->got >= (size_t) (hdr_end + 4 - c->resp)
                                                + (size_t) atol(cl + 16))
                {
                    /* the acknowledgement is complete: that is the latency */
                    if (strncmp(c->resp, "HTTP/1.1 200", 12) == 0) {
                        lat[nlat++] = bench_now_ms() - c->start;
                    } else {
                        errors++;
                    }
                } else if (r > 0 || (r < 0 && errno == EAGAIN)) {
                    continue;
                } else {
                    errors++;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c->req);
                free(c);
            }
        }
    }

    qsort(lat, nlat, sizeof(double), bench_cmp_double);
    printf("rate %.0f/s for %.0f s: sent %zu, acknowledged %zu, errors %zu; "
           "ack latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           rate, secs, sent, nlat, errors,
           nlat ? lat[nlat / 2] : 0, nlat ? lat[nlat * 9 / 10] : 0,
           nlat ? lat[nlat * 99 / 100] : 0, nlat ? lat[nlat - 1] : 0);
    return 0;
}
