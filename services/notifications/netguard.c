#include "netguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

const char *netguard_class_name(net_class_t c)
{
    switch (c) {
    case NET_PUBLIC:
        return "public";
    case NET_UNSPECIFIED:
        return "unspecified";
    case NET_LOOPBACK:
        return "loopback";
    case NET_PRIVATE:
        return "private";
    case NET_LINK_LOCAL:
        return "link-local";
    case NET_MULTICAST:
        return "multicast";
    case NET_RESERVED:
        return "reserved";
    }
    return "reserved";
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* The IPv4 address an IPv6 address carries, if it is one of the forms that
 * reach an IPv4 host: IPv4-mapped, IPv4-compatible (not :: and ::1 themselves),
 * IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4. */
static bool embedded_v4(const uint8_t a[16], uint8_t v4[4])
{
    static const uint8_t translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(a, v4_mapped_prefix, 12) == 0 || memcmp(a, translated, 12) == 0 ||
        memcmp(a, nat64, 12) == 0 || (all_zero(a, 12) && !all_zero(a + 12, 3))) {
        memcpy(v4, a + 12, 4);
        return true;
    }
    if (a[0] == 0x20 && a[1] == 0x02) {
        memcpy(v4, a + 2, 4);
        return true;
    }
    return false;
}

static net_class_t classify_v4(const uint8_t b[4])
{
    uint32_t x = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    static const struct {
        uint32_t net;
        int bits;
        net_class_t c;
    } ranges[] = {
        {0x00000000, 8, NET_UNSPECIFIED}, /* "this network"; 0.0.0.0 reaches the host */
        {0x7f000000, 8, NET_LOOPBACK},    {0x0a000000, 8, NET_PRIVATE},
        {0xac100000, 12, NET_PRIVATE},    {0xc0a80000, 16, NET_PRIVATE},
        {0x64400000, 10, NET_PRIVATE},    /* shared address space (carrier NAT) */
        {0xc6120000, 15, NET_PRIVATE},    /* benchmarking */
        {0xa9fe0000, 16, NET_LINK_LOCAL}, /* 169.254.169.254: cloud metadata */
        {0xc0000000, 24, NET_RESERVED},   /* IETF protocol assignments */
        {0xc0000200, 24, NET_RESERVED},   {0xc6336400, 24, NET_RESERVED},
        {0xcb007100, 24, NET_RESERVED},  /* documentation */
        {0xc0586300, 24, NET_RESERVED},  /* 6to4 relay anycast */
        {0xffffffff, 32, NET_MULTICAST}, /* limited broadcast */
        {0xe0000000, 4, NET_MULTICAST},   {0xf0000000, 4, NET_RESERVED},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        uint32_t mask = ranges[i].bits == 0 ? 0 : 0xffffffffu << (32 - ranges[i].bits);
        if ((x & mask) == ranges[i].net)
            return ranges[i].c;
    }
    return NET_PUBLIC;
}

net_class_t netguard_classify(const uint8_t a[16])
{
    uint8_t v4[4];
    if (all_zero(a, 16))
        return NET_UNSPECIFIED;
    if (all_zero(a, 15) && a[15] == 1)
        return NET_LOOPBACK;
    if (embedded_v4(a, v4))
        return classify_v4(v4);
    if (a[0] == 0xff)
        return NET_MULTICAST;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return NET_LINK_LOCAL;
    if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0))
        return NET_PRIVATE; /* unique local (AWS metadata fd00:ec2::254), site-local */
    if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)
        return NET_PRIVATE; /* 64:ff9b:1::/48, local-use NAT64 */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return NET_RESERVED; /* documentation */
    if (a[0] == 0x01 && a[1] == 0 && all_zero(a + 2, 6))
        return NET_RESERVED; /* discard-only 100::/64 */
    if (all_zero(a, 10))
        return NET_RESERVED; /* the rest of ::/80 (no routable host lives there) */
    if ((a[0] & 0xe0) != 0x20)
        return NET_RESERVED; /* outside 2000::/3, the global unicast space */
    return NET_PUBLIC;
}

static bool in_cidr(const netguard_cidr_t *c, const uint8_t a[16])
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, a, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (a[full] & mask);
}

bool netguard_permits(const netguard_t *g, const uint8_t a[16], net_class_t *cls)
{
    net_class_t c = netguard_classify(a);
    if (cls)
        *cls = c;
    if (c == NET_PUBLIC)
        return true;
    if (c == NET_UNSPECIFIED || c == NET_MULTICAST || !g)
        return false;
    /* An address carrying an IPv4 address is matched as that address. */
    uint8_t m[16];
    const uint8_t *p = a;
    uint8_t v4[4];
    if (embedded_v4(a, v4)) {
        memcpy(m, v4_mapped_prefix, 12);
        memcpy(m + 12, v4, 4);
        p = m;
    }
    for (int i = 0; i < g->n; i++)
        if (in_cidr(&g->allow[i], p))
            return true;
    return false;
}

bool netguard_from_sockaddr(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(out, v4_mapped_prefix, 12);
        memcpy(out + 12, &s4->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(out, &s6->sin6_addr, 16);
        return true;
    }
    return false;
}

/* An address in strict dotted-quad or IPv6 form (CIDRs are written by an
 * operator: no inet_aton leniency there). */
static bool parse_strict(const char *s, uint8_t out[16], int *max_bits, int *offset)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memcpy(out, v4_mapped_prefix, 12);
        memcpy(out + 12, &a4, 4);
        *max_bits = 32;
        *offset = 96;
        return true;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        *max_bits = 128;
        *offset = 0;
        return true;
    }
    return false;
}

static bool parse_into(netguard_t *g, const char *spec, char *err, size_t errcap)
{
    if (!spec)
        return true;
    size_t len = strlen(spec);
    if (len > NETGUARD_MAX_SPEC) {
        snprintf(err, errcap, "longer than %d characters", NETGUARD_MAX_SPEC);
        return false;
    }
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        char item[INET6_ADDRSTRLEN + 8];
        if (n == 0) {
            if (!end)
                break; /* a trailing comma */
            snprintf(err, errcap, "an empty entry");
            return false;
        }
        if (n >= sizeof item) {
            snprintf(err, errcap, "\"%.*s...\" is not a CIDR", 20, p);
            return false;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (g->n == NETGUARD_MAX_ALLOW) {
            snprintf(err, errcap, "more than %d ranges", NETGUARD_MAX_ALLOW);
            return false;
        }
        netguard_cidr_t *c = &g->allow[g->n];
        char *slash = strchr(item, '/');
        int bits = -1, max_bits, offset;
        if (slash) {
            *slash = '\0';
            const char *b = slash + 1;
            bits = 0;
            if (!*b || strlen(b) > 3)
                bits = -2;
            for (; bits >= 0 && *b; b++)
                bits = *b >= '0' && *b <= '9' ? bits * 10 + (*b - '0') : -2;
        }
        if (!parse_strict(item, c->addr, &max_bits, &offset) || bits == -2 || bits > max_bits) {
            if (slash)
                *slash = '/';
            snprintf(err, errcap, "\"%s\" is not a CIDR (address/prefix length)", item);
            return false;
        }
        c->bits = (bits < 0 ? max_bits : bits) + offset;
        /* Host bits set are most likely a typing error (10.0.0.1/8). */
        for (int i = c->bits; i < 128; i++)
            if (c->addr[i / 8] & (0x80 >> (i % 8))) {
                if (slash)
                    *slash = '/';
                snprintf(err, errcap, "\"%s\" has bits set after its prefix", item);
                return false;
            }
        g->n++;
        if (!end)
            break;
        p = end + 1;
    }
    return true;
}

bool netguard_parse(netguard_t *g, const char *spec, char *err, size_t errcap)
{
    memset(g, 0, sizeof *g);
    if (parse_into(g, spec, err, errcap))
        return true;
    memset(g, 0, sizeof *g); /* all or nothing */
    return false;
}

bool netguard_host_permits(const netguard_t *g, const char *host, net_class_t *cls)
{
    if (cls)
        *cls = NET_PUBLIC;
    char h[256];
    size_t n = strlen(host);
    if (n == 0 || n >= sizeof h)
        return false;
    memcpy(h, host, n + 1);
    uint8_t a[16];
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (!close)
            return false;
        *close = '\0';
        char *zone = strchr(h, '%'); /* a zone id: link-local, judged by the address */
        if (zone)
            *zone = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, h + 1, &a6) != 1)
            return false;
        memcpy(a, &a6, 16);
        return netguard_permits(g, a, cls);
    }
    /* inet_aton takes every form a resolver would: 2130706433, 0x7f000001,
     * 0177.0.0.1, 127.1. */
    struct in_addr a4;
    if (inet_aton(h, &a4) == 1) {
        memcpy(a, v4_mapped_prefix, 12);
        memcpy(a + 12, &a4, 4);
        return netguard_permits(g, a, cls);
    }
    while (n > 0 && h[n - 1] == '.')
        h[--n] = '\0';
    if (n > 0 && inet_aton(h, &a4) == 1) { /* "127.0.0.1." resolves as 127.0.0.1 */
        memcpy(a, v4_mapped_prefix, 12);
        memcpy(a + 12, &a4, 4);
        return netguard_permits(g, a, cls);
    }
    for (size_t i = 0; i < n; i++)
        if (h[i] >= 'A' && h[i] <= 'Z')
            h[i] = (char)(h[i] - 'A' + 'a');
    if (strcmp(h, "localhost") == 0 || (n > 10 && strcmp(h + n - 10, ".localhost") == 0) ||
        strcmp(h, "localhost.localdomain") == 0 || strcmp(h, "ip6-localhost") == 0 ||
        strcmp(h, "ip6-loopback") == 0) {
        if (cls)
            *cls = NET_LOOPBACK;
        /* As the loopback address would be. */
        memcpy(a, v4_mapped_prefix, 12);
        memcpy(a + 12, "\x7f\0\0\x01", 4);
        return netguard_permits(g, a, NULL);
    }
    return true;
}

void netguard_format(const uint8_t a[16], char *out, size_t cap)
{
    char s[INET6_ADDRSTRLEN];
    if (memcmp(a, v4_mapped_prefix, 12) == 0)
        inet_ntop(AF_INET, a + 12, s, sizeof s);
    else
        inet_ntop(AF_INET6, a, s, sizeof s);
    snprintf(out, cap, "%s", s);
}

static netguard_t process_guard;

bool netguard_load(const char *allow)
{
    char err[160];
    if (!netguard_parse(&process_guard, allow, err, sizeof err)) {
        memset(&process_guard, 0, sizeof process_guard);
        wh_log_error("WH_WEBHOOK_ALLOW: %s", err);
        return false;
    }
    if (process_guard.n > 0)
        wh_log_info("webhooks may also go to %d allowed ranges (WH_WEBHOOK_ALLOW)",
                    process_guard.n);
    return true;
}

const netguard_t *netguard_get(void)
{
    return &process_guard;
}
