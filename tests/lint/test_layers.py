"""The structure of the tree, checked: every include stays in its layer or
points down (services -> services/runtime -> proto -> common, see
docs/ARCHITECTURE.md), no service includes another service's headers, and
the modules of each folder (a .c file with its .h) include each other
without a circle. The build already refuses an upward include between
layers; this test also names circles inside a layer, which compile.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import run  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LAYERS = ["common", "proto", "services/runtime"]  # from the bottom; services/* above
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folders():
    out = {f: os.path.join(ROOT, f) for f in LAYERS}
    for name in sorted(os.listdir(os.path.join(ROOT, "services"))):
        rel = "services/" + name
        if rel not in out and os.path.isdir(os.path.join(ROOT, rel)):
            out[rel] = os.path.join(ROOT, rel)
    return out


def level(folder):
    return LAYERS.index(folder) if folder in LAYERS else len(LAYERS)


def headers():
    """header name -> folder that holds it."""
    where = {}
    for folder, path in folders().items():
        for f in os.listdir(path):
            if f.endswith(".h"):
                where.setdefault(f, []).append(folder)
    return where


def includes(path):
    with open(path, encoding="utf-8") as fh:
        return INCLUDE.findall(fh.read())


def edges():
    """(folder, module, included folder, included module) for every include."""
    where = headers()
    out = []
    for folder, path in folders().items():
        for f in sorted(os.listdir(path)):
            if not f.endswith((".c", ".h")):
                continue
            for inc in includes(os.path.join(path, f)):
                homes = where.get(inc, [])
                # A header found in the includer's own folder is that one.
                home = folder if folder in homes else (homes[0] if len(homes) == 1 else None)
                if home is None:
                    continue  # a system or generated header (llhttp.h)
                out.append((folder, f[:-2], home, inc[:-2]))
    return out


def test_includes_point_down():
    wrong = []
    for folder, mod, home, inc in edges():
        if home == folder:
            continue
        if level(home) >= level(folder):
            wrong.append("%s/%s includes %s/%s.h" % (folder, mod, home, inc))
    assert not wrong, "includes that point up or across:\n" + "\n".join(wrong)


def test_no_circle_inside_a_folder():
    graph = {}
    for folder, mod, home, inc in edges():
        if home == folder and mod != inc:
            graph.setdefault((folder, mod), set()).add((folder, inc))
    state, circles = {}, []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(m for _, m in path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "modules that include each other in a circle:\n" + "\n".join(circles)


def test_checker_sees_a_circle_and_an_upward_include():
    """The two checks above must be able to fail: a fake tree with an upward
    include and a circle is caught by the same functions."""
    global folders, includes
    real_folders, real_includes = folders, includes
    fake = {"common/a.h": ['"envelope.h"'], "proto/envelope.h": [], "services/x/p.c": ['"q.h"'],
            "services/x/p.h": [], "services/x/q.c": ['"p.h"'], "services/x/q.h": []}
    try:
        folders = lambda: {"common": "common", "proto": "proto", "services/x": "services/x"}
        os_listdir = os.listdir
        os.listdir = lambda p: [k.split("/")[-1] for k in fake if k.rsplit("/", 1)[0] == p]
        includes = lambda p: [s.strip('"') for s in fake[p]]
        try:
            test_includes_point_down()
            raise AssertionError("an upward include went unnoticed")
        except AssertionError as e:
            assert "common/a includes proto/envelope.h" in str(e), e
        try:
            test_no_circle_inside_a_folder()
            raise AssertionError("a circle went unnoticed")
        except AssertionError as e:
            assert "p -> q -> p" in str(e), e
    finally:
        os.listdir = os_listdir
        folders, includes = real_folders, real_includes


if __name__ == "__main__":
    run([test_includes_point_down, test_no_circle_inside_a_folder,
         test_checker_sees_a_circle_and_an_upward_include])
