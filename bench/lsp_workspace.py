"""The language server on any workspace (`bench/run.py --suite server-stdlib`): how soon an
opened file gets its diagnostics after `initialize`, when the whole-workspace analysis ends
(work-done progress), RSS and the server's CPU time, and what typing in the opened file costs
(server time, from `flowsight/status`: the first publish of the new version, and when the
workspace analysis's result came where the open documents' analysis served it first) while the
workspace analysis runs in the background and once it has settled. Run against the workspace and against a 2-file workspace holding only the
opened file and one neighbour, in the same process, for the ratios the targets are stated in."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from lsprotocol import types

from bench.lsp import percentile, rss_mb, start, wait

# Edits sent while the workspace analysis runs (each waits for its publish), at most.
EDITS_DURING = 10


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(root: Path, opened: Path, edits: int = 30) -> dict:
    client, started = await start(root)
    pid = client._server.pid  # type: ignore[attr-defined]
    uri = opened.as_uri()
    text = opened.read_text()
    lines = text.splitlines()
    returns = [i for i, line in enumerate(lines) if line.lstrip().startswith("return ")]
    version = 1

    async def edit(line: int) -> None:
        nonlocal version
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

    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    await wait(lambda: any(v == 1 for v, _ in client.published.get(uri, [])), timeout=600)
    first_diagnostics = min(t for v, t in client.published[uri] if v == 1) - started
    # Typing while the workspace is analysed in the background (if it still is).
    during = 0
    while client.workspace_analysed() is None and during < EDITS_DURING:
        await edit(returns.pop(0))
        during += 1
    await wait(lambda: client.workspace_analysed() is not None, timeout=600)
    analysed = client.workspace_analysed() - started  # type: ignore[operator]
    cpu = cpu_seconds(pid)
    rss = rss_mb(pid)
    for line in returns[: edits + 1]:
        await edit(line)
    status = await client.protocol.send_request_async("flowsight/status", {})
    changes = [sample.milliseconds / 1000 for sample in status.latencies if sample.event == "textDocument/didChange"]
    # The first edit after the analysis may wait for a settling run: not counted.
    served_during, served = changes[:during], changes[during + 1 :]
    # Changes the open documents' analysis served first: when the workspace analysis's result came.
    whole = [sample.milliseconds / 1000 for sample in status.latencies if sample.event == "textDocument/didChange (workspace)"]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "first_diagnostics_seconds": first_diagnostics,
        "analysis_done_seconds": analysed,
        "cpu_seconds": cpu,
        "rss_mb": rss,
        "edit_p50_seconds": percentile(served, 50),
        "edit_p95_seconds": percentile(served, 95),
        "edits": len(served),
        "during_p50_seconds": percentile(served_during, 50),
        "during_p95_seconds": percentile(served_during, 95),
        "edits_during": len(served_during),
        "during_samples_seconds": served_during,
        "workspace_result_p50_seconds": percentile(whole[-edits:], 50),
        "workspace_result_p95_seconds": percentile(whole[-edits:], 95),
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
