"""`workspace/didChangeWorkspaceFolders`: index added folders, forget removed ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from flowsight.server.session import uri_to_path


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        session = server.session
        for removed in params.event.removed:
            for uri in session.remove_folder(Path(uri_to_path(removed.uri))):
                session.publish(uri, None, [])
        loop = asyncio.get_running_loop()
        for added in params.event.added:
            folder = session.add_folder(Path(uri_to_path(added.uri)))
            await loop.run_in_executor(None, session.index_folder, folder)
        session.generation += 1
        session.schedule(announce=True)
