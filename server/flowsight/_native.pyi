"""Typed surface of the native core (`native/python`). `tests/test_native_stub.py` checks it
against the compiled module. All classes are immutable values unless said otherwise.
See docs/CONTRACTS.md for the meaning of every field."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

__version__: str

Encoding = Literal["utf-8", "utf-16", "utf-32"]

class Chunk:
    id: str
    parent_id: str | None
    kind: Literal["repository", "module", "class", "function", "method", "module_code", "fragment"]
    path: str
    qualified_name: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    signature: str
    docstring: str | None
    content_hash: str
    def as_dict(self) -> dict[str, str | int | None]: ...

class FileError:
    """A per-file problem: the file is still indexed as far as it could be read."""

    path: str
    kind: Literal["io", "not_utf8", "binary", "syntax", "too_large", "too_deep", "internal"]
    message: str

class SyntaxErrorLocation:
    """One syntax error of a file (an outermost `ERROR` node or a `MISSING` one): 0-based
    lines, UTF-8 byte columns; `message` is "invalid syntax" or "missing `X`"."""

    path: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int
    message: str

class Occurrence:
    """One occurrence of a variable: 0-based lines, UTF-8 byte columns. `read` and `write`
    as the code uses it (a binding, `del`, a parameter, a `def`/`class`/`import` name is a
    write); `text` where it is only named (`global x`, `nonlocal x`)."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    kind: Literal["read", "write", "text"]

class ChunkDiff:
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int

class SearchHit:
    """A search result: a chunk of the workspace's current texts (lines as they are now:
    1-based, inclusive) and its score (higher is better; comparable within one search)."""

    chunk_id: str
    path: str
    qualified_name: str
    kind: Literal["module", "class", "function", "method", "module_code"]
    start_line: int
    end_line: int
    score: float
    def as_dict(self) -> dict[str, str | int | float]:
        """path, start_line, end_line, qualified_name, kind, chunk_id, score."""

class SearchIndexBuild:
    """A workspace's search index being built apart from it (see `Workspace.search_snapshot`)."""

    def build(self) -> None:
        """Builds the index (GIL released, the workspace not locked); once."""

class IndexResult:
    chunks: list[Chunk]
    errors: list[FileError]
    files: int
    wall_seconds: float  # wall-clock time of the call (reading, parsing and chunking interleave)
    # Per-file wall times summed over files and worker threads: with several threads, more than
    # the call's wall time; on a loaded machine, more than its CPU time. Not a phase's duration.
    parse_work_seconds: float  # reading + parsing
    chunk_work_seconds: float  # chunking
    repositories: list[RepositoryIndex]

class RepositoryIndex:
    """One repository of an index run; its chunks are `chunks[chunk_start:chunk_end]`."""

    name: str  # the root's base name (for display; not unique)
    identity: str  # the root's absolute path: chunk ids derive from it
    root: Path
    files: int
    chunk_start: int
    chunk_end: int
    errors: int

class Repository:
    """A repository found by `walk_files`: where its module names start, and its files."""

    name: str
    identity: str
    root: Path
    files: list[Path]

class Discovery:
    """What `walk_files` found: report paths are relative to `root`."""

    root: Path
    repositories: list[Repository]
    files: list[Path]  # every repository's files, in order
    templates: list[Path]  # every repository's template files (`is_template_path`), in order
    errors: list[FileError]  # directories that could not be listed

def walk_files(paths: Sequence[str], root: str | None = None, excludes: Sequence[tuple[str, Sequence[str]]] = ()) -> Discovery:
    """The one file walker: the Python files of `paths` (`.gitignore`/`.ignore`, hidden and tool
    directories, `excludes` as (base directory, gitignore-style patterns)), each named directory
    a repository (all one at `root`). A bad pattern raises ConfigError."""

def is_excluded(path: str, is_dir: bool, excludes: Sequence[tuple[str, Sequence[str]]]) -> bool: ...
def code_tokens(texts: list[str]) -> list[list[str]]:
    """The code tokenizer's tokens of each text (lower-cased identifiers and their snake_case,
    camelCase and digit parts), as the lexical index stores them."""

def module_root(directory: str) -> Path:
    """The parent of the outermost package holding `directory` (itself when not a package)."""

def is_template_path(path: str) -> bool:
    """Whether the analysis reads `path` as a template file (`.html`, `.jinja`, `.j2`, …; `.txt`
    and `.xml` below a `templates` directory)."""

def index_discovered(discovery: Discovery) -> IndexResult: ...
def lower_shared_pool_priority(nice: int) -> int:
    """Lowers the scheduling priority of the engine's shared pool's threads to `nice` (a
    workspace with a pool of its own, `Workspace.set_threads`, then runs first); returns the
    threads changed."""

class TextEdit:
    """A range replacement; the range fields are None for a whole-document replacement."""

    start_line: int | None
    start_character: int | None
    end_line: int | None
    end_character: int | None
    text: str
    def __init__(self, start_line: int, start_character: int, end_line: int, end_character: int, text: str) -> None: ...
    @staticmethod
    def full(text: str) -> TextEdit: ...

def build_chunks(paths: Sequence[str], root: str | None = None) -> list[Chunk]: ...
def index_paths(paths: Sequence[str], root: str | None = None, excludes: Sequence[tuple[str, Sequence[str]]] = ()) -> IndexResult: ...
def parse_only(paths: Sequence[str]) -> tuple[int, float]:
    """Reads and parses without chunking: (files parsed, wall seconds). For benchmarks."""

class ReadFiles:
    """Files `Workspace.read_files` read and parsed, until `Workspace.store_read_files` takes them."""

    def __len__(self) -> int: ...

class Workspace:
    """An incremental, in-memory view of one repository. Not thread-safe: the caller serialises
    calls (the server does so on one worker). Heavy methods release the GIL."""

    root: str
    def __init__(self, root: str) -> None: ...
    def update_file(self, path: str, text: str, version: int | None = None) -> ChunkDiff: ...
    def load_file(self, path: str, within: Sequence[str] | None = None) -> ChunkDiff:
        """Reads a file from disk; with `within`, only if it resolves inside one of those
        directories, and never through a link or a blocking open once resolved."""
    def load_files(self, paths: Sequence[str], within: Sequence[str] | None = None) -> list[ChunkDiff]:
        """`load_file` for each path, in order; reading and parsing run in parallel."""
    def read_files(
        self, paths: Sequence[str], within: Sequence[str | Path] | None = None, cache_dir: str | Path | None = None
    ) -> ReadFiles:
        """Reads and parses `paths` in parallel, apart from the workspace: safe to call while
        another thread uses it (nothing of it is locked); `store_read_files` stores them. With
        `within`, only files that resolve inside one of those directories are read. With
        `cache_dir` (the persistent cache's directory, the one `set_cache_dir` gets), a file whose
        text has a valid stored syntax tree there is built from it instead of parsed (a tree that
        does not check is ignored; nothing is written)."""
    def store_read_files(self, read: ReadFiles, only: set[str] | None = None) -> list[ChunkDiff]:
        """Stores what `read_files` read, in its order (once; again raises ValueError); with
        `only`, just the files whose workspace keys it holds."""
    def apply_edits(self, path: str, version: int, edits: Sequence[TextEdit], encoding: Encoding = "utf-16") -> ChunkDiff: ...
    def remove_file(self, path: str) -> ChunkDiff: ...
    def chunks(self, path: str) -> list[Chunk]: ...
    def repository_chunk(self) -> Chunk: ...
    def files(self) -> list[str]: ...
    def text(self, path: str) -> str: ...
    def version(self, path: str) -> int | None: ...
    def versions(self) -> dict[str, int | None]:
        """Every file with its version (None for files read from disk), in one call."""
    def errors(self, path: str) -> list[FileError]: ...
    def syntax_errors(self, path: str, limit: int = 100) -> list[SyntaxErrorLocation]:
        """The syntax errors of the file's current text in document order, at most `limit`."""
    def occurrences(self, path: str, line: int, column: int) -> list[Occurrence]:
        """Every occurrence, in document order, of the variable named at 0-based `line` and
        UTF-8 byte `column` of the file's current text: the spellings of the name bound by the
        same scope (a local in its function and the closures reading it; a module name or a
        builtin wherever it is global). Empty where no variable is named (an attribute, a
        keyword argument, a string, a comment)."""
    def sexp(self, path: str) -> str: ...
    def position_to_offset(self, path: str, line: int, character: int, encoding: Encoding = "utf-16") -> int: ...
    def offset_to_position(self, path: str, offset: int, encoding: Encoding = "utf-16") -> tuple[int, int]: ...
    def analyze_taint(
        self, rules_file: str | None = None, disabled_rules: Sequence[str] = ..., threat_models: Sequence[str] | None = None
    ) -> list[Finding]: ...
    def published_again(
        self,
        directory: str,
        paths: Sequence[str],
        within: Sequence[str] | None = None,
        texts: Mapping[str, str] = ...,
        rules_file: str | None = None,
        disabled_rules: Sequence[str] = ...,
        threat_models: Sequence[str] | None = None,
    ) -> tuple[list[Finding], list[SyntaxErrorLocation], dict[str, str]] | None:
        """What the last run published (written to `directory` with the cache): its findings,
        syntax errors and the texts of the files they name, when it is valid for `paths` as they
        are on disk now (`texts`: the editor's text by key instead) and these rules; else None.
        Reads files (only inside `within`), parses and stores nothing."""
    def set_threads(self, threads: int | None) -> None:
        """Runs this workspace's parallel work on a pool of `threads` threads of its own (None:
        the engine's shared pool), so it does not queue behind another workspace's analysis."""
    def imported_names(self, path: str) -> list[str]:
        """The qualified names a file's imports bind (`import a.b` → `a.b`, `from a import f` →
        `a.f`), sorted."""
    def set_cache_dir(self, directory: str | None) -> None:
        """Uses the persistent cache in `directory` (None: none): the next analysis starts from
        it, re-analysing only what changed since it was written. Set once every file is loaded."""
    def persist_cache(self) -> int | None:
        """Writes the persistent cache if the last analysis is of the current texts: bytes
        written, or None. Raises OSError when it cannot be written."""
    def persist_trees(self) -> int | None:
        """Stores the syntax trees of the texts the last `persist_cache` wrote that are not stored
        yet (not those with syntax errors) and removes the trees this workspace wrote for texts
        it no longer has (the first time also every tree no run used for 30 days): trees
        written, or None when there was nothing to do. The workspace is locked only while the
        documents are copied."""
    def tree_stats(self) -> dict[str, int]:
        """What was done with the cache's stored syntax trees: loaded (files built from their tree
        by `read_files`), written and removed (`persist_trees`)."""
    def refresh_source_roots(self) -> bool:
        """Reads the source roots again (after the project's packaging configuration changed);
        when they changed, every module is named anew. Returns whether they changed."""
    def take_cache_notice(self) -> str | None:
        """Why the persistent cache could not be used (reported once), or None."""
    def last_analysis(self) -> dict[str, int]:
        """What the last analyze_taint did: scopes, reused (cached), analysed (scopes analysed), analyses (scope analyses),
        rounds (parallel batches), sweeps (solver passes over the call graph's levels), widened
        (summaries joined so that recursion terminates), rebase_examined (previous results examined for
        places an edit moved: those holding a place in an edited or renumbered file), the bounds the results met —
        labels_merged, expression_depth, step_visits, trace_elided, failed_scopes, places_cut, templates_unresolved,
        fields_collapsed, flattened_scopes, unfinished — and their total, incomplete. Every bound errs toward more taint but
        templates_unresolved (templates not followed: findings may be missing)."""
    def prepare_slices(self, limit: int = ...) -> int:
        """Builds and links up to `limit` scopes' slice graphs, then every function's effects, so
        no later slice pays for a first visit (cheap when little changed since the last time).
        Returns how many scopes are still to prepare (0: done)."""
    def slice_code(self, path: str, line: int, column: int | None = None, forward: bool = False, thin: bool = False) -> Slice: ...
    def build_pdg(self, path: str) -> list[Pdg]: ...
    def search(self, query: str, limit: int = 20, mode: Literal["lexical", "symbols"] = "lexical") -> list[SearchHit]:
        """The best `limit` chunks for `query` over the current texts (unsaved edits included),
        best first. "lexical": free text over names, qualified names, signatures, docstrings,
        comments, bodies and paths (BM25, code-aware tokens; an exact identifier ranks first;
        tests and generated files weigh less). "symbols": modules, classes and functions by
        name — exact, prefix, part prefix, substring, subsequence, then typo matches; an empty
        query lists them. Other modes raise ValueError. The first search builds the index."""
    def build_search_index(self) -> int:
        """Builds the search index now (the first search would) and returns its documents."""
    def search_snapshot(self) -> SearchIndexBuild | None:
        """What the search index is made of (chunks and texts, copied), for building it while
        other calls proceed; None when the index exists already."""
    def install_search_index(self, build: SearchIndexBuild) -> bool:
        """Installs a built index, brought up to date with every change since its snapshot.
        False (nothing changes) when an index exists already or `build` was not built."""
    def persist_search_index(self) -> int | None:
        """Writes the search index to the cache directory (`set_cache_dir`) if it changed since it
        was last written: bytes written, or None. The workspace is locked only while the state
        is copied. Raises OSError when it cannot be written. With a cache directory, the first
        search reopens the index written there (brought up to date with the current texts)."""
    def search_index_stats(self) -> dict[str, int | float | bool | str | None]:
        """How the search index came to be: documents, indexed (documents indexed by this
        process), reused (taken from disk), reopened, refreshed_files (files re-indexed at
        reopening), seconds (to build or reopen), notice (why an index on disk was rebuilt),
        writes and written_bytes (to disk)."""

class Location:
    """A source range: 0-based lines, UTF-8 byte columns."""

    path: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int

class PathStep:
    """One step of a taint path: where, and what happened there."""

    path: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int
    kind: Literal["source", "assignment", "argument", "call", "return", "sink"]
    description: str

class Finding:
    id: str
    rule_id: str
    rule_name: str
    cwe: int
    severity: Literal["error", "warning", "info"]
    message: str
    source: Location
    sink: Location
    steps: list[PathStep]
    threat_model: Literal["remote", "local", "database"] | None

class TaintAnalysis:
    findings: list[Finding]
    errors: list[FileError]
    files: int
    functions: int
    parse_seconds: float  # wall time of reading and parsing every file (the phase's duration)
    analysis_seconds: float  # wall time of building the program, analysing, rendering findings
    stats: dict[str, int]
    """The same keys as `Workspace.last_analysis`."""
    cache: dict[str, object]
    """What the persistent cache did (empty without `cache_dir`): notice (why an existing cache
    was not used, or None), reused_scan, bytes_written, write_error, seconds, trees_loaded (files
    built from their stored syntax tree instead of parsed), trees_written."""

class Merge:
    """`merge_exports`' result."""

    findings: list[Finding]
    """Every repository's own findings, then the crossing ones; paths `{repository name}/{path}`."""
    cross: int
    repositories: list[tuple[str, str, int]]
    """Per export: name, identity, its own findings."""
    incomplete: dict[str, int]
    """The merge's bounds: unresolved_calls, stores_unfollowed, returned_sources,
    fields_widened, template_sinks, ambiguous_providers, flows_limit."""
    bounds: dict[str, int]
    """The repositories' own analyses' bounds, summed (the bound names of `TaintAnalysis.stats`)."""

def export_discovered(
    discovery: Discovery,
    rules_file: str | None = None,
    disabled_rules: Sequence[str] = ...,
    threat_models: Sequence[str] | None = None,
    name: str | None = None,
) -> tuple[str, list[FileError]]:
    """Analyses the one repository a `walk_files` found and exports it for a merge: (the export's
    JSON text, per-file problems). Raises MergeError for several repositories."""

def merge_exports(files: Sequence[tuple[str, bytes]]) -> Merge:
    """Merges export files given as (name for errors, bytes). Raises MergeError naming the file
    that is not an export of this schema version (or is truncated, corrupt), or when one
    repository is exported twice or the exports were made with different rules."""

def analyze_taint(
    paths: Sequence[str],
    root: str | None = None,
    rules_file: str | None = None,
    disabled_rules: Sequence[str] = ...,
    threat_models: Sequence[str] | None = None,
    cache_dir: str | None = None,
) -> TaintAnalysis:
    """Reads, parses and analyses `paths` with the built-in rule packs, plus `rules_file`, minus
    `disabled_rules`, with the sources of `threat_models` (None: `remote`): each named directory
    a repository (`walk_files`), analysed as its own program unless it imports another's package;
    with `root`, one program. With `cache_dir`, starts from the persistent cache there (only what
    changed is analysed; a cache that cannot be used is rebuilt) and writes it back. A bad rule
    file or an unknown threat model raises RuleConfigError."""

def analyze_discovered(
    discovery: Discovery,
    rules_file: str | None = None,
    disabled_rules: Sequence[str] = ...,
    threat_models: Sequence[str] | None = None,
    cache_dir: str | None = None,
) -> TaintAnalysis:
    """`analyze_taint` of the repositories a `walk_files` found; paths relative to its root."""

def rule_fixes(rules_file: str | None = None) -> dict[str, tuple[str, str]]:
    """Rule id → (module to import, dotted call) of the quick-fix sanitiser its pack names, for
    the built-in packs plus `rules_file`. A bad rule file raises RuleConfigError."""

def rule_ids(rules_file: str | None = None) -> list[str]:
    """The ids of the built-in rules plus those of `rules_file`, in pack order. A bad rule
    file raises RuleConfigError."""

class Slice:
    files: dict[str, list[int]]
    """Path (relative to the root) → sorted 1-based line numbers in the slice."""
    criterion_lines: list[int]
    nodes: int
    stats: dict[str, int]
    """The bounds met in the scopes the slice holds, named as `TaintAnalysis.stats` names them
    (`places_cut`: access paths cut to their prefix) or as the CFG counts them
    (`flattened_scopes`: comprehensions and lambdas nested too deep, each read whole by one step;
    `shared_finally_copies`: `finally` blocks nested too deep, one copy shared by several
    completions), and their total `incomplete`."""

def slice_code(
    paths: Sequence[str],
    file: str,
    line: int,
    column: int | None = None,
    root: str | None = None,
    forward: bool = False,
    thin: bool = False,
) -> Slice:
    """Backward (or forward) slice of the program made of `paths` from `file` at 0-based `line`
    and optional UTF-8 byte `column` (a variable there narrows a backward slice to it).
    Two-phase inter-procedural slicing; `thin` follows data dependences only.
    A criterion outside the program or on a line without code raises UsageError."""

def slice_statistics(paths: Sequence[str], root: str | None = None, samples: int = 200) -> dict[str, float]:
    """Backward slices from the last statement of up to `samples` functions: mean share of the
    function's and of the program's statements in the slice, SDG build and slice times."""

class Pdg:
    """The program dependence graph of one scope (module body or function)."""

    qualified_name: str
    path: str
    steps: list[tuple[str, int, int]]
    """Per step: (kind, first line, last line), 1-based; steps 0 and 1 are the entry and exit."""
    data_edges: list[tuple[int, int, str]]
    """(defining step, using step, access path)."""
    control_edges: list[tuple[int, int]]
    """(branch step, dependent step)."""

def build_pdg(file: str, root: str | None = None) -> list[Pdg]:
    """PDGs of every scope of `file`, module body first."""

def symbol_tables(
    text: str,
) -> list[tuple[str, str, int, dict[str, Literal["parameter", "local", "free", "global_explicit", "global_implicit"]]]]:
    """Every scope of a module (module, class, function, lambda, comprehension) with how each
    of its names resolves, following CPython's symtable rules."""

def _panic_for_tests(message: str) -> None:
    """Panics inside the engine's panic boundary; raises InternalError (for tests of that boundary)."""
