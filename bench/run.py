"""flowsight benchmarks on the Django 5.1.4 corpus: `make bench` or `python bench/run.py`.

Each workload runs in a fresh subprocess per run (so peak RSS is its own and no garbage from
another run competes), ≥5 runs, the median reported. Prints a table and writes
`bench/results/<suite>.json`.

Suites:
  chunks  parse+chunk of the corpus (native) vs parse only (native) vs the pure-Python `ast`
          baseline (bench/ast_chunker.py, tested to produce the same chunks); one small edit
          re-chunked incrementally in a 2,000-line file.
  taint   cold analysis (parse, PDG-free dataflow, summaries, findings) of the corpus; Semgrep
          and Bandit on the same corpus when installed (`make bench-peers` installs them).
  slice   slices as an editor asks for them: the corpus loaded into a `Workspace`, one cold
          taint analysis, slices prepared (as the server does once analyses pause), then
          backward slices from 200 `return` lines across the corpus
          (p50/p95, against 2 % of the cold analysis measured in the same process); the first
          slice after a one-line edit in each of the 40 biggest files holding a criterion; and
          a slice at the end of a generated 40,000-line flat module (time and peak RSS).
  server  the language server on the corpus (see bench/lsp.py).
  server-stdlib
          the language server with the standard library as the workspace, then with sympy's
          sdist (`sympy/polys/polytools.py` open), each against a 2-file workspace (see
          bench/lsp_workspace.py).
  incremental
          what edits cost the incremental taint analysis on the corpus loaded into a
          `Workspace`: typing into the first function of the module with the most functions,
          a file nothing imports added and removed, a function renamed, a class's bases
          changed — functions analysed again and time (edit + analysis), each against its target.
  search  the lexical (tantivy) index: the corpus loaded into a `Workspace`, the index built
          (time, documents), SEARCH_QUERIES free-text queries and SYMBOL_QUERIES
          `workspace/symbol` queries, each repeated (p50/p95 against ≤ 10 ms), and a function
          added to a 1,995-line file then searched for (edit → searchable, p50/p95).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
sys.path.insert(0, str(REPOSITORY))

from bench.corpus import (  # noqa: E402
    SCALE_WHEELS_1_3M,
    SCALE_WHEELS_2_7M,
    django_corpus,
    python_files,
    scale_workspace,
    sympy_corpus,
    workspace_packages,
)

EDIT_FILE = "django/db/models/fields/related.py"  # 1,995 lines


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- workers (one per subprocess)


def worker_index(root: Path) -> dict:
    import flowsight

    started = time.perf_counter()
    result = flowsight.index_paths([str(root / "django")], root=str(root))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "chunks": len(result.chunks),
        "files": result.files,
        "errors": len(result.errors),
        "wall_seconds": result.wall_seconds,
        "parse_work_seconds": result.parse_work_seconds,
        "chunk_work_seconds": result.chunk_work_seconds,
    }


def worker_parse_only(root: Path) -> dict:
    from flowsight import _native

    started = time.perf_counter()
    files, _ = _native.parse_only([str(root / "django")])
    return {"seconds": time.perf_counter() - started, "files": files}


def worker_ast(root: Path) -> dict:
    from bench.ast_chunker import chunk_paths

    files = python_files(root / "django")
    started = time.perf_counter()
    chunks = chunk_paths(files, root)
    return {"seconds": time.perf_counter() - started, "chunks": len(chunks)}


def worker_edit(root: Path) -> dict:
    """Typing one character into a function name (the file stays valid), 60 times across the
    file; and, separately, edits that leave the file broken (re-parsed from scratch, see
    parse.rs), reported as `broken_*`."""
    import flowsight

    path = root / EDIT_FILE
    text = path.read_text()
    lines = text.splitlines()
    workspace = flowsight.Workspace(str(root))
    workspace.update_file(EDIT_FILE, text, 0)
    targets = [i for i, line in enumerate(lines) if line.lstrip().startswith("def ")]
    step = max(1, len(targets) // 60)
    version = 0
    timings, broken = [], []
    for line in targets[::step][:60]:
        column = len(lines[line]) - len(lines[line].lstrip()) + len("def ")
        version += 1
        started = time.perf_counter()
        workspace.apply_edits(EDIT_FILE, version, [flowsight.TextEdit(line, column, line, column, "x")])
        timings.append(time.perf_counter() - started)
    for line in targets[::step][:20]:
        column = len(lines[line]) - len(lines[line].lstrip()) + len("def ")
        version += 1
        started = time.perf_counter()
        workspace.apply_edits(EDIT_FILE, version, [flowsight.TextEdit(line, column, line, column, "(")])
        broken.append(time.perf_counter() - started)
        version += 1
        workspace.apply_edits(EDIT_FILE, version, [flowsight.TextEdit(line, column, line, column + 1, "")])
    return {
        "seconds": statistics.median(timings),
        "p95_seconds": sorted(timings)[int(0.95 * len(timings))],
        "broken_seconds": statistics.median(broken),
        "edits": len(timings),
        "lines": len(lines),
    }


def worker_taint(root: Path) -> dict:
    import flowsight

    started = time.perf_counter()
    analysis = flowsight.analyze_taint([str(root / "django")], root=str(root))
    return {
        "seconds": time.perf_counter() - started,
        "findings": len(analysis.findings),
        "functions": analysis.functions,
        "parse_seconds": analysis.parse_seconds,
        "analysis_seconds": analysis.analysis_seconds,
    }


def worker_slices(root: Path) -> dict:
    from flowsight import _native

    started = time.perf_counter()
    stats = _native.slice_statistics([str(root / "django")], root=str(root), samples=300)
    stats["seconds"] = time.perf_counter() - started
    return stats


def slice_criteria(root: Path, count: int) -> list[tuple[str, int]]:
    """(relative path, 0-based line) of `return` statements spread over the corpus."""
    candidates = []
    for path in python_files(root / "django"):
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines()):
            if line.lstrip().startswith("return "):
                candidates.append((relative, number))
    stride = max(1, len(candidates) // count)
    return candidates[::stride][:count]


def worker_slice_latency(root: Path) -> dict:
    import flowsight

    workspace = flowsight.Workspace(str(root))
    # Loaded as the server loads a workspace folder (read from disk in parallel: no document
    # keeps a tree-sitter tree); a file is opened, as an editor's didOpen (a version: its
    # tree-sitter tree kept for incremental parsing), only before it is edited below.
    workspace.store_read_files(workspace.read_files([str(path) for path in python_files(root / "django")]))
    started = time.perf_counter()
    workspace.analyze_taint()
    cold = time.perf_counter() - started
    # What the server does in the background once analyses pause: every scope's slice graph
    # built and linked, every function's effects computed (warm = prepared).
    started = time.perf_counter()
    workspace.prepare_slices()
    prepare = time.perf_counter() - started
    criteria = slice_criteria(root, 200)
    workspace.slice_code(*criteria[0])  # warm-up: the program view is built once per state
    timings, sizes = [], []
    for path, line in criteria:
        started = time.perf_counter()
        result = workspace.slice_code(path, line)
        timings.append(time.perf_counter() - started)
        sizes.append(sum(len(lines) for lines in result.files.values()))
    timings.sort()
    # The first slice after a one-line edit inside a function (a statement added above a
    # `return`), in the 40 biggest files holding a criterion: the edit applied as an editor
    # sends it, then the slice from that `return` timed (program parts of the edited file
    # rebuilt, scopes the edit did not touch reused).
    sizes_of = {path: (root / path).stat().st_size for path, _ in criteria}
    edited: dict[str, int] = {}
    after_edit = []
    for path, line in sorted(criteria, key=lambda c: -sizes_of[c[0]]):
        if path in edited or len(edited) == 40:
            continue
        edited[path] = 2
        text = workspace.text(path)
        workspace.update_file(path, text, 1)
        indent = text.splitlines()[line][: len(text.splitlines()[line]) - len(text.splitlines()[line].lstrip())]
        workspace.apply_edits(path, 2, [flowsight.TextEdit(line, 0, line, 0, f"{indent}_edited = 0\n")], "utf-8")
        started = time.perf_counter()
        workspace.slice_code(path, line + 1)
        after_edit.append(time.perf_counter() - started)
    after_edit.sort()
    return {
        "seconds": statistics.median(timings),
        "p95_seconds": timings[int(0.95 * len(timings))],
        "max_slice_seconds": timings[-1],
        "cold_analysis_seconds": cold,
        "prepare_seconds": prepare,
        "slices": len(timings),
        "mean_slice_lines": statistics.mean(sizes),
        "after_edit_median_seconds": statistics.median(after_edit),
        "after_edit_p95_seconds": after_edit[int(0.95 * len(after_edit))],
        "after_edit_slices": len(after_edit),
    }


def worker_flat_slice(root: Path) -> dict:
    """A slice at the end of a 40,000-line module where each line reads the one before."""
    import tempfile

    import flowsight

    with tempfile.TemporaryDirectory() as directory:
        lines = ["import os", "x0 = 1"] + [f"x{i} = x{i - 1} + {i} if {i} % 7 else os.sep" for i in range(1, 40000)]
        lines.append("print(x39999)")
        flat = Path(directory) / "flat.py"
        flat.write_text("\n".join(lines) + "\n")
        started = time.perf_counter()
        result = flowsight.slice_code([str(flat)], file=str(flat), line=len(lines) - 1, root=directory)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "lines": len(lines), "slice_lines": sum(len(v) for v in result.files.values())}


# Realistic queries over Django: identifiers, words of identifiers, docstring vocabulary and
# plain-language questions.
SEARCH_QUERIES = [
    "QuerySet filter",
    "get_object_or_404",
    "csrf token",
    "send mail",
    "password hasher",
    "url resolver",
    "template loader cache",
    "ModelAdmin",
    "JsonResponse",
    "paginator page range",
    "session expiry",
    "migration autodetector rename field",
    "where do we build SQL from user input",
    "parse HTTP accept header",
    "validate email address",
    "slugify",
    "cache key prefix",
    "close database connection",
    "atomic transaction savepoint",
    "signal receiver disconnect",
    "form field clean",
    "render template to string",
    "hashed static files storage",
    "timezone aware datetime",
    "middleware process request",
    "serialize queryset to json",
    "foreign key on delete cascade",
    "select_related prefetch_related",
    "HttpResponseRedirect",
    "LoginRequiredMixin",
    "gettext_lazy translation",
    "file upload handler",
]
# What an editor's symbol search sends while a name is typed (prefixes, abbreviations, typos).
SYMBOL_QUERIES = ["ModelAdm", "get_obj", "HttpResp", "csrfvw", "Paginatr", "QuerySet", "reverse", "clean", "as_view", "Mig", "sv", "urlpat"]
SEARCH_REPEATS = 20


def percentile(timings: list[float], fraction: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def worker_search(root: Path) -> dict:
    import flowsight

    files = [str(path) for path in python_files(root / "django")]
    workspace = flowsight.Workspace(str(root))
    started = time.perf_counter()
    workspace.load_files(files)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    documents = workspace.build_search_index()
    build_seconds = time.perf_counter() - started
    timings: dict[str, list[float]] = {"lexical": [], "symbols": []}
    for mode, queries in (("lexical", SEARCH_QUERIES), ("symbols", SYMBOL_QUERIES)):
        limit = 20 if mode == "lexical" else 1000
        for _ in range(SEARCH_REPEATS):
            for query in queries:
                started = time.perf_counter()
                workspace.search(query, limit, mode)
                timings[mode].append(time.perf_counter() - started)
    # Edit → searchable: a new function appended to a large file, then searched for by name.
    lines = len(workspace.text(EDIT_FILE).splitlines())
    edit_timings, found = [], 0
    for version in range(1, 41):
        name = f"bench_added_function_{version}"
        edit = flowsight.TextEdit(lines, 0, lines, 0, f"\n\ndef {name}(value):\n    return value\n")
        started = time.perf_counter()
        workspace.apply_edits(EDIT_FILE, version, [edit])
        hits = workspace.search(name, 1)
        edit_timings.append(time.perf_counter() - started)
        found += bool(hits) and hits[0].qualified_name.endswith(name)
        lines += 4
    # The index written to a cache directory: whole the first time, then only what an edit added.
    store = search_store(root)
    shutil.rmtree(store, ignore_errors=True)
    workspace.set_cache_dir(str(store))
    started = time.perf_counter()
    first_bytes = workspace.persist_search_index() or 0
    first_write_seconds = time.perf_counter() - started
    later = flowsight.TextEdit(lines, 0, lines, 0, "\n\ndef bench_written_later(value):\n    return value\n")
    workspace.apply_edits(EDIT_FILE, 41, [later])
    started = time.perf_counter()
    delta_bytes = workspace.persist_search_index() or 0
    delta_write_seconds = time.perf_counter() - started
    return {
        "seconds": load_seconds + build_seconds,
        "files": len(files),
        "load_seconds": load_seconds,
        "build_seconds": build_seconds,
        "documents": documents,
        "queries": len(SEARCH_QUERIES),
        "query_p50_seconds": statistics.median(timings["lexical"]),
        "query_p95_seconds": percentile(timings["lexical"], 0.95),
        "query_max_seconds": max(timings["lexical"]),
        "symbol_queries": len(SYMBOL_QUERIES),
        "symbol_p50_seconds": statistics.median(timings["symbols"]),
        "symbol_p95_seconds": percentile(timings["symbols"], 0.95),
        "edit_p50_seconds": statistics.median(edit_timings),
        "edit_p95_seconds": percentile(edit_timings, 0.95),
        "edits_found": found,
        "edits": len(edit_timings),
        "write_seconds": first_write_seconds,
        "write_bytes": first_bytes,
        "delta_write_seconds": delta_write_seconds,
        "delta_write_bytes": delta_bytes,
    }


def search_store(root: Path) -> Path:
    """The cache directory the search suite writes the index to (beside the corpus)."""
    return root.parent / f"{root.name}-search-cache"


def worker_search_reopen(root: Path) -> dict:
    """A restart: a fresh process loads the corpus and reopens the index `worker_search` wrote (the
    file it edited in memory differs from the disk: re-indexed), then answers queries."""
    import flowsight

    started_process = time.perf_counter()
    files = [str(path) for path in python_files(root / "django")]
    workspace = flowsight.Workspace(str(root))
    workspace.load_files(files)
    load_seconds = time.perf_counter() - started_process
    workspace.set_cache_dir(str(search_store(root)))
    started = time.perf_counter()
    documents = workspace.build_search_index()
    reopen_seconds = time.perf_counter() - started
    workspace.search(SEARCH_QUERIES[0], 20)
    first_answer_seconds = time.perf_counter() - started_process
    stats = workspace.search_index_stats()
    timings = []
    for _ in range(SEARCH_REPEATS):
        for query in SEARCH_QUERIES:
            started = time.perf_counter()
            workspace.search(query, 20)
            timings.append(time.perf_counter() - started)
    return {
        "seconds": reopen_seconds,
        "load_seconds": load_seconds,
        "reopen_seconds": reopen_seconds,
        "first_answer_seconds": first_answer_seconds,
        "documents": documents,
        "reopened": stats["reopened"],
        "indexed": stats["indexed"],
        "reused": stats["reused"],
        "refreshed_files": stats["refreshed_files"],
        "query_p50_seconds": statistics.median(timings),
        "query_p95_seconds": percentile(timings, 0.95),
    }


def worker_incremental(root: Path) -> dict:
    import re

    import flowsight

    workspace = flowsight.Workspace(str(root))
    files = [str(path.relative_to(root)) for path in python_files(root / "django")]
    workspace.load_files(files)
    started = time.perf_counter()
    workspace.analyze_taint()
    cold = time.perf_counter() - started
    version = 0

    def timed(change) -> tuple[float, int]:
        started = time.perf_counter()
        change()
        workspace.analyze_taint()
        return time.perf_counter() - started, int(workspace.last_analysis()["analysed"])

    # Typing a comment, one character an edit, at the end of the first line of the first
    # function's body, in the module with the most functions.
    def count_functions(path: str) -> int:
        return sum(1 for line in workspace.text(path).splitlines() if line.lstrip().startswith(("def ", "async def ")))

    module = max(files, key=count_functions)
    lines = workspace.text(module).splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def ")))
    body = next(i for i in range(first + 1, len(lines)) if lines[i].strip() and not lines[i].strip().startswith(('"', "'", "#")))
    typing = []
    column = len(lines[body])
    for character in "  # typed":
        version += 1
        edit = flowsight.TextEdit(body, column, body, column, character)
        typing.append(timed(lambda edit=edit, version=version: workspace.apply_edits(module, version, [edit])))
        column += 1
    # A file nothing imports, added and removed.
    added = timed(lambda: workspace.update_file("django/zz_unrelated.py", "def note(text):\n    return text.strip()\n", 1))
    removed = timed(lambda: workspace.remove_file("django/zz_unrelated.py"))
    # A function renamed: the first top-level function of django/utils/html.py.
    html = "django/utils/html.py"
    text = workspace.text(html)
    name = re.search(r"^def (\w+)\(", text, re.M).group(1)
    renamed = timed(lambda: workspace.update_file(html, re.sub(rf"^def {name}\(", f"def {name}_renamed(", text, count=1, flags=re.M), 1))
    references = sum(1 for path in files if re.search(rf"\b{name}\b", workspace.text(path))) if name else 0
    # A class's bases changed: the first class of django/views/generic/base.py gains a base.
    views = "django/views/generic/base.py"
    text = workspace.text(views)
    match = re.search(r"^class (\w+)(\([^)]*\))?:", text, re.M)
    bases = timed(lambda: workspace.update_file(views, text[: match.start()] + f"class {match.group(1)}(dict):" + text[match.end() :], 1))
    return {
        "seconds": cold,
        "functions": int(workspace.last_analysis()["scopes"]),
        "typing_module": module,
        "typing_module_functions": count_functions(module),
        "typing_seconds": [t for t, _ in typing],
        "typing_analysed": [n for _, n in typing],
        "add_file": {"seconds": added[0], "analysed": added[1]},
        "remove_file": {"seconds": removed[0], "analysed": removed[1]},
        "rename": {"function": name, "files_mentioning": references, "seconds": renamed[0], "analysed": renamed[1]},
        "class_bases": {"class": match.group(1), "seconds": bases[0], "analysed": bases[1]},
    }


def worker_scale(package: Path) -> dict:
    """A cold analysis of one package directory, its imports resolved from the directory above,
    or of every package of a workspace directory (one that is not itself a package) together,
    their imports resolved from it."""
    import flowsight

    if (package / "__init__.py").is_file():
        packages, root = [package], package.parent
    else:
        packages, root = workspace_packages(package), package
    files = [path for directory in packages for path in python_files(directory)]
    lines = sum(len(path.read_bytes().splitlines()) for path in files)
    started, cpu = time.perf_counter(), time.process_time()
    analysis = flowsight.analyze_taint([str(directory) for directory in packages], root=str(root))
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "files": len(files),
        "lines": lines,
        "findings": len(analysis.findings),
        "incomplete": analysis.stats.get("incomplete", 0),
    }


WORKERS = {
    "incremental": worker_incremental,
    "slice_latency": worker_slice_latency,
    "flat_slice": worker_flat_slice,
    "slices": worker_slices,
    "index": worker_index,
    "parse_only": worker_parse_only,
    "ast": worker_ast,
    "edit": worker_edit,
    "taint": worker_taint,
    "search": worker_search,
    "search-reopen": worker_search_reopen,
    "scale": worker_scale,
}


def cache_scan(root: Path, cache: Path | None) -> dict:
    """One `flowsight scan`-like run over Django in this process, with or without the cache."""
    import hashlib

    import flowsight

    started = time.perf_counter()
    analysis = flowsight.analyze_taint([str(root / "django")], root=str(root), cache_dir=None if cache is None else str(cache))
    seconds = time.perf_counter() - started
    ids = hashlib.sha256("\n".join(sorted(f.id for f in analysis.findings)).encode()).hexdigest()[:16]
    size = (cache / "analysis.bin").stat().st_size if cache is not None and (cache / "analysis.bin").exists() else 0
    trees = sum(path.stat().st_size for path in (cache / "trees").iterdir()) if cache is not None and (cache / "trees").is_dir() else 0
    return {
        "seconds": seconds,
        "findings": len(analysis.findings),
        "findings_digest": ids,
        "parse_seconds": analysis.parse_seconds,
        "analysis_seconds": analysis.analysis_seconds,
        "write_seconds": analysis.cache.get("seconds", 0.0),
        "reused_scan": bool(analysis.cache.get("reused_scan")),
        "notice": analysis.cache.get("notice"),
        "reused_scopes": analysis.stats["reused"],
        "scopes": analysis.stats["scopes"],
        "cache_bytes": size,
        "trees_bytes": trees,
        "trees_loaded": analysis.cache.get("trees_loaded", 0),
    }


CACHE_CHANGED_FILE = "django/utils/html.py"


def worker_cache_cold(root: Path) -> dict:
    return cache_scan(root, None)


def worker_cache_warm(root: Path) -> dict:
    return cache_scan(root, root / ".flowsight-cache")


def worker_cache_changed(root: Path) -> dict:
    """Toggles one line inside a function of one file, then scans with the cache of the run
    before (so each run sees exactly one file changed)."""
    path = root / CACHE_CHANGED_FILE
    text = path.read_text()
    marker = "    # flowsight bench edit\n"
    if marker in text:
        text = text.replace(marker, "", 1)
    else:
        at = text.index("\ndef ") + 1
        body = text.index("\n", text.index(":\n", at)) + 1
        text = text[:body] + marker + text[body:]
    path.write_text(text)
    return cache_scan(root, root / ".flowsight-cache")


def worker_server_restart(root: Path) -> dict:
    from bench import lsp

    return lsp.run_restart(root)


WORKERS.update(
    {
        "server_restart": worker_server_restart,
        "cache_cold": worker_cache_cold,
        "cache_warm": worker_cache_warm,
        "cache_changed": worker_cache_changed,
    }
)


def run_worker(name: str, root: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--root", str(root)], capture_output=True, text=True, timeout=600
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench: worker {name} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def summarise(samples: list[dict]) -> dict:
    runs = len(samples)
    seconds = [s["seconds"] for s in samples]
    result = dict(samples[-1])
    result.update(
        {
            "median_seconds": statistics.median(seconds),
            "min_seconds": min(seconds),
            "max_seconds": max(seconds),
            "runs": runs,
            "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
        }
    )
    return result


def measure(name: str, root: Path, runs: int) -> dict:
    return summarise([run_worker(name, root) for _ in range(runs)])


def measure_interleaved(names: list[str], root: Path, runs: int) -> list[dict]:
    """Runs the workloads in turn, run by run, so a change of machine load between runs
    weighs on each of them alike (their ratio is what a target compares)."""
    samples: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            samples[name].append(run_worker(name, root))
    return [summarise(samples[name]) for name in names]


# ---------------------------------------------------------------- peers

MEASURE_CHILD = (
    "import json, resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "completed = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "seconds = time.perf_counter() - started\n"
    "try:\n    findings = len(json.loads(completed.stdout).get('results', []))\n"
    "except ValueError:\n    findings = None\n"
    "print(json.dumps({'returncode': completed.returncode, 'seconds': seconds, 'findings': findings,"
    " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 'stderr': completed.stderr[-500:]}))\n"
)


def measure_command(command: list[str], runs: int) -> dict:
    """Runs a peer tool through a small Python parent, so its peak RSS is its own."""
    samples = []
    for _ in range(runs):
        completed = subprocess.run([sys.executable, "-c", MEASURE_CHILD, *command], capture_output=True, text=True)
        sample = json.loads(completed.stdout.strip().splitlines()[-1])
        if sample["returncode"] not in (0, 1):
            return {"error": sample["stderr"]}
        samples.append(sample)
    timings = [s["seconds"] for s in samples]
    return {
        "median_seconds": statistics.median(timings),
        "min_seconds": min(timings),
        "max_seconds": max(timings),
        "runs": runs,
        "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
        "findings": samples[-1]["findings"],
    }


# ---------------------------------------------------------------- suites


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_results(name: str, result: dict) -> Path:
    """Writes `result` to `bench/results/<name>.json` and says so."""
    path = BENCH / "results" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def suite_chunks(root: Path, runs: int) -> dict:
    files = python_files(root / "django")
    lines = sum(len(path.read_bytes().splitlines()) for path in files)
    index, parse = measure_interleaved(["index", "parse_only"], root, runs)
    baseline = measure("ast", root, runs)
    edit = measure("edit", root, runs)
    speedup = baseline["median_seconds"] / index["median_seconds"]
    overhead = index["median_seconds"] / parse["median_seconds"] - 1
    rows = [
        ("workload", "median s", "min s", "max s", "peak RSS MB", "target", "result"),
        (
            "parse+chunk corpus (native, end to end)",
            f"{index['median_seconds']:.3f}",
            f"{index['min_seconds']:.3f}",
            f"{index['max_seconds']:.3f}",
            f"{index['peak_rss_mb']:.0f}",
            "≤ 0.35 s",
            verdict(index["median_seconds"] <= 0.35),
        ),
        (
            "parse only (native)",
            f"{parse['median_seconds']:.3f}",
            f"{parse['min_seconds']:.3f}",
            f"{parse['max_seconds']:.3f}",
            f"{parse['peak_rss_mb']:.0f}",
            "floor",
            "",
        ),
        ("chunking overhead over parse", f"{overhead:+.1%}", "", "", "", "≤ +15%", verdict(overhead <= 0.15)),
        (
            "ast baseline (pure Python)",
            f"{baseline['median_seconds']:.3f}",
            f"{baseline['min_seconds']:.3f}",
            f"{baseline['max_seconds']:.3f}",
            f"{baseline['peak_rss_mb']:.0f}",
            "",
            "",
        ),
        ("speed-up over the baseline", f"{speedup:.1f}x", "", "", "", "≥ 4x", verdict(speedup >= 4)),
        (
            f"incremental edit, {edit['lines']}-line file (median of {edit['edits']})",
            f"{edit['median_seconds'] * 1000:.2f} ms",
            "",
            f"p95 {edit['p95_seconds'] * 1000:.2f} ms",
            f"{edit['peak_rss_mb']:.0f}",
            "≤ 2 ms",
            verdict(edit["median_seconds"] <= 0.002),
        ),
        ("  same, an edit that breaks the syntax", f"{edit['broken_seconds'] * 1000:.2f} ms", "", "", "", "", ""),
    ]
    print(f"Django 5.1.4: {len(files)} files, {lines} lines; native chunks {index['chunks']}, baseline chunks {baseline['chunks']}")
    print(table(rows))
    return {
        "corpus": {"name": "django-5.1.4", "files": len(files), "lines": lines},
        "index": index,
        "parse_only": parse,
        "ast_baseline": baseline,
        "edit": edit,
        "speedup": speedup,
        "chunking_overhead": overhead,
    }


def suite_server(root: Path, runs: int) -> dict:
    from bench.lsp import run as run_server

    samples = [run_server(root) for _ in range(max(1, min(runs, 3)))]
    key = lambda name: statistics.median(s[name] for s in samples)  # noqa: E731
    ms = lambda name: f"{key(name) * 1000:.1f} ms"  # noqa: E731
    rows = [
        ("measurement (server time unless marked client)", "median of runs", "target", "result"),
        (
            "initialize → first diagnostics of the open file (client)",
            f"{key('first_diagnostics_seconds'):.2f} s",
            "≤ 1 s",
            verdict(key("first_diagnostics_seconds") <= 1),
        ),
        ("initialize → full index (progress end, client)", f"{key('full_index_seconds'):.2f} s", "", ""),
        ("one-line edit in a 1,995-line file → publish, p50", ms("edit_p50_seconds"), "", ""),
        ("one-line edit in a 1,995-line file → publish, p95", ms("edit_p95_seconds"), "≤ 50 ms", verdict(key("edit_p95_seconds") <= 0.05)),
        ("  the same, client side (incl. transport), p95", ms("client_edit_p95_seconds"), "", ""),
        ("edit changing a summary used in other files, p50", ms("summary_edit_p50_seconds"), "", ""),
        (
            "edit changing a summary used in other files, p95",
            ms("summary_edit_p95_seconds"),
            "≤ 50 ms",
            verdict(key("summary_edit_p95_seconds") <= 0.05),
        ),
        ("  functions it re-analysed (rounds)", f"{key('summary_edit_analysed'):.0f} ({key('summary_edit_rounds'):.0f})", "", ""),
        ("typing into a function name (calls re-resolve), p50", ms("rename_p50_seconds"), "", ""),
        ("10 files changed on disk at once → publish", ms("ten_files_seconds"), "≤ 150 ms", verdict(key("ten_files_seconds") <= 0.15)),
        ("  the same, client side (incl. a round trip)", ms("client_ten_files_seconds"), "", ""),
        ("server RSS after indexing", f"{key('rss_after_index_mb'):.0f} MB", "≤ 300 MB", verdict(key("rss_after_index_mb") <= 300)),
    ]
    print(table(rows))
    return {"samples": samples}


STDLIB = Path(os.__file__).parent
STDLIB_OPENED = STDLIB / "http" / "server.py"


SYMPY_OPENED = Path("sympy") / "polys" / "polytools.py"


def suite_server_stdlib(root: Path, runs: int) -> dict:
    """The server with this interpreter's standard library as the workspace (not the corpus),
    `runs` times (at most 3; medians), then with sympy's sdist as the workspace (`polytools.py`
    open), once — issue 13 names both."""
    stdlib = server_workspace("standard library", STDLIB, STDLIB_OPENED, max(1, min(runs, 3)))
    sympy_root = sympy_corpus()
    sympy = server_workspace("sympy", sympy_root, sympy_root / SYMPY_OPENED, 1)
    return {**stdlib, "sympy": sympy}


def server_workspace(name: str, workspace: Path, opened: Path, runs: int) -> dict:
    """`bench/lsp_workspace.py` on `workspace` with `opened` open, `runs` times (medians), and
    the table of the issue's targets."""
    from bench.lsp_workspace import run as run_workspace

    load = os.getloadavg()
    results = [run_workspace(workspace, opened) for _ in range(runs)]
    # `median_low` picks one run's value (some are lists of samples, which cannot be averaged
    # as `median` does for an even number of runs).
    median = lambda side, name: statistics.median_low(r[side][name] for r in results)  # noqa: E731
    whole = {name: median("workspace", name) for name in results[0]["workspace"]}
    two = {name: median("two_files", name) for name in results[0]["two_files"]}
    first_ratio = whole["first_diagnostics_seconds"] / two["first_diagnostics_seconds"]
    edit_ratio = whole["edit_p95_seconds"] / two["edit_p95_seconds"]
    during_ratio = whole["during_p95_seconds"] / two["edit_p95_seconds"]
    during_ok = whole["edits_during"] == 0 or (whole["during_p95_seconds"] <= 0.05 and during_ratio <= 3)
    rows = [
        (
            f"{name} ({results[0]['files']} files), {opened.relative_to(workspace)} open, median of {len(results)}",
            "workspace",
            "2 files",
            "target",
            "result",
        ),
        (
            "initialize → first diagnostics of the open file (client)",
            f"{whole['first_diagnostics_seconds']:.2f} s",
            f"{two['first_diagnostics_seconds']:.2f} s",
            "≤ 2 s, ≤ 10× 2 files",
            verdict(whole["first_diagnostics_seconds"] <= 2 and first_ratio <= 10),
        ),
        (
            "initialize → whole analysis done (progress end)",
            f"{whole['analysis_done_seconds']:.2f} s",
            f"{two['analysis_done_seconds']:.2f} s",
            "",
            "",
        ),
        ("  server CPU time by then", f"{whole['cpu_seconds']:.1f} s", f"{two['cpu_seconds']:.1f} s", "", ""),
        (
            f"edit during the analysis → publish, p50/p95 (server; {whole['edits_during']:.0f} edits)",
            f"{whole['during_p50_seconds'] * 1000:.1f}/{whole['during_p95_seconds'] * 1000:.1f} ms",
            "",
            "≤ 50 ms, ≤ 3× 2 files",
            verdict(during_ok),
        ),
        ("edit → publish, p50 (server)", f"{whole['edit_p50_seconds'] * 1000:.1f} ms", f"{two['edit_p50_seconds'] * 1000:.1f} ms", "", ""),
        (
            "edit → publish, p95 (server)",
            f"{whole['edit_p95_seconds'] * 1000:.1f} ms",
            f"{two['edit_p95_seconds'] * 1000:.1f} ms",
            "≤ 50 ms, ≤ 3× 2 files",
            verdict(whole["edit_p95_seconds"] <= 0.05 and edit_ratio <= 3),
        ),
        (
            "  edit → the workspace analysis's result, p50/p95 (server)",
            f"{whole['workspace_result_p50_seconds'] * 1000:.1f}/{whole['workspace_result_p95_seconds'] * 1000:.1f} ms",
            f"{two['workspace_result_p50_seconds'] * 1000:.1f}/{two['workspace_result_p95_seconds'] * 1000:.1f} ms",
            "",
            "",
        ),
        (
            "server RSS after the analysis",
            f"{whole['rss_mb']:.0f} MB",
            f"{two['rss_mb']:.0f} MB",
            "≤ 1 GB",
            verdict(whole["rss_mb"] <= 1024),
        ),
    ]
    print(table(rows))
    print(f"load average before / after: {load[0]:.1f} / {os.getloadavg()[0]:.1f}")
    return {"runs": results, "workspace": whole, "two_files": two, "load_before": load, "load_after": os.getloadavg()}


def suite_taint(root: Path, runs: int) -> dict:
    taint = measure("taint", root, runs)
    rows = [
        ("tool", "median s", "peak RSS MB", "findings", "ratio to flowsight"),
        ("flowsight (cold analysis)", f"{taint['median_seconds']:.3f}", f"{taint['peak_rss_mb']:.0f}", str(taint["findings"]), "1.0"),
    ]
    peers: dict[str, dict] = {}
    semgrep = shutil.which("semgrep") or str(Path(sys.executable).with_name("semgrep"))
    if Path(semgrep).exists():
        rule = BENCH / "semgrep-taint.yml"
        peers["semgrep"] = measure_command(
            [semgrep, "scan", "--metrics=off", "--quiet", "--config", str(rule), "--json", str(root / "django")], 1
        )
    bandit = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    if Path(bandit).exists():
        peers["bandit"] = measure_command([bandit, "-q", "-r", "-f", "json", str(root / "django")], 1)
    for name, result in peers.items():
        if "error" in result:
            rows.append((name, "error", "", "", result["error"][:60]))
        else:
            rows.append(
                (
                    name,
                    f"{result['median_seconds']:.3f}",
                    f"{result['peak_rss_mb']:.0f}",
                    str(result["findings"]),
                    f"{result['median_seconds'] / taint['median_seconds']:.1f}x slower",
                )
            )
    print(table(rows))
    print(f"targets: cold analysis ≤ 1.5 s: {verdict(taint['median_seconds'] <= 1.5)}; ≤ 300 MB: {verdict(taint['peak_rss_mb'] <= 300)}")
    slices = run_worker("slices", root)
    print(
        f"slices on Django ({int(slices['slices'])} functions of {int(slices['functions'])} with ≥ 5 statements, backward from the last "
        f"statement): mean {slices['mean_function_share']:.1%} of the function, {slices['mean_program_share']:.3%} of the program; "
        f"SDG built in {slices['sdg_seconds']:.2f} s, {slices['mean_slice_seconds'] * 1e6:.0f} µs a slice"
    )
    return {"flowsight": taint, "peers": peers, "slices": slices}


def suite_slice(root: Path, runs: int) -> dict:
    latency = measure("slice_latency", root, max(1, min(runs, 3)))
    flat = measure("flat_slice", root, max(1, min(runs, 3)))
    budget = 0.02 * latency["cold_analysis_seconds"]
    rows = [
        ("measurement", "value", "target", "result"),
        ("cold taint analysis in the same process", f"{latency['cold_analysis_seconds']:.3f} s", "", ""),
        ("slices prepared (every scope's graph, links, effects; background)", f"{latency['prepare_seconds']:.3f} s", "", ""),
        (f"warm backward slice, p50 of {latency['slices']}", f"{latency['median_seconds'] * 1000:.1f} ms", "", ""),
        (
            "warm backward slice, p95",
            f"{latency['p95_seconds'] * 1000:.1f} ms",
            f"≤ 20 ms and ≤ {budget * 1000:.1f} ms (2 %)",
            verdict(latency["p95_seconds"] <= min(0.02, budget)),
        ),
        ("  slowest slice", f"{latency['max_slice_seconds'] * 1000:.1f} ms", "", ""),
        ("  mean slice size (lines)", f"{latency['mean_slice_lines']:.1f}", "", ""),
        (
            f"first slice after a one-line edit, p50 of {latency['after_edit_slices']} big files",
            f"{latency['after_edit_median_seconds'] * 1000:.1f} ms",
            "",
            "",
        ),
        (
            "first slice after a one-line edit, p95",
            f"{latency['after_edit_p95_seconds'] * 1000:.1f} ms",
            "≤ 20 ms (about a warm slice)",
            verdict(latency["after_edit_p95_seconds"] <= 0.02),
        ),
        ("workspace peak RSS", f"{latency['peak_rss_mb']:.0f} MB", "≤ 300 MB", verdict(latency["peak_rss_mb"] <= 300)),
        (
            f"slice in a {flat['lines']}-line flat module (parse included)",
            f"{flat['median_seconds']:.3f} s",
            "≤ 1 s",
            verdict(flat["median_seconds"] <= 1),
        ),
        ("  its peak RSS (process)", f"{flat['peak_rss_mb']:.0f} MB", "≤ 200 MB", verdict(flat["peak_rss_mb"] <= 200)),
    ]
    print(table(rows))
    return {"latency": latency, "flat": flat}


def suite_incremental(root: Path, runs: int) -> dict:
    samples = [run_worker("incremental", root) for _ in range(max(1, min(runs, 3)))]
    last = samples[-1]
    typing = [t for sample in samples for t in sample["typing_seconds"]]
    typing_analysed = max(n for sample in samples for n in sample["typing_analysed"])

    def median_of(key: str, field: str) -> float:
        return statistics.median(sample[key][field] for sample in samples)

    def most(key: str) -> int:
        return max(sample[key]["analysed"] for sample in samples)

    rows = [
        ("edit", "functions analysed (max)", "p50 ms", "p95 ms", "target"),
        (
            f"typing in the first function of {last['typing_module']} ({last['typing_module_functions']} functions)",
            str(typing_analysed),
            f"{percentile(typing, 0.5) * 1000:.1f}",
            f"{percentile(typing, 0.95) * 1000:.1f}",
            f"≤ 5 functions: {verdict(typing_analysed <= 5)}",
        ),
        (
            "a file nothing imports added",
            str(most("add_file")),
            f"{median_of('add_file', 'seconds') * 1000:.1f}",
            "",
            f"≤ 5 functions, ≤ 50 ms: {verdict(most('add_file') <= 5 and median_of('add_file', 'seconds') <= 0.05)}",
        ),
        (
            "that file removed",
            str(most("remove_file")),
            f"{median_of('remove_file', 'seconds') * 1000:.1f}",
            "",
            f"≤ 5 functions, ≤ 50 ms: {verdict(most('remove_file') <= 5 and median_of('remove_file', 'seconds') <= 0.05)}",
        ),
        (
            f"`{last['rename']['function']}` renamed (mentioned in {last['rename']['files_mentioning']} files)",
            str(most("rename")),
            f"{median_of('rename', 'seconds') * 1000:.1f}",
            "",
            "the functions that referenced it",
        ),
        (
            f"class `{last['class_bases']['class']}` gains a base",
            str(most("class_bases")),
            f"{median_of('class_bases', 'seconds') * 1000:.1f}",
            "",
            "its methods, subclasses' methods, callers",
        ),
    ]
    print(f"{last['functions']} functions; cold analysis {statistics.median(s['seconds'] for s in samples):.2f} s")
    print(table(rows))
    return {"samples": samples}


def suite_cache(root: Path, runs: int) -> dict:
    """Cold scan (no cache), warm scan (nothing changed), one file changed, and the cache's size,
    on a copy of the corpus (the changed file is edited there)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="flowsight-bench-cache-") as scratch:
        copy = Path(scratch)
        shutil.copytree(root / "django", copy / "django")
        run_worker("cache_warm", copy)  # writes the cache
        cold, warm, changed = measure_interleaved(["cache_cold", "cache_warm", "cache_changed"], copy, runs)
        # The results are the same with and without the cache (after the last change, too).
        after_change = run_worker("cache_cold", copy)
        # The server: initialize → every file's diagnostics, without a cache, then restarted on it.
        shutil.rmtree(copy / ".flowsight-cache", ignore_errors=True)
        server_cold = run_worker("server_restart", copy)
        server_warm = run_worker("server_restart", copy)
        # The server's indexing CPU after a restart, with the cache's stored trees removed first
        # (every file parsed; the run stores them again) and with them, interleaved.
        without_trees, with_trees = [], []
        for _ in range(max(1, runs)):
            shutil.rmtree(copy / ".flowsight-cache" / "trees", ignore_errors=True)
            without_trees.append(run_worker("server_restart", copy))
            with_trees.append(run_worker("server_restart", copy))
    same = cold["findings_digest"] == warm["findings_digest"] and changed["findings_digest"] == after_change["findings_digest"]
    rows = [("run", "median s", "min s", "ratio to cold", "parse s", "analysis s", "cache write s", "reused scopes")]
    for name, result in (("cold (--no-cache)", cold), ("warm, nothing changed", warm), ("one file changed", changed)):
        rows.append(
            (
                name,
                f"{result['median_seconds']:.3f}",
                f"{result['min_seconds']:.3f}",
                f"{result['median_seconds'] / cold['median_seconds']:.2f}",
                f"{result['parse_seconds']:.3f}",
                f"{result['analysis_seconds']:.3f}",
                f"{result['write_seconds']:.3f}",
                f"{result['reused_scopes']}/{result['scopes']}",
            )
        )
    print(table(rows))
    size_mb = changed["cache_bytes"] / 1e6
    trees_mb = changed["trees_bytes"] / 1e6
    print(
        f"cache size: {size_mb:.1f} MB analysis.bin + {trees_mb:.1f} MB syntax trees (one file changed: "
        f"{changed['trees_loaded']} files built from their stored tree); findings identical to --no-cache: {verdict(same)}"
    )
    print(
        f"server, initialize answered → diagnostics of every file: {server_cold['seconds']:.2f} s without a cache, "
        f"{server_warm['seconds']:.2f} s restarted on it ({server_warm['published_files']} files published; target ≤ 0.3 s: "
        f"{verdict(server_warm['seconds'] <= 0.3)}); from the process start {server_cold['from_process_start_seconds']:.2f} s / "
        f"{server_warm['from_process_start_seconds']:.2f} s (start-up to the initialize answer {server_warm['startup_seconds']:.2f} s); "
        f"indexing and analysis done in the background after {server_cold['background_done_seconds']:.2f} s / "
        f"{server_warm['background_done_seconds']:.2f} s"
    )
    cpu = lambda samples, key: statistics.median(sample[key] for sample in samples)  # noqa: E731
    loaded = lambda samples: statistics.median(sample.get("trees", {}).get("loaded", 0) for sample in samples)  # noqa: E731
    print(
        f"server restart, CPU of the server process from the initialize answer until every file was indexed (median of "
        f"{len(with_trees)}): {cpu(without_trees, 'indexing_user_cpu_seconds'):.2f} user s "
        f"({cpu(without_trees, 'indexing_cpu_seconds'):.2f} user+sys) without stored trees, "
        f"{cpu(with_trees, 'indexing_user_cpu_seconds'):.2f} user s ({cpu(with_trees, 'indexing_cpu_seconds'):.2f} user+sys) "
        f"with them ({loaded(with_trees):.0f} files built from their stored tree); diagnostics of every file after "
        f"{cpu(without_trees, 'seconds'):.2f} s / {cpu(with_trees, 'seconds'):.2f} s"
    )
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(
        f"targets: warm ≤ 0.3× cold: {verdict(warm['median_seconds'] <= 0.3 * cold['median_seconds'])}; "
        f"one file changed ≤ 0.4× cold: {verdict(changed['median_seconds'] <= 0.4 * cold['median_seconds'])}"
    )
    return {
        "cold": cold,
        "warm": warm,
        "one_changed": changed,
        "cache_mb": size_mb,
        "trees_mb": trees_mb,
        "identical": same,
        "server_cold": server_cold,
        "server_restart": server_warm,
        "server_restart_without_trees": without_trees,
        "server_restart_with_trees": with_trees,
    }


def suite_search(root: Path, runs: int) -> dict:
    samples, reopened = [], []
    for _ in range(max(1, runs)):
        samples.append(run_worker("search", root))
        reopened.append(run_worker("search-reopen", root))
    key = lambda name: statistics.median(s[name] for s in samples)  # noqa: E731
    ms = lambda name: f"{key(name) * 1000:.2f} ms"  # noqa: E731
    again = lambda name: statistics.median(s[name] for s in reopened)  # noqa: E731
    last = samples[-1]
    rows = [
        ("measurement (median of runs)", "value", "target", "result"),
        (f"load the corpus into a Workspace ({last['files']} files: read, parse, chunk)", f"{key('load_seconds'):.3f} s", "", ""),
        (f"build the lexical index ({last['documents']} documents)", f"{key('build_seconds'):.3f} s", "", ""),
        (f"free-text query, p50 ({last['queries']} queries × {SEARCH_REPEATS})", ms("query_p50_seconds"), "", ""),
        ("free-text query, p95", ms("query_p95_seconds"), "≤ 10 ms", verdict(key("query_p95_seconds") <= 0.01)),
        ("  slowest query", ms("query_max_seconds"), "", ""),
        (f"symbol query (up to 1,000 hits), p50 ({last['symbol_queries']} queries × {SEARCH_REPEATS})", ms("symbol_p50_seconds"), "", ""),
        ("symbol query, p95", ms("symbol_p95_seconds"), "", ""),
        (f"function added to a 1,995-line file → found by search, p50 ({last['edits']} edits)", ms("edit_p50_seconds"), "", ""),
        ("  the same, p95", ms("edit_p95_seconds"), "", verdict(all(s["edits_found"] == s["edits"] for s in samples))),
        ("peak RSS (process)", f"{max(s['peak_rss_mb'] for s in samples):.0f} MB", "", ""),
        (f"write the index to the cache directory ({key('write_bytes') / 1e6:.1f} MB)", ms("write_seconds"), "", ""),
        (f"  after one more edit (only new segment files: {key('delta_write_bytes') / 1e3:.0f} kB)", ms("delta_write_seconds"), "", ""),
        ("restart: reopen the written index (fresh process, corpus loaded)", f"{again('reopen_seconds'):.3f} s", "", ""),
        (
            f"  documents indexed again / reused (the edited file: {reopened[-1]['refreshed_files']} refreshed)",
            f"{reopened[-1]['indexed']} / {reopened[-1]['reused']}",
            "",
            verdict(all(s["reopened"] and s["documents"] == s["indexed"] + s["reused"] for s in reopened)),
        ),
        ("  process start → first answer (load, reopen, query)", f"{again('first_answer_seconds'):.3f} s", "", ""),
        ("  free-text query on the reopened index, p50", f"{again('query_p50_seconds') * 1000:.2f} ms", "", ""),
        ("  p95", f"{again('query_p95_seconds') * 1000:.2f} ms", "≤ 10 ms", verdict(again("query_p95_seconds") <= 0.01)),
    ]
    print(table(rows))
    return {"samples": samples, "reopened": reopened, "queries": SEARCH_QUERIES, "symbol_queries": SYMBOL_QUERIES}


def suite_scale(root: Path, runs: int) -> dict:
    """Cold analysis per line on corpora of growing size (imports resolved): the curve must stay
    linear and drop. Targets from issue 13: Django ≤ 1.0 s, sympy ≤ 6 s and ≤ 600 MB; the
    workspaces of 1.3M and 2.7M lines are linear when their CPU and memory per line stay within
    twice Django's."""
    corpora = [
        ("django", root / "django", 1.0, None),
        ("sympy", sympy_corpus() / "sympy", 6.0, 600.0),
        ("1.3M lines", scale_workspace("1.3m", SCALE_WHEELS_1_3M), None, None),
        ("2.7M lines", scale_workspace("2.7m", SCALE_WHEELS_2_7M), None, None),
    ]
    rows = [
        (
            "corpus",
            "files",
            "lines",
            "wall s",
            "CPU s",
            "lines/s (CPU)",
            "CPU per line vs Django",
            "peak MB",
            "MB per 1k lines",
            "incomplete",
            "target",
            "result",
        )
    ]
    results = {}
    for name, package, seconds_target, megabytes_target in corpora:
        sample = summarise([run_worker("scale", package) for _ in range(runs)])
        results[name] = sample
        wall, megabytes = sample["median_seconds"], sample["peak_rss_mb"]
        cpu_per_line = sample["cpu_seconds"] / max(sample["lines"], 1)
        megabytes_per_line = megabytes / max(sample["lines"], 1)
        django = results["django"]
        cpu_ratio = cpu_per_line / max(django["cpu_seconds"] / max(django["lines"], 1), 1e-12)
        memory_ratio = megabytes_per_line / max(django["peak_rss_mb"] / max(django["lines"], 1), 1e-12)
        sample["cpu_per_line_vs_django"], sample["memory_per_line_vs_django"] = cpu_ratio, memory_ratio
        if seconds_target is not None:
            ok = wall <= seconds_target and (megabytes_target is None or megabytes <= megabytes_target)
            target = f"≤ {seconds_target:g} s" + (f", ≤ {megabytes_target:g} MB" if megabytes_target else "")
        else:
            ok = cpu_ratio <= 2.0 and memory_ratio <= 2.0
            target = "≤ 2× Django per line"
        rows.append(
            (
                name,
                f"{sample['files']:,}",
                f"{sample['lines']:,}",
                f"{wall:.2f}",
                f"{sample['cpu_seconds']:.2f}",
                f"{sample['lines'] / max(sample['cpu_seconds'], 1e-9):,.0f}",
                f"{cpu_ratio:.2f}×",
                f"{megabytes:.0f}",
                f"{megabytes / (sample['lines'] / 1000):.2f}",
                str(sample["incomplete"]),
                target,
                verdict(ok),
            )
        )
    print(table(rows))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--suite",
        choices=["chunks", "taint", "slice", "server", "server-stdlib", "incremental", "search", "cache", "scale", "all"],
        default="all",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](Path(args.root))
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return 0
    root = django_corpus()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    suites = [
        ("chunks", suite_chunks),
        ("taint", suite_taint),
        ("slice", suite_slice),
        ("server", suite_server),
        ("server-stdlib", suite_server_stdlib),
        ("incremental", suite_incremental),
        ("search", suite_search),
        ("cache", suite_cache),
        ("scale", suite_scale),
    ]
    for suite, function in suites:
        if args.suite in (suite, "all"):
            print(f"\n== {suite} ==")
            result = function(root, args.runs)
            result["machine"] = machine
            write_results(suite, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
