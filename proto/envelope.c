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
    enum { V, OP, ID, PRINCIPAL, DEADLINE, IDEM, IF_MATCH, ACCEPT, PARAMS, BODY, N_FIELDS };
    static const wh_str_t names[N_FIELDS] = {
        WH_STR("v"),         WH_STR("op"),          WH_STR("id"),
        WH_STR("principal"), WH_STR("deadline_ms"), WH_STR("idempotency_key"),
        WH_STR("if_match"),  WH_STR("accept"),      WH_STR("params"),
        WH_STR("body"),
    };
    const msgpack_object *f[N_FIELDS];
    wh_msg_get_many(root, names, N_FIELDS, f);
    int64_t v;
    if (root->type != MSGPACK_OBJECT_MAP || !wh_msg_int(f[V], &v) || v != WH_PROTO_VERSION)
        goto fail;
    wh_str_t op = wh_msg_str(f[OP]);
    if (!op.p || (req->op = wh_op_find(op.p, op.n)) < 0)
        goto fail;
    if (wh_msg_copy_str(f[ID], req->id, sizeof req->id) != 0)
        goto fail;
    const msgpack_object *pr = f[PRINCIPAL];
    if (!pr || pr->type != MSGPACK_OBJECT_MAP)
        goto fail;
    enum { TOKEN_ID, ROLE, ORGS, N_PRINCIPAL };
    static const wh_str_t pnames[N_PRINCIPAL] = {WH_STR("token_id"), WH_STR("role"),
                                                 WH_STR("orgs")};
    const msgpack_object *pf[N_PRINCIPAL];
    wh_msg_get_many(pr, pnames, N_PRINCIPAL, pf);
    const msgpack_object *tid = pf[TOKEN_ID];
    if (tid && !wh_msg_is_nil(tid) &&
        wh_msg_copy_str(tid, req->principal.token_id, sizeof req->principal.token_id) != 0)
        goto fail;
    wh_str_t role;
    if (!optional_str(pf[ROLE], &role))
        goto fail;
    if (role.p) {
        req->principal.role = wh_role_parse(role.p, role.n);
        if (!req->principal.role)
            goto fail;
    }
    const msgpack_object *orgs = pf[ORGS];
    if (orgs) {
        if (orgs->type != MSGPACK_OBJECT_ARRAY || orgs->via.array.size > WH_ENV_MAX_ORGS)
            goto fail;
        for (uint32_t i = 0; i < orgs->via.array.size; i++)
            if (!wh_msg_is_str(&orgs->via.array.ptr[i]))
                goto fail;
        req->principal.orgs = orgs;
    }
    if (!wh_msg_int(f[DEADLINE], &req->deadline_ms))
        goto fail;
    if (!optional_str(f[IDEM], &req->idempotency_key) ||
        !optional_str(f[IF_MATCH], &req->if_match) || !optional_str(f[ACCEPT], &req->accept))
        goto fail;
    const msgpack_object *params = f[PARAMS];
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
    req->body = f[BODY];
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

void wh_request_pack(wh_buf_t *out, const wh_request_out_t *r)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    msgpack_pack_map(&pk, 6 + (r->idempotency_key != NULL) + (r->if_match != NULL) +
                              (r->accept != NULL) + (r->body != NULL));
    wh_msg_kv_int(&pk, "v", WH_PROTO_VERSION);
    wh_msg_kv_str(&pk, "id", r->id);
    wh_msg_kv_str(&pk, "op", wh_ops[r->op].name);
    wh_msg_pack_str(&pk, "principal");
    msgpack_pack_map(&pk, 3);
    wh_msg_kv_str(&pk, "token_id", r->token_id);
    wh_msg_kv_str(&pk, "role", r->role ? wh_role_name(r->role) : NULL);
    wh_msg_pack_str(&pk, "orgs");
    msgpack_pack_array(&pk, r->n_orgs);
    for (size_t i = 0; i < r->n_orgs; i++)
        wh_msg_pack_str(&pk, r->orgs[i]);
    wh_msg_kv_int(&pk, "deadline_ms", r->deadline_ms);
    if (r->idempotency_key)
        wh_msg_kv_str(&pk, "idempotency_key", r->idempotency_key);
    if (r->if_match)
        wh_msg_kv_str(&pk, "if_match", r->if_match);
    if (r->accept)
        wh_msg_kv_str(&pk, "accept", r->accept);
    wh_msg_pack_str(&pk, "params");
    msgpack_pack_map(&pk, r->n_params);
    for (size_t i = 0; i < r->n_params; i++) {
        wh_msg_pack_str(&pk, r->params[i].name);
        wh_msg_pack_wstr(&pk, r->params[i].value);
    }
    if (r->body) {
        wh_msg_pack_str(&pk, "body");
        wh_buf_append(out, r->body, r->body_len);
    }
}

void wh_reply_env_pack(wh_buf_t *out, const wh_reply_out_t *r)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    bool err = r->status >= 400;
    bool body = !err && r->body;
    bool raw = body && r->content_type;
    msgpack_pack_map(&pk, 3 + (r->etag != NULL) + (body || err) + (r->retry_after_s > 0) + raw);
    wh_msg_kv_int(&pk, "v", WH_PROTO_VERSION);
    wh_msg_kv_str(&pk, "id", r->id);
    wh_msg_kv_int(&pk, "status", r->status);
    if (r->etag)
        wh_msg_kv_str(&pk, "etag", r->etag);
    if (r->retry_after_s > 0)
        wh_msg_kv_int(&pk, "retry_after", r->retry_after_s);
    if (raw)
        wh_msg_kv_str(&pk, "content_type", r->content_type);
    if (body) {
        wh_msg_pack_str(&pk, "body");
        wh_buf_append(out, r->body, r->body_len);
    } else if (err) {
        wh_problem_t p = r->problem;
        p.status = r->status;
        wh_msg_pack_str(&pk, "error");
        wh_problem_pack(&pk, out, &p, r->errors, r->errors_len, r->n_errors);
    }
}

/* A string that can become a header value: no control characters. */
static bool header_value(wh_str_t s, size_t max)
{
    if (!s.p || s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
            return false;
    return true;
}

int wh_reply_env_decode(const char *data, size_t len, wh_reply_in_t *r)
{
    memset(r, 0, sizeof *r);
    int rc = wh_msg_decode(data, len, &r->msg);
    if (rc != 0)
        return rc;
    const msgpack_object *root = r->msg.root;
    enum { STATUS, ID, ETAG, RETRY, CTYPE, BODY, ERROR, N_FIELDS };
    static const wh_str_t names[N_FIELDS] = {
        WH_STR("status"),       WH_STR("id"),   WH_STR("etag"),  WH_STR("retry_after"),
        WH_STR("content_type"), WH_STR("body"), WH_STR("error"),
    };
    const msgpack_object *f[N_FIELDS];
    wh_msg_get_many(root, names, N_FIELDS, f);
    int64_t status;
    if (!wh_msg_int(f[STATUS], &status) || status < 100 || status > 599) {
        rc = WH_EPROTO;
        goto fail;
    }
    r->status = (int)status;
    r->id = wh_msg_str(f[ID]);
    r->etag = wh_msg_str(f[ETAG]);
    if (r->etag.n > WH_ENV_MAX_ETAG)
        r->etag = (wh_str_t){NULL, 0};
    if (!wh_msg_int(f[RETRY], &r->retry_after_s) || r->retry_after_s < 0)
        r->retry_after_s = 0;
    r->content_type = wh_msg_str(f[CTYPE]);
    if (!header_value(r->content_type, WH_ENV_MAX_CONTENT_TYPE))
        r->content_type = (wh_str_t){NULL, 0};
    r->body = f[BODY];
    const msgpack_object *err = f[ERROR];
    r->problem.status = r->status;
    enum { TYPE, TITLE, DETAIL, ERRORS, N_ERROR };
    static const wh_str_t enames[N_ERROR] = {WH_STR("type"), WH_STR("title"), WH_STR("detail"),
                                             WH_STR("errors")};
    const msgpack_object *ef[N_ERROR];
    wh_msg_get_many(err, enames, N_ERROR, ef);
    r->problem.type = wh_msg_str(ef[TYPE]);
    r->problem.title = wh_msg_str(ef[TITLE]);
    r->problem.detail = wh_msg_str(ef[DETAIL]);
    const msgpack_object *errors = ef[ERRORS];
    if (errors && errors->type == MSGPACK_OBJECT_ARRAY) {
        if (errors->via.array.size > WH_PROBLEM_MAX_ERRORS) {
            rc = WH_ELIMIT;
            goto fail;
        }
        r->errors = errors;
    }
    return 0;

fail:
    wh_msg_close(&r->msg);
    return rc;
}

void wh_reply_env_close(wh_reply_in_t *r)
{
    if (r->msg.root)
        wh_msg_close(&r->msg);
}
