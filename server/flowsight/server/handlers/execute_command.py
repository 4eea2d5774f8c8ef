"""`workspace/executeCommand`: `flowsight.slice` and `flowsight.reindex` (re-reads every file of
every workspace folder that is not open in the editor, forgets files gone from disk; loose
folders of documents outside every workspace folder are never read).

`flowsight.slice` takes one argument `{"uri", "position": {"line", "character"},
"direction": "backward" | "forward", "thin": bool}` and returns
`{"files": {"<uri>": [Range, ...]}, "criterion": {...}, "direction": ...}`."""

from __future__ import annotations

import asyncio
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

import flowsight

# LSP positions are `uinteger`s (0 to 2^31 - 1).
MAX_POSITION = 2**31 - 1


def parse_slice_arguments(arguments: Any) -> tuple[str, int, int, bool, bool]:
    if isinstance(arguments, (list, tuple)) and len(arguments) == 1:
        arguments = arguments[0]
    if not isinstance(arguments, dict):
        raise JsonRpcInvalidParams("flowsight.slice takes one object: {uri, position: {line, character}, direction, thin}")
    uri = arguments.get("uri")
    position = arguments.get("position")
    if not isinstance(position, dict):
        position = {}
    line, character = position.get("line"), position.get("character")
    direction = arguments.get("direction", "backward")
    thin = arguments.get("thin", False)
    numbers = all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_POSITION for n in (line, character))
    if not isinstance(uri, str) or not numbers:
        raise JsonRpcInvalidParams("flowsight.slice: `uri` (string) and `position` {line, character} (non-negative integers) are required")
    if direction not in ("backward", "forward") or not isinstance(thin, bool):
        raise JsonRpcInvalidParams("flowsight.slice: `direction` is 'backward' or 'forward', `thin` a boolean")
    return uri, line, character, direction == "forward", thin


async def run_slice(server, arguments: Any) -> dict:  # noqa: ANN001
    uri, line, character, forward, thin = parse_slice_arguments(arguments)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, server.session.slice, uri, line, character, forward, thin)
    except KeyError as error:
        raise JsonRpcInvalidParams(f"unknown document (not in any workspace folder): {uri}") from error
    except (ValueError, OverflowError) as error:
        raise JsonRpcInvalidParams(str(error)) from error
    except flowsight.errors.FlowsightError as error:
        raise JsonRpcInvalidParams(str(error)) from error


def register(server) -> None:  # noqa: ANN001
    @server.command("flowsight.slice")
    async def slice_command(*arguments: Any) -> dict:
        return await run_slice(server, list(arguments))

    @server.command("flowsight.reindex")
    async def reindex(*arguments: Any) -> dict:
        loop = asyncio.get_running_loop()
        files = 0
        for folder in list(server.session.folders):
            if not folder.loose:
                files += await loop.run_in_executor(None, server.session.index_folder, folder, True)
        server.session.generation += 1
        server.session.schedule(announce=True)
        return {"files": files}
