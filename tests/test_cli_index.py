"""`flowsight index`: summary in text and JSON, per-file errors, usage errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"


def flowsight(*args: str, cwd: Path = REPOSITORY_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_json_summary_of_the_example() -> None:
    proc = flowsight("index", str(EXAMPLE), "--json", "--chunks")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["repository"] == "vulnerable_app"
    assert report["files"] == 5 and report["errors"] == []
    assert report["chunks"] == len(report["chunk_list"]) - 1  # the repository chunk is not counted
    assert report["chunks_by_kind"]["module"] == 5
    names = {chunk["qualified_name"] for chunk in report["chunk_list"]}
    assert {"shop.views.search", "shop.db.find_products", "shop"} <= names
    assert report["wall_seconds"] > 0
    assert report["parse_work_seconds"] >= 0 and report["chunk_work_seconds"] >= 0


def test_text_summary_lists_per_file_errors(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("def ok():\n    pass\n")
    (tmp_path / "broken.py").write_text("def broken(:\n")
    os.symlink(tmp_path / "gone.py", tmp_path / "link.py")
    proc = flowsight("index", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "indexed 3 files" in proc.stdout
    assert "broken.py: line 1, column" in proc.stdout and "[syntax]" in proc.stdout
    assert "link.py: broken symbolic link" in proc.stdout


def test_usage_errors_exit_2() -> None:
    missing = flowsight("index", "does/not/exist")
    assert missing.returncode == 2 and "no such file or directory: does/not/exist" in missing.stderr
    chunks_alone = flowsight("index", str(EXAMPLE), "--chunks")
    assert chunks_alone.returncode == 2 and "--chunks needs --json" in chunks_alone.stderr
    bad_root = flowsight("index", str(EXAMPLE), "--root", str(EXAMPLE / "README.md"))
    assert bad_root.returncode == 2 and "--root is not a directory" in bad_root.stderr
    no_command = flowsight()
    assert no_command.returncode == 2 and "COMMAND" in no_command.stderr
    unknown = flowsight("index", str(EXAMPLE), "--frobnicate")
    assert unknown.returncode == 2 and "unrecognized arguments: --frobnicate" in unknown.stderr
