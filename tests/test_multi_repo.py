"""Several repositories in one run (issue 13, item 5) and the project root of a package
directory (item 1): each named directory is a repository identified by its path, with its own
module names; `scan A B` equals the union of the separate scans (two checkouts both named
`app` included); a repository importing another's package sees the flows through it; a scanned
package directory resolves its imports from its project root, in the CLI and in the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import flowsight
from test_lsp_server import accept_registrations, wait_for

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"])

# Two checkouts named `app` whose modules have the same names but different contents: a run
# that mixed their `db` modules up would lose findings.
X_APP = {
    "views.py": 'from flask import request\nfrom db import search\n\n\ndef find():\n    return search(request.args["q"])\n',
    "db.py": ('import sqlite3\n\n\ndef search(term):\n    sqlite3.connect("a.db").cursor().execute("SELECT %s" % term)\n'),
}
Y_APP = {
    "views.py": (
        "from flask import request\nfrom db import lookup, run\n\n\n"
        'def find():\n    return lookup(request.args["q"])\n\n\n'
        'def convert():\n    run(request.args["file"])\n'
    ),
    "db.py": (
        "import os\nimport sqlite3\n\n\ndef lookup(term):\n"
        '    sqlite3.connect("b.db").cursor().execute("SELECT %s" % term)\n\n\n'
        'def run(name):\n    os.system("convert " + name)\n'
    ),
}


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def flowsight_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowsight", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def scan(*paths: Path, cwd: Path) -> set[tuple]:
    """Findings of `flowsight scan --format json` as (rule, sink file, line, steps' files and lines,
    id), file paths made absolute from the report's root."""
    proc = flowsight_cli("scan", "--format", "json", *map(str, paths), cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    common = Path(report["root"]) if "root" in report else cwd
    found = set()
    for finding in report["findings"]:
        steps = tuple((str(common / step["path"]), step["start_line"]) for step in finding["steps"])
        found.add((finding["rule_id"], str(common / finding["sink"]["path"]), finding["sink"]["start_line"], steps, finding["id"]))
    return found


def test_a_scan_of_two_same_named_repositories_is_the_union_of_their_separate_scans(tmp_path: Path) -> None:
    x = write(tmp_path / "x" / "app", X_APP)
    y = write(tmp_path / "y" / "app", Y_APP)
    separate_x, separate_y = scan(x, cwd=tmp_path), scan(y, cwd=tmp_path)
    # Each repository's own cross-module flows (views → db), found separately.
    assert {(rule, Path(sink).parent) for rule, sink, *_ in separate_x} == {("sql-injection", x)}
    assert {(rule, Path(sink).parent) for rule, sink, *_ in separate_y} == {("sql-injection", y), ("command-injection", y)}
    together = scan(x, y, cwd=tmp_path)
    assert together == separate_x | separate_y
    assert len(together) == len(separate_x) + len(separate_y)


def test_index_lists_each_repository_with_its_counts_and_path_identity(tmp_path: Path) -> None:
    x = write(tmp_path / "x" / "app", X_APP)
    y = write(tmp_path / "y" / "app", Y_APP)
    z = write(tmp_path / "z", {"only.py": "def f():\n    pass\n"})
    proc = flowsight_cli("index", "--json", str(x), str(y), str(z), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    summary = [(r["name"], r["root"], r["files"], r["chunks_by_kind"]["function"]) for r in report["repositories"]]
    assert summary == [("app", str(x), 2, 2), ("app", str(y), 2, 4), ("z", str(z), 1, 1)]
    assert len({r["id"] for r in report["repositories"]}) == 3
    assert report["files"] == 5
    assert sum(r["chunks"] for r in report["repositories"]) == report["chunks"]
    # Module names are each repository's own (`db.search`, not `x.app.db.search`).
    chunks = flowsight.index_paths([str(x), str(y)]).chunks
    assert {c.qualified_name for c in chunks if c.kind == "function"} == {"views.find", "db.search", "db.lookup", "db.run", "views.convert"}
    # Two same-named repositories have different chunk ids for the same module.
    assert len({c.id for c in chunks if c.qualified_name == "views"}) == 2


def test_a_repository_importing_another_repositorys_package_sees_the_flow_through_it(tmp_path: Path) -> None:
    library = write(tmp_path / "lib", {"shellkit/__init__.py": "", "shellkit/run.py": "import os\n\n\ndef sh(cmd):\n    os.system(cmd)\n"})
    service = write(
        tmp_path / "service",
        {"main.py": 'from flask import request\nfrom shellkit.run import sh\n\n\ndef go():\n    sh(request.args["c"])\n'},
    )
    assert scan(service, cwd=tmp_path) == set()  # alone, `shellkit` is unknown
    [(rule, sink, _line, steps, _id)] = scan(service, library, cwd=tmp_path)
    assert (rule, sink) == ("command-injection", str(library / "shellkit" / "run.py"))
    assert str(service / "main.py") in {path for path, _ in steps}


PACKAGE = {
    "__init__.py": "",
    "views.py": 'from flask import request\n\nfrom pkg.db import search\n\n\ndef find():\n    return search(request.args["q"])\n',
    "db.py": "import sqlite3\n\n\ndef search(term):\n    sqlite3.connect('a.db').cursor().execute('SELECT %s' % term)\n",
}


def test_scanning_a_package_directory_resolves_imports_from_its_project_root(tmp_path: Path) -> None:
    package = write(tmp_path / "src_tree" / "pkg", PACKAGE)
    [(rule, sink, _line, steps, _id)] = scan(package, cwd=tmp_path)
    assert (rule, sink) == ("sql-injection", str(package / "db.py"))
    assert str(package / "views.py") in {path for path, _ in steps}
    assert flowsight.walk_files([str(package)]).root == tmp_path / "src_tree"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_the_server_resolves_a_package_folder_without_markers_from_its_project_root(client: LanguageClient, tmp_path: Path) -> None:
    package = write(tmp_path / "src_tree" / "pkg", PACKAGE)
    (tmp_path / "src_tree" / "other.py").write_text('import os\nfrom flask import request\nos.system(request.args["x"])\n')
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=package.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=package.as_uri(), name="pkg")],
        )
    )
    db = (package / "db.py").as_uri()
    await wait_for(lambda: bool(client.diagnostics.get(db)))
    assert [d.code for d in client.diagnostics[db]] == ["sql-injection"]
    status = await client.protocol.send_request_async("flowsight/status", {})
    # Named from above the package, but only the folder is read (not `other.py` beside it).
    assert [(f.root, f.files) for f in status.folders] == [((tmp_path / "src_tree").as_uri(), 3)]
    assert (tmp_path / "src_tree" / "other.py").as_uri() not in client.diagnostics
