"""A real editor: Neovim (from Debian's packages, installed by `make setup`) runs headless
against `flowsight serve`, shows the diagnostics of a fixture project, runs a slice through
`workspace/executeCommand`, and loses a diagnostic when a sanitiser is typed into the buffer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPOSITORY_ROOT

EXAMPLE = REPOSITORY_ROOT / "examples" / "vulnerable_app"
CHECK = REPOSITORY_ROOT / "tests" / "neovim" / "check.lua"


def test_neovim_shows_diagnostics_runs_a_slice_and_clears_after_an_edit(tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    assert nvim is not None, "Neovim is installed by `make setup` (scripts/ensure-system-packages.sh)"
    project = tmp_path / "vulnerable_app"
    shutil.copytree(EXAMPLE, project)
    result = tmp_path / "result.json"
    environment = {**os.environ, "FLOWSIGHT_PYTHON": sys.executable, "FLOWSIGHT_ROOT": str(project), "FLOWSIGHT_RESULT": str(result)}
    completed = subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(CHECK), str(project / "shop" / "files.py")],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.read_text()) if result.exists() else {}
    assert completed.returncode == 0, f"{completed.returncode}\n{completed.stderr}\n{report}"
    codes = sorted(d["code"] for d in report["diagnostics"])
    assert codes == ["command-injection", "path-traversal"]
    assert any("reaches `os.system` (OS command injection, CWE-78)" in d["message"] for d in report["diagnostics"])
    assert report["edited_line"].strip() == 'os.system("gzip -k " + name)  # sink: CWE-78'
    assert report["slice_lines"] == [2, 24, 25]  # `import os`, the parameter, the call
    assert [d["line"] for d in report["after_edit"]] == [11]
