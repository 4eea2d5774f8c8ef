"""The language server on any workspace (`bench/run.py --suite server-stdlib`): how soon an
opened file gets its diagnostics after `initialize`, when the whole-workspace analysis ends
(work-done progress), RSS, and what typing in the opened file costs (server time, from
`flowsight/status`) once the analysis has settled. Run against the workspace and against a
2-file workspace holding only the opened file and one neighbour, in the same process, for
the ratios the targets are stated in."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from lsprotocol import types

from bench.lsp import percentile, rss_mb, start, wait


async def measure(root: Path, opened: Path, edits: int = 30) -> dict:
    client, started = await start(root)
    uri = opened.as_uri()
    text = opened.read_text()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    await wait(lambda: any(v == 1 for v, _ in client.published.get(uri, [])), timeout=600)
    first_diagnostics = min(t for v, t in client.published[uri] if v == 1) - started
    await wait(lambda: client.progress_end is not None, timeout=600)
    analysed = client.progress_end - started  # type: ignore[operator]
    rss = rss_mb(client._server.pid)  # type: ignore[attr-defined]
    lines = text.splitlines()
    returns = [i for i, line in enumerate(lines) if line.lstrip().startswith("return ")][: edits + 1]
    version = 1
    for line in returns:
        version += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=len(lines[line])),
                            end=types.Position(line=line, character=len(lines[line])),
                        ),
                        text=" ",
                    )
                ],
            )
        )
        await wait(lambda version=version: any(v == version for v, _ in client.published.get(uri, [])), timeout=600)
        await asyncio.sleep(0.05)
    status = await client.protocol.send_request_async("flowsight/status", {})
    # The first edit may wait for the settling analysis: not counted.
    served = [sample.milliseconds / 1000 for sample in status.latencies if sample.event == "textDocument/didChange"][1:]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "first_diagnostics_seconds": first_diagnostics,
        "analysis_done_seconds": analysed,
        "rss_mb": rss,
        "edit_p50_seconds": percentile(served, 50),
        "edit_p95_seconds": percentile(served, 95),
        "edits": len(served),
    }


def run(root: Path, opened: Path) -> dict:
    """The workspace, then a 2-file workspace of `opened` and one neighbour."""
    whole = asyncio.run(measure(root, opened))
    with tempfile.TemporaryDirectory() as scratch:
        small = Path(scratch)
        neighbour = next(p for p in sorted(opened.parent.glob("*.py")) if p != opened)
        shutil.copy(opened, small / opened.name)
        shutil.copy(neighbour, small / neighbour.name)
        two = asyncio.run(measure(small, small / opened.name))
    import flowsight

    files = sum(len(repository.files) for repository in flowsight.walk_files([str(root)]).repositories)
    return {"workspace": whole, "two_files": two, "files": files}
