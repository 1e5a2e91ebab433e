/* What the agreements service needs from the wire: the client's Accept
 * header in the envelope, a raw (non-JSON) reply, and the route of the
 * calendar feed winning over /v1/agreements/{id}. */
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "reply.h"
#include "router.h"

static void test_accept_round_trip(void)
{
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_REPORTS_PREVENTION,
                              .id = "r1",
                              .token_id = "tok",
                              .role = WH_ROLE_CONSULTANT,
                              .deadline_ms = 1000,
                              .accept = "text/csv;q=0.9, */*;q=0.1",
                          });
    wh_request_t req;
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK(req.accept.p != NULL);
    CHECK_INT(req.accept.n, strlen("text/csv;q=0.9, */*;q=0.1"));
    CHECK(memcmp(req.accept.p, "text/csv;q=0.9", 14) == 0);
    wh_request_close(&req);
    /* Without one it is absent. */
    wh_buf_reset(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_REPORTS_PREVENTION,
                              .id = "r2",
                              .token_id = "tok",
                              .role = WH_ROLE_ADMIN,
                              .deadline_ms = 1000,
                          });
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK(req.accept.p == NULL);
    wh_request_close(&req);
    wh_buf_close(&env);
}

static void test_raw_reply(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    const char ics[] = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
    wh_reply_raw(&r, 200, "text/calendar; charset=utf-8", ics, sizeof ics - 1);
    wh_buf_t out;
    wh_buf_init(&out);
    wh_reply_pack(&r, "id1", &out);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(out.data, out.len, &m), 0);
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "content_type"), "text/calendar; charset=utf-8"));
    const msgpack_object *body = wh_msg_get(m.root, "body");
    CHECK(body && body->type == MSGPACK_OBJECT_BIN);
    CHECK_INT(body->via.bin.size, sizeof ics - 1);
    CHECK(memcmp(body->via.bin.ptr, ics, sizeof ics - 1) == 0);
    wh_msg_close(&m);
    wh_buf_close(&out);
    wh_reply_close(&r);
}

static void test_routes(void)
{
    static route_match_t m;
    CHECK_INT(router_match("GET", "/v1/agreements/calendar.ics", "insurer_id=X", &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_AGREEMENTS_CALENDAR);
    CHECK_INT(router_match("GET", "/v1/agreements/01ABCDEFGHJKMNPQRSTVWXYZ00", "", &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_AGREEMENTS_GET);
    CHECK_INT(router_match("POST", "/v1/agreements/x/renew", "", &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_AGREEMENTS_RENEW);
    CHECK_INT(router_match("PATCH", "/v1/activities/x", "", &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_ACTIVITIES_PATCH);
    /* The role matrix: occupational health reads, integration nothing. */
    CHECK(wh_ops[WH_OP_AGREEMENTS_GET].roles & WH_ROLE_OCC_HEALTH);
    CHECK(!(wh_ops[WH_OP_AGREEMENTS_PATCH].roles & WH_ROLE_OCC_HEALTH));
    CHECK(!(wh_ops[WH_OP_AGREEMENTS_LIST].roles & WH_ROLE_INTEGRATION));
    CHECK(!(wh_ops[WH_OP_REPORTS_PREVENTION].roles & WH_ROLE_COORDINATOR));
    CHECK(wh_ops[WH_OP_AGREEMENTS_RENEW].flags & WH_OPF_CREATE);
}

int main(void)
{
    TEST(test_accept_round_trip);
    TEST(test_raw_reply);
    TEST(test_routes);
    return 0;
}
