/* Rendering a page of a list: {"items": [...], "next_cursor": id | null}.
 * Rows are packed into a scratch buffer because the array header needs the
 * count, known only after the last row. The query asks for limit + 1 rows;
 * the extra row only says that there is a next page.
 *
 * A page also ends at WH_LIST_MAX_BYTES of packed rows, whatever the limit:
 * a reply travels as one ZeroMQ message of at most WH_MSG_MAX_BYTES, and a
 * bigger one would cost the service its connection to the gateway. The row
 * that crosses the budget is taken back and becomes the first of the next
 * page, unless it is alone on the page (a page always makes progress; a row
 * too big for any reply is left to the dispatcher's reply-size check).
 *
 * A list handler:
 *     wh_list_t list;
 *     bool ok = wh_list_start(&list, c->req, c->rep);    ?limit=, ?cursor=
 *     ok = wh_param_enum(c->req, c->rep, "state", states, NULL, &state) && ok;
 *     if (!ok)
 *         return;                                        the dispatcher answers 422
 *     sqlite3_stmt *st = wh_list_query(&list, c, SQL);   ?1 cursor, ?2 limit + 1, ?3 scope
 *     wh_stmt_bind_text(st, 4, wh_param_value(states, state));
 *     while ((pk = wh_list_next(&list, st, 0)))          the id in column 0
 *         pack_row(pk, st);
 *     wh_list_finish(&list, c->rep); */
#ifndef WH_LIST_H
#define WH_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"
#include "id.h"
#include "reply.h"
#include "valid.h"

#define WH_LIST_MAX_BYTES (1024 * 1024) /* packed rows on one page */

typedef struct wh_list {
    wh_buf_t rows;
    msgpack_packer pk;
    int64_t n, limit;
    size_t budget; /* WH_LIST_MAX_BYTES; tests may lower it */
    size_t mark;   /* rows.len before the last row */
    bool more;
    char last[WH_ID_LEN + 1];
    char prev[WH_ID_LEN + 1]; /* the cursor if the last row is taken back */
    wh_page_t page;           /* from wh_list_start */
    bool keep_ids;            /* wh_list_keep_ids */
    wh_buf_t ids;             /* the ids on the page, comma-separated */
    size_t ids_mark;          /* ids.len before the last row */
} wh_list_t;

void wh_list_init(wh_list_t *l, int64_t limit);
/* The packer for the next row with this id (the cursor if it is the last),
 * or NULL once the page is full, by count or by bytes. */
msgpack_packer *wh_list_row(wh_list_t *l, const char *id);
/* Writes the page as the reply's 200 body and frees the scratch buffer. */
void wh_list_finish(wh_list_t *l, wh_reply_t *rep);
/* Frees the page without replying, for a handler that fails after listing. */
void wh_list_close(wh_list_t *l);

/* Reads ?limit= and ?cursor= (wh_valid_page) and starts the page; false
 * after reporting a bad value to rep. Allocates nothing until the first row. */
bool wh_list_start(wh_list_t *l, const wh_request_t *req, wh_reply_t *rep);
/* The cached statement of sql with a list query's usual parameters bound:
 * ?1 the cursor, ?2 limit + 1 (the extra row says that there is a next
 * page), ?3 the principal's organisations (wh_request_bind_scope). The
 * handler binds its filters from ?4. NULL if the SQL does not prepare. */
sqlite3_stmt *wh_list_query(wh_list_t *l, wh_ctx_t *c, const char *sql);
/* For a query laid out otherwise: the cursor at ?idx, limit + 1 at ?idx+1. */
void wh_list_bind_page(const wh_list_t *l, sqlite3_stmt *st, int idx);
/* Steps st to its next row and returns the packer for it (the row's id is
 * in column id_col); NULL, with st reset, when the rows or the page end. */
msgpack_packer *wh_list_next(wh_list_t *l, sqlite3_stmt *st, int id_col);

/* Keeps the ids of the rows on the page, for an audit of the read. */
void wh_list_keep_ids(wh_list_t *l);
/* Ends the page (a row over the byte budget goes back, as wh_list_finish
 * would) and returns the ids of its rows, comma-separated ("" for none, NULL
 * if memory ran out), with their count in *n. */
const char *wh_list_ids(wh_list_t *l, int64_t *n);

#endif
