"""The search index on disk (`.flowsight-cache/search/`), end to end: `flowsight search` run twice
reopens the index the first run wrote (nothing indexed again) and answers the same; files edited,
added or deleted between runs are re-indexed or gone; a damaged index is rebuilt; a restarted
server answers `flowsight/search` as before from the reopened index; a process killed with
SIGKILL while writing leaves an index that is used correctly or rebuilt; the embedding cache
lives in the same cache directory."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import flowsight
from conftest import REPOSITORY_ROOT
from flowsight.cache import DIRECTORY_NAME
from robustness.pipe import PipeServer

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
QUERIES = ["find_products", "read invoice", "compress", "run report command", "render template", "request args"]


def flowsight_cli(*args: str, cwd: Path = REPOSITORY_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=180)


def copy_example(tmp_path: Path) -> Path:
    project = tmp_path / "app"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(DIRECTORY_NAME))
    return project


def search_json(project: Path, *extra: str, limit: int = 20) -> tuple[list[dict], dict[str, str]]:
    """Every query's results (JSON), and the `--stats` line and stderr."""
    queries = project.parent / "queries.txt"
    queries.write_text("\n".join(QUERIES) + "\n")
    proc = flowsight_cli("search", "--queries", str(queries), str(project), "--format", "json", "--limit", str(limit), "--stats", *extra)
    assert proc.returncode == 0, proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if "search index:" in line]
    return json.loads(proc.stdout), {"line": line, "stderr": proc.stderr}


def counts(stats_line: str) -> dict[str, int]:
    """`indexed 12, reused 30, files refreshed 1` → numbers by word."""
    words = stats_line.replace(",", " ").replace(";", " ").split()
    return {word: int(words[at + 1]) for at, word in enumerate(words[:-1]) if words[at + 1].isdigit()}


def test_a_second_cli_run_reopens_the_index_and_answers_the_same(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    first, stats = search_json(project)
    assert " built in " in stats["line"], stats["line"]
    assert (project / DIRECTORY_NAME / "search" / "manifest.bin").is_file()
    built = counts(stats["line"])
    assert built["indexed"] > 0 and built["reused"] == 0

    second, stats = search_json(project)
    assert second == first
    assert " reopened in " in stats["line"], stats["line"]
    again = counts(stats["line"])
    assert again["indexed"] == 0 and again["reused"] == built["indexed"] and again["refreshed"] == 0, stats["line"]
    assert again["written"] == 0, "nothing changed: nothing written"

    # What a run without the cache answers is the truth.
    uncached, stats = search_json(project, "--no-cache")
    assert uncached == first and " built in " in stats["line"]


def test_edits_and_deletions_between_runs_are_reindexed_or_gone(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    search_json(project)
    (project / "shop" / "ledger.py").write_text("def export_ledger_rows(path):\n    return open(path).read()\n")
    files = project / "shop" / "files.py"
    files.write_text(files.read_text().replace("def read_invoice(", "def read_invoice_pdf("))
    (project / "shop" / "db.py").unlink()

    # Every match (scores count deleted documents until segments merge, so compare sets).
    results, stats = search_json(project, limit=10_000)
    refreshed = counts(stats["line"])
    assert " reopened in " in stats["line"] and refreshed["refreshed"] == 3, stats["line"]
    assert 0 < refreshed["indexed"] < refreshed["reused"], stats["line"]
    names = {result["qualified_name"] for entry in results for result in entry["results"]}
    assert "shop.files.read_invoice_pdf" in names and "shop.files.read_invoice" not in names
    assert not any(name.startswith("shop.db.") for name in names), "db.py was deleted"
    uncached, _ = search_json(project, "--no-cache", limit=10_000)
    assert [sorted(r["chunk_id"] for r in entry["results"]) for entry in results] == [
        sorted(r["chunk_id"] for r in entry["results"]) for entry in uncached
    ]
    proc = flowsight_cli("search", "export_ledger_rows", str(project), "--format", "json")
    assert json.loads(proc.stdout)["results"][0]["qualified_name"] == "shop.ledger.export_ledger_rows"


def test_a_damaged_index_is_rebuilt(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    first, _ = search_json(project)
    store = project / DIRECTORY_NAME / "search"
    segment = max((path for path in store.iterdir() if path.name not in ("manifest.bin", "lock")), key=lambda path: path.stat().st_size)
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x5A
    segment.write_bytes(bytes(data))

    results, stats = search_json(project)
    assert results == first
    assert " built in " in stats["line"] and "damaged; rebuilt" in stats["stderr"], stats["stderr"]
    # The rebuilt index was written back and is reopened next time.
    _, stats = search_json(project)
    assert " reopened in " in stats["line"]


def test_the_embedding_cache_lives_in_the_project_cache_directory(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "billing.py").write_text('def charge_card(card, amount):\n    """Charge the card."""\n    return card.charge(amount)\n')
    proc = flowsight_cli("search", "take money from a card", str(project), "--mode", "hybrid", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["qualified_name"] == "billing.charge_card"
    cache = project / DIRECTORY_NAME
    assert sorted(path.name for path in cache.iterdir() if not path.name.startswith(".")) == [
        "analysis.bin",
        "embeddings.sqlite3",
        "published.bin",
        "search",
    ]
    # --no-cache writes nothing anywhere in the project.
    shutil.rmtree(cache)
    proc = flowsight_cli("search", "take money from a card", str(project), "--mode", "hybrid", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert not cache.exists()


def server_search(server: PipeServer, query: str) -> list[dict]:
    answer = server.call("flowsight/search", {"query": query, "limit": 20, "mode": "lexical"}, timeout=60)
    assert "result" in answer, answer
    return [{key: item[key] for key in ("uri", "range", "qualifiedName", "chunkId", "score")} for item in answer["result"]["results"]]


def ready(server: PipeServer, files: int) -> dict:
    """Waits until the server has indexed the folder and analysed it once (the cache directory is
    known from then on); returns the status."""
    deadline = time.monotonic() + 60
    while True:
        status = server.call("flowsight/status", {})["result"]
        if [folder["files"] for folder in status["folders"]] == [files] and status["analyses"] >= 1:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_a_restarted_server_answers_the_same_from_the_reopened_index(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    files = len(flowsight.walk_files([str(project)]).files)
    manifest = project / DIRECTORY_NAME / "search" / "manifest.bin"
    first = PipeServer(project)
    try:
        first.initialize(project)
        ready(first, files)
        before = {query: server_search(first, query) for query in QUERIES}
        assert all(before.values())
        deadline = time.monotonic() + 30
        while not manifest.is_file():  # written in the background once things pause
            assert time.monotonic() < deadline, "the server did not write its search index"
            time.sleep(0.1)
        status = first.call("flowsight/status", {})["result"]
        [index] = status["searchIndex"]
        assert not index["reopened"] and index["indexed"] == index["documents"] > 0
        first.call("shutdown")
        first.notify("exit")
        assert first.wait() == 0
    finally:
        first.close()

    second = PipeServer(project)
    try:
        second.initialize(project)
        ready(second, files)
        after = {query: server_search(second, query) for query in QUERIES}
        assert after == before
        [index] = second.call("flowsight/status", {})["result"]["searchIndex"]
        assert index["reopened"] and index["indexed"] == 0 and index["reused"] == index["documents"] > 0, index
    finally:
        second.close()


WRITER = textwrap.dedent(
    """
    import sys
    import flowsight

    root, cache = sys.argv[1], sys.argv[2]
    workspace = flowsight.Workspace(root)
    workspace.load_files([str(path) for path in flowsight.walk_files([root]).files])
    workspace.set_cache_dir(cache)
    workspace.build_search_index()
    for round in range(100_000):
        body = "".join(f"def generated_{round}_{i}(request):\\n    return {i}\\n\\n" for i in range(200))
        workspace.update_file(f"generated_{round % 3}.py", body)
        workspace.search("generated", 5)
        workspace.persist_search_index()
        print(round, flush=True)
    """
)


def test_a_write_killed_at_any_moment_leaves_an_index_used_correctly_or_rebuilt(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    cache = tmp_path / "cache"
    fresh = flowsight.Workspace(str(project))
    fresh.load_files([str(path) for path in flowsight.walk_files([str(project)]).files])
    expected = {query: sorted(hit.chunk_id for hit in fresh.search(query, 10_000)) for query in QUERIES}
    chance = random.Random(12)
    outcomes = []
    for attempt in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(project), str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert writer.stdout is not None
            for _ in range(1 + attempt % 3):
                assert writer.stdout.readline(), writer.stderr.read() if writer.stderr else ""
            time.sleep(chance.uniform(0.0, 0.05))  # somewhere inside a later round's write
            writer.send_signal(signal.SIGKILL)
        finally:
            writer.wait(30)
            for stream in (writer.stdout, writer.stderr):
                if stream is not None:
                    stream.close()
        reader = flowsight.Workspace(str(project))
        reader.load_files([str(path) for path in flowsight.walk_files([str(project)]).files])
        reader.set_cache_dir(str(cache))
        found = {query: sorted(hit.chunk_id for hit in reader.search(query, 10_000)) for query in QUERIES}
        assert found == expected
        stats = reader.search_index_stats()
        # The generated files are not on disk: a reopened index drops their documents.
        assert stats["reopened"] or "rebuilt" in (stats["notice"] or ""), stats
        outcomes.append(stats["reopened"])
    assert any(outcomes), "at least one killed writer left an index that was reopened"
