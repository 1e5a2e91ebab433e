#include "webhook.h"

#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "err.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "netguard.h"

int webhook_secret_new(char out[WEBHOOK_SECRET_LEN + 1])
{
    unsigned char key[WEBHOOK_SECRET_BYTES];
    if (wh_random_bytes(key, sizeof key) != 0)
        return WH_EIO;
    memcpy(out, WEBHOOK_SECRET_PREFIX, 6);
    wh_base64(key, sizeof key, out + 6);
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict standard base64 with optional padding; returns the byte count or
 * -1. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (int)o;
}

int webhook_sign(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_LEN + 1])
{
    if (strncmp(secret, WEBHOOK_SECRET_PREFIX, 6) == 0)
        secret += 6;
    unsigned char key[WEBHOOK_MAX_SECRET_BYTES];
    int key_len = b64_decode(secret, strlen(secret), key, sizeof key);
    if (key_len <= 0)
        return WH_EINVAL;
    char ts[24];
    int ts_len = snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, (size_t)key_len, params) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)ts_len) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1 &&
             EVP_MAC_final(ctx, md, &md_len, sizeof md) == 1 && md_len == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok)
        return WH_EIO;
    memcpy(out, "v1,", 3);
    wh_base64(md, md_len, out + 3);
    return 0;
}

int webhook_body(wh_buf_t *out, const char *type, const char *timestamp, const msgpack_object *data)
{
    wh_buf_puts(out, "{\"type\":");
    wh_buf_json_str(out, type, strlen(type));
    wh_buf_puts(out, ",\"timestamp\":");
    wh_buf_json_str(out, timestamp, strlen(timestamp));
    wh_buf_puts(out, ",\"data\":");
    int rc = data ? wh_json_from_msgpack(data, out) : (wh_buf_puts(out, "{}"), 0);
    wh_buf_putc(out, '}');
    if (rc == 0 && wh_buf_failed(out))
        rc = WH_ENOMEM;
    return rc;
}

static size_t on_response(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    webhook_transfer_t *t = ud;
    t->response_bytes += size * n;
    /* Returning less than given ends the transfer; the status is known by
     * now and decides the outcome. */
    return t->response_bytes > WEBHOOK_MAX_RESPONSE ? 0 : size * n;
}

/* CURLOPT_OPENSOCKETFUNCTION: every address curl connects to, after its
 * own resolution, passes the guard here, so a name that resolves to an
 * internal address (at any moment: DNS rebinding) gains nothing. A refusal
 * ends the attempt as any connection failure does; the tenant sees the same
 * outcome as for a closed port, the operator the reason in the log. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    webhook_transfer_t *t = ud;
    uint8_t a[16];
    net_class_t cls = NET_RESERVED;
    if (purpose == CURLSOCKTYPE_IPCXN && netguard_from_sockaddr(&addr->addr, a) &&
        netguard_permits(netguard_get(), a, &cls))
        return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    char text[NETGUARD_ADDR_LEN] = "?";
    if (netguard_from_sockaddr(&addr->addr, a))
        netguard_format(a, text, sizeof text);
    wh_log(WH_LOG_WARN, t->request_id,
           "delivery %s: refused to connect to %s, a %s address (WH_WEBHOOK_ALLOW "
           "allows ranges)",
           t->id, text, netguard_class_name(cls));
    return CURL_SOCKET_BAD;
}

int webhook_curl_setup(CURL *c, webhook_transfer_t *t, const char *url, const char *secret,
                       int64_t timestamp_s, const wh_buf_t *body, struct curl_slist **headers)
{
    char sig[WEBHOOK_SIGNATURE_LEN + 1];
    if (webhook_sign(secret, t->id, timestamp_s, body->data, body->len, sig) != 0)
        return WH_EINVAL;
    char h[128];
    struct curl_slist *l = NULL;
    l = curl_slist_append(l, "Content-Type: application/json");
    snprintf(h, sizeof h, "webhook-id: %s", t->id);
    l = curl_slist_append(l, h);
    snprintf(h, sizeof h, "webhook-timestamp: %lld", (long long)timestamp_s);
    l = curl_slist_append(l, h);
    snprintf(h, sizeof h, "webhook-signature: %s", sig);
    l = curl_slist_append(l, h);
    l = curl_slist_append(l, "User-Agent: workhealth-webhooks/1");
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    *headers = l;
    if (!l)
        return WH_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    /* No proxy from the environment: the guard must see the receiver's
     * address, not a proxy's. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)WEBHOOK_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    return 0;
}
