#!/usr/bin/env python3
"""Drives `warden mcp` with the official MCP Python SDK (`mcp` on PyPI, 2.x).

Usage: client.py --warden PATH --data DIR [--home DIR] [--transport stdio|http|all]

DIR must hold `hello.txt`. For each transport the script starts
`warden mcp builtin:fs --dir DIR:/data`, then: lists the tools, reads
/data/hello.txt, asks for /etc/passwd (outside the grant) and checks that the
answer is a tool error naming the denial, and checks that the server still
answers afterwards. Over stdio it does this with both the 2026 protocol
(server/discover) and the legacy initialize handshake that older clients
(e.g. desktop apps) use.

Each check prints `ok: ...`; the last line is `mcp client: all checks passed`.
Any failed check raises, so the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import threading
import time

from mcp import Client, StdioServerParameters

HELLO = "hello from the MCP test"


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        raise AssertionError(f"FAILED: {what}: {detail}")
    print(f"ok: {what}", flush=True)


def text_of(result) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def exercise(client: Client, label: str) -> None:
    listed = await client.list_tools()
    names = sorted(tool.name for tool in listed.tools)
    check(
        {"list_dir", "read_file", "write_file"} <= set(names),
        f"{label}: tools/list has the fs tools",
        names,
    )
    read_file = next(tool for tool in listed.tools if tool.name == "read_file")
    check(
        read_file.input_schema.get("type") == "object"
        and "path" in read_file.input_schema.get("properties", {}),
        f"{label}: read_file has its JSON schema from the component",
        read_file.input_schema,
    )
    check(bool(read_file.description), f"{label}: read_file has a description")

    ok = await client.call_tool("read_file", {"path": "/data/hello.txt"})
    check(not ok.is_error, f"{label}: read_file inside the grant succeeds", text_of(ok))
    check(HELLO in text_of(ok), f"{label}: read_file returns the file's content", text_of(ok))
    check(
        isinstance(ok.structured_content, dict)
        and ok.structured_content.get("content") == HELLO,
        f"{label}: the output is also structured content",
        ok.structured_content,
    )

    denied = await client.call_tool("read_file", {"path": "/etc/passwd"})
    text = text_of(denied)
    check(denied.is_error, f"{label}: read_file outside the grant is a tool error", text)
    check(
        "denied filesystem access to `/etc/passwd`" in text and "outside the granted" in text,
        f"{label}: the error names the capability, the target and the reason",
        text,
    )
    error = (denied.structured_content or {}).get("error", {})
    check(
        error.get("kind") == "denied"
        and error.get("capability") == "filesystem"
        and error.get("target") == "/etc/passwd",
        f"{label}: the denial is also structured",
        denied.structured_content,
    )
    check("root:" not in text, f"{label}: no byte of /etc/passwd leaked", text)

    write = await client.call_tool("write_file", {"path": "/data/new.txt", "content": "x"})
    check(
        write.is_error and "denied" in text_of(write),
        f"{label}: write_file to a read-only grant is denied",
        text_of(write),
    )

    bad = await client.call_tool("read_file", {"nope": 1})
    check(bad.is_error, f"{label}: invalid input is a tool error, not a crash", text_of(bad))

    again = await client.call_tool("list_dir", {"path": "/data"})
    check(
        not again.is_error and "hello.txt" in text_of(again),
        f"{label}: the server still answers after the refusals",
        text_of(again),
    )


def server_args(args) -> list[str]:
    return ["mcp", "builtin:fs", "--dir", f"{args.data}:/data"]


def server_env(args) -> dict[str, str]:
    env = {}
    if args.home:
        env["WARDEN_HOME"] = args.home
    return env


async def over_stdio(args, mode: str) -> None:
    params = StdioServerParameters(
        command=args.warden, args=server_args(args), env=server_env(args)
    )
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        await exercise(client, f"stdio ({mode})")


def start_http(args) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ)
    env.update(server_env(args))
    proc = subprocess.Popen(
        [args.warden, *server_args(args), "--http", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    found: list[str] = []
    seen: list[str] = []
    ready = threading.Event()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            match = re.search(r"(http://\S+/mcp)", line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    ready.wait(timeout=120)
    if not found:
        proc.kill()
        raise AssertionError(f"FAILED: warden mcp --http printed no URL: {''.join(seen)}")
    return proc, found[0]


async def over_http(args) -> None:
    proc, url = start_http(args)
    try:
        check(url.startswith("http://127.0.0.1:"), "http: the bound URL is on loopback", url)
        async with Client(url, read_timeout_seconds=60) as client:
            await exercise(client, "http")
        # A second client, a second session, the same host.
        async with Client(url, read_timeout_seconds=60) as client:
            ok = await client.call_tool("read_file", {"path": "/data/hello.txt"})
            check(not ok.is_error, "http: a second client is served too", text_of(ok))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warden", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--home")
    parser.add_argument("--transport", choices=["stdio", "http", "all"], default="all")
    args = parser.parse_args()
    started = time.monotonic()
    if args.transport in ("stdio", "all"):
        await over_stdio(args, "auto")
        await over_stdio(args, "legacy")
    if args.transport in ("http", "all"):
        await over_http(args)
    print(f"mcp client: all checks passed in {time.monotonic() - started:.1f}s", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
