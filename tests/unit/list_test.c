/* services/runtime/list.c: a page of rows as {"items": [...], "next_cursor": id|null}
 * from a query that asked for limit + 1 rows, ended early at the byte
 * budget. */
#include <string.h>

#include "check.h"
#include "list.h"

static void page(int rows, int limit, wh_reply_t *rep, wh_msg_t *m)
{
    static const char *const ids[] = {"01AAAAAAAAAAAAAAAAAAAAAAAA", "01BBBBBBBBBBBBBBBBBBBBBBBB",
                                      "01CCCCCCCCCCCCCCCCCCCCCCCC", "01DDDDDDDDDDDDDDDDDDDDDDDD"};
    wh_list_t l;
    wh_list_init(&l, limit);
    int packed = 0;
    for (int i = 0; i < rows; i++) {
        msgpack_packer *pk = wh_list_row(&l, ids[i]);
        if (!pk) {
            /* Only the extra row is refused, and the query stops there. */
            CHECK_INT(i, limit);
            break;
        }
        msgpack_pack_map(pk, 1);
        wh_msg_kv_str(pk, "id", ids[i]);
        packed++;
    }
    CHECK_INT(packed, rows < limit ? rows : limit);
    wh_reply_init(rep);
    wh_list_finish(&l, rep);
    CHECK_INT(rep->status, 200);
    CHECK(rep->has_body);
    CHECK_INT(wh_msg_decode(rep->body.data, rep->body.len, m), 0);
    CHECK_INT(m->root->via.map.size, 2);
}

static void test_full_page_with_more(void)
{
    wh_reply_t rep;
    wh_msg_t m;
    page(3, 2, &rep, &m); /* limit + 1 rows came back */
    const msgpack_object *items = wh_msg_get(m.root, "items");
    CHECK_INT(items->via.array.size, 2);
    CHECK(wh_msg_str_eq(wh_msg_get(&items->via.array.ptr[0], "id"), "01AAAAAAAAAAAAAAAAAAAAAAAA"));
    CHECK(wh_msg_str_eq(wh_msg_get(&items->via.array.ptr[1], "id"), "01BBBBBBBBBBBBBBBBBBBBBBBB"));
    /* The cursor is the last row shown, not the extra one. */
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "next_cursor"), "01BBBBBBBBBBBBBBBBBBBBBBBB"));
    wh_msg_close(&m);
    wh_reply_close(&rep);
}

static void test_last_page(void)
{
    wh_reply_t rep;
    wh_msg_t m;
    /* Exactly limit rows: no extra row, so no next page. */
    page(2, 2, &rep, &m);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 2);
    CHECK(wh_msg_is_nil(wh_msg_get(m.root, "next_cursor")));
    wh_msg_close(&m);
    wh_reply_close(&rep);
    page(1, 50, &rep, &m);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 1);
    CHECK(wh_msg_is_nil(wh_msg_get(m.root, "next_cursor")));
    wh_msg_close(&m);
    wh_reply_close(&rep);
}

static void test_empty(void)
{
    wh_reply_t rep;
    wh_msg_t m;
    page(0, 50, &rep, &m);
    const msgpack_object *items = wh_msg_get(m.root, "items");
    CHECK_INT(items->type, MSGPACK_OBJECT_ARRAY);
    CHECK_INT(items->via.array.size, 0);
    CHECK(wh_msg_is_nil(wh_msg_get(m.root, "next_cursor")));
    wh_msg_close(&m);
    wh_reply_close(&rep);
}

static void test_finish_replaces_body(void)
{
    /* A body written before (by mistake) does not leak into the page. */
    wh_reply_t rep;
    wh_reply_init(&rep);
    msgpack_pack_int(wh_reply_ok(&rep, 201), 7);
    wh_list_t l;
    wh_list_init(&l, 5);
    msgpack_pack_int(wh_list_row(&l, "01X"), 1);
    wh_list_finish(&l, &rep);
    CHECK_INT(rep.status, 200);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(rep.body.data, rep.body.len, &m), 0);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 1);
    wh_msg_close(&m);
    wh_reply_close(&rep);
}

/* Rows of 100 bytes each against a 250-byte budget. */
static void budget_page(int rows, int limit, wh_list_t *l, wh_reply_t *rep, wh_msg_t *m)
{
    static const char *const ids[] = {"01AAAAAAAAAAAAAAAAAAAAAAAA", "01BBBBBBBBBBBBBBBBBBBBBBBB",
                                      "01CCCCCCCCCCCCCCCCCCCCCCCC", "01DDDDDDDDDDDDDDDDDDDDDDDD"};
    char pad[100];
    memset(pad, 'x', sizeof pad);
    wh_list_init(l, limit);
    l->budget = 250;
    for (int i = 0; i < rows; i++) {
        msgpack_packer *pk = wh_list_row(l, ids[i]);
        if (!pk)
            break;
        msgpack_pack_bin(pk, sizeof pad - 2);
        msgpack_pack_bin_body(pk, pad, sizeof pad - 2);
    }
    wh_reply_init(rep);
    wh_list_finish(l, rep);
    CHECK_INT(rep->status, 200);
    CHECK_INT(wh_msg_decode(rep->body.data, rep->body.len, m), 0);
}

static void test_byte_budget(void)
{
    wh_list_t l;
    wh_reply_t rep;
    wh_msg_t m;
    /* The third row crosses the budget: it is taken back and starts the
     * next page, whatever the limit. */
    budget_page(4, 500, &l, &rep, &m);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 2);
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "next_cursor"), "01BBBBBBBBBBBBBBBBBBBBBBBB"));
    wh_msg_close(&m);
    wh_reply_close(&rep);
    /* The same when the crossing row is the last the query gave. */
    budget_page(3, 500, &l, &rep, &m);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 2);
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "next_cursor"), "01BBBBBBBBBBBBBBBBBBBBBBBB"));
    wh_msg_close(&m);
    wh_reply_close(&rep);
    /* At the budget and no more: a plain last page. */
    budget_page(2, 500, &l, &rep, &m);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 2);
    CHECK(wh_msg_is_nil(wh_msg_get(m.root, "next_cursor")));
    wh_msg_close(&m);
    wh_reply_close(&rep);
}

static void test_row_over_budget_alone(void)
{
    /* A row bigger than the whole budget still makes a page of its own,
     * so that paging always moves on. */
    wh_list_t l;
    wh_list_init(&l, 50);
    l.budget = 10;
    char pad[64] = {0};
    msgpack_packer *pk = wh_list_row(&l, "01AAAAAAAAAAAAAAAAAAAAAAAA");
    msgpack_pack_bin(pk, sizeof pad);
    msgpack_pack_bin_body(pk, pad, sizeof pad);
    CHECK(wh_list_row(&l, "01BBBBBBBBBBBBBBBBBBBBBBBB") == NULL);
    CHECK(wh_list_row(&l, "01CCCCCCCCCCCCCCCCCCCCCCCC") == NULL);
    wh_reply_t rep;
    wh_reply_init(&rep);
    wh_list_finish(&l, &rep);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(rep.body.data, rep.body.len, &m), 0);
    CHECK_INT(wh_msg_get(m.root, "items")->via.array.size, 1);
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "next_cursor"), "01AAAAAAAAAAAAAAAAAAAAAAAA"));
    wh_msg_close(&m);
    wh_reply_close(&rep);
}

static void test_budget_leaves_room(void)
{
    /* The page's budget is well inside what one reply may carry. */
    CHECK(WH_LIST_MAX_BYTES * 2 <= WH_REPLY_MAX_BODY_BYTES);
    wh_list_t l;
    wh_list_init(&l, 5);
    CHECK_INT((int64_t)l.budget, WH_LIST_MAX_BYTES);
    wh_buf_close(&l.rows);
}

int main(void)
{
    TEST(test_full_page_with_more);
    TEST(test_last_page);
    TEST(test_empty);
    TEST(test_finish_replaces_body);
    TEST(test_byte_budget);
    TEST(test_row_over_budget_alone);
    TEST(test_budget_leaves_room);
    return 0;
}
