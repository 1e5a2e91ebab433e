/* The webhook address guard: every way of writing an internal address is
 * refused, public addresses pass, WH_WEBHOOK_ALLOW's CIDRs are read
 * strictly and widen only what they name. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "netguard.h"
#include "subscriptions.h"

static const netguard_t none = {0};

static net_class_t host_class(const netguard_t *g, const char *host, bool *permitted)
{
    net_class_t c = NET_PUBLIC;
    *permitted = netguard_host_permits(g, host, &c);
    return c;
}

#define REFUSED(host, cls)                                                                         \
    do {                                                                                           \
        bool p_;                                                                                   \
        CHECK_INT(host_class(&none, host, &p_), cls);                                              \
        if (p_) {                                                                                  \
            fprintf(stderr, "%s:%d: %s permitted\n", __FILE__, __LINE__, host);                    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define PERMITTED(g, host)                                                                         \
    do {                                                                                           \
        bool p_;                                                                                   \
        host_class(g, host, &p_);                                                                  \
        if (!p_) {                                                                                 \
            fprintf(stderr, "%s:%d: %s refused\n", __FILE__, __LINE__, host);                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void test_ipv4_forms(void)
{
    REFUSED("127.0.0.1", NET_LOOPBACK);
    REFUSED("127.255.255.254", NET_LOOPBACK);
    REFUSED("2130706433", NET_LOOPBACK);   /* decimal */
    REFUSED("0x7f000001", NET_LOOPBACK);   /* hex */
    REFUSED("0x7f.0.0.1", NET_LOOPBACK);   /* hex octet */
    REFUSED("0177.0.0.1", NET_LOOPBACK);   /* octal */
    REFUSED("017700000001", NET_LOOPBACK); /* octal, whole */
    REFUSED("127.1", NET_LOOPBACK);        /* short */
    REFUSED("127.0.0.1.", NET_LOOPBACK);   /* a trailing dot: the root */
    REFUSED("0x7f000001..", NET_LOOPBACK);
    REFUSED("0.0.0.0", NET_UNSPECIFIED);
    REFUSED("0", NET_UNSPECIFIED);
    REFUSED("169.254.169.254", NET_LINK_LOCAL); /* cloud metadata */
    REFUSED("0xa9fea9fe", NET_LINK_LOCAL);
    REFUSED("10.1.2.3", NET_PRIVATE);
    REFUSED("172.16.0.1", NET_PRIVATE);
    REFUSED("172.31.255.255", NET_PRIVATE);
    REFUSED("192.168.1.1", NET_PRIVATE);
    REFUSED("100.64.0.1", NET_PRIVATE);
    REFUSED("100.100.100.200", NET_PRIVATE); /* another cloud's metadata */
    REFUSED("198.18.0.1", NET_PRIVATE);
    REFUSED("224.0.0.1", NET_MULTICAST);
    REFUSED("239.255.255.250", NET_MULTICAST);
    REFUSED("255.255.255.255", NET_MULTICAST);
    REFUSED("240.0.0.1", NET_RESERVED);
    REFUSED("192.0.2.1", NET_RESERVED);
    REFUSED("192.0.0.170", NET_RESERVED);
    PERMITTED(&none, "93.184.216.34");
    PERMITTED(&none, "172.32.0.1");
    PERMITTED(&none, "100.128.0.1");
    PERMITTED(&none, "8.8.8.8");
}

static void test_ipv6_forms(void)
{
    REFUSED("[::1]", NET_LOOPBACK);
    REFUSED("[0:0:0:0:0:0:0:1]", NET_LOOPBACK);
    REFUSED("[::]", NET_UNSPECIFIED);
    REFUSED("[::ffff:127.0.0.1]", NET_LOOPBACK); /* IPv4-mapped */
    REFUSED("[::ffff:7f00:1]", NET_LOOPBACK);
    REFUSED("[::ffff:169.254.169.254]", NET_LINK_LOCAL);
    REFUSED("[::ffff:10.0.0.1]", NET_PRIVATE);
    REFUSED("[::ffff:0.0.0.0]", NET_UNSPECIFIED);
    REFUSED("[::127.0.0.1]", NET_LOOPBACK);        /* IPv4-compatible */
    REFUSED("[::ffff:0:127.0.0.1]", NET_LOOPBACK); /* IPv4-translated */
    REFUSED("[64:ff9b::127.0.0.1]", NET_LOOPBACK); /* NAT64 */
    REFUSED("[2002:7f00:1::]", NET_LOOPBACK);      /* 6to4 */
    REFUSED("[fe80::1]", NET_LINK_LOCAL);
    REFUSED("[fe80::1%25eth0]", NET_LINK_LOCAL);
    REFUSED("[febf::1]", NET_LINK_LOCAL);
    REFUSED("[fc00::1]", NET_PRIVATE);
    REFUSED("[fd00:ec2::254]", NET_PRIVATE); /* cloud metadata over IPv6 */
    REFUSED("[fec0::1]", NET_PRIVATE);
    REFUSED("[ff02::1]", NET_MULTICAST);
    REFUSED("[2001:db8::1]", NET_RESERVED);
    REFUSED("[100::1]", NET_RESERVED);
    REFUSED("[::2]", NET_RESERVED);
    REFUSED("[::ffff]", NET_UNSPECIFIED); /* ::0.0.255.255 */
    PERMITTED(&none, "[2606:4700::1111]");
    PERMITTED(&none, "[::ffff:93.184.216.34]");
    PERMITTED(&none, "[2002:5db8:d822::1]"); /* 6to4 of a public address */
}

static void test_names(void)
{
    REFUSED("localhost", NET_LOOPBACK);
    REFUSED("localhost.", NET_LOOPBACK);
    REFUSED("LocalHost", NET_LOOPBACK);
    REFUSED("api.localhost", NET_LOOPBACK);
    REFUSED("localhost.localdomain", NET_LOOPBACK);
    REFUSED("ip6-localhost", NET_LOOPBACK);
    /* Other names are judged when they are resolved, at connect time. */
    PERMITTED(&none, "hooks.example.org");
    PERMITTED(&none, "mylocalhost.example");
    PERMITTED(&none, "10.example.org");
}

static void test_sockaddr(void)
{
    uint8_t a[16];
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
    CHECK(netguard_from_sockaddr((struct sockaddr *)&s4, a));
    net_class_t c;
    CHECK(!netguard_permits(&none, a, &c));
    CHECK_INT(c, NET_LOOPBACK);
    char text[NETGUARD_ADDR_LEN];
    netguard_format(a, text, sizeof text);
    CHECK_STR(text, "127.0.0.1");
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:169.254.169.254", &s6.sin6_addr);
    CHECK(netguard_from_sockaddr((struct sockaddr *)&s6, a));
    CHECK(!netguard_permits(&none, a, &c));
    CHECK_INT(c, NET_LINK_LOCAL);
    inet_pton(AF_INET6, "2606:4700::1111", &s6.sin6_addr);
    CHECK(netguard_from_sockaddr((struct sockaddr *)&s6, a));
    CHECK(netguard_permits(&none, a, &c));
    netguard_format(a, text, sizeof text);
    CHECK_STR(text, "2606:4700::1111");
    struct sockaddr other = {.sa_family = AF_UNIX};
    CHECK(!netguard_from_sockaddr(&other, a));
}

static void test_allow(void)
{
    netguard_t g;
    char err[160];
    CHECK(netguard_parse(&g, "10.0.0.0/8, 127.0.0.1/32,fd12:3456::/32,", err, sizeof err));
    CHECK_INT(g.n, 3);
    PERMITTED(&g, "10.200.0.1");
    PERMITTED(&g, "0x0a000001");
    PERMITTED(&g, "[::ffff:10.1.1.1]"); /* matched as the IPv4 address it carries */
    PERMITTED(&g, "127.0.0.1");
    PERMITTED(&g, "[::ffff:127.0.0.1]");
    PERMITTED(&g, "localhost");
    PERMITTED(&g, "[fd12:3456:1::1]");
    bool p;
    host_class(&g, "127.0.0.2", &p);
    CHECK(!p);
    host_class(&g, "192.168.1.1", &p);
    CHECK(!p);
    host_class(&g, "[fd12:3457::1]", &p);
    CHECK(!p);
    host_class(&g, "169.254.169.254", &p);
    CHECK(!p);
    host_class(&g, "[::1]", &p);
    CHECK(!p);
    /* Never: unspecified and multicast, whatever is allowed. */
    CHECK(netguard_parse(&g, "0.0.0.0/0,::/0", err, sizeof err));
    PERMITTED(&g, "127.0.0.1");
    host_class(&g, "0.0.0.0", &p);
    CHECK(!p);
    host_class(&g, "[::]", &p);
    CHECK(!p);
    host_class(&g, "224.0.0.1", &p);
    CHECK(!p);
    /* A bare address is one host. */
    CHECK(netguard_parse(&g, "192.168.7.7", err, sizeof err));
    PERMITTED(&g, "192.168.7.7");
    host_class(&g, "192.168.7.8", &p);
    CHECK(!p);
    CHECK(netguard_parse(&g, NULL, err, sizeof err));
    CHECK_INT(g.n, 0);
    CHECK(netguard_parse(&g, "", err, sizeof err));
    CHECK_INT(g.n, 0);
}

static void test_bad_cidrs(void)
{
    netguard_t g;
    char err[160];
    static const char *const bad[] = {
        "10.0.0.0/33",
        "10.0.0.0/",
        "10.0.0.0/8x",
        "10.0.0.0/-1",
        "10.0.0.1/8",
        "10/8",
        "0x0a000000/8",
        "010.0.0.0/8",
        "10.0.0.0/08000",
        "fd00::/129",
        "fd00::1/16",
        "example.org/24",
        "10.0.0.0/8,,192.168.0.0/16",
        ",",
        "10.0.0.0 /8",
        "1.2.3.4/8/8",
        "[::1]/128",
        "::1%eth0/128",
        "10.0.0.0/8;rm",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (netguard_parse(&g, bad[i], err, sizeof err)) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            exit(1);
        }
        CHECK(err[0] != '\0');
        CHECK_INT(g.n, 0);
    }
    /* The named limits: NETGUARD_MAX_ALLOW ranges, NETGUARD_MAX_SPEC characters. */
    char spec[NETGUARD_MAX_SPEC + 64];
    size_t n = 0;
    for (int i = 0; i < NETGUARD_MAX_ALLOW; i++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s10.%d.0.0/16", i ? "," : "", i);
    CHECK(netguard_parse(&g, spec, err, sizeof err));
    CHECK_INT(g.n, NETGUARD_MAX_ALLOW);
    snprintf(spec + n, sizeof spec - n, ",10.%d.0.0/16", NETGUARD_MAX_ALLOW);
    CHECK(!netguard_parse(&g, spec, err, sizeof err));
    CHECK(strstr(err, "ranges") != NULL);
    memset(spec, ' ', NETGUARD_MAX_SPEC + 1);
    spec[NETGUARD_MAX_SPEC + 1] = '\0';
    CHECK(!netguard_parse(&g, spec, err, sizeof err));
    spec[NETGUARD_MAX_SPEC] = '\0';
    CHECK(netguard_parse(&g, spec, err, sizeof err)); /* blanks only: nothing allowed */
}

static void test_subscription_urls(void)
{
    char host[SUB_MAX_HOST];
    net_class_t c;
    CHECK_INT(subscription_webhook_check("http://127.0.0.1:8081/x", host, sizeof host, &c),
              SUB_URL_REFUSED);
    CHECK_INT(c, NET_LOOPBACK);
    CHECK_INT(subscription_webhook_check("http://0x7f000001/x", host, sizeof host, &c),
              SUB_URL_REFUSED);
    CHECK_INT(subscription_webhook_check("http://[::ffff:127.0.0.1]:9/x", host, sizeof host, &c),
              SUB_URL_REFUSED);
    CHECK_INT(subscription_webhook_check("http://169.254.169.254/latest/meta-data/", host,
                                         sizeof host, &c),
              SUB_URL_REFUSED);
    CHECK_INT(c, NET_LINK_LOCAL);
    CHECK_INT(subscription_webhook_check("http://LOCALHOST:80/", host, sizeof host, &c),
              SUB_URL_REFUSED);
    CHECK_INT(subscription_webhook_check("https://hooks.example.org/in", host, sizeof host, &c),
              SUB_URL_OK);
    CHECK_INT(subscription_webhook_check("ftp://127.0.0.1/", host, sizeof host, &c), SUB_URL_BAD);
}

int main(void)
{
    TEST(test_ipv4_forms);
    TEST(test_ipv6_forms);
    TEST(test_names);
    TEST(test_sockaddr);
    TEST(test_allow);
    TEST(test_bad_cidrs);
    TEST(test_subscription_urls);
    return 0;
}
