/* Binding a string (NULL as SQL NULL) without a copy, unlike
 * wh_stmt_bind_*: for values that stay where they are until the statement
 * is reset (the request's body, the caller's stack). A copy is a malloc and
 * a free, for each of the ten strings a result's insert binds. */
#ifndef SCREENING_SCR_BIND_H
#define SCREENING_SCR_BIND_H

#include <sqlite3.h>

#include "msg.h"

void scr_bind_str(sqlite3_stmt *st, int idx, wh_str_t v);
void scr_bind_text(sqlite3_stmt *st, int idx, const char *v);

#endif
