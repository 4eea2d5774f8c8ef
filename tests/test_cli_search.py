"""`flowsight search`: text and JSON output, `--queries` batches, usage errors (exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
RESULT_KEYS = ["path", "start_line", "end_line", "qualified_name", "kind", "chunk_id", "score", "findings", "reaches", "reads_input"]


def flowsight(*args: str, cwd: Path = REPOSITORY_ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=120, input=stdin)


def test_text_output_shows_places_and_headers() -> None:
    proc = flowsight("search", "find_products", str(EXAMPLE), "--limit", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("shop/db.py:") and "  function  shop.db.find_products  " in lines[0]
    assert lines[0].endswith("  [1 finding; reaches sql-injection]")  # what the analysis knows
    assert lines[1] == "    def find_products(term):"
    assert len([line for line in lines if not line.startswith("    ")]) == 3


def test_json_output_of_one_query() -> None:
    proc = flowsight("search", "read invoice", str(EXAMPLE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["query"] == "read invoice"
    results = document["results"]
    assert [list(result) for result in results] == [RESULT_KEYS] * len(results)
    assert results[0]["qualified_name"] == "shop.files.read_invoice"
    assert "shop.files.read_invoice_safely" in [r["qualified_name"] for r in results[:3]]
    first = results[0]
    assert first["path"] == "shop/files.py" and first["kind"] == "function" and 1 <= first["start_line"] <= first["end_line"]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_queries_file_gives_one_entry_per_line(tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("find_products\n\n  compress  \nno_such_identifier_anywhere\n")
    proc = flowsight("search", "--queries", str(queries), str(EXAMPLE), "--format", "json", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert [entry["query"] for entry in document] == ["find_products", "compress", "no_such_identifier_anywhere"]
    assert document[0]["results"][0]["qualified_name"] == "shop.db.find_products"
    assert document[1]["results"][0]["qualified_name"] == "shop.files.compress"
    assert all(len(entry["results"]) <= 2 for entry in document) and document[2]["results"] == []
    # Text: a heading per query; stdin as the file.
    proc = flowsight("search", "--queries", "-", str(EXAMPLE), stdin="compress\nno_such_identifier_anywhere\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "== compress"
    assert proc.stdout.rstrip().endswith("== no_such_identifier_anywhere\n(no results)")


def test_paths_default_to_the_current_directory() -> None:
    proc = flowsight("search", "connect", "--format", "json", "--limit", "1", cwd=EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["qualified_name"] == "shop.db.connect"


def test_results_carry_what_the_analysis_knows() -> None:
    proc = flowsight("search", "invoice", str(EXAMPLE), "--format", "json", "--limit", "20")
    assert proc.returncode == 0, proc.stderr
    facts = {r["qualified_name"]: (r["findings"], r["reaches"], r["reads_input"]) for r in json.loads(proc.stdout)["results"]}
    # read_invoice holds the path-traversal sink; the route `invoice` reads the input that reaches it.
    assert facts["shop.files.read_invoice"] == (1, ["path-traversal"], False)
    assert facts["shop.views.invoice"] == (0, ["path-traversal"], True)
    assert facts["shop.files.read_invoice_safely"] == (0, [], False)
    assert facts["shop.views.invoice_safe"] == (0, [], False)


def test_filters_keep_only_chunks_on_a_taint_path() -> None:
    def names(query: str, *options: str) -> list[str]:
        proc = flowsight("search", query, str(EXAMPLE), *options, "--format", "json", "--limit", "50")
        assert proc.returncode == 0, proc.stderr
        results = json.loads(proc.stdout)["results"]
        return [r["qualified_name"] for r in results]

    everything = names("products")
    reaching = names("products", "--reaches", "sql-injection")
    assert reaching and set(reaching) < set(everything)
    assert set(reaching) == {"shop.db.find_products", "shop.views.search"}
    # Every chunk matching the query that reads input, however far down the unfiltered ranking.
    readers = names("request", "--reads-input")
    assert set(readers) == {
        "shop.views.archive",
        "shop.views.next_page",
        "shop.admin.admin_calc",
        "shop.views.search",
        "shop.views.hello",
        "shop.views.restore_cart",
    }
    assert readers == [name for name in names("request") if name in readers]  # in the same order
    assert names("products", "--reaches", "open-redirect") == []
    # Repeated --reaches: any of them; combined with --reads-input: both.
    assert set(names("invoice", "--reaches", "path-traversal", "--reaches", "sql-injection", "--reads-input")) == {"shop.views.invoice"}


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
def test_modes_with_embeddings_turned_off_answer_lexically_and_say_so(mode: str, tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(EXAMPLE, project)
    (project / "pyproject.toml").write_text('[tool.flowsight.search]\nembedder = "none"\n', encoding="utf-8")
    proc = flowsight("search", "connect", "--format", "json", "--limit", "1", "--mode", mode, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["qualified_name"] == "shop.db.connect"
    assert 'embeddings are off (embedder = "none")' in proc.stderr


def test_a_bad_search_setting_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.flowsight.search]\nembedder = "magic"\n', encoding="utf-8")
    (tmp_path / "m.py").write_text("def f():\n    pass\n", encoding="utf-8")
    proc = flowsight("search", "f", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "[tool.flowsight.search]" in proc.stderr and "embedder" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "a QUERY (or --queries FILE) is required"),
        (["x", "--limit", "0"], "--limit must be at least 1"),
        (["x", "no/such/dir"], "no such file or directory: no/such/dir"),
        (["--queries", "no/such/file.txt"], "--queries no/such/file.txt: cannot read: No such file or directory"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    proc = flowsight("search", *args)
    assert proc.returncode == 2
    assert proc.stderr == f"flowsight: error: {message}\n"
