"""`textDocument/didClose`: the file falls back to its content on disk (a pull client's
diagnostics for it are pushed from now on)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.session import PendingChange, uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if not uri.startswith("file:") or not uri.endswith((".py", ".pyi")):
            return
        path = Path(uri_to_path(uri))
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        server.session.queue(path, PendingChange(None, None, text))
        server.session.closed(path)
        server.session.schedule("textDocument/didClose")
