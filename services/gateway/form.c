#include "form.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

int form_parse(const char *body, size_t len, form_t *f)
{
    f->n = 0;
    f->storage = NULL;
    if (len > FORM_MAX_BYTES)
        return WH_ELIMIT;
    /* Count the pairs before allocating: each takes its bytes plus two NULs. */
    size_t pairs = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && body[e] != '&')
            e++;
        pairs += e > i;
        i = e + 1;
    }
    if (pairs > FORM_MAX_FIELDS)
        return WH_ELIMIT;
    f->storage_len = len + 2 * pairs + 1;
    if (!(f->storage = malloc(f->storage_len)))
        return WH_ENOMEM;
    char *out = f->storage;
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0;) {
        size_t e = i;
        while (e < len && body[e] != '&')
            e++;
        if (e > i) {
            size_t eq = i;
            while (eq < e && body[eq] != '=')
                eq++;
            size_t name_n = eq - i, value_n = eq < e ? e - eq - 1 : 0;
            form_field_t *fd = &f->fields[f->n];
            long dn, dv;
            fd->name = out;
            if ((dn = wh_pct_decode(body + i, name_n, true, out)) < 0) {
                rc = WH_EINVAL;
                break;
            }
            out += dn + 1;
            fd->value = out;
            if ((dv = wh_pct_decode(body + eq + (eq < e), value_n, true, out)) < 0) {
                rc = WH_EINVAL;
                break;
            }
            out += dv + 1;
            if (dn == 0)
                rc = WH_EINVAL; /* "=value": a value without a name */
            else if (dn > FORM_MAX_NAME_BYTES || dv > FORM_MAX_VALUE_BYTES)
                rc = WH_ELIMIT;
            else
                f->n++;
        }
        i = e + 1;
    }
    if (rc != 0)
        form_close(f);
    return rc;
}

const char *form_get(const form_t *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return f->fields[i].value;
    return NULL;
}

void form_close(form_t *f)
{
    if (f->storage)
        explicit_bzero(f->storage, f->storage_len);
    free(f->storage);
    f->storage = NULL;
    f->n = 0;
}
