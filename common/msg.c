#include "msg.h"

#include <string.h>

#include "err.h"

static uint32_t be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks one msgpack value tree without allocating. pending[d] counts the
 * values still expected at depth d. Every container's declared count must
 * fit in the bytes that remain (each value takes at least one byte), which
 * is what keeps msgpack-c's preallocation proportional to the input. */
int wh_msg_check(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    uint64_t pending[WH_MSG_MAX_DEPTH + 1];
    int depth = 0;
    uint64_t items = 0;
    pending[0] = 1;
    if (len > WH_MSG_MAX_BYTES)
        return WH_ELIMIT;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (p >= end)
            return WH_EPROTO;
        if (++items > WH_MSG_MAX_ITEMS)
            return WH_ELIMIT;
        unsigned b = *p++;
        size_t avail = (size_t)(end - p);
        uint64_t skip = 0;     /* payload bytes to skip */
        uint64_t children = 0; /* values inside a container */
        bool container = false;
        if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3 && b != 0xc1)) {
            /* fixint, nil, false, true */
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2u * (b & 0x0f), container = true;
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f, container = true;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            uint64_t hdr = 0, n = 0;
            switch (b) {
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xc4:
            case 0xd9:
                hdr = 1;
                break;
            case 0xc5:
            case 0xda:
            case 0xdc:
            case 0xde:
                hdr = 2;
                break;
            case 0xc6:
            case 0xdb:
            case 0xdd:
            case 0xdf:
                hdr = 4;
                break;
            default:
                return WH_EPROTO; /* 0xc1 and every extension type */
            }
            if (hdr) {
                if (avail < hdr)
                    return WH_EPROTO;
                n = hdr == 1 ? p[0] : hdr == 2 ? be16(p) : be32(p);
                p += hdr;
                avail -= hdr;
                if (b == 0xdc || b == 0xdd)
                    children = n, container = true;
                else if (b == 0xde || b == 0xdf)
                    children = 2 * n, container = true;
                else {
                    if (n > WH_MSG_MAX_STR)
                        return WH_ELIMIT;
                    skip = n;
                }
            }
        }
        if (skip > avail)
            return WH_EPROTO;
        p += skip;
        if (container) {
            if (children > (uint64_t)(end - p))
                return WH_EPROTO; /* claims more values than bytes remain */
            /* An empty container is a level too: msgpack-c's stack
             * (MSGPACK_EMBED_STACK_SIZE, 32) counts it, so it must count
             * here or decode would fail where the check passed. */
            if (depth + 1 > WH_MSG_MAX_DEPTH)
                return WH_ELIMIT;
            if (children > 0)
                pending[++depth] = children;
        }
    }
    return p == end ? 0 : WH_EPROTO;
}

static _Thread_local struct {
    msgpack_zone *zone;
    bool busy;
} kept[WH_MSG_ZONES_KEPT];

static void zone_give(wh_msg_t *m)
{
    if (m->slot > 0) {
        msgpack_zone_clear(m->zone);
        kept[m->slot - 1].busy = false;
    } else if (m->zone) {
        msgpack_zone_free(m->zone);
    }
    m->zone = NULL;
    m->slot = 0;
}

int wh_msg_decode(const char *data, size_t len, wh_msg_t *m)
{
    m->root = NULL;
    m->zone = NULL;
    m->slot = 0;
    int rc = wh_msg_check(data, len);
    if (rc != 0)
        return rc;
    if (len <= WH_MSG_ZONE_KEEP_BYTES)
        for (int i = 0; i < WH_MSG_ZONES_KEPT; i++) {
            if (kept[i].busy)
                continue;
            if (!kept[i].zone && !(kept[i].zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
                break;
            kept[i].busy = true;
            m->zone = kept[i].zone;
            m->slot = i + 1;
            break;
        }
    if (!m->zone && !(m->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
        return WH_ENOMEM;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(data, len, &off, m->zone, &m->obj);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        zone_give(m);
        return ur == MSGPACK_UNPACK_NOMEM_ERROR ? WH_ENOMEM : WH_EPROTO;
    }
    m->root = &m->obj;
    return 0;
}

void wh_msg_close(wh_msg_t *m)
{
    zone_give(m);
    m->root = NULL;
}

void wh_msg_get_many(const msgpack_object *map, const wh_str_t *keys, size_t n,
                     const msgpack_object **out)
{
    for (size_t j = 0; j < n; j++)
        out[j] = NULL;
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        for (size_t j = 0; j < n; j++)
            if (!out[j] && k->via.str.size == keys[j].n &&
                memcmp(k->via.str.ptr, keys[j].p, keys[j].n) == 0) {
                out[j] = &map->via.map.ptr[i].val;
                break;
            }
    }
}

const msgpack_object *wh_msg_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kn = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kn &&
            memcmp(k->via.str.ptr, key, kn) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

bool wh_msg_is_str(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_STR;
}

bool wh_msg_is_nil(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_NIL;
}

wh_str_t wh_msg_str(const msgpack_object *o)
{
    if (!wh_msg_is_str(o))
        return (wh_str_t){NULL, 0};
    return (wh_str_t){o->via.str.ptr, o->via.str.size};
}

bool wh_str_eq(wh_str_t a, const char *s)
{
    size_t n = strlen(s);
    return a.p && a.n == n && memcmp(a.p, s, n) == 0;
}

bool wh_msg_str_eq(const msgpack_object *o, const char *s)
{
    return wh_str_eq(wh_msg_str(o), s);
}

bool wh_msg_int(const msgpack_object *o, int64_t *out)
{
    if (!o)
        return false;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX)
            return false;
        *out = (int64_t)o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = o->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        double d = o->via.f64;
        if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
            return false;
        *out = (int64_t)d;
        return true;
    }
    default:
        return false;
    }
}

int wh_msg_copy_str(const msgpack_object *o, char *out, size_t cap)
{
    if (!wh_msg_is_str(o))
        return WH_ETYPE;
    if (o->via.str.size >= cap)
        return WH_ELIMIT;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return 0;
}

static int buf_write(void *data, const char *p, size_t n)
{
    wh_buf_t *b = data;
    wh_buf_append(b, p, n);
    return wh_buf_failed(b) ? -1 : 0;
}

void wh_msg_writer_init(msgpack_packer *pk, wh_buf_t *buf)
{
    msgpack_packer_init(pk, buf, buf_write);
}

void wh_msg_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void wh_msg_pack_csv(msgpack_packer *pk, const char *list)
{
    size_t n = *list ? 1 : 0;
    for (const char *c = list; *c; c++)
        n += *c == ',';
    msgpack_pack_array(pk, n);
    const char *s = list;
    while (n--) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        wh_msg_pack_strn(pk, s, len);
        s += len + 1;
    }
}

void wh_msg_pack_str(msgpack_packer *pk, const char *s)
{
    if (!s)
        msgpack_pack_nil(pk);
    else
        wh_msg_pack_strn(pk, s, strlen(s));
}

void wh_msg_pack_wstr(msgpack_packer *pk, wh_str_t s)
{
    if (!s.p)
        msgpack_pack_nil(pk);
    else
        wh_msg_pack_strn(pk, s.p, s.n);
}

void wh_msg_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    wh_msg_pack_str(pk, key);
    wh_msg_pack_str(pk, val);
}

void wh_msg_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t n)
{
    wh_msg_pack_str(pk, key);
    if (!val)
        msgpack_pack_nil(pk);
    else
        wh_msg_pack_strn(pk, val, n);
}

void wh_msg_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
    wh_msg_pack_str(pk, key);
    msgpack_pack_int64(pk, val);
}

void wh_msg_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
    wh_msg_pack_str(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void wh_msg_kv_nil(msgpack_packer *pk, const char *key)
{
    wh_msg_pack_str(pk, key);
    msgpack_pack_nil(pk);
}

void wh_msg_pack_obj(msgpack_packer *pk, const msgpack_object *o)
{
    msgpack_pack_object(pk, *o);
}
