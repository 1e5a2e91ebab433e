/* common/buf.c: growth by doubling from 256 bytes, the NUL terminator kept
 * after every append, printf beyond the current capacity, JSON string
 * escaping byte by byte, steal and reset. */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "err.h"

static void test_init_empty(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 0);
    CHECK(!wh_buf_failed(&b));
    wh_buf_close(&b);
    CHECK(b.data == NULL);
    /* Closing twice is harmless: close re-initialises. */
    wh_buf_close(&b);
}

static void test_append_growth(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_append(&b, "", 0);
    /* Even an empty append allocates so that data is a C string. */
    CHECK(b.data != NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 256);
    CHECK_STR(b.data, "");

    wh_buf_puts(&b, "hello");
    wh_buf_putc(&b, ' ');
    wh_buf_append(&b, "world!!", 5);
    CHECK_INT(b.len, 11);
    CHECK_STR(b.data, "hello world");
    CHECK_INT(b.cap, 256);

    /* 255 bytes plus the NUL fill 256 exactly; the 256th byte doubles. */
    wh_buf_reset(&b);
    char block[1000];
    memset(block, 'x', sizeof block);
    wh_buf_append(&b, block, 255);
    CHECK_INT(b.len, 255);
    CHECK_INT(b.cap, 256);
    CHECK_INT(b.data[255], '\0');
    wh_buf_putc(&b, 'y');
    CHECK_INT(b.len, 256);
    CHECK_INT(b.cap, 512);
    CHECK_INT(b.data[255], 'y');
    CHECK_INT(b.data[256], '\0');

    /* A large append doubles as many times as needed at once. */
    wh_buf_append(&b, block, 1000);
    CHECK_INT(b.len, 1256);
    CHECK_INT(b.cap, 2048);
    CHECK_INT(b.data[1255], 'x');
    CHECK_INT(b.data[1256], '\0');
    CHECK_INT(strlen(b.data), 1256);
    CHECK(!wh_buf_failed(&b));
    wh_buf_close(&b);
}

static void test_append_binary(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    static const char bin[] = {'a', '\0', 'b', '\xff'};
    wh_buf_append(&b, bin, sizeof bin);
    CHECK_INT(b.len, 4);
    CHECK(memcmp(b.data, bin, 4) == 0);
    CHECK_INT(b.data[4], '\0');
    wh_buf_close(&b);
}

static void test_reserve(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    CHECK_INT(wh_buf_reserve(&b, 10), 0);
    CHECK_INT(b.cap, 256);
    CHECK_INT(b.len, 0);
    CHECK_INT(wh_buf_reserve(&b, 255), 0);
    CHECK_INT(b.cap, 256);
    CHECK_INT(wh_buf_reserve(&b, 256), 0);
    CHECK_INT(b.cap, 512);
    /* A size no allocator can give marks the buffer failed, and every later
     * append is a no-op until reset. */
    CHECK_INT(wh_buf_reserve(&b, SIZE_MAX - 8), WH_ENOMEM);
    CHECK(wh_buf_failed(&b));
    wh_buf_puts(&b, "ignored");
    CHECK_INT(b.len, 0);
    CHECK_INT(wh_buf_reserve(&b, 1), WH_ENOMEM);
    wh_buf_reset(&b);
    CHECK(!wh_buf_failed(&b));
    wh_buf_puts(&b, "again");
    CHECK_STR(b.data, "again");
    wh_buf_close(&b);
}

static void test_printf(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_printf(&b, "%d-%s-%c", 42, "abc", 'z');
    CHECK_STR(b.data, "42-abc-z");
    CHECK_INT(b.len, 8);
    wh_buf_printf(&b, "%s", "");
    CHECK_INT(b.len, 8);
    /* Output longer than the capacity: the buffer grows first, and the
     * formatted text is complete (no truncation at the old capacity). */
    char big[700];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wh_buf_printf(&b, "[%s]%05d", big, 7);
    CHECK_INT(b.len, 8 + 1 + 699 + 1 + 5);
    CHECK_INT(b.cap, 1024);
    CHECK(memcmp(b.data, "42-abc-z[qqq", 12) == 0);
    CHECK_STR(b.data + b.len - 6, "]00007");
    CHECK_INT(strlen(b.data), b.len);
    wh_buf_close(&b);
}

static const char *json_of(wh_buf_t *b, const char *s, size_t n)
{
    wh_buf_reset(b);
    wh_buf_json_str(b, s, n);
    CHECK(!wh_buf_failed(b));
    CHECK_INT(strlen(b->data), b->len);
    return b->data;
}

static void test_html(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    const char s[] = "<script>alert('x')</script> & \"y\"\xc3\xa4";
    wh_buf_html(&b, s, sizeof s - 1);
    CHECK_STR(b.data,
              "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;\xc3\xa4");
    wh_buf_reset(&b);
    wh_buf_html(&b, "ab", 1);
    CHECK_STR(b.data, "a");
    wh_buf_close(&b);
}

static void test_json_str(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    CHECK_STR(json_of(&b, "", 0), "\"\"");
    CHECK_STR(json_of(&b, "plain", 5), "\"plain\"");
    CHECK_STR(json_of(&b, "a\"b", 3), "\"a\\\"b\"");
    CHECK_STR(json_of(&b, "a\\b", 3), "\"a\\\\b\"");
    CHECK_STR(json_of(&b, "\n\r\t", 3), "\"\\n\\r\\t\"");
    CHECK_STR(json_of(&b, "\b\f", 2), "\"\\u0008\\u000c\"");
    CHECK_STR(json_of(&b, "\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
    /* A NUL inside the slice is data, not the end. */
    CHECK_STR(json_of(&b, "a\0b", 3), "\"a\\u0000b\"");
    /* n limits what is read. */
    CHECK_STR(json_of(&b, "abcdef", 2), "\"ab\"");
    /* Bytes >= 0x80 (UTF-8) pass through unchanged; '/' is not escaped. */
    CHECK_STR(json_of(&b, "K\xc3\xb6ln/\xe2\x82\xac", 9), "\"K\xc3\xb6ln/\xe2\x82\xac\"");

    /* Every byte from 0 to 0x1f is escaped in six characters (or two). */
    for (int c = 0; c < 0x20; c++) {
        char in = (char)c;
        const char *out = json_of(&b, &in, 1);
        if (c == '\n' || c == '\r' || c == '\t') {
            CHECK_INT(b.len, 4);
        } else {
            char want[16];
            snprintf(want, sizeof want, "\"\\u%04x\"", c);
            CHECK_STR(out, want);
        }
    }

    /* Appends after existing text, and the worst case (every byte escaped
     * to six) fits without corrupting what was there. */
    wh_buf_reset(&b);
    wh_buf_puts(&b, "{\"k\":");
    char ctl[300];
    memset(ctl, 0x01, sizeof ctl);
    wh_buf_json_str(&b, ctl, sizeof ctl);
    CHECK_INT(b.len, 5 + 2 + 6 * 300);
    CHECK(memcmp(b.data, "{\"k\":\"\\u0001\\u0001", 18) == 0);
    CHECK_STR(b.data + b.len - 7, "\\u0001\"");
    wh_buf_close(&b);
}

static void test_steal(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, "owned text");
    size_t len = 0;
    char *p = wh_buf_steal(&b, &len);
    CHECK_STR(p, "owned text");
    CHECK_INT(len, 10);
    /* b is fresh again and independent of p. */
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 0);
    wh_buf_puts(&b, "new");
    CHECK_STR(b.data, "new");
    CHECK_STR(p, "owned text");
    free(p);
    /* len may be NULL; an empty buffer gives NULL. */
    wh_buf_close(&b);
    CHECK(wh_buf_steal(&b, NULL) == NULL);
    CHECK(wh_buf_steal(&b, &len) == NULL);
    CHECK_INT(len, 0);
}

static void test_reset(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_reset(&b); /* no allocation yet: still fine */
    CHECK(b.data == NULL);
    wh_buf_puts(&b, "0123456789");
    char *before = b.data;
    size_t cap = b.cap;
    wh_buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.data, "");
    CHECK(b.data == before);
    CHECK_INT(b.cap, cap);
    wh_buf_puts(&b, "ab");
    CHECK_STR(b.data, "ab");
    wh_buf_close(&b);
}

/* The escaper one byte at a time, as the reference for the word-wise one:
 * every byte value at every position of strings of several lengths. */
static void ref_json_str(wh_buf_t *b, const unsigned char *s, size_t n)
{
    wh_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            wh_buf_putc(b, '\\');
            wh_buf_putc(b, (char)c);
        } else if (c == '\n') {
            wh_buf_puts(b, "\\n");
        } else if (c == '\r') {
            wh_buf_puts(b, "\\r");
        } else if (c == '\t') {
            wh_buf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            wh_buf_printf(b, "\\u%04x", c);
        } else {
            wh_buf_putc(b, (char)c);
        }
    }
    wh_buf_putc(b, '"');
}

static void test_json_str_every_byte(void)
{
    static const size_t lens[] = {1, 7, 8, 9, 16, 23};
    wh_buf_t got, want;
    wh_buf_init(&got);
    wh_buf_init(&want);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (size_t pos = 0; pos < lens[li]; pos++)
            for (int c = 0; c < 256; c++) {
                unsigned char s[32];
                memset(s, 'a', sizeof s);
                s[pos] = (unsigned char)c;
                wh_buf_reset(&got);
                wh_buf_reset(&want);
                wh_buf_json_str(&got, (const char *)s, lens[li]);
                ref_json_str(&want, s, lens[li]);
                CHECK_INT(got.len, want.len);
                CHECK(memcmp(got.data, want.data, got.len) == 0);
            }
    wh_buf_close(&got);
    wh_buf_close(&want);
}

/* A pooled buffer comes back empty and keeps its allocation; nested takes
 * get distinct buffers; with every slot taken the caller's own is used;
 * one grown past WH_BUFPOOL_KEEP_BYTES is not kept. */
static void test_pool(void)
{
    wh_bufpool_t p = {0};
    wh_buf_t own[WH_BUFPOOL_SLOTS + 1], *b[WH_BUFPOOL_SLOTS + 1];
    for (int i = 0; i <= WH_BUFPOOL_SLOTS; i++) {
        b[i] = wh_bufpool_take(&p, &own[i]);
        CHECK_INT(b[i]->len, 0);
        for (int j = 0; j < i; j++)
            CHECK(b[i] != b[j]);
        wh_buf_printf(b[i], "buffer %d", i);
    }
    CHECK(b[WH_BUFPOOL_SLOTS] == &own[WH_BUFPOOL_SLOTS]);
    CHECK_STR(b[0]->data, "buffer 0");
    char *kept = b[0]->data;
    for (int i = 0; i <= WH_BUFPOOL_SLOTS; i++)
        wh_bufpool_give(&p, b[i]);
    CHECK(own[WH_BUFPOOL_SLOTS].data == NULL); /* the caller's own is closed */
    wh_buf_t spare, *again = wh_bufpool_take(&p, &spare);
    CHECK(again == b[0]);
    CHECK(again->data == kept);
    CHECK_INT(again->len, 0);
    CHECK_STR(again->data, "");
    CHECK(wh_buf_reserve(again, WH_BUFPOOL_KEEP_BYTES + 1) == 0);
    wh_bufpool_give(&p, again);
    CHECK(p.buf[0].data == NULL && p.buf[0].cap == 0);
    /* A failed buffer is not handed out again as failed. */
    again = wh_bufpool_take(&p, &spare);
    again->failed = true;
    wh_bufpool_give(&p, again);
    again = wh_bufpool_take(&p, &spare);
    CHECK(!wh_buf_failed(again));
    wh_bufpool_give(&p, again);
    wh_bufpool_close(&p);
}

/* A copy that fits, one exactly one byte too long, and nothing. */
static void test_copy_cut(void)
{
    char out[6];
    CHECK_INT(wh_copy_cut(out, sizeof out, "abc", 3), 3);
    CHECK_STR(out, "abc");
    CHECK_INT(wh_copy_cut(out, sizeof out, "abcdef", 6), 5);
    CHECK_STR(out, "abcde");
    CHECK_INT(wh_copy_cut(out, sizeof out, "abcdef", 0), 0);
    CHECK_STR(out, "");
}

/* A reserve so large that its size would wrap fails rather than writing
 * past the allocation. */
static void test_reserve_huge(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, "x");
    CHECK(wh_buf_reserve(&b, (size_t)-1) != 0);
    CHECK(wh_buf_failed(&b));
    wh_buf_append(&b, "y", 1);
    CHECK_INT(b.len, 1);
    wh_buf_close(&b);
}

int main(void)
{
    TEST(test_init_empty);
    TEST(test_append_growth);
    TEST(test_append_binary);
    TEST(test_reserve);
    TEST(test_printf);
    TEST(test_json_str);
    TEST(test_html);
    TEST(test_steal);
    TEST(test_reset);
    TEST(test_pool);
    TEST(test_json_str_every_byte);
    TEST(test_reserve_huge);
    TEST(test_copy_cut);
    return 0;
}
