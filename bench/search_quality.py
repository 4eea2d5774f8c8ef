"""Retrieval quality of code search, built offline from real code: docstring → function over CPython's
standard library (`python bench/search_quality.py`).

Each sampled function's docstring (its first paragraph) is a query; the function's text with the
docstring removed is the one relevant document among all sampled functions. Functions come from the
flowsight chunker over /usr/lib/python3.11 (tests, idlelib, lib2to3, tkinter and the demo packages
left out); functions whose query is too short, duplicated, or whose body is a line or two are skipped.

Two identifier-shaped query sets over the same documents, for the functions whose name is unique
among them and has two words or more: the name as written (`parse_qsl`, `getLogger`: the exact
identifier boost decides), and the name respelled in the other convention (`parseQsl`,
`get_logger`: as a user types it without knowing the spelling; the boost cannot fire).

Rankings:
  vector    the bundled all-MiniLM-L6-v2 (numpy) in a Qdrant local-mode `VectorIndex`
  lexical   the Rust tantivy index (`flowsight.Workspace.search`), each function its own file; the
            python BM25 stand-in it replaced is kept as a row for comparison
  hybrid    `SearchService` in hybrid mode over the two (what flowsight ships: convex fusion with the
            lexical weight of the query's shape, the identifier boost, dedup), plus a sweep of fusion
            functions and weights per query set; each weight is chosen on the even-numbered queries
            and reported on the odd-numbered ones

Reports MRR@10, nDCG@10, Recall@10 (and @1), embedding time per chunk, query latency, peak RSS. Prints a
table and writes `bench/results/search-quality.json`.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import platform
import random
import re
import resource
import statistics
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from run import percentile, table  # bench/run.py: the suites' shared helpers

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
sys.path.insert(0, str(REPOSITORY))

STDLIB = Path("/usr/lib/python3.11")
SKIPPED_DIRECTORIES = {
    "test",
    "tests",
    "idlelib",
    "lib2to3",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "site-packages",
    "dist-packages",
    "__pycache__",
}
MIN_QUERY_WORDS = 4
MAX_QUERY_WORDS = 64
MIN_BODY_LINES = 3
CUTOFF = 10


# ---------------------------------------------------------------- the data set


@dataclass(frozen=True)
class Case:
    chunk_id: str
    qualified_name: str
    query: str
    text: str  # the function without its docstring


def stdlib_files(root: Path) -> list[str]:
    """The data set's files: the core's file walker with the directories above excluded."""
    from flowsight._native import walk_files

    excludes = [(str(root), [f"{name}/" for name in sorted(SKIPPED_DIRECTORIES)] + ["config-*/"])]
    return [str(path) for path in walk_files([str(root)], root=str(root), excludes=excludes).files if str(path).endswith(".py")]


def first_paragraph(docstring: str) -> str:
    paragraph = docstring.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split()[:MAX_QUERY_WORDS])


def without_docstring(lines: list[str]) -> str | None:
    """The function's text (whole lines, dedented) with its docstring statement removed, or None
    when it does not parse alone or has no docstring."""
    text = textwrap.dedent("\n".join(lines))
    try:
        module = ast.parse(text)
    except SyntaxError:
        return None
    function = module.body[0] if module.body else None
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or not function.body:
        return None
    first = function.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)):
        return None
    text_lines = text.split("\n")
    kept = text_lines[: first.lineno - 1] + text_lines[first.end_lineno :]
    return "\n".join(kept).rstrip() + "\n"


def build_cases(sample: int, seed: int) -> list[Case]:
    import flowsight

    chunks = flowsight.build_chunks(stdlib_files(STDLIB), root=str(STDLIB))
    sources: dict[str, list[str]] = {}
    candidates = []
    for chunk in chunks:
        if chunk.kind not in ("function", "method") or not chunk.docstring:
            continue
        query = first_paragraph(chunk.docstring)
        if len(query.split()) < MIN_QUERY_WORDS:
            continue
        lines = sources.get(chunk.path)
        if lines is None:
            lines = sources[chunk.path] = (STDLIB / chunk.path).read_text(encoding="utf-8", errors="replace").split("\n")
        text = without_docstring(lines[chunk.start_line - 1 : chunk.end_line])
        if text is None or len([line for line in text.split("\n") if line.strip()]) < MIN_BODY_LINES:
            continue
        candidates.append(Case(chunk.id, chunk.qualified_name, query, text))
    counts = Counter(case.query.lower() for case in candidates)
    unique = [case for case in candidates if counts[case.query.lower()] == 1]  # an ambiguous query has no single answer
    random.Random(seed).shuffle(unique)
    return unique[:sample]


def respelled(name: str) -> str | None:
    """`parse_qsl` → `parseQsl`, `getLogger` → `get_logger`; None for a one-word name."""
    words = [part.lower() for piece in name.split("_") for part in PART.findall(piece)]
    if len(words) < 2:
        return None
    if "_" in name.strip("_"):
        return words[0] + "".join(word.capitalize() for word in words[1:])
    return "_".join(words)


def identifier_cases(cases: list[Case]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(query, relevant chunk id) pairs: each unique two-word-or-more name as written, and respelled."""
    names = Counter(case.qualified_name.rsplit(".", 1)[-1].lower() for case in cases)
    exact, other = [], []
    for case in cases:
        name = case.qualified_name.rsplit(".", 1)[-1]
        spelled = respelled(name)
        if names[name.lower()] != 1 or name.startswith("__") or spelled is None:
            continue
        exact.append((name, case.chunk_id))
        other.append((spelled, case.chunk_id))
    return exact, other


# ---------------------------------------------------------------- the lexical index


class RustLexical:
    """The Rust tantivy index over the sampled functions, each (dedented) in a file of its own; a
    hit is mapped back to its function by path (the file's best chunk)."""

    def __init__(self, cases: list[Case]) -> None:
        import flowsight

        self.workspace = flowsight.Workspace("/nonexistent/search-quality")
        self.by_path: dict[str, str] = {}
        for number, case in enumerate(cases):
            path = f"f{number:05}.py"
            self.workspace.update_file(path, textwrap.dedent(case.text))
            self.by_path[path] = case.chunk_id
        started = time.perf_counter()
        self.documents = self.workspace.build_search_index()
        self.build_seconds = time.perf_counter() - started

    def search(self, query: str, limit: int) -> list[tuple[str, float]]:
        ranking: dict[str, float] = {}
        for hit in self.workspace.search(query, 3 * limit):
            ranking.setdefault(self.by_path[hit.path], hit.score)
        return list(ranking.items())[:limit]


# ---------------------------------------------------------------- the lexical stand-in

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
PART = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|[A-Z]+|\d+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have if in into is it its of on or that the this to was were will with "
    "which when where who whose not no return returns self".split()
)


def code_tokens(text: str) -> list[str]:
    """Each identifier lower-cased whole plus its snake_case/camelCase/digit parts (as the Rust tokenizer plans to)."""
    tokens = []
    for word in WORD.findall(text):
        whole = word.lower()
        parts = [part.lower() for piece in word.split("_") for part in PART.findall(piece)]
        for token in [whole, *(part for part in parts if part != whole)]:
            if token not in STOPWORDS and len(token) <= 40:
                tokens.append(token)
    return tokens


class BM25:
    def __init__(self, documents: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.terms = {chunk_id: Counter(code_tokens(text)) for chunk_id, text in documents.items()}
        self.lengths = {chunk_id: sum(counts.values()) for chunk_id, counts in self.terms.items()}
        self.average = statistics.fmean(self.lengths.values())
        frequency = Counter(term for counts in self.terms.values() for term in counts)
        total = len(documents)
        self.idf = {term: math.log(1 + (total - count + 0.5) / (count + 0.5)) for term, count in frequency.items()}
        self.postings: dict[str, list[str]] = {}
        for chunk_id, counts in self.terms.items():
            for term in counts:
                self.postings.setdefault(term, []).append(chunk_id)

    def search(self, query: str, limit: int) -> list[tuple[str, float]]:
        scores: Counter[str] = Counter()
        for term in set(code_tokens(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for chunk_id in self.postings[term]:
                tf = self.terms[chunk_id][term]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[chunk_id] / self.average)
                scores[chunk_id] += idf * tf * (self.k1 + 1) / (tf + norm)
        return scores.most_common(limit)


# ---------------------------------------------------------------- metrics


def metrics(rankings: list[list[str]], relevant: list[str]) -> dict[str, float]:
    reciprocal, gains, hits, firsts = [], [], [], []
    for ranking, answer in zip(rankings, relevant, strict=True):
        top = ranking[:CUTOFF]
        rank = top.index(answer) + 1 if answer in top else None
        reciprocal.append(1 / rank if rank else 0.0)
        gains.append(1 / math.log2(rank + 1) if rank else 0.0)  # one relevant document: ideal DCG is 1
        hits.append(1.0 if rank else 0.0)
        firsts.append(1.0 if rank == 1 else 0.0)
    return {
        "mrr@10": statistics.fmean(reciprocal),
        "ndcg@10": statistics.fmean(gains),
        "recall@10": statistics.fmean(hits),
        "recall@1": statistics.fmean(firsts),
    }


def quantiles_ms(seconds: list[float]) -> dict[str, float]:
    return {"p50": 1000 * percentile(seconds, 0.5), "p95": 1000 * percentile(seconds, 0.95)}


# ---------------------------------------------------------------- the run


def run(sample: int, seed: int, threads: int, cache_dir: str | None, distractors: int) -> dict:
    import numpy as np

    from flowsight.search import Document, SearchService
    from flowsight.search.cache import EmbeddingCache
    from flowsight.search.fusion import convex_fusion, reciprocal_rank_fusion
    from flowsight.search.minilm import MiniLMEmbedder
    from flowsight.search.vector_index import VectorIndex

    started = time.perf_counter()
    cases = build_cases(sample, seed)
    build_seconds = time.perf_counter() - started
    print(f"{len(cases)} functions sampled from {STDLIB} ({build_seconds:.1f} s)", flush=True)
    documents = [Document(case.chunk_id, case.chunk_id, case.text, qualified_name=case.qualified_name) for case in cases]
    relevant = [case.chunk_id for case in cases]
    queries = [case.query for case in cases]

    embedder = MiniLMEmbedder(threads=threads)
    cache = EmbeddingCache(cache_dir) if cache_dir else EmbeddingCache.in_memory()
    index = VectorIndex(embedder, cache)
    tokens = [embedder.token_count(document.text) for document in documents]
    started = time.perf_counter()
    embedded = index.upsert(documents, progress=lambda done, total: print(f"\rembedded {done}/{total}", end="", flush=True), batch=64)
    embed_seconds = time.perf_counter() - started
    print()

    bm25 = BM25({document.chunk_id: document.text for document in documents})
    rust = RustLexical(cases)
    service = SearchService(rust.search, index)
    service.update(documents)
    assert service.wait_for_vectors(60) and service.progress().embedded == 0
    stand_in = [[chunk_id for chunk_id, _ in bm25.search(query, 50)] for query in queries]

    lexical_lists, vector_lists, cosine_extras, shipped, latencies = [], [], [], [], {"lexical": [], "vector": [], "hybrid": []}
    for query in queries:
        moment = time.perf_counter()
        lexical = rust.search(query, 50)
        latencies["lexical"].append(time.perf_counter() - moment)
        moment = time.perf_counter()
        vector, extra = index.query_and_score(query, 50, [chunk_id for chunk_id, _ in lexical])
        latencies["vector"].append(time.perf_counter() - moment)
        index._query_vectors.clear()  # time the query's embedding in hybrid search too
        moment = time.perf_counter()
        result = service.search(query, limit=CUTOFF, mode="hybrid")
        latencies["hybrid"].append(time.perf_counter() - moment)
        lexical_lists.append(lexical)
        vector_lists.append(vector)
        cosine_extras.append(extra)
        shipped.append([hit.chunk_id for hit in result.hits])

    def ids(hits):
        return [hit.chunk_id for hit in hits]

    rows = {
        "lexical (Rust tantivy index)": [[chunk_id for chunk_id, _ in ranking] for ranking in lexical_lists],
        "lexical (python BM25 stand-in, replaced)": stand_in,
        "vector (MiniLM)": [[chunk_id for chunk_id, _ in ranking] for ranking in vector_lists],
        "hybrid (SearchService, shipped)": shipped,
    }
    rows.update(server_fusion_rows(embedder, cache, documents, queries))
    sweep: dict[str, list[list[str]]] = {}
    for weight in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7):
        sweep[f"convex w={weight}"] = [
            ids(convex_fusion(lexical, vector, weight, extra))
            for lexical, vector, extra in zip(lexical_lists, vector_lists, cosine_extras, strict=True)
        ]
        sweep[f"convex w={weight}, top lists only"] = [
            ids(convex_fusion(lexical, vector, weight)) for lexical, vector in zip(lexical_lists, vector_lists, strict=True)
        ]
    for weight in (0.5, 0.3, 0.2):
        sweep[f"rrf w={weight}"] = [
            ids(reciprocal_rank_fusion(lexical, vector, weight)) for lexical, vector in zip(lexical_lists, vector_lists, strict=True)
        ]

    results = {name: metrics(rankings, relevant) for name, rankings in rows.items()}
    even = list(range(0, len(cases), 2))
    odd = list(range(1, len(cases), 2))
    sweep_results = {}
    for name, rankings in sweep.items():
        sweep_results[name] = {
            "all": metrics(rankings, relevant),
            "even": metrics([rankings[i] for i in even], [relevant[i] for i in even]),
            "odd": metrics([rankings[i] for i in odd], [relevant[i] for i in odd]),
        }
    chosen = max(sweep_results, key=lambda name: sweep_results[name]["even"]["mrr@10"])
    shapes = identifier_sets(cases, rust, index, service, documents)

    # Latency at a Django-sized index: random unit vectors as extra points (they do not change the
    # answers' cost, only the number of points scanned).
    rng = np.random.default_rng(seed)
    filler = rng.standard_normal((distractors, embedder.dimensions)).astype(np.float32)
    filler /= np.linalg.norm(filler, axis=1, keepdims=True)
    index._add([(Document(f"distractor-{row}", f"distractor-{row}", ""), vector) for row, vector in enumerate(filler)])
    large = {"vector": [], "hybrid": []}
    for query in queries[:200]:
        index._query_vectors.clear()
        moment = time.perf_counter()
        index.query(query, CUTOFF)
        large["vector"].append(time.perf_counter() - moment)
        index._query_vectors.clear()
        moment = time.perf_counter()
        service.search(query, limit=CUTOFF, mode="hybrid")
        large["hybrid"].append(time.perf_counter() - moment)

    return {
        "corpus": f"CPython {platform.python_version()} standard library at {STDLIB}",
        "functions": len(cases),
        "seed": seed,
        "results": results,
        "sweep": sweep_results,
        "chosen_on_even": {"fusion": chosen, "odd": sweep_results[chosen]["odd"]},
        "lexical_index": {"documents": rust.documents, "build_seconds": rust.build_seconds},
        "identifier_queries": shapes,
        "embedding": {
            "model": embedder.model_id,
            "blas_threads": threads,
            "embedded": embedded,
            "from_cache": len(cases) - embedded,
            "seconds": embed_seconds,
            "ms_per_chunk": 1000 * embed_seconds / embedded if embedded else None,
            "mean_tokens_per_chunk": statistics.fmean(tokens),
            "truncated_share": sum(count >= 256 for count in tokens) / len(tokens),
        },
        "query_ms": {mode: quantiles_ms(values) for mode, values in latencies.items()},
        "query_ms_at_size": {"points": len(index), **{mode: quantiles_ms(values) for mode, values in large.items()}},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average": os.getloadavg()[0],
    }


def server_fusion_rows(embedder, cache, documents, queries) -> dict[str, list[list[str]]]:  # noqa: ANN001
    """Hybrid search as a Qdrant server answers it (`qdrant_url`): dense and sparse lexical vectors
    in one collection, both rankings prefetched and fused by the server in one request, for each
    `server_fusion`. A local-mode client that outlives the index stands in for the server (the
    same Query API; the vectors come from the cache, nothing is embedded again)."""
    import warnings

    from qdrant_client import QdrantClient

    from flowsight.search import SearchService
    from flowsight.search.vector_index import VectorIndex

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode warns that payload indexes do nothing there
        index = VectorIndex(embedder, cache, client=QdrantClient(location=":memory:"), persistent=True)
    index.upsert(documents)
    service = SearchService(None, index)
    service.update(documents)
    rows = {}
    for fusion in ("weighted", "dbsf", "rrf"):
        index.server_fusion = fusion
        rows[f"hybrid (Qdrant server fusion: {fusion})"] = [
            [hit.chunk_id for hit in service.search(query, limit=CUTOFF, mode="hybrid").hits] for query in queries
        ]
    return rows


WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


def identifier_sets(cases: list[Case], rust: RustLexical, index, service, documents) -> dict:  # noqa: ANN001
    """Lexical, vector and hybrid (shipped, and convex at each weight with the identifier boost as
    shipped) on the identifier-shaped query sets; weights chosen on even queries, reported on odd."""
    from flowsight.search.fusion import boost_identifiers, convex_fusion

    qualified = {document.chunk_id: document.qualified_name for document in documents}
    exact, other = identifier_cases(cases)
    results = {}
    for label, pairs in (("identifier as written", exact), ("identifier respelled", other)):
        queries = [query for query, _ in pairs]
        relevant = [chunk_id for _, chunk_id in pairs]
        lexical_lists, vector_lists, extras, shipped = [], [], [], []
        for query in queries:
            lexical = rust.search(query, 50)
            vector, extra = index.query_and_score(query, 50, [chunk_id for chunk_id, _ in lexical])
            lexical_lists.append(lexical)
            vector_lists.append(vector)
            extras.append(extra)
            shipped.append([hit.chunk_id for hit in service.search(query, limit=CUTOFF, mode="hybrid").hits])
        rows = {
            "lexical (Rust tantivy index)": [[chunk_id for chunk_id, _ in ranking] for ranking in lexical_lists],
            "vector (MiniLM)": [[chunk_id for chunk_id, _ in ranking] for ranking in vector_lists],
            "hybrid (SearchService, shipped)": shipped,
        }
        sweep = {}
        for weight in WEIGHTS:
            rankings = [
                [hit.chunk_id for hit in boost_identifiers(convex_fusion(lexical, vector, weight, extra), query, qualified.get)]
                for query, lexical, vector, extra in zip(queries, lexical_lists, vector_lists, extras, strict=True)
            ]
            even, odd = range(0, len(queries), 2), range(1, len(queries), 2)
            sweep[f"convex w={weight} + boost"] = {
                "all": metrics(rankings, relevant),
                "even": metrics([rankings[i] for i in even], [relevant[i] for i in even]),
                "odd": metrics([rankings[i] for i in odd], [relevant[i] for i in odd]),
            }
        chosen = max(sweep, key=lambda name: sweep[name]["even"]["mrr@10"])
        results[label] = {
            "queries": len(queries),
            "examples": queries[:6],
            "results": {name: metrics(rankings, relevant) for name, rankings in rows.items()},
            "sweep": sweep,
            "chosen_on_even": {"fusion": chosen, "odd": sweep[chosen]["odd"]},
        }
    return results


def report(result: dict) -> None:
    rows = [("ranking", "MRR@10", "nDCG@10", "Recall@10", "Recall@1")]
    for name, values in result["results"].items():
        rows.append((name, *(f"{values[key]:.3f}" for key in ("mrr@10", "ndcg@10", "recall@10", "recall@1"))))
    print(table(rows))
    print("\nfusion sweep (MRR@10: all / even queries / odd queries)")
    sweep_rows = [("fusion", "all", "even", "odd")]
    for name, values in result["sweep"].items():
        sweep_rows.append((name, *(f"{values[part]['mrr@10']:.3f}" for part in ("all", "even", "odd"))))
    print(table(sweep_rows))
    chosen = result["chosen_on_even"]
    print(f"\nbest on the even queries: {chosen['fusion']}, on the odd ones MRR@10 {chosen['odd']['mrr@10']:.3f}")
    embedding = result["embedding"]
    speed = f"{embedding['ms_per_chunk']:.0f} ms a chunk" if embedding["ms_per_chunk"] else "all from the cache"
    print(
        f"embedding: {speed} ({embedding['blas_threads']} BLAS thread, "
        f"{embedding['mean_tokens_per_chunk']:.0f} tokens on average, {100 * embedding['truncated_share']:.0f} % cut at 256); "
        f"load average {result['load_average']:.1f}"
    )
    print(
        "query ms p50/p95: " + ", ".join(f"{mode} {values['p50']:.1f}/{values['p95']:.1f}" for mode, values in result["query_ms"].items())
    )
    size = result["query_ms_at_size"]
    latency = ", ".join(f"{mode} {size[mode]['p50']:.1f}/{size[mode]['p95']:.1f}" for mode in ("vector", "hybrid"))
    print(f"at {size['points']} points, query ms p50/p95: {latency}")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")
    for label, shape in result["identifier_queries"].items():
        print(f"\n{label}: {shape['queries']} queries, e.g. {', '.join(shape['examples'][:4])}")
        rows = [("ranking", "MRR@10", "nDCG@10", "Recall@10", "Recall@1")]
        for name, values in shape["results"].items():
            rows.append((name, *(f"{values[key]:.3f}" for key in ("mrr@10", "ndcg@10", "recall@10", "recall@1"))))
        print(table(rows))
        sweep_rows = [("fusion", "all", "even", "odd")]
        for name, values in shape["sweep"].items():
            sweep_rows.append((name, *(f"{values[part]['mrr@10']:.3f}" for part in ("all", "even", "odd"))))
        print(table(sweep_rows))
        chosen = shape["chosen_on_even"]
        print(f"best on the even queries: {chosen['fusion']}, on the odd ones MRR@10 {chosen['odd']['mrr@10']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=1000, help="functions (queries and documents)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of the embedder")
    parser.add_argument(
        "--cache", help="an embedding cache directory (a second run embeds nothing); default: none, every chunk is embedded"
    )
    parser.add_argument("--distractors", type=int, default=15_000, help="extra random points for the latency measurement")
    args = parser.parse_args()
    result = run(args.sample, args.seed, args.threads, args.cache, args.distractors)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    report(result)
    results_directory = BENCH / "results"
    results_directory.mkdir(exist_ok=True)
    path = results_directory / "search-quality.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
