"""The Python baseline of warden's benchmark suite (tests/benches/suite.rs).

An MCP server written with the official Python SDK's high-level server
(`MCPServer`, FastMCP before SDK 2.0) offering the same `echo` tool as the
hostile test component, answering over stdio.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> dict:
    """Returns its input text."""
    return {"text": text}


if __name__ == "__main__":
    server.run("stdio")
