/* CSV -> table -> decoded table: what the encoder accepts, the decoder must
 * accept with the same shape, and every cell must be UTF-8 within the field
 * limit. The same bytes are also tried as a table from the wire, which the
 * decoder must refuse or accept without a crash or leak (the sanitizers
 * check). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvtab.h"
#include "err.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, int rc)
{
    fprintf(stderr, "csvtab_fuzz: %s (%d %s)\n", what, rc, wh_strerror(rc));
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wh_buf_t b;
    wh_buf_init(&b);
    csvtab_error_t err;
    int rc = csvtab_encode((const char *)data, size, &b, &err);
    if (rc != 0) {
        if (rc != WH_EINVAL && rc != WH_ELIMIT)
            fail("unexpected error from the encoder", rc);
        if (b.len != 0 || err.pointer[0] != '/')
            fail("an error without a pointer, or output left behind", rc);
    } else {
        wh_msg_t m;
        csvtab_t t;
        if ((rc = wh_msg_decode(b.data, b.len, &m)) != 0)
            fail("own table does not decode as msgpack", rc);
        if ((rc = csvtab_decode(m.root, &t)) != 0)
            fail("own table refused by the decoder", rc);
        for (int r = 0; r < t.n_rows; r++)
            for (int c = 0; c < t.n_cols; c++)
                if (csvtab_cell(&t, r, c).n > CSVTAB_MAX_FIELD_BYTES)
                    fail("a cell over the field limit", 0);
        csvtab_close(&t);
        wh_msg_close(&m);
    }
    wh_buf_close(&b);

    wh_msg_t m;
    if (wh_msg_decode((const char *)data, size, &m) == 0) {
        csvtab_t t;
        if (csvtab_decode(m.root, &t) == 0)
            csvtab_close(&t);
        wh_msg_close(&m);
    }
    return 0;
}
