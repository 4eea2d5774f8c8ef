"""`workspace/executeCommand`: `flowsight.slice`, `flowsight.search` and `flowsight.reindex`
(re-reads every file of every workspace folder that is not open in the editor, forgets files
gone from disk; loose folders of documents outside every workspace folder are never read).

`flowsight.slice` takes one argument `{"uri", "position": {"line", "character"},
"direction": "backward" | "forward", "thin": bool}` and returns
`{"files": {"<uri>": [Range, ...]}, "criterion": {...}, "direction": ...}`.

`flowsight.search` takes one argument `{"query": str, "limit": int (default 20, at most
1000), "mode": "lexical" (default) | "symbols"}` and returns `{"query", "mode", "results":
[{"uri", "range", "name", "qualifiedName", "kind", "chunkId", "score"}, ...]}`, best first,
over the current texts of every folder (unsaved edits included); `range` covers the chunk's
whole lines. "vector" and "hybrid" are InvalidParams: no embedder is configured."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

import flowsight
from flowsight import positions

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


SEARCH_MODES = ("lexical", "symbols")
MAX_SEARCH_RESULTS = 1000


def parse_search_arguments(arguments: Any) -> tuple[str, int, str]:
    if isinstance(arguments, (list, tuple)) and len(arguments) == 1:
        arguments = arguments[0]
    if isinstance(arguments, str):
        arguments = {"query": arguments}
    if not isinstance(arguments, dict) or not isinstance(arguments.get("query"), str):
        raise JsonRpcInvalidParams("flowsight.search takes one object: {query: string, limit?: integer, mode?: 'lexical' | 'symbols'}")
    limit = arguments.get("limit", 20)
    mode = arguments.get("mode", "lexical")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise JsonRpcInvalidParams(f"flowsight.search: `limit` is an integer from 1 to {MAX_SEARCH_RESULTS}")
    if mode in ("vector", "hybrid"):
        raise JsonRpcInvalidParams(f"flowsight.search: mode {mode!r} needs an embedder, and none is configured; use 'lexical'")
    if mode not in SEARCH_MODES:
        raise JsonRpcInvalidParams("flowsight.search: `mode` is 'lexical' or 'symbols'")
    return arguments["query"], limit, mode


async def run_search(server, arguments: Any) -> dict:  # noqa: ANN001
    query, limit, mode = parse_search_arguments(arguments)
    loop = asyncio.get_running_loop()
    found = await loop.run_in_executor(None, server.session.search, query, limit, mode)
    results = []
    for folder, hit in found:
        (start_line, start_character), (end_line, end_character) = positions.whole_lines(hit.start_line, hit.end_line)
        results.append(
            {
                "uri": (folder.root / hit.path).as_uri(),
                "range": types.Range(
                    start=types.Position(line=start_line, character=start_character),
                    end=types.Position(line=end_line, character=end_character),
                ),
                "name": hit.qualified_name.rpartition(".")[2],
                "qualifiedName": hit.qualified_name,
                "kind": hit.kind,
                "chunkId": hit.chunk_id,
                "score": round(hit.score, 4),
            }
        )
    return {"query": query, "mode": mode, "results": results}


def register(server) -> None:  # noqa: ANN001
    @server.command("flowsight.slice")
    async def slice_command(*arguments: Any) -> dict:
        return await run_slice(server, list(arguments))

    @server.command("flowsight.search")
    async def search_command(*arguments: Any) -> dict:
        return await run_search(server, list(arguments))

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
