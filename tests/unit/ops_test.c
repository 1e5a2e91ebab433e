/* proto/ops.c: the one table of operations is well-formed (unique names,
 * known methods, paths that start with /v1/ and are unique per method,
 * flags consistent), and wire names and roles convert both ways. */
#include <string.h>

#include "check.h"
#include "ops.h"

static void test_table_well_formed(void)
{
    for (int i = 0; i < WH_OP_COUNT; i++) {
        const wh_op_t *op = &wh_ops[i];
        CHECK(op->name != NULL && op->name[0] != '\0');
        CHECK(op->method != NULL);
        CHECK(strcmp(op->method, "GET") == 0 || strcmp(op->method, "POST") == 0 ||
              strcmp(op->method, "PATCH") == 0 || strcmp(op->method, "PUT") == 0 ||
              strcmp(op->method, "DELETE") == 0);
        CHECK(op->service < WH_SVC_COUNT);
        CHECK(op->roles != 0);
        if (op->path) {
            CHECK(strncmp(op->path, "/v1/", 4) == 0);
            /* Every { has its }, and names are plain. */
            for (const char *p = strchr(op->path, '{'); p; p = strchr(p + 1, '{')) {
                const char *close = strchr(p, '}');
                CHECK(close != NULL && close > p + 1);
                CHECK(strcspn(p + 1, "{/") >= (size_t)(close - p - 1));
            }
        } else {
            /* Internal: only another service may call it. */
            CHECK_INT(op->roles, WH_ROLE_SERVICE);
        }
        /* Creating implies writing; a body is only taken by methods with one. */
        if (op->flags & WH_OPF_CREATE)
            CHECK(strcmp(op->method, "POST") == 0 && (op->flags & WH_OPF_WRITE));
        if (op->flags & WH_OPF_BODY)
            CHECK(strcmp(op->method, "GET") != 0 && strcmp(op->method, "DELETE") != 0);
        for (int j = 0; j < i; j++) {
            CHECK(strcmp(wh_ops[j].name, op->name) != 0);
            if (op->path && wh_ops[j].path)
                CHECK(strcmp(wh_ops[j].path, op->path) != 0 ||
                      strcmp(wh_ops[j].method, op->method) != 0);
        }
    }
}

static void test_find(void)
{
    for (int i = 0; i < WH_OP_COUNT; i++)
        CHECK_INT(wh_op_find(wh_ops[i].name, strlen(wh_ops[i].name)), i);
    CHECK_INT(wh_op_find("ORGS_GET", 8), WH_OP_ORGS_GET);
    CHECK_INT(wh_op_find("ORGS_GETX", 8), WH_OP_ORGS_GET); /* n bytes only */
    CHECK_INT(wh_op_find("ORGS_GE", 7), -1);
    CHECK_INT(wh_op_find("orgs_get", 8), -1);
    CHECK_INT(wh_op_find("", 0), -1);
    CHECK_INT(wh_op_find("ORGS_GET\0", 9), -1);
}

static void test_roles(void)
{
    static const struct {
        const char *name;
        unsigned bit;
    } roles[] = {{"admin", WH_ROLE_ADMIN},
                 {"coordinator", WH_ROLE_COORDINATOR},
                 {"consultant", WH_ROLE_CONSULTANT},
                 {"occupational_health", WH_ROLE_OCC_HEALTH},
                 {"integration", WH_ROLE_INTEGRATION},
                 {"service", WH_ROLE_SERVICE}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        CHECK_INT(wh_role_parse(roles[i].name, strlen(roles[i].name)), roles[i].bit);
        CHECK_STR(wh_role_name(roles[i].bit), roles[i].name);
    }
    CHECK_INT(wh_role_parse("Admin", 5), 0);
    CHECK_INT(wh_role_parse("adm", 3), 0);
    CHECK_INT(wh_role_parse("admins", 6), 0);
    CHECK_INT(wh_role_parse("public", 6), 0); /* not a token's role */
    CHECK_INT(wh_role_parse("", 0), 0);
    CHECK(wh_role_name(0) == NULL);
    CHECK(wh_role_name(WH_ROLE_PUBLIC) == NULL);
    CHECK(wh_role_name(WH_ROLE_ADMIN | WH_ROLE_COORDINATOR) == NULL);
    /* Role sets. */
    CHECK_INT(WH_ROLES_STAFF, WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT);
    CHECK(!(WH_ROLES_ANY & WH_ROLE_PUBLIC));
    CHECK(!(WH_ROLES_ANY & WH_ROLE_SERVICE));
}

static void test_services(void)
{
    CHECK_STR(wh_service_names[WH_SVC_GATEWAY], "gateway");
    CHECK_STR(wh_service_names[WH_SVC_AGREEMENTS], "agreements");
    CHECK_STR(wh_service_names[WH_SVC_SURVEYS], "surveys");
    CHECK_STR(wh_service_names[WH_SVC_SCREENING], "screening");
    CHECK_STR(wh_service_names[WH_SVC_NOTIFICATIONS], "notifications");
    CHECK_STR(wh_ops[WH_OP_ORGS_GET].name, "ORGS_GET");
    CHECK_STR(wh_ops[WH_OP_ORGS_GET].path, "/v1/organizations/{id}");
    CHECK_INT(wh_ops[WH_OP_ORGS_CREATE].service, WH_SVC_AGREEMENTS);
    CHECK_INT(wh_ops[WH_OP_ORGS_CREATE].flags, WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE);
}

int main(void)
{
    TEST(test_table_well_formed);
    TEST(test_find);
    TEST(test_roles);
    TEST(test_services);
    return 0;
}
