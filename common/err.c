#include "err.h"

const char *wh_strerror(int err)
{
    switch (err) {
    case WH_OK:
        return "ok";
    case WH_ENOMEM:
        return "out of memory";
    case WH_EINVAL:
        return "invalid input";
    case WH_ELIMIT:
        return "limit exceeded";
    case WH_EPROTO:
        return "protocol error";
    case WH_ENOTFOUND:
        return "not found";
    case WH_ESTORE:
        return "store error";
    case WH_EIO:
        return "i/o error";
    case WH_ETYPE:
        return "wrong type";
    case WH_EJSON:
        return "malformed JSON";
    case WH_ECONFLICT:
        return "conflict";
    case WH_EAGAIN:
        return "try again";
    }
    return "unknown error";
}
