"""`textDocument/didSave`: the text is already in sync; re-analyse (saved state may matter to
rules reading other files)."""

from __future__ import annotations

from lsprotocol import types


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.session.schedule("textDocument/didSave")
