"""Services rejoin a gateway that comes back within a fraction of a second.

A service that cannot reach the broker tries again after
WH_SERVICE_RECONNECT_MS, doubling up to WH_SERVICE_RECONNECT_MAX_MS
(services/runtime/service.h), plus ZeroMQ's jitter of up to one interval.
The gateway is killed, left down for DOWN_S, and started again: every
service must be counted by /readyz within READY_S of the gateway's start,
which a backoff growing to a second (the earlier 100 ms -> 1 s) misses
whatever its phase: its attempts come 1.5-1.9 s and then 2.5-3.0 s after
the gateway went away.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import Stack, run  # noqa: E402

DOWN_S = 1.95
READY_S = 0.5


def ready_now(s):
    try:
        r = s.get("/readyz", token=None, timeout=1)
        return r.status == 200
    except OSError:
        return False


def test_services_rejoin_a_restarted_gateway_at_once():
    with Stack() as s:
        s.kill("gateway")
        time.sleep(DOWN_S)
        t0 = time.time()
        s.start_process("gateway")
        while not ready_now(s):
            assert time.time() - t0 < 10, "not ready 10 s after the gateway's start"
            time.sleep(0.005)
        took = time.time() - t0
        assert took < READY_S, "ready %.0f ms after the gateway's start" % (took * 1000)
        print("ready %.0f ms after the gateway's start" % (took * 1000))


if __name__ == "__main__":
    run([test_services_rejoin_a_restarted_gateway_at_once])
