#!/usr/bin/env python3
"""One `warden mcp` server, one kind of call, back to back: p50, p10 and the
server's CPU time per call (all its threads, from /proc). The suite bench
interleaves servers in rounds; this measures one server continuously, which
is steady on a 2-CPU VM with client and server on one CPU (`taskset -c 0`: the
server this script starts inherits the affinity), where no wake-up crosses CPUs.

    taskset -c 0 python3 tests/benches/mcp_continuous.py fs --calls 3000

MODE is `echo` (the hostile test component's echo), `echodir` (the same with
a granted directory) or `fs` (`builtin:fs` read_file of a 24-byte file).
Docs: docs/benchmarks.md (session 10).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["echo", "echodir", "fs"])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--warden", default=os.path.join(ROOT, "target/release/warden"))
    ap.add_argument(
        "--echo-component",
        default=os.path.join(ROOT, "target/guests/wasm32-wasip2/release/hostile.wasm"),
    )
    args = ap.parse_args()
    for path in (args.warden, args.echo_component):
        if not os.path.exists(path):
            sys.exit(f"{path} does not exist: build it first (cargo build --release)")

    home = tempfile.mkdtemp()
    data = tempfile.mkdtemp()
    with open(os.path.join(data, "small.txt"), "w") as f:
        f.write("hello from a small file\n")
    if args.mode == "fs":
        cmd = [args.warden, "mcp", "builtin:fs", "--dir", f"{data}:/data"]
        tool, arguments = "read_file", {"path": "/data/small.txt"}
    else:
        cmd = [args.warden, "mcp", args.echo_component, "--max-output", "4MiB", "--memory", "64MiB"]
        if args.mode == "echodir":
            cmd += ["--dir", f"{data}:/data"]
        tool, arguments = None, {"text": ""}
    server = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "WARDEN_HOME": home},
    )
    next_id = 0

    def rpc(method, params, notify=False):
        nonlocal next_id
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            next_id += 1
            message["id"] = next_id
        server.stdin.write((json.dumps(message) + "\n").encode())
        server.stdin.flush()
        if notify:
            return None
        while True:
            line = server.stdout.readline()
            if not line:
                sys.exit("the server closed its stdout")
            reply = json.loads(line)
            if reply.get("id") == next_id:
                return reply

    rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "mcp_continuous", "version": "1"}})
    rpc("notifications/initialized", {}, notify=True)
    tools = [t["name"] for t in rpc("tools/list", {})["result"]["tools"]]
    if tool is None:
        tool = next(t for t in tools if t.endswith("echo"))

    def cpu_ns():
        total = 0
        for task in os.listdir(f"/proc/{server.pid}/task"):
            try:
                with open(f"/proc/{server.pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
        return total

    for _ in range(20):
        rpc("tools/call", {"name": tool, "arguments": arguments})
    before = cpu_ns()
    times = []
    for _ in range(args.calls):
        started = time.perf_counter()
        reply = rpc("tools/call", {"name": tool, "arguments": arguments})
        times.append(time.perf_counter() - started)
        if "error" in reply or reply["result"].get("isError"):
            sys.exit(f"the call failed: {reply}")
    cpu = (cpu_ns() - before) / args.calls / 1000
    times.sort()
    p50, p10 = times[len(times) // 2] * 1e6, times[len(times) // 10] * 1e6
    print(f"{args.mode}: p50 {p50:.1f} µs, p10 {p10:.1f} µs, server CPU {cpu:.1f} µs per call")
    server.stdin.close()
    server.wait()


if __name__ == "__main__":
    main()
