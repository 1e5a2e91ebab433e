/* Where webhooks may go. A subscription names a URL; without a guard, the
 * service would connect wherever a tenant points it: its own loopback
 * interface, the cloud provider's metadata endpoint, the operator's
 * internal network. So every address is classified, and only public unicast
 * addresses are connected to by default. The operator may allow further
 * ranges with WH_WEBHOOK_ALLOW, comma-separated CIDRs such as
 * "10.0.0.0/8,fd12:3456::/48,127.0.0.1/32" (on-premises receivers are
 * normal for authorities); unspecified and multicast addresses are never
 * connected to.
 *
 * An IPv4 address written in IPv6 (IPv4-mapped ::ffff:a.b.c.d,
 * IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged,
 * and matched against the allowed ranges, as the IPv4 address it carries.
 *
 * The check runs twice: when a subscription is created (a literal address
 * or a name such as localhost is refused with 422), and on every connection
 * (the engine checks the address curl is about to connect to, after its own
 * resolution, so that a name that later resolves elsewhere, DNS rebinding,
 * gains nothing). */
#ifndef NOTIFICATIONS_NETGUARD_H
#define NOTIFICATIONS_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETGUARD_MAX_ALLOW 64   /* CIDRs in WH_WEBHOOK_ALLOW */
#define NETGUARD_MAX_SPEC  4096 /* characters of WH_WEBHOOK_ALLOW */
#define NETGUARD_ADDR_LEN  64   /* an address as text, with room for a class name */

typedef enum {
    NET_PUBLIC = 0,
    NET_UNSPECIFIED, /* 0.0.0.0/8, :: */
    NET_LOOPBACK,    /* 127.0.0.0/8, ::1, localhost */
    NET_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15, fc00::/7, fec0::/10 */
    NET_LINK_LOCAL,  /* 169.254/16 (cloud metadata among them), fe80::/10 */
    NET_MULTICAST,   /* 224/4, ff00::/8, 255.255.255.255 */
    NET_RESERVED,    /* documentation, IETF, 240/4, discard, other IPv6 special forms */
} net_class_t;

/* One range: an IPv6 address (IPv4 as ::ffff:a.b.c.d) and a prefix length
 * over the 128 bits. */
typedef struct netguard_cidr {
    uint8_t addr[16];
    int bits;
} netguard_cidr_t;

typedef struct netguard {
    int n;
    netguard_cidr_t allow[NETGUARD_MAX_ALLOW];
} netguard_t;

/* "loopback", "private", ... */
const char *netguard_class_name(net_class_t c);
/* The class of a 16-byte address (IPv4 as ::ffff:a.b.c.d). */
net_class_t netguard_classify(const uint8_t a[16]);
/* Whether a connection to a may be made: public, or in an allowed range and
 * neither unspecified nor multicast. *cls (may be NULL) gets the class. */
bool netguard_permits(const netguard_t *g, const uint8_t a[16], net_class_t *cls);
/* The 16-byte form of an AF_INET or AF_INET6 socket address; false for any
 * other family. */
bool netguard_from_sockaddr(const struct sockaddr *sa, uint8_t out[16]);
/* Reads WH_WEBHOOK_ALLOW's syntax into g (NULL or "" allows nothing more).
 * On error returns false and writes what is wrong into err. Each CIDR is
 * an IPv4 or IPv6 address in its usual form with a prefix length (a bare
 * address is a single host); host bits must be zero. */
bool netguard_parse(netguard_t *g, const char *spec, char *err, size_t errcap);
/* The check at subscription time of a URL's host (as curl's URL API gives
 * it: lower case, IPv6 in brackets). A literal address in any form
 * inet_aton or inet_pton accepts (decimal, octal, hex, short IPv4) and the
 * names localhost and *.localhost are judged here; any other name is
 * public until it is resolved, at connect time. */
bool netguard_host_permits(const netguard_t *g, const char *host, net_class_t *cls);
/* The address as text. */
void netguard_format(const uint8_t a[16], char *out, size_t cap);

/* The process's guard, from allow (WH_WEBHOOK_ALLOW, in wh_config_t), set
 * once by netguard_load() at start (false and a logged error when the
 * value is invalid). */
bool netguard_load(const char *allow);
const netguard_t *netguard_get(void);

#endif
