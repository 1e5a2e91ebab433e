/* The body of an HTML form's POST (application/x-www-form-urlencoded)
 * decoded into name/value pairs: `+` is a space, %XX a byte. Every size and
 * count is bounded by the limits below and checked before anything is
 * decoded; a decoded NUL, a malformed %-escape or a crossed limit refuses
 * the whole body. It does not know what the fields mean, and it never logs
 * (a form carries participation codes and answers). */
#ifndef GATEWAY_FORM_H
#define GATEWAY_FORM_H

#include <stddef.h>

#define FORM_MAX_BYTES       (64 * 1024) /* the whole body */
#define FORM_MAX_FIELDS      256         /* name=value pairs */
#define FORM_MAX_NAME_BYTES  128         /* one decoded name */
#define FORM_MAX_VALUE_BYTES 1024        /* one decoded value */

typedef struct form_field {
    const char *name; /* NUL-terminated, decoded */
    const char *value;
} form_field_t;

/* Embedded by the caller: form_parse() fills it, form_close() frees it. */
typedef struct form {
    size_t n;
    form_field_t fields[FORM_MAX_FIELDS];
    char *storage;
    size_t storage_len; /* its bytes, zeroed when closed: they hold a code and answers */
} form_t;

/* 0 with f filled; WH_ELIMIT when a limit above is crossed, WH_EINVAL for a
 * malformed body, WH_ENOMEM. On error f holds nothing (form_close is still
 * safe). Empty pairs (`a=1&&b=2`) are skipped; a name without `=` has the
 * value "". */
int form_parse(const char *body, size_t len, form_t *f);
/* The first value given for name, or NULL. */
const char *form_get(const form_t *f, const char *name);
void form_close(form_t *f);

#endif
