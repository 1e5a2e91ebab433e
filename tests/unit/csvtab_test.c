/* proto/csvtab.c: CSV in, the same cells out of the decoded table; errors
 * name the row and column; every limit accepted at its value and refused one
 * past it. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "csvtab.h"
#include "err.h"
#include "msg.h"

static wh_buf_t table;
static wh_msg_t msg;
static csvtab_t tab;

static int load(const char *csv, size_t len, csvtab_error_t *err)
{
    wh_buf_init(&table);
    int rc = csvtab_encode(csv, len, &table, err);
    if (rc != 0) {
        CHECK_INT(table.len, 0);
        wh_buf_close(&table);
        return rc;
    }
    CHECK_INT(wh_msg_decode(table.data, table.len, &msg), 0);
    CHECK_INT(csvtab_decode(msg.root, &tab), 0);
    return 0;
}

static void unload(void)
{
    csvtab_close(&tab);
    wh_msg_close(&msg);
    wh_buf_close(&table);
}

static void check_cell(int row, int col, const char *want)
{
    wh_str_t s = csvtab_cell(&tab, row, col);
    if (s.n != strlen(want) || memcmp(s.p, want, s.n) != 0) {
        fprintf(stderr, "cell %d/%d is \"%.*s\", expected \"%s\"\n", row, col, (int)s.n, s.p, want);
        exit(1);
    }
}

static void test_round_trip(void)
{
    static const char csv[] = "\xef\xbb\xbf"
                              "org_id,unit,days\r\n"
                              "o1,\"Nord, Team \"\"A\"\"\",12\r\n"
                              "o1,S\xc3\xbc"
                              "d,\n"
                              "o2,\"tab\tinside\",12\n";
    csvtab_error_t err;
    CHECK_INT(load(csv, sizeof csv - 1, &err), 0);
    CHECK_INT(tab.n_cols, 3);
    CHECK_INT(tab.n_rows, 3);
    CHECK_INT(csvtab_column(&tab, "org_id"), 0);
    CHECK_INT(csvtab_column(&tab, "days"), 2);
    CHECK_INT(csvtab_column(&tab, "nope"), -1);
    check_cell(0, 0, "o1");
    check_cell(0, 1, "Nord, Team \"A\"");
    check_cell(0, 2, "12");
    check_cell(1, 1,
               "S\xc3\xbc"
               "d");
    check_cell(1, 2, "");
    check_cell(2, 0, "o2");
    check_cell(2, 1, "tab\tinside");
    /* Repeated cells share one dictionary entry. */
    CHECK_INT(tab.n_dict[0], 2);
    CHECK_INT(tab.n_dict[2], 2);
    unload();
}

static void test_header_only(void)
{
    csvtab_error_t err;
    CHECK_INT(load("a,b\n", 4, &err), 0);
    CHECK_INT(tab.n_rows, 0);
    CHECK_INT(tab.n_cols, 2);
    unload();
}

static void expect_error(const char *csv, int rc, const char *pointer)
{
    csvtab_error_t err;
    CHECK_INT(load(csv, strlen(csv), &err), rc);
    CHECK_STR(err.pointer, pointer);
    CHECK(err.detail[0] != '\0');
}

static void test_malformed(void)
{
    expect_error("", WH_EINVAL, "/header");
    expect_error("a,b\n1,2\n3\n", WH_EINVAL, "/rows/1");
    expect_error("a,b\n1,2,3\n", WH_EINVAL, "/rows/0");
    expect_error("a,b\n1,\"2\n", WH_EINVAL, "/rows/0/b");
    expect_error("a,b\n1,\"2\"x\n", WH_EINVAL, "/rows/0/b");
    expect_error("a,b\n1,2\"\n", WH_EINVAL, "/rows/0/b");
    expect_error("a,b\n1,2\r3,4\n", WH_EINVAL, "/rows/0");
    expect_error("a,b/c\n1,\x01\n", WH_EINVAL, "/rows/0/b~1c");
    expect_error("a,b\n1,\"two\nlines\"\n", WH_EINVAL, "/rows/0/b");
    expect_error("a,b\n\xff,1\n", WH_EINVAL, "/rows/0/a");
    expect_error("a,b\n\xed\xa0\x80,1\n", WH_EINVAL, "/rows/0/a"); /* a surrogate */
}

static void test_limits(void)
{
    csvtab_error_t err;
    /* Columns: CSVTAB_MAX_COLUMNS fit, one more does not. */
    char line[256] = "";
    for (int i = 0; i < CSVTAB_MAX_COLUMNS; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%sc%d", i ? "," : "", i);
    CHECK_INT(load(line, strlen(line), &err), 0);
    CHECK_INT(tab.n_cols, CSVTAB_MAX_COLUMNS);
    unload();
    strcat(line, ",extra");
    expect_error(line, WH_ELIMIT, "/header");

    /* A field of CSVTAB_MAX_FIELD_BYTES fits, one byte more does not. */
    char big[CSVTAB_MAX_FIELD_BYTES + 32];
    strcpy(big, "a\n");
    memset(big + 2, 'x', CSVTAB_MAX_FIELD_BYTES);
    big[2 + CSVTAB_MAX_FIELD_BYTES] = '\0';
    CHECK_INT(load(big, strlen(big), &err), 0);
    CHECK_INT((int)csvtab_cell(&tab, 0, 0).n, CSVTAB_MAX_FIELD_BYTES);
    unload();
    strcat(big, "x");
    expect_error(big, WH_ELIMIT, "/rows/0/a");

    /* CSVTAB_MAX_ROWS rows fit, one more does not. */
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, "n,unit\n");
    for (int i = 0; i < CSVTAB_MAX_ROWS; i++)
        wh_buf_printf(&b, "%d,u%d\n", i, i % 50);
    CHECK_INT(load(b.data, b.len, &err), 0);
    CHECK_INT(tab.n_rows, CSVTAB_MAX_ROWS);
    CHECK_INT(tab.n_dict[1], 50);
    check_cell(CSVTAB_MAX_ROWS - 1, 0, "99999");
    check_cell(CSVTAB_MAX_ROWS - 1, 1, "u49");
    /* The whole table fits a message with room to spare. */
    CHECK(table.len < WH_MSG_MAX_BYTES / 2);
    unload();
    wh_buf_puts(&b, "x,y\n");
    CHECK_INT(load(b.data, b.len, &err), WH_ELIMIT);
    CHECK_STR(err.pointer, "/rows/100000");
    wh_buf_close(&b);
}

/* A table from the wire is checked again: codes past the dictionary,
 * truncated entries, rows over the limit. */
static void test_decode_hostile(void)
{
    static const struct {
        const char *dict, *codes;
        size_t dict_n, codes_n;
        int64_t rows;
        int rc;
    } cases[] = {
        {"\x01"
         "a",
         "\x00", 2, 1, 1, 0},
        {"\x01"
         "a",
         "\x01", 2, 1, 1, WH_EPROTO}, /* code past the dictionary */
        {"\x05"
         "a",
         "\x00", 2, 1, 1, WH_EPROTO}, /* entry longer than its bytes */
        {"\x01"
         "a",
         "\x00\x00", 2, 2, 1, WH_EPROTO}, /* trailing codes */
        {"\x01"
         "a",
         "\x00", 2, 1, CSVTAB_MAX_ROWS + 1, WH_ELIMIT},
        {"", "\x80", 0, 1, 1, WH_EPROTO}, /* truncated varint */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wh_buf_t b;
        wh_buf_init(&b);
        msgpack_packer pk;
        wh_msg_writer_init(&pk, &b);
        msgpack_pack_map(&pk, 4);
        wh_msg_pack_str(&pk, "columns");
        msgpack_pack_array(&pk, 1);
        wh_msg_pack_str(&pk, "a");
        wh_msg_kv_int(&pk, "rows", cases[i].rows);
        wh_msg_pack_str(&pk, "dict");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_bin(&pk, cases[i].dict_n);
        msgpack_pack_bin_body(&pk, cases[i].dict, cases[i].dict_n);
        wh_msg_pack_str(&pk, "codes");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_bin(&pk, cases[i].codes_n);
        msgpack_pack_bin_body(&pk, cases[i].codes, cases[i].codes_n);
        wh_msg_t m;
        CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
        csvtab_t t;
        int rc = csvtab_decode(m.root, &t);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %zu\n", i);
        CHECK_INT(rc, cases[i].rc);
        if (rc == 0)
            csvtab_close(&t);
        wh_msg_close(&m);
        wh_buf_close(&b);
    }
}

int main(void)
{
    TEST(test_round_trip);
    TEST(test_header_only);
    TEST(test_malformed);
    TEST(test_limits);
    TEST(test_decode_hostile);
    return 0;
}
