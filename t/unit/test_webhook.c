/* Webhook parsing and the bot's filter, on the Chatwoot fixtures. */
#include "unit.h"
#include "cwai_webhook.h"

static const cwai_filter_conf_t  pending_only = {
    CWAI_STATUS_BIT(CWAI_STATUS_PENDING)
};

static void
load(const char *name, cwai_webhook_t *wh)
{
    char        path[256];
    size_t      len;
    char       *body;
    cwai_err_t  err;

    snprintf(path, sizeof(path), "fixtures/chatwoot/%s", name);
    body = unit_read_file(path, &len);
    ck_assert_msg(cwai_webhook_parse(body, len, wh, &err) == 0, "%s: %s",
                  name, err.detail);
    free(body);
}

static const char *
verdict(const char *name, int *accept, cwai_owner_signal_t *owner)
{
    cwai_webhook_t  wh;
    cwai_verdict_t  v;

    load(name, &wh);
    cwai_webhook_classify(&wh, &pending_only, &v);
    cwai_webhook_free(&wh);
    *accept = v.accept;
    *owner = v.owner;
    return v.reason;
}

START_TEST(incoming_whatsapp_fields)
{
    cwai_webhook_t  wh;

    load("message_created_incoming_whatsapp.wire.json", &wh);
    ck_assert_int_eq(wh.type, CWAI_EV_MESSAGE_CREATED);
    ck_assert_int_eq(wh.account_id, 3);
    ck_assert_int_eq(wh.inbox_id, 7);
    ck_assert_int_eq(wh.conversation_id, 318);
    ck_assert_int_eq(wh.message_id, 90211);
    ck_assert_str_eq(wh.channel, "whatsapp");
    ck_assert_int_eq(wh.message_type, CWAI_MSG_INCOMING);
    ck_assert_int_eq(wh.sender, CWAI_SENDER_CONTACT);
    ck_assert_int_eq(wh.status, CWAI_STATUS_PENDING);
    ck_assert_int_eq(wh.assignee, CWAI_SENDER_NONE);
    ck_assert_str_eq(wh.contact_phone, "+5511987654321");
    ck_assert_ptr_nonnull(strstr(wh.content, "hialur"));
    cwai_webhook_free(&wh);
}
END_TEST

START_TEST(instagram_with_attachment)
{
    cwai_webhook_t  wh;

    load("message_created_incoming_instagram.json", &wh);
    ck_assert_str_eq(wh.channel, "instagram");
    ck_assert_uint_eq(wh.attachments, 1);
    ck_assert_int_eq(wh.sender, CWAI_SENDER_CONTACT);
    cwai_webhook_free(&wh);
}
END_TEST

START_TEST(filter_verdicts)
{
    int                  accept;
    cwai_owner_signal_t  owner;

    ck_assert_str_eq(verdict("message_created_incoming_whatsapp.json", &accept, &owner),
                     "customer_message");
    ck_assert_int_eq(accept, 1);

    ck_assert_str_eq(verdict("message_created_outgoing_by_bot.json", &accept, &owner),
                     "not_incoming");
    ck_assert_int_eq(accept, 0);
    ck_assert_int_eq(owner, CWAI_OWNER_NOCHANGE);

    ck_assert_str_eq(verdict("message_created_private_note.json", &accept, &owner),
                     "not_incoming");
    ck_assert_int_eq(accept, 0);
    ck_assert_int_eq(owner, CWAI_OWNER_ASSIGNED);   /* assignee is a user */

    ck_assert_str_eq(verdict("message_updated.json", &accept, &owner), "message_updated");
    ck_assert_int_eq(accept, 0);

    ck_assert_str_eq(verdict("conversation_status_changed.json", &accept, &owner),
                     "conversation_event");
    ck_assert_int_eq(owner, CWAI_OWNER_STATUS);     /* pending -> open */

    ck_assert_str_eq(verdict("conversation_created.json", &accept, &owner),
                     "conversation_event");
    ck_assert_int_eq(accept, 0);
}
END_TEST

static const char *
classify_str(const char *json, int *accept, cwai_owner_signal_t *owner)
{
    cwai_webhook_t  wh;
    cwai_verdict_t  v;
    cwai_err_t      err;

    ck_assert_msg(cwai_webhook_parse(json, strlen(json), &wh, &err) == 0, "%s", err.detail);
    cwai_webhook_classify(&wh, &pending_only, &v);
    cwai_webhook_free(&wh);
    *accept = v.accept;
    *owner = v.owner;
    return v.reason;
}

#define CONV(status, meta) \
    "\"conversation\":{\"id\":5,\"inbox_id\":7,\"status\":\"" status "\"," \
    "\"channel\":\"Channel::Api\",\"meta\":" meta "}"

START_TEST(filter_edge_cases)
{
    int                  a;
    cwai_owner_signal_t  o;

    /* a human agent's public reply: the bot must stay out */
    ck_assert_str_eq(classify_str("{\"event\":\"message_created\",\"id\":1,"
        "\"message_type\":\"outgoing\",\"private\":false,\"content\":\"oi\","
        "\"sender\":{\"id\":15,\"type\":\"user\"}," CONV("pending", "{}") "}", &a, &o),
        "not_incoming");
    ck_assert_int_eq(o, CWAI_OWNER_HUMAN_REPLIED);

    /* incoming on an open conversation: a human owns it */
    ck_assert_str_eq(classify_str("{\"event\":\"message_created\",\"id\":2,"
        "\"message_type\":\"incoming\",\"content\":\"oi\",\"sender\":{\"id\":9},"
        CONV("open", "{}") "}", &a, &o), "conversation_open");

    /* incoming, pending, but a user is assigned */
    ck_assert_str_eq(classify_str("{\"event\":\"message_created\",\"id\":3,"
        "\"message_type\":\"incoming\",\"content\":\"oi\",\"sender\":{\"id\":9},"
        CONV("pending", "{\"assignee_type\":\"User\",\"assignee\":{\"id\":15}}") "}",
        &a, &o), "human_assigned");
    ck_assert_int_eq(o, CWAI_OWNER_ASSIGNED);

    /* no content, no attachments */
    ck_assert_str_eq(classify_str("{\"event\":\"message_created\",\"id\":4,"
        "\"message_type\":\"incoming\",\"content\":null,\"sender\":{\"id\":9},"
        CONV("pending", "{}") "}", &a, &o), "empty_message");

    /* push-form integer message_type 0 = incoming */
    ck_assert_str_eq(classify_str("{\"event\":\"message_created\",\"id\":6,"
        "\"message_type\":0,\"content\":\"oi\",\"sender\":{\"id\":9},"
        CONV("pending", "{}") "}", &a, &o), "customer_message");
    ck_assert_int_eq(a, 1);

    /* echo from the phone app: null sender */
    ck_assert_str_eq(classify_str("{\"event\":\"message_created\",\"id\":7,"
        "\"message_type\":\"incoming\",\"content\":\"oi\",\"sender\":null,"
        CONV("pending", "{}") "}", &a, &o), "not_from_contact");

    /* handed back to the bot */
    ck_assert_str_eq(classify_str("{\"event\":\"conversation_status_changed\","
        "\"id\":5,\"inbox_id\":7,\"status\":\"pending\",\"meta\":{}}", &a, &o),
        "conversation_event");
    ck_assert_int_eq(o, CWAI_OWNER_RELEASED);

    ck_assert_str_eq(classify_str("{\"event\":\"contact_created\",\"id\":1}", &a, &o),
                     "unsupported_event");
}
END_TEST

static void
expect_error(const char *json, const char *code, const char *detail_part)
{
    cwai_webhook_t  wh;
    cwai_err_t      err;

    ck_assert_int_eq(cwai_webhook_parse(json, strlen(json), &wh, &err), -1);
    ck_assert_str_eq(err.code, code);
    ck_assert_msg(strstr(err.detail, detail_part) != NULL,
                  "detail \"%s\" lacks \"%s\"", err.detail, detail_part);
    ck_assert_ptr_null(wh.root);
}

START_TEST(bad_input)
{
    expect_error("", "invalid_json", "empty body");
    expect_error("{\"event\":", "invalid_json", "line 1");
    expect_error("[1,2]", "invalid_payload", "must be a JSON object, got array");
    expect_error("{}", "invalid_payload", "field event is missing");
    expect_error("{\"event\":5}", "invalid_payload", "field event must be a string");
    expect_error("{\"event\":\"message_created\",\"event\":\"x\"}", "invalid_json", "duplicate");
    expect_error("{\"event\":\"message_created\"}", "invalid_payload", "field id is missing");
    expect_error("{\"event\":\"message_created\",\"id\":\"1\"}", "invalid_payload",
                 "field id must be an integer, got string");
    expect_error("{\"event\":\"message_created\",\"id\":1,\"conversation\":[]}",
                 "invalid_payload", "field conversation must be an object");
    expect_error("{\"event\":\"message_created\",\"id\":1,\"message_type\":\"incoming\","
                 "\"conversation\":{\"id\":5,\"inbox_id\":7}}",
                 "invalid_payload", "field conversation.status is missing");
    expect_error("{\"event\":\"message_created\",\"id\":1,\"message_type\":true,"
                 "\"conversation\":{\"id\":5,\"inbox_id\":7,\"status\":\"pending\"}}",
                 "invalid_payload", "message_type must be a string or an integer");
    expect_error("{\"event\":\"message_created\",\"id\":1,\"message_type\":\"incoming\","
                 "\"private\":\"no\",\"conversation\":{\"id\":5,\"inbox_id\":7,\"status\":\"pending\"}}",
                 "invalid_payload", "field private must be a boolean");
    expect_error("{\"event\":\"conversation_status_changed\",\"id\":5,\"inbox_id\":7,"
                 "\"status\":\"open\",\"meta\":{\"assignee\":5}}",
                 "invalid_payload", "field meta.assignee must be an object");
    expect_error("{\"event\":\"x\"} trailing", "invalid_json", "end of file expected");
}
END_TEST

START_TEST(hostile_nesting_does_not_crash)
{
    /* jansson caps nesting depth; this must fail cleanly, not overflow */
    size_t      n = 100000, i;
    char       *s = malloc(2 * n + 1);
    cwai_webhook_t  wh;
    cwai_err_t      err;

    for (i = 0; i < n; i++) {
        s[i] = '[';
        s[n + i] = ']';
    }
    s[2 * n] = '\0';
    ck_assert_int_eq(cwai_webhook_parse(s, 2 * n, &wh, &err), -1);
    ck_assert_str_eq(err.code, "invalid_json");
    free(s);
}
END_TEST

CWAI_SUITE(webhook)
{
    TCase  *tc;
    Suite  *s = unit_suite("webhook", &tc);

    tcase_add_test(tc, incoming_whatsapp_fields);
    tcase_add_test(tc, instagram_with_attachment);
    tcase_add_test(tc, filter_verdicts);
    tcase_add_test(tc, filter_edge_cases);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, hostile_nesting_does_not_crash);
    return s;
}
