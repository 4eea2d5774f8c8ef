"""Retrieval quality of code search on a real repository's history: commit subject → changed files
(`python bench/commit_search.py [--repository DIR]`, default: this repository).

Each non-merge commit that changed between 1 and `--max-files` Python files still present at HEAD
is a case: its subject line is the query, those files are the relevant answers. The index is the
repository's Python files at HEAD (what `git ls-files '*.py'` lists), chunked by flowsight; a
ranking of chunks becomes a ranking of files by each file's best chunk. The chunker reads Python
only, so changed `.rs` (or other) files are not scored, and commits that changed no Python file are
left out. The code at HEAD includes every commit's change (and later ones), as a search user sees it.

Rankings:
  lexical   the Rust tantivy index (`Workspace.search`)
  vector    the bundled all-MiniLM-L6-v2 in a Qdrant local-mode `VectorIndex`
  hybrid    `SearchService` in hybrid mode (what flowsight ships: convex fusion, identifier boost, dedup)
  and a sweep of the convex fusion's lexical weight over the two top-50 lists (0.1 ships, chosen on
  natural-language queries; commit subjects name identifiers and files more often)

Reports MRR@10, nDCG@10 (binary gains), Recall@10 (share of a commit's files in the top 10) and
query latency. Prints a table and writes `bench/results/commit-search.json`. Embeddings are cached
(`--cache`, default flowsight's own cache directory), so a second run embeds only what changed.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from run import percentile, table, write_results  # bench/run.py: the suites' shared helpers

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
sys.path.insert(0, str(REPOSITORY))

CUTOFF = 10
CHUNKS_PER_QUERY = 300  # chunk rankings are this long before they become file rankings
SWEEP = (0.1, 0.3, 0.5, 0.7, 0.9)  # lexical weights of the convex fusion (0.1 ships), top-50 lists, no boost or dedup


@dataclass(frozen=True)
class Case:
    commit: str
    subject: str
    files: frozenset[str]


def git(repository: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *arguments], check=True, capture_output=True, text=True).stdout


def build_cases(repository: Path, indexed: set[str], max_files: int) -> tuple[list[Case], int]:
    """The commits that changed Python files present at HEAD, and how many commits there are."""
    log = git(repository, "log", "--no-merges", "--format=%x00%H%x01%s", "--name-only")
    cases, commits = [], 0
    for entry in log.split("\0")[1:]:
        header, _, names = entry.partition("\n")
        commit, _, subject = header.partition("\x01")
        commits += 1
        files = frozenset(name for name in names.split("\n") if name in indexed)
        if 1 <= len(files) <= max_files and subject.strip():
            cases.append(Case(commit, subject.strip(), files))
    return cases, commits


def file_ranking(chunk_ids: list[str], path_of: dict[str, str]) -> list[str]:
    """Files in the order of their best chunk."""
    return list(dict.fromkeys(path_of[chunk_id] for chunk_id in chunk_ids if chunk_id in path_of))


def metrics(rankings: list[list[str]], relevant: list[frozenset[str]]) -> dict[str, float]:
    reciprocal, gains, recalls = [], [], []
    for ranking, answers in zip(rankings, relevant, strict=True):
        top = ranking[:CUTOFF]
        ranks = [rank for rank, path in enumerate(top, start=1) if path in answers]
        reciprocal.append(1 / ranks[0] if ranks else 0.0)
        ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(answers), CUTOFF) + 1))
        gains.append(sum(1 / math.log2(rank + 1) for rank in ranks) / ideal)
        recalls.append(len(ranks) / len(answers))
    return {"mrr@10": statistics.fmean(reciprocal), "ndcg@10": statistics.fmean(gains), "recall@10": statistics.fmean(recalls)}


def run(repository: Path, max_files: int, cache_dir: str | None, threads: int) -> dict:
    import flowsight
    from flowsight.search import SearchService, documents_from_chunks
    from flowsight.search.cache import EmbeddingCache
    from flowsight.search.fusion import convex_fusion
    from flowsight.search.minilm import MiniLMEmbedder
    from flowsight.search.vector_index import VectorIndex

    files = [name for name in git(repository, "ls-files", "*.py").splitlines() if (repository / name).is_file()]
    workspace = flowsight.Workspace(str(repository))
    started = time.perf_counter()
    workspace.load_files([str(repository / name) for name in files])
    chunks = [chunk for key in workspace.files() for chunk in workspace.chunks(key)]
    path_of = {chunk.id: chunk.path for chunk in chunks}
    workspace.build_search_index()
    index_seconds = time.perf_counter() - started
    cases, commits = build_cases(repository, set(workspace.files()), max_files)
    print(f"{len(cases)} of {commits} commits, {len(workspace.files())} Python files, {len(chunks)} chunks", flush=True)

    embedder = MiniLMEmbedder(threads=threads)
    cache = EmbeddingCache(cache_dir) if cache_dir else EmbeddingCache()
    vectors = VectorIndex(embedder, cache)
    documents = documents_from_chunks(chunks, workspace.text)
    started = time.perf_counter()
    embedded = vectors.upsert(
        [document for document in documents if document.embedded],
        progress=lambda done, total: print(f"\rembedded {done}/{total}", end="", flush=True),
        batch=64,
    )
    embed_seconds = time.perf_counter() - started
    print()
    service = SearchService(lambda query, count: workspace.search(query, count), vectors)
    service.update(documents)
    assert service.wait_for_vectors(600)

    rankings: dict[str, list[list[str]]] = {"lexical": [], "vector": [], "hybrid": []}
    latencies: dict[str, list[float]] = {mode: [] for mode in rankings}
    sweep: dict[str, list[list[str]]] = {f"convex w={weight}": [] for weight in SWEEP}
    for case in cases:
        lexical = [(hit.chunk_id, hit.score) for hit in workspace.search(case.subject, 50)]
        vector, cosines = vectors.query_and_score(case.subject, 50, [chunk_id for chunk_id, _ in lexical])
        for weight in SWEEP:
            fused = convex_fusion(lexical, vector, weight, cosines)
            sweep[f"convex w={weight}"].append(file_ranking([hit.chunk_id for hit in fused], path_of))
        for mode in rankings:
            moment = time.perf_counter()
            if mode == "lexical":
                ids = [hit.chunk_id for hit in workspace.search(case.subject, CHUNKS_PER_QUERY)]
            else:
                ids = [hit.chunk_id for hit in service.search(case.subject, CHUNKS_PER_QUERY, mode).hits]
            latencies[mode].append(time.perf_counter() - moment)
            rankings[mode].append(file_ranking(ids, path_of))
    relevant = [case.files for case in cases]
    service.close()
    return {
        "corpus": f"{repository.name} at {git(repository, 'rev-parse', '--short', 'HEAD').strip()}: commit subject → changed Python files",
        "commits": commits,
        "cases": len(cases),
        "files": len(workspace.files()),
        "chunks": len(chunks),
        "mean_relevant_files": statistics.fmean(len(case.files) for case in cases),
        "results": {mode: metrics(ranking, relevant) for mode, ranking in rankings.items()},
        "fusion_sweep": {name: metrics(ranking, relevant) for name, ranking in sweep.items()},
        "query_ms": {
            mode: {"p50": 1000 * percentile(values, 0.5), "p95": 1000 * percentile(values, 0.95)} for mode, values in latencies.items()
        },
        "index_seconds": index_seconds,
        "embedding": {"model": embedder.model_id, "embedded": embedded, "seconds": embed_seconds},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average": os.getloadavg()[0],
        "examples": [
            {"subject": case.subject, "files": sorted(case.files), "hybrid_top3": rankings["hybrid"][number][:3]}
            for number, case in enumerate(cases[:5])
        ],
    }


def report(result: dict) -> None:
    print(
        f"{result['corpus']}: {result['cases']} of {result['commits']} commits, {result['mean_relevant_files']:.1f} files each on average, "
        f"{result['files']} files / {result['chunks']} chunks indexed"
    )
    rows = [("ranking", "MRR@10", "nDCG@10", "Recall@10", "query ms p50", "p95")]
    for mode, values in result["results"].items():
        latency = result["query_ms"][mode]
        rows.append(
            (mode, *(f"{values[key]:.3f}" for key in ("mrr@10", "ndcg@10", "recall@10")), f"{latency['p50']:.1f}", f"{latency['p95']:.1f}")
        )
    print(table(rows))
    print("\nconvex fusion by lexical weight (top-50 lists, without the identifier boost and dedup)")
    sweep_rows = [("fusion", "MRR@10", "nDCG@10", "Recall@10")]
    for name, values in result["fusion_sweep"].items():
        sweep_rows.append((name, *(f"{values[key]:.3f}" for key in ("mrr@10", "ndcg@10", "recall@10"))))
    print(table(sweep_rows))
    embedding = result["embedding"]
    print(f"embedded {embedding['embedded']} chunks in {embedding['seconds']:.0f} s (the rest from the cache)")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", type=Path, default=REPOSITORY, help="a git repository (default: this one)")
    parser.add_argument("--max-files", type=int, default=10, help="commits changing more Python files are left out")
    parser.add_argument("--cache", help="embedding cache directory (default: flowsight's, ~/.cache/flowsight/embeddings)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of the embedder")
    args = parser.parse_args()
    result = run(args.repository.resolve(), args.max_files, args.cache, args.threads)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    report(result)
    write_results("commit-search", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
