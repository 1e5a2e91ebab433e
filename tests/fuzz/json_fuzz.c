/* The one-pass parser and jansson must agree: whatever the one-pass parser
 * accepts, jansson accepts with the same msgpack bytes, and what it hands
 * over it leaves no output behind.
 *
 * JSON text -> msgpack -> JSON -> msgpack must give the same msgpack twice.
 * That holds only if parsing accepts what rendering produces and rendering
 * loses nothing the parser kept: key order, integer versus float, every bit
 * of a double, every code point. Inputs the parser rejects must be rejected
 * without a crash or leak, which the sanitizers check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "err.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, int rc)
{
    fprintf(stderr, "json_fuzz: %s (%d %s)\n", what, rc, wh_strerror(rc));
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wh_buf_t first, text, second;
    wh_json_error_t err;
    msgpack_unpacked u;
    size_t off = 0;
    int rc;

    wh_buf_init(&first);
    wh_buf_init(&text);
    wh_buf_init(&second);
    msgpack_unpacked_init(&u);

    wh_buf_t fast, slow;
    wh_buf_init(&fast);
    wh_buf_init(&slow);
    int frc = wh_json_to_msgpack_fast((const char *)data, size, &fast);
    int src = wh_json_to_msgpack_jansson((const char *)data, size, &slow, &err);
    if (frc != 0 && (frc != WH_EAGAIN || fast.len != 0))
        fail("the one-pass parser failed other than by handing over", frc);
    if (frc == 0 && src != 0)
        fail("the one-pass parser accepted what jansson refuses", src);
    if (frc == 0 && (fast.len != slow.len || memcmp(fast.data, slow.data, fast.len) != 0))
        fail("the one-pass parser and jansson give different msgpack", 0);
    wh_buf_close(&fast);
    wh_buf_close(&slow);

    rc = wh_json_to_msgpack((const char *)data, size, &first, &err);
    if (rc != 0) {
        if (rc != WH_EJSON && rc != WH_ELIMIT)
            fail("unexpected error from the parser", rc);
        if (first.len != 0)
            fail("output left behind after an error", rc);
        goto done;
    }
    if (msgpack_unpack_next(&u, first.data, first.len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != first.len)
        fail("own msgpack does not unpack as one object", 0);
    if ((rc = wh_json_from_msgpack(&u.data, &text)) != 0)
        fail("rendering own msgpack", rc);
    if ((rc = wh_json_to_msgpack(text.data, text.len, &second, &err)) != 0) {
        fprintf(stderr, "rendered: %s\nerror at %d:%d: %s\n", text.data, err.line, err.column,
                err.text);
        fail("rendered JSON does not parse", rc);
    }
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
        fprintf(stderr, "rendered: %s\n", text.data);
        fail("msgpack differs after a round trip", 0);
    }

done:
    msgpack_unpacked_destroy(&u);
    wh_buf_close(&first);
    wh_buf_close(&text);
    wh_buf_close(&second);
    return 0;
}
