/* services/gateway/console.c, the parsing behind the console's sessions:
 * the session cookie found among others in a Cookie header (and refused
 * when too long or not a session secret), the same-origin rule for
 * Origin and Sec-Fetch-Site, and the CSRF token derived from a secret and
 * compared whole. The store side is judged end to end in
 * tests/e2e/test_console_session.py. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "console.h"
#include "err.h"

static const char SECRET[] = "whs_AbC-123_xyz";

static void test_cookie_found_among_others(void)
{
    char out[CONSOLE_MAX_COOKIE];
    CHECK_INT(console_cookie_find("wh_session=whs_AbC-123_xyz", "wh_session", out, sizeof out), 0);
    CHECK_STR(out, SECRET);
    CHECK_INT(console_cookie_find("theme=dark; wh_session=whs_AbC-123_xyz ; lang=de", "wh_session",
                                  out, sizeof out),
              0);
    CHECK_STR(out, SECRET);
    /* The secure name only when asked for it; a name that merely ends or
     * begins like ours is another cookie. */
    CHECK_INT(console_cookie_find("__Host-wh_session=whs_zz", "__Host-wh_session", out, sizeof out),
              0);
    CHECK_STR(out, "whs_zz");
    CHECK_INT(console_cookie_find("__Host-wh_session=whs_zz", "wh_session", out, sizeof out),
              WH_ENOTFOUND);
    CHECK_INT(console_cookie_find("wh_session_old=whs_zz", "wh_session", out, sizeof out),
              WH_ENOTFOUND);
    CHECK_INT(console_cookie_find("", "wh_session", out, sizeof out), WH_ENOTFOUND);
    CHECK_INT(console_cookie_find(NULL, "wh_session", out, sizeof out), WH_ENOTFOUND);
}

static void test_cookie_refused(void)
{
    char out[CONSOLE_MAX_COOKIE];
    /* Not a session secret: no prefix, nothing after it, a character
     * outside base64url. */
    CHECK_INT(console_cookie_find("wh_session=abc", "wh_session", out, sizeof out), WH_ELIMIT);
    CHECK_INT(console_cookie_find("wh_session=whs_", "wh_session", out, sizeof out), WH_ELIMIT);
    CHECK_INT(console_cookie_find("wh_session=whs_a%20b", "wh_session", out, sizeof out),
              WH_ELIMIT);
    /* CONSOLE_MAX_COOKIE - 1 characters fit; one more does not. */
    char hdr[2 * CONSOLE_MAX_COOKIE], val[CONSOLE_MAX_COOKIE + 1];
    memset(val, 'a', sizeof val);
    memcpy(val, "whs_", 4);
    val[CONSOLE_MAX_COOKIE - 1] = '\0';
    snprintf(hdr, sizeof hdr, "wh_session=%s", val);
    CHECK_INT(console_cookie_find(hdr, "wh_session", out, sizeof out), 0);
    CHECK_STR(out, val);
    val[CONSOLE_MAX_COOKIE - 1] = 'a';
    val[CONSOLE_MAX_COOKIE] = '\0';
    snprintf(hdr, sizeof hdr, "wh_session=%s", val);
    CHECK_INT(console_cookie_find(hdr, "wh_session", out, sizeof out), WH_ELIMIT);
}

static void test_same_origin(void)
{
    const char *host = "127.0.0.1:8080";
    CHECK(console_same_origin("http://127.0.0.1:8080", "same-origin", host, NULL, true));
    CHECK(console_same_origin("http://127.0.0.1:8080", NULL, host, NULL, true));
    CHECK(console_same_origin(NULL, "same-origin", host, NULL, true));
    /* Behind a TLS proxy the browser's origin is the public URL's. */
    CHECK(console_same_origin("https://health.example.org", NULL, "10.0.0.5:8080",
                              "https://health.example.org", true));
    CHECK(!console_same_origin("https://evil.example", NULL, host, "https://health.example.org",
                               true));
    CHECK(!console_same_origin("http://127.0.0.1:8081", NULL, host, NULL, true));
    CHECK(!console_same_origin("null", NULL, host, NULL, true));
    CHECK(!console_same_origin("http://127.0.0.1:8080", "cross-site", host, NULL, true));
    CHECK(!console_same_origin("http://127.0.0.1:8080", "same-site", host, NULL, true));
    CHECK(!console_same_origin(NULL, "none", host, NULL, true));
    CHECK(!console_same_origin("http://127.0.0.1:8080", NULL, NULL, NULL, true));
    /* Neither header: refused for a cookie's change, allowed to sign in by
     * a client that is not a browser. */
    CHECK(!console_same_origin(NULL, NULL, host, NULL, true));
    CHECK(console_same_origin(NULL, NULL, host, NULL, false));
    /* A Host of CONSOLE_MAX_ORIGIN - 1 characters can match; a longer one
     * is never ours. */
    char big[CONSOLE_MAX_ORIGIN + 1], origin[CONSOLE_MAX_ORIGIN + 16];
    memset(big, 'h', sizeof big);
    big[CONSOLE_MAX_ORIGIN - 1] = '\0';
    snprintf(origin, sizeof origin, "http://%s", big);
    CHECK(console_same_origin(origin, NULL, big, NULL, true));
    big[CONSOLE_MAX_ORIGIN - 1] = 'h';
    big[CONSOLE_MAX_ORIGIN] = '\0';
    snprintf(origin, sizeof origin, "http://%s", big);
    CHECK(!console_same_origin(origin, NULL, big, NULL, true));
}

static void test_csrf(void)
{
    char a[CONSOLE_CSRF_LEN + 1], b[CONSOLE_CSRF_LEN + 1];
    console_csrf_of(SECRET, a);
    console_csrf_of("whs_other", b);
    CHECK_INT((int)strlen(a), CONSOLE_CSRF_LEN);
    CHECK(strcmp(a, b) != 0);
    CHECK(strstr(a, "AbC") == NULL);
    CHECK(console_csrf_ok(a, a));
    CHECK(!console_csrf_ok(b, a));
    CHECK(!console_csrf_ok(NULL, a));
    CHECK(!console_csrf_ok("", a));
    char shorter[CONSOLE_CSRF_LEN + 1];
    memcpy(shorter, a, sizeof shorter);
    shorter[CONSOLE_CSRF_LEN - 1] = '\0';
    CHECK(!console_csrf_ok(shorter, a));
    char longer[CONSOLE_CSRF_LEN + 2];
    snprintf(longer, sizeof longer, "%sx", a);
    CHECK(!console_csrf_ok(longer, a));
}

int main(void)
{
    TEST(test_cookie_found_among_others);
    TEST(test_cookie_refused);
    TEST(test_same_origin);
    TEST(test_csrf);
    return 0;
}
