#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: what one Plan costs, and what many cost the others. Plans of N = 10, 100 and
# 1,000 services, as a Requires= chain and as independent services, over one Varlink
# connection (medians of RUNS); then io.hl.Version latency while a non-root user (nobody)
# runs CLIENTS Plans of the 1,000-service chain at once on the read-only socket, against
# the same latency with hld idle, measured in the same run. No container is made: a Plan
# changes nothing. Run as root: tests/bench/plan.sh. See tests/bench/README.md.
set -euo pipefail
RUNS=${RUNS:-5}
CLIENTS=${CLIENTS:-128}
. "$(dirname "$0")/lib.sh"
bench_setup plan.sh p
start_hld
"$PYTHON" - "$HLD_SOCKET" "$tmp/hld-ro.sock" "$tag" "$RUNS" "$CLIENTS" "$hld_pid" <<'PYEOF'
import json, os, socket, statistics, sys, threading, time

sock, ro, tag, runs, clients, hld_pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])

class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = b""
    def call(self, method, params):
        self.s.sendall(json.dumps({"method": method, "parameters": params}).encode() + b"\0")
        while b"\0" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise SystemExit("hld closed the connection during %s" % method)
            self.buf += chunk
        frame, self.buf = self.buf.split(b"\0", 1)
        reply = json.loads(frame)
        if "error" in reply:
            raise SystemExit("%s: %s" % (method, reply))
        return reply

def defs(n, chain):
    out = []
    for i in range(n):
        name = "%s-s%04d" % (tag, i)
        req = "Requires=%s-s%04d\n" % (tag, i + 1) if chain and i + 1 < n else ""
        out.append({"name": name, "text": "[Service]\n%s[Container]\nTemplate=busybox\nMemory=64M\n" % req})
    return out

def timed(client, method, params, k):
    t = []
    for _ in range(k):
        start = time.perf_counter()
        client.call(method, params)
        t.append((time.perf_counter() - start) * 1000)
    return statistics.median(t)

c = Client(sock)
print("Plan over one connection: medians of %d, milliseconds (ratio = chain / independent)" % runs)
print("%6s %14s %14s %8s" % ("N", "independent", "chain", "ratio"))
for n in (10, 100, 1000):
    a = timed(c, "io.hl.Plan", {"definitions": defs(n, False)}, runs)
    b = timed(c, "io.hl.Plan", {"definitions": defs(n, True)}, runs)
    print("%6d %14.1f %14.1f %8.2f" % (n, a, b, b / a))

def version_latencies(k=200):
    v = Client(ro)
    lat = []
    for _ in range(k):
        start = time.perf_counter()
        v.call("io.hl.Version", {})
        lat.append((time.perf_counter() - start) * 1000)
        time.sleep(0.002)
    lat.sort()
    return lat

idle = version_latencies()
chain = json.dumps({"method": "io.hl.Plan", "parameters": {"definitions": defs(1000, True)}}).encode() + b"\0"

# The load: nobody's CLIENTS connections, each sending Plans of the 1,000-service chain
# back to back, in a child that dropped root.
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.close(r)
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    conns = []
    for _ in range(clients):
        s = socket.socket(socket.AF_UNIX); s.connect(ro); conns.append(s)
    stop = time.monotonic() + 600
    done = [0]
    def loop(s):
        buf = b""
        while time.monotonic() < stop:
            try:
                s.sendall(chain)
                while b"\0" not in buf:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        return
                    buf += chunk
                buf = buf.split(b"\0", 1)[1]
                done[0] += 1
            except OSError:
                return
    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in conns]
    for t in threads:
        t.start()
    os.write(w, b"go")
    os.read(0, 1) if False else time.sleep(600)
    os._exit(0)
os.close(w)
os.read(r, 2)
time.sleep(2)
t0 = time.monotonic()
loaded = version_latencies()
elapsed = time.monotonic() - t0
os.kill(child, 9)
os.waitpid(child, 0)
def pct(l, p):
    return l[min(len(l) - 1, int(len(l) * p))]
print()
print("io.hl.Version latency, 200 calls, milliseconds: idle, and while nobody runs %d Plans of the 1,000-service chain at once" % clients)
print("%8s %10s %10s %8s" % ("", "idle", "loaded", "ratio"))
for label, p in (("median", 0.5), ("p99", 0.99), ("max", 1.0)):
    a, b = pct(idle, p), pct(loaded, p)
    print("%8s %10.2f %10.2f %8.1f" % (label, a, b, b / a if a else float("inf")))
status = open("/proc/%d/status" % hld_pid).read()
rss = [l for l in status.splitlines() if l.startswith("VmRSS")][0].split()[1]
print("hld VmRSS after the load: %.1f MiB" % (int(rss) / 1024))
PYEOF
