"""The live index behind the server: one native `Workspace` per workspace folder, the edits
waiting to be applied, and the analysis loop.

Invariants:
- The event loop never calls into the core: edits are queued and applied by the analysis job
  in a worker thread, so typing never waits for an analysis.
- Analyses are coalesced: a change starts one once changes pause briefly (QUIET_SECONDS, at
  most MAX_WAIT_SECONDS after the first); changes during a run make exactly one more run on
  the newest text. Results computed while newer edits were waiting are not published; the
  final state always is (an empty list clears a file).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import attrs
from lsprotocol import types

import flowsight
from flowsight import positions
from flowsight.commands.common import python_files
from flowsight.server.diagnostics import SEVERITY, to_diagnostic

log = logging.getLogger("flowsight.server")

# If idle, an analysis starts once no change has arrived for QUIET_SECONDS (a burst sent
# together — a multi-cursor edit, a formatter, a paste — is one run), and at the latest
# MAX_WAIT_SECONDS after the first change (continuous changes never starve the analysis).
QUIET_SECONDS = 0.01
MAX_WAIT_SECONDS = 0.05
# Latency samples kept for `flowsight/status` (change received → its results published).
LATENCY_SAMPLES = 2000


@dataclass
class PendingChange:
    version: int | None
    edits: list[flowsight.TextEdit] | None  # None: replace with `text`
    text: str | None = None


@dataclass
class Folder:
    root: Path
    workspace: flowsight.Workspace
    pending: dict[str, list[PendingChange]] = field(default_factory=dict)
    published: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    published_versions: dict[str, int | None] = field(default_factory=dict)
    findings: list = field(default_factory=list)
    # Converted diagnostics by finding identity and places (reused while nothing moved).
    diagnostic_cache: dict[tuple, types.Diagnostic] = field(default_factory=dict)


class Session:
    def __init__(
        self,
        publish: Callable[[str, int | None, list[types.Diagnostic]], None],
        report: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.publish = publish
        self.report = report
        self.folders: list[Folder] = []
        self.encoding: positions.Encoding = "utf-16"
        self.generation = 0
        self.running: asyncio.Task | None = None
        self.last_change = 0.0
        self.rerun = False
        self.settings: dict = {}
        # Serialises every call into the core made from worker threads.
        self.lock = threading.Lock()
        # Set while an analysis waits for the lock: indexing steps aside between batches.
        self.analysis_waiting = threading.Event()
        # Changes not yet served by a published analysis: (received at, what), and the
        # measured latencies of served ones (server time: handler entry → publish written).
        self.unserved: list[tuple[float, str]] = []
        self.latencies: deque[dict] = deque(maxlen=LATENCY_SAMPLES)
        self.last_analysis: dict = {}

    # ------------------------------------------------------------------ folders and documents
    def add_folder(self, root: Path) -> Folder:
        folder = Folder(root=root, workspace=flowsight.Workspace(str(root)))
        self.folders.append(folder)
        self.folders.sort(key=lambda f: len(str(f.root)), reverse=True)
        return folder

    def folder_for(self, path: Path) -> Folder:
        for folder in self.folders:
            if path.is_relative_to(folder.root):
                return folder
        # A file outside every folder gets a folder of its own (its directory).
        return self.add_folder(path.parent)

    def index_folder(self, folder: Folder) -> int:
        """Reads every Python file of a folder (worker thread); open documents keep their text."""
        files = python_files(folder.root)
        # In batches, releasing the core between them: an analysis of the documents already
        # open can run meanwhile, so open files get diagnostics first.
        for start in range(0, len(files), 25):
            waited = 0.0
            while self.analysis_waiting.is_set() and waited < 5.0:
                time.sleep(0.005)
                waited += 0.005
            with self.lock:
                known = set(folder.workspace.files())
                for path in files[start : start + 25]:
                    if path.relative_to(folder.root).as_posix() not in known:
                        folder.workspace.load_file(str(path))
        return len(files)

    def queue(self, path: Path, change: PendingChange) -> None:
        folder = self.folder_for(path)
        key = path.relative_to(folder.root).as_posix()
        folder.pending.setdefault(key, []).append(change)
        self.generation += 1

    # ------------------------------------------------------------------ analysis
    def schedule(self, event: str | None = None) -> None:
        """Coalesces: one run soon, or one more run after the current one. `event` names the
        change that asked for it (measured until its results are published)."""
        self.last_change = time.perf_counter()
        if event is not None:
            self.unserved.append((self.last_change, event))
        if self.running is not None and not self.running.done():
            self.rerun = True
            return
        self.running = asyncio.get_running_loop().create_task(self._run())

    async def _settle(self) -> None:
        """Waits until changes pause for QUIET_SECONDS, or MAX_WAIT_SECONDS have passed."""
        started = time.perf_counter()
        while True:
            now = time.perf_counter()
            wait = min(self.last_change + QUIET_SECONDS, started + MAX_WAIT_SECONDS) - now
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _run(self) -> None:
        await self._settle()
        loop = asyncio.get_running_loop()
        while True:
            self.rerun = False
            generation = self.generation
            try:
                results = await loop.run_in_executor(None, self.analyse)
            except flowsight.errors.FlowsightError as error:
                # A bad rules file or setting: said in the client's log, the server keeps running.
                log.error("analysis failed: %s", error)
                self.report(f"flowsight: {error}")
                results = []
            except Exception:  # noqa: BLE001 - logged, the server keeps running
                log.exception("analysis failed")
                self.report("flowsight: internal error during analysis (see the server log)")
                results = []
            if self.generation == generation:
                for folder, path, uri, version, diagnostics in results:
                    # Recorded only once sent: a discarded result must not count as published.
                    folder.published[path] = diagnostics
                    folder.published_versions[path] = version
                    self.publish(uri, version, diagnostics)
                self._served(len(results))
            else:
                self.rerun = True
            if not self.rerun:
                return
            await self._settle()

    def _served(self, publishes: int) -> None:
        """Every change received so far is reflected in what was just published."""
        now = time.perf_counter()
        for received, event in self.unserved:
            self.latencies.append({"event": event, "milliseconds": round((now - received) * 1000, 3), "publishes": publishes})
        self.unserved.clear()

    def status(self) -> dict:
        """What `flowsight/status` reports: folders, files, the last analysis, latencies
        (worker thread: it reads the core)."""
        with self.lock:
            return self._status()

    def _status(self) -> dict:
        return {
            "folders": [{"root": folder.root.as_uri(), "files": len(folder.workspace.files())} for folder in self.folders],
            # Documents whose text comes from the editor (a version) rather than from disk.
            "openDocuments": sum(1 for folder in self.folders for version in folder.workspace.versions().values() if version is not None),
            "lastAnalysis": self.last_analysis,
            "latencies": list(self.latencies),
        }

    def _apply_pending(self, folder: Folder) -> None:
        pending, folder.pending = folder.pending, {}
        for key, changes in pending.items():
            for change in changes:
                try:
                    if change.edits is None:
                        folder.workspace.update_file(key, change.text or "", change.version)
                    else:
                        folder.workspace.apply_edits(key, change.version, change.edits, self.encoding)
                except flowsight.errors.FlowsightError as error:
                    log.warning("%s: %s; re-reading the document", key, error)
                    if change.text is not None:
                        folder.workspace.update_file(key, change.text, change.version)

    def analyse(self) -> list[tuple[Folder, str, str, int | None, list[types.Diagnostic]]]:
        self.analysis_waiting.set()
        with self.lock:
            self.analysis_waiting.clear()
            return self._analyse()

    def _analyse(self) -> list[tuple[Folder, str, str, int | None, list[types.Diagnostic]]]:
        """Applies queued edits, analyses every folder, returns the publishes that changed."""
        results = []
        started = time.perf_counter()
        stats = {"scopes": 0, "reused": 0, "analysed": 0, "rounds": 0}
        for folder in list(self.folders):
            self._apply_pending(folder)
            findings = folder.workspace.analyze_taint(self.settings.get("rules"), list(self.settings.get("disable", [])))
            for name, count in folder.workspace.last_analysis().items():
                stats[name] = stats.get(name, 0) + count
            excluded = self.settings.get("exclude", [])
            if excluded:
                import fnmatch

                findings = [f for f in findings if not any(fnmatch.fnmatch(f.sink.path, pattern) for pattern in excluded)]
            folder.findings = findings
            texts: dict[str, positions.TextLines] = {}
            by_file: dict[str, list[types.Diagnostic]] = {}
            previous_cache, folder.diagnostic_cache = folder.diagnostic_cache, {}
            for finding in findings:
                # A finding whose places did not change keeps its converted diagnostic.
                sink = finding.sink
                key = (
                    finding.id,
                    sink.path,
                    sink.start_line,
                    sink.start_column,
                    sink.end_line,
                    sink.end_column,
                    tuple((s.path, s.start_line, s.start_column, s.end_line, s.end_column) for s in finding.steps),
                )
                diagnostic = previous_cache.get(key)
                if diagnostic is None:
                    for path in {finding.sink.path, *(step.path for step in finding.steps)}:
                        if path not in texts:
                            texts[path] = positions.TextLines(folder.workspace.text(path))
                    diagnostic = to_diagnostic(finding, folder.root, texts, self.encoding)
                folder.diagnostic_cache[key] = diagnostic
                override = self.settings.get("severity", {}).get(finding.rule_id)
                if override in SEVERITY and diagnostic.severity != SEVERITY[override]:
                    diagnostic = attrs.evolve(diagnostic, severity=SEVERITY[override])
                by_file.setdefault(finding.sink.path, []).append(diagnostic)
            # Files whose diagnostics changed, and edited documents (their new version).
            versions = folder.workspace.versions()
            edited = [path for path, version in versions.items() if version is not None and folder.published_versions.get(path) != version]
            for path in set(by_file) | set(folder.published) | set(edited):
                diagnostics = by_file.get(path, [])
                version = versions.get(path)
                if folder.published.get(path) == diagnostics and folder.published_versions.get(path) == version:
                    continue
                uri = (folder.root / path).as_uri()
                results.append((folder, path, uri, version, diagnostics))
        stats["milliseconds"] = round((time.perf_counter() - started) * 1000, 3)
        self.last_analysis = stats
        return results

    def column(self, line_text: str, byte_column: int) -> int:
        """A UTF-8 byte column of a line as a column in the negotiated encoding."""
        return positions.byte_column_to(line_text.encode("utf-8", errors="surrogatepass"), byte_column, self.encoding)

    def remove(self, path: Path) -> None:
        folder = self.folder_for(path)
        key = path.relative_to(folder.root).as_posix()
        folder.pending.pop(key, None)
        with self.lock:
            if key in folder.workspace.versions():
                folder.workspace.remove_file(key)
        self.generation += 1

    def remove_folder(self, root: Path) -> list[str]:
        """Drops a folder; returns the URIs whose diagnostics must be cleared."""
        cleared = []
        for folder in list(self.folders):
            if folder.root == root:
                self.folders.remove(folder)
                cleared = [(folder.root / path).as_uri() for path, diagnostics in folder.published.items() if diagnostics]
        return cleared

    def finding(self, finding_id: str):  # noqa: ANN201
        for folder in self.folders:
            for finding in folder.findings:
                if finding.id == finding_id:
                    return folder, finding
        raise KeyError(finding_id)

    def findings_at(self, uri: str, line: int):  # noqa: ANN201
        path = Path(uri_to_path(uri))
        folder = self.folder_for(path)
        key = path.relative_to(folder.root).as_posix()
        return folder, [f for f in folder.findings if f.sink.path == key and f.sink.start_line <= line <= f.sink.end_line]

    def chunks(self, uri: str):  # noqa: ANN201
        with self.lock:
            folder, key = self.document(uri)
            return folder, key, folder.workspace.chunks(key), folder.workspace.text(key)

    def all_chunks(self):  # noqa: ANN201
        with self.lock:
            for folder in self.folders:
                for key in folder.workspace.files():
                    yield folder, key, folder.workspace.chunks(key)

    # ------------------------------------------------------------------ queries
    def document(self, uri: str) -> tuple[Folder, str]:
        path = Path(uri_to_path(uri))
        folder = self.folder_for(path)
        key = path.relative_to(folder.root).as_posix()
        if key not in folder.workspace.versions():
            raise KeyError(uri)
        return folder, key

    def slice(self, uri: str, line: int, character: int, forward: bool, thin: bool) -> dict:
        with self.lock:
            return self._slice(uri, line, character, forward, thin)

    def _slice(self, uri: str, line: int, character: int, forward: bool, thin: bool) -> dict:
        folder, key = self.document(uri)
        self._apply_pending(folder)
        offset = folder.workspace.position_to_offset(key, line, character, self.encoding)
        line_start = folder.workspace.position_to_offset(key, line, 0, self.encoding)
        result = folder.workspace.slice_code(key, line, offset - line_start, forward, thin)
        files = {}
        for path, lines in result.files.items():
            text = positions.TextLines(folder.workspace.text(path))
            files[(folder.root / path).as_uri()] = [
                types.Range(
                    start=types.Position(line=n - 1, character=0),
                    end=types.Position(line=n - 1, character=text.line_length(n - 1, self.encoding)),
                )
                for n in lines
            ]
        return {
            "files": files,
            "criterion": {"uri": uri, "line": line, "character": character},
            "direction": "forward" if forward else "backward",
        }


def uri_to_path(uri: str) -> str:
    from pygls.uris import to_fs_path

    path = to_fs_path(uri)
    if path is None:
        raise ValueError(f"not a file URI: {uri}")
    return os.path.abspath(path)
