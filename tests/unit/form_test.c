/* The form body parser: decoding, empty pairs, malformed escapes, and every
 * limit at and across its edge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "form.h"

static int parse(const char *s, form_t *f)
{
    return form_parse(s, strlen(s), f);
}

static void test_decodes_pairs(void)
{
    form_t f;
    CHECK_INT(parse("c=ABCDE-12345&lang=sv&q.wl1=3&x&&msg=a+b%2Bc%C3%A4", &f), 0);
    CHECK_INT(f.n, 5);
    CHECK_STR(form_get(&f, "c"), "ABCDE-12345");
    CHECK_STR(form_get(&f, "lang"), "sv");
    CHECK_STR(form_get(&f, "q.wl1"), "3");
    CHECK_STR(form_get(&f, "x"), "");
    CHECK_STR(form_get(&f, "msg"), "a b+c\xc3\xa4");
    CHECK(form_get(&f, "missing") == NULL);
    form_close(&f);
    /* The first of two values counts. */
    CHECK_INT(parse("a=1&a=2", &f), 0);
    CHECK_STR(form_get(&f, "a"), "1");
    form_close(&f);
    CHECK_INT(form_parse("", 0, &f), 0);
    CHECK_INT(f.n, 0);
    form_close(&f);
    /* Not NUL-terminated: only len bytes count. */
    CHECK_INT(form_parse("a=12345", 3, &f), 0);
    CHECK_STR(form_get(&f, "a"), "1");
    form_close(&f);
}

static void test_refuses_malformed(void)
{
    form_t f;
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "%00=1", "=1", "a=1&=2", NULL};
    for (int i = 0; bad[i]; i++) {
        CHECK_INT(parse(bad[i], &f), WH_EINVAL);
        CHECK_INT(f.n, 0);
        CHECK(f.storage == NULL);
    }
    form_close(&f);
}

static void test_limits(void)
{
    form_t f;
    size_t cap = FORM_MAX_BYTES + 64;
    char *s = malloc(cap);
    CHECK(s);
    /* Fields: FORM_MAX_FIELDS pass, one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t o = 0;
        for (int i = 0; i < FORM_MAX_FIELDS + extra; i++)
            o += (size_t)snprintf(s + o, cap - o, "%sf%d=1", i ? "&" : "", i);
        CHECK_INT(form_parse(s, o, &f), extra ? WH_ELIMIT : 0);
        CHECK_INT(f.n, extra ? 0 : FORM_MAX_FIELDS);
        form_close(&f);
    }
    /* A name of FORM_MAX_NAME_BYTES decoded bytes (each sent as %41). */
    for (int extra = 0; extra <= 1; extra++) {
        size_t o = 0;
        for (int i = 0; i < FORM_MAX_NAME_BYTES + extra; i++)
            o += (size_t)snprintf(s + o, cap - o, "%%41");
        o += (size_t)snprintf(s + o, cap - o, "=1");
        CHECK_INT(form_parse(s, o, &f), extra ? WH_ELIMIT : 0);
        form_close(&f);
    }
    /* A value of FORM_MAX_VALUE_BYTES. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t o = (size_t)snprintf(s, cap, "v=");
        memset(s + o, 'x', FORM_MAX_VALUE_BYTES + extra);
        o += FORM_MAX_VALUE_BYTES + extra;
        CHECK_INT(form_parse(s, o, &f), extra ? WH_ELIMIT : 0);
        if (!extra)
            CHECK_INT(strlen(form_get(&f, "v")), FORM_MAX_VALUE_BYTES);
        form_close(&f);
    }
    /* The body: FORM_MAX_BYTES of ampersands is empty, one more is too much. */
    memset(s, '&', FORM_MAX_BYTES + 1);
    CHECK_INT(form_parse(s, FORM_MAX_BYTES, &f), 0);
    CHECK_INT(f.n, 0);
    form_close(&f);
    CHECK_INT(form_parse(s, FORM_MAX_BYTES + 1, &f), WH_ELIMIT);
    form_close(&f);
    free(s);
}

int main(void)
{
    TEST(test_decodes_pairs);
    TEST(test_refuses_malformed);
    TEST(test_limits);
    return 0;
}
