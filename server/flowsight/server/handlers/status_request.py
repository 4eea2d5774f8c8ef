"""`flowsight/status` (announced under `experimental`): what the server holds and how fast it
answered: folders and file counts, the last analysis (scopes reused and analysed), the number
of analyses run (coalesced: far fewer than the changes), and the
latency of each change from the moment its notification was handled to the moment its results
were published (server time). Editors show it; `bench/lsp.py` measures with it."""

from __future__ import annotations

import asyncio
from typing import Any


def register(server) -> None:  # noqa: ANN001
    @server.feature("flowsight/status")
    async def status_request(params: Any) -> dict:
        # Off the event loop: the core may be busy with an analysis.
        return await asyncio.get_running_loop().run_in_executor(None, server.session.status)
