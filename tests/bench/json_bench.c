/* Compares jansson and json-c for the gateway's job: parse a JSON request
 * body and convert it to msgpack, with the same limits (depth, values,
 * string bytes) enforced in both. jansson runs through wh_json_to_msgpack(),
 * the code the gateway uses; json-c through an equivalent walk in
 * json_bench_jsonc.c. Both
 * must produce identical msgpack before anything is timed, so the figures
 * compare equal work.
 *
 * Inputs: a 2 KB agreement create request (nested arrays and objects) and a
 * 200 KB list of agreement summaries. Each figure is the median over
 * SAMPLES batches of the nanoseconds per conversion, the libraries timed
 * alternately so that drift in clock speed or load hits both alike.
 *
 * Build it without sanitizers for meaningful figures:
 *   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-bench --target json_bench && build-bench/json_bench
 * "json_bench --quick" runs each case a few times only (a smoke test). */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <msgpack.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "json_bench_jsonc.h"

#define SAMPLES  31
#define BATCH_NS 20000000.0 /* aim for 20 ms per timed batch */

/* An agreement create request as the gateway receives it. */
static const char agreement_body[] =
    "{\"org\":\"org_0007\",\"partner_org\":\"ins_0002\",\"title\":\"Kooperationsvereinbarung "
    "Betriebliches Gesundheitsmanagement 2025-2026\",\"kind\":\"bgf_cooperation\",\"starts_on\":"
    "\"2025-01-01\",\"ends_on\":\"2026-12-31\",\"notice_period_days\":90,\"auto_renew\":true,"
    "\"budget\":{\"currency\":\"EUR\",\"total\":48500.0,\"employer_share\":0.4,\"insurer_share\":"
    "0.6,\"per_year\":[{\"year\":2025,\"amount\":24000.0},{\"year\":2026,\"amount\":24500.0}]},"
    "\"sites\":[{\"name\":\"Rathaus\",\"address\":\"Marktplatz 1, 12345 Musterstadt\","
    "\"employees\":412},{\"name\":\"Bauhof\",\"address\":\"Industriestra\xc3\x9f"
    "e 17, 12345 Musterstadt\",\"employees\":96},{\"name\":\"Stadtwerke\",\"address\":\"Am "
    "Wasserturm 3, 12345 Musterstadt\",\"employees\":231}],\"measures\":[{\"kind\":"
    "\"stress_management\",\"title\":\"Stressbew\xc3\xa4ltigung im Arbeitsalltag\",\"format\":"
    "\"workshop\",\"sessions\":6,\"max_participants\":15,\"sites\":[\"Rathaus\",\"Stadtwerke\"],"
    "\"schedule\":[{\"from\":\"2025-03-01\",\"to\":\"2025-04-15\"},{\"from\":\"2025-09-01\","
    "\"to\":\"2025-10-15\"}],\"provider\":{\"name\":\"Praxis f\xc3\xbcr Arbeitspsychologie\","
    "\"certified\":true}},{\"kind\":\"back_health\",\"title\":\"R\xc3\xbc"
    "ckengesundheit am Bildschirmarbeitsplatz\",\"format\":\"course\",\"sessions\":10,"
    "\"max_participants\":12,\"sites\":[\"Rathaus\"],\"schedule\":[{\"from\":\"2025-02-03\","
    "\"to\":\"2025-04-07\"}],\"provider\":{\"name\":\"Physio Musterstadt\",\"certified\":true}},"
    "{\"kind\":\"screening\",\"title\":\"Belastungsscreening (GB Psych)\",\"format\":\"online\","
    "\"sessions\":1,\"max_participants\":0,\"sites\":[\"Rathaus\",\"Bauhof\",\"Stadtwerke\"],"
    "\"schedule\":[{\"from\":\"2025-05-05\",\"to\":\"2025-05-30\"}],\"instrument\":\"PHQ-9\","
    "\"anonymity_threshold\":10,\"alert_threshold\":15}],\"contacts\":[{\"role\":\"employer\","
    "\"name\":\"J\xc3\xb6rg M\xc3\xbcller\",\"email\":\"j.mueller@musterstadt.example\","
    "\"phone\":\"+49 30 1234567\"},{\"role\":\"insurer\",\"name\":\"Anna Schmidt\",\"email\":"
    "\"a.schmidt@kasse.example\",\"phone\":\"+49 30 7654321\"},{\"role\":\"occupational_health\","
    "\"name\":\"Dr. Lena Wei\xc3\x9f\",\"email\":\"betriebsarzt@musterstadt.example\",\"phone\":"
    "null}],\"kpis\":[{\"name\":\"participation_rate\",\"target\":0.35},{\"name\":"
    "\"sick_days_per_fte\",\"target\":14.5}],\"tags\":[\"bgf\",\"psych\",\"2025\"],\"notes\":"
    "\"Evaluation nach 12 Monaten; Bericht an Personalrat und Steuerkreis.\",\"signed\":false}";

/* A page of agreement summaries, built to at least 200 KB. */
static char *make_list(size_t min_bytes, size_t *len)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, "{\"items\":[");
    for (int i = 0; b.len < min_bytes - 64; i++) {
        wh_buf_printf(&b,
                      "%s{\"id\":\"agr_%06d\",\"org\":\"org_%04d\",\"partner_org\":\"ins_%04d\","
                      "\"title\":\"Kooperationsvereinbarung BGF %d\",\"status\":\"%s\","
                      "\"version\":%d,\"budget_eur\":%d.%d,\"starts_on\":\"2025-%02d-01\","
                      "\"measures\":[{\"kind\":\"stress_management\",\"sessions\":%d},{\"kind\":"
                      "\"back_health\",\"sessions\":%d}],\"updated_at\":"
                      "\"2025-03-04T10:%02d:00Z\"}",
                      i ? "," : "", i, i % 97, i % 7, 2020 + i % 7, i % 3 ? "active" : "draft",
                      1 + i % 5, 1000 + i * 37, i % 10, 1 + i % 12, 2 + i % 6, 4 + i % 8, i % 60);
    }
    wh_buf_puts(&b, "],\"next\":\"c_00000017\",\"total\":1234}");
    if (wh_buf_failed(&b)) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return wh_buf_steal(&b, len);
}

static int jansson_convert(const char *json, size_t len, wh_buf_t *out)
{
    return wh_json_to_msgpack(json, len, out, NULL);
}

static int jansson_parse_only(const char *json, size_t len, wh_buf_t *out)
{
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    int rc = root ? 0 : WH_EJSON;
    json_decref(root);
    return rc;
}

/* ---- timing ---------------------------------------------------------------- */

typedef int (*run_fn)(const char *json, size_t len, wh_buf_t *out);

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double batch(run_fn fn, const char *json, size_t len, wh_buf_t *out, long iters)
{
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        wh_buf_reset(out);
        if (fn(json, len, out) != 0) {
            fprintf(stderr, "conversion failed while timing\n");
            exit(1);
        }
    }
    return (now_ns() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Times a and b alternately; returns their medians in ns per operation. */
static void compare(run_fn a, run_fn b, const char *json, size_t len, bool quick, double *ma,
                    double *mb)
{
    double sa[SAMPLES], sb[SAMPLES];
    int samples = quick ? 3 : SAMPLES;
    long iters = 1;
    wh_buf_t out;
    wh_buf_init(&out);

    if (!quick) {
        /* Warm caches and the allocator, then size batches on the slower. */
        double ta = batch(a, json, len, &out, 20), tb = batch(b, json, len, &out, 20);
        double slow = ta > tb ? ta : tb;
        iters = (long)(BATCH_NS / slow);
        if (iters < 1)
            iters = 1;
    }
    for (int s = 0; s < samples; s++) {
        sa[s] = batch(a, json, len, &out, iters);
        sb[s] = batch(b, json, len, &out, iters);
    }
    *ma = median(sa, samples);
    *mb = median(sb, samples);
    wh_buf_close(&out);
}

/* Both converters must agree byte for byte before their speed means
 * anything. */
static void check_same(const char *name, const char *json, size_t len)
{
    wh_buf_t x, y;
    wh_buf_init(&x);
    wh_buf_init(&y);
    int rx = jansson_convert(json, len, &x), ry = jsonc_convert(json, len, &y);
    if (rx != 0 || ry != 0 || x.len != y.len || memcmp(x.data, y.data, x.len) != 0) {
        fprintf(stderr, "%s: jansson (%d, %zu bytes) and json-c (%d, %zu bytes) differ\n", name, rx,
                x.len, ry, y.len);
        exit(1);
    }
    printf("%-18s %7zu bytes JSON -> %7zu bytes msgpack, identical from both\n", name, len, x.len);
    wh_buf_close(&x);
    wh_buf_close(&y);
}

/* How each library treats inputs the gateway must refuse. */
static void behaviour(void)
{
    static const struct {
        const char *what, *json;
    } cases[] = {
        {"duplicate key", "{\"a\":1,\"a\":2}"},
        {"\\u0000 in a string", "{\"a\":\"x\\u0000y\"}"},
        {"invalid UTF-8", "{\"a\":\"\xc3\x28\"}"},
        {"lone surrogate", "{\"a\":\"\\udc00\"}"},
        {"trailing garbage", "{\"a\":1} x"},
        {"integer > INT64_MAX", "{\"a\":9223372036854775808}"},
        {"trailing comma", "{\"a\":[1,]}"},
    };
    printf("\n%-22s %-10s %-10s\n", "input", "jansson", "json-c");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wh_buf_t out;
        wh_buf_init(&out);
        size_t len = strlen(cases[i].json);
        int ra = jansson_convert(cases[i].json, len, &out);
        wh_buf_reset(&out);
        int rb = jsonc_convert(cases[i].json, len, &out);
        printf("%-22s %-10s %-10s\n", cases[i].what, ra ? "rejects" : "accepts",
               rb ? "rejects" : "accepts");
        wh_buf_close(&out);
    }
}

/* jansson and json-c export some of the same names; whichever library comes
 * first on the link line provides them to the whole program (bench.cmake
 * orders them). Calling json-c's json_object_iter_next on a jansson object
 * would crash, so say plainly what went wrong instead. */
static void check_binding(void)
{
    Dl_info info;
    if (!dladdr((void *)json_object_iter_next, &info) || !info.dli_fname ||
        !strstr(info.dli_fname, "jansson")) {
        fprintf(stderr,
                "json_object_iter_next comes from %s, not jansson: link jansson before "
                "json-c\n",
                info.dli_fname ? info.dli_fname : "?");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "warning: built with sanitizers; the figures are not representative\n");
#endif
    check_binding();
    if (jsonc_open() != 0)
        return 1;

    size_t list_len;
    char *list = make_list(200 * 1024, &list_len);
    const struct {
        const char *name;
        const char *json;
        size_t len;
    } inputs[] = {
        {"agreement (2 KB)", agreement_body, sizeof agreement_body - 1},
        {"list (200 KB)", list, list_len},
    };

    printf("jansson %s, json-c %s, msgpack-c %s; median of %d batches\n", JANSSON_VERSION,
           jsonc_version(), msgpack_version(), quick ? 3 : SAMPLES);
    for (size_t i = 0; i < 2; i++)
        check_same(inputs[i].name, inputs[i].json, inputs[i].len);

    printf("\n%-18s %-14s %14s %14s %9s %9s\n", "input", "work", "jansson ns/op", "json-c ns/op",
           "json-c/", "MB/s");
    printf("%-18s %-14s %14s %14s %9s %9s\n", "", "", "", "", "jansson", "jansson");
    for (size_t i = 0; i < 2; i++) {
        double ja, jc;
        compare(jansson_parse_only, jsonc_parse_only, inputs[i].json, inputs[i].len, quick, &ja,
                &jc);
        printf("%-18s %-14s %14.0f %14.0f %9.2f %9.1f\n", inputs[i].name, "parse", ja, jc, jc / ja,
               (double)inputs[i].len / ja * 1e3);
        compare(jansson_convert, jsonc_convert, inputs[i].json, inputs[i].len, quick, &ja, &jc);
        printf("%-18s %-14s %14.0f %14.0f %9.2f %9.1f\n", inputs[i].name, "parse+msgpack", ja, jc,
               jc / ja, (double)inputs[i].len / ja * 1e3);
    }
    behaviour();

    free(list);
    jsonc_close();
    return 0;
}
