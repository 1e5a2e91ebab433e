/* Rendering a page of a list: {"items": [...], "next_cursor": id | null}.
 * Rows are packed into a scratch buffer because the array header needs the
 * count, known only after the last row. The query asks for limit + 1 rows;
 * the extra row only says that there is a next page. */
#ifndef WH_LIST_H
#define WH_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"
#include "reply.h"

typedef struct wh_list {
    wh_buf_t rows;
    msgpack_packer pk;
    int64_t n, limit;
    bool more;
    char last[WH_ID_LEN + 1];
} wh_list_t;

void wh_list_init(wh_list_t *l, int64_t limit);
/* The packer for the next row with this id (the cursor if it is the last),
 * or NULL once the page is full. */
msgpack_packer *wh_list_row(wh_list_t *l, const char *id);
/* Writes the page as the reply's 200 body and frees the scratch buffer. */
void wh_list_finish(wh_list_t *l, wh_reply_t *rep);

#endif
