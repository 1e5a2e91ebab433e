/* The retry schedule and the meaning of an attempt's result. */
#include "check.h"
#include "schedule.h"

static void test_delays(void)
{
    static const long long want[] = {5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000};
    for (int i = 1; i <= SCHEDULE_RETRIES; i++)
        CHECK_INT(schedule_delay_ms(i, 1.0, 0.5), want[i - 1]);
    /* The whole schedule: about 28 hours. */
    long long sum = 0;
    for (int i = 1; i <= SCHEDULE_RETRIES; i++)
        sum += schedule_delay_ms(i, 1.0, 0.5);
    CHECK_INT(sum, 99305000);
    /* After the eighth attempt there is no further one. */
    CHECK_INT(schedule_delay_ms(SCHEDULE_MAX_ATTEMPTS, 1.0, 0.5), -1);
    CHECK_INT(schedule_delay_ms(0, 1.0, 0.5), -1);
    CHECK_INT(SCHEDULE_MAX_ATTEMPTS, 8);
}

static void test_jitter(void)
{
    /* r spans the jitter: 0.8x at r = 0, 1.2x as r approaches 1. */
    CHECK_INT(schedule_delay_ms(1, 1.0, 0.0), 4000);
    CHECK_INT(schedule_delay_ms(2, 1.0, 0.0), 240000);
    long long hi = schedule_delay_ms(2, 1.0, 0.999999);
    CHECK(hi > 359990 && hi <= 360000);
    for (double r = 0.0; r < 1.0; r += 0.01) {
        long long d = schedule_delay_ms(4, 1.0, r);
        CHECK(d >= 5760000 && d <= 8640000);
    }
}

static void test_scale(void)
{
    CHECK_INT(schedule_delay_ms(1, 0.001, 0.5), 5);
    CHECK_INT(schedule_delay_ms(7, 0.0001, 0.5), 3600);
    /* Never below a millisecond. */
    CHECK_INT(schedule_delay_ms(1, 0.00001, 0.0), 1);
}

static void test_judge_http(void)
{
    verdict_t v = schedule_judge_http(CURLE_OK, 200, -1);
    CHECK_INT(v.kind, VERDICT_DELIVERED);
    CHECK_STR(v.outcome, "delivered");
    CHECK_INT(schedule_judge_http(CURLE_OK, 204, -1).kind, VERDICT_DELIVERED);
    /* A body cut off after a 2xx status is still delivered. */
    CHECK_INT(schedule_judge_http(CURLE_WRITE_ERROR, 200, -1).kind, VERDICT_DELIVERED);
    v = schedule_judge_http(CURLE_OK, 400, -1);
    CHECK_INT(v.kind, VERDICT_FAIL);
    CHECK_STR(v.outcome, "http_error");
    CHECK_INT(schedule_judge_http(CURLE_OK, 404, -1).kind, VERDICT_FAIL);
    CHECK_INT(schedule_judge_http(CURLE_OK, 410, -1).kind, VERDICT_FAIL);
    CHECK_INT(schedule_judge_http(CURLE_OK, 408, -1).kind, VERDICT_RETRY);
    CHECK_INT(schedule_judge_http(CURLE_OK, 500, -1).kind, VERDICT_RETRY);
    CHECK_INT(schedule_judge_http(CURLE_OK, 503, -1).kind, VERDICT_RETRY);
    v = schedule_judge_http(CURLE_OK, 301, -1);
    CHECK_INT(v.kind, VERDICT_RETRY);
    CHECK_STR(v.outcome, "redirect");
    v = schedule_judge_http(CURLE_OK, 429, 120);
    CHECK_INT(v.kind, VERDICT_RETRY);
    CHECK_INT(v.retry_after_s, 120);
    CHECK_INT(schedule_judge_http(CURLE_OK, 429, -1).retry_after_s, 0);
    CHECK_INT(schedule_judge_http(CURLE_OK, 429, 10 * 86400).retry_after_s,
              SCHEDULE_MAX_RETRY_AFTER_S);
    v = schedule_judge_http(CURLE_OPERATION_TIMEDOUT, 0, -1);
    CHECK_INT(v.kind, VERDICT_RETRY);
    CHECK_STR(v.outcome, "timeout");
    CHECK_STR(schedule_judge_http(CURLE_COULDNT_CONNECT, 0, -1).outcome, "connect_failed");
    CHECK_STR(schedule_judge_http(CURLE_PEER_FAILED_VERIFICATION, 0, -1).outcome, "tls_failed");
    CHECK_STR(schedule_judge_http(CURLE_GOT_NOTHING, 0, -1).outcome, "receive_failed");
}

static void test_judge_smtp(void)
{
    CHECK_INT(schedule_judge_smtp(CURLE_OK, 250).kind, VERDICT_DELIVERED);
    verdict_t v = schedule_judge_smtp(CURLE_SEND_ERROR, 550);
    CHECK_INT(v.kind, VERDICT_FAIL);
    CHECK_STR(v.outcome, "smtp_rejected");
    v = schedule_judge_smtp(CURLE_SEND_ERROR, 451);
    CHECK_INT(v.kind, VERDICT_RETRY);
    CHECK_STR(v.outcome, "smtp_deferred");
    v = schedule_judge_smtp(CURLE_COULDNT_CONNECT, 0);
    CHECK_INT(v.kind, VERDICT_RETRY);
    CHECK_STR(v.outcome, "connect_failed");
    v = schedule_judge_smtp(CURLE_LOGIN_DENIED, 535);
    CHECK_INT(v.kind, VERDICT_RETRY);
    CHECK_STR(v.outcome, "login_denied");
}

int main(void)
{
    TEST(test_delays);
    TEST(test_jitter);
    TEST(test_scale);
    TEST(test_judge_http);
    TEST(test_judge_smtp);
    return 0;
}
