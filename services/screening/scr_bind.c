#include "scr_bind.h"

void scr_bind_str(sqlite3_stmt *st, int idx, wh_str_t v)
{
    if (v.p)
        sqlite3_bind_text(st, idx, v.p, (int)v.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

void scr_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}
