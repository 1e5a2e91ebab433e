#include "csvtab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* One parsed field: its unescaped bytes in the scratch buffer. */
typedef struct field {
    uint32_t off;
    uint32_t len;
} field_t;

/* A cell while its column is sorted into the dictionary. */
typedef struct cell {
    const char *p;
    uint32_t len;
    uint32_t row;
} cell_t;

typedef struct parser {
    const char *s;
    size_t len, pos;
    char *scratch; /* unescaped fields; never longer than the input */
    size_t scratch_len;
    field_t *fields; /* row-major, n_cols per data row after the header */
    size_t n_fields, cap_fields;
    int n_cols;
    csvtab_error_t *err;
} parser_t;

static void pointer_escape(char *out, size_t cap, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        if (p[i] == '~' || p[i] == '/') {
            out[o++] = '~';
            out[o++] = p[i] == '~' ? '0' : '1';
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
}

__attribute__((format(printf, 5, 6))) static int fail(parser_t *ps, int rc, int row, int column,
                                                      const char *fmt, ...)
{
    csvtab_error_t *e = ps->err;
    e->row = row;
    e->column = column;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    if (row < 0) {
        snprintf(e->pointer, sizeof e->pointer, "/header");
    } else if (column < 0 || column >= ps->n_cols) {
        snprintf(e->pointer, sizeof e->pointer, "/rows/%d", row);
    } else {
        char name[3 * CSVTAB_MAX_FIELD_BYTES];
        const field_t *h = &ps->fields[column];
        pointer_escape(name, sizeof name, ps->scratch + h->off, h->len);
        snprintf(e->pointer, sizeof e->pointer, "/rows/%d/%s", row, name);
    }
    return rc;
}

/* Length of the UTF-8 sequence at p (n bytes available), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t k;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, min = 0x10000;
    else
        return 0;
    if (k > n)
        return 0;
    unsigned cp = c & (0xff >> (k + 1));
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

/* UTF-8 without control characters other than tab. */
static bool text_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
            return false;
        size_t k = utf8_seq(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

static int push_field(parser_t *ps, uint32_t off, uint32_t len)
{
    if (ps->n_fields == ps->cap_fields) {
        size_t cap = ps->cap_fields ? ps->cap_fields * 2 : 256;
        field_t *f = realloc(ps->fields, cap * sizeof *f);
        if (!f)
            return WH_ENOMEM;
        ps->fields = f;
        ps->cap_fields = cap;
    }
    ps->fields[ps->n_fields++] = (field_t){off, len};
    return 0;
}

/* Parses one record (the header when row is -1) and appends its fields. */
static int parse_record(parser_t *ps, int row)
{
    int column = 0;
    for (;;) {
        if (column >= CSVTAB_MAX_COLUMNS)
            return fail(ps, WH_ELIMIT, row, -1, "more than %d fields", CSVTAB_MAX_COLUMNS);
        size_t start = ps->scratch_len;
        if (ps->pos < ps->len && ps->s[ps->pos] == '"') {
            ps->pos++;
            for (;;) {
                if (ps->pos >= ps->len)
                    return fail(ps, WH_EINVAL, row, column, "a quoted field is not closed");
                char ch = ps->s[ps->pos++];
                if (ch == '"') {
                    if (ps->pos < ps->len && ps->s[ps->pos] == '"') {
                        ps->pos++;
                    } else {
                        break;
                    }
                }
                ps->scratch[ps->scratch_len++] = ch;
            }
            if (ps->pos < ps->len && ps->s[ps->pos] != ',' && ps->s[ps->pos] != '\n' &&
                ps->s[ps->pos] != '\r')
                return fail(ps, WH_EINVAL, row, column,
                            "a quoted field goes on after its closing quote");
        } else {
            while (ps->pos < ps->len) {
                char ch = ps->s[ps->pos];
                if (ch == ',' || ch == '\n' || ch == '\r')
                    break;
                if (ch == '"')
                    return fail(ps, WH_EINVAL, row, column,
                                "a quote inside a field that does not start with one");
                ps->scratch[ps->scratch_len++] = ch;
                ps->pos++;
            }
        }
        size_t n = ps->scratch_len - start;
        if (n > CSVTAB_MAX_FIELD_BYTES)
            return fail(ps, WH_ELIMIT, row, column, "longer than %d bytes", CSVTAB_MAX_FIELD_BYTES);
        if (!text_ok(ps->scratch + start, n))
            return fail(ps, WH_EINVAL, row, column,
                        "not UTF-8 text (or a control character other than tab)");
        int rc = push_field(ps, (uint32_t)start, (uint32_t)n);
        if (rc)
            return rc;
        column++;
        if (ps->pos >= ps->len)
            break;
        char ch = ps->s[ps->pos++];
        if (ch == ',')
            continue;
        if (ch == '\r') {
            if (ps->pos >= ps->len || ps->s[ps->pos] != '\n')
                return fail(ps, WH_EINVAL, row, -1, "a carriage return without a line feed");
            ps->pos++;
        }
        break;
    }
    if (row < 0) {
        ps->n_cols = column;
    } else if (column != ps->n_cols) {
        return fail(ps, WH_EINVAL, row, -1, "%d fields where the header has %d", column,
                    ps->n_cols);
    }
    return 0;
}

static int cell_cmp(const void *a, const void *b)
{
    const cell_t *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static void put_varint(wh_buf_t *b, uint32_t v)
{
    unsigned char tmp[5];
    int n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    wh_buf_append(b, tmp, (size_t)n);
}

static void pack_bin(msgpack_packer *pk, const wh_buf_t *b)
{
    msgpack_pack_bin(pk, b->len);
    msgpack_pack_bin_body(pk, b->data ? b->data : "", b->len);
}

/* Packs the parsed fields as the table. */
static int pack_table(parser_t *ps, int n_rows, wh_buf_t *out)
{
    int rc = 0;
    cell_t *cells = n_rows ? malloc((size_t)n_rows * sizeof *cells) : NULL;
    uint32_t *codes = n_rows ? malloc((size_t)n_rows * sizeof *codes) : NULL;
    wh_buf_t dicts[CSVTAB_MAX_COLUMNS], codebufs[CSVTAB_MAX_COLUMNS];
    for (int c = 0; c < ps->n_cols; c++) {
        wh_buf_init(&dicts[c]);
        wh_buf_init(&codebufs[c]);
    }
    size_t total = 0;
    if (n_rows && (!cells || !codes)) {
        rc = WH_ENOMEM;
        goto done;
    }
    for (int c = 0; c < ps->n_cols; c++) {
        for (int r = 0; r < n_rows; r++) {
            const field_t *f = &ps->fields[(size_t)(r + 1) * (size_t)ps->n_cols + (size_t)c];
            cells[r] = (cell_t){ps->scratch + f->off, f->len, (uint32_t)r};
        }
        if (n_rows > 1)
            qsort(cells, (size_t)n_rows, sizeof *cells, cell_cmp);
        uint32_t code = 0;
        for (int i = 0; i < n_rows; i++) {
            if (i == 0 || cell_cmp(&cells[i - 1], &cells[i]) != 0) {
                if (i > 0)
                    code++;
                put_varint(&dicts[c], cells[i].len);
                wh_buf_append(&dicts[c], cells[i].p, cells[i].len);
            }
            codes[cells[i].row] = code;
        }
        for (int r = 0; r < n_rows; r++)
            put_varint(&codebufs[c], codes[r]);
        if (wh_buf_failed(&dicts[c]) || wh_buf_failed(&codebufs[c])) {
            rc = WH_ENOMEM;
            goto done;
        }
        total += dicts[c].len + codebufs[c].len;
        if (dicts[c].len > WH_MSG_MAX_STR || codebufs[c].len > WH_MSG_MAX_STR ||
            total > CSVTAB_MAX_TABLE_BYTES) {
            rc = fail(ps, WH_ELIMIT, -1, -1,
                      "too many distinct values: the table would exceed %d bytes",
                      CSVTAB_MAX_TABLE_BYTES);
            snprintf(ps->err->pointer, sizeof ps->err->pointer, "/rows");
            goto done;
        }
    }
    size_t mark = out->len;
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    msgpack_pack_map(&pk, 4);
    wh_msg_pack_str(&pk, "columns");
    msgpack_pack_array(&pk, (size_t)ps->n_cols);
    for (int c = 0; c < ps->n_cols; c++)
        wh_msg_pack_strn(&pk, ps->scratch + ps->fields[c].off, ps->fields[c].len);
    wh_msg_kv_int(&pk, "rows", n_rows);
    wh_msg_pack_str(&pk, "dict");
    msgpack_pack_array(&pk, (size_t)ps->n_cols);
    for (int c = 0; c < ps->n_cols; c++)
        pack_bin(&pk, &dicts[c]);
    wh_msg_pack_str(&pk, "codes");
    msgpack_pack_array(&pk, (size_t)ps->n_cols);
    for (int c = 0; c < ps->n_cols; c++)
        pack_bin(&pk, &codebufs[c]);
    if (wh_buf_failed(out)) {
        out->len = mark;
        rc = WH_ENOMEM;
    }
done:
    for (int c = 0; c < ps->n_cols; c++) {
        wh_buf_close(&dicts[c]);
        wh_buf_close(&codebufs[c]);
    }
    free(cells);
    free(codes);
    return rc;
}

int csvtab_encode(const char *csv, size_t len, wh_buf_t *out, csvtab_error_t *err)
{
    parser_t ps = {.s = csv, .len = len, .err = err};
    memset(err, 0, sizeof *err);
    if (len >= 3 && memcmp(csv, "\xef\xbb\xbf", 3) == 0)
        ps.pos = 3;
    if (len > UINT32_MAX)
        return fail(&ps, WH_ELIMIT, -1, -1, "the file is too large");
    ps.scratch = malloc(len ? len : 1);
    if (!ps.scratch)
        return WH_ENOMEM;
    int rc;
    if (ps.pos >= len) {
        rc = fail(&ps, WH_EINVAL, -1, -1, "the file is empty: a header line is required");
        goto done;
    }
    if ((rc = parse_record(&ps, -1)) != 0)
        goto done;
    int rows = 0;
    while (ps.pos < len) {
        if (rows == CSVTAB_MAX_ROWS) {
            rc = fail(&ps, WH_ELIMIT, rows, -1, "more than %d rows", CSVTAB_MAX_ROWS);
            goto done;
        }
        if ((rc = parse_record(&ps, rows)) != 0)
            goto done;
        rows++;
    }
    rc = pack_table(&ps, rows, out);
done:
    free(ps.scratch);
    free(ps.fields);
    return rc;
}

/* --- decoding ---------------------------------------------------------------- */

static bool get_varint(const unsigned char **p, const unsigned char *end, uint32_t *out)
{
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (*p >= end)
            return false;
        unsigned char b = *(*p)++;
        if (shift == 28 && (b & 0x70))
            return false;
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static const msgpack_object *array_of(const msgpack_object *map, const char *key, uint32_t n)
{
    const msgpack_object *a = wh_msg_get(map, key);
    if (!a || a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != n)
        return NULL;
    return a;
}

void csvtab_close(csvtab_t *t)
{
    for (int c = 0; c < CSVTAB_MAX_COLUMNS; c++) {
        free(t->dict[c]);
        free(t->codes[c]);
        t->dict[c] = NULL;
        t->codes[c] = NULL;
    }
}

static int decode_column(csvtab_t *t, int c, const msgpack_object *dict,
                         const msgpack_object *codes)
{
    /* Every row's code takes at least one byte: a shorter blob is refused
     * before anything is allocated for the rows it claims. */
    if (dict->type != MSGPACK_OBJECT_BIN || codes->type != MSGPACK_OBJECT_BIN ||
        codes->via.bin.size < (uint32_t)t->n_rows)
        return WH_EPROTO;
    const unsigned char *p = (const unsigned char *)dict->via.bin.ptr;
    const unsigned char *end = p + dict->via.bin.size;
    /* Every entry takes at least one byte, so the bytes bound the count. */
    size_t cap = dict->via.bin.size;
    if (cap > (size_t)t->n_rows)
        cap = (size_t)t->n_rows;
    t->dict[c] = malloc((cap ? cap : 1) * sizeof *t->dict[c]);
    t->codes[c] = malloc((t->n_rows ? (size_t)t->n_rows : 1) * sizeof *t->codes[c]);
    if (!t->dict[c] || !t->codes[c])
        return WH_ENOMEM;
    uint32_t n = 0;
    while (p < end) {
        uint32_t len;
        if (n == cap || !get_varint(&p, end, &len) || len > CSVTAB_MAX_FIELD_BYTES ||
            len > (size_t)(end - p))
            return WH_EPROTO;
        t->dict[c][n++] = (wh_str_t){(const char *)p, len};
        p += len;
    }
    t->n_dict[c] = n;
    p = (const unsigned char *)codes->via.bin.ptr;
    end = p + codes->via.bin.size;
    for (int r = 0; r < t->n_rows; r++) {
        uint32_t code;
        if (!get_varint(&p, end, &code) || code >= n)
            return WH_EPROTO;
        t->codes[c][r] = code;
    }
    return p == end ? 0 : WH_EPROTO;
}

int csvtab_decode(const msgpack_object *o, csvtab_t *t)
{
    memset(t, 0, sizeof *t);
    if (!o || o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 4)
        return WH_EPROTO;
    const msgpack_object *cols = wh_msg_get(o, "columns");
    int64_t rows;
    if (!cols || cols->type != MSGPACK_OBJECT_ARRAY || !wh_msg_int(wh_msg_get(o, "rows"), &rows))
        return WH_EPROTO;
    if (cols->via.array.size < 1 || cols->via.array.size > CSVTAB_MAX_COLUMNS || rows < 0 ||
        rows > CSVTAB_MAX_ROWS)
        return WH_ELIMIT;
    t->n_cols = (int)cols->via.array.size;
    t->n_rows = (int)rows;
    const msgpack_object *dict = array_of(o, "dict", cols->via.array.size);
    const msgpack_object *codes = array_of(o, "codes", cols->via.array.size);
    if (!dict || !codes)
        return WH_EPROTO;
    int rc = 0;
    for (int c = 0; c < t->n_cols && rc == 0; c++) {
        const msgpack_object *name = &cols->via.array.ptr[c];
        if (name->type != MSGPACK_OBJECT_STR || name->via.str.size > CSVTAB_MAX_FIELD_BYTES)
            rc = WH_EPROTO;
        else
            t->names[c] = (wh_str_t){name->via.str.ptr, name->via.str.size};
        if (rc == 0)
            rc = decode_column(t, c, &dict->via.array.ptr[c], &codes->via.array.ptr[c]);
    }
    if (rc)
        csvtab_close(t);
    return rc;
}

int csvtab_column(const csvtab_t *t, const char *name)
{
    for (int c = 0; c < t->n_cols; c++)
        if (wh_str_eq(t->names[c], name))
            return c;
    return -1;
}
