/* services/gateway/scrape.c and services/runtime/figures.c: a service's
 * figures as its runtime packs them, rendered by the gateway with the
 * labels service and instance, one HELP and TYPE per family over every
 * instance, wh_service_up per service; malformed samples (bad names,
 * unknown types, reserved or extra labels, long values) dropped, label
 * values and help texts escaped, and a failed reply leaving the service
 * down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "figures.h"
#include "outbox.h"
#include "reply.h"
#include "scrape.h"

/* A reply envelope whose body is the samples given as msgpack. */
typedef void (*pack_fn)(msgpack_packer *pk);

static void reply_with(pack_fn fn, const char *instance, int status, wh_buf_t *out)
{
    wh_reply_t rep;
    wh_reply_init(&rep);
    if (status == 200) {
        msgpack_packer *pk = wh_reply_ok(&rep, 200);
        msgpack_pack_map(pk, 2);
        wh_msg_kv_str(pk, "instance", instance);
        wh_msg_pack_str(pk, "samples");
        fn(pk);
    } else {
        wh_reply_problem(&rep, status, "unavailable", "no");
    }
    wh_reply_pack(&rep, "r1", out);
    wh_reply_close(&rep);
}

static void sample(msgpack_packer *pk, const char *name, const char *type, const char *help,
                   int n_labels, const char *const *labels, double v)
{
    msgpack_pack_array(pk, 5);
    wh_msg_pack_str(pk, name);
    wh_msg_pack_str(pk, type);
    wh_msg_pack_str(pk, help);
    msgpack_pack_array(pk, (uint32_t)n_labels * 2);
    for (int i = 0; i < n_labels * 2; i++)
        wh_msg_pack_str(pk, labels[i]);
    msgpack_pack_double(pk, v);
}

static void two_samples(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    sample(pk, "wh_outbox_backlog", "gauge", "Events.", 0, NULL, 3);
    static const char *const l[] = {"status", "sent"};
    sample(pk, "wh_agreements_reminders", "gauge", "Reminders.", 1, l, 2);
}

static void malformed(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 9);
    sample(pk, "9starts_with_digit", "gauge", "x", 0, NULL, 1);
    sample(pk, "wh_bad-name", "gauge", "x", 0, NULL, 1);
    sample(pk, "wh_histo", "histogram", "x", 0, NULL, 1);
    static const char *const reserved[] = {"service", "forged"};
    sample(pk, "wh_reserved", "gauge", "x", 1, reserved, 1);
    static const char *const inst[] = {"instance", "forged"};
    sample(pk, "wh_reserved2", "gauge", "x", 1, inst, 1);
    static const char *const three[] = {"a", "1", "b", "2", "c", "3"};
    sample(pk, "wh_three_labels", "gauge", "x", 3, three, 1);
    char long_value[WH_FIGURES_MAX_VALUE + 8];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    const char *const lv[] = {"k", long_value};
    sample(pk, "wh_long_value", "gauge", "x", 1, lv, 1);
    static const char *const esc[] = {"k", "a\"b\\c\nd"};
    sample(pk, "wh_escaped", "counter", "line one\nback\\slash", 1, esc, 7);
    msgpack_pack_array(pk, 2); /* not a sample */
    msgpack_pack_nil(pk);
    msgpack_pack_nil(pk);
}

static void test_render_and_merge(void)
{
    scrape_t *s = scrape_new();
    CHECK(s != NULL);
    wh_buf_t a, b, down;
    wh_buf_init(&a);
    wh_buf_init(&b);
    wh_buf_init(&down);
    reply_with(two_samples, "host-a:1", 200, &a);
    reply_with(two_samples, "host-b:2", 200, &b);
    reply_with(NULL, NULL, 503, &down);
    scrape_add_reply(s, WH_SVC_AGREEMENTS, a.data, a.len);
    scrape_add_reply(s, WH_SVC_AGREEMENTS, b.data, b.len);
    scrape_add_reply(s, WH_SVC_SURVEYS, down.data, down.len);
    scrape_add_reply(s, WH_SVC_SCREENING, "\xc1", 1); /* not msgpack */
    wh_buf_t out;
    wh_buf_init(&out);
    scrape_render(s, &out);
    wh_buf_append(&out, "", 1);
    const char *t = out.data;
    CHECK(strstr(t, "wh_service_up{service=\"agreements\"} 1\n") != NULL);
    CHECK(strstr(t, "wh_service_up{service=\"surveys\"} 0\n") != NULL);
    CHECK(strstr(t, "wh_service_up{service=\"screening\"} 0\n") != NULL);
    CHECK(strstr(t, "wh_service_up{service=\"notifications\"} 0\n") != NULL);
    CHECK(strstr(t, "# HELP wh_outbox_backlog Events.\n# TYPE wh_outbox_backlog gauge\n"
                    "wh_outbox_backlog{service=\"agreements\",instance=\"host-a:1\"} 3\n"
                    "wh_outbox_backlog{service=\"agreements\",instance=\"host-b:2\"} 3\n") != NULL);
    CHECK(strstr(t, "wh_agreements_reminders{service=\"agreements\",instance=\"host-b:2\","
                    "status=\"sent\"} 2\n") != NULL);
    /* One HELP per family. */
    CHECK(strstr(strstr(t, "# HELP wh_outbox_backlog") + 1, "# HELP wh_outbox_backlog") == NULL);
    wh_buf_close(&out);
    wh_buf_close(&a);
    wh_buf_close(&b);
    wh_buf_close(&down);
    scrape_destroy(s);
}

static void test_malformed_dropped_and_escaped(void)
{
    scrape_t *s = scrape_new();
    wh_buf_t a;
    wh_buf_init(&a);
    reply_with(malformed, "host\"x", 200, &a);
    scrape_add_reply(s, WH_SVC_NOTIFICATIONS, a.data, a.len);
    wh_buf_t out;
    wh_buf_init(&out);
    scrape_render(s, &out);
    wh_buf_append(&out, "", 1);
    const char *t = out.data;
    CHECK(strstr(t, "wh_service_up{service=\"notifications\"} 1\n") != NULL);
    CHECK(strstr(t, "starts_with_digit") == NULL);
    CHECK(strstr(t, "wh_bad") == NULL);
    CHECK(strstr(t, "wh_histo") == NULL);
    CHECK(strstr(t, "forged") == NULL);
    CHECK(strstr(t, "wh_three_labels") == NULL);
    CHECK(strstr(t, "wh_long_value") == NULL);
    CHECK(strstr(t, "# HELP wh_escaped line one\\nback\\\\slash\n# TYPE wh_escaped counter\n"
                    "wh_escaped{service=\"notifications\",instance=\"host\\\"x\","
                    "k=\"a\\\"b\\\\c\\nd\"} 7\n") != NULL);
    wh_buf_close(&out);
    wh_buf_close(&a);
    scrape_destroy(s);
}

static void own_figures(wh_store_t *store, wh_figures_t *f)
{
    wh_figure(f, "wh_test_figure", "gauge", "A figure.", "kind", "x", NULL, NULL, 5);
    for (int i = 0; i < 2 * WH_FIGURES_MAX; i++) /* past the bound: dropped */
        wh_figure_gauge(f, "wh_test_many", "Many.", i);
}

static void test_runtime_figures(void)
{
    char dir[] = "/tmp/wh-scrape-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/agreements.db", dir);
    static const char *const migrations[] = {"CREATE TABLE t (x INTEGER);"};
    wh_store_t *store;
    CHECK_INT(wh_store_open(path, migrations, 1, &store), 0);
    CHECK_INT(wh_outbox_init_store(store), 0);
    CHECK_INT(wh_store_begin(store), 0);
    CHECK_INT(wh_outbox_emit(store, "organization.created", NULL, NULL, 0, NULL), 0);
    CHECK_INT(wh_store_commit(store), 0);
    wh_reply_t rep;
    wh_reply_init(&rep);
    wh_ctx_t c = {.store = store, .rep = &rep};
    CHECK_INT(wh_store_begin_read(store), 0);
    wh_figures_handle(&c, own_figures);
    CHECK_INT(wh_store_commit(store), 0);
    wh_buf_t env;
    wh_buf_init(&env);
    wh_reply_pack(&rep, "r", &env);
    scrape_t *s = scrape_new();
    scrape_add_reply(s, WH_SVC_AGREEMENTS, env.data, env.len);
    wh_buf_t out;
    wh_buf_init(&out);
    scrape_render(s, &out);
    wh_buf_append(&out, "", 1);
    const char *t = out.data;
    CHECK(strstr(t, "wh_service_up{service=\"agreements\"} 1\n") != NULL);
    CHECK(strstr(t, "# TYPE wh_outbox_backlog gauge\nwh_outbox_backlog{service=\"agreements\","
                    "instance=\"") != NULL);
    CHECK(strstr(t, "\"} 1\n") != NULL);
    CHECK(strstr(t, "wh_store_bytes{") != NULL);
    CHECK(strstr(t, "wh_store_wal_bytes{") != NULL);
    CHECK(strstr(t, "wh_outbox_oldest_age_seconds{") != NULL);
    CHECK(strstr(t, "wh_inbox_events") == NULL); /* no inbox in this store */
    CHECK(strstr(t, ",kind=\"x\"} 5\n") != NULL);
    int many = 0;
    for (const char *p = t; (p = strstr(p, "\nwh_test_many{")); p++)
        many++;
    CHECK(many > 0 && many < WH_FIGURES_MAX);
    wh_buf_close(&out);
    wh_buf_close(&env);
    scrape_destroy(s);
    wh_reply_close(&rep);
    wh_store_destroy(&store);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    TEST(test_render_and_merge);
    TEST(test_malformed_dropped_and_escaped);
    TEST(test_runtime_figures);
    return 0;
}
