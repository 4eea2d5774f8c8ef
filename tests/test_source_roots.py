"""Module names as Python finds them, in the CLI and the server alike: a `src/` layout and
configured roots (`[tool.flowsight] roots`), a script importing its siblings, a constant
`sys.path` addition, a namespace package. The project is `tests/fixtures/taint/roots` (its markers are checked by
the taint fixture tests); here: the same findings through the CLI, from the project and from
its package directory, and in the language server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from test_lsp_server import accept_registrations, wait_for
from test_multi_repo import scan

PROJECT = Path(__file__).parent / "fixtures" / "taint" / "roots"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"])
# (rule, sink file, sink line) of every finding of the project.
EXPECTED = {
    ("sql-injection", "src/shop/db.py", 7),
    ("command-injection", "lib/reports/render.py", 6),
    ("command-injection", "scripts/helpers.py", 7),
    ("command-injection", "scripts/helpers.py", 11),
    ("command-injection", "vendor/shellutil.py", 6),
    ("command-injection", "plugins/runner.py", 5),
}


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(PROJECT, project)
    return project


def test_the_cli_finds_the_flows_through_every_kind_of_source_root(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    found = scan(project, cwd=tmp_path)
    assert {(rule, str(Path(sink).relative_to(project)), line) for rule, sink, line, _, _ in found} == EXPECTED


def test_scanning_the_src_package_directory_finds_what_scanning_the_project_finds_there(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    whole = {(rule, sink, line, steps) for rule, sink, line, steps, _ in scan(project, cwd=tmp_path)}
    package = {(rule, sink, line, steps) for rule, sink, line, steps, _ in scan(project / "src" / "shop", cwd=tmp_path)}
    shop = str(project / "src" / "shop")
    assert package == {finding for finding in whole if finding[1].startswith(shop)}
    assert len(package) == 1


def test_scanning_a_namespace_package_directory_finds_what_scanning_the_project_finds_there(tmp_path: Path) -> None:
    # `plugins/` has no `__init__.py`; its modules import `plugins.runner` by name.
    project = copy_project(tmp_path)
    whole = {(rule, sink, line, steps) for rule, sink, line, steps, _ in scan(project, cwd=tmp_path)}
    package = {(rule, sink, line, steps) for rule, sink, line, steps, _ in scan(project / "plugins", cwd=tmp_path)}
    plugins = str(project / "plugins")
    assert package == {finding for finding in whole if finding[1].startswith(plugins)}
    assert len(package) == 1


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_the_server_names_modules_from_the_same_source_roots(client: LanguageClient, tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="shop")],
        )
    )
    expected_files = {sink for _, sink, _ in EXPECTED}
    uris = {(project / sink).as_uri(): sink for sink in expected_files}
    await wait_for(lambda: all(client.diagnostics.get(uri) for uri in uris))
    shown = {(d.code, uris[uri], d.range.start.line + 1) for uri in uris for d in client.diagnostics[uri]}
    assert shown == EXPECTED


async def test_a_root_added_to_the_pyproject_renames_the_modules_in_the_server(client: LanguageClient, tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    pyproject = project / "pyproject.toml"
    configured = pyproject.read_text()
    pyproject.write_text(configured.replace('roots = ["lib"]', ""))
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="shop")],
        )
    )
    db, render = (project / "src/shop/db.py").as_uri(), (project / "lib/reports/render.py").as_uri()
    await wait_for(lambda: bool(client.diagnostics.get(db)))
    # Without the root, `reports.render` names no module: the flow into render.py is not seen.
    assert not client.diagnostics.get(render)
    pyproject.write_text(configured)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)])
    )
    await wait_for(lambda: bool(client.diagnostics.get(render)))
    assert [d.code for d in client.diagnostics[render]] == ["command-injection"]
