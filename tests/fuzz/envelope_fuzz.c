/* Fuzz target for the msgpack bounds checker and the envelope decoders:
 * arbitrary bytes go through wh_request_decode (and the request's accessors
 * when it decodes), through wh_reply_env_decode (and the problem's JSON form
 * when it decodes), and through wh_msg_decode; a value that
 * decodes must pack again (wh_msg_pack_obj) into bytes that are no longer
 * than the input, pass the checker, decode, and pack to the very same bytes
 * a second time. Besides the sanitizers, a broken property aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "msg.h"
#include "problem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void repack(const msgpack_object *o, wh_buf_t *out)
{
    msgpack_packer pk;
    wh_buf_init(out);
    wh_msg_writer_init(&pk, out);
    wh_msg_pack_obj(&pk, o);
    if (wh_buf_failed(out))
        abort();
}

static void request(const char *p, size_t n)
{
    wh_request_t req;
    int rc = wh_request_decode(p, n, &req);
    if (rc != 0) {
        /* Inputs this small never exhaust memory: ENOMEM would mean the
         * checker let through what msgpack-c then refused. */
        if (rc != WH_EPROTO && rc != WH_ELIMIT)
            abort();
        return;
    }
    if (req.op < 0 || req.op >= WH_OP_COUNT || req.params == NULL ||
        req.params->type != MSGPACK_OBJECT_MAP || strlen(req.id) > WH_ENV_MAX_ID ||
        strlen(req.principal.token_id) > WH_ENV_MAX_TOKEN_ID)
        abort();
    /* Every parameter the decoder accepted is a string pair. */
    for (uint32_t i = 0; i < req.params->via.map.size; i++) {
        wh_str_t k = wh_msg_str(&req.params->via.map.ptr[i].key);
        wh_str_t v = wh_msg_str(&req.params->via.map.ptr[i].val);
        if (!k.p || !v.p)
            abort();
    }
    wh_str_t id = wh_request_param(&req, "id");
    (void)wh_request_has_org(&req, id);
    if (req.principal.orgs) {
        if (req.principal.orgs->via.array.size > WH_ENV_MAX_ORGS)
            abort();
        for (uint32_t i = 0; i < req.principal.orgs->via.array.size; i++)
            if (req.principal.role != WH_ROLE_ADMIN &&
                !wh_request_has_org(&req, wh_msg_str(&req.principal.orgs->via.array.ptr[i])))
                abort();
    }
    wh_request_close(&req);
}

static void reply(const char *p, size_t n)
{
    wh_reply_in_t r;
    int rc = wh_reply_env_decode(p, n, &r);
    if (rc != 0) {
        if (rc != WH_EPROTO && rc != WH_ELIMIT)
            abort();
        return;
    }
    if (r.status < 100 || r.status > 599 || r.etag.n > WH_ENV_MAX_ETAG ||
        r.content_type.n > WH_ENV_MAX_CONTENT_TYPE ||
        (r.errors && (r.errors->type != MSGPACK_OBJECT_ARRAY ||
                      r.errors->via.array.size > WH_PROBLEM_MAX_ERRORS)))
        abort();
    wh_buf_t json;
    wh_buf_init(&json);
    (void)wh_problem_json(&json, &r.problem, r.errors);
    wh_buf_close(&json);
    wh_reply_env_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    request(p, size);
    reply(p, size);

    wh_msg_t m;
    int rc = wh_msg_decode(p, size, &m);
    /* The checker and the decoder agree: whatever the checker passes,
     * msgpack-c decodes. */
    if (rc != wh_msg_check(p, size))
        abort();
    if (rc != 0) {
        if (rc != WH_EPROTO && rc != WH_ELIMIT)
            abort();
        return 0;
    }
    wh_buf_t once, twice;
    repack(m.root, &once);
    /* msgpack-c packs the smallest encoding, so never longer. */
    if (once.len > size || wh_msg_check(once.data, once.len) != 0)
        abort();
    wh_msg_t again;
    if (wh_msg_decode(once.data, once.len, &again) != 0)
        abort();
    repack(again.root, &twice);
    if (twice.len != once.len || memcmp(twice.data, once.data, once.len) != 0)
        abort();
    wh_msg_close(&again);
    wh_msg_close(&m);
    wh_buf_close(&once);
    wh_buf_close(&twice);
    return 0;
}
