#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layers of daemon/ (docs/architecture.md, "Layers"), checked: a file may include the
headers of its own layer and of the layers below it, never one above; the functions the
files call of each other form no circle; and every exported function carries its
module's prefix. Prints the include graph by layer; exit 1 on any violation.

Usage: tests/layers/check.py [DAEMON-DIR]        (run by meson test as "layers")
       tests/layers/check.py --report DIR       prints everything, fails on nothing
"""

import os
import re
import sys

# Top to bottom. A file's layer is that of its module; a header belongs to the module of
# the .c file of the same name.
LAYERS = [
    ("main", ["main"]),
    ("control", ["control"]),
    ("methods", ["methods", "methods-apply", "methods-info", "methods-snapshot", "methods-backup", "methods-migrate", "methods-update", "methods-session", "schedule", "request"]),
    ("engine", ["reconcile", "foreign", "execute", "runs", "plan", "health", "probe", "watch", "logs", "events", "manager", "service",
                "desired"]),
    ("adapters", ["ct", "snapshot", "backup", "guest", "inroot", "netinfo", "settings", "rootfs", "oci", "store", "config", "log", "work"]),
]
# Inside the engine, calls go down this list only: what is lower learns of what happens
# through callbacks the upper part registers.
ENGINE_ORDER = ["reconcile", "foreign", "execute", "runs", "plan", "health", "probe", "watch", "logs", "events", "manager", "service",
                "desired"]
# Headers that are not a module's: the types the engine shares (hld.h: manager.c's), the
# private header of a group of files.
HEADER_MODULE = {"hld": "desired", "run": "runs", "job": "runs", "methods": "methods"}
# Exported functions carry the module's prefix: the file's name (ct.c: ct_), but for the
# methods, whose module spans six files.
PREFIXES = {
    "main": ["main"],
    "methods-apply": ["methods_"],
    "methods-info": ["methods_"],
    "methods-snapshot": ["methods_"],
    "methods-backup": ["methods_"],
    "methods-migrate": ["methods_"],
    "methods-update": ["methods_"],
    "methods-session": ["methods_"],
}


def layer_of(module):
    for i, (_, modules) in enumerate(LAYERS):
        if module in modules:
            return i
    return None


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # Strings too: SQL names tables "events (", which is no call.
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def functions(path):
    """(exported definitions, static definitions) of a .c file, by a simple reading: a
    definition starts at the beginning of a line and ends its signature with '{'."""
    text = strip(open(path, errors="replace").read())
    exported, static = set(), set()
    for m in re.finditer(r"^([A-Za-z_][^;{}()=]*?)\b([A-Za-z_]\w*)\s*\(([^;{}]*?)\)\s*(HL_PRINTF\([^)]*\)\s*)?\{", text, re.M):
        head, name = m.group(1), m.group(2)
        if name in ("if", "for", "while", "switch", "return", "sizeof"):
            continue
        (static if re.search(r"\bstatic\b", head) else exported).add(name)
    return exported, static


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    report = "--report" in sys.argv
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "daemon")
    files = sorted(f for f in os.listdir(root) if f.endswith((".c", ".h")))
    problems = []

    modules = {}
    for f in files:
        stem = f.rsplit(".", 1)[0]
        module = HEADER_MODULE.get(stem, stem) if f.endswith(".h") else stem
        if layer_of(module) is None:
            problems.append("%s: no layer is assigned to it (tests/layers/check.py, LAYERS)" % f)
            continue
        modules[f] = module

    # Includes.
    print("Includes by layer (file: the daemon headers it includes):")
    for name, members in LAYERS:
        print("  %s" % name)
        for f in files:
            if modules.get(f) not in members:
                continue
            text = open(os.path.join(root, f), errors="replace").read()
            inc = [h for h in re.findall(r'^#include "([^"]+)"', text, re.M) if h in files]
            print("    %-18s %s" % (f + ":", " ".join(inc) or "-"))
            for h in inc:
                mh, mf = modules.get(h, ""), modules[f]
                lh, lf = layer_of(mh), layer_of(mf)
                if lh is not None and lh < lf:
                    problems.append("%s includes %s: a header of the %s layer, above %s" % (f, h, LAYERS[lh][0], LAYERS[lf][0]))
                elif lh == lf and mh in ENGINE_ORDER and mf in ENGINE_ORDER and ENGINE_ORDER.index(mh) < ENGINE_ORDER.index(mf):
                    problems.append("%s includes %s, a header above it in the engine" % (f, h))

    # Calls between .c files.
    sources = [f for f in files if f.endswith(".c") and f in modules]
    definer, exported_by = {}, {}
    for f in sources:
        exported, _ = functions(os.path.join(root, f))
        exported_by[f] = exported
        for name in exported:
            definer[name] = f
    edges = {f: {} for f in sources}
    for f in sources:
        text = strip(open(os.path.join(root, f), errors="replace").read())
        for name in set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", text)):
            d = definer.get(name)
            if d and d != f:
                edges[f].setdefault(d, []).append(name)
    for f in sources:
        for d, names in edges[f].items():
            lf, ld = layer_of(modules[f]), layer_of(modules[d])
            if ld < lf:
                problems.append("%s calls %s of %s, a layer above" % (f, ", ".join(sorted(names)), d))
            elif ld == lf == layer_of("reconcile") and modules[f] in ENGINE_ORDER and modules[d] in ENGINE_ORDER \
                    and ENGINE_ORDER.index(modules[d]) < ENGINE_ORDER.index(modules[f]):
                problems.append("%s calls %s of %s, above it in the engine" % (f, ", ".join(sorted(names)), d))
    # Circles (Tarjan), for the record: the rules above forbid them already.
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))
    for v in sources:
        if v not in index:
            visit(v)
    for c in comps:
        problems.append("files that call each other in a circle: %s" % " ".join(c))

    # Prefixes.
    total = bare = 0
    for f in sources:
        stem = f[:-2]
        allowed = PREFIXES.get(stem, [stem.replace("-", "_") + "_"])
        for name in sorted(exported_by[f]):
            total += 1
            if name == "main" or any(name.startswith(p) for p in allowed):
                continue
            bare += 1
            problems.append("%s exports %s, without its module's prefix (%s)" % (f, name, " or ".join(allowed)))
    print()
    print("%d of %d exported functions without their module's prefix" % (bare, total))
    print("%d circles of calls between files" % len(comps))
    print()
    for p in problems:
        print("layers: " + p)
    if not problems:
        print("layers: ok")
    return 0 if report or not problems else 1


if __name__ == "__main__":
    sys.exit(main())
