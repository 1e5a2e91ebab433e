"""Browser tests: Debian's Chromium driven by npm puppeteer-core, pages
checked with npm axe-core.

The npm packages are pinned (PACKAGES), installed once into a cache
directory ($WH_TOOLS_CACHE, default ~/.cache/workhealth) with the browser
download switched off, and used from there, so later runs need no network.
Chromium is /usr/bin/chromium (deploy/install-deps.sh installs it). Without
node, npm or Chromium a test fails; WH_ALLOW_SKIP=1 turns that into a skip
for a local run on a machine without them (CI never sets it).

A journey is a small ES module next to its Python test. `journey(script,
stack, **args)` runs it with node; the module imports ./lib.mjs, reads its
arguments with `args()` and writes screenshots into shots_dir()."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = ("puppeteer-core@24.37.0", "axe-core@4.11.0")
NODE_MIN = (20, 0)  # puppeteer-core 24 needs node >= 18; the lint test needs 20.19
CHROMIUM = os.environ.get("WH_CHROMIUM", "/usr/bin/chromium")
CACHE = os.environ.get("WH_TOOLS_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "workhealth")
QUIET = {"npm_config_update_notifier": "false", "npm_config_fund": "false",
         "npm_config_audit": "false", "PUPPETEER_SKIP_DOWNLOAD": "1",
         "PUPPETEER_SKIP_CHROME_DOWNLOAD": "1"}
# A journey that has not finished by then has hung (a wait for a selector
# that never comes); the test fails with its output.
JOURNEY_TIMEOUT = 240


def missing(what):
    if os.environ.get("WH_ALLOW_SKIP"):
        print("SKIP: %s (WH_ALLOW_SKIP is set)" % what)
        sys.exit(0)
    raise AssertionError(what + "; run deploy/install-deps.sh and install Node.js >= %d.%d "
                         "with npm (WH_ALLOW_SKIP=1 skips this test locally)" % NODE_MIN)


def node_modules():
    """The cache's node_modules with the pinned packages, installing them on first use."""
    tag = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:12]
    home = os.path.join(CACHE, "browser-" + tag)
    modules = os.path.join(home, "node_modules")
    if all(os.path.isdir(os.path.join(modules, p.rsplit("@", 1)[0])) for p in PACKAGES):
        return modules
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("node or npm is not installed")
    os.makedirs(CACHE, exist_ok=True)
    # Installed beside, then moved into place: a run that dies half-way
    # leaves no half-installed tool behind.
    tmp = tempfile.mkdtemp(prefix="browser-", dir=CACHE)
    try:
        r = subprocess.run([npm, "install", "--prefix", tmp, "--no-save", "--loglevel=error"] +
                           list(PACKAGES), capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, **QUIET))
        assert r.returncode == 0, "npm install %s failed:\n%s%s" % (
            " ".join(PACKAGES), r.stdout[-3000:], r.stderr[-3000:])
        try:
            os.rename(tmp, home)
        except OSError:
            if not os.path.isdir(modules):  # another run won the race: use its copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return modules


def shots_dir():
    """Where screenshots go: <build dir>/browser-shots, kept after the run."""
    d = os.path.join(os.environ.get("WH_BIN_DIR") or tempfile.gettempdir(), "browser-shots")
    os.makedirs(d, exist_ok=True)
    return d


def journey(script, stack=None, **args):
    """Runs tests/browser/<script> with node; fails with its output unless it exits 0.
    The stack's base URL and **args reach the script as args()."""
    if not os.path.exists(CHROMIUM):
        missing("%s is not installed" % CHROMIUM)
    modules = node_modules()
    if stack is not None:
        args.setdefault("base", "http://127.0.0.1:%d" % stack.port)
    env = dict(os.environ, WH_NODE_MODULES=modules, WH_CHROMIUM=CHROMIUM,
               WH_SHOTS_DIR=shots_dir(), WH_JOURNEY_ARGS=json.dumps(args), **QUIET)
    r = subprocess.run(["node", os.path.join(HERE, script)], capture_output=True, text=True,
                       timeout=JOURNEY_TIMEOUT, env=env)
    sys.stderr.write(r.stderr[-6000:])
    sys.stdout.write(r.stdout[-6000:])
    assert r.returncode == 0, "%s failed (exit %d)" % (script, r.returncode)
    return r.stdout
