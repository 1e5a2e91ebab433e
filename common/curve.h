/* CurveZMQ on tcp links between the services and the gateway's broker
 * (ARCHITECTURE.md, "Links between hosts"). The broker has a server key
 * pair, each service its own; a ZAP handler in the broker's context admits
 * only the listed service public keys and names the peer after the service
 * its key is listed for (the ZAP user id), so that a key admits registration
 * as that service alone. ipc links on one host use no keys. */
#ifndef WH_CURVE_H
#define WH_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define WH_CURVE_Z85_LEN     40 /* a key in Z85 text */
#define WH_CURVE_MAX_ALLOWED 64 /* entries of WH_CURVE_ALLOWED_KEYS */
#define WH_CURVE_MAX_NAMES   16 /* service names the allow-list may use */
#define WH_CURVE_NAME_MAX    32 /* a service name, with its NUL */

typedef struct wh_curve_peer {
    char name[WH_CURVE_NAME_MAX];
    uint8_t key[32];
} wh_curve_peer_t;

typedef struct wh_curve {
    int on; /* 0: no CURVE (ipc, or tcp under WH_BROKER_INSECURE=1) */
    char secret[WH_CURVE_Z85_LEN + 1];
    char public_key[WH_CURVE_Z85_LEN + 1];
    char server_public[WH_CURVE_Z85_LEN + 1]; /* a service: the broker's key */
    char dir[WH_PATH_MAX];                    /* key files */
    /* The broker: names a key may be listed for, and the listed keys. */
    const char *names[WH_CURVE_MAX_NAMES];
    int n_names;
    wh_curve_peer_t allowed[WH_CURVE_MAX_ALLOWED];
    int n_allowed;
    int allowed_from_env; /* WH_CURVE_ALLOWED_KEYS given: key files not read */
} wh_curve_t;

/* 1 when the endpoint is tcp:// (the links CURVE protects). */
int wh_curve_is_tcp(const char *endpoint);

/* The own key pair: from secret_z85 when not NULL, else <dir>/<name>.key,
 * generated with <dir>/<name>.pub (both mode 0600) when absent. */
int wh_curve_own_pair(wh_curve_t *c, const char *dir, const char *name, const char *secret_z85);

/* Parses "name:KEY name:KEY ..." (separated by spaces, commas or new lines)
 * into c->allowed; each name must be one of c->names. */
int wh_curve_parse_allowed(wh_curve_t *c, const char *list);

/* The broker's side: for a tcp endpoint, its pair and the allow-list from
 * cfg (or c->on = 0 under WH_BROKER_INSECURE=1); nothing for ipc. names
 * are the service names keys may be listed for. */
int wh_curve_setup_server(const wh_config_t *cfg, const char *const *names, int n_names,
                          wh_curve_t *c);
/* A service's side: its pair and the broker's public key; refused (with a
 * logged reason) for a tcp endpoint without the broker's key. */
int wh_curve_setup_client(const wh_config_t *cfg, const char *service, wh_curve_t *c);

/* Socket options before bind/connect; nothing when c->on is 0. */
int wh_curve_apply_server(void *sock, const wh_curve_t *c);
int wh_curve_apply_client(void *sock, const wh_curve_t *c);

/* The ZAP decision: 1 and the service name in user when the mechanism is
 * CURVE and the key is listed, else 0. */
int wh_curve_admit(const wh_curve_t *c, const char *mechanism, size_t mech_len, const uint8_t *key,
                   size_t key_len, char user[WH_CURVE_NAME_MAX]);

/* A ZAP handler (ZMQ RFC 27) on inproc://zeromq.zap.01 of zctx, in a thread
 * of its own. It must start before the socket it guards binds, and ends when
 * zctx is terminated; then call wh_zap_join. c must outlive it. */
typedef struct wh_zap wh_zap_t;
int wh_zap_start(void *zctx, const wh_curve_t *c, wh_zap_t **out);
void wh_zap_join(wh_zap_t **z);

#endif
