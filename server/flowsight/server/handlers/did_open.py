"""`textDocument/didOpen`: the editor's text replaces the file's."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.session import PendingChange, uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        if not document.uri.startswith("file:") or not document.uri.endswith((".py", ".pyi")):
            return
        server.session.queue(Path(uri_to_path(document.uri)), PendingChange(document.version, None, document.text))
        server.session.schedule("textDocument/didOpen")
