"""`workspace/didChangeWatchedFiles`: files changed, created or deleted on disk (also branch
switches). Open documents keep the editor's text."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.session import PendingChange, uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        session = server.session
        for change in params.changes:
            if not change.uri.startswith("file:") or not change.uri.endswith((".py", ".pyi")):
                continue
            if change.uri in server.workspace.text_documents:
                continue
            path = Path(uri_to_path(change.uri))
            if change.type == types.FileChangeType.Deleted or not path.is_file():
                session.remove(path)
                session.publish(change.uri, None, [])
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            session.queue(path, PendingChange(None, None, text))
        session.schedule("workspace/didChangeWatchedFiles")
