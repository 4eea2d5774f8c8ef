"""`textDocument/documentSymbol`: the classes and functions of a document from its chunks."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from flowsight import positions

KINDS = {"class": types.SymbolKind.Class, "function": types.SymbolKind.Function, "method": types.SymbolKind.Method}


def chunk_range(chunk, lines: positions.TextLines, encoding: positions.Encoding) -> types.Range:  # noqa: ANN001
    last = chunk.end_line - 1
    return types.Range(
        start=types.Position(line=chunk.start_line - 1, character=0),
        end=types.Position(line=last, character=lines.line_length(last, encoding)),
    )


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        # In a worker thread: the chunks are read under the core's lock, which an analysis may hold.
        loop = asyncio.get_running_loop()
        try:
            _, _, chunks, text = await loop.run_in_executor(None, server.session.chunks, params.text_document.uri)
        except (KeyError, ValueError):
            return None
        lines = positions.TextLines(text)
        symbols: dict[str, types.DocumentSymbol] = {}
        roots: list[types.DocumentSymbol] = []
        for chunk in chunks:
            if chunk.kind not in KINDS:
                continue
            whole = chunk_range(chunk, lines, server.session.encoding)
            symbol = types.DocumentSymbol(
                name=chunk.qualified_name.rsplit(".", 1)[-1],
                kind=KINDS[chunk.kind],
                range=whole,
                selection_range=whole,
                detail=chunk.signature or None,
                children=[],
            )
            symbols[chunk.id] = symbol
            parent = symbols.get(chunk.parent_id or "")
            (parent.children if parent is not None else roots).append(symbol)
        return roots
