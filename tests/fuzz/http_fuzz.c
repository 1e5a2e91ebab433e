/* Fuzz target for the gateway's HTTP request parsing: arbitrary bytes go
 * through the server's own llhttp callbacks, limit checks and pipelined
 * response queue on an in-memory connection (wh_http_parse_for_fuzz), fed in
 * chunks of varying size. Besides the sanitizers, the connection aborts if a
 * response leaves out of order or more requests wait than the pipeline limit
 * allows. */
#include <stddef.h>
#include <stdint.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wh_http_parse_for_fuzz(data, size);
    return 0;
}
