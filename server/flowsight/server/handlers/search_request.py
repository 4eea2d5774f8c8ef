"""`flowsight/search`: the `flowsight.search` command as a custom request (announced under
`experimental`)."""

from __future__ import annotations

from typing import Any

from flowsight.server.handlers.execute_command import run_search
from flowsight.server.handlers.slice_request import plain


def register(server) -> None:  # noqa: ANN001
    @server.feature("flowsight/search")
    async def search_request(params: Any) -> dict:
        return await run_search(server, plain(params))
