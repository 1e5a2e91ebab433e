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
 * too big for any reply is left to the dispatcher's reply-size check). */
#ifndef WH_LIST_H
#define WH_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"
#include "reply.h"

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
} wh_list_t;

void wh_list_init(wh_list_t *l, int64_t limit);
/* The packer for the next row with this id (the cursor if it is the last),
 * or NULL once the page is full, by count or by bytes. */
msgpack_packer *wh_list_row(wh_list_t *l, const char *id);
/* Writes the page as the reply's 200 body and frees the scratch buffer. */
void wh_list_finish(wh_list_t *l, wh_reply_t *rep);

#endif
