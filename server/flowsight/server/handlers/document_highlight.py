"""`textDocument/documentHighlight`: the in-file backward slice of the code under the cursor."""

from __future__ import annotations

import asyncio

from lsprotocol import types

import flowsight


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    async def document_highlight(params: types.DocumentHighlightParams) -> list[types.DocumentHighlight] | None:
        position = params.position
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                None, server.session.slice, params.text_document.uri, position.line, position.character, False, False
            )
        except (KeyError, ValueError, flowsight.errors.FlowsightError):
            return None
        ranges = result["files"].get(params.text_document.uri, [])
        return [types.DocumentHighlight(range=r, kind=types.DocumentHighlightKind.Text) for r in ranges]
