/* The headers every page the gateway sends carries (HTML, and the CSS,
 * JavaScript and images the pages load): a strict Content-Security-Policy
 * with no inline script or style and nothing from another origin, no
 * framing, no referrer, no sniffing. Pages and their tests rely on these
 * exact values; a page that needs more asks here, in one place. */
#ifndef WH_PAGEHDR_H
#define WH_PAGEHDR_H

#include "http.h"

#define WH_PAGE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/* For the headers of one page response: WH_PAGE_HEADERS, then any of its own. */
#define WH_PAGE_HEADERS                                                                            \
    {"Content-Security-Policy", WH_PAGE_CSP}, {"X-Content-Type-Options", "nosniff"},               \
        {"Referrer-Policy", "no-referrer"}, {"X-Frame-Options", "DENY"},                           \
        {"Cross-Origin-Opener-Policy", "same-origin"},                                             \
        {"Cross-Origin-Resource-Policy", "same-origin"},                                           \
    {                                                                                              \
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"       \
    }
#define WH_PAGE_HEADERS_N 7

#endif
