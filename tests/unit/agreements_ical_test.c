/* iCalendar content lines (services/agreements/ical.c): TEXT escaping and
 * folding at 75 octets without splitting a UTF-8 character. */
#include <string.h>

#include "check.h"
#include "ical.h"

static void test_escape(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    const char in[] = "a,b;c\\d\ne\r\nf\rg";
    ical_escape(&b, in, strlen(in));
    CHECK_STR(b.data, "a\\,b\\;c\\\\d\\ne\\nf\\ng");
    wh_buf_reset(&b);
    ical_prop_text(&b, "SUMMARY", "Kündigung; Frist, \"Büro\"",
                   strlen("Kündigung; Frist, \"Büro\""));
    CHECK_STR(b.data, "SUMMARY:Kündigung\\; Frist\\, \"Büro\"\r\n");
    wh_buf_close(&b);
}

/* Unfolds per RFC 5545 3.1 (CRLF followed by one space or tab). */
static void unfold(const char *s, char *out)
{
    while (*s) {
        if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' || s[2] == '\t'))
            s += 3;
        else
            *out++ = *s++;
    }
    *out = '\0';
}

/* Every physical line is at most 75 octets without its CRLF, ends in
 * CRLF, and no line starts with a UTF-8 continuation octet. */
static void check_lines(const char *s)
{
    while (*s) {
        const char *e = strstr(s, "\r\n");
        CHECK(e != NULL);
        CHECK((size_t)(e - s) <= ICAL_MAX_LINE_OCTETS);
        CHECK(((unsigned char)s[0] & 0xC0) != 0x80 || (s[0] == ' '));
        if (s[0] == ' ')
            CHECK(((unsigned char)s[1] & 0xC0) != 0x80);
        s = e + 2;
    }
}

static void test_fold_ascii(void)
{
    char line[200], out[400];
    wh_buf_t b;
    wh_buf_init(&b);
    memset(line, 'x', 75);
    ical_line(&b, line, 75);
    CHECK_INT(b.len, 77);
    CHECK(memcmp(b.data + 75, "\r\n", 2) == 0);
    wh_buf_reset(&b);
    memset(line, 'y', 76);
    ical_line(&b, line, 76);
    CHECK_INT(b.len, 75 + 3 + 1 + 2);
    CHECK(memcmp(b.data + 75, "\r\n y\r\n", 6) == 0);
    wh_buf_reset(&b);
    /* 150 octets: 75, then a space and 74, then a space and 1. */
    for (int i = 0; i < 150; i++)
        line[i] = (char)('a' + i % 26);
    ical_line(&b, line, 150);
    check_lines(b.data);
    CHECK_INT(b.len, 150 + 2 * 3 + 2);
    CHECK(b.data[75] == '\r' && b.data[77] == ' ');
    CHECK(b.data[77 + 75] == '\r' && b.data[77 + 77] == ' ');
    unfold(b.data, out);
    line[150] = '\0';
    CHECK(strncmp(out, line, 150) == 0);
    CHECK_STR(out + 150, "\r\n");
    wh_buf_close(&b);
}

static void test_fold_utf8(void)
{
    /* 74 ASCII octets and then "é" (2 octets): a cut at 75 would split it,
     * so the first line holds 74 octets and "é" starts the next. */
    char line[200], out[400];
    memset(line, 'x', 74);
    memcpy(line + 74, "\xc3\xa9z", 3);
    wh_buf_t b;
    wh_buf_init(&b);
    ical_line(&b, line, 77);
    check_lines(b.data);
    CHECK(memcmp(b.data + 74, "\r\n \xc3\xa9z\r\n", 8) == 0);
    unfold(b.data, out);
    CHECK(memcmp(out, line, 77) == 0);
    wh_buf_reset(&b);
    /* A long run of 3-octet characters ("€") folds on character bounds. */
    size_t n = 0;
    for (int i = 0; i < 60; i++) {
        memcpy(line + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    ical_line(&b, line, n);
    check_lines(b.data);
    unfold(b.data, out);
    CHECK(memcmp(out, line, n) == 0);
    CHECK_INT(strlen(out), n + 2);
    wh_buf_close(&b);
}

static void test_prop(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    ical_prop(&b, "DTSTART;VALUE=DATE", "20251002");
    CHECK_STR(b.data, "DTSTART;VALUE=DATE:20251002\r\n");
    wh_buf_close(&b);
}

int main(void)
{
    TEST(test_escape);
    TEST(test_fold_ascii);
    TEST(test_fold_utf8);
    TEST(test_prop);
    return 0;
}
