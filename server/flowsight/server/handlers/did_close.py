"""`textDocument/didClose`: the file falls back to its content on disk (a pull client's
diagnostics for it are pushed from now on), read by the core in the analysis job — only a
regular file inside a workspace folder after resolving symbolic links. A document outside every
folder (or resolving outside it) is forgotten instead; nothing is read for it."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.analysed import is_analysed
from flowsight.server.session import uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if not uri.startswith("file:") or not is_analysed(uri):
            return
        server.session.close(Path(uri_to_path(uri)))
        server.session.schedule("textDocument/didClose")
