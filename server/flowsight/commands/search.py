"""`flowsight search QUERY [PATH…] [--limit N] [--mode M] [--format text|json]` and
`flowsight search --queries FILE [PATH…]`: code search over the chunks of PATHs (default: the
current directory), best first.

The index is the core's lexical (tantivy) index: names, qualified names, signatures,
docstrings, comments, bodies and paths, with identifiers split into their words; an exact
identifier ranks first; tests and generated files weigh less. `--mode vector` and `--mode
hybrid` add embeddings (`flowsight.search`: the bundled all-MiniLM-L6-v2 by default, or an
OpenAI-compatible endpoint set in `[tool.flowsight.search]`), fused with the lexical ranking;
they wait until every chunk has its vector (cached on disk, so later runs are fast) and say on
stderr how far embedding has come. Without an embedder they answer lexically and say why.

What the taint analysis knows rides along (`flowsight.search.facts`): per chunk the number of
findings whose sink it holds, the rule ids of the findings whose path passes through it
(`reaches`) and whether it reads their user input; `--reaches KIND` (repeatable) and
`--reads-input` keep only such chunks (then every matching chunk is a candidate).

Output: text, one hit a line (`path:start-end  kind  qualified name  score  [facts]`, then the chunk's
first line that is not a decorator); JSON, `{"query", "results"}` for one QUERY and a list of them for `--queries`
(one query a line of FILE, `-` for stdin; blank lines skipped), each result with `path`,
`start_line`, `end_line` (1-based, inclusive), `qualified_name`, `kind`, `chunk_id`, `score`,
`findings`, `reaches`, `reads_input`.
The project's `[tool.flowsight] exclude` applies. Per-file problems go to stderr.

The persistent cache (`flowsight.cache`: `.flowsight-cache/` at the root by default, `--cache-dir`,
`--no-cache`) keeps the lexical index (reopened by the next run and brought up to date with the
files changed since: only their chunks are indexed again), the analysis behind the facts, and the
embeddings. `--stats` says on stderr how the index came to be (documents, indexed, reused, seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import flowsight
from flowsight import positions, report
from flowsight.cache import cache_dir
from flowsight.commands.common import PathNames, PathProblem, fail, resolve_targets, warn, write_output
from flowsight.config import ProjectConfig
from flowsight.errors import FlowsightError, UsageError
from flowsight.search.documents import chunk_header
from flowsight.search.facts import NO_FACTS, ChunkFacts, facts_by_chunk
from flowsight.search.service import ALL_CANDIDATES

MODES = ["hybrid", "lexical", "vector"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="code search: chunks that match a query, best first",
        usage="%(prog)s QUERY [PATH ...] [options]\n       %(prog)s --queries FILE [PATH ...] [options]",
    )
    parser.add_argument("words", nargs="*", metavar="QUERY [PATH ...]", help="the query, then files or directories (default: .)")
    parser.add_argument("--queries", metavar="FILE", help="one query a line (`-`: stdin); then every argument is a PATH")
    parser.add_argument("--limit", type=int, default=10, metavar="N", help="results per query (default 10)")
    parser.add_argument(
        "--mode", choices=MODES, default="lexical", help="lexical (default), or vector/hybrid with embeddings (computed once, then cached)"
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--root", metavar="DIR", help="project root (default: the common directory of the paths)")
    parser.add_argument(
        "--reaches",
        metavar="KIND",
        action="append",
        default=[],
        help="only chunks on a taint path to a sink of this rule id (e.g. sql-injection; repeatable: any of them)",
    )
    parser.add_argument("--reads-input", action="store_true", help="only chunks where a taint path's user input is read")
    parser.add_argument("--cache-dir", metavar="DIR", help="the persistent cache's directory (default: .flowsight-cache/ at the root)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the persistent cache (index, analysis, embeddings)")
    parser.add_argument("--stats", action="store_true", help="say on stderr how the search index came to be")
    parser.set_defaults(handler=run)


def read_queries(source: str) -> list[str]:
    try:
        if source == "-":
            text = sys.stdin.read() if sys.stdin is not None else ""
        else:
            text = Path(source).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise UsageError(f"--queries {source}: cannot read: {error.strerror or error}") from None
    return [line.strip() for line in positions.split_lines(text) if line.strip()]


class Hit:
    """A result with the chunk's place (the same fields as a lexical `SearchHit`) and what the
    analysis knows of it."""

    def __init__(self, chunk: flowsight.Chunk | flowsight.SearchHit, score: float, facts: ChunkFacts = NO_FACTS) -> None:
        self.chunk_id = chunk.id if isinstance(chunk, flowsight.Chunk) else chunk.chunk_id
        self.path, self.qualified_name, self.kind = chunk.path, chunk.qualified_name, chunk.kind
        self.start_line, self.end_line, self.score, self.facts = chunk.start_line, chunk.end_line, score, facts

    def as_dict(self) -> dict:
        keys = ("path", "start_line", "end_line", "qualified_name", "kind", "chunk_id", "score")
        return {**{key: getattr(self, key) for key in keys}, **self.facts.as_dict()}


def analysis_facts(workspace: flowsight.Workspace, config: ProjectConfig) -> dict[str, ChunkFacts]:
    """What the taint analysis (the project's rules) knows per chunk."""
    findings = workspace.analyze_taint(config.rules_file, list(config.disabled_rules))

    def chunks_of(path: str) -> list:
        try:
            return workspace.chunks(path)
        except flowsight.errors.UnknownFileError:
            raise KeyError(path) from None

    return facts_by_chunk(findings, chunks_of)


def lexical_search(workspace: flowsight.Workspace, facts: dict[str, ChunkFacts], queries: list[str], limit: int, allowed) -> list:  # noqa: ANN001
    results = []
    for query in queries:
        found = workspace.search(query, limit if allowed is None else ALL_CANDIDATES)
        hits = [Hit(hit, hit.score, facts.get(hit.chunk_id, NO_FACTS)) for hit in found if allowed is None or hit.chunk_id in allowed]
        results.append((query, hits[:limit]))
    return results


def embedded_search(
    workspace: flowsight.Workspace,
    config: ProjectConfig,
    queries: list[str],
    limit: int,
    mode: str,
    facts: dict[str, ChunkFacts] | None = None,
    allowed: set[str] | None = None,
    cache: Path | None = None,
) -> list:
    """(query, hits) for each query through `flowsight.search` (vectors fused with the lexical
    index), once every chunk has its vector; `allowed` limits the answers to those chunk ids.
    Embeddings are cached in `cache` (the project's cache directory; None: kept in memory) unless
    the settings name a directory of their own."""
    facts = facts or {}
    from flowsight.search import SearchService, SearchSettings, documents_from_chunks

    settings = (
        SearchSettings.from_mapping(config.search, f"{config.source}: [tool.flowsight.search]") if config.search else SearchSettings()
    )
    settings = settings.cached_in(cache)
    chunks = {chunk.id: chunk for key in workspace.files() for chunk in workspace.chunks(key)}
    service = SearchService.from_settings(settings, lambda query, count: workspace.search(query, count))
    try:
        service.replace_all(documents_from_chunks(chunks.values(), workspace.text))
        reported = 0.0
        while not service.wait_for_vectors(timeout=2.0):
            progress = service.progress()
            if progress is not None and time.monotonic() - reported > 10:
                reported = time.monotonic()
                detail = f" (last error: {progress.error})" if progress.error else ""
                warn(f"embedding chunks: {progress.done} of {progress.total}{detail}")
        results = []
        for query in queries:
            result = service.search(query, limit, mode, allowed)
            if result.notice:
                warn(result.notice)
            hits = [
                Hit(chunks[hit.chunk_id], hit.score, facts.get(hit.chunk_id, NO_FACTS)) for hit in result.hits if hit.chunk_id in chunks
            ]
            results.append((query, hits))
        return results
    finally:
        service.close()


def persist(workspace: flowsight.Workspace) -> None:
    """Writes the analysis and the search index back to the cache directory (if any); a
    failure is a warning, never an error of the search."""
    for write in (workspace.persist_cache, workspace.persist_search_index):
        try:
            write()
        except OSError as error:
            warn(f"cache: {error}")


def run(args: argparse.Namespace) -> int:
    try:
        if args.limit < 1:
            raise UsageError("--limit must be at least 1")
        if args.queries is not None:
            queries, paths = read_queries(args.queries), args.words
        elif args.words:
            queries, paths = [args.words[0]], args.words[1:]
        else:
            raise UsageError("a QUERY (or --queries FILE) is required")
        targets = resolve_targets(paths or ["."], args.root)
        root, config, files = targets.root, targets.config, targets.files
        cache = cache_dir(root, config, cache_dir=args.cache_dir, no_cache=args.no_cache)
        workspace = flowsight.Workspace(str(root))
        workspace.load_files([str(path) for path in files])
        if cache is not None:
            workspace.set_cache_dir(str(cache))
        started = time.perf_counter()
        workspace.build_search_index()
        index_seconds = time.perf_counter() - started
        facts = analysis_facts(workspace, config)
        filtered = bool(args.reaches) or args.reads_input
        allowed = {chunk_id for chunk_id, fact in facts.items() if fact.matches(args.reaches, args.reads_input)} if filtered else None
        if args.mode == "lexical":
            results = lexical_search(workspace, facts, queries, args.limit, allowed)
        else:
            results = embedded_search(workspace, config, queries, args.limit, args.mode, facts, allowed, cache)
    except FlowsightError as error:
        return fail(str(error))
    persist(workspace)
    stats = workspace.search_index_stats()
    for notice in (workspace.take_cache_notice(), stats["notice"]):
        if notice is not None:
            warn(f"cache: {notice}")
    if args.stats:
        how = "reopened" if stats["reopened"] else "built"
        warn(
            f"search index: {stats['documents']} documents, {how} in {index_seconds:.3f} s; indexed {stats['indexed']},"
            f" reused {stats['reused']}, files refreshed {stats['refreshed_files']}; written {stats['written_bytes']} bytes"
        )

    names = PathNames(root, files)
    problems = [*targets.problems]
    for key in workspace.files():
        problems.extend(PathProblem(names.original(e.path), e.kind, e.message) for e in workspace.errors(key) if e.kind != "syntax")
    for problem in problems:
        warn(f"{problem.path}: {problem.kind}: {problem.message}")

    def as_json(hit: Hit) -> dict:
        result = hit.as_dict()
        result["path"] = names.original(hit.path)
        result["score"] = round(hit.score, 4)
        return result

    if args.format == "json":
        documents = [{"query": query, "results": [as_json(hit) for hit in hits]} for query, hits in results]
        text = report.dumps(documents if args.queries is not None else documents[0])
    else:
        text = "".join(render_text(workspace, names, query, hits, len(results) > 1 or args.queries is not None) for query, hits in results)
    try:
        write_output(text, None, utf8=args.format == "json")
    except FlowsightError as error:
        return fail(str(error))
    return 0


def render_text(workspace, names: PathNames, query: str, hits: list, heading: bool) -> str:  # noqa: ANN001
    lines: list[str] = []
    if heading:
        lines.append(f"== {report.escape_text(query)}")
    if not hits:
        lines.append("(no results)")
    texts: dict[str, list[str]] = {}
    for hit in hits:
        if hit.path not in texts:
            texts[hit.path] = positions.split_lines(workspace.text(hit.path))
        first = chunk_header(texts[hit.path], hit.start_line, hit.end_line, width=10_000)
        place = f"{names.original(hit.path)}:{hit.start_line}-{hit.end_line}"
        lines.append(report.escape_text(f"{place}  {hit.kind}  {hit.qualified_name}  {hit.score:.2f}{describe(hit.facts)}"))
        if first:
            lines.append(f"    {report.escape_text(first)}")
    return "".join(f"{line}\n" for line in lines)


def describe(facts: ChunkFacts) -> str:
    """What the analysis knows of a chunk, for the text output (empty when nothing)."""
    parts = []
    if facts.findings:
        parts.append(f"{facts.findings} finding{'' if facts.findings == 1 else 's'}")
    if facts.reaches:
        parts.append("reaches " + ", ".join(facts.reaches))
    if facts.reads_input:
        parts.append("reads input")
    return f"  [{'; '.join(parts)}]" if parts else ""
