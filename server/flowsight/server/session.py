"""The live index behind the server: one native `Workspace` per workspace folder, the edits
waiting to be applied, and the analysis loop.

Invariants:
- The event loop never calls into the core: edits are queued and applied by the analysis job
  in a worker thread, so typing never waits for an analysis. A change costs the event loop what
  it touches (the open documents' text is kept by documents.py), and queued edits of a file are
  coalesced into one core call (pending.py).
- Analyses are coalesced: a change starts one once changes pause briefly (QUIET_SECONDS, at
  most MAX_WAIT_SECONDS after the first); changes during a run make exactly one more run on
  the newest text. A run applies the changes that arrived while it applied the previous ones
  before it analyses (CATCH_UP_ROUNDS). Results computed while newer edits were waiting are
  not published; the final state always is (an empty list clears a file). Edits the core
  refuses make the document's whole text be queued again (the editor's text is the truth).
- A folder's settings are its project's `[tool.flowsight]` combined with the client's
  (`settings.py`); a rule id or rules file the core rejects is reported once through
  `notify` (window/showMessage) and left out, and the analysis runs without it.
- Only regular files under a workspace folder are read from disk, after resolving `..` and
  symbolic links (`readable_folder`), and only by the core in the analysis job, which checks
  the same again as it opens the file (`load_file(within=…)`: resolved inside the folder's
  scopes, opened without following a link or blocking, a regular file by `fstat`, reads
  capped), so a file swapped after the check is not read: never on the event loop. A document the
  client opens outside every folder is analysed from the text the client sends, in a "loose"
  folder (its directory) that is never read from disk nor indexed, and forgotten on close.
  Requests about a file outside every folder register nothing.
- An editor buffer over MAX_DOCUMENT_BYTES is not analysed: it is taken out of the core and
  its diagnostics are one warning saying so (shown once with window/showMessage too).
- Diagnostics of a file are its findings' and (unless switched off) its syntax errors'. With
  a client that pulls diagnostics, open documents are answered by `textDocument/diagnostic`
  and every other file is pushed; otherwise every file is pushed.
- Nothing done for slices or highlights holds up an analysis: slices are prepared after
  analyses pause, in steps under the lock, stopping as soon as an analysis waits for it; a
  highlight runs in its own thread, newest request only (highlights.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from flowsight._native import is_excluded, rule_ids, walk_files
from flowsight.cache import cache_dir
from flowsight.config import ProjectConfig, load_project_config
from flowsight.errors import FlowsightError
from flowsight.files import read_regular_file
from flowsight.server.code_search import CodeSearch
from flowsight.server.diagnostics import SEVERITY, syntax_diagnostic, to_diagnostic, too_large_diagnostic
from flowsight.server.documents import Documents, uri_to_path
from flowsight.server.foreground import Foreground, module_keys
from flowsight.server.highlights import Highlights
from flowsight.server.pending import LOAD, REMOVE, PendingChange, PendingChanges
from flowsight.server.project import Project, find_project
from flowsight.server.settings import ClientSettings, Settings, combine

log = logging.getLogger("flowsight.server")

# If idle, an analysis starts once no change has arrived for QUIET_SECONDS (a burst sent
# together — a multi-cursor edit, a formatter, a paste — is one run), and at the latest
# MAX_WAIT_SECONDS after the first change (continuous changes never starve the analysis).
QUIET_SECONDS = 0.01
MAX_WAIT_SECONDS = 0.05
# The persistent cache is written once analyses pause this long.
PERSIST_DELAY = 2.0
# Slices are prepared (every scope's graph, links, effects, PDGs) once analyses pause this long,
# this many scopes per hold of the lock (tens of milliseconds on Django), stepping aside when an
# analysis waits or is due.
PREPARE_DELAY = 2.0
PREPARE_STEP = 500
# A workspace analysis due while the open documents are analysed (foreground.py) starts once
# that is done, or after this long.
FOREGROUND_FIRST_SECONDS = 0.2
# The engine's shared pool (the workspace analysis, indexing) runs at this niceness in the
# server; the open documents' analysis, on a pool of its own, at the process's.
BACKGROUND_NICENESS = 10
# Latency samples kept for `flowsight/status` (change received → its results published).
LATENCY_SAMPLES = 2000
# An analysis still running after this long reports work-done progress (whole-program runs —
# after indexing, a settings change, a reindex — report it from the start).
PROGRESS_AFTER_SECONDS = 0.2
# Times an analysis applies changes that arrived while it applied the previous ones, before it
# starts analysing anyway (each round costs a re-parse of the files changed).
CATCH_UP_ROUNDS = 3
# Syntax errors shown per file.
SYNTAX_ERRORS_PER_FILE = 100
# Files a folder's indexing reads and parses in parallel before storing them under the lock.
INDEX_BATCH_FILES = 64
# Editor buffers larger than this (UTF-8 bytes) are not analysed (see `size_state`).
MAX_DOCUMENT_BYTES = 8 << 20


@dataclass
class Folder:
    root: Path
    workspace: flowsight.Workspace
    project: Project | None = None
    # The project's [tool.flowsight] (None: none, or invalid — then reported) and the settings in effect.
    config: ProjectConfig | None = None
    settings: Settings = field(default_factory=Settings)
    # Workspace folders of the client this folder serves (several package folders, one project).
    client_folders: set[Path] = field(default_factory=set)
    pending: PendingChanges = field(default_factory=PendingChanges)
    # Open documents whose queued edits the core refused: their whole text is queued again.
    resync: set[str] = field(default_factory=set)
    # The current diagnostics of each file (pushed, or answered to a pull), their versions,
    # and a result id per file for pulls (changes whenever the diagnostics do).
    published: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    published_versions: dict[str, int | None] = field(default_factory=dict)
    result_ids: dict[str, str] = field(default_factory=dict)
    # What was last pushed per file (a pull client's open documents are not pushed).
    pushed: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    # Files to publish after the next analysis even if nothing changed (a reopened document).
    republish: set[str] = field(default_factory=set)
    # Documents open in a client that pulls diagnostics.
    pulled: set[str] = field(default_factory=set)
    findings: list = field(default_factory=list)
    # Converted diagnostics by finding identity and places (reused while nothing moved).
    diagnostic_cache: dict[tuple, types.Diagnostic] = field(default_factory=dict)
    # Syntax-error diagnostics per file with errors, and files whose text changed since.
    syntax: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    syntax_stale: set[str] = field(default_factory=set)
    # ((rules file, its text, disabled ids) the core rejected, (rules file, disabled ids) used instead).
    rules_fallback: tuple | None = None
    # A folder for documents opened outside every workspace folder: never read from disk, and
    # dropped when its last document is closed; `open` holds its documents.
    loose: bool = False
    open: set[str] = field(default_factory=set)
    # Open documents over MAX_DOCUMENT_BYTES (not in the core) and their sizes.
    oversized: dict[str, int] = field(default_factory=dict)
    # Files changed since code search last handed them to the folder's vectors (code_search.py).
    search_dirty: set[str] = field(default_factory=set)
    # The persistent cache's directory (search index, analysis, embeddings), known once indexing
    # has loaded every file; None before, or when the cache is off.
    cache: Path | None = None
    # The directories indexed and read (empty: the root); a package folder without project
    # markers is named from its project root but only it is read (see project.py).
    scopes: list[Path] = field(default_factory=list)
    # Exclude patterns in effect as the core's walker takes them, and whether the files must
    # be walked again because they changed.
    excludes: list[tuple[str, list[str]]] = field(default_factory=list)
    rewalk: bool = False
    indexed: bool = False
    # The project's packaging configuration was read again: the core re-reads its source roots
    # (module names) in the next analysis job.
    refresh_roots: bool = False
    # Until its first indexing has stored every file, an analysis of the folder sees part of it:
    # only open documents' diagnostics are published then (others would be partial), and not
    # those `publish_again` restored while their version is the one it published
    # (`restored`). `whole_analysed`: an analysis after indexing ran (its results supersede
    # what `publish_again` would publish). Set under the session's lock.
    loading: bool = True
    whole_analysed: bool = False
    restored: dict[str, int | None] = field(default_factory=dict)
    # The open documents analysed first (foreground.py), made on the first change of one; the
    # folder's files by dotted name (`foreground.module_keys`), to find what they import.
    foreground: Foreground | None = None
    modules: dict[str, str] = field(default_factory=dict)

    def key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def contains_resolved(self, path: Path) -> bool:
        """Whether `path`, with symbolic links resolved, is inside this folder's scope (resolved)."""
        real = os.path.realpath(path)
        for scope in self.scopes or [self.root]:
            real_scope = os.path.realpath(scope)
            if real == real_scope or real.startswith(real_scope.rstrip(os.sep) + os.sep):
                return True
        return False

    def readable_scopes(self) -> list[str]:
        """The directories files are read from: the core reads a file only if it resolves inside
        one of them at the moment it opens it (a file swapped for a link after `readable_folder`
        checked it is not read)."""
        return [str(scope) for scope in self.scopes or [self.root]]

    def is_excluded(self, key: str) -> bool:
        """Whether the file `key` is left out by the `exclude` settings (never analysed)."""
        return bool(self.excludes) and is_excluded(str(self.root / key), False, self.excludes)


class Session:
    def __init__(
        self,
        publish: Callable[[str, int | None, list[types.Diagnostic]], None],
        report: Callable[[str], None] = lambda message: None,
        notify: Callable[[types.MessageType, str], None] = lambda kind, message: None,
    ) -> None:
        self.publish = publish
        self.report = report
        # window/showMessage: problems the user must fix (a bad rule id, a bad rules file).
        self.notify = notify
        self.folders: list[Folder] = []
        self.encoding: positions.Encoding = "utf-16"
        self.generation = 0
        self.running: asyncio.Task | None = None
        # The foreground job (foreground.py): running, and asked to run once more.
        self.foreground_running: asyncio.Task | None = None
        self.foreground_rerun = False
        # `prepare_foreground` in a worker thread (one at a time).
        self.foreground_preparing: asyncio.Future | None = None
        self.last_change = 0.0
        self.rerun = False
        self.client_settings = ClientSettings()
        # Problems already shown (each once until the settings change), and those found
        # before the client could be told (during `initialize`).
        self.shown: set[str] = set()
        self.held_back: list[tuple[types.MessageType, str]] | None = []
        # Pull diagnostics: set when the client pulls them (and can be asked to re-pull).
        self.pull = False
        self.refresh: Callable[[], None] | None = None
        # Work-done progress for analyses: an async callable (title, message) → object with
        # `end(message)`, or None when the client cannot show progress.
        self.progress: Callable | None = None
        self.announce = False
        # Set whenever no analysis is due or running (pull requests wait for it).
        self.idle = asyncio.Event()
        self.idle.set()
        # Serialises every call into the core made from worker threads.
        self.lock = threading.Lock()
        # Set while an analysis waits for the lock: indexing steps aside between batches.
        self.analysis_waiting = threading.Event()
        # Changes not yet served by a published analysis: (received at, what), and the
        # measured latencies of served ones (server time: handler entry → publish written).
        # Each: [received, event, served first by the foreground].
        self.unserved: list[list] = []
        self.latencies: deque[dict] = deque(maxlen=LATENCY_SAMPLES)
        self.last_analysis: dict = {}
        # Analyses run so far (coalescing makes them far fewer than the changes).
        self.analyses = 0
        # documentHighlight's own thread, newest request only (see highlights.py).
        self.highlights = Highlights()
        # Code search: lexical indexes built off the lock, vectors, facts of the analysis.
        self.code_search = CodeSearch(self)
        # The persistent cache: folders analysed since their cache was last written, and the
        # pending (debounced) write.
        self.persist_due: set[Path] = set()
        self.persist_handle: asyncio.TimerHandle | None = None
        self.persist_task: asyncio.Future | None = None
        # Slice preparation after analyses pause (`_prepare_later`).
        self.prepare_handle: asyncio.TimerHandle | None = None
        self.prepare_task: asyncio.Future | None = None
        # Folders whose slices a preparation completed (counted per completion).
        self.slices_prepared = 0
        # The text of the documents open in the client (kept up to date by protocol.py).
        self.documents = Documents()

    # ------------------------------------------------------------------ problems and settings
    def problem(self, kind: types.MessageType, message: str) -> None:
        """Shows `message` once (until the settings change); also logged."""
        log.warning("%s", message)
        if message in self.shown:
            return
        self.shown.add(message)
        if self.held_back is not None:
            self.held_back.append((kind, message))
        else:
            self.notify(kind, message)

    def release_problems(self) -> None:
        """The client is initialized: problems found so far are shown now, later ones at once."""
        held, self.held_back = self.held_back or [], None
        for kind, message in held:
            self.notify(kind, message)

    def set_client_settings(self, settings: ClientSettings) -> None:
        self.client_settings = settings
        self.shown.clear()
        for folder in self.folders:
            self._settle_settings(folder)

    def reload_project_config(self, folder: Folder, pyproject: Path | None = None) -> None:
        """Reads the folder's pyproject.toml `[tool.flowsight]` (again; `pyproject` names one
        created, changed or deleted in the project directory); an invalid one is reported and
        ignored."""
        if pyproject is not None and folder.project is not None:
            folder.project = dataclasses.replace(folder.project, pyproject=pyproject if pyproject.is_file() else None)
            folder.refresh_roots = True
            self.shown.clear()
        pyproject = folder.project.pyproject if folder.project is not None else None
        try:
            folder.config = load_project_config(pyproject)
        except FlowsightError as error:
            folder.config = None
            self.problem(types.MessageType.Error, f"flowsight: {error}; the project's settings are ignored")
        self._settle_settings(folder)

    def _settle_settings(self, folder: Folder) -> None:
        base = folder.project.folder if folder.project else folder.root
        folder.settings = combine(folder.config, self.client_settings, base)
        folder.rules_fallback = None
        # Project patterns are relative to their pyproject.toml's directory, the client's to the folder.
        excludes = [*(folder.config.excludes() if folder.config is not None else [])]
        if self.client_settings.exclude:
            excludes.append((str(base), list(self.client_settings.exclude)))
        if excludes != folder.excludes:
            folder.excludes = excludes
            folder.rewalk = folder.indexed

    # ------------------------------------------------------------------ folders and documents
    def add_folder(self, path: Path, detect: bool = True) -> Folder:
        """The folder serving a client workspace folder: its project root found from markers
        when it is a package directory (see project.py). Folders with one root are one."""
        project = find_project(path) if detect else Project(folder=path, root=path, directory=None, pyproject=None)
        for folder in self.folders:
            if folder.root == project.root:
                folder.client_folders.add(project.folder)
                if folder.scopes and project.scope is not None and project.scope not in folder.scopes:
                    folder.scopes.append(project.scope)
                elif project.scope is None:
                    folder.scopes = []  # the whole root
                return folder
        if project.moved:
            log.info("workspace folder %s is a package: analysing the project root %s", project.folder, project.root)
        folder = Folder(
            root=project.root,
            workspace=flowsight.Workspace(str(project.root)),
            project=project,
            client_folders={project.folder},
            scopes=[project.scope] if project.scope is not None else [],
        )
        self.reload_project_config(folder)
        self.folders.append(folder)
        self.folders.sort(key=lambda f: len(str(f.root)), reverse=True)
        return folder

    def document_folder(self, path: Path) -> Folder:
        """The folder of a document the client opens: a loose folder (its directory, see
        `Folder.loose`) when it is outside every folder."""
        folder = self.find_folder(path)
        if folder is None:
            log.info("%s is outside every workspace folder: analysed from the editor's text only", path)
            folder = Folder(root=path.parent, workspace=flowsight.Workspace(str(path.parent)), loose=True, loading=False)
            self._settle_settings(folder)
            self.folders.append(folder)
            self.folders.sort(key=lambda f: len(str(f.root)), reverse=True)
        if folder.loose:
            folder.open.add(folder.key(path))
        return folder

    def readable_folder(self, path: Path) -> Folder | None:
        """The workspace folder whose file `path` may be read from disk: inside it before and
        after resolving symbolic links (`path` is absolute and normalised, see uri_to_path), in
        a folder that is not loose. None: the file is never read."""
        folder = self.find_folder(path)
        if folder is None or folder.loose or not folder.contains_resolved(path):
            return None
        return folder

    def find_folder(self, path: Path) -> Folder | None:
        for folder in self.folders:
            if any(path.is_relative_to(scope) for scope in folder.scopes or [folder.root]):
                return folder
        return None

    def index_folder(self, folder: Folder, refresh: bool = False, files: list[Path] | None = None) -> int:
        """Reads every Python file of a folder (worker thread); open documents keep their text.
        Files resolving outside the folder (symbolic links) are skipped; the core skips what is
        not a regular file and caps reads. `refresh` (flowsight.reindex) re-reads files already
        known and forgets files gone from disk."""
        if folder.loose:
            return 0
        if files is None or refresh:
            files = self.folder_files(folder)
            folder.modules = module_keys([folder.key(path) for path in files])
        if refresh:
            with self.lock:
                listed = {folder.key(path) for path in files}
                for key, version in folder.workspace.versions().items():
                    if version is None and key not in listed:
                        folder.workspace.remove_file(key)
                        folder.syntax_stale.add(key)
                        folder.search_dirty.add(key)
        # The persistent cache's directory (None: off): files whose stored syntax tree is valid
        # are built from it instead of parsed, and the next analysis starts from its analysis.
        directory = self.cache_directory(folder)
        # In batches read and parsed in parallel without the core's lock, then stored under it:
        # an analysis of the documents already open can run meanwhile, so open files get
        # diagnostics first, and requests wait at most for one batch to be stored.
        for start in range(0, len(files), INDEX_BATCH_FILES):
            batch = files[start : start + INDEX_BATCH_FILES]
            read = folder.workspace.read_files(
                [str(path) for path in batch], within=folder.readable_scopes(), cache_dir=None if directory is None else str(directory)
            )
            waited = 0.0
            while self.analysis_waiting.is_set() and waited < 5.0:
                time.sleep(0.005)
                waited += 0.005
            with self.lock:
                versions = folder.workspace.versions()
                keys = {folder.key(path) for path in batch}
                wanted = {key for key in keys if key not in versions or (refresh and versions[key] is None and key not in folder.pending)}
                folder.workspace.store_read_files(read, only=wanted)
                folder.syntax_stale.update(wanted)
                folder.search_dirty.update(wanted)
        if not refresh:
            # Every file is loaded: the next analysis starts from the persistent cache.
            with self.lock:
                folder.workspace.set_cache_dir(None if directory is None else str(directory))
                folder.cache = directory
                folder.loading = False
        return len(files)

    def cache_directory(self, folder: Folder) -> Path | None:
        """The folder's persistent cache directory (None: the cache is off): the one directory
        indexing reads stored trees from, `set_cache_dir` gets and `published_again` reads. A
        package folder without a marker is rooted above itself: its cache is in the user's cache
        directory, nothing is written there."""
        return cache_dir(folder.root, folder.config or ProjectConfig(), at_root=not folder.scopes)

    def folder_files(self, folder: Folder) -> list[Path]:
        """The folder's Python files and template files through the core's one file walker (ignore files, hidden
        and tool directories, the `exclude` settings), inside its scope after resolving links."""
        scopes = folder.scopes or [folder.root]
        discovery = walk_files([str(scope) for scope in scopes], root=str(folder.root), excludes=folder.excludes)
        folder.rewalk, folder.indexed = False, True
        listed = [*discovery.files, *discovery.templates]
        return [Path(path) for path in listed if folder.contains_resolved(Path(path))]

    def _rewalk(self, folder: Folder) -> None:
        """The exclude settings changed (under the lock): files now excluded leave the core,
        files no longer excluded are read."""
        listed = {folder.key(path): path for path in self.folder_files(folder)}
        versions = folder.workspace.versions()
        for key in versions:
            if key not in listed and folder.is_excluded(key):
                folder.workspace.remove_file(key)
                folder.syntax.pop(key, None)
        for key, path in listed.items():
            if key not in versions:
                folder.workspace.load_file(str(path), within=folder.readable_scopes())
                folder.syntax_stale.add(key)

    def queue(self, path: Path, change: PendingChange) -> bool:
        """Queues a change of a file of a known folder (False: outside every folder, dropped)."""
        folder = self.find_folder(path)
        if folder is None:
            return False
        key = folder.key(path)
        folder.pending.add(key, change)
        self.generation += 1
        # A client that pulls waits for the workspace analysis anyway (`idle`): no foreground.
        if not folder.loose and not self.pull:
            if self.documents.at(path) is not None and not (change.load or change.remove):
                if folder.foreground is None:
                    folder.foreground = Foreground(folder.root)
                folder.foreground.pending.add(key, change)
            elif folder.foreground is not None and key in folder.foreground.open:
                folder.foreground.pending.add(key, change)
        return True

    def size_state(self, path: Path, size: int) -> str:
        """Checks an editor buffer of `size` UTF-8 bytes against MAX_DOCUMENT_BYTES: "over" (the
        document is taken out of the analysis and a diagnostic says why), "back" (it was over
        and fits again: the caller queues its whole text) or "fits"."""
        folder = self.find_folder(path)
        if folder is None:
            return "fits"
        key = folder.key(path)
        if size > MAX_DOCUMENT_BYTES:
            if key not in folder.oversized:
                self.problem(
                    types.MessageType.Warning,
                    f"flowsight: {path.name} is {size / (1 << 20):.1f} MiB, over the {MAX_DOCUMENT_BYTES >> 20} MiB limit"
                    " for editor buffers; it is not analysed",
                )
                self.queue(path, REMOVE)
            folder.oversized[key] = size
            folder.republish.add(key)
            return "over"
        if folder.oversized.pop(key, None) is not None:
            return "back"
        return "fits"

    def close(self, path: Path) -> None:
        """A document was closed: the file on disk replaces the editor's text when it may be
        read (see `readable_folder`); otherwise the document is forgotten."""
        folder = self.find_folder(path)
        if folder is None:
            return
        key = folder.key(path)
        folder.oversized.pop(key, None)
        readable = self.readable_folder(path) is folder
        self.queue(path, LOAD if readable and os.path.lexists(path) else REMOVE)
        if folder.loose:
            folder.open.discard(key)
        self.closed(path)

    def opened(self, path: Path) -> None:
        """A document was opened (again): its diagnostics are sent even if unchanged — a client
        may have dropped them on close (Neovim's `:e`). A pull client asks for an open
        document's diagnostics itself: what was pushed for it is cleared instead."""
        folder = self.find_folder(path)
        if folder is None:
            return
        key = folder.key(path)
        if self.pull:
            folder.pulled.add(key)
            folder.republish.discard(key)
            if folder.pushed.get(key):
                folder.pushed[key] = []
                self.publish(path.as_uri(), None, [])
        else:
            folder.republish.add(key)

    def closed(self, path: Path) -> None:
        """A document was closed: a pull client forgets its diagnostics, so they are pushed."""
        folder = self.find_folder(path)
        if folder is None:
            return
        key = folder.key(path)
        if self.pull and key in folder.pulled:
            folder.pulled.discard(key)
            folder.republish.add(key)

    # ------------------------------------------------------------------ analysis
    def schedule(self, event: str | None = None, announce: bool = False) -> None:
        """Coalesces: one run soon, or one more run after the current one. `event` names the
        change that asked for it (measured until its results are published); `announce`
        (whole-program runs) reports progress from the start."""
        self.last_change = time.perf_counter()
        self.announce = self.announce or announce
        self.idle.clear()
        if event is not None:
            self.unserved.append([self.last_change, event, False])
        if any(folder.foreground is not None and folder.foreground.pending for folder in self.folders):
            if self.foreground_running is None or self.foreground_running.done():
                self.foreground_running = asyncio.get_running_loop().create_task(self._run_foreground())
            else:
                self.foreground_rerun = True
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
        try:
            await self._settle()
            while True:
                await self._foreground_first()
                self.rerun = False
                generation, results, problems = await self._analyse_with_progress()
                for kind, message in problems:
                    self.problem(kind, message)
                if self._resync():
                    self.rerun = True
                elif self.generation == generation:
                    self._publish(results)
                    self._served(len(results))
                    if self.code_search.vectors:
                        # Vectors follow the edits in the background (the embedding thread embeds).
                        asyncio.get_running_loop().run_in_executor(None, self.code_search.after_analysis)
                    self._persist_later()
                    self._prepare_later()
                else:
                    self.rerun = True
                if not self.rerun:
                    return
                await self._settle()
        finally:
            if not self.rerun:
                self.idle.set()

    async def _foreground_first(self) -> None:
        """Lets a running foreground job (the open documents' analysis) finish first, for at
        most FOREGROUND_FIRST_SECONDS: the workspace analysis would take the cores it needs."""
        task = self.foreground_running
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=FOREGROUND_FIRST_SECONDS)

    async def _run_foreground(self) -> None:
        """Analyses the folders' open documents first (foreground.py) and publishes them, until
        no change of an open document waits (event loop; the work runs in a worker thread)."""
        loop = asyncio.get_running_loop()
        while True:
            self.foreground_rerun = False
            await self._settle()
            taken = time.perf_counter()
            for folder in list(self.folders):
                foreground = folder.foreground
                if foreground is None or not (foreground.pending or foreground.fresh):
                    continue
                try:
                    results = await loop.run_in_executor(None, self.analyse_foreground, folder, foreground)
                except Exception:  # noqa: BLE001 - logged; the workspace analysis still serves the documents
                    log.exception("analysing the open documents of %s failed", folder.root)
                    continue
                self._publish_foreground(folder, results, taken)
                self.prepare_open_documents(folder, foreground)
            if not self.foreground_rerun:
                return

    def analyse_foreground(self, folder: Folder, foreground: Foreground) -> list[tuple[str, int | None, list[types.Diagnostic]]]:
        """The open documents' diagnostics from the foreground workspace (worker thread, under
        the foreground's lock only): (key, version, diagnostics) per open document."""
        with foreground.lock:
            opened = {folder.key(Path(name)) for name in list(self.documents.open) if self.find_folder(Path(name)) is folder}
            foreground.apply(opened)
            workspace = foreground.workspace  # made by `apply`
            foreground.fresh = False
            if not foreground.open:
                return []
            try:
                findings = self._foreground_taint(folder, workspace)
            except flowsight.errors.RuleConfigError:
                return []  # reported by the workspace analysis, which leaves the culprit out
            versions = workspace.versions()
            by_file = render_findings(folder, [f for f in findings if f.sink.path in foreground.open], workspace.text, self.encoding)
            # The workspace analysis's findings in open documents whose path leaves the files held
            # here (a source in a caller elsewhere): the foreground cannot see them, so they stay
            # as last published until the workspace analysis publishes again.
            held = foreground.open | foreground.loaded
            rendered = folder.diagnostic_cache
            for finding in folder.findings:
                if finding.sink.path not in foreground.open:
                    continue
                if finding.source.path in held and all(step.path in held for step in finding.steps):
                    continue
                diagnostic = rendered.get(diagnostic_key(finding))
                if diagnostic is not None:
                    override = folder.settings.severity.get(finding.rule_id)
                    if override in SEVERITY and diagnostic.severity != SEVERITY[override]:
                        diagnostic = attrs.evolve(diagnostic, severity=SEVERITY[override])
                    by_file.setdefault(finding.sink.path, []).append(diagnostic)
            results = []
            for key in sorted(foreground.open):
                diagnostics = by_file.get(key, [])
                if folder.settings.syntax_severity is not None:
                    errors = workspace.syntax_errors(key, SYNTAX_ERRORS_PER_FILE)
                    if errors:
                        lines = positions.TextLines(workspace.text(key))
                        severity = folder.settings.syntax_severity
                        for error in errors:
                            diagnostic = syntax_diagnostic(error, lines, self.encoding)
                            diagnostics.append(
                                diagnostic if severity == types.DiagnosticSeverity.Error else attrs.evolve(diagnostic, severity=severity)
                            )
                results.append((key, versions.get(key), diagnostics))
            return results

    @staticmethod
    def _foreground_taint(folder: Folder, workspace: flowsight.Workspace) -> list:
        settings = folder.settings
        return workspace.analyze_taint(settings.rules, list(settings.disable), list(settings.threat_models))

    def prepare_foreground(self, folder: Folder, foreground: Foreground) -> bool:
        """`Foreground.prepare` (worker thread): whether a workspace with the open documents'
        imports took over (then they are analysed and published again)."""
        try:
            return foreground.prepare(folder.readable_scopes(), folder.modules, lambda workspace: self._foreground_taint(folder, workspace))
        except FlowsightError as error:
            log.warning("the open documents' imports in %s are not analysed first: %s", folder.root, error)
            return False

    def prepare_open_documents(self, folder: Folder, foreground: Foreground | None) -> None:
        """Starts `prepare_foreground` unless one runs (event loop); when a workspace with the
        imports took over, analyses the open documents again."""
        if foreground is None or not folder.modules:
            return
        if self.foreground_preparing is not None and not self.foreground_preparing.done():
            return
        loop = asyncio.get_running_loop()
        self.foreground_preparing = loop.run_in_executor(None, self.prepare_foreground, folder, foreground)

        def done(future: asyncio.Future) -> None:
            if not future.cancelled() and future.exception() is None and future.result():
                self.schedule_foreground()

        self.foreground_preparing.add_done_callback(done)

    def schedule_foreground(self) -> None:
        """Runs the foreground job soon (or once more), e.g. after `prepare_foreground`."""
        if self.foreground_running is None or self.foreground_running.done():
            self.foreground_running = asyncio.get_running_loop().create_task(self._run_foreground())
        else:
            self.foreground_rerun = True

    def _publish_foreground(self, folder: Folder, results: list, taken: float) -> None:
        """Publishes the foreground's diagnostics of open documents at their newest version and
        not yet published by the workspace analysis; changes received before `taken` count as
        served (first) by it."""
        publishes = []
        for key, version, diagnostics in results:
            document = self.documents.at(folder.root / key)
            if document is None or document.version != version or key in folder.oversized:
                continue
            if folder.published_versions.get(key) == version and key in folder.published:
                continue  # the workspace analysis got there first: its result stands
            publishes.append((folder, key, (folder.root / key).as_uri(), version, diagnostics))
        if not publishes:
            return
        self._publish(publishes)
        now = time.perf_counter()
        for entry in self.unserved:
            received, event, first = entry
            if not first and received <= taken:
                entry[2] = True
                self.latencies.append(
                    {"event": event, "milliseconds": round((now - received) * 1000, 3), "publishes": len(publishes), "openDocuments": True}
                )

    def _persist_later(self) -> None:
        """Writes the persistent caches of the folders analysed, PERSIST_DELAY seconds after the
        last analysis (never per keystroke), in a worker thread (never on the event loop)."""
        if not self.persist_due:
            return
        if self.persist_handle is not None:
            self.persist_handle.cancel()
        loop = asyncio.get_running_loop()

        def start() -> None:
            self.persist_handle = None
            if self.persist_task is not None and not self.persist_task.done():
                self._persist_later()  # one write at a time: try again later
                return
            self.persist_task = loop.run_in_executor(None, self.persist)

        self.persist_handle = loop.call_later(PERSIST_DELAY, start)

    def _prepare_later(self) -> None:
        """Prepares slices (`prepare_slices`) PREPARE_DELAY seconds after the last analysis, in a
        worker thread, so a slice or a code action's slice never pays for a first visit."""
        if self.prepare_handle is not None:
            self.prepare_handle.cancel()
        loop = asyncio.get_running_loop()

        def start() -> None:
            self.prepare_handle = None
            if self.prepare_task is not None and not self.prepare_task.done():
                self._prepare_later()
                return
            self.prepare_task = loop.run_in_executor(None, self.prepare_slices)

        self.prepare_handle = loop.call_later(PREPARE_DELAY, start)

    def prepare_slices(self) -> None:
        """Every folder's `Workspace.prepare_slices`, PREPARE_STEP scopes per hold of the lock;
        stops as soon as an analysis waits for the lock (the next one prepares again: what is
        prepared stays, only what changed is redone). Worker thread."""
        for folder in list(self.folders):
            remaining = 1
            while remaining:
                if self.analysis_waiting.is_set() or not self.idle.is_set():
                    return
                with self.lock:
                    if folder not in self.folders:
                        break
                    try:
                        remaining = folder.workspace.prepare_slices(PREPARE_STEP)
                    except FlowsightError:
                        # An engine bug: slices are then computed on demand, as without this.
                        log.exception("preparing the slices of %s failed", folder.root)
                        break
                    if remaining == 0:
                        self.slices_prepared += 1

    def persist(self) -> int:
        """Writes the persistent cache of every folder analysed since its last write (worker
        thread). Returns the bytes written."""
        written = 0
        with self.lock:  # analyses (which add to it) run under the lock
            due, self.persist_due = self.persist_due, set()
        for folder in list(self.folders):
            if folder.root not in due:
                continue
            try:
                with self.lock:
                    written += folder.workspace.persist_cache() or 0
                # The syntax trees of the texts just persisted: copied under the core's own lock,
                # written without any lock.
                folder.workspace.persist_trees()
                # The search index: copied under the core's own lock, written without any lock.
                written += folder.workspace.persist_search_index() or 0
            except OSError as error:
                self.report(f"flowsight: cache of {folder.root} not written: {error}")
        return written

    def persist_soon(self, folder: Folder) -> None:
        """Asks for the folder's caches to be written once things pause (any thread)."""
        loop = self.code_search.loop
        if folder.loose or loop is None or loop.is_closed():
            return
        with self.lock:
            self.persist_due.add(folder.root)
        loop.call_soon_threadsafe(self._persist_later)

    def _resync(self) -> bool:
        """Queues the whole text of the open documents whose edits the core refused (whether
        there were any): the editor's text is the truth."""
        resynced = False
        for folder in self.folders:
            keys, folder.resync = folder.resync, set()
            for key in keys:
                document = self.documents.at(folder.root / key)
                if document is not None and key not in folder.oversized:
                    folder.pending.add(key, PendingChange(document.version, None, document.text()))
                    self.generation += 1
                    resynced = True
        return resynced

    async def _analyse_with_progress(self) -> tuple[int, list, list]:
        """Runs `analyse` in a worker thread; reports work-done progress when the run was
        announced or takes longer than PROGRESS_AFTER_SECONDS."""
        loop = asyncio.get_running_loop()
        announce, self.announce = self.announce, False
        work = asyncio.ensure_future(loop.run_in_executor(None, self.analyse))
        reporter = None
        if self.progress is not None:
            if not announce:
                await asyncio.wait({work}, timeout=PROGRESS_AFTER_SECONDS)
            if announce or not work.done():
                folders = len(self.folders)
                reporter = asyncio.ensure_future(self.progress("flowsight: analysing", f"{folders} folder{'' if folders == 1 else 's'}"))
        try:
            generation, results, problems = await work
        except flowsight.errors.FlowsightError as error:
            log.error("analysis failed: %s", error)
            self.report(f"flowsight: {error}")
            generation, results, problems = -1, [], []
        except Exception:  # noqa: BLE001 - logged, the server keeps running
            log.exception("analysis failed")
            self.report("flowsight: internal error during analysis (see the server log)")
            generation, results, problems = -1, [], []
        if reporter is not None:
            # Ended after the results are published (the caller publishes right away).
            asyncio.get_running_loop().call_soon(self._end_progress, reporter)
        return generation, results, problems

    def _end_progress(self, reporter: asyncio.Future) -> None:
        findings = sum(len(folder.findings) for folder in self.folders)
        message = f"{findings} finding{'' if findings == 1 else 's'}"

        def end(future: asyncio.Future) -> None:
            progress = None if future.cancelled() or future.exception() is not None else future.result()
            if progress is not None:
                progress.end(message)

        reporter.add_done_callback(end)

    def _publish(self, results: list) -> None:
        pulled_changed = False
        for folder, path, uri, version, diagnostics in results:
            document = self.documents.at(folder.root / path)
            pulled = self.pull and path in folder.pulled
            stale = not pulled and document is not None and document.version != version
            if stale and path not in folder.oversized and not folder.is_excluded(path):
                # Analysed before the document was opened, or at an older version of it: not
                # sent (an editor would show it as current) nor recorded; the analysis of its
                # current text, foreground or the next run, publishes it. (An oversized or
                # excluded document is not in the core: what is published for it has no version.)
                continue
            # Recorded only once sent: a discarded result must not count as published.
            changed = folder.published.get(path) != diagnostics
            if changed or path not in folder.result_ids:
                folder.result_ids[path] = f"{self.generation}.{len(folder.result_ids)}.{time.monotonic_ns()}"
            edited = folder.published_versions.get(path) != version
            folder.published[path] = diagnostics
            folder.published_versions[path] = version
            folder.republish.discard(path)
            if pulled:
                # The client pulls an edited document itself (the pull waits for this analysis);
                # another open document whose diagnostics changed needs a refresh.
                pulled_changed = pulled_changed or (changed and not edited)
                continue
            folder.pushed[path] = diagnostics
            self.publish(uri, version, diagnostics)
        if pulled_changed and self.refresh is not None:
            self.refresh()
        for folder in [f for f in self.folders if f.loose and not f.open and not f.pending]:
            self.folders.remove(folder)
            self.code_search.forget(folder)

    def _served(self, publishes: int) -> None:
        """Every change received so far is reflected in what was just published."""
        now = time.perf_counter()
        for received, event, first in self.unserved:
            # A change the foreground served first: this is when the whole program's result came.
            name = f"{event} (workspace)" if first else event
            self.latencies.append({"event": name, "milliseconds": round((now - received) * 1000, 3), "publishes": publishes})
        self.unserved.clear()

    def status(self) -> dict:
        """What `flowsight/status` reports: folders, files, the last analysis, latencies
        (worker thread: it reads the core)."""
        with self.lock:
            return self._status()

    def _status(self) -> dict:
        return {
            "folders": [
                {
                    "root": folder.root.as_uri(),
                    "files": len(folder.workspace.files()),
                    # The cache's stored syntax trees: files built from one when indexing, trees written and removed.
                    "trees": folder.workspace.tree_stats(),
                    **({"loose": True} if folder.loose else {}),
                }
                for folder in self.folders
            ],
            # Documents whose text comes from the editor (a version) rather than from disk.
            "openDocuments": sum(1 for folder in self.folders for version in folder.workspace.versions().values() if version is not None),
            "lastAnalysis": self.last_analysis,
            "analyses": self.analyses,
            # Per folder (in `folders` order): how its search index came to be (see
            # `Workspace.search_index_stats`): documents, indexed, reused, reopened, ….
            "searchIndex": [folder.workspace.search_index_stats() for folder in self.folders],
            "latencies": list(self.latencies),
            # documentHighlight requests computed, and answered empty because a newer one came.
            "highlights": self.highlights.stats(),
            # Slice preparations completed (after analyses pause, see `prepare_slices`).
            "slicesPrepared": self.slices_prepared,
        }

    def _apply_pending(self, folder: Folder) -> None:
        if folder.rewalk and not folder.loose:
            self._rewalk(folder)
        if folder.refresh_roots:
            folder.refresh_roots = False
            if folder.workspace.refresh_source_roots():
                folder.search_dirty.update(folder.workspace.files())
        for key, changes in folder.pending.take().items():
            folder.syntax_stale.add(key)
            folder.search_dirty.add(key)
            if folder.is_excluded(key):
                # Excluded files are never analysed, open or not.
                if key in folder.workspace.versions():
                    folder.workspace.remove_file(key)
                continue
            for change in changes:
                try:
                    if change.remove:
                        if key in folder.workspace.versions():
                            folder.workspace.remove_file(key)
                    elif change.load:
                        folder.workspace.load_file(str(folder.root / key), within=folder.readable_scopes())
                    elif change.edits is None:
                        folder.workspace.update_file(key, change.text or "", change.version)
                    else:
                        folder.workspace.apply_edits(key, change.version, change.edits, self.encoding)
                except flowsight.errors.FlowsightError as error:
                    # The editor's whole text is queued again (on the event loop, see `_resync`);
                    # what follows here was made for the refused text.
                    log.warning("%s: %s; the document's whole text is sent to the core again", key, error)
                    folder.resync.add(key)
                    break

    def analyse(self) -> tuple[int, list[tuple[Folder, str, str, int | None, list[types.Diagnostic]]], list[tuple[types.MessageType, str]]]:
        """Applies the queued changes and analyses (worker thread); returns the generation the
        results reflect (see `_apply_all`), the publishes that changed and the problems to show."""
        self.analysis_waiting.set()
        with self.lock:
            self.analysis_waiting.clear()
            generation = self._apply_all()
            return generation, *self._analyse()

    def _apply_all(self) -> int:
        """Applies every folder's queued changes, again while more arrived meanwhile (at most
        CATCH_UP_ROUNDS times), so an analysis starts on the newest text; returns the generation
        of the newest change applied. The generation is read before the changes are taken: a
        change queued in between makes the results look stale (one more run), never current."""
        for _ in range(CATCH_UP_ROUNDS):
            generation = self.generation
            for folder in list(self.folders):
                self._apply_pending(folder)
            if self.generation == generation:
                break
        return generation

    def _taint(self, folder: Folder, problems: list[tuple[types.MessageType, str]]) -> list:
        """The folder's findings. A rules file or rule id the core rejects is left out (and
        reported): the other rules keep working."""
        settings = folder.settings
        rules, disabled = settings.rules, list(settings.disable)
        if folder.rules_fallback is not None:
            rejected, replacement = folder.rules_fallback
            if rejected == (rules, read_text(rules), tuple(disabled)):
                rules, disabled = replacement
        try:
            return folder.workspace.analyze_taint(rules, disabled, list(settings.threat_models))
        except flowsight.errors.RuleConfigError:
            rejected = (rules, read_text(rules), tuple(disabled))
        try:
            known = rule_ids(rules)
        except flowsight.errors.RuleConfigError as error:
            problems.append((types.MessageType.Error, f"flowsight: the rules file is ignored: {error}"))
            rules = None
            known = rule_ids(None)
        unknown = [rule for rule in disabled if rule not in known]
        for rule in unknown:
            problems.append(
                (types.MessageType.Warning, f"flowsight: unknown rule id {rule!r} in `disable`, ignored (known rules: {', '.join(known)})")
            )
        disabled = [rule for rule in disabled if rule in known]
        folder.rules_fallback = (rejected, (rules, disabled))
        return folder.workspace.analyze_taint(rules, disabled, list(settings.threat_models))

    def _syntax(self, folder: Folder) -> None:
        """Brings the syntax-error diagnostics of files changed since the last analysis up to date."""
        stale, folder.syntax_stale = folder.syntax_stale, set()
        for key in stale:
            try:
                errors = folder.workspace.syntax_errors(key, SYNTAX_ERRORS_PER_FILE)
            except flowsight.errors.UnknownFileError:
                errors = []
            if errors:
                lines = positions.TextLines(folder.workspace.text(key))
                folder.syntax[key] = [syntax_diagnostic(error, lines, self.encoding) for error in errors]
            else:
                folder.syntax.pop(key, None)

    def _analyse(self) -> tuple[list[tuple[Folder, str, str, int | None, list[types.Diagnostic]]], list[tuple[types.MessageType, str]]]:
        """Applies queued edits, analyses every folder, returns the publishes that changed and
        the problems to show."""
        results = []
        problems: list[tuple[types.MessageType, str]] = []
        started = time.perf_counter()
        stats = {"scopes": 0, "reused": 0, "analysed": 0, "rounds": 0}
        for folder in list(self.folders):
            findings = self._taint(folder, problems)
            notice = folder.workspace.take_cache_notice()
            if notice is not None:
                self.report(f"flowsight: {notice}")
            if not folder.loose:
                self.persist_due.add(folder.root)
            for name, count in folder.workspace.last_analysis().items():
                stats[name] = stats.get(name, 0) + count
            self._syntax(folder)
            by_file = self._render(folder, findings, folder.workspace.text)
            # Files whose diagnostics changed, edited documents (their new version), reopened ones.
            versions = folder.workspace.versions()
            edited = [path for path, version in versions.items() if version is not None and folder.published_versions.get(path) != version]
            only = None
            if folder.loading:
                # Part of the folder is loaded: open documents only (not one restored as it is).
                only = {path for path, version in versions.items() if version is not None and folder.restored.get(path, -1) != version}
            else:
                folder.whole_analysed = True
            results.extend(self._changed(folder, by_file, versions, edited, only))
        stats["milliseconds"] = round((time.perf_counter() - started) * 1000, 3)
        self.last_analysis = stats
        self.analyses += 1
        return results, problems

    def _render(self, folder: Folder, findings: list, text_of: Callable[[str], str]) -> dict[str, list[types.Diagnostic]]:
        """The folder's diagnostics by file for `findings` (kept as the folder's findings) and
        its syntax errors (`folder.syntax`); `text_of(path)` gives the text a finding's columns
        are converted in."""
        settings = folder.settings
        folder.findings = findings
        cache: dict[tuple, types.Diagnostic] = {}
        by_file = render_findings(folder, findings, text_of, self.encoding, folder.diagnostic_cache, cache)
        folder.diagnostic_cache = cache
        for path, size in folder.oversized.items():
            by_file.setdefault(path, []).insert(0, too_large_diagnostic(size, MAX_DOCUMENT_BYTES))
        syntax_severity = settings.syntax_severity
        if syntax_severity is not None:
            for path, diagnostics in folder.syntax.items():
                if syntax_severity != types.DiagnosticSeverity.Error:
                    diagnostics = [attrs.evolve(d, severity=syntax_severity) for d in diagnostics]
                by_file.setdefault(path, []).extend(diagnostics)
        return by_file

    def _changed(
        self,
        folder: Folder,
        by_file: dict[str, list[types.Diagnostic]],
        versions: dict[str, int | None],
        edited: list[str],
        only: set[str] | None = None,
    ) -> list[tuple[Folder, str, str, int | None, list[types.Diagnostic]]]:
        """The publishes of `by_file` that differ from what the folder published (or whose
        document's version moved, or that were asked again); with `only`, of those files only."""
        results = []
        for path in set(by_file) | set(folder.published) | set(edited) | folder.republish:
            if only is not None and path not in only:
                continue
            diagnostics = by_file.get(path, [])
            version = versions.get(path)
            unchanged = folder.published.get(path) == diagnostics and folder.published_versions.get(path) == version
            if unchanged and path not in folder.republish:
                continue
            results.append((folder, path, (folder.root / path).as_uri(), version, diagnostics))
        return results

    def published_again(self, folder: Folder) -> tuple[list[Path], dict | None]:
        """The folder's files (the walker's list) and, when the persistent cache holds what the
        last run published and it is valid for those files as they are now (same paths, same
        text hashes — the editor's text for open documents — same rules, flowsight version and
        module roots), that again: the findings, syntax errors and texts of the files they
        name. Worker thread; reads files through the core but parses and stores nothing, so a
        restart publishes before indexing (`publish_again`)."""
        files = self.folder_files(folder)
        folder.modules = module_keys([folder.key(path) for path in files])
        if folder.loose:
            return files, None
        directory = self.cache_directory(folder)
        if directory is None:
            return files, None
        opened: dict[str, tuple[int | None, str]] = {}
        for path in files:
            document = self.documents.at(path)
            if document is not None:
                opened[folder.key(path)] = (document.version, document.text())
        settings = folder.settings
        try:
            found = folder.workspace.published_again(
                str(directory),
                [str(path) for path in files],
                within=folder.readable_scopes(),
                texts={key: text for key, (_, text) in opened.items()},
                rules_file=settings.rules,
                disabled_rules=list(settings.disable),
                threat_models=list(settings.threat_models),
            )
        except FlowsightError as error:
            log.info("what %s published last is not used: %s", folder.root, error)
            return files, None
        if found is None:
            return files, None
        findings, syntax, texts = found
        return files, {"findings": findings, "syntax": syntax, "texts": texts, "opened": opened}

    def publish_again(self, folder: Folder, found: dict) -> int:
        """Publishes what `published_again` found (event loop), unless an analysis of the folder
        published already (its results are newer). Returns the files published."""
        opened = found["opened"]
        if folder.whole_analysed or any(key not in opened for key in folder.pending.keys()):
            return 0
        # The documents open now in the folder are those checked, at the versions checked.
        now = {}
        for name, document in self.documents.open.items():
            path = Path(name)
            if path.is_absolute() and self.find_folder(path) is folder:
                now[folder.key(path)] = document.version
        if now != {key: version for key, (version, _) in opened.items()}:
            return 0
        texts = found["texts"]
        syntax: dict[str, list[types.Diagnostic]] = {}
        for error in found["syntax"][: SYNTAX_ERRORS_PER_FILE * 1000]:
            diagnostics = syntax.setdefault(error.path, [])
            if len(diagnostics) < SYNTAX_ERRORS_PER_FILE:
                diagnostics.append(syntax_diagnostic(error, positions.TextLines(texts[error.path]), self.encoding))
        folder.syntax = syntax
        by_file = self._render(folder, found["findings"], texts.__getitem__)
        versions = {key: version for key, (version, _) in opened.items()}
        results = self._changed(folder, by_file, versions, list(versions))
        folder.restored = versions
        self._publish(results)
        return len(results)

    def column(self, line_text: str, byte_column: int) -> int:
        """A UTF-8 byte column of a line as a column in the negotiated encoding."""
        return positions.byte_column_to(line_text.encode("utf-8", errors="surrogatepass"), byte_column, self.encoding)

    def remove(self, path: Path) -> None:
        """Forgets a file (deleted on disk): applied by the next analysis."""
        folder = self.find_folder(path)
        if folder is None:
            return
        folder.pending.add(folder.key(path), REMOVE)
        self.generation += 1

    def remove_folder(self, path: Path) -> list[str]:
        """Drops the client's workspace folder `path` (and the folder serving it, unless it
        serves others too); returns the URIs whose diagnostics must be cleared."""
        cleared = []
        for folder in list(self.folders):
            if path in folder.client_folders or folder.root == path:
                folder.client_folders.discard(path)
                if folder.client_folders:
                    continue
                self.folders.remove(folder)
                self.code_search.forget(folder)
                cleared = [(folder.root / path).as_uri() for path, diagnostics in folder.pushed.items() if diagnostics]
        return cleared

    def finding(self, finding_id: str):  # noqa: ANN201
        for folder in self.folders:
            for finding in folder.findings:
                if finding.id == finding_id:
                    return folder, finding
        raise KeyError(finding_id)

    def findings_at(self, uri: str, line: int):  # noqa: ANN201
        path = Path(uri_to_path(uri))
        folder = self.find_folder(path)
        if folder is None:
            raise KeyError(uri)
        key = path.relative_to(folder.root).as_posix()
        return folder, [f for f in folder.findings if f.sink.path == key and f.sink.start_line <= line <= f.sink.end_line]

    def chunks(self, uri: str):  # noqa: ANN201
        with self.lock:
            folder, key = self.document(uri)
            return folder, key, folder.workspace.chunks(key), folder.workspace.text(key)

    def search(self, query: str, limit: int, mode: str = "lexical") -> list[tuple[Folder, flowsight.SearchHit]]:
        """The best `limit` chunks of every folder for `query`, best first (worker thread).
        Queued edits are applied first, so unsaved text is searched as it is now; a folder's
        first search builds its index, without holding the lock (see code_search.py). `mode` is
        "lexical" or "symbols" (see `Workspace.search`)."""
        for folder in list(self.folders):
            self.code_search.ensure_lexical(folder)
        with self.lock:
            found: list[tuple[Folder, flowsight.SearchHit]] = []
            for folder in self.folders:
                self._apply_pending(folder)
                found.extend((folder, hit) for hit in folder.workspace.search(query, limit, mode))
        found.sort(key=lambda item: -item[1].score)
        return found[:limit]

    # ------------------------------------------------------------------ queries
    def document(self, uri: str) -> tuple[Folder, str]:
        path = Path(uri_to_path(uri))
        folder = self.find_folder(path)
        if folder is None:
            raise KeyError(uri)
        key = path.relative_to(folder.root).as_posix()
        if key not in folder.workspace.versions():
            raise KeyError(uri)
        return folder, key

    def occurrences(
        self, uri: str, line: int, character: int, still_wanted: Callable[[], bool] = lambda: True
    ) -> list[tuple[types.Range, str]] | None:
        """The occurrences of the variable at a position (in the negotiated encoding) of a
        document's current text, with their kinds ("read", "write", "text"); None when
        `still_wanted()` says no once the lock is held (a newer request superseded this one)."""
        with self.lock:
            if not still_wanted():
                return None
            folder, key = self.document(uri)
            self._apply_pending(folder)
            lines = positions.TextLines(folder.workspace.text(key))
            byte_column = lines.byte_column(line, character, self.encoding)
            return [
                (
                    types.Range(
                        start=types.Position(line=o.start_line, character=lines.column(o.start_line, o.start_column, self.encoding)),
                        end=types.Position(line=o.end_line, character=lines.column(o.end_line, o.end_column, self.encoding)),
                    ),
                    o.kind,
                )
                for o in folder.workspace.occurrences(key, line, byte_column)
            ]

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


def diagnostic_key(finding) -> tuple:  # noqa: ANN001
    """What a finding's diagnostic depends on: its identity and places."""
    sink = finding.sink
    return (
        finding.id,
        sink.path,
        sink.start_line,
        sink.start_column,
        sink.end_line,
        sink.end_column,
        tuple((s.path, s.start_line, s.start_column, s.end_line, s.end_column) for s in finding.steps),
    )


def render_findings(
    folder: Folder,
    findings: list,
    text_of: Callable[[str], str],
    encoding: positions.Encoding,
    previous: dict[tuple, types.Diagnostic] | None = None,
    cache: dict[tuple, types.Diagnostic] | None = None,
) -> dict[str, list[types.Diagnostic]]:
    """`findings` as diagnostics by file, with the folder's severity overrides; `text_of(path)`
    gives the text columns are converted in. A finding whose places did not change keeps its
    diagnostic from `previous`; every diagnostic made is kept in `cache`."""
    texts: dict[str, positions.TextLines] = {}
    by_file: dict[str, list[types.Diagnostic]] = {}
    for finding in findings:
        key = diagnostic_key(finding)
        diagnostic = previous.get(key) if previous is not None else None
        if diagnostic is None:
            for path in {finding.sink.path, *(step.path for step in finding.steps)}:
                if path not in texts:
                    texts[path] = positions.TextLines(text_of(path))
            diagnostic = to_diagnostic(finding, folder.root, texts, encoding)
        if cache is not None:
            cache[key] = diagnostic
        override = folder.settings.severity.get(finding.rule_id)
        if override in SEVERITY and diagnostic.severity != SEVERITY[override]:
            diagnostic = attrs.evolve(diagnostic, severity=SEVERITY[override])
        by_file.setdefault(finding.sink.path, []).append(diagnostic)
    return by_file


def read_text(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return read_regular_file(path).decode("utf-8", errors="replace")
    except OSError:
        return None
