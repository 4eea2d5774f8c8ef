"""The server's persistent cache: a restarted session over the same folder starts from the
cache the previous session wrote (nothing analysed again when nothing changed) and publishes
the same diagnostics; a file edited while the server was down is analysed again; a package
folder rooted above itself writes nothing there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import REPOSITORY_ROOT
from flowsight.cache import DIRECTORY_NAME, user_cache_dir
from flowsight.server.session import Session

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"


def session_over(project: Path) -> tuple[Session, dict[str, list[str]]]:
    """A session that indexed and analysed `project`: its diagnostics' codes by file."""
    session = Session(publish=lambda uri, version, diagnostics: None)
    folder = session.add_folder(project)
    session.index_folder(folder)
    _, results, problems = session.analyse()
    assert problems == []
    return session, {path: sorted(str(d.code) for d in diagnostics) for _, path, _, _, diagnostics in results if diagnostics}


def test_a_restarted_session_starts_from_the_persisted_cache(tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(DIRECTORY_NAME))
    first, published = session_over(project)
    assert published and first.last_analysis["reused"] == 0
    assert first.persist() > 0 and (project / DIRECTORY_NAME / "analysis.bin").is_file()
    assert first.persist() == 0  # nothing analysed since: nothing to write

    second, again = session_over(project)
    assert again == published
    assert second.last_analysis["analysed"] == 0 and second.last_analysis["reused"] == second.last_analysis["scopes"] > 0

    views = project / "shop" / "views.py"
    views.write_text("# edited while the server was down\n" + views.read_text())
    third, after_edit = session_over(project)
    assert after_edit == published
    assert 0 < third.last_analysis["analysed"] < third.last_analysis["scopes"]


def test_a_package_folder_without_a_marker_keeps_its_cache_in_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its root (where module names start) is above the folder opened: nothing is written there."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    outer = tmp_path / "outer"
    package = outer / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "views.py").write_text("import os\nfrom flask import request\n\n\ndef index():\n    os.system(request.args['q'])\n")
    session, published = session_over(package)
    [folder] = session.folders
    assert folder.root == outer and published
    assert session.persist() > 0
    assert not (outer / DIRECTORY_NAME).exists() and not (package / DIRECTORY_NAME).exists()
    assert (user_cache_dir(outer) / "analysis.bin").is_file()
    restarted, again = session_over(package)
    assert again == published and restarted.last_analysis["analysed"] == 0
