"""`initialized`: index every workspace folder in the background, with work-done progress
when the client supports it, then analyse and publish."""

from __future__ import annotations

import asyncio
import uuid

from lsprotocol import types

from flowsight.server.handlers.configuration import fetch_configuration


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        session = server.session
        await fetch_configuration(server)
        capabilities = server.client_capabilities
        progress = bool(capabilities.window and capabilities.window.work_done_progress)
        token = str(uuid.uuid4())
        if progress:
            await server.work_done_progress.create_async(token)
            server.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="flowsight: indexing", percentage=0))
        loop = asyncio.get_running_loop()
        indexed = 0
        for number, folder in enumerate(list(session.folders), start=1):
            indexed += await loop.run_in_executor(None, session.index_folder, folder)
            if progress:
                percentage = int(100 * number / max(len(session.folders), 1))
                server.work_done_progress.report(token, types.WorkDoneProgressReport(message=f"{indexed} files", percentage=percentage))
        if progress:
            server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"indexed {indexed} files"))
        session.generation += 1
        session.schedule()
