#!/usr/bin/env python3
"""The guard benchmark's peers, one file.

  guard-peer.py server          a trivial MCP stdio server: answers tools/list with one
                                tool and every tools/call at once (no SDK: its own cost
                                should be as small as possible)
  guard-peer.py drive N CMD...  start CMD (a host config entry's command line), list the
                                tools, make N tools/call one at a time, print the round
                                trip of each in microseconds (one per line) and, last,
                                "rss_kib <VmRSS> <VmHWM> <RssAnon> <RssFile>" of CMD's
                                own process sampled
                                just before stdin closes.
"""
import json
import os
import subprocess
import sys
import time


def server():
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        msg = json.loads(line)
        if "id" not in msg or "method" not in msg:
            continue
        if msg["method"] == "tools/list":
            result = {"tools": [{"name": "echo", "description": "Echo", "inputSchema": {"type": "object"}}]}
        elif msg["method"] == "tools/call":
            result = {"content": [{"type": "text", "text": "ok"}]}
        else:
            result = {}
        out.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode() + b"\n")
        out.flush()


def rss(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            k, _, v = l.partition(":")
            fields[k] = v.strip().split()[0] if v.strip() else "0"
    return [fields.get(k, "0") for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")]


class Session:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

    def call(self, i, method, params):
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}).encode() + b"\n")
        line = self.p.stdout.readline()
        if not line:
            sys.exit("guard-peer: the server closed its stdout")
        return line

    def timed(self, i):
        t0 = time.perf_counter_ns()
        self.call(i, "tools/call", {"name": "echo", "arguments": {"i": i}})
        return (time.perf_counter_ns() - t0) // 1000

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def drive(n, cmds):
    sep = cmds.index("::")
    a, b = Session(cmds[:sep]), Session(cmds[sep + 1:])
    a.call(0, "tools/list", {})
    b.call(0, "tools/list", {})
    times = []
    for i in range(1, n + 1):
        times.append(("a", a.timed(i)))
        times.append(("b", b.timed(i)))
    mem = rss(b.p.pid)
    a.close()
    b.close()
    for who, t in times:
        print(who, t)
    print("rss_kib " + " ".join(mem))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server()
    else:
        drive(int(sys.argv[2]), sys.argv[3:])
