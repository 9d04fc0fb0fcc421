"""A streamable-HTTP MCP server (the official Python SDK) that records the
headers of every HTTP request it receives, one JSON object a line, in the
file named by its second argument, and has a tool that echoes them back
(a server reflecting the credentials it was sent). Used by
tests/tests/e2e/remote_secrets.rs.

    python header_server.py PORT RECORD_FILE
"""

import json
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

PORT = int(sys.argv[1])
RECORD = sys.argv[2]

server = MCPServer("headers")


@server.tool()
def echo_headers(ctx: Context) -> str:
    """Returns the headers of the HTTP request that carried this call."""
    request = ctx.request_context.request
    return json.dumps(dict(request.headers)) if request is not None else "{}"


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def recording(app):
    async def middleware(scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            line = {"method": scope["method"], "path": scope["path"], "headers": headers}
            with open(RECORD, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        await app(scope, receive, send)

    return middleware


app = recording(server.streamable_http_app())
uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
