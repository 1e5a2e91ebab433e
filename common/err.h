/* Error codes shared by every module: functions return 0 or a negative WH_E*
 * value and hand results back through pointers. wh_strerror() names a code.
 * Client-facing meaning (HTTP status, problem type) is decided at the edge,
 * not here. */
#ifndef WH_ERR_H
#define WH_ERR_H

enum {
    WH_OK = 0,
    WH_ENOMEM = -1, /* allocation failed */
    WH_EINVAL = -2, /* invalid argument or input */
    WH_ELIMIT = -3, /* a named limit was crossed */
    WH_EPROTO = -4, /* malformed message on the wire */
    WH_ENOTFOUND = -5,
    WH_ESTORE = -6, /* SQLite reported an error */
    WH_EIO = -7,    /* system call failed */
    WH_ETYPE = -8,  /* value present but of the wrong type */
    WH_EJSON = -9,  /* malformed JSON */
    WH_ECONFLICT = -10,
    WH_EAGAIN = -11,
};

const char *wh_strerror(int err);

#endif
