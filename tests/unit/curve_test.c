/* common/curve.c: key pairs generated once (mode 0600) and read back, keys
 * from the environment, the allow-list's parsing and limits, the ZAP
 * decisions, the refusal of tcp without the broker's key, and a real CURVE
 * handshake through the ZAP handler: a listed key arrives named after its
 * service, an unknown key fails authentication. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "curve.h"
#include "err.h"

static char dir[64];
static const char *const names[] = {"agreements", "surveys"};

static void set_names(wh_curve_t *c)
{
    c->on = 1;
    c->names[0] = names[0];
    c->names[1] = names[1];
    c->n_names = 2;
    snprintf(c->dir, sizeof c->dir, "%s", dir);
}

static void test_generate_and_reload(void)
{
    wh_curve_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    char keys[128];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    CHECK_INT(wh_curve_own_pair(&a, keys, "surveys", NULL), 0);
    CHECK_INT((int)strlen(a.public_key), WH_CURVE_Z85_LEN);
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/surveys.key", keys);
    CHECK_INT(stat(p, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    snprintf(p, sizeof p, "%s/surveys.pub", keys);
    CHECK_INT(stat(p, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(stat(keys, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    /* The second start reads the same pair back. */
    CHECK_INT(wh_curve_own_pair(&b, keys, "surveys", NULL), 0);
    CHECK_STR(a.secret, b.secret);
    CHECK_STR(a.public_key, b.public_key);
    FILE *f = fopen(p, "r");
    char line[64] = "";
    CHECK(fgets(line, sizeof line, f) != NULL);
    fclose(f);
    CHECK(strncmp(line, a.public_key, WH_CURVE_Z85_LEN) == 0);
    /* A damaged key file stops the start instead of being replaced. */
    snprintf(p, sizeof p, "%s/surveys.key", keys);
    f = fopen(p, "w");
    fputs("not a key\n", f);
    fclose(f);
    CHECK(wh_curve_own_pair(&b, keys, "surveys", NULL) != 0);
}

static void test_secret_from_environment(void)
{
    char pub[41], sec[41];
    CHECK_INT(zmq_curve_keypair(pub, sec), 0);
    wh_curve_t c;
    memset(&c, 0, sizeof c);
    char with_newline[64];
    snprintf(with_newline, sizeof with_newline, " %s\n", sec);
    CHECK_INT(wh_curve_own_pair(&c, "/nonexistent/dir", "gateway", with_newline), 0);
    CHECK_STR(c.public_key, pub);
    CHECK(wh_curve_own_pair(&c, "/nonexistent/dir", "gateway", "short") != 0);
    sec[5] = '"'; /* not a Z85 character */
    CHECK(wh_curve_own_pair(&c, "/nonexistent/dir", "gateway", sec) != 0);
}

static void test_allowed_list(void)
{
    char p1[41], s1[41], p2[41], s2[41];
    zmq_curve_keypair(p1, s1);
    zmq_curve_keypair(p2, s2);
    wh_curve_t *c = calloc(1, sizeof *c);
    set_names(c);
    char list[256];
    snprintf(list, sizeof list, "  agreements:%s,\nsurveys:%s ", p1, p2);
    CHECK_INT(wh_curve_parse_allowed(c, list), 0);
    CHECK_INT(c->n_allowed, 2);
    CHECK_STR(c->allowed[1].name, "surveys");
    snprintf(list, sizeof list, "gateway:%s", p1);
    CHECK(wh_curve_parse_allowed(c, list) != 0); /* not a service */
    CHECK(wh_curve_parse_allowed(c, "agreements:short") != 0);
    CHECK(wh_curve_parse_allowed(c, p1) != 0); /* no name */
    CHECK_INT(wh_curve_parse_allowed(c, ""), 0);
    CHECK_INT(c->n_allowed, 0);
    /* Over the limit. */
    size_t cap = (WH_CURVE_MAX_ALLOWED + 1) * 64;
    char *big = malloc(cap);
    big[0] = '\0';
    for (int i = 0; i <= WH_CURVE_MAX_ALLOWED; i++) {
        strcat(big, "surveys:");
        strcat(big, p2);
        strcat(big, " ");
    }
    CHECK_INT(wh_curve_parse_allowed(c, big), WH_ELIMIT);
    free(big);
    free(c);
}

static void test_admit(void)
{
    char p1[41], s1[41], p2[41], s2[41];
    zmq_curve_keypair(p1, s1);
    zmq_curve_keypair(p2, s2);
    uint8_t k1[32], k2[32];
    zmq_z85_decode(k1, p1);
    zmq_z85_decode(k2, p2);
    wh_curve_t *c = calloc(1, sizeof *c);
    set_names(c);
    char list[128], user[WH_CURVE_NAME_MAX];
    snprintf(list, sizeof list, "agreements:%s", p1);
    CHECK_INT(wh_curve_parse_allowed(c, list), 0);
    c->allowed_from_env = 1;
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k1, 32, user), 1);
    CHECK_STR(user, "agreements");
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k2, 32, user), 0);
    CHECK_STR(user, "");
    CHECK_INT(wh_curve_admit(c, "NULL", 4, k1, 32, user), 0);
    CHECK_INT(wh_curve_admit(c, "PLAIN", 5, k1, 32, user), 0);
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k1, 31, user), 0);
    /* A key file in the directory counts only without the environment's list. */
    char path[256];
    snprintf(path, sizeof path, "%s/surveys.pub", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", p2);
    fclose(f);
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k2, 32, user), 0);
    c->allowed_from_env = 0;
    c->n_allowed = 0;
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k2, 32, user), 1);
    CHECK_STR(user, "surveys");
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k1, 32, user), 0);
    /* Off: nothing is admitted by the handler (it is not started). */
    c->on = 0;
    CHECK_INT(wh_curve_admit(c, "CURVE", 5, k2, 32, user), 0);
    unlink(path);
    free(c);
}

static void test_setup_refusals(void)
{
    wh_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.curve_dir, sizeof cfg.curve_dir, "%s/client", dir);
    snprintf(cfg.broker_connect, sizeof cfg.broker_connect, "ipc://%s/b.ipc", dir);
    wh_curve_t *c = calloc(1, sizeof *c);
    CHECK_INT(wh_curve_setup_client(&cfg, "surveys", c), 0);
    CHECK_INT(c->on, 0);
    snprintf(cfg.broker_connect, sizeof cfg.broker_connect, "tcp://127.0.0.1:1");
    CHECK(wh_curve_setup_client(&cfg, "surveys", c) != 0); /* no broker key */
    cfg.broker_public = "short";
    CHECK(wh_curve_setup_client(&cfg, "surveys", c) != 0);
    char pub[41], sec[41];
    zmq_curve_keypair(pub, sec);
    cfg.broker_public = pub;
    CHECK_INT(wh_curve_setup_client(&cfg, "surveys", c), 0);
    CHECK_INT(c->on, 1);
    CHECK_STR(c->server_public, pub);
    cfg.broker_public = NULL;
    cfg.broker_insecure = 1;
    CHECK_INT(wh_curve_setup_client(&cfg, "surveys", c), 0);
    CHECK_INT(c->on, 0);
    /* The broker: an allow-list naming an unknown service stops the start. */
    cfg.broker_insecure = 0;
    snprintf(cfg.broker_bind, sizeof cfg.broker_bind, "tcp://127.0.0.1:1");
    cfg.curve_secret = sec;
    cfg.curve_allowed = "nobody:0000000000000000000000000000000000000000";
    CHECK(wh_curve_setup_server(&cfg, names, 2, c) != 0);
    cfg.curve_allowed = NULL;
    CHECK_INT(wh_curve_setup_server(&cfg, names, 2, c), 0);
    CHECK_INT(c->on, 1);
    CHECK_STR(c->public_key, pub);
    free(c);
}

/* Waits for one of the handshake outcome events on a monitor socket. */
static int handshake_event(void *mon)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        CHECK(zmq_msg_recv(&m, mon, 0) >= 0);
        uint16_t ev;
        memcpy(&ev, zmq_msg_data(&m), 2);
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        CHECK(zmq_msg_recv(&m, mon, 0) >= 0); /* the endpoint */
        zmq_msg_close(&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED || ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            return ev;
    }
}

static void *client(void *ctx, const char *ep, const char *server, const char *pub, const char *sec,
                    const char *mon_ep, void **mon)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 41);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 41);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 41);
    CHECK_INT(zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_ALL), 0);
    *mon = zmq_socket(ctx, ZMQ_PAIR);
    CHECK_INT(zmq_connect(*mon, mon_ep), 0);
    CHECK_INT(zmq_connect(s, ep), 0);
    return s;
}

static void test_zap_handshake(void)
{
    void *ctx = zmq_ctx_new();
    wh_curve_t *c = calloc(1, sizeof *c);
    set_names(c);
    c->allowed_from_env = 1;
    char bpub[41], sp[41], ss[41], up[41], us[41];
    CHECK_INT(wh_curve_own_pair(c, dir, "broker", NULL), 0);
    memcpy(bpub, c->public_key, 41);
    zmq_curve_keypair(sp, ss);
    zmq_curve_keypair(up, us);
    char list[128];
    snprintf(list, sizeof list, "surveys:%s", sp);
    CHECK_INT(wh_curve_parse_allowed(c, list), 0);
    wh_zap_t *zap = NULL;
    CHECK_INT(wh_zap_start(ctx, c, &zap), 0);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    CHECK_INT(wh_curve_apply_server(router, c), 0);
    CHECK_INT(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    char ep[64];
    size_t len = sizeof ep;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &len);

    void *mon_ok, *mon_bad;
    void *ok = client(ctx, ep, bpub, sp, ss, "inproc://mon-ok", &mon_ok);
    void *bad = client(ctx, ep, bpub, up, us, "inproc://mon-bad", &mon_bad);
    CHECK_INT(handshake_event(mon_ok), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK_INT(handshake_event(mon_bad), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    CHECK_INT(zmq_send(ok, "hello", 5, 0), 5);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    CHECK(zmq_msg_recv(&id, router, 0) >= 0);
    CHECK(zmq_msg_recv(&body, router, 0) == 5);
    const char *user = zmq_msg_gets(&body, "User-Id");
    CHECK(user != NULL);
    CHECK_STR(user, "surveys");
    zmq_msg_close(&id);
    zmq_msg_close(&body);

    zmq_socket_monitor(ok, NULL, 0);
    zmq_socket_monitor(bad, NULL, 0);
    zmq_close(mon_ok);
    zmq_close(mon_bad);
    zmq_close(ok);
    zmq_close(bad);
    zmq_close(router);
    CHECK_INT(zmq_ctx_term(ctx), 0);
    wh_zap_join(&zap);
    CHECK(zap == NULL);
    free(c);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-curve-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    TEST(test_generate_and_reload);
    TEST(test_secret_from_environment);
    TEST(test_allowed_list);
    TEST(test_admit);
    TEST(test_setup_refusals);
    TEST(test_zap_handshake);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    return 0;
}
