#include "list.h"

#include <stdio.h>

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
    wh_buf_close(&l->rows);
}
