#include "ops.h"

#include <string.h>

const wh_op_t wh_ops[WH_OP_COUNT] = {
#define WH_OP_ROW(name, m, p, s, r, f) {#name, m, p, s, r, f},
    WH_OPS(WH_OP_ROW)
#undef WH_OP_ROW
};

const char *const wh_service_names[WH_SVC_COUNT] = {"gateway", "agreements", "surveys", "screening",
                                                    "notifications"};

int wh_op_find(const char *name, size_t n)
{
    for (int i = 0; i < WH_OP_COUNT; i++)
        if (strlen(wh_ops[i].name) == n && memcmp(wh_ops[i].name, name, n) == 0)
            return i;
    return -1;
}

static const struct {
    const char *name;
    unsigned bit;
} roles[] = {
    {"admin", WH_ROLE_ADMIN},
    {"coordinator", WH_ROLE_COORDINATOR},
    {"consultant", WH_ROLE_CONSULTANT},
    {"occupational_health", WH_ROLE_OCC_HEALTH},
    {"integration", WH_ROLE_INTEGRATION},
    {"service", WH_ROLE_SERVICE},
};

unsigned wh_role_parse(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strlen(roles[i].name) == n && memcmp(roles[i].name, name, n) == 0)
            return roles[i].bit;
    return 0;
}

const char *wh_role_name(unsigned role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].bit == role)
            return roles[i].name;
    return NULL;
}
