"""A warden tool written in Python: built with componentize-py against the
`tool` world in wit/, it needs nothing warden-specific beyond that world.

Tools:
- `word_count`: counts the words, lines and characters of a text (pure).
- `read_text`: reads a text file with plain `open()`; it sees only the
  directories the user granted, and a refused access is reported as a
  `denied` tool error that names the capability, the path and the reason.

Build (see README.md):
    componentize-py -d ../../wit -w tool componentize app -o py_example.wasm
"""

import errno
import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types

WORD_COUNT_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string", "description": "The text to count."}},
    "required": ["text"],
    "additionalProperties": False,
}

READ_TEXT_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "description": "Absolute guest path of the file, inside a granted directory.",
        }
    },
    "required": ["path"],
    "additionalProperties": False,
}

# Errors WASI reports for an access the sandbox refused (ENOTCAPABLE is 76 in
# wasi-libc).
REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS, getattr(errno, "ENOTCAPABLE", 76), 76}


def invalid(message: str) -> Err:
    return Err(types.ToolError_InvalidInput(message))


def string_field(args: dict, name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise invalid(f"`{name}` must be a string")
    return value


def word_count(args: dict) -> dict:
    text = string_field(args, "text")
    return {"words": len(text.split()), "lines": len(text.splitlines()), "chars": len(text)}


def read_text(args: dict) -> dict:
    path = string_field(args, "path")
    try:
        with open(path, encoding="utf-8") as f:
            content = f.read()
    except FileNotFoundError as e:
        raise Err(types.ToolError_NotFound(f"{path}: {e.strerror}"))
    except OSError as e:
        if e.errno in REFUSED:
            raise Err(
                types.ToolError_Denied(
                    types.Denial(
                        capability=types.Capability.FILESYSTEM,
                        target=path,
                        reason=f"the grant does not allow reading it ({e.strerror})",
                    )
                )
            )
        raise Err(types.ToolError_Failed(f"{path}: {e}"))
    except UnicodeDecodeError:
        raise Err(types.ToolError_Failed(f"{path} is not UTF-8 text"))
    log.log(log.Level.INFO, f"read {len(content)} characters from {path}")
    return {"path": path, "content": content}


TOOLS = {
    "word_count": ("Counts the words, lines and characters of a text.", WORD_COUNT_SCHEMA, word_count),
    "read_text": (
        "Reads a UTF-8 text file from a granted directory.",
        READ_TEXT_SCHEMA,
        read_text,
    ),
}


class Tools(exports.Tools):
    def list_tools(self) -> list[types.ToolSpec]:
        return [
            types.ToolSpec(name=name, description=description, input_schema=json.dumps(schema))
            for name, (description, schema, _) in TOOLS.items()
        ]

    def call(self, name: str, input: str) -> str:
        if name not in TOOLS:
            raise Err(types.ToolError_UnknownTool(name))
        try:
            args = json.loads(input)
        except ValueError as e:
            raise invalid(f"the input is not JSON: {e}")
        if not isinstance(args, dict):
            raise invalid("the input must be a JSON object")
        return json.dumps(TOOLS[name][2](args))
