/* A CSV file as a msgpack table, for the bulk imports that arrive as
 * text/csv: the gateway parses the CSV (RFC 4180: fields separated by
 * commas, optionally in double quotes with "" for a quote inside, lines
 * ended by CRLF or LF) and forwards the table; the owning service decodes
 * it and validates the cells. It knows nothing of what the columns mean.
 *
 * Why not an array of rows: a message may hold WH_MSG_MAX_ITEMS values and
 * WH_MSG_MAX_BYTES bytes, and 100,000 rows of seven cells are 700,000 values
 * and, spelled out, more bytes than that. Each column is instead two binary
 * values: its distinct cells (each a varint length and the bytes, sorted)
 * and, per row, a varint index into them. Employer, unit, period and
 * chapter repeat on almost every row, so a typical import shrinks to a
 * fifth of its CSV:
 *
 *   {"columns": [name, ...], "rows": N, "dict": [bin, ...], "codes": [bin, ...]}
 *
 * Every count and length the encoder accepts is bounded by the limits
 * below, and the decoder checks the same bounds again (the table arrives
 * over the wire). Text must be UTF-8 without control characters other than
 * tab; a UTF-8 byte order mark at the start is skipped. */
#ifndef WH_CSVTAB_H
#define WH_CSVTAB_H

#include <msgpack.h>
#include <stdint.h>

#include "buf.h"
#include "msg.h"

#define CSVTAB_MAX_ROWS        100000 /* data rows after the header */
#define CSVTAB_MAX_COLUMNS     16
#define CSVTAB_MAX_FIELD_BYTES 256 /* bytes of one cell or column name */
/* The table's columns together, so that it travels in one message
 * (WH_MSG_MAX_BYTES) beside the envelope: only a file with mostly distinct
 * cells comes near it. */
#define CSVTAB_MAX_TABLE_BYTES (WH_MSG_MAX_BYTES - 256 * 1024)

/* Where the encoder stopped. row is the data row (0 for the first after
 * the header), -1 for the header; column the field's place in its row, -1
 * for the row as a whole; pointer the same as a JSON pointer into the
 * table, naming the column by its header ("/rows/17/days"). */
typedef struct csvtab_error {
    int row;
    int column;
    char pointer[3 * CSVTAB_MAX_FIELD_BYTES + 32]; /* "/rows/17/days", "/header" */
    char detail[160];
} csvtab_error_t;

/* Parses csv into the table above, appended to out. 0, WH_EINVAL for
 * malformed CSV, WH_ELIMIT for a crossed limit (err says where and why in
 * both cases), WH_ENOMEM. On error nothing is appended. */
int csvtab_encode(const char *csv, size_t len, wh_buf_t *out, csvtab_error_t *err);

/* A decoded table; its strings point into the message it was decoded from. */
typedef struct csvtab {
    int n_cols;
    int n_rows;
    wh_str_t names[CSVTAB_MAX_COLUMNS];
    wh_str_t *dict[CSVTAB_MAX_COLUMNS];
    uint32_t n_dict[CSVTAB_MAX_COLUMNS];
    uint32_t *codes[CSVTAB_MAX_COLUMNS];
} csvtab_t;

/* Decodes and checks a table. 0, WH_EPROTO when malformed, WH_ELIMIT,
 * WH_ENOMEM; on error t needs no close. */
int csvtab_decode(const msgpack_object *o, csvtab_t *t);
void csvtab_close(csvtab_t *t);

static inline wh_str_t csvtab_cell(const csvtab_t *t, int row, int col)
{
    return t->dict[col][t->codes[col][row]];
}

/* The column of that name, or -1. */
int csvtab_column(const csvtab_t *t, const char *name);

#endif
