/* common/log.c: one JSON object per line on stderr with time, level,
 * service, optional request id (given, or the current request's) and
 * message, every string escaped and invalid UTF-8 replaced; levels
 * filtered by WH_LOG_LEVEL; long messages cut, never overrun. stderr is
 * redirected to a file for the checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "log.h"

static char path[64];
static char out[8192];
static FILE *real; /* the original stderr */
static int done;

static void capture(void)
{
    fflush(stderr);
    FILE *f = freopen(path, "w", stderr);
    CHECK(f != NULL);
}

/* Everything logged since capture(), as one string. */
static const char *captured(void)
{
    fflush(stderr);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

/* A failed CHECK writes to the redirected stderr: show it on the real one. */
static void show_failure(void)
{
    if (done)
        return;
    fprintf(real, "%s", captured());
    fflush(real);
}

/* Checks one line's shape and returns what follows the timestamp. */
static const char *after_ts(const char *line)
{
    CHECK(strncmp(line, "{\"time\":\"", 9) == 0);
    int64_t ms;
    CHECK_INT(wh_clock_parse_rfc3339(line + 9, WH_RFC3339_LEN - 1, &ms), 0);
    CHECK_INT(line[9 + WH_RFC3339_LEN - 2], 'Z');
    CHECK_INT(line[9 + 19], '.'); /* milliseconds */
    CHECK_INT(line[9 + WH_RFC3339_LEN - 1], '"');
    return line + 9 + WH_RFC3339_LEN;
}

static void test_line_format(void)
{
    unsetenv("WH_LOG_LEVEL");
    wh_log_init("agreements");
    capture();
    wh_log_info("store opened at %s with %d migrations", "/var/x.db", 3);
    const char *o = captured();
    CHECK_STR(after_ts(o), ",\"level\":\"info\",\"service\":\"agreements\","
                           "\"msg\":\"store opened at /var/x.db with 3 migrations\"}\n");
    capture();
    wh_log(WH_LOG_WARN, "01REQ", "slow request");
    CHECK_STR(after_ts(captured()),
              ",\"level\":\"warn\",\"service\":\"agreements\",\"request_id\":\"01REQ\","
              "\"msg\":\"slow request\"}\n");
}

static void test_escaping(void)
{
    wh_log_init("svc\"x");
    capture();
    wh_log(WH_LOG_ERROR, "id\n1", "quote \" backslash \\ newline \n tab \t bell \a");
    CHECK_STR(after_ts(captured()),
              ",\"level\":\"error\",\"service\":\"svc\\\"x\",\"request_id\":\"id\\n1\","
              "\"msg\":\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007\"}\n");
    /* One line per call, always. */
    CHECK(strchr(out, '\n') == out + strlen(out) - 1);
}

static void test_current_request(void)
{
    wh_log_init("surveys");
    CHECK(wh_log_request() == NULL);
    wh_log_set_request("01CURRENT");
    CHECK_STR(wh_log_request(), "01CURRENT");
    capture();
    wh_log_info("inside");
    wh_log(WH_LOG_INFO, "01OTHER", "named");
    captured();
    const char *second = strchr(out, '\n') + 1;
    CHECK(strstr(out, "\"request_id\":\"01CURRENT\",\"msg\":\"inside\"") != NULL);
    CHECK(strstr(second, "\"request_id\":\"01OTHER\",\"msg\":\"named\"") != NULL);
    /* An overlong id is cut at the limit, never overrun. */
    char big[WH_LOG_MAX_REQUEST_ID + 10];
    memset(big, 'r', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wh_log_set_request(big);
    CHECK_INT(strlen(wh_log_request()), WH_LOG_MAX_REQUEST_ID);
    wh_log_set_request(NULL);
    CHECK(wh_log_request() == NULL);
    capture();
    wh_log_info("outside");
    CHECK(strstr(captured(), "request_id") == NULL);
    wh_log_set_request("x");
    wh_log_set_request("");
    CHECK(wh_log_request() == NULL);
}

/* An error text from a library can hold any bytes: each byte that is not
 * well-formed UTF-8 becomes U+FFFD, and the line stays valid JSON. */
static void test_invalid_utf8(void)
{
    wh_log_init("s");
    capture();
    wh_log_info("ok \xc3\xa4 \xe2\x82\xac \xf0\x9f\x98\x80; bad \xff \xc3 \xed\xa0\x80 \xc0\xaf");
    CHECK_STR(after_ts(captured()),
              ",\"level\":\"info\",\"service\":\"s\",\"msg\":\"ok \xc3\xa4 \xe2\x82\xac "
              "\xf0\x9f\x98\x80; bad \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd "
              "\\ufffd\\ufffd\"}\n");
    /* A message cut in the middle of a character keeps no half of it. */
    static char longer[WH_LOG_MAX_MSG + 8];
    memset(longer, 'x', WH_LOG_MAX_MSG - 1);
    memcpy(longer + WH_LOG_MAX_MSG - 1, "\xe2\x82\xac", 4);
    capture();
    wh_log_info("%s", longer);
    const char *msg = strstr(after_ts(captured()), "\"msg\":\"") + 7;
    CHECK_INT(strspn(msg, "x"), WH_LOG_MAX_MSG - 1);
    CHECK_STR(msg + WH_LOG_MAX_MSG - 1, "\"}\n");
}

static void test_levels(void)
{
    static const struct {
        const char *env;
        int lowest; /* lowest level written */
    } cases[] = {{"debug", WH_LOG_DEBUG},
                 {"info", WH_LOG_INFO},
                 {"warn", WH_LOG_WARN},
                 {"error", WH_LOG_ERROR}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(setenv("WH_LOG_LEVEL", cases[i].env, 1), 0);
        wh_log_init("s");
        capture();
        for (int lv = WH_LOG_DEBUG; lv <= WH_LOG_ERROR; lv++) {
            CHECK_INT(wh_log_enabled(lv), lv >= cases[i].lowest);
            wh_log(lv, NULL, "level %d", lv);
        }
        const char *o = captured();
        int lines = 0;
        for (const char *p = o; (p = strchr(p, '\n')); p++)
            lines++;
        CHECK_INT(lines, WH_LOG_ERROR - cases[i].lowest + 1);
        char first[32];
        snprintf(first, sizeof first, "\"msg\":\"level %d\"", cases[i].lowest);
        CHECK(strstr(o, first) != NULL);
    }
    /* An unknown level leaves the current one as it was. */
    CHECK_INT(setenv("WH_LOG_LEVEL", "verbose", 1), 0);
    wh_log_init("s");
    CHECK(!wh_log_enabled(WH_LOG_WARN));
    CHECK(wh_log_enabled(WH_LOG_ERROR));
    CHECK_INT(setenv("WH_LOG_LEVEL", "info", 1), 0);
    wh_log_init("s");
    CHECK(!wh_log_enabled(WH_LOG_DEBUG));
    CHECK(wh_log_enabled(WH_LOG_INFO));
}

static void test_long_message(void)
{
    wh_log_init("s");
    static char longer[5000];
    memset(longer, 'x', sizeof longer - 1);
    capture();
    wh_log_info("%s", longer);
    const char *o = after_ts(captured());
    const char *msg = strstr(o, "\"msg\":\"");
    CHECK(msg != NULL);
    msg += 7;
    CHECK_INT(strspn(msg, "x"), 1023);
    CHECK_STR(msg + 1023, "\"}\n");
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/wh-log-test-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int saved_stderr = dup(2);
    CHECK(saved_stderr >= 0);
    /* The test names go to the real stderr; the lines under test to the
     * file. */
    real = fdopen(saved_stderr, "w");
    CHECK(real != NULL);
    atexit(show_failure);
    void (*tests[])(void) = {test_line_format,  test_escaping, test_current_request,
                             test_invalid_utf8, test_levels,   test_long_message};
    const char *names[] = {"test_line_format",  "test_escaping", "test_current_request",
                           "test_invalid_utf8", "test_levels",   "test_long_message"};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        fprintf(real, "  %s\n", names[i]);
        fflush(real);
        tests[i]();
    }
    done = 1;
    unlink(path);
    return 0;
}
