"""The browser test harness works: Chromium starts from the pinned
puppeteer-core, axe-core reports a violation it is shown and none on a
clean page, keyboard walks and screenshots work."""

import os

from browserlib import journey, shots_dir
from stack import run


def test_harness():
    out = journey("harness.mjs")
    assert "harness ok" in out, out
    for w in (360, 1280):
        assert os.path.getsize(os.path.join(shots_dir(), "harness-%d.png" % w)) > 0


if __name__ == "__main__":
    run([test_harness])
