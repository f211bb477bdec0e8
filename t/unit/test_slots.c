/* Free slots: breaks, professionals, the time asked for, spreading over
 * days (src/cwai_slots.h), the staff calendar read (src/cwai_odoo.h) and
 * the scheduling tools with professionals (src/cwai_tools.h). */
#include "unit.h"
#include "cwai_slots.h"
#include "cwai_tools.h"

json_t          *unit_req_json(const cwai_http_req_t *r);
cwai_http_resp_t unit_resp(int status, const char *body);

static cwai_odoo_hours_t  hours;
static cwai_odoo_staff_t  staff[2];

/* Mon-Sat 09:00-18:00 (Sat 09:00-20:00), lunch 12:00-13:00, 30-minute
 * slots, UTC-03:00; Camila works Tue-Sat, Renata Mon-Fri. */
static void
setup_hours(void)
{
    int  d;

    memset(&hours, 0, sizeof(hours));
    hours.utc_offset_min = -180;
    for (d = 1; d <= 6; d++) {
        hours.week[d][0].open = 9 * 60;
        hours.week[d][0].close = (d == 6 ? 20 : 18) * 60;
        hours.nweek[d] = 1;
    }
    hours.slot_min = 30;
    hours.horizon_days = 14;
    hours.breaks[0].open = 12 * 60;
    hours.breaks[0].close = 13 * 60;
    hours.nbreaks = 1;
    memset(staff, 0, sizeof(staff));
    staff[0].name = "Camila Duarte";
    staff[0].user_id = 11;
    staff[0].partner_id = 111;
    staff[0].works_on = 0x7c;           /* Tue-Sat */
    staff[1].name = "Renata Oliveira";
    staff[1].user_id = 12;
    staff[1].partner_id = 112;
    staff[1].works_on = 0x3e;           /* Mon-Fri */
}

static int64_t
at(const char *local)
{
    int64_t  t;

    ck_assert_int_eq(cwai_odoo_parse_local(local, -180, &t), 0);
    return t;
}

static const char *
local(int64_t t)
{
    static char  buf[17];

    cwai_odoo_format_local(t, -180, buf, NULL);
    return buf;
}

static int
has_start(const cwai_free_slot_t *s, int n, const char *when)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (strcmp(local(s[i].start), when) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(breaks_are_not_offered)
{
    cwai_slots_query_t  q;
    cwai_free_slot_t    s[64];
    int64_t             st[64];
    int                 n, i;

    setup_hours();
    memset(&q, 0, sizeof(q));
    q.hours = &hours;
    q.now = at("2026-12-01 08:00");
    q.from = at("2026-12-02 00:00");
    q.to = at("2026-12-03 00:00");
    q.around = -1;
    n = cwai_slots_find(&q, s, 64, NULL);
    ck_assert_int_eq(n, 16);            /* 18 half hours minus lunch */
    ck_assert(!has_start(s, n, "2026-12-02 12:00"));
    ck_assert(!has_start(s, n, "2026-12-02 12:30"));
    ck_assert(has_start(s, n, "2026-12-02 11:30"));
    ck_assert(has_start(s, n, "2026-12-02 13:00"));
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(s[i].who, -1);
    }
    /* the plain list too */
    n = cwai_odoo_free_slots(&hours, q.now, q.from, q.to, NULL, 0, st, 64);
    ck_assert_int_eq(n, 16);
    for (i = 0; i < n; i++) {
        ck_assert_str_ne(local(st[i]), "2026-12-02 12:00");
        ck_assert_str_ne(local(st[i]), "2026-12-02 12:30");
    }
    /* a 90-minute service may not run into lunch: 11:00 and 11:30 go too,
     * and it must end by closing time (16:30 is the last start) */
    hours.slot_min = 90;
    hours.step_min = 30;
    n = cwai_slots_find(&q, s, 64, NULL);
    ck_assert(has_start(s, n, "2026-12-02 10:30"));
    ck_assert(!has_start(s, n, "2026-12-02 11:00"));
    ck_assert(!has_start(s, n, "2026-12-02 11:30"));
    ck_assert(has_start(s, n, "2026-12-02 16:30"));
    ck_assert(!has_start(s, n, "2026-12-02 17:00"));
}
END_TEST

START_TEST(free_when_one_professional_is)
{
    cwai_slots_query_t  q;
    cwai_free_slot_t    s[64];
    cwai_odoo_busy_t    busy[2];
    int                 n;

    setup_hours();
    memset(busy, 0, sizeof(busy));
    busy[0].start = at("2026-12-02 10:00");     /* Camila's */
    busy[0].stop = at("2026-12-02 11:00");
    busy[0].staff = 1u << 0;
    busy[1].start = at("2026-12-02 10:30");     /* Renata's */
    busy[1].stop = at("2026-12-02 11:00");
    busy[1].staff = 1u << 1;
    memset(&q, 0, sizeof(q));
    q.hours = &hours;
    q.staff = staff;
    q.nstaff = 2;
    q.want = 3;
    q.busy = busy;
    q.nbusy = 2;
    q.now = at("2026-12-01 08:00");
    q.from = at("2026-12-02 10:00");
    q.to = at("2026-12-02 11:30");
    q.around = -1;
    n = cwai_slots_find(&q, s, 64, NULL);
    /* 10:00 Renata (Camila busy), 10:30 nobody, 11:00 Camila (first) */
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(local(s[0].start), "2026-12-02 10:00");
    ck_assert_int_eq(s[0].who, 1);
    ck_assert_str_eq(local(s[1].start), "2026-12-02 11:00");
    ck_assert_int_eq(s[1].who, 0);

    /* only Camila performs it: 10:00 is not free any more */
    q.want = 1;
    n = cwai_slots_find(&q, s, 64, NULL);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(local(s[0].start), "2026-12-02 11:00");

    /* Monday: Camila does not work; Renata does */
    q.from = at("2026-12-07 09:00");
    q.to = at("2026-12-07 10:00");
    ck_assert_int_eq(cwai_slots_find(&q, s, 64, NULL), 0);
    q.want = 3;
    ck_assert_int_eq(cwai_slots_find(&q, s, 64, NULL), 2);
    ck_assert_int_eq(s[0].who, 1);

    /* own hours: Renata only mornings */
    staff[1].own_hours = 1;
    staff[1].week[1][0].open = 9 * 60;
    staff[1].week[1][0].close = 9 * 60 + 30;
    staff[1].nweek[1] = 1;
    ck_assert_int_eq(cwai_slots_find(&q, s, 64, NULL), 1);

    /* without professionals any event blocks the business */
    q.nstaff = 0;
    q.from = at("2026-12-02 10:00");
    q.to = at("2026-12-02 11:30");
    n = cwai_slots_find(&q, s, 64, NULL);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(local(s[0].start), "2026-12-02 11:00");
}
END_TEST

START_TEST(time_asked_and_days_spread)
{
    cwai_slots_query_t  q;
    cwai_free_slot_t    s[12];
    int                 n, more, i;

    setup_hours();
    memset(&q, 0, sizeof(q));
    q.hours = &hours;
    q.now = at("2026-12-01 08:00");
    q.from = at("2026-12-02 00:00");            /* Wed */
    q.to = at("2026-12-06 00:00");              /* to Sat, 4 days */
    q.around = 18 * 60 + 30;
    n = cwai_slots_find(&q, s, 12, &more);
    ck_assert_int_eq(n, 12);
    ck_assert_int_eq(more, 1);
    /* 3 a day, the nearest to 18:30: 16:30-17:30 on weekdays, on
     * Saturday (open until 20:00) 18:00, 18:30, 19:00 */
    ck_assert(has_start(s, n, "2026-12-02 17:30"));
    ck_assert(has_start(s, n, "2026-12-04 16:30"));
    ck_assert(!has_start(s, n, "2026-12-04 16:00"));
    ck_assert(has_start(s, n, "2026-12-05 18:30"));
    ck_assert(has_start(s, n, "2026-12-05 18:00"));
    ck_assert(has_start(s, n, "2026-12-05 19:00"));
    for (i = 1; i < n; i++) {
        ck_assert(s[i].start > s[i - 1].start);
    }

    /* no time: every day has its share, spread over the day (evenings
     * too), not the first 12 of the first day */
    q.around = -1;
    n = cwai_slots_find(&q, s, 12, &more);
    ck_assert_int_eq(n, 12);
    ck_assert(has_start(s, n, "2026-12-02 09:00"));
    ck_assert(has_start(s, n, "2026-12-05 09:00"));
    ck_assert_str_eq(local(s[2].start), "2026-12-02 15:00");
    ck_assert_str_eq(local(s[11].start), "2026-12-05 16:30");

    /* one day, more slots than asked: no "more" when all fit */
    q.from = at("2026-12-05 18:00");
    q.to = at("2026-12-06 00:00");
    n = cwai_slots_find(&q, s, 12, &more);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(cwai_slots_find(NULL, s, 12, &more), -1);
}
END_TEST

START_TEST(staff_calendar_read)
{
    cwai_odoo_cfg_t    cfg;
    cwai_http_req_t    req;
    cwai_err_t         err;
    cwai_odoo_busy_t  *b;
    size_t             n;
    json_t            *body, *dom, *r;

    setup_hours();
    memset(&cfg, 0, sizeof(cfg));
    cfg.transport = CWAI_ODOO_JSON2;
    ck_assert_int_eq(cwai_odoo_build_busy_staff(&req, &cfg, staff, 2,
                     at("2026-12-02 00:00"), at("2026-12-03 00:00"), &err), 0);
    ck_assert_str_eq(req.path, "/json/2/calendar.event/search_read");
    body = unit_req_json(&req);
    cwai_http_req_free(&req);
    dom = json_object_get(body, "domain");
    r = json_loads("[[\"start\",\"<\",\"2026-12-03 03:00:00\"],"
                   "[\"stop\",\">\",\"2026-12-02 03:00:00\"],\"|\","
                   "[\"user_id\",\"in\",[11,12]],[\"partner_ids\",\"in\",[111,112]]]",
                   0, NULL);
    ck_assert(json_equal(dom, r));
    json_decref(r);
    json_decref(body);

    /* whose events: the organiser (user_id) or an attendee (partner_ids) */
    r = json_loads("[{\"start\":\"2026-12-02 13:00:00\",\"stop\":\"2026-12-02 14:00:00\","
                   "\"user_id\":[11,\"Camila Duarte\"],\"partner_ids\":[45,111]},"
                   "{\"start\":\"2026-12-02 15:00:00\",\"stop\":\"2026-12-02 16:00:00\","
                   "\"user_id\":[7,\"Bot\"],\"partner_ids\":[112]},"
                   "{\"start\":\"2026-12-02 17:00:00\",\"stop\":\"2026-12-02 18:00:00\","
                   "\"user_id\":false,\"partner_ids\":[45]}]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_parse_busy_staff(r, -180, 45, staff, 2, &b, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(b[0].staff, 1u);
    ck_assert_int_eq(b[0].mine, 1);
    ck_assert_uint_eq(b[1].staff, 2u);
    ck_assert_uint_eq(b[2].staff, 0u);       /* nobody's: blocks no one */
    free(b);
    ck_assert_int_eq(cwai_odoo_parse_busy(r, -180, 45, &b, &n), 0);
    ck_assert_uint_eq(b[2].staff, UINT32_MAX);
    free(b);
    json_decref(r);
}
END_TEST

/* ---- the tools with professionals ----------------------------------------- */

static const cwai_tools_service_t  services[] = {
    { "SRV-01", "Limpeza de Pele Profunda", 90, 3 },
    { "SRV-12", "Avaliação de Pele", 30, 1 },
};

static void
tools_ctx(cwai_tools_ctx_t *ctx, cwai_odoo_cfg_t *odoo, cwai_identity_t *id)
{
    setup_hours();
    memset(odoo, 0, sizeof(*odoo));
    odoo->transport = CWAI_ODOO_JSON2;
    memset(ctx, 0, sizeof(*ctx));
    ctx->odoo = odoo;
    ctx->hours = &hours;
    ctx->staff = staff;
    ctx->nstaff = 2;
    ctx->services = services;
    ctx->nservices = 2;
    ctx->utc_offset_min = -180;
    ctx->now = at("2026-12-01 08:00");
    memset(id, 0, sizeof(*id));
    id->resolved = 1;
    id->partner_id = 501;
    snprintf(id->name, sizeof(id->name), "Mariana Souza");
}

static json_t *
run_step(cwai_toolrun_t *run, const char *path, const char *reply)
{
    cwai_http_req_t   req;
    cwai_http_resp_t  r;
    json_t           *b;

    ck_assert_int_eq(cwai_tools_next(run, &req), 0);
    ck_assert_str_eq(req.path, path);
    b = unit_req_json(&req);
    cwai_http_req_free(&req);
    r = unit_resp(200, reply);
    cwai_tools_feed(run, &r);
    return b;
}

static cwai_toolrun_t *
call_tool(const cwai_tools_ctx_t *ctx, cwai_identity_t *id, const char *name,
    const char *args, cwai_tool_call_t *c)
{
    memset(c, 0, sizeof(*c));
    c->id = (char *) "call_1";
    c->name = (char *) name;
    c->args = json_loads(args, 0, NULL);
    ck_assert_ptr_nonnull(c->args);
    return cwai_tools_start(ctx, id, c);
}

START_TEST(tools_book_with_the_free_professional)
{
    cwai_tools_ctx_t   ctx;
    cwai_odoo_cfg_t    odoo;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    json_t            *b, *res, *v, *ev, *decl, *props;
    const char        *busy_camila =
        "[{\"start\":\"2026-12-02 21:00:00\",\"stop\":\"2026-12-02 22:30:00\","
        "\"user_id\":[11,\"Camila Duarte\"],\"partner_ids\":[111]}]";
    size_t             i;
    int                seen_1830 = 0;
    char              *dump;

    /* the model sees the new arguments */
    decl = cwai_tools_declare(CWAI_TOOL_BIT(CWAI_TID_AVAILABLE_SLOTS), NULL, 1);
    props = json_object_get(json_object_get(json_object_get(json_array_get(decl, 0),
                            "function"), "parameters"), "properties");
    ck_assert_ptr_nonnull(json_object_get(props, "time"));
    ck_assert_ptr_nonnull(json_object_get(props, "service"));
    ck_assert_ptr_nonnull(json_object_get(props, "professional"));
    json_decref(decl);

    /* Wednesday 18:30 for a cleansing (90 min, Camila or Renata): Camila
     * is busy 18:00-19:30, Renata is free */
    tools_ctx(&ctx, &odoo, &id);
    hours.week[3][0].close = 20 * 60 + 30;
    run = call_tool(&ctx, &id, "available_slots", "{\"date_from\":\"2026-12-02\","
                    "\"days\":1,\"time\":\"18:30\",\"service\":\"limpeza de pele\"}", &call);
    b = run_step(run, "/json/2/calendar.event/search_read", busy_camila);
    dump = json_dumps(json_object_get(b, "domain"), JSON_COMPACT);
    ck_assert_msg(strstr(dump, "[\"user_id\",\"in\",[11,12]]") != NULL, "%s", dump);
    free(dump);
    json_decref(b);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    res = json_loads(cwai_tools_result(run), 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "duration_min")), 90);
    ck_assert_str_eq(json_string_value(json_object_get(res, "service")),
                     "Limpeza de Pele Profunda");
    json_array_foreach(json_object_get(res, "slots"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "start")), "2026-12-02 18:30") == 0) {
            seen_1830 = 1;
            ck_assert_str_eq(json_string_value(json_object_get(v, "professional")),
                             "Renata Oliveira");
        }
        ck_assert_str_ne(json_string_value(json_object_get(v, "start")), "2026-12-02 12:00");
    }
    ck_assert_int_eq(seen_1830, 1);
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);

    /* booking it: the re-check picks Renata, the event is hers */
    run = call_tool(&ctx, &id, "book_appointment", "{\"start\":\"2026-12-02 18:30\","
                    "\"service\":\"SRV-01\"}", &call);
    b = run_step(run, "/json/2/calendar.event/search_read", busy_camila);
    json_decref(b);
    b = run_step(run, "/json/2/calendar.event/create", "[77]");
    ev = json_array_get(json_object_get(b, "vals_list"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "user_id")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "start")), "2026-12-02 21:30:00");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "stop")), "2026-12-02 23:00:00");
    v = json_loads("[[6,0,[501,112]]]", 0, NULL);
    ck_assert(json_equal(json_object_get(ev, "partner_ids"), v));
    json_decref(v);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "name")),
                     "Limpeza de Pele Profunda - Mariana Souza");
    json_decref(b);
    res = json_loads(cwai_tools_result(run), 0, NULL);
    ck_assert(json_is_true(json_object_get(res, "booked")));
    ck_assert_str_eq(json_string_value(json_object_get(res, "professional")), "Renata Oliveira");
    ck_assert_str_eq(json_string_value(json_object_get(res, "end")), "2026-12-02 20:00");
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);

    /* asked for Camila, who is busy then: taken */
    run = call_tool(&ctx, &id, "book_appointment", "{\"start\":\"2026-12-02 18:30\","
                    "\"service\":\"limpeza\",\"professional\":\"Camila\"}", &call);
    b = run_step(run, "/json/2/calendar.event/search_read", busy_camila);
    dump = json_dumps(json_object_get(b, "domain"), JSON_COMPACT);
    ck_assert_msg(strstr(dump, "[\"user_id\",\"in\",[11]]") != NULL
                  && strstr(dump, "[\"partner_ids\",\"in\",[111]]") != NULL, "%s", dump);
    free(dump);
    json_decref(b);
    ck_assert_ptr_nonnull(strstr(cwai_tools_result(run), "slot_taken"));
    cwai_tools_free(run);
    json_decref(call.args);

    /* a professional who does not perform it; the lunch break */
    run = call_tool(&ctx, &id, "available_slots", "{\"service\":\"SRV-12\","
                    "\"professional\":\"Renata\"}", &call);
    ck_assert_ptr_nonnull(strstr(cwai_tools_result(run), "unknown_professional"));
    ck_assert_ptr_nonnull(strstr(cwai_tools_result(run), "Camila Duarte"));
    cwai_tools_free(run);
    json_decref(call.args);
    run = call_tool(&ctx, &id, "book_appointment", "{\"start\":\"2026-12-02 12:00\"}", &call);
    ck_assert_ptr_nonnull(strstr(cwai_tools_result(run), "not_an_available_slot"));
    cwai_tools_free(run);
    json_decref(call.args);
    run = call_tool(&ctx, &id, "available_slots", "{\"time\":\"25:00\"}", &call);
    ck_assert_ptr_nonnull(strstr(cwai_tools_result(run), "invalid_arguments"));
    cwai_tools_free(run);
    json_decref(call.args);
}
END_TEST

CWAI_SUITE(slots)
{
    TCase  *tc;
    Suite  *s = unit_suite("slots", &tc);

    tcase_add_test(tc, breaks_are_not_offered);
    tcase_add_test(tc, free_when_one_professional_is);
    tcase_add_test(tc, time_asked_and_days_spread);
    tcase_add_test(tc, staff_calendar_read);
    tcase_add_test(tc, tools_book_with_the_free_professional);
    return s;
}
