"""`workspace/executeCommand`: `flowsight.slice`, `flowsight.search` and `flowsight.reindex`
(re-reads every file of every workspace folder that is not open in the editor, forgets files
gone from disk; loose folders of documents outside every workspace folder are never read).

`flowsight.slice` takes one argument `{"uri", "position": {"line", "character"},
"direction": "backward" | "forward", "thin": bool}` and returns
`{"files": {"<uri>": [Range, ...]}, "criterion": {...}, "direction": ...}`.

`flowsight.search` takes one argument `{"query": str, "limit": int (default 20, at most
1000), "mode": "lexical" (default) | "symbols" | "hybrid" | "vector", "reaches": rule id or
list of them, "readsInput": bool}` and returns `{"query", "mode" (the mode that answered),
"requestedMode", "partial", "vectorsPending", "notice", "results": [{"uri", "range", "name",
"qualifiedName", "kind", "chunkId", "score", "preview", "findings", "reaches", "readsInput"}, ...]}`,
best first, over the current texts of every folder (unsaved edits included); `range` covers
the chunk's whole lines. `findings`, `reaches` and `readsInput` are what the last analysis knows
of the chunk (`flowsight.search.facts`); `reaches`/`readsInput` in the arguments keep only such
chunks. Hybrid and vector search embed in the background (see `server/code_search.py`): until
every chunk has its vector the answer comes from the lexical index, `partial` is true and
`notice` says why."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
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


SEARCH_MODES = ("lexical", "symbols", "hybrid", "vector")
MAX_SEARCH_RESULTS = 1000
SEARCH_USAGE = (
    "flowsight.search takes one object: {query: string, limit?: integer, mode?: 'lexical' | 'symbols' | 'hybrid' | 'vector',"
    " reaches?: string | string[], readsInput?: boolean}"
)


@dataclass(frozen=True)
class SearchArguments:
    query: str
    limit: int = 20
    mode: str = "lexical"
    reaches: tuple[str, ...] = ()
    reads_input: bool = False


def parse_search_arguments(arguments: Any) -> SearchArguments:
    if isinstance(arguments, (list, tuple)) and len(arguments) == 1:
        arguments = arguments[0]
    if isinstance(arguments, str):
        arguments = {"query": arguments}
    if not isinstance(arguments, dict) or not isinstance(arguments.get("query"), str):
        raise JsonRpcInvalidParams(SEARCH_USAGE)
    limit = arguments.get("limit", 20)
    mode = arguments.get("mode", "lexical")
    reaches = arguments.get("reaches", [])
    reads_input = arguments.get("readsInput", False)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise JsonRpcInvalidParams(f"flowsight.search: `limit` is an integer from 1 to {MAX_SEARCH_RESULTS}")
    if mode not in SEARCH_MODES:
        raise JsonRpcInvalidParams("flowsight.search: `mode` is 'lexical', 'symbols', 'hybrid' or 'vector'")
    if isinstance(reaches, str):
        reaches = [reaches]
    if not isinstance(reaches, list) or not all(isinstance(kind, str) for kind in reaches) or not isinstance(reads_input, bool):
        raise JsonRpcInvalidParams("flowsight.search: `reaches` is a rule id or a list of them, `readsInput` a boolean")
    return SearchArguments(arguments["query"], limit, mode, tuple(reaches), reads_input)


async def run_search(server, arguments: Any) -> dict:  # noqa: ANN001
    parsed = parse_search_arguments(arguments)
    loop = asyncio.get_running_loop()
    code_search = server.session.code_search
    code_search.loop = loop
    answer = await loop.run_in_executor(
        None, code_search.search, parsed.query, parsed.limit, parsed.mode, parsed.reaches, parsed.reads_input
    )
    results = []
    for found in answer.hits:
        place = found.place
        (start_line, start_character), (end_line, end_character) = positions.whole_lines(place.start_line, place.end_line)
        results.append(
            {
                "uri": (found.folder.root / place.path).as_uri(),
                "range": types.Range(
                    start=types.Position(line=start_line, character=start_character),
                    end=types.Position(line=end_line, character=end_character),
                ),
                "name": place.qualified_name.rpartition(".")[2],
                "qualifiedName": place.qualified_name,
                "kind": place.kind,
                "chunkId": place.chunk_id,
                "score": round(found.score, 4),
                "preview": found.preview,
                "findings": found.facts.findings,
                "reaches": list(found.facts.reaches),
                "readsInput": found.facts.reads_input,
            }
        )
    partial = answer.mode != parsed.mode or answer.pending > 0 or answer.notice is not None
    return {
        "query": parsed.query,
        "mode": answer.mode,
        "requestedMode": parsed.mode,
        "partial": partial,
        "vectorsPending": answer.pending,
        "notice": answer.notice,
        "results": results,
    }


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
