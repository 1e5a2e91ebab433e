#include "definition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "valid.h"

const char *const def_languages[DEF_N_LANGS + 1] = {"de", "en", "sv", NULL};

static const char *const dim_fields[] = {"key", "title", "higher_is_better", NULL};
static const char *const question_fields[] = {"key", "dimension", "text", "scale", "reverse", NULL};
static const char *const scale_fields[] = {"min", "max", NULL};
static const char *const unit_fields[] = {"key", "name", "parent", NULL};

int def_lang_index(wh_str_t code)
{
    for (int i = 0; i < DEF_N_LANGS; i++)
        if (code.p && wh_str_eq(code, def_languages[i]))
            return i;
    return -1;
}

bool def_has_lang(const survey_def_t *d, int lang)
{
    for (int i = 0; i < d->n_langs; i++)
        if (d->langs[i] == lang)
            return true;
    return false;
}

static bool str_same(wh_str_t a, wh_str_t b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int def_find_question(const survey_def_t *d, wh_str_t key)
{
    for (int i = 0; i < d->n_questions; i++)
        if (str_same(d->questions[i].key, key))
            return i;
    return -1;
}

int def_find_unit(const survey_def_t *d, wh_str_t key)
{
    for (int i = 0; i < d->n_units; i++)
        if (str_same(d->units[i].key, key))
            return i;
    return -1;
}

int def_find_dim(const survey_def_t *d, wh_str_t key)
{
    for (int i = 0; i < d->n_dims; i++)
        if (str_same(d->dims[i].key, key))
            return i;
    return -1;
}

bool def_unit_within(const survey_def_t *d, int u, int a)
{
    for (int steps = 0; u >= 0 && steps <= DEF_MAX_UNIT_DEPTH; steps++, u = d->units[u].parent)
        if (u == a)
            return true;
    return false;
}

/* Keys are what clients use in answers and CSV columns: a conservative
 * alphabet keeps them free of JSON pointer and spreadsheet escapes. */
static bool key_ok(wh_str_t k)
{
    if (k.n < 1 || k.n > DEF_MAX_KEY)
        return false;
    for (size_t i = 0; i < k.n; i++) {
        char c = k.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool valid_key(wh_valid_t *v, const char *field, wh_str_t *out)
{
    if (wh_valid_str(v, field, WH_V_REQUIRED, 1, DEF_MAX_KEY, out) != WH_V_SET)
        return false;
    if (!key_ok(*out)) {
        char ptr[200];
        wh_valid_pointer(v, field, ptr, sizeof ptr);
        wh_reply_field(v->rep, ptr, "must be 1 to %d letters, digits, '_', '-' or '.'",
                       DEF_MAX_KEY);
        return false;
    }
    return true;
}

/* A text given per language: {de: "...", en: "..."} with every language of
 * the survey and no other. */
static void valid_text(const survey_def_t *d, wh_valid_t *parent, const char *field, size_t max_len,
                       unsigned flags, def_text_t *out)
{
    memset(out, 0, sizeof *out);
    const msgpack_object *o = wh_msg_get(parent->obj, field);
    char ptr[200];
    wh_valid_pointer(parent, field, ptr, sizeof ptr);
    if (!o) {
        wh_reply_field(parent->rep, ptr, "is required");
        return;
    }
    wh_valid_t tv;
    if (!wh_valid_init(&tv, parent->rep, o, ptr))
        return;
    const char *known[DEF_N_LANGS + 1] = {0};
    for (int i = 0; i < d->n_langs; i++)
        known[i] = def_languages[d->langs[i]];
    wh_valid_only(&tv, known);
    for (int i = 0; i < d->n_langs; i++)
        wh_valid_str(&tv, def_languages[d->langs[i]], WH_V_REQUIRED | flags, 1, max_len,
                     &out->t[d->langs[i]]);
}

static bool parse_languages(survey_def_t *d, const msgpack_object *o, wh_reply_t *rep)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
        o->via.array.size > DEF_N_LANGS) {
        wh_reply_field(rep, "/languages", "must be a list of 1 to %d of de, en, sv", DEF_N_LANGS);
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        int l = def_lang_index(wh_msg_str(&o->via.array.ptr[i]));
        char ptr[32];
        snprintf(ptr, sizeof ptr, "/languages/%u", i);
        if (l < 0) {
            wh_reply_field(rep, ptr, "must be one of de, en, sv");
            ok = false;
        } else if (def_has_lang(d, l)) {
            wh_reply_field(rep, ptr, "is listed twice");
            ok = false;
        } else {
            d->langs[d->n_langs++] = l;
        }
    }
    return ok;
}

/* Checks that an array field holds between min and max objects. */
static bool valid_list(const msgpack_object *o, const char *name, uint32_t min, uint32_t max,
                       wh_reply_t *rep)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY) {
        wh_reply_field(rep, name, "must be a list");
        return false;
    }
    if (o->via.array.size < min || o->via.array.size > max) {
        wh_reply_field(rep, name, "must have %u to %u entries", min, max);
        return false;
    }
    return true;
}

static void parse_dimensions(survey_def_t *d, const msgpack_object *o, wh_reply_t *rep)
{
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        def_dimension_t *dim = &d->dims[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "/dimensions/%u", i);
        wh_valid_t v;
        if (!wh_valid_init(&v, rep, &o->via.array.ptr[i], prefix))
            continue;
        wh_valid_only(&v, dim_fields);
        if (valid_key(&v, "key", &dim->key))
            for (uint32_t j = 0; j < i; j++)
                if (d->dims[j].key.p && str_same(d->dims[j].key, dim->key)) {
                    char ptr[96];
                    snprintf(ptr, sizeof ptr, "%s/key", prefix);
                    wh_reply_field(rep, ptr, "is used by another dimension");
                }
        valid_text(d, &v, "title", DEF_MAX_NAME, 0, &dim->title);
        wh_valid_bool(&v, "higher_is_better", WH_V_REQUIRED, &dim->higher_is_better);
    }
}

static void parse_questions(survey_def_t *d, const msgpack_object *o, wh_reply_t *rep)
{
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        def_question_t *q = &d->questions[i];
        q->dim = -1;
        char prefix[64], ptr[96];
        snprintf(prefix, sizeof prefix, "/questions/%u", i);
        wh_valid_t v;
        if (!wh_valid_init(&v, rep, &o->via.array.ptr[i], prefix))
            continue;
        wh_valid_only(&v, question_fields);
        if (valid_key(&v, "key", &q->key))
            for (uint32_t j = 0; j < i; j++)
                if (d->questions[j].key.p && str_same(d->questions[j].key, q->key)) {
                    snprintf(ptr, sizeof ptr, "%s/key", prefix);
                    wh_reply_field(rep, ptr, "is used by another question");
                }
        wh_str_t dim;
        if (wh_valid_str(&v, "dimension", WH_V_REQUIRED, 1, DEF_MAX_KEY, &dim) == WH_V_SET &&
            (q->dim = def_find_dim(d, dim)) < 0) {
            snprintf(ptr, sizeof ptr, "%s/dimension", prefix);
            wh_reply_field(rep, ptr, "is not a key of the survey's dimensions");
        }
        valid_text(d, &v, "text", DEF_MAX_TEXT, WH_V_MULTILINE, &q->text);
        q->reverse = false;
        wh_valid_bool(&v, "reverse", 0, &q->reverse);
        const msgpack_object *sc = wh_msg_get(v.obj, "scale");
        snprintf(ptr, sizeof ptr, "%s/scale", prefix);
        wh_valid_t sv;
        if (!sc) {
            wh_reply_field(rep, ptr, "is required");
        } else if (wh_valid_init(&sv, rep, sc, ptr)) {
            wh_valid_only(&sv, scale_fields);
            int64_t mn = 0, mx = 0;
            bool ok = wh_valid_int(&sv, "min", WH_V_REQUIRED, DEF_SCALE_MIN, DEF_SCALE_MAX, &mn) ==
                      WH_V_SET;
            ok = wh_valid_int(&sv, "max", WH_V_REQUIRED, DEF_SCALE_MIN, DEF_SCALE_MAX, &mx) ==
                     WH_V_SET &&
                 ok;
            if (ok && mn >= mx) {
                snprintf(ptr, sizeof ptr, "%s/scale/max", prefix);
                wh_reply_field(rep, ptr, "must be greater than min");
            }
            q->min = (int)mn;
            q->max = (int)mx;
        }
    }
}

static void parse_units(survey_def_t *d, const msgpack_object *o, wh_reply_t *rep)
{
    wh_str_t parents[DEF_MAX_UNITS];
    int before = rep->n_errors;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        def_unit_t *u = &d->units[i];
        u->parent = -1;
        parents[i] = (wh_str_t){0};
        char prefix[64], ptr[96];
        snprintf(prefix, sizeof prefix, "/units/%u", i);
        wh_valid_t v;
        if (!wh_valid_init(&v, rep, &o->via.array.ptr[i], prefix))
            continue;
        wh_valid_only(&v, unit_fields);
        if (valid_key(&v, "key", &u->key))
            for (uint32_t j = 0; j < i; j++)
                if (d->units[j].key.p && str_same(d->units[j].key, u->key)) {
                    snprintf(ptr, sizeof ptr, "%s/key", prefix);
                    wh_reply_field(rep, ptr, "is used by another unit");
                }
        wh_valid_str(&v, "name", WH_V_REQUIRED, 1, DEF_MAX_NAME, &u->name);
        wh_valid_str(&v, "parent", WH_V_NULLABLE, 1, DEF_MAX_KEY, &parents[i]);
    }
    if (rep->n_errors != before)
        return;
    for (int i = 0; i < d->n_units; i++) {
        if (!parents[i].p)
            continue;
        char ptr[96];
        snprintf(ptr, sizeof ptr, "/units/%d/parent", i);
        if ((d->units[i].parent = def_find_unit(d, parents[i])) < 0)
            wh_reply_field(rep, ptr, "is not a key of another unit");
        else if (d->units[i].parent == i)
            wh_reply_field(rep, ptr, "must not be the unit itself");
    }
    if (rep->n_errors != before)
        return;
    for (int i = 0; i < d->n_units; i++) {
        int depth = 1;
        for (int p = d->units[i].parent; p >= 0 && depth <= d->n_units; p = d->units[p].parent)
            depth++;
        d->units[i].depth = depth;
        char ptr[96];
        snprintf(ptr, sizeof ptr, "/units/%d/parent", i);
        if (depth > d->n_units)
            wh_reply_field(rep, ptr, "makes the units a cycle");
        else if (depth > DEF_MAX_UNIT_DEPTH)
            wh_reply_field(rep, ptr, "nests units deeper than %d levels", DEF_MAX_UNIT_DEPTH);
    }
    if (rep->n_errors != before)
        return;
    /* Parents first: ordered by depth, stable within a level. */
    int o_n = 0;
    for (int depth = 1; depth <= DEF_MAX_UNIT_DEPTH; depth++)
        for (int i = 0; i < d->n_units; i++)
            if (d->units[i].depth == depth)
                d->unit_order[o_n++] = i;
}

bool def_parse(survey_def_t *d, const msgpack_object *languages, const msgpack_object *dimensions,
               const msgpack_object *questions, const msgpack_object *units, wh_reply_t *rep)
{
    memset(d, 0, sizeof *d);
    int errors_before = rep->n_errors;
    bool langs_ok = parse_languages(d, languages, rep);
    bool dims_ok = valid_list(dimensions, "/dimensions", 1, DEF_MAX_DIMENSIONS, rep);
    bool qs_ok = valid_list(questions, "/questions", 1, DEF_MAX_QUESTIONS, rep);
    bool units_ok = !units || units->type == MSGPACK_OBJECT_NIL ||
                    valid_list(units, "/units", 0, DEF_MAX_UNITS, rep);
    if (!langs_ok || !dims_ok || !qs_ok || !units_ok)
        return false;
    d->n_dims = (int)dimensions->via.array.size;
    d->n_questions = (int)questions->via.array.size;
    d->n_units = units && units->type == MSGPACK_OBJECT_ARRAY ? (int)units->via.array.size : 0;
    d->dims = calloc((size_t)d->n_dims, sizeof *d->dims);
    d->questions = calloc((size_t)d->n_questions, sizeof *d->questions);
    d->units = calloc((size_t)d->n_units + 1, sizeof *d->units);
    d->unit_order = calloc((size_t)d->n_units + 1, sizeof *d->unit_order);
    if (!d->dims || !d->questions || !d->units || !d->unit_order) {
        def_close(d);
        wh_reply_problem(rep, 500, "internal", "out of memory");
        return false;
    }
    parse_dimensions(d, dimensions, rep);
    parse_questions(d, questions, rep);
    if (d->n_units)
        parse_units(d, units, rep);
    /* A dimension without questions could never be reported. */
    if (rep->n_errors == errors_before)
        for (int i = 0; i < d->n_dims; i++) {
            bool used = false;
            for (int q = 0; q < d->n_questions && !used; q++)
                used = d->questions[q].dim == i;
            if (!used) {
                char ptr[48];
                snprintf(ptr, sizeof ptr, "/dimensions/%d", i);
                wh_reply_field(rep, ptr, "has no questions");
            }
        }
    if (rep->n_errors != errors_before || rep->status >= 400) {
        def_close(d);
        return false;
    }
    return true;
}

static void pack_text(const survey_def_t *d, msgpack_packer *pk, const def_text_t *t)
{
    msgpack_pack_map(pk, (size_t)d->n_langs);
    for (int i = 0; i < d->n_langs; i++) {
        wh_msg_pack_str(pk, def_languages[d->langs[i]]);
        wh_msg_pack_wstr(pk, t->t[d->langs[i]]);
    }
}

void def_pack(const survey_def_t *d, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 4);
    wh_msg_pack_str(pk, "languages");
    msgpack_pack_array(pk, (size_t)d->n_langs);
    for (int i = 0; i < d->n_langs; i++)
        wh_msg_pack_str(pk, def_languages[d->langs[i]]);
    wh_msg_pack_str(pk, "dimensions");
    msgpack_pack_array(pk, (size_t)d->n_dims);
    for (int i = 0; i < d->n_dims; i++) {
        const def_dimension_t *dim = &d->dims[i];
        msgpack_pack_map(pk, 3);
        wh_msg_pack_str(pk, "key");
        wh_msg_pack_wstr(pk, dim->key);
        wh_msg_pack_str(pk, "title");
        pack_text(d, pk, &dim->title);
        wh_msg_kv_bool(pk, "higher_is_better", dim->higher_is_better);
    }
    wh_msg_pack_str(pk, "questions");
    msgpack_pack_array(pk, (size_t)d->n_questions);
    for (int i = 0; i < d->n_questions; i++) {
        const def_question_t *q = &d->questions[i];
        msgpack_pack_map(pk, 5);
        wh_msg_pack_str(pk, "key");
        wh_msg_pack_wstr(pk, q->key);
        wh_msg_pack_str(pk, "dimension");
        wh_msg_pack_wstr(pk, d->dims[q->dim].key);
        wh_msg_pack_str(pk, "text");
        pack_text(d, pk, &q->text);
        wh_msg_pack_str(pk, "scale");
        msgpack_pack_map(pk, 2);
        wh_msg_kv_int(pk, "min", q->min);
        wh_msg_kv_int(pk, "max", q->max);
        wh_msg_kv_bool(pk, "reverse", q->reverse);
    }
    wh_msg_pack_str(pk, "units");
    msgpack_pack_array(pk, (size_t)d->n_units);
    for (int i = 0; i < d->n_units; i++) {
        const def_unit_t *u = &d->units[i];
        msgpack_pack_map(pk, 3);
        wh_msg_pack_str(pk, "key");
        wh_msg_pack_wstr(pk, u->key);
        wh_msg_pack_str(pk, "name");
        wh_msg_pack_wstr(pk, u->name);
        wh_msg_pack_str(pk, "parent");
        if (u->parent >= 0)
            wh_msg_pack_wstr(pk, d->units[u->parent].key);
        else
            msgpack_pack_nil(pk);
    }
}

int def_load(survey_def_t *d, const void *blob, size_t len)
{
    memset(d, 0, sizeof *d);
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return WH_ENOMEM;
    memcpy(copy, blob, len);
    /* On the heap: the decoded root points into the wh_msg_t itself, so
     * it must not move. */
    wh_msg_t *m = malloc(sizeof *m);
    if (!m || wh_msg_decode(copy, len, m) != 0) {
        free(m);
        free(copy);
        return m ? WH_EPROTO : WH_ENOMEM;
    }
    wh_reply_t rep;
    wh_reply_init(&rep);
    bool ok = def_parse(d, wh_msg_get(m->root, "languages"), wh_msg_get(m->root, "dimensions"),
                        wh_msg_get(m->root, "questions"), wh_msg_get(m->root, "units"), &rep);
    wh_reply_close(&rep);
    if (!ok) {
        wh_msg_close(m);
        free(m);
        free(copy);
        return WH_EPROTO;
    }
    d->blob = copy;
    d->msg = m;
    return 0;
}

void def_close(survey_def_t *d)
{
    free(d->dims);
    free(d->questions);
    free(d->units);
    free(d->unit_order);
    if (d->msg) {
        wh_msg_close(d->msg);
        free(d->msg);
    }
    free(d->blob);
    memset(d, 0, sizeof *d);
}

void def_kv_unit(msgpack_packer *pk, const survey_def_t *d, int u, const char *key_name)
{
    wh_msg_pack_str(pk, key_name);
    wh_msg_pack_wstr(pk, d->units[u].key);
    wh_msg_pack_str(pk, "name");
    wh_msg_pack_wstr(pk, d->units[u].name);
    wh_msg_pack_str(pk, "parent");
    if (d->units[u].parent >= 0)
        wh_msg_pack_wstr(pk, d->units[d->units[u].parent].key);
    else
        msgpack_pack_nil(pk);
}
