/* The static files of the pages (HTML, CSS, JavaScript, images), read once
 * at start from one directory into memory and served under /assets/.
 *
 * The directory is WH_PAGES_DIR, else `pages` beside the gateway binary (the
 * build directory), else `../share/workhealth/pages` from it (an installed
 * tree, the container image). Only regular files directly in it whose names
 * are [A-Za-z0-9._-] and whose extension is known are loaded; at most
 * ASSETS_MAX_FILES files and ASSETS_MAX_BYTES bytes in all, or the gateway
 * does not start. Each is answered with its type, an ETag and the page
 * security headers (pagehdr.h). */
#ifndef GATEWAY_ASSETS_H
#define GATEWAY_ASSETS_H

#include <stddef.h>

#define ASSETS_PREFIX         "/assets/"
#define ASSETS_MAX_FILES      256
#define ASSETS_MAX_BYTES      (16u << 20)
#define ASSETS_MAX_NAME_BYTES 64

typedef struct asset {
    char name[ASSETS_MAX_NAME_BYTES + 1];
    const char *content_type;
    char etag[20]; /* "\"" + 16 hex + "\"" */
    char *data;
    size_t len;
} asset_t;

typedef struct assets assets_t;

/* 0, or -1 with a reason in why (the directory is missing or a limit is
 * crossed). dir NULL: the default places above. */
int assets_load(const char *dir, assets_t **out, char *why, size_t why_len);
/* The file called name (no slashes), or NULL. */
const asset_t *assets_find(const assets_t *a, const char *name);
size_t assets_count(const assets_t *a);
/* The directory the files came from. */
const char *assets_dir(const assets_t *a);
void assets_free(assets_t **a);

#endif
