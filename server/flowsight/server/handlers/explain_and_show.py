"""`flowsight.explainTaint` (finding id → the path) and `flowsight.showSlice` (a slice, made
visible through `window/showDocument` selections where the client supports it — Helix drops
command results, so the selection is how it sees one)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from flowsight import positions
from flowsight.server.handlers.execute_command import run_slice


def register(server) -> None:  # noqa: ANN001
    @server.command("flowsight.explainTaint")
    def explain_taint(*arguments: Any) -> dict:
        if len(arguments) != 1 or not isinstance(arguments[0], str):
            raise JsonRpcInvalidParams("flowsight.explainTaint takes one finding id (string)")
        try:
            folder, finding = server.session.finding(arguments[0])
        except KeyError as error:
            raise JsonRpcInvalidParams(f"unknown finding id: {arguments[0]}") from error
        steps = []
        for step in finding.steps:
            lines = positions.TextLines(folder.workspace.text(step.path))
            encoding = server.session.encoding
            steps.append(
                {
                    "uri": (folder.root / step.path).as_uri(),
                    "range": {
                        "start": {"line": step.start_line, "character": lines.column(step.start_line, step.start_column, encoding)},
                        "end": {"line": step.end_line, "character": lines.column(step.end_line, step.end_column, encoding)},
                    },
                    "kind": step.kind,
                    "description": step.description,
                }
            )
        return {"id": finding.id, "ruleId": finding.rule_id, "cwe": finding.cwe, "message": finding.message, "steps": steps}

    @server.command("flowsight.showSlice")
    async def show_slice(*arguments: Any) -> dict:
        result = await run_slice(server, list(arguments))
        capabilities = server.client_capabilities
        if capabilities.window and capabilities.window.show_document and capabilities.window.show_document.support:
            uri = result["criterion"]["uri"]
            ranges = result["files"].get(uri) or []
            if ranges:
                selection = types.Range(start=ranges[0].start, end=ranges[-1].end)
                await server.window_show_document_async(types.ShowDocumentParams(uri=uri, selection=selection, take_focus=False))
        return result
