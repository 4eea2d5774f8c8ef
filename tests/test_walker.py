"""The one file walker (issue 13, item 6), as the CLI and the server use it: `.gitignore` with
negations and nested files, `.ignore`, hidden and tool directories, virtual environments,
`[tool.flowsight] exclude` as gitignore-style globs, symbolic link loops; and `exclude` meaning
the same in the CLI and the server: excluded files are not analysed at all."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import flowsight
from flowsight.errors import ConfigError
from test_lsp_server import accept_registrations, wait_for

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "flowsight", "serve"])
VULNERABLE = 'import os\nfrom flask import request\n\n\ndef run():\n    os.system(request.args["cmd"])\n'

# Every file holds a finding; the comment says whether the walker lists it.
TREE = {
    ".gitignore": "build/\n*_gen.py\n!keep_gen.py\n",
    "app/views.py": "listed",
    "app/models_gen.py": "ignored: *_gen.py",
    "app/keep_gen.py": "listed: negation",
    "app/.gitignore": "local_*.py\n",
    "app/local_settings.py": "ignored: nested .gitignore",
    "build/out.py": "ignored: build/",
    "lib/.ignore": "scratch/\n",
    "lib/scratch/tmp.py": "ignored: .ignore",
    "lib/core.py": "listed",
    ".hidden/secret.py": "skipped: hidden",
    "__pycache__/cached.py": "skipped: tool directory",
    "env/pyvenv.cfg": "home = /usr/bin\n",
    "env/lib/site.py": "skipped: virtual environment",
    "vendor/dep.py": "excluded: vendor/",
    "legacy.py": "excluded: /legacy.py",
    "tools/legacy.py": "listed: /legacy.py is anchored",
    "pyproject.toml": '[tool.flowsight]\nexclude = ["vendor/", "/legacy.py"]\n',
}
LISTED = ["app/keep_gen.py", "app/views.py", "lib/core.py", "tools/legacy.py"]


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for name, note in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(note if not name.endswith(".py") else f"# {note}\n{VULNERABLE}")
    return root


def relative(root: Path, paths: list) -> list[str]:
    return [Path(path).relative_to(root).as_posix() for path in paths]


def test_ignore_files_hidden_and_tool_directories(tmp_path: Path) -> None:
    root = project(tmp_path)
    # Without the project's excludes: ignore files, hidden, tool and virtualenv directories only.
    listed = relative(root, flowsight.walk_files([str(root)]).files)
    assert listed == sorted([*LISTED, "legacy.py", "vendor/dep.py"])


def test_exclude_globs_are_relative_to_their_base_with_negations(tmp_path: Path) -> None:
    root = project(tmp_path)
    excludes = [(str(root), ["vendor/", "/legacy.py", "app/*.py", "!app/views.py"])]
    listed = relative(root, flowsight.walk_files([str(root)], excludes=excludes).files)
    assert listed == ["app/views.py", "lib/core.py", "tools/legacy.py"]
    with pytest.raises(ConfigError, match="exclude pattern"):
        flowsight.walk_files([str(root)], excludes=[(str(root), ["{a,b"])])


def test_symbolic_link_loops_do_not_stop_the_walk(tmp_path: Path) -> None:
    root = tmp_path / "loops"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text(VULNERABLE)
    os.symlink("..", root / "pkg" / "sub" / "up")
    os.symlink("loop.py", root / "pkg" / "loop.py")
    walked = flowsight.walk_files([str(root)])
    assert relative(root, walked.files) == ["pkg/a.py", "pkg/loop.py"]
    # The looping file is reported when read, and the scan goes on.
    proc = subprocess.run(
        [sys.executable, "-m", "flowsight", "scan", "--format", "json", str(root)], capture_output=True, text=True, timeout=120
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [("pkg/loop.py", "io")]
    assert [f["sink"]["path"] for f in report["findings"]] == ["pkg/a.py"]


def test_the_cli_does_not_analyse_excluded_or_ignored_files(tmp_path: Path) -> None:
    root = project(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "flowsight", "scan", "--format", "json", "."], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert sorted({f["sink"]["path"] for f in json.loads(proc.stdout)["findings"]}) == LISTED
    index = subprocess.run([sys.executable, "-m", "flowsight", "index", "--json", "."], cwd=root, capture_output=True, text=True)
    assert json.loads(index.stdout)["files"] == len(LISTED)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_the_server_analyses_exactly_the_files_the_cli_does(client: LanguageClient, tmp_path: Path) -> None:
    root = project(tmp_path)
    cli = subprocess.run([sys.executable, "-m", "flowsight", "scan", "--format", "json", "."], cwd=root, capture_output=True, text=True)
    cli_files = sorted({f["sink"]["path"] for f in json.loads(cli.stdout)["findings"]})
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="proj")],
        )
    )
    await wait_for(lambda: all(client.diagnostics.get((root / name).as_uri()) for name in LISTED))
    status = await client.protocol.send_request_async("flowsight/status", {})
    assert [f.files for f in status.folders] == [len(LISTED)]
    server_files = sorted(Path(uri.removeprefix("file://")).relative_to(root).as_posix() for uri, d in client.diagnostics.items() if d)
    assert server_files == cli_files == LISTED
    # An excluded file opened in the editor is still not analysed (opened before a listed one,
    # so once the listed one is in the core, the excluded one was handled).
    for name in ("vendor/dep.py", "app/views.py"):
        item = types.TextDocumentItem(uri=(root / name).as_uri(), language_id="python", version=1, text=VULNERABLE)
        client.text_document_did_open(types.DidOpenTextDocumentParams(item))
    for _ in range(400):
        status = await client.protocol.send_request_async("flowsight/status", {})
        if status.openDocuments == 1:
            break
        await asyncio.sleep(0.05)
    assert status.openDocuments == 1
    assert [f.files for f in status.folders] == [len(LISTED)]
    assert not client.diagnostics.get((root / "vendor" / "dep.py").as_uri())
