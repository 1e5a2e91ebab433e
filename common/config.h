/* Configuration from the environment, read once at start (docs/ARCHITECTURE.md,
 * "Deployment"). Every store, socket and generated secret lives under the
 * data directory, so that two stacks with different WH_DATA_DIR and
 * WH_HTTP_ADDR run side by side. */
#ifndef WH_CONFIG_H
#define WH_CONFIG_H

#define WH_PATH_MAX 512

typedef struct wh_config {
    char http_addr[128];              /* WH_HTTP_ADDR, default 127.0.0.1:8080 */
    char data_dir[WH_PATH_MAX];       /* WH_DATA_DIR, default ./var; created 0700 */
    char broker_bind[WH_PATH_MAX];    /* WH_BROKER_BIND, default ipc://<data>/broker.ipc */
    char broker_connect[WH_PATH_MAX]; /* WH_BROKER_CONNECT, default the same */
    const char *admin_token;          /* WH_ADMIN_TOKEN or NULL */
    const char *public_url;           /* WH_PUBLIC_URL, default http://<http_addr> */
    const char *smtp_url;             /* WH_SMTP_URL or NULL */
    const char *mail_from;            /* WH_MAIL_FROM, default workhealth@localhost */
    double retry_scale;               /* WH_RETRY_SCALE: multiplies every retry delay; default 1 */
    /* Read here, checked by the notifications service that uses them: */
    const char *webhook_allow;     /* WH_WEBHOOK_ALLOW or NULL: ranges webhooks may reach */
    const char *mail_per_org_hour; /* WH_MAIL_PER_ORG_HOUR or NULL: e-mails per hour */
    /* CurveZMQ on tcp broker links (curve.h): */
    const char *curve_secret;    /* WH_CURVE_SECRET_KEY (Z85) or NULL: own key file */
    const char *broker_public;   /* WH_BROKER_PUBLIC_KEY (Z85) or NULL: <curve_dir>/broker.pub */
    const char *curve_allowed;   /* WH_CURVE_ALLOWED_KEYS "service:KEY ..." or NULL */
    char curve_dir[WH_PATH_MAX]; /* WH_CURVE_DIR, default <data>/curve */
    int broker_insecure;         /* WH_BROKER_INSECURE=1: plain tcp */
} wh_config_t;

/* Fills cfg and creates the data directory. Also initialises the clock
 * (WH_NOW, TZ) and logging (WH_LOG_LEVEL) for the named service. */
int wh_config_load(wh_config_t *cfg, const char *service);
/* WH_RETRY_SCALE's value (a number > 0 and <= 1000); 1 for NULL, empty or
 * invalid (*ok false when invalid). Tests use 0.0001 to run a whole retry
 * schedule in a moment. */
double wh_config_scale_parse(const char *s, int *ok);
/* "<data_dir>/<name>" into out; WH_ELIMIT if it does not fit. */
int wh_config_path(const wh_config_t *cfg, const char *name, char out[WH_PATH_MAX]);

#endif
