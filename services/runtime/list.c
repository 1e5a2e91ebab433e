#include "list.h"

#include <stdio.h>
#include <string.h>

void wh_list_init(wh_list_t *l, int64_t limit)
{
    wh_buf_init(&l->rows);
    wh_msg_writer_init(&l->pk, &l->rows);
    l->n = 0;
    l->limit = limit;
    l->budget = WH_LIST_MAX_BYTES;
    l->mark = 0;
    l->more = false;
    l->last[0] = '\0';
    l->prev[0] = '\0';
    l->page = (wh_page_t){.limit = limit};
    l->keep_ids = false;
    wh_buf_init(&l->ids);
    l->ids_mark = 0;
}

/* Ends the page if the rows packed so far are over the budget: the last row
 * goes back (it starts the next page) unless it is the only one. */
static bool over_budget(wh_list_t *l)
{
    if (l->rows.len <= l->budget)
        return false;
    if (l->n > 1) {
        l->rows.len = l->mark;
        l->rows.data[l->rows.len] = '\0';
        l->n--;
        snprintf(l->last, sizeof l->last, "%s", l->prev);
        if (l->keep_ids && !wh_buf_failed(&l->ids)) {
            l->ids.len = l->ids_mark;
            if (l->ids.data)
                l->ids.data[l->ids.len] = '\0';
        }
    }
    l->more = true;
    return true;
}

msgpack_packer *wh_list_row(wh_list_t *l, const char *id)
{
    if (l->more || over_budget(l))
        return NULL;
    if (l->n == l->limit) {
        l->more = true;
        return NULL;
    }
    l->mark = l->rows.len;
    snprintf(l->prev, sizeof l->prev, "%s", l->last);
    snprintf(l->last, sizeof l->last, "%s", id ? id : "");
    l->n++;
    if (l->keep_ids) {
        l->ids_mark = l->ids.len;
        if (l->n > 1)
            wh_buf_putc(&l->ids, ',');
        wh_buf_append(&l->ids, l->last, strlen(l->last));
    }
    return &l->pk;
}

void wh_list_finish(wh_list_t *l, wh_reply_t *rep)
{
    if (!l->more)
        over_budget(l);
    msgpack_packer *pk = wh_reply_ok(rep, 200);
    msgpack_pack_map(pk, 2);
    wh_msg_pack_str(pk, "items");
    msgpack_pack_array(pk, (size_t)l->n);
    wh_buf_append(&rep->body, l->rows.data, l->rows.len);
    wh_msg_kv_str(pk, "next_cursor", l->more ? l->last : NULL);
    wh_list_close(l);
}

void wh_list_close(wh_list_t *l)
{
    wh_buf_close(&l->rows);
    wh_buf_close(&l->ids);
}

bool wh_list_start(wh_list_t *l, const wh_request_t *req, wh_reply_t *rep)
{
    wh_page_t page;
    bool ok = wh_valid_page(req, rep, &page);
    wh_list_init(l, page.limit);
    l->page = page;
    return ok;
}

void wh_list_bind_page(const wh_list_t *l, sqlite3_stmt *st, int idx)
{
    wh_stmt_bind_str(st, idx, l->page.cursor);
    sqlite3_bind_int64(st, idx + 1, l->page.limit + 1);
}

sqlite3_stmt *wh_list_query(wh_list_t *l, wh_ctx_t *c, const char *sql)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, sql);
    if (!st)
        return NULL;
    wh_list_bind_page(l, st, 1);
    wh_request_bind_scope(st, 3, c->req);
    return st;
}

msgpack_packer *wh_list_next(wh_list_t *l, sqlite3_stmt *st, int id_col)
{
    msgpack_packer *pk = NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        pk = wh_list_row(l, (const char *)sqlite3_column_text(st, id_col));
    if (!pk && st)
        sqlite3_reset(st);
    return pk;
}

void wh_list_keep_ids(wh_list_t *l)
{
    l->keep_ids = true;
}

const char *wh_list_ids(wh_list_t *l, int64_t *n)
{
    if (!l->more)
        over_budget(l);
    *n = l->n;
    if (wh_buf_failed(&l->ids))
        return NULL;
    return l->ids.data ? l->ids.data : "";
}
