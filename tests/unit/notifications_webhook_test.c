/* Webhook signing (Standard Webhooks), secrets, bodies and target URLs of
 * the notifications service. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "err.h"
#include "id.h"
#include "msg.h"
#include "subscriptions.h"
#include "webhook.h"

/* The example in the Standard Webhooks specification. */
static void test_spec_vector(void)
{
    char sig[WEBHOOK_SIGNATURE_LEN + 1];
    const char *body = "{\"test\": 2432232314}";
    CHECK_INT(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                           1614265330, body, strlen(body), sig),
              0);
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* The prefix is optional in the scheme. */
    CHECK_INT(webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                           1614265330, body, strlen(body), sig),
              0);
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

/* A fresh secret, signed here and with OpenSSL's one-shot HMAC over the
 * same bytes: the two must agree. */
static void test_against_openssl(void)
{
    char secret[WEBHOOK_SECRET_LEN + 1];
    CHECK_INT(webhook_secret_new(secret), 0);
    CHECK_INT(strlen(secret), 50);
    CHECK(strncmp(secret, "whsec_", 6) == 0);
    CHECK(secret[49] == '='); /* 32 bytes: one padding character */
    char other[WEBHOOK_SECRET_LEN + 1];
    CHECK_INT(webhook_secret_new(other), 0);
    CHECK(strcmp(secret, other) != 0);

    unsigned char key[32];
    CHECK_INT(EVP_DecodeBlock(key, (const unsigned char *)secret + 6, 44) - 1, 32);
    const char *id = "01JDELIVERY0000000000000000";
    const char *body = "{\"type\":\"organization.created\",\"data\":{\"name\":\"Bezirksamt\"}}";
    char msg[256];
    int n = snprintf(msg, sizeof msg, "%s.%lld.%s", id, 1700000000LL, body);
    unsigned char md[32];
    unsigned int md_len = 0;
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)msg, (size_t)n, md, &md_len);
    CHECK_INT(md_len, 32);
    char want[64] = "v1,";
    wh_base64(md, 32, want + 3);

    char sig[WEBHOOK_SIGNATURE_LEN + 1];
    CHECK_INT(webhook_sign(secret, id, 1700000000, body, strlen(body), sig), 0);
    CHECK_STR(sig, want);
    /* Another timestamp, another signature. */
    CHECK_INT(webhook_sign(secret, id, 1700000001, body, strlen(body), sig), 0);
    CHECK(strcmp(sig, want) != 0);
}

static void test_bad_secrets(void)
{
    char sig[WEBHOOK_SIGNATURE_LEN + 1];
    CHECK_INT(webhook_sign("whsec_", "id", 1, "{}", 2, sig), WH_EINVAL);
    CHECK_INT(webhook_sign("whsec_not base64!", "id", 1, "{}", 2, sig), WH_EINVAL);
    /* Longer than WEBHOOK_MAX_SECRET_BYTES once decoded. */
    char big[200] = "whsec_";
    memset(big + 6, 'A', 120);
    big[126] = '\0';
    CHECK_INT(webhook_sign(big, "id", 1, "{}", 2, sig), WH_EINVAL);
}

static void test_body(void)
{
    wh_buf_t data, out;
    wh_buf_init(&data);
    wh_buf_init(&out);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &data);
    msgpack_pack_map(&pk, 2);
    wh_msg_kv_str(&pk, "alert_id", "01JALERT00000000000000000A");
    wh_msg_kv_bool(&pk, "urgent", true);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(data.data, data.len, &m), 0);
    CHECK_INT(webhook_body(&out, "alert.created", "2025-03-01T08:00:00.000Z", m.root), 0);
    CHECK_STR(out.data, "{\"type\":\"alert.created\",\"timestamp\":\"2025-03-01T08:00:00.000Z\","
                        "\"data\":{\"alert_id\":\"01JALERT00000000000000000A\",\"urgent\":true}}");
    wh_msg_close(&m);
    wh_buf_close(&data);
    wh_buf_close(&out);
}

static void test_hosts(void)
{
    char host[SUB_MAX_HOST];
    CHECK(subscription_webhook_host("https://Hooks.Example.org/in?x=1", host, sizeof host));
    CHECK_STR(host, "hooks.example.org:443");
    CHECK(subscription_webhook_host("http://127.0.0.1:8081/hook", host, sizeof host));
    CHECK_STR(host, "127.0.0.1:8081");
    CHECK(subscription_webhook_host("http://[::1]/hook", host, sizeof host));
    CHECK_STR(host, "[::1]:80");
    CHECK(!subscription_webhook_host("ftp://example.org/x", host, sizeof host));
    CHECK(!subscription_webhook_host("https://user:pw@example.org/", host, sizeof host));
    CHECK(!subscription_webhook_host("example.org/hook", host, sizeof host));
    CHECK(!subscription_webhook_host("http://:80/x", host, sizeof host));
    CHECK(!subscription_webhook_host("javascript:alert(1)", host, sizeof host));
    char tiny[8];
    CHECK(!subscription_webhook_host("https://example.org/", tiny, sizeof tiny));
}

int main(void)
{
    TEST(test_spec_vector);
    TEST(test_against_openssl);
    TEST(test_bad_secrets);
    TEST(test_body);
    TEST(test_hosts);
    return 0;
}
