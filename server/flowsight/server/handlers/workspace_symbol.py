"""`workspace/symbol`: modules, classes and functions by name from the lexical index — exact,
prefix, camel/snake-case part prefix, substring, subsequence (`chtctrl` → `ChatController`),
then typo matches, ranked in that order (shorter names first among equals; tests and
generated files after). An empty query lists symbols. At most MAX_SYMBOLS results, the best;
nothing is dropped before ranking."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from flowsight import positions

KINDS = {
    "module": types.SymbolKind.Module,
    "class": types.SymbolKind.Class,
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
}
MAX_SYMBOLS = 1000


def symbol_information(folder, hit) -> types.SymbolInformation:  # noqa: ANN001
    (start_line, start_character), (end_line, end_character) = positions.whole_lines(hit.start_line, hit.end_line)
    container, _, name = hit.qualified_name.rpartition(".")
    return types.SymbolInformation(
        name=name,
        kind=KINDS.get(hit.kind, types.SymbolKind.Object),
        location=types.Location(
            uri=(folder.root / hit.path).as_uri(),
            range=types.Range(
                start=types.Position(line=start_line, character=start_character),
                end=types.Position(line=end_line, character=end_character),
            ),
        ),
        container_name=container or None,
    )


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbol(params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation]:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, server.session.search, params.query, MAX_SYMBOLS, "symbols")
        return [symbol_information(folder, hit) for folder, hit in found]
