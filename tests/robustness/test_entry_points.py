"""Issue #15: started with a project as working directory, flowsight never imports the
project's files. A project module named like one flowsight imports (`json.py`, `argparse.py`,
`flowsight.py`, …) would otherwise run — analysed code must never be executed.

The shadowing modules are generated: one for every top-level module a flowsight run imports
(found with `-X importtime`), each writing a marker file if it is ever imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from robustness.harness import SCRIPT, run

VULNERABLE = "import os\nimport sys\n\n\ndef main():\n    command = sys.argv[1]\n    os.system(command)\n"
# One run of each command; `serve` reads EOF on stdin and stops after importing the server.
COMMANDS = [["scan", ".", "--format", "sarif", "--threat-models", "remote,local"], ["slice", "app.py:7"], ["index", "."], ["serve"]]


def imported_modules(argv_prefix: list[str], cwd: Path) -> set[str]:
    """Top-level names of every module the commands import, from `-X importtime` (stderr)."""
    names: set[str] = set()
    for command in COMMANDS:
        result = run([*argv_prefix, *command], cwd)
        assert result.returncode in (0, 1), result.stderr[-2000:]
        for line in result.stderr.splitlines():
            if line.startswith("import time:") and "|" in line:
                names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return {name for name in names if name.isidentifier()}


def interpreter_startup_modules(cwd: Path) -> set[str]:
    """What `python -m` itself imports before the named module runs (runpy and its imports)."""
    result = run([sys.executable, "-P", "-c", "import runpy, sys; print(' '.join(sys.modules))"], cwd)
    return {name.split(".")[0] for name in result.stdout.split()}


def shadowing_project(directory: Path, names: set[str]) -> Path:
    markers = directory / "markers"
    markers.mkdir()
    project = directory / "project"
    project.mkdir()
    (project / "app.py").write_text(VULNERABLE)
    for name in names:
        (project / f"{name}.py").write_text(f"open({str(markers / name)!r}, 'w').close()\n")
    return project


def run_every_command(argv_prefix: list[str], project: Path) -> None:
    results = [run([*argv_prefix, *command], project) for command in COMMANDS]
    ran = sorted(path.name for path in (project.parent / "markers").iterdir())
    assert ran == [], f"project modules were imported: {ran}"
    scan, slice_, index, serve = results
    # Each command did its work with the real modules: scan found the path, slice and index ran.
    assert scan.returncode == 1 and '"ruleId": "command-injection"' in scan.stdout, scan.stderr[-2000:]
    assert slice_.returncode == 0 and "os.system(command)" in slice_.stdout, slice_.stderr[-2000:]
    assert index.returncode == 0 and "indexed" in index.stdout, index.stderr[-2000:]
    assert serve.returncode == 0, serve.stderr[-2000:]


@pytest.fixture(scope="module")
def flowsight_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    directory = tmp_path_factory.mktemp("imports")
    (directory / "app.py").write_text(VULNERABLE)
    names = imported_modules([sys.executable, "-P", "-X", "importtime", "-m", "flowsight"], directory)
    # The generated set is the real one: stdlib, third-party and flowsight itself.
    assert {"json", "argparse", "tomllib", "asyncio", "pygls", "lsprotocol", "flowsight"} <= names
    return names


def test_the_flowsight_script_never_imports_project_files(tmp_path: Path, flowsight_modules: set[str]) -> None:
    assert SCRIPT.is_file(), f"the `flowsight` script is not installed next to {sys.executable}"
    project = shadowing_project(tmp_path, flowsight_modules)
    run_every_command([str(SCRIPT)], project)


def test_python_dash_p_dash_m_never_imports_project_files(tmp_path: Path, flowsight_modules: set[str]) -> None:
    project = shadowing_project(tmp_path, flowsight_modules)
    run_every_command([sys.executable, "-P", "-m", "flowsight"], project)


def test_python_dash_m_takes_the_working_directory_off_sys_path(tmp_path: Path, flowsight_modules: set[str]) -> None:
    # `python -m` puts the working directory on sys.path before anything of flowsight runs:
    # the interpreter's own -m machinery and the name `flowsight` itself cannot be protected
    # from inside (use -P or the script for those). Everything flowsight imports can.
    exposed = interpreter_startup_modules(tmp_path) | {"flowsight"}
    names = flowsight_modules - exposed
    assert {"json", "argparse", "tomllib", "asyncio", "pygls", "re", "pathlib"} <= names
    project = shadowing_project(tmp_path, names)
    run_every_command([sys.executable, "-m", "flowsight"], project)
