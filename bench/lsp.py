"""Language-server latency on the Django corpus opened as a workspace (`bench/run.py --suite
server`). A client (pygls) drives `flowsight serve` over stdio.

Two clocks: the server's own (`flowsight/status` reports, for every change, the time from
entering its notification handler to having written the publish of its results), and the
client's (from sending a change to receiving the publish for that version, so including the
JSON-RPC transport both ways)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import BaseLanguageClient


class Client(BaseLanguageClient):
    def __init__(self) -> None:
        super().__init__("flowsight-bench", "0")
        self.published: dict[str, list[tuple[int | None, float]]] = {}
        self.progress_end: float | None = None
        # Work-done progress by token: [title, begun, ended or None] (perf_counter).
        self.progress_spans: dict[str, list] = {}
        self.last_event = time.perf_counter()

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append((params.version, time.perf_counter()))
            self.last_event = time.perf_counter()

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            value = params.value
            kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
            now = time.perf_counter()
            if kind == "begin":
                title = value.get("title") if isinstance(value, dict) else getattr(value, "title", "")
                self.progress_spans[str(params.token)] = [title, now, None]
            elif kind == "end":
                self.progress_end = now
                self.last_event = now
                if str(params.token) in self.progress_spans:
                    self.progress_spans[str(params.token)][2] = now

    def workspace_analysed(self) -> float | None:
        """When the analysis that follows indexing ended (its work-done progress), or None yet:
        the end of the first "analysing" progress begun after the "indexing" progress ended."""
        spans = list(self.progress_spans.values())
        indexed = next((end for title, _, end in spans if title == "flowsight: indexing" and end is not None), None)
        if indexed is None:
            return None
        return next((end for title, begun, end in spans if title == "flowsight: analysing" and begun >= indexed and end is not None), None)


async def wait(condition, timeout: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the server did not answer in time")
        await asyncio.sleep(0.001)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The user and system CPU seconds process `pid` used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def start(root: Path) -> tuple[Client, float]:
    """`flowsight serve` started and initialised with `root` as its one workspace folder; the
    client and when it was started (perf_counter)."""
    client = Client()
    await client.start_io(sys.executable, "-m", "flowsight", "serve")
    started = time.perf_counter()
    capabilities = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)
        ),
    )
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities, root_uri=root.as_uri(), workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]
        )
    )
    client.initialized(types.InitializedParams())
    return client, started


async def measure(root: Path, edits: int = 40) -> dict:
    client, started = await start(root)
    large = root / "django" / "db" / "models" / "fields" / "related.py"
    large_uri = large.as_uri()
    text = large.read_text()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=large_uri, language_id="python", version=1, text=text))
    )
    await wait(lambda: any(v == 1 for v, _ in client.published.get(large_uri, [])))
    first_diagnostics = min(t for v, t in client.published[large_uri] if v == 1) - started
    await wait(lambda: client.progress_end is not None)
    full_index = client.progress_end - started  # type: ignore[operator]
    rss_after_index = rss_mb(client._server.pid)  # type: ignore[attr-defined]

    async def server_latencies(event: str) -> list[float]:
        """Server-side seconds of every served change of `event` so far, oldest first."""
        status = await client.protocol.send_request_async("flowsight/status", {})
        return [sample.milliseconds / 1000 for sample in status.latencies if sample.event == event]

    lines = text.splitlines()
    version = 1

    async def edit_and_wait(line: int, column: int, new_text: str) -> float:
        nonlocal version
        version += 1
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=large_uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=column), end=types.Position(line=line, character=column)
                        ),
                        text=new_text,
                    )
                ],
            )
        )
        await wait(lambda: any(v == version for v, _ in client.published.get(large_uri, [])))
        latency = max(t for v, t in client.published[large_uri] if v == version) - sent
        await asyncio.sleep(0.05)
        return latency

    # Typing inside function bodies: a space at the end of `return` lines. The first edit waits
    # for the analysis of the freshly indexed workspace and is not counted.
    returns = [i for i, line in enumerate(lines) if line.lstrip().startswith("return ")][: edits + 1]
    await edit_and_wait(returns.pop(0), 0, "")
    served_before = len(await server_latencies("textDocument/didChange"))
    latencies = [await edit_and_wait(line, len(lines[line]), " ") for line in returns]
    server_edits = (await server_latencies("textDocument/didChange"))[served_before:]
    # Typing into a function name (renames change which calls resolve).
    definitions = [i for i, line in enumerate(lines) if line.lstrip().startswith("def ")][:5]
    renames = [await edit_and_wait(line, len(lines[line]) - len(lines[line].lstrip()) + len("def "), "x") for line in definitions]
    server_renames = (await server_latencies("textDocument/didChange"))[served_before + len(latencies) :]

    # An edit that changes a summary used in other files: `iri_to_uri` (called from
    # django/http, django/templatetags, django/utils/feedgenerator, …) gains a code-injection
    # sink on its parameter, so callers' tainted arguments become findings; then loses it.
    helper = root / "django" / "utils" / "encoding.py"
    helper_uri = helper.as_uri()
    helper_lines = helper.read_text().splitlines()
    body_line = next(i for i, line in enumerate(helper_lines) if line.strip() == "if iri is None:")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=helper_uri, language_id="python", version=1, text=helper.read_text())
        )
    )
    await wait(lambda: any(v == 1 for v, _ in client.published.get(helper_uri, [])))
    helper_version = 1

    async def helper_edit(insert: bool) -> float:
        nonlocal helper_version
        helper_version += 1
        line = "    eval(iri)\n"
        end = types.Position(line=body_line, character=0) if insert else types.Position(line=body_line + 1, character=0)
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=helper_uri, version=helper_version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=body_line, character=0), end=end), text=line if insert else ""
                    )
                ],
            )
        )
        await wait(lambda: any(v == helper_version for v, _ in client.published.get(helper_uri, [])))
        latency = max(t for v, t in client.published[helper_uri] if v == helper_version) - sent
        await asyncio.sleep(0.05)
        return latency

    served_before = len(await server_latencies("textDocument/didChange"))
    summary_edits = [await helper_edit(insert=True)]
    # What the sink's arrival re-ran: callers across files, over several rounds.
    summary_analysis = (await client.protocol.send_request_async("flowsight/status", {})).lastAnalysis
    summary_edits += [await helper_edit(insert=index % 2 == 0) for index in range(1, 10)]
    server_summary_edits = (await server_latencies("textDocument/didChange"))[served_before:]
    # Ten files changed on disk at once.
    changed = sorted((root / "django" / "utils").glob("*.py"))[:10]
    for path in changed:
        path.write_text(path.read_text() + "\n# touched\n")
    published_before = sum(len(v) for v in client.published.values())
    sent = time.perf_counter()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=p.as_uri(), type=types.FileChangeType.Changed) for p in changed])
    )
    # The analysis finishes when the server is idle again: measured by a round trip after it.
    await asyncio.sleep(0)
    version += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=large_uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)), text=""
                )
            ],
        )
    )
    await wait(lambda: any(v == version for v, _ in client.published.get(large_uri, [])))
    ten_files = max(t for v, t in client.published[large_uri] if v == version) - sent
    watched = await server_latencies("workspace/didChangeWatchedFiles")
    server_ten_files = watched[-1] if watched else float("nan")
    for path in changed:
        path.write_text(path.read_text().removesuffix("\n# touched\n"))
    rss_end = rss_mb(client._server.pid)  # type: ignore[attr-defined]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "first_diagnostics_seconds": first_diagnostics,
        "full_index_seconds": full_index,
        "client_edit_p50_seconds": percentile(latencies, 50),
        "client_edit_p95_seconds": percentile(latencies, 95),
        "edit_p50_seconds": percentile(server_edits, 50),
        "edit_p95_seconds": percentile(server_edits, 95),
        "summary_edit_p50_seconds": percentile(server_summary_edits, 50),
        "summary_edit_p95_seconds": percentile(server_summary_edits, 95),
        "client_summary_edit_p95_seconds": percentile(summary_edits, 95),
        "summary_edit_analysed": summary_analysis.analysed,
        "summary_edit_rounds": summary_analysis.rounds,
        "ten_files_seconds": server_ten_files,
        "client_ten_files_seconds": ten_files,
        "rename_p50_seconds": percentile(server_renames, 50),
        "client_rename_p50_seconds": percentile(renames, 50),
        "rss_after_index_mb": rss_after_index,
        "rss_end_mb": rss_end,
        "edits": len(latencies),
        "published_before_ten_files": published_before,
    }


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (nearest rank) of samples."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, -(-q * len(ordered) // 100) - 1))]


async def restart(root: Path) -> dict:
    """initialize → the diagnostics of every file published (the last publish before the
    background work is done and a quiet half second), from the initialize answer and from the
    process start; when the background work (indexing, analysis) was done; then a wait for the
    cache write (`PERSIST_DELAY`) and shutdown."""
    client = Client()
    await client.start_io(sys.executable, "-m", "flowsight", "serve")
    spawned = time.perf_counter()
    capabilities = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True))
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities, root_uri=root.as_uri(), workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]
        )
    )
    started = time.perf_counter()
    pid = client._server.pid  # type: ignore[attr-defined]
    cpu_started = cpu_seconds(pid)
    client.initialized(types.InitializedParams())
    expected = sum(1 for _ in (root / "django").rglob("*.py"))
    analysed_at = None
    indexing_cpu: tuple[float, float] | None = None
    trees: dict = {}
    while analysed_at is None:
        status = await client.protocol.send_request_async("flowsight/status", {})
        folders = status.get("folders", []) if isinstance(status, dict) else getattr(status, "folders", [])
        analysis = status.get("lastAnalysis", {}) if isinstance(status, dict) else getattr(status, "lastAnalysis", {})
        field = lambda folder, name, default: folder.get(name, default) if isinstance(folder, dict) else getattr(folder, name, default)  # noqa: E731
        files = sum(field(f, "files", 0) for f in folders)
        scopes = analysis.get("scopes", 0) if isinstance(analysis, dict) else getattr(analysis, "scopes", 0)
        if indexing_cpu is None and files >= expected:
            # Every file is stored: the server's CPU from the initialize answer until indexing was done.
            indexing_cpu = cpu_seconds(pid)
            trees = {name: sum(field(field(f, "trees", {}) or {}, name, 0) for f in folders) for name in ("loaded", "written", "removed")}
        if files >= expected and scopes > 0:
            analysed_at = time.perf_counter()
        else:
            await asyncio.sleep(0.01)
        if time.perf_counter() - started > 300:
            raise TimeoutError("the server did not finish its analysis")
    await wait(lambda: time.perf_counter() - client.last_event > 0.5)
    last_publish = max((t for published in client.published.values() for _, t in published), default=analysed_at)
    files = sum(1 for published in client.published.values() if published)
    await asyncio.sleep(3.0)  # the server writes its cache PERSIST_DELAY (2 s) after the analysis
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "seconds": last_publish - started,
        "from_process_start_seconds": last_publish - spawned,
        "startup_seconds": started - spawned,
        "background_done_seconds": analysed_at - started,
        "published_files": files,
        # CPU seconds of the server process from the initialize answer until every file was indexed.
        "indexing_user_cpu_seconds": indexing_cpu[0] - cpu_started[0] if indexing_cpu else 0.0,
        "indexing_cpu_seconds": sum(indexing_cpu) - sum(cpu_started) if indexing_cpu else 0.0,
        "trees": trees,
    }


def run_restart(root: Path) -> dict:
    return asyncio.run(restart(root))


def run(root: Path) -> dict:
    return asyncio.run(measure(root))
