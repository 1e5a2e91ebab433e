/* Fuzz target for the form body parser: any bytes are a form body, and
 * form_parse must answer without crashing and keep its invariants: on
 * success at most FORM_MAX_FIELDS fields, each name non-empty and within
 * FORM_MAX_NAME_BYTES, each value within FORM_MAX_VALUE_BYTES, none longer
 * than the body; on error nothing is kept. A broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    form_t f;
    int rc = form_parse((const char *)data, size, &f);
    if (rc != 0) {
        if (f.n != 0 || f.storage != NULL)
            abort();
        return 0;
    }
    if (f.n > FORM_MAX_FIELDS)
        abort();
    for (size_t i = 0; i < f.n; i++) {
        size_t nn = strlen(f.fields[i].name), nv = strlen(f.fields[i].value);
        if (nn == 0 || nn > FORM_MAX_NAME_BYTES || nv > FORM_MAX_VALUE_BYTES || nn + nv > size)
            abort();
        if (form_get(&f, f.fields[i].name) == NULL)
            abort();
    }
    form_close(&f);
    return 0;
}
