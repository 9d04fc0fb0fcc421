#!/usr/bin/env python3
"""Answers warden's approval questions with the official MCP Python SDK.

Usage: approvals.py --warden PATH --home DIR

The home's grants.toml must say to ask before `builtin:fs` gets the data
directory read-write, served as /data (an `effect = "ask"` rule), and
nothing else. The script starts `warden mcp builtin:fs` over stdio and:

1. with a client that supports elicitation (the initialize handshake,
   protocol 2025-11-25) answers "accept": write_file /data/accepted.txt runs;
2. answers "decline": write_file /data/declined.txt is refused with a typed
   denial, and the tool never ran;
3. answers "accept" again: the same server serves the next call;
4. a client that declared no elicitation capability is refused, naming why;
5. a 2026-07-28 client (server/discover; the revision has no server-to-client
   requests) gets the question as an `input_required` result, answers
   "accept" and retries: the call runs.

Each check prints `ok: ...`; the last line is `approvals: all checks passed`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from mcp import Client, StdioServerParameters, types


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        raise AssertionError(f"FAILED: {what}: {detail}")
    print(f"ok: {what}", flush=True)


def text_of(result) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


class Answers:
    """Answers elicitation requests from a queue, keeping the questions."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    async def __call__(self, context, params):
        self.questions.append(params.message)
        action = self.answers.pop(0)
        return types.ElicitResult(action=action, content={} if action == "accept" else None)


def params(args) -> StdioServerParameters:
    return StdioServerParameters(
        command=args.warden,
        args=["mcp", "builtin:fs"],
        env={"WARDEN_HOME": args.home},
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warden", required=True)
    parser.add_argument("--home", required=True)
    args = parser.parse_args()

    answers = Answers(["accept", "decline", "accept"])
    async with Client(
        params(args), mode="legacy", read_timeout_seconds=60, elicitation_callback=answers
    ) as client:
        ok = await client.call_tool("write_file", {"path": "/data/accepted.txt", "content": "yes"})
        check(not ok.is_error, "accept: the call runs with the asked capability", text_of(ok))
        check(len(answers.questions) == 1, "accept: one question was put", answers.questions)
        question = answers.questions[0]
        check(
            "builtin:fs" in question and "write_file" in question and "read-write" in question,
            "accept: the question names the component, the tool and the capability",
            question,
        )

        no = await client.call_tool("write_file", {"path": "/data/declined.txt", "content": "no"})
        text = text_of(no)
        check(no.is_error, "decline: the call is refused", text)
        error = (no.structured_content or {}).get("error", {})
        check(
            error.get("kind") == "denied" and error.get("approval") == "decline",
            "decline: the refusal is a typed denial naming the answer",
            no.structured_content,
        )
        check("the user declined" in text, "decline: the message says why", text)

        again = await client.call_tool("read_file", {"path": "/data/accepted.txt"})
        check(
            not again.is_error and "yes" in text_of(again),
            "accept again: the same server serves the next call",
            text_of(again),
        )
        check(len(answers.questions) == 3, "every call was asked about", answers.questions)

    async with Client(params(args), mode="legacy", read_timeout_seconds=60) as client:
        refused = await client.call_tool("read_file", {"path": "/data/accepted.txt"})
        text = text_of(refused)
        check(refused.is_error, "no elicitation: the call is refused", text)
        check(
            "did not declare the elicitation capability" in text,
            "no elicitation: the refusal names why",
            text,
        )
        error = (refused.structured_content or {}).get("error", {})
        check(
            error.get("approval") == "unavailable",
            "no elicitation: the answer is `unavailable`",
            refused.structured_content,
        )

    modern = Answers(["accept"])
    async with Client(
        params(args), mode="auto", read_timeout_seconds=60, elicitation_callback=modern
    ) as client:
        ok = await client.call_tool("read_file", {"path": "/data/accepted.txt"})
        check(
            not ok.is_error and "yes" in text_of(ok),
            "2026-07-28: asked through input_required, the retried call runs",
            text_of(ok),
        )
        check(len(modern.questions) == 1, "2026-07-28: one question was put", modern.questions)
        check(
            "builtin:fs" in modern.questions[0] and "read_file" in modern.questions[0],
            "2026-07-28: the question names the component and the tool",
            modern.questions,
        )
    print("approvals: all checks passed", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
