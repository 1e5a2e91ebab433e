#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "log.h"

#define KEY_FILE_MAX       128  /* bytes read from a key file */
#define BROKER_KEY_WAIT_MS 5000 /* a service waits this long for broker.pub */
#define BROKER_KEY_POLL_MS 100

int wh_curve_is_tcp(const char *endpoint)
{
    return endpoint && strncmp(endpoint, "tcp://", 6) == 0;
}

/* A Z85 key of exactly 40 characters, surrounding white space trimmed. */
static int z85_key(const char *text, size_t n, char out[WH_CURVE_Z85_LEN + 1], uint8_t raw[32])
{
    while (n && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r'))
        text++, n--;
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' ||
                 text[n - 1] == '\r'))
        n--;
    if (n != WH_CURVE_Z85_LEN)
        return WH_EINVAL;
    char z[WH_CURVE_Z85_LEN + 1];
    memcpy(z, text, n);
    z[n] = '\0';
    uint8_t tmp[32];
    if (!zmq_z85_decode(raw ? raw : tmp, z))
        return WH_EINVAL;
    if (out)
        memcpy(out, z, sizeof z);
    return 0;
}

static int read_key_file(const char *path, char out[WH_CURVE_Z85_LEN + 1])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? WH_ENOTFOUND : WH_EIO;
    char buf[KEY_FILE_MAX];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0)
        return WH_EIO;
    return z85_key(buf, (size_t)n, out, NULL);
}

/* Written whole under a temporary name, then put in place: a reader never
 * sees half a key. With exclusive, a file already there wins (WH_ECONFLICT):
 * two instances starting at once keep the same pair. */
static int write_key_file(const char *path, const char *z85, int exclusive)
{
    char tmp[WH_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return WH_EIO;
    char line[WH_CURVE_Z85_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", z85);
    int rc = write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : WH_EIO;
    close(fd);
    if (rc == 0) {
        if (exclusive)
            rc = link(tmp, path) == 0 ? 0 : errno == EEXIST ? WH_ECONFLICT : WH_EIO;
        else
            rc = rename(tmp, path) == 0 ? 0 : WH_EIO;
    }
    unlink(tmp);
    return rc;
}

static int key_path(char out[WH_PATH_MAX], const char *dir, const char *name, const char *ext)
{
    int n = snprintf(out, WH_PATH_MAX, "%s/%s.%s", dir, name, ext);
    return n < 0 || n >= WH_PATH_MAX ? WH_ELIMIT : 0;
}

int wh_curve_own_pair(wh_curve_t *c, const char *dir, const char *name, const char *secret_z85)
{
    if (secret_z85) {
        if (z85_key(secret_z85, strlen(secret_z85), c->secret, NULL) != 0) {
            wh_log_error("WH_CURVE_SECRET_KEY is not a 40-character Z85 key");
            return WH_EINVAL;
        }
    } else {
        char path[WH_PATH_MAX], pub[WH_PATH_MAX];
        if (key_path(path, dir, name, "key") || key_path(pub, dir, name, "pub"))
            return WH_ELIMIT;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            wh_log_error("cannot create key directory %s: %s", dir, strerror(errno));
            return WH_EIO;
        }
        int rc = read_key_file(path, c->secret);
        if (rc == WH_ENOTFOUND) {
            char unused[WH_CURVE_Z85_LEN + 1];
            if (zmq_curve_keypair(unused, c->secret) != 0)
                return WH_EIO;
            rc = write_key_file(path, c->secret, 1);
            if (rc == WH_ECONFLICT) /* another instance was first: its pair */
                rc = read_key_file(path, c->secret);
            else if (rc == 0)
                wh_log_info("generated CURVE key pair %s", path);
        }
        if (rc != 0) {
            wh_log_error("key file %s is unreadable or not a Z85 key", path);
            return rc;
        }
        if (zmq_curve_public(c->public_key, c->secret) != 0 ||
            write_key_file(pub, c->public_key, 0) != 0) {
            wh_log_error("cannot write %s: %s", pub, strerror(errno));
            return WH_EIO;
        }
        return 0;
    }
    if (zmq_curve_public(c->public_key, c->secret) != 0)
        return WH_EINVAL;
    return 0;
}

static int listed_name(const wh_curve_t *c, const char *name, size_t n)
{
    for (int i = 0; i < c->n_names; i++)
        if (strlen(c->names[i]) == n && memcmp(c->names[i], name, n) == 0)
            return i;
    return -1;
}

int wh_curve_parse_allowed(wh_curve_t *c, const char *list)
{
    c->n_allowed = 0;
    const char *p = list;
    for (;;) {
        p += strspn(p, " ,\t\r\n");
        if (!*p)
            return 0;
        size_t n = strcspn(p, " ,\t\r\n");
        const char *colon = memchr(p, ':', n);
        if (!colon) {
            wh_log_error("WH_CURVE_ALLOWED_KEYS: an entry is not service:KEY");
            return WH_EINVAL;
        }
        size_t name_len = (size_t)(colon - p);
        if (listed_name(c, p, name_len) < 0 || name_len >= WH_CURVE_NAME_MAX) {
            wh_log_error("WH_CURVE_ALLOWED_KEYS: an entry names no service");
            return WH_EINVAL;
        }
        if (c->n_allowed == WH_CURVE_MAX_ALLOWED) {
            wh_log_error("WH_CURVE_ALLOWED_KEYS: more than %d keys", WH_CURVE_MAX_ALLOWED);
            return WH_ELIMIT;
        }
        wh_curve_peer_t *e = &c->allowed[c->n_allowed];
        if (z85_key(colon + 1, n - name_len - 1, NULL, e->key) != 0) {
            wh_log_error("WH_CURVE_ALLOWED_KEYS: the key for %s is not a Z85 key",
                         c->names[listed_name(c, p, name_len)]);
            return WH_EINVAL;
        }
        memcpy(e->name, p, name_len);
        e->name[name_len] = '\0';
        c->n_allowed++;
        p += n;
    }
}

int wh_curve_setup_server(const wh_config_t *cfg, const char *const *names, int n_names,
                          wh_curve_t *c)
{
    memset(c, 0, sizeof *c);
    if (!wh_curve_is_tcp(cfg->broker_bind))
        return 0;
    if (cfg->broker_insecure) {
        wh_log_warn("WH_BROKER_INSECURE=1: the broker accepts any peer on %s without CURVE",
                    cfg->broker_bind);
        return 0;
    }
    c->on = 1;
    memcpy(c->dir, cfg->curve_dir, sizeof c->dir);
    if (n_names > WH_CURVE_MAX_NAMES)
        return WH_ELIMIT;
    for (int i = 0; i < n_names; i++)
        c->names[i] = names[i];
    c->n_names = n_names;
    if (wh_curve_own_pair(c, c->dir, "broker", cfg->curve_secret) != 0)
        return WH_EINVAL;
    if (cfg->curve_allowed) {
        if (wh_curve_parse_allowed(c, cfg->curve_allowed) != 0)
            return WH_EINVAL;
        c->allowed_from_env = 1;
        wh_log_info("CURVE on %s; %d service keys admitted", cfg->broker_bind, c->n_allowed);
    } else {
        wh_log_info("CURVE on %s; admitting the service keys in %s/<service>.pub", cfg->broker_bind,
                    c->dir);
    }
    return 0;
}

int wh_curve_setup_client(const wh_config_t *cfg, const char *service, wh_curve_t *c)
{
    memset(c, 0, sizeof *c);
    if (!wh_curve_is_tcp(cfg->broker_connect))
        return 0;
    if (cfg->broker_insecure) {
        wh_log_warn("WH_BROKER_INSECURE=1: plain tcp to %s without CURVE", cfg->broker_connect);
        return 0;
    }
    c->on = 1;
    memcpy(c->dir, cfg->curve_dir, sizeof c->dir);
    /* The own pair first: its public key is there to be listed even when
     * the broker's key is still missing. */
    if (wh_curve_own_pair(c, c->dir, service, cfg->curve_secret) != 0)
        return WH_EINVAL;
    if (cfg->broker_public) {
        if (z85_key(cfg->broker_public, strlen(cfg->broker_public), c->server_public, NULL)) {
            wh_log_error("WH_BROKER_PUBLIC_KEY is not a 40-character Z85 key");
            return WH_EINVAL;
        }
    } else {
        char path[WH_PATH_MAX];
        int rc = key_path(path, c->dir, "broker", "pub");
        /* Started with the gateway on one host: it may not have written
         * its key yet. */
        for (int waited = 0; rc == 0; waited += BROKER_KEY_POLL_MS) {
            rc = read_key_file(path, c->server_public);
            if (rc != WH_ENOTFOUND || waited >= BROKER_KEY_WAIT_MS)
                break;
            if (waited == 0)
                wh_log_info("waiting for the broker's public key in %s", path);
            usleep(BROKER_KEY_POLL_MS * 1000);
            rc = 0;
        }
        if (rc != 0) {
            wh_log_error("%s is tcp but the broker's public key is unknown: set "
                         "WH_BROKER_PUBLIC_KEY (or put it in %s), or WH_BROKER_INSECURE=1 "
                         "for plain tcp",
                         cfg->broker_connect, path);
            return WH_EINVAL;
        }
    }
    return 0;
}

int wh_curve_apply_server(void *sock, const wh_curve_t *c)
{
    if (!c->on)
        return 0;
    int on = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret, WH_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "workhealth", 10) != 0) {
        wh_log_error("cannot set CURVE server options: %s", zmq_strerror(errno));
        return WH_EIO;
    }
    return 0;
}

int wh_curve_apply_client(void *sock, const wh_curve_t *c)
{
    if (!c->on)
        return 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server_public, WH_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->public_key, WH_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret, WH_CURVE_Z85_LEN + 1) != 0) {
        wh_log_error("cannot set CURVE client options: %s", zmq_strerror(errno));
        return WH_EIO;
    }
    return 0;
}

int wh_curve_admit(const wh_curve_t *c, const char *mechanism, size_t mech_len, const uint8_t *key,
                   size_t key_len, char user[WH_CURVE_NAME_MAX])
{
    user[0] = '\0';
    if (!c->on || mech_len != 5 || memcmp(mechanism, "CURVE", 5) != 0 || key_len != 32)
        return 0;
    for (int i = 0; i < c->n_allowed; i++)
        if (memcmp(c->allowed[i].key, key, 32) == 0) {
            memcpy(user, c->allowed[i].name, WH_CURVE_NAME_MAX);
            return 1;
        }
    if (c->allowed_from_env)
        return 0;
    /* Without WH_CURVE_ALLOWED_KEYS: the public keys services generated into
     * the key directory they share with the broker, read at each handshake
     * so that a service started later is admitted. */
    for (int i = 0; i < c->n_names; i++) {
        char path[WH_PATH_MAX], z[WH_CURVE_Z85_LEN + 1];
        uint8_t raw[32];
        if (key_path(path, c->dir, c->names[i], "pub") != 0 || read_key_file(path, z) != 0 ||
            !zmq_z85_decode(raw, z))
            continue;
        if (memcmp(raw, key, 32) == 0) {
            snprintf(user, WH_CURVE_NAME_MAX, "%s", c->names[i]);
            return 1;
        }
    }
    return 0;
}

struct wh_zap {
    pthread_t thread;
    void *sock;
    const wh_curve_t *c;
};

static void *zap_run(void *arg)
{
    wh_zap_t *z = arg;
    for (;;) {
        /* version, request id, domain, address, routing id, mechanism,
         * credentials (RFC 27); CURVE has exactly one credential. */
        zmq_msg_t f[8];
        int n = 0, more = 1, failed = 0;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, z->sock, 0) < 0) {
                zmq_msg_close(&m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&f[i]);
                if (errno == EINTR && !failed)
                    goto next;
                zmq_close(z->sock);
                return NULL; /* ETERM: the context is ending */
            }
            more = zmq_msg_more(&m);
            if (n < 8)
                f[n++] = m;
            else {
                zmq_msg_close(&m);
                failed = 1;
            }
        }
        {
            char user[WH_CURVE_NAME_MAX] = "";
            int ok = !failed && n >= 6 && zmq_msg_size(&f[0]) == 3 &&
                     memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0;
            int admit = ok && n == 7 &&
                        wh_curve_admit(z->c, zmq_msg_data(&f[5]), zmq_msg_size(&f[5]),
                                       zmq_msg_data(&f[6]), zmq_msg_size(&f[6]), user);
            if (ok && !admit)
                wh_log_warn("refused a peer on the broker socket: its key is not listed");
            const char *status = admit ? "200" : ok ? "400" : "500";
            const char *text = admit ? "OK" : "Refused";
            size_t id_len = n >= 2 ? zmq_msg_size(&f[1]) : 0;
            zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE);
            zmq_send(z->sock, n >= 2 ? zmq_msg_data(&f[1]) : "", id_len, ZMQ_SNDMORE);
            zmq_send(z->sock, status, 3, ZMQ_SNDMORE);
            zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE);
            zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE);
            zmq_send(z->sock, "", 0, 0);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
        }
    next:;
    }
}

int wh_zap_start(void *zctx, const wh_curve_t *c, wh_zap_t **out)
{
    wh_zap_t *z = calloc(1, sizeof *z);
    if (!z)
        return WH_ENOMEM;
    z->c = c;
    z->sock = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    if (!z->sock)
        goto fail;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
        wh_log_error("cannot start the ZAP handler: %s", zmq_strerror(errno));
        zmq_close(z->sock);
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, zap_run, z) != 0) {
        zmq_close(z->sock);
        goto fail;
    }
    *out = z;
    return 0;
fail:
    free(z);
    return WH_EIO;
}

void wh_zap_join(wh_zap_t **z_p)
{
    wh_zap_t *z = *z_p;
    if (!z)
        return;
    pthread_join(z->thread, NULL);
    free(z);
    *z_p = NULL;
}
