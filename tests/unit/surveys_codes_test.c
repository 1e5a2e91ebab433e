/* services/surveys/codes.c and definition.c: the shape and randomness of
 * participation codes, Crockford normalisation of what people type, the
 * hash (bound to the survey), and the definition parser's limits: scale
 * bounds, unit depth, cycles, the stored form read back unchanged. */
#include <string.h>

#include "check.h"
#include "codes.h"
#include "definition.h"
#include "err.h"
#include "id.h"
#include "sheet.h"

static void test_code_shape(void)
{
    char a[CODE_SHOWN_LEN + 1], b[CODE_SHOWN_LEN + 1];
    CHECK_INT(code_new(a), 0);
    CHECK_INT(code_new(b), 0);
    CHECK_INT(strlen(a), 23);
    CHECK(a[5] == '-' && a[11] == '-' && a[17] == '-');
    CHECK(strcmp(a, b) != 0);
    for (int i = 0; a[i]; i++)
        CHECK(a[i] == '-' || strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]));
    /* Every character position takes many values over many codes: the
     * 100 bits are all used. */
    unsigned seen[CODE_CHARS][32] = {{0}};
    for (int n = 0; n < 2000; n++) {
        char c[CODE_SHOWN_LEN + 1], canon[CODE_CHARS + 1];
        CHECK_INT(code_new(c), 0);
        CHECK(code_normalize((wh_str_t){c, strlen(c)}, canon));
        for (int i = 0; i < CODE_CHARS; i++)
            seen[i][strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", canon[i]) -
                    "0123456789ABCDEFGHJKMNPQRSTVWXYZ"] = 1;
    }
    for (int i = 0; i < CODE_CHARS; i++) {
        int distinct = 0;
        for (int v = 0; v < 32; v++)
            distinct += (int)seen[i][v];
        CHECK_INT(distinct, 32);
    }
}

static void test_normalize(void)
{
    char out[CODE_CHARS + 1];
    CHECK(code_normalize(WH_STR("ABCDE-FGHJK-MNPQR-STVWX"), out));
    CHECK_STR(out, "ABCDEFGHJKMNPQRSTVWX");
    /* Lower case, spaces, and the letters people confuse with digits. */
    CHECK(code_normalize(WH_STR("abcde fghjk mnpqr stvwx"), out));
    CHECK_STR(out, "ABCDEFGHJKMNPQRSTVWX");
    CHECK(code_normalize(WH_STR("OIL00-11111-22222-33333"), out));
    CHECK_STR(out, "01100111112222233333");
    CHECK(!code_normalize(WH_STR("ABCDE-FGHJK-MNPQR-STVW"), out));   /* short */
    CHECK(!code_normalize(WH_STR("ABCDE-FGHJK-MNPQR-STVWXY"), out)); /* long */
    CHECK(!code_normalize(WH_STR("ABCDE-FGHJK-MNPQR-STVWU"), out));  /* U */
    CHECK(!code_normalize(WH_STR("ABCDE_FGHJK-MNPQR-STVWX"), out));
    CHECK(!code_normalize((wh_str_t){NULL, 0}, out));
    char big[CODE_MAX_INPUT + 2];
    memset(big, '-', sizeof big);
    memcpy(big, "ABCDEFGHJKMNPQRSTVWX", 20);
    CHECK(!code_normalize((wh_str_t){big, sizeof big}, out));
    CHECK(code_normalize((wh_str_t){big, CODE_MAX_INPUT}, out));
    const char nul[] = "ABCDEFGHJKMNPQRSTVW\0X";
    CHECK(!code_normalize((wh_str_t){nul, sizeof nul - 1}, out));
}

static void test_hash(void)
{
    char h1[65], h2[65], h3[65];
    code_hash("01ARZ3NDEKTSV4RRFFQ69G5FAV", "ABCDEFGHJKMNPQRSTVWX", h1);
    code_hash("01ARZ3NDEKTSV4RRFFQ69G5FAW", "ABCDEFGHJKMNPQRSTVWX", h2);
    code_hash("01ARZ3NDEKTSV4RRFFQ69G5FAV", "ABCDEFGHJKMNPQRSTVWX", h3);
    CHECK_INT(strlen(h1), 64);
    CHECK(strcmp(h1, h2) != 0); /* bound to the survey */
    CHECK_STR(h1, h3);
    char want[65];
    const char in[] = "01ARZ3NDEKTSV4RRFFQ69G5FAV:ABCDEFGHJKMNPQRSTVWX";
    wh_sha256_hex(in, sizeof in - 1, want);
    CHECK_STR(h1, want);
}

/* ---- definitions ------------------------------------------------------------ */

static wh_buf_t buf;
static wh_msg_t msg;

static const msgpack_object *field(const char *k)
{
    return wh_msg_get(msg.root, k);
}

/* Builds {languages: [de], dimensions: [d], questions: [q over d with the
 * scale], units: n_units in a chain (each the child of the one before)}. */
static void build(int min, int max, int n_units, bool cycle)
{
    wh_buf_init(&buf);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &buf);
    msgpack_pack_map(&pk, 4);
    wh_msg_pack_str(&pk, "languages");
    msgpack_pack_array(&pk, 1);
    wh_msg_pack_str(&pk, "de");
    wh_msg_pack_str(&pk, "dimensions");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 3);
    wh_msg_kv_str(&pk, "key", "d");
    wh_msg_pack_str(&pk, "title");
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_str(&pk, "de", "D");
    wh_msg_kv_bool(&pk, "higher_is_better", true);
    wh_msg_pack_str(&pk, "questions");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 4);
    wh_msg_kv_str(&pk, "key", "q");
    wh_msg_kv_str(&pk, "dimension", "d");
    wh_msg_pack_str(&pk, "text");
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_str(&pk, "de", "Q");
    wh_msg_pack_str(&pk, "scale");
    msgpack_pack_map(&pk, 2);
    wh_msg_kv_int(&pk, "min", min);
    wh_msg_kv_int(&pk, "max", max);
    wh_msg_pack_str(&pk, "units");
    msgpack_pack_array(&pk, (size_t)n_units);
    for (int i = 0; i < n_units; i++) {
        char key[16], parent[16];
        snprintf(key, sizeof key, "u%d", i);
        snprintf(parent, sizeof parent, "u%d", i ? i - 1 : n_units - 1);
        msgpack_pack_map(&pk, 3);
        wh_msg_kv_str(&pk, "key", key);
        wh_msg_kv_str(&pk, "name", key);
        wh_msg_kv_str(&pk, "parent", i || cycle ? parent : NULL);
    }
    CHECK_INT(wh_msg_decode(buf.data, buf.len, &msg), 0);
}

static void done(void)
{
    wh_msg_close(&msg);
    wh_buf_close(&buf);
}

/* Parses the built definition; returns the pointer of the first error or
 * "" when it parsed. */
static const char *parse(survey_def_t *d, wh_reply_t *rep)
{
    static char ptr[128];
    ptr[0] = '\0';
    if (def_parse(d, field("languages"), field("dimensions"), field("questions"), field("units"),
                  rep))
        return ptr;
    wh_reply_invalid(rep);
    /* The errors buffer holds one map per error; the first one's pointer. */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&up, rep->errors.data, rep->errors.len, &off) ==
          MSGPACK_UNPACK_SUCCESS);
    wh_msg_copy_str(wh_msg_get(&up.data, "pointer"), ptr, sizeof ptr);
    msgpack_unpacked_destroy(&up);
    return ptr;
}

static void test_definition_limits(void)
{
    survey_def_t d;
    wh_reply_t rep;
    wh_reply_init(&rep);
    build(0, 100, DEF_MAX_UNIT_DEPTH, false);
    CHECK_STR(parse(&d, &rep), "");
    CHECK_INT(d.n_units, DEF_MAX_UNIT_DEPTH);
    CHECK_INT(d.units[DEF_MAX_UNIT_DEPTH - 1].depth, DEF_MAX_UNIT_DEPTH);
    CHECK(def_unit_within(&d, DEF_MAX_UNIT_DEPTH - 1, 0));
    CHECK(!def_unit_within(&d, 0, 1));
    /* The stored form reads back to the same definition. */
    wh_buf_t stored;
    wh_buf_init(&stored);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &stored);
    def_pack(&d, &pk);
    survey_def_t back;
    CHECK_INT(def_load(&back, stored.data, stored.len), 0);
    CHECK_INT(back.n_units, d.n_units);
    CHECK_INT(back.questions[0].max, 100);
    CHECK(wh_str_eq(back.units[3].key, "u3") && back.units[3].parent == 2);
    def_close(&back);
    def_close(&d);
    CHECK_INT(def_load(&back, "\xc1", 1), WH_EPROTO);
    wh_buf_close(&stored);
    done();

    wh_reply_reset(&rep);
    build(0, 101, 0, false);
    CHECK_STR(parse(&d, &rep), "/questions/0/scale/max");
    done();
    wh_reply_reset(&rep);
    build(3, 3, 0, false);
    CHECK_STR(parse(&d, &rep), "/questions/0/scale/max");
    done();
    wh_reply_reset(&rep);
    build(1, 5, DEF_MAX_UNIT_DEPTH + 1, false);
    CHECK_STR(parse(&d, &rep), "/units/8/parent");
    done();
    wh_reply_reset(&rep);
    build(1, 5, 3, true);
    CHECK_STR(parse(&d, &rep), "/units/0/parent");
    done();
    wh_reply_close(&rep);
}

/* Addresses for delivery "email": the same rule as the notifications
 * service's, so that nothing the surveys service accepts is refused there. */
static void test_address(void)
{
    CHECK(wh_valid_email("anna@example.org", 16));
    CHECK(wh_valid_email("a.b+c@x.y.de", 12));
    CHECK(!wh_valid_email("anna", 4));
    CHECK(!wh_valid_email("anna@localhost", 14)); /* no dot in the domain */
    CHECK(!wh_valid_email("@example.org", 12));
    CHECK(!wh_valid_email("a@@example.org", 14));
    CHECK(!wh_valid_email("a b@example.org", 15));
    CHECK(!wh_valid_email("a@example.org\r\nBcc: x@y.z", 25));
    CHECK(!wh_valid_email("<a@example.org>", 15));
    CHECK(!wh_valid_email("a@example.org.", 14));
    char big[CODES_MAX_ADDRESS + 2];
    memset(big, 'a', sizeof big);
    memcpy(big + sizeof big - 8, "@x.de.de", 8);
    CHECK(wh_valid_email(big + 2, sizeof big - 2));  /* exactly the limit */
    CHECK(!wh_valid_email(big + 1, sizeof big - 1)); /* one more */
}

/* The QR code of a slip: a square SVG with a quiet zone, one stroke per run
 * of dark modules, and the three finder patterns (7 dark modules in the
 * first row at both corners). */
static void test_qr_svg(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    char link[128];
    CHECK(sheet_link("https://wh.example.org", "01J00000000000000000000000",
                     "ABCDE-FGHJK-MNPQR-STVWX", link, sizeof link));
    CHECK_STR(link,
              "https://wh.example.org/s/01J00000000000000000000000?c=ABCDE-FGHJK-MNPQR-STVWX");
    CHECK(!sheet_link("https://wh.example.org", "01J00000000000000000000000", "X", link, 20));
    CHECK_INT(sheet_qr_svg(&b, link), 0);
    wh_buf_putc(&b, '\0');
    int size = 0;
    CHECK(sscanf(strstr(b.data, "viewBox=\"0 0 "), "viewBox=\"0 0 %d", &size) == 1);
    CHECK((size - 8 - 17) % 4 == 0 && size >= 8 + 21); /* version v: 17 + 4v modules */
    CHECK(strstr(b.data, "d=\"M4 4.5h7m") != NULL);
    const char *row2 = strstr(b.data, "M4 5.5h1m5 0h1m");
    CHECK(row2 && strncmp(row2 - 2, "h7", 2) == 0);
    CHECK(strstr(b.data, "</svg>") != NULL);
    wh_buf_close(&b);
}

int main(void)
{
    TEST(test_code_shape);
    TEST(test_normalize);
    TEST(test_hash);
    TEST(test_definition_limits);
    TEST(test_address);
    TEST(test_qr_svg);
    return 0;
}
