/* The gateway process: configuration, the loop, signals. */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>

#include "config.h"
#include "gateway.h"
#include "log.h"
#include "msg.h"

#define GATEWAY_HEAP_KEEP_BYTES (32 * 1024 * 1024)

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
    /* A large body becomes tens of thousands of small JSON values freed
     * together. With glibc's defaults the heap top went back to the kernel
     * after each such request and was faulted in again for the next, which
     * nearly doubled the gateway's CPU time on 1,000-item screening
     * batches. Buffers up to a whole message come from the heap, and up to
     * GATEWAY_HEAP_KEEP_BYTES of free heap is kept. */
    mallopt(M_MMAP_THRESHOLD, WH_MSG_MAX_BYTES);
    mallopt(M_TRIM_THRESHOLD, GATEWAY_HEAP_KEEP_BYTES);
    if (wh_config_load(&cfg, "gateway") != 0)
        return 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gateway_t *gw;
    if (gateway_new(&loop, &cfg, &gw) != 0) {
        /* The loop's own allocations go too, or a refused configuration
         * reads as a leak under LeakSanitizer. */
        uv_walk(&loop, close_walk, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
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
