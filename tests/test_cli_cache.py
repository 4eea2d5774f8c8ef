"""`flowsight scan`'s persistent cache: a repeated scan reports what a scan without cache
reports (after edits, additions and removals too), a broken cache is rebuilt with one line on
stderr, and `--cache-dir`, `--no-cache` and `[tool.flowsight] cache` choose where it lives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY_ROOT
from flowsight.cache import DIRECTORY_NAME, cache_dir, user_cache_dir
from flowsight.config import ProjectConfig

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"


def flowsight(*args: str, cwd: Path = REPOSITORY_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "app"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(DIRECTORY_NAME))
    return copy


def scan(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return flowsight("scan", str(project), "--format", "json", *extra)


def assert_same_as_without_cache(project: Path) -> subprocess.CompletedProcess[str]:
    cached = scan(project)
    fresh = scan(project, "--no-cache")
    assert cached.returncode == fresh.returncode, cached.stderr
    assert json.loads(cached.stdout) == json.loads(fresh.stdout)
    return cached


def test_a_repeated_scan_uses_the_cache_and_reports_the_same(project: Path) -> None:
    first = assert_same_as_without_cache(project)
    assert first.stderr == ""
    assert (project / DIRECTORY_NAME / "analysis.bin").is_file()
    assert (project / DIRECTORY_NAME / ".gitignore").read_text() == "*\n"
    second = assert_same_as_without_cache(project)
    assert second.stderr == "" and json.loads(second.stdout)["findings"]


def test_edits_additions_and_removals_between_scans(project: Path) -> None:
    assert_same_as_without_cache(project)
    views = project / "shop" / "views.py"
    views.write_text("# moved down\n\n" + views.read_text())
    assert_same_as_without_cache(project)
    (project / "shop" / "extra.py").write_text("import os\nfrom flask import request\n\n\ndef run():\n    os.system(request.args['c'])\n")
    report = json.loads(assert_same_as_without_cache(project).stdout)
    assert any(finding["sink"]["path"] == "shop/extra.py" for finding in report["findings"])
    (project / "shop" / "extra.py").unlink()
    report = json.loads(assert_same_as_without_cache(project).stdout)
    assert not any(finding["sink"]["path"] == "shop/extra.py" for finding in report["findings"])


@pytest.mark.parametrize("damage", ["random", "truncated", "empty"])
def test_a_broken_cache_is_rebuilt_with_one_line_on_stderr(project: Path, damage: str) -> None:
    assert_same_as_without_cache(project)
    cache_file = project / DIRECTORY_NAME / "analysis.bin"
    good = cache_file.read_bytes()
    cache_file.write_bytes({"random": os.urandom(2048), "truncated": good[: len(good) // 2], "empty": b""}[damage])
    rebuilt = assert_same_as_without_cache(project)
    lines = rebuilt.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("flowsight: cache: ") and lines[0].endswith("; rebuilt"), rebuilt.stderr
    assert assert_same_as_without_cache(project).stderr == ""


def test_cache_dir_and_no_cache(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    assert scan(project, "--cache-dir", str(elsewhere)).returncode == 1
    assert (elsewhere / "analysis.bin").is_file() and not (project / DIRECTORY_NAME).exists()
    assert scan(project, "--no-cache").returncode == 1
    assert not (project / DIRECTORY_NAME).exists()


def test_pyproject_cache_setting(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.flowsight]\ncache = false\n")
    assert_same_as_without_cache(project)
    assert not (project / DIRECTORY_NAME).exists()
    (project / "pyproject.toml").write_text('[tool.flowsight]\ncache = "build/cache"\n')
    assert_same_as_without_cache(project)
    assert (project / "build" / "cache" / "analysis.bin").is_file()
    (project / "pyproject.toml").write_text("[tool.flowsight]\ncache = 3\n")
    proc = scan(project)
    assert proc.returncode == 2 and "tool.flowsight.cache must be a directory path string or false" in proc.stderr


def test_an_unwritable_root_uses_the_user_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("flowsight.cache.writable_directory", lambda directory: False)
    root = tmp_path / "project"
    chosen = cache_dir(root, ProjectConfig())
    assert chosen == user_cache_dir(root) and chosen.is_relative_to(tmp_path / "xdg" / "flowsight" / "projects")
    assert user_cache_dir(root) != user_cache_dir(tmp_path / "other" / "project")
    monkeypatch.setattr("flowsight.cache.writable_directory", lambda directory: True)
    assert cache_dir(root, ProjectConfig()) == root / DIRECTORY_NAME
