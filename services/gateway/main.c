/* The gateway process: configuration, the loop, signals. */
#include <signal.h>
#include <stdlib.h>

#include "config.h"
#include "gateway.h"
#include "log.h"

static void on_signal(uv_signal_t *h, int signum)
{
    wh_log_info("signal %d: stopping", signum);
    uv_stop(h->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int main(void)
{
    wh_config_t cfg;
    signal(SIGPIPE, SIG_IGN);
    if (wh_config_load(&cfg, "gateway") != 0)
        return 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gateway_t *gw;
    if (gateway_new(&loop, &cfg, &gw) != 0)
        return 1;
    uv_signal_t sigint, sigterm;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    wh_log_info("listening on %s (port %d); broker %s", cfg.http_addr, gateway_http_port(gw),
                cfg.broker_bind);
    uv_run(&loop, UV_RUN_DEFAULT);
    gateway_destroy(&gw);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}
