"""`textDocument/diagnostic` (pull diagnostics), announced only to clients that pull and can be
asked to pull again (see initialize.py). The answer is the document's current diagnostics —
the same list a push would carry — once every change received so far has been analysed; an
unchanged result answers with its `resultId` only."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from flowsight.server.session import uri_to_path

# A pull waits at most this long for the analysis of changes already received.
WAIT_SECONDS = 10.0


def register(server) -> None:  # noqa: ANN001
    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(identifier="flowsight", inter_file_dependencies=True, workspace_diagnostics=False),
    )
    async def diagnostic(params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        session = server.session
        try:
            await asyncio.wait_for(session.idle.wait(), timeout=WAIT_SECONDS)
        except TimeoutError:
            pass  # answer with what is known; a refresh follows when the analysis publishes
        uri = params.text_document.uri
        folder = None
        if uri.startswith("file:"):
            path = Path(uri_to_path(uri))
            folder = session.find_folder(path)
        if folder is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="none")
        key = folder.key(path)
        result_id = folder.result_ids.get(key, "none")
        if params.previous_result_id is not None and params.previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=list(folder.published.get(key, [])), result_id=result_id)
