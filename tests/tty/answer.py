#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and answers its yes/no question.

Usage: answer.py ANSWER COMMAND [ARG...]

The command gets a new pseudo-terminal as its stdin, stdout and stderr (so
it sees a real terminal). When `[y/N]` appears on it, ANSWER and a newline
are typed. Everything the command wrote to the terminal is printed on
stdout, and this script exits with the command's exit code (99 if no
question came within 60 s, or the command did not end).

Standard library only: used by tests/tests/e2e/mcp_approval.rs.
"""

import os
import pty
import select
import signal
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    answer, command = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    seen = b""
    answered = False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.write(seen.decode(errors="replace"))
            print("\nanswer.py: no question and no end within 60 s")
            return 99
        try:
            data = os.read(fd, 4096)
        except OSError:
            # EIO: the command ended and closed the terminal.
            break
        if not data:
            break
        seen += data
        if not answered and b"[y/N]" in seen:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode(errors="replace"))
    if not answered:
        print("\nanswer.py: the command asked nothing")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
