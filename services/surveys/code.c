#include "code.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "id.h"

static const char B32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int code_new(char out[CODE_SHOWN_LEN + 1])
{
    unsigned char r[(CODE_BITS + 7) / 8];
    int rc = wh_random_bytes(r, sizeof r);
    if (rc != 0)
        return rc;
    size_t o = 0;
    for (int i = 0; i < CODE_CHARS; i++) {
        if (i && i % CODE_GROUP == 0)
            out[o++] = '-';
        int bit = i * 5, v = 0;
        for (int b = 0; b < 5; b++, bit++)
            v = v << 1 | ((r[bit / 8] >> (7 - bit % 8)) & 1);
        out[o++] = B32[v];
    }
    out[o] = '\0';
    return 0;
}

bool code_normalize(wh_str_t in, char out[CODE_CHARS + 1])
{
    if (!in.p || in.n > CODE_MAX_INPUT)
        return false;
    int n = 0;
    for (size_t i = 0; i < in.n; i++) {
        char ch = in.p[i];
        if (ch == '-' || ch == ' ')
            continue;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch == 'I' || ch == 'L')
            ch = '1';
        else if (ch == 'O')
            ch = '0';
        if (!strchr(B32, ch) || ch == '\0' || n == CODE_CHARS)
            return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return n == CODE_CHARS;
}

void code_hash(const char *survey_id, const char canonical[CODE_CHARS + 1], char out[65])
{
    char buf[WH_ID_LEN + 1 + CODE_CHARS + 1];
    int n = snprintf(buf, sizeof buf, "%s:%s", survey_id, canonical);
    wh_sha256_hex(buf, (size_t)n, out);
}
