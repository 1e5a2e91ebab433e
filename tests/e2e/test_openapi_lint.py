"""The served OpenAPI document passes `redocly lint` with the recommended
ruleset without a single error, as a client generator's user would first
try it.

Redocly CLI comes from npm, pinned to REDOCLY_VERSION, installed once into
a cache directory ($WH_TOOLS_CACHE, default ~/.cache/workhealth) and used
from there, so later runs need no network. Without node and npm the test
fails; WH_ALLOW_SKIP=1 turns that into a skip for a local run on a machine
without them (CI never sets it)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from stack import Stack, run

REDOCLY_VERSION = "2.77.0"
# What that version needs (its package.json "engines").
NODE_MIN = (20, 19)
CACHE = os.environ.get("WH_TOOLS_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "workhealth")
# No telemetry, no update check: the lint runs offline once installed.
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
         "npm_config_update_notifier": "false", "npm_config_fund": "false",
         "npm_config_audit": "false"}


def missing(what):
    if os.environ.get("WH_ALLOW_SKIP"):
        print("SKIP: %s (WH_ALLOW_SKIP is set)" % what)
        sys.exit(0)
    raise AssertionError(what + "; install Node.js >= %d.%d with npm (WH_ALLOW_SKIP=1 skips "
                         "this test locally)" % NODE_MIN)


def redocly():
    """The path of the pinned redocly binary, installing it on first use."""
    home = os.path.join(CACHE, "redocly-cli-" + REDOCLY_VERSION)
    binary = os.path.join(home, "node_modules", ".bin", "redocly")
    if os.path.exists(binary):
        return binary
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("node or npm is not installed")
    v = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    have = tuple(int(x) for x in v.lstrip("v").split(".")[:2])
    if have < NODE_MIN:
        missing("node %s is older than %d.%d, which @redocly/cli %s needs" %
                ((v,) + NODE_MIN + (REDOCLY_VERSION,)))
    os.makedirs(CACHE, exist_ok=True)
    # Installed beside, then moved into place: a run that dies half-way
    # leaves no half-installed tool behind.
    tmp = tempfile.mkdtemp(prefix="redocly-", dir=CACHE)
    try:
        r = subprocess.run([npm, "install", "--prefix", tmp, "--no-save", "--loglevel=error",
                            "@redocly/cli@" + REDOCLY_VERSION],
                           capture_output=True, text=True, timeout=240,
                           env=dict(os.environ, **QUIET))
        assert r.returncode == 0, "npm install @redocly/cli@%s failed:\n%s%s" % (
            REDOCLY_VERSION, r.stdout[-3000:], r.stderr[-3000:])
        try:
            os.rename(tmp, home)
        except OSError:
            if not os.path.exists(binary):  # another run won the race: use its copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert os.path.exists(binary), binary
    return binary


def lint(binary, path):
    """(errors, warnings, problems) of `redocly lint --extends recommended`."""
    r = subprocess.run([binary, "lint", "--extends", "recommended", "--format", "json", path],
                       capture_output=True, text=True, timeout=240,
                       env=dict(os.environ, **QUIET))
    out = r.stdout
    try:
        report = json.loads(out[out.index("{"):])
    except ValueError:
        raise AssertionError("redocly lint gave no JSON report (exit %d):\n%s\n%s" %
                             (r.returncode, out[-3000:], r.stderr[-3000:])) from None
    totals = report.get("totals", {})
    return totals.get("errors", -1), totals.get("warnings", -1), report.get("problems", [])


def test_redocly_recommended_no_errors():
    binary = redocly()
    with Stack() as s:
        r = s.get("/v1/openapi.json", token=None)
        assert r.status == 200, r
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "openapi.json")
        with open(path, "wb") as f:
            f.write(r.body)
        errors, warnings, problems = lint(binary, path)
    shown = ["%s %s: %s" % (p.get("severity"), p.get("ruleId"), p.get("message"))
             for p in problems[:40]]
    print("redocly %s lint (recommended): %d errors, %d warnings" %
          (REDOCLY_VERSION, errors, warnings), file=sys.stderr)
    for line in shown:
        print("  " + line, file=sys.stderr)
    assert errors == 0, "redocly lint: %d errors:\n%s" % (errors, "\n".join(shown))


if __name__ == "__main__":
    run([test_redocly_recommended_no_errors])
