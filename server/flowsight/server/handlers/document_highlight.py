"""`textDocument/documentHighlight`: the occurrences of the variable under the cursor, scoped as
Python resolves the name (a local in its function, a module name in its module), each marked
read or write. Slices are an explicit command (`flowsight.slice`), never a highlight. Requests
run in the highlight thread, newest only (`flowsight.server.highlights`), so a burst of cursor
moves never holds up an analysis and its diagnostics."""

from __future__ import annotations

import asyncio

from lsprotocol import types

import flowsight

KINDS = {"read": types.DocumentHighlightKind.Read, "write": types.DocumentHighlightKind.Write, "text": types.DocumentHighlightKind.Text}


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    async def document_highlight(params: types.DocumentHighlightParams) -> list[types.DocumentHighlight] | None:
        position = params.position
        highlights = server.session.highlights
        ticket = highlights.ticket()
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                highlights.executor,
                highlights.run,
                ticket,
                server.session.occurrences,
                params.text_document.uri,
                position.line,
                position.character,
            )
        except (KeyError, ValueError, flowsight.errors.FlowsightError):
            return None
        if found is None:
            return None
        return [types.DocumentHighlight(range=range_, kind=KINDS[kind]) for range_, kind in found] or None
