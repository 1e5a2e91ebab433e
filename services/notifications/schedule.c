#include "schedule.h"

#include <stdlib.h>

const int64_t schedule_delays_ms[SCHEDULE_RETRIES] = {
    5 * 1000LL,        5 * 60 * 1000LL,    30 * 60 * 1000LL,   2 * 3600 * 1000LL,
    5 * 3600 * 1000LL, 10 * 3600 * 1000LL, 10 * 3600 * 1000LL,
};

int64_t schedule_delay_ms(int failed, double scale, double r)
{
    if (failed < 1 || failed > SCHEDULE_RETRIES)
        return -1;
    double factor = 1.0 + SCHEDULE_JITTER * (2.0 * r - 1.0);
    double d = (double)schedule_delays_ms[failed - 1] * scale * factor;
    return d < 1.0 ? 1 : (int64_t)d;
}

/* Transfer errors that say nothing about the request itself. */
static const char *transport_outcome(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return "connect_failed";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
        return "tls_failed";
    case CURLE_SEND_ERROR:
        return "send_failed";
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return "receive_failed";
    case CURLE_LOGIN_DENIED:
        return "login_denied";
    case CURLE_ABORTED_BY_CALLBACK:
        return "aborted";
    default:
        return "error";
    }
}

verdict_t schedule_judge_http(CURLcode rc, long status, int64_t retry_after_s)
{
    verdict_t v = {VERDICT_RETRY, "http_error", 0};
    if (rc != CURLE_OK && status == 0) {
        v.outcome = transport_outcome(rc);
        return v;
    }
    if (status >= 200 && status < 300) {
        v.kind = VERDICT_DELIVERED;
        v.outcome = "delivered";
    } else if (status == 429) {
        if (retry_after_s > 0)
            v.retry_after_s = retry_after_s > SCHEDULE_MAX_RETRY_AFTER_S
                                  ? SCHEDULE_MAX_RETRY_AFTER_S
                                  : retry_after_s;
    } else if (status >= 400 && status < 500 && status != 408) {
        v.kind = VERDICT_FAIL;
    } else if (status >= 300 && status < 400) {
        /* Redirects are not followed: the receiver is asked to give the
         * final URL instead. The attempt failed, but the receiver may be
         * fixed, so it is tried again. */
        v.outcome = "redirect";
    }
    return v;
}

verdict_t schedule_judge_smtp(CURLcode rc, long smtp_code)
{
    verdict_t v = {VERDICT_RETRY, "smtp_deferred", 0};
    if (rc == CURLE_OK) {
        v.kind = VERDICT_DELIVERED;
        v.outcome = "delivered";
    } else if (rc == CURLE_LOGIN_DENIED) {
        /* Our credentials, not the message: once the operator fixes
         * WH_SMTP_URL the mail should still go out. */
        v.outcome = "login_denied";
    } else if (smtp_code >= 500 && smtp_code < 600) {
        v.kind = VERDICT_FAIL;
        v.outcome = "smtp_rejected";
    } else if (!(smtp_code >= 400 && smtp_code < 500)) {
        v.outcome = transport_outcome(rc);
    }
    return v;
}
