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


def test_changing_threat_models_invalidates_the_cache(project: Path) -> None:
    """Threat models are part of the rules fingerprint in the cache's header: a scan with other
    models neither reuses the stored result nor the stored analysis."""
    import flowsight

    (project / "shop" / "tool.py").write_text("import os\nimport sys\n\n\ndef main():\n    os.system(sys.argv[1])\n")
    cache = project / DIRECTORY_NAME

    def models(report: dict) -> set[str | None]:
        return {finding.get("threat_model") for finding in report["findings"]}

    remote = json.loads(assert_same_as_without_cache(project).stdout)
    assert "local" not in models(remote)
    with_local = scan(project, "--threat-models", "remote,local")
    fresh = scan(project, "--threat-models", "remote,local", "--no-cache")
    assert with_local.stderr == "" and json.loads(with_local.stdout) == json.loads(fresh.stdout)
    assert "local" in models(json.loads(with_local.stdout))
    # Through the API: the cache of remote,local is not reused by remote alone, and is reused
    # by remote,local again.
    walked = flowsight.walk_files([str(project)])
    alone = flowsight.analyze_discovered(walked, threat_models=["remote"], cache_dir=str(cache))
    assert alone.cache["reused_scan"] is False and alone.stats["reused"] == 0 and alone.cache["notice"] is None
    assert {finding.threat_model for finding in alone.findings} <= {"remote", None}
    again = flowsight.analyze_discovered(walked, threat_models=["remote"], cache_dir=str(cache))
    assert again.cache["reused_scan"] is True
    assert [f.id for f in again.findings] == [f.id for f in alone.findings]


def test_a_scan_of_several_repositories_keeps_one_cache(tmp_path: Path) -> None:
    """`scan A B` (two checkouts both named `app`): one cache at their common directory, the
    report that of `--no-cache`, before and after an edit in one of them."""
    first, second = tmp_path / "one" / "app", tmp_path / "two" / "app"
    for copy in (first, second):
        shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(DIRECTORY_NAME))

    def both(*extra: str) -> subprocess.CompletedProcess[str]:
        return flowsight("scan", str(first), str(second), "--format", "json", *extra)

    def same() -> dict:
        cached, fresh = both(), both("--no-cache")
        assert cached.returncode == fresh.returncode == 1 and cached.stderr == "", cached.stderr
        assert json.loads(cached.stdout) == json.loads(fresh.stdout)
        return json.loads(cached.stdout)

    report = same()
    assert len(report["repositories"]) == 2
    assert (tmp_path / DIRECTORY_NAME / "analysis.bin").is_file()
    assert not (first / DIRECTORY_NAME).exists() and not (second / DIRECTORY_NAME).exists()
    assert same() == report
    views = second / "shop" / "views.py"
    views.write_text("# moved down\n\n" + views.read_text())
    edited = same()
    assert [f["sink"]["path"] for f in edited["findings"] if f["sink"]["path"].startswith("one/")] == [
        f["sink"]["path"] for f in report["findings"] if f["sink"]["path"].startswith("one/")
    ]
