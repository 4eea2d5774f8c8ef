"""`flowsight/slice`: the slice command as a custom request (announced under `experimental`)."""

from __future__ import annotations

from typing import Any

from flowsight.server.handlers.execute_command import run_slice


def plain(value: Any) -> Any:
    """pygls hands custom request params over as an attribute object: back to plain data."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "_asdict"):  # pygls hands unknown JSON objects over as named tuples
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return {key: plain(item) for key, item in vars(value).items()}


def register(server) -> None:  # noqa: ANN001
    @server.feature("flowsight/slice")
    async def slice_request(params: Any) -> dict:
        return await run_slice(server, plain(params))
