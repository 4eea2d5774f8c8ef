"""`workspace/didChangeWatchedFiles`: files changed, created or deleted on disk (also branch
switches). Open documents keep the editor's text. A project's pyproject.toml changing reloads
its `[tool.flowsight]`. Files are re-read by the core in the analysis job, and only regular files
inside a workspace folder after resolving symbolic links (see session.py)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from flowsight.server.analysed import is_analysed
from flowsight.server.pending import LOAD
from flowsight.server.session import uri_to_path


def project_file_changed(session, path: Path) -> bool:  # noqa: ANN001
    changed = False
    for folder in session.folders:
        if folder.project is not None and folder.project.directory is not None and path == folder.project.directory / "pyproject.toml":
            session.reload_project_config(folder, path)
            changed = True
    return changed


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        session = server.session
        announce = False
        for change in params.changes:
            if not change.uri.startswith("file:"):
                continue
            if change.uri.endswith("/pyproject.toml"):
                announce = project_file_changed(session, Path(uri_to_path(change.uri))) or announce
                continue
            if not is_analysed(change.uri):
                continue
            if session.documents.get(change.uri) is not None:
                continue
            path = Path(uri_to_path(change.uri))
            folder = session.readable_folder(path)
            if folder is None:
                continue  # outside every workspace folder (or a loose one): never read
            if change.type == types.FileChangeType.Deleted or not path.is_file():
                session.remove(path)
                session.publish(change.uri, None, [])
                continue
            session.queue(path, LOAD)
        if announce:
            session.generation += 1
        session.schedule("workspace/didChangeWatchedFiles", announce=announce)
