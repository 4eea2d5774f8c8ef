"""How the server finds a workspace folder's project (server/flowsight/server/project.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsight.server.project import find_project


def package(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__init__.py").write_text("", encoding="utf-8")
    return directory


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.cfg", "setup.py", ".git"])
def test_a_package_folder_gets_the_project_above_it(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).mkdir() if marker == ".git" else (tmp_path / marker).write_text("", encoding="utf-8")
    sub = package(package(tmp_path / "shop") / "sub")
    project = find_project(sub)
    assert (project.folder, project.root, project.directory) == (sub, tmp_path, tmp_path)
    assert project.pyproject == (tmp_path / "pyproject.toml" if marker == "pyproject.toml" else None)


def test_src_layout_roots_at_src_and_reads_the_project_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    shop = package(tmp_path / "src" / "shop")
    project = find_project(shop)
    assert (project.root, project.pyproject) == (tmp_path / "src", tmp_path / "pyproject.toml")


def test_without_a_marker_or_with_one_only_in_home_only_the_folder_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)  # a dotfiles repository: never a project
    monkeypatch.setenv("HOME", str(home))
    shop = package(home / "shop")
    project = find_project(shop)
    # Named from above the package (as the CLI names it: `shop.views`), but only `shop` is read.
    assert (project.root, project.scope, project.directory, project.pyproject) == (home, shop, None, None)


def test_a_folder_that_is_not_a_package_stays_the_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    project = find_project(scripts)
    assert (project.root, project.directory, project.pyproject) == (scripts, tmp_path, tmp_path / "pyproject.toml")
