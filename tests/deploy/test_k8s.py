"""deploy/k8s is valid Kubernetes, strictly, and its probes mean something.

- The kustomization renders (kubectl kustomize when kubectl is installed,
  and always by reading its resources here, which must agree).
- Every object passes the API schemas of the npm package kubernetes-models,
  with no key the schema does not know (see k8s_validate.js). The package
  is installed once with npm into $WH_BIN_DIR/npm-k8s (the build directory;
  it needs the npm registry the first time only).
- The backups' CronJob runs a workhealth- command.
- Every pod has enableServiceLinks: false (service links would put
  WH_GATEWAY_PORT and the like into the binaries' own WH_ namespace), every
  container a liveness probe.
- The services' liveness command, run against a real stack: passes while
  the gateway counts the service, fails once it counts none, and passes
  when the gateway cannot be reached.
"""

import copy
import json
import os
import shutil
import socket
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from stack import SERVICES, Stack, run  # noqa: E402

K8S = os.path.join(HERE, "..", "..", "deploy", "k8s")
VALIDATOR = os.path.join(HERE, "k8s_validate.js")
# Pinned, so that a new release cannot change what passes.
KUBERNETES_MODELS = "kubernetes-models@4.5.1"


def render_here():
    """The kustomization's resources with its namespace applied (all that
    deploy/k8s/kustomization.yaml uses)."""
    with open(os.path.join(K8S, "kustomization.yaml")) as fh:
        k = yaml.safe_load(fh)
    unknown = set(k) - {"apiVersion", "kind", "namespace", "resources"}
    assert not unknown, "kustomization uses %s: teach render_here() about it" % unknown
    out = []
    for res in k["resources"]:
        with open(os.path.join(K8S, res)) as fh:
            for doc in yaml.safe_load_all(fh):
                if doc is None:
                    continue
                if doc["kind"] != "Namespace" and "namespace" in k:
                    doc["metadata"]["namespace"] = k["namespace"]
                out.append(doc)
    return out


def canonical(objs):
    return sorted(json.dumps(o, sort_keys=True) for o in objs)


def rendered():
    mine = render_here()
    kubectl = shutil.which("kubectl")
    if kubectl:
        r = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        theirs = [d for d in yaml.safe_load_all(r.stdout) if d]
        assert canonical(theirs) == canonical(mine), "kubectl kustomize renders otherwise"
    return mine


def node_modules():
    """kubernetes-models installed under the build directory, once."""
    build = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
    prefix = os.path.join(os.path.abspath(build), "npm-k8s")
    mods = os.path.join(prefix, "node_modules")
    stamp = os.path.join(prefix, "installed")
    want = KUBERNETES_MODELS + "\n"
    if os.path.exists(stamp) and open(stamp).read() == want:
        return mods
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), (
        "node and npm are needed to validate deploy/k8s (see deploy/install-deps.sh)")
    os.makedirs(prefix, exist_ok=True)
    r = subprocess.run([npm, "install", "--prefix", prefix, "--no-audit", "--no-fund",
                        "--no-save", "--loglevel=error", KUBERNETES_MODELS],
                       capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, "npm install %s failed:\n%s%s" % (KUBERNETES_MODELS, r.stdout,
                                                                r.stderr)
    with open(stamp, "w") as fh:
        fh.write(want)
    return mods


def validate(objs, mods):
    r = subprocess.run(["node", VALIDATOR, mods], input=json.dumps(objs), capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def pod_specs(objs):
    for o in objs:
        if o["kind"] in ("Deployment", "StatefulSet"):
            yield o, o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            yield o, o["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_schemas_strict():
    objs = rendered()
    mods = node_modules()
    rc, out = validate(objs, mods)
    assert rc == 0, out
    print(out.strip().splitlines()[-1])
    # The strict check finds what it must (a check that never fails proves nothing).
    bad = copy.deepcopy(objs)
    sts = next(spec for o, spec in pod_specs(bad) if o["kind"] == "StatefulSet")
    sts["enableServicelinks"] = False
    sts["containers"][0]["livenesProbe"] = {}
    rc, out = validate(bad, mods)
    assert rc == 1 and "/enableServicelinks is not a field" in out and \
        "/livenesProbe is not a field" in out, out


def test_pods():
    objs = rendered()
    kinds = [o["kind"] for o in objs]
    assert kinds.count("StatefulSet") == len(SERVICES) and kinds.count("Deployment") == 1, kinds
    assert kinds.count("CronJob") == 1, kinds  # the backups
    for o, spec in pod_specs(objs):
        name = o["metadata"]["name"]
        assert spec.get("enableServiceLinks") is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            # A job's container ends by itself: no liveness to probe.
            assert "livenessProbe" in c or o["kind"] == "CronJob", (name, c["name"])
            if o["kind"] == "CronJob":
                assert c["command"][0].startswith("workhealth-"), c


def liveness_commands():
    out = {}
    for o, spec in pod_specs(rendered()):
        if o["kind"] == "StatefulSet":
            c = spec["containers"][0]
            out[c["command"][0][len("wh-"):]] = c["livenessProbe"]["exec"]["command"]
    assert sorted(out) == sorted(SERVICES), out
    return out


def probe(cmd, port):
    """Runs a liveness command against the gateway on loopback port."""
    cmd = [a.replace("/dev/tcp/wh-gateway/8080", "/dev/tcp/127.0.0.1/%d" % port) for a in cmd]
    assert any("127.0.0.1" in a for a in cmd), cmd
    return subprocess.run(cmd, capture_output=True, timeout=30).returncode


def test_service_liveness_probe():
    cmds = liveness_commands()
    with Stack() as s:
        for name, cmd in cmds.items():
            assert probe(cmd, s.port) == 0, name
        s.kill("agreements")
        s.wait_ready(want={"agreements": 0})
        assert probe(cmds["agreements"], s.port) == 1
        for name in ("surveys", "screening", "notifications"):
            assert probe(cmds[name], s.port) == 0, name
        s.start_process("agreements")
        s.wait_ready()
        assert probe(cmds["agreements"], s.port) == 0
    # No gateway at all: not the service's fault. (A port bound but not
    # listening refuses connections, and no other test can take it.)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        assert probe(cmds["agreements"], closed.getsockname()[1]) == 0


if __name__ == "__main__":
    run([test_schemas_strict, test_pods, test_service_liveness_probe])
