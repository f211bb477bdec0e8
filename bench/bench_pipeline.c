/*
 * bench-pipeline: CPU time of the core's share of one message, no nginx:
 * webhook parse + filter, then the pipeline (embedded agent, chat request,
 * parse of the model's answer, Chatwoot reply request), fed the fixtures'
 * responses. What is left of a message's CPU in nginx is the adapter and
 * nginx itself (subrequests, proxying, the zone).
 *
 *   build/bench-pipeline [-n MESSAGES]
 */
#include "cwai_pipeline.h"
#include "cwai_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_util.h"

static double
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
    size_t                 wlen, flen, rlen, i, n = 2000;
    char                  *wire, *final, *reply;
    double                *t_parse, *t_pipe, t0, t1, t2;
    const char            *paths[] = { "domains/cosmetics.yaml" };
    cwai_err_t             err;
    cwai_domain_t         *dom;
    cwai_bot_t            *bot;
    cwai_pipeline_cfg_t    cfg;
    cwai_filter_conf_t     fc = { CWAI_STATUS_BIT(CWAI_STATUS_PENDING) };

    if (argc == 3 && strcmp(argv[1], "-n") == 0) {
        n = (size_t) atol(argv[2]);
    }
    wire = bench_slurp("t/fixtures/chatwoot/message_created_incoming_whatsapp.wire.json", &wlen);
    final = bench_slurp("t/fixtures/openai/chat-completion-final.json", &flen);
    reply = bench_slurp("t/fixtures/chatwoot/reply_create_message_response.json", &rlen);

    dom = cwai_domain_load(paths, 1, &err);
    bot = dom ? cwai_agent_new(dom, &err) : NULL;
    if (bot == NULL) {
        fprintf(stderr, "%s\n", err.detail);
        return 1;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.has_llm = cfg.has_chatwoot = 1;
    cfg.llm.model = "gpt-4.1-mini";
    cfg.max_steps = 4;
    cfg.max_retries = 2;
    cfg.temperature = -1;
    cfg.answer_threshold = 1.01;        /* every message to the model */
    cfg.fallback_threshold = 0.6;

    t_parse = calloc(n, sizeof(double));
    t_pipe = calloc(n, sizeof(double));

    for (i = 0; i < n; i++) {
        cwai_webhook_t         wh;
        cwai_verdict_t         v;
        cwai_pipeline_input_t  in;
        cwai_pipeline_t       *p;
        cwai_step_t            s;
        cwai_http_resp_t       r;

        t0 = now_us();
        if (cwai_webhook_parse(wire, wlen, &wh, &err) != 0) {
            return 1;
        }
        cwai_webhook_classify(&wh, &fc, &v);
        t1 = now_us();

        memset(&in, 0, sizeof(in));
        in.cfg = &cfg;
        in.domain = dom;
        in.bot = bot;
        in.tenant = "cosmetics";
        in.account_id = wh.account_id;
        in.conversation_id = wh.conversation_id;
        in.message_id = wh.message_id;
        in.contact_phone = wh.contact_phone;
        in.channel = wh.channel;
        in.text = wh.content;
        in.len = wh.content_len;
        in.now = 1796043600;
        p = cwai_pipeline_new(&in, &err);
        cwai_webhook_free(&wh);
        (void) cwai_pipeline_start(p, &s);         /* -> chat request */
        memset(&r, 0, sizeof(r));
        r.status = 200;
        r.complete = 1;
        r.body = final;
        r.len = flen;
        (void) cwai_pipeline_feed(p, &r, &s);      /* -> reply request */
        r.body = reply;
        r.len = rlen;
        (void) cwai_pipeline_feed(p, &r, &s);      /* -> done */
        if (s.kind != CWAI_STEP_DONE || s.outcome != CWAI_OUTCOME_REPLIED) {
            fprintf(stderr, "unexpected step\n");
            return 1;
        }
        cwai_pipeline_free(p);
        t2 = now_us();

        t_parse[i] = t1 - t0;
        t_pipe[i] = t2 - t1;
    }

    qsort(t_parse, n, sizeof(double), bench_cmp_double);
    qsort(t_pipe, n, sizeof(double), bench_cmp_double);
    printf("core per message (%zu messages, CPU us):      median     p99\n", n);
    printf("  webhook parse + filter                   %8.1f %8.1f\n",
           t_parse[n / 2], t_parse[n * 99 / 100]);
    printf("  pipeline (agent + chat + reply)          %8.1f %8.1f\n",
           t_pipe[n / 2], t_pipe[n * 99 / 100]);

    free(t_parse);
    free(t_pipe);
    cwai_agent_free(bot);
    cwai_domain_free(dom);
    free(wire);
    free(final);
    free(reply);
    return 0;
}
