#include "envelope.h"

#include <string.h>

#include "err.h"

/* An optional string field: absent or nil is absent; any other type is
 * malformed, not silently absent (an If-Match read as absent would skip
 * the precondition, an Idempotency-Key the replay). */
static bool optional_str(const msgpack_object *o, wh_str_t *out)
{
    *out = (wh_str_t){NULL, 0};
    if (!o || wh_msg_is_nil(o))
        return true;
    if (!wh_msg_is_str(o))
        return false;
    *out = wh_msg_str(o);
    return true;
}

int wh_request_decode(const char *data, size_t len, wh_request_t *req)
{
    memset(req, 0, sizeof *req);
    int rc = wh_msg_decode(data, len, &req->msg);
    if (rc != 0)
        return rc;
    const msgpack_object *root = req->msg.root;
    int64_t v;
    if (root->type != MSGPACK_OBJECT_MAP || !wh_msg_int(wh_msg_get(root, "v"), &v) ||
        v != WH_PROTO_VERSION)
        goto fail;
    wh_str_t op = wh_msg_str(wh_msg_get(root, "op"));
    if (!op.p || (req->op = wh_op_find(op.p, op.n)) < 0)
        goto fail;
    if (wh_msg_copy_str(wh_msg_get(root, "id"), req->id, sizeof req->id) != 0)
        goto fail;
    const msgpack_object *pr = wh_msg_get(root, "principal");
    if (!pr || pr->type != MSGPACK_OBJECT_MAP)
        goto fail;
    const msgpack_object *tid = wh_msg_get(pr, "token_id");
    if (tid && !wh_msg_is_nil(tid) &&
        wh_msg_copy_str(tid, req->principal.token_id, sizeof req->principal.token_id) != 0)
        goto fail;
    wh_str_t role;
    if (!optional_str(wh_msg_get(pr, "role"), &role))
        goto fail;
    if (role.p) {
        req->principal.role = wh_role_parse(role.p, role.n);
        if (!req->principal.role)
            goto fail;
    }
    const msgpack_object *orgs = wh_msg_get(pr, "orgs");
    if (orgs) {
        if (orgs->type != MSGPACK_OBJECT_ARRAY || orgs->via.array.size > WH_ENV_MAX_ORGS)
            goto fail;
        for (uint32_t i = 0; i < orgs->via.array.size; i++)
            if (!wh_msg_is_str(&orgs->via.array.ptr[i]))
                goto fail;
        req->principal.orgs = orgs;
    }
    if (!wh_msg_int(wh_msg_get(root, "deadline_ms"), &req->deadline_ms))
        goto fail;
    if (!optional_str(wh_msg_get(root, "idempotency_key"), &req->idempotency_key) ||
        !optional_str(wh_msg_get(root, "if_match"), &req->if_match) ||
        !optional_str(wh_msg_get(root, "accept"), &req->accept))
        goto fail;
    const msgpack_object *params = wh_msg_get(root, "params");
    static const msgpack_object empty_map = {.type = MSGPACK_OBJECT_MAP};
    if (params) {
        if (params->type != MSGPACK_OBJECT_MAP)
            goto fail;
        for (uint32_t i = 0; i < params->via.map.size; i++)
            if (!wh_msg_is_str(&params->via.map.ptr[i].key) ||
                !wh_msg_is_str(&params->via.map.ptr[i].val))
                goto fail;
        req->params = params;
    } else {
        req->params = &empty_map;
    }
    req->body = wh_msg_get(root, "body");
    if (req->body && wh_msg_is_nil(req->body))
        req->body = NULL;
    return 0;

fail:
    wh_msg_close(&req->msg);
    return WH_EPROTO;
}

void wh_request_close(wh_request_t *req)
{
    wh_msg_close(&req->msg);
}

wh_str_t wh_request_param(const wh_request_t *req, const char *name)
{
    return wh_msg_str(wh_msg_get(req->params, name));
}

bool wh_request_has_org(const wh_request_t *req, wh_str_t org)
{
    if (req->principal.role == WH_ROLE_ADMIN)
        return true;
    const msgpack_object *orgs = req->principal.orgs;
    if (!orgs || !org.p)
        return false;
    for (uint32_t i = 0; i < orgs->via.array.size; i++) {
        wh_str_t o = wh_msg_str(&orgs->via.array.ptr[i]);
        if (o.n == org.n && memcmp(o.p, org.p, org.n) == 0)
            return true;
    }
    return false;
}

void wh_request_pack(wh_buf_t *out, int op, const char *id, const char *token_id, unsigned role,
                     const char *const *orgs, size_t n_orgs, int64_t deadline_ms,
                     const char *idempotency_key, const char *if_match, const wh_param_t *params,
                     size_t n_params, const char *body, size_t body_len)
{
    wh_request_pack_accept(out, op, id, token_id, role, orgs, n_orgs, deadline_ms,
                           idempotency_key, if_match, NULL, params, n_params, body, body_len);
}

void wh_request_pack_accept(wh_buf_t *out, int op, const char *id, const char *token_id,
                            unsigned role, const char *const *orgs, size_t n_orgs,
                            int64_t deadline_ms, const char *idempotency_key,
                            const char *if_match, const char *accept, const wh_param_t *params,
                            size_t n_params, const char *body, size_t body_len)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    msgpack_pack_map(&pk, 6 + (idempotency_key != NULL) + (if_match != NULL) +
                              (accept != NULL) + (body != NULL));
    wh_msg_kv_int(&pk, "v", WH_PROTO_VERSION);
    wh_msg_kv_str(&pk, "id", id);
    wh_msg_kv_str(&pk, "op", wh_ops[op].name);
    wh_msg_pack_str(&pk, "principal");
    msgpack_pack_map(&pk, 3);
    wh_msg_kv_str(&pk, "token_id", token_id);
    wh_msg_kv_str(&pk, "role", role ? wh_role_name(role) : NULL);
    wh_msg_pack_str(&pk, "orgs");
    msgpack_pack_array(&pk, n_orgs);
    for (size_t i = 0; i < n_orgs; i++)
        wh_msg_pack_str(&pk, orgs[i]);
    wh_msg_kv_int(&pk, "deadline_ms", deadline_ms);
    if (idempotency_key)
        wh_msg_kv_str(&pk, "idempotency_key", idempotency_key);
    if (if_match)
        wh_msg_kv_str(&pk, "if_match", if_match);
    if (accept)
        wh_msg_kv_str(&pk, "accept", accept);
    wh_msg_pack_str(&pk, "params");
    msgpack_pack_map(&pk, n_params);
    for (size_t i = 0; i < n_params; i++) {
        wh_msg_pack_str(&pk, params[i].name);
        wh_msg_pack_wstr(&pk, params[i].value);
    }
    if (body) {
        wh_msg_pack_str(&pk, "body");
        wh_buf_append(out, body, body_len);
    }
}
