"""Issue #15: every CLI error is one clear line on stderr and exit status 2 (1 means
"findings"); nothing below a named directory is skipped silently.

Before: tracebacks with status 1 for a symbolic link loop given to `scan`, an unreadable file
given to `slice`, an unreadable directory, `--output` into a missing directory, a pyproject
with `tool = 1` or a 5,000-deep array; `scan` skipped an unlistable subdirectory silently.

Unreadable files and unlistable directories need permissions that apply: when the tests run
as root, those runs lose the capabilities that bypass permissions (see limited.py). Everything else runs as the test user.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from flowsight import cli
from robustness.harness import Result, flowsight, run

VULNERABLE = "import os\nimport sys\nos.system(sys.argv[1])\n"


def project(directory: Path) -> Path:
    (directory / "app.py").write_text(VULNERABLE)
    return directory


def assert_error(result: Result, *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    line = result.error_line()
    for fragment in fragments:
        assert fragment in line, line


# ---------------------------------------------------------------- named paths


def test_symbolic_link_loops_given_to_scan_and_slice(tmp_path: Path) -> None:
    project(tmp_path)
    os.symlink("loop_b", tmp_path / "loop_a")
    os.symlink("loop_a", tmp_path / "loop_b")
    os.symlink("self.py", tmp_path / "self.py")
    assert_error(flowsight("scan", "loop_a", cwd=tmp_path), "loop_a: symbolic link loop")
    assert_error(flowsight("scan", "self.py", "--format", "sarif", cwd=tmp_path), "self.py: symbolic link loop")
    assert_error(flowsight("slice", "self.py:1", cwd=tmp_path), "self.py: symbolic link loop")
    assert_error(flowsight("slice", "app.py:3", "loop_a", cwd=tmp_path), "loop_a: symbolic link loop")


def test_a_symbolic_link_loop_inside_a_directory_is_reported_not_fatal(tmp_path: Path) -> None:
    project(tmp_path)
    os.symlink("self.py", tmp_path / "self.py")
    result = flowsight("scan", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert [error["path"] for error in json.loads(result.stdout)["errors"]] == ["self.py"]
    assert result.stderr.startswith("flowsight: self.py: io: ")


def test_named_paths_that_are_not_files_or_directories(tmp_path: Path) -> None:
    project(tmp_path)
    os.mkfifo(tmp_path / "pipe.py")
    assert_error(flowsight("scan", "pipe.py", cwd=tmp_path), "pipe.py: not a regular file or directory")
    assert_error(flowsight("slice", "pipe.py:1", cwd=tmp_path), "pipe.py: not a regular file or directory")
    assert_error(flowsight("slice", ".:1", cwd=tmp_path), ".: is a directory, not a file")
    os.symlink("gone.py", tmp_path / "dangling.py")
    assert_error(flowsight("scan", "dangling.py", cwd=tmp_path), "dangling.py: broken symbolic link")
    assert_error(flowsight("scan", "missing", cwd=tmp_path), "no such file or directory: missing")


def test_an_unreadable_file_given_to_slice_and_scan(tmp_path: Path) -> None:
    project(tmp_path)
    secret = tmp_path / "secret.py"
    secret.write_text(VULNERABLE)
    secret.chmod(0)
    assert_error(flowsight("slice", "secret.py:3", cwd=tmp_path, unprivileged=True), "secret.py: cannot read: Permission denied")
    assert_error(flowsight("slice", "app.py:3", "secret.py", cwd=tmp_path, unprivileged=True), "secret.py: cannot read")
    assert_error(flowsight("scan", "secret.py", cwd=tmp_path, unprivileged=True), "secret.py: cannot read: Permission denied")


def test_an_unreadable_directory_given_to_scan_and_slice(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    project(locked)
    locked.chmod(0)
    assert_error(flowsight("scan", "locked", cwd=tmp_path, unprivileged=True), "locked: cannot list directory: Permission denied")
    assert_error(flowsight("slice", "locked/app.py:3", cwd=tmp_path, unprivileged=True), "locked/app.py: Permission denied")
    # Searchable but not listable: the file can be read, its directory (the default program) not.
    locked.chmod(0o311)
    assert_error(flowsight("slice", "locked/app.py:3", cwd=tmp_path, unprivileged=True), "cannot list directory: Permission denied")


def test_an_unlistable_subdirectory_is_reported_in_every_format(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "pkg").mkdir()
    project(tmp_path / "pkg")
    (tmp_path / "pkg" / "locked").mkdir()
    project(tmp_path / "pkg" / "locked")
    (tmp_path / "unreadable.py").write_text(VULNERABLE)
    (tmp_path / "unreadable.py").chmod(0)
    (tmp_path / "pkg" / "locked").chmod(0)
    expected = [("pkg/locked", "io", "cannot list directory: Permission denied"), ("unreadable.py", "io")]

    text = flowsight("scan", ".", cwd=tmp_path, unprivileged=True)
    assert text.returncode == 1, text.stderr  # the findings of everything that could be read
    assert text.stdout.rstrip().endswith("2 findings (2 warning).")
    assert text.stderr.splitlines()[0] == "flowsight: pkg/locked: io: cannot list directory: Permission denied"
    assert text.stderr.splitlines()[1].startswith("flowsight: unreadable.py: io: cannot read")

    as_json = json.loads(flowsight("scan", ".", "--format", "json", cwd=tmp_path, unprivileged=True).stdout)
    errors = [(e["path"], e["kind"], e["message"]) for e in as_json["errors"]]
    assert errors[0] == expected[0] and errors[1][:2] == expected[1] and len(errors) == 2

    sarif = json.loads(flowsight("scan", ".", "--format", "sarif", cwd=tmp_path, unprivileged=True).stdout)
    [invocation] = sarif["runs"][0]["invocations"]
    notes = invocation["toolExecutionNotifications"]
    assert [(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], n["descriptor"]["id"], n["level"]) for n in notes] == [
        ("pkg/locked", "io", "error"),
        ("unreadable.py", "io", "error"),
    ]
    assert notes[0]["message"]["text"] == "pkg/locked: cannot list directory: Permission denied"
    assert invocation["executionSuccessful"] is True


# ---------------------------------------------------------------- output


def test_output_into_a_missing_or_unwritable_place(tmp_path: Path) -> None:
    project(tmp_path)
    assert_error(
        flowsight("scan", ".", "--output", "missing/report.sarif", cwd=tmp_path), "--output missing/report.sarif: no such directory"
    )
    assert_error(flowsight("scan", ".", "-o", ".", cwd=tmp_path), "--output .: is a directory")
    (tmp_path / "readonly").mkdir()
    (tmp_path / "readonly").chmod(0o555)
    result = flowsight("scan", ".", "--format", "sarif", "-o", "readonly/report.sarif", cwd=tmp_path, unprivileged=True)
    assert_error(result, "--output readonly/report.sarif: cannot write: Permission denied")
    written = flowsight("scan", ".", "--format", "sarif", "-o", "report.sarif", cwd=tmp_path)
    assert written.returncode == 1 and json.loads((tmp_path / "report.sarif").read_text())["version"] == "2.1.0"


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    for number in range(300):
        (tmp_path / f"app_{number}.py").write_text(VULNERABLE)
    # The report (about 100 KB, more than a pipe holds) goes into a pipe closed after one line.
    script = (
        "import subprocess, sys\n"
        "process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
        "process.stdout.readline()\n"
        "process.stdout.close()\n"
        "sys.stderr.write(process.stderr.read().decode())\n"
        "sys.exit(process.wait())\n"
    )
    result = run([sys.executable, "-c", script, sys.executable, "-P", "-m", "flowsight", "scan", ".", "--threat-models", "local"], tmp_path)
    assert result.returncode == 1  # the findings' status, not a crash
    assert result.stderr == ""


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("pyproject", "fragment"),
    [
        ("tool = 1\n", "`tool` must be a table, not an integer"),
        ('tool = "flowsight"\n', "`tool` must be a table, not a string"),
        ("[tool]\nflowsight = [1, 2]\n", "[tool.flowsight] must be a table, not an array"),
        ("[tool.flowsight]\ndisable = 1\n", "tool.flowsight.disable must be a list of strings"),
        ("[tool.flowsight]\nexclude = [1]\n", "tool.flowsight.exclude must be a list of strings"),
        ("[tool.flowsight]\nrules = 1\n", "tool.flowsight.rules must be a path string"),
        ('[tool.flowsight]\nrules = "a\\u0000b"\n', "tool.flowsight.rules = 'a\\x00b': not a usable path"),
        ("[tool.flowsight]\nseverity = 1\n", "tool.flowsight.severity must be a table"),
        ("[tool.flowsight]\nseverity = { x = [[[[[[[[[[1]]]]]]]]]] }\n", "tool.flowsight.severity.x = [[[[[[[...]]]]]]]: expected one of"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("[tool.flowsight]\ndisable = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply"),
        ("tool = [\n", "invalid TOML"),
    ],
)
def test_bad_pyproject(tmp_path: Path, pyproject: str, fragment: str) -> None:
    project(tmp_path)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    assert_error(flowsight("scan", ".", cwd=tmp_path), f"{tmp_path / 'pyproject.toml'}: ", fragment)


def test_pyproject_that_is_not_utf8_or_not_readable(tmp_path: Path) -> None:
    project(tmp_path)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(b"[tool.flowsight]\ndisable = ['caf\xe9']\n")
    assert_error(flowsight("scan", ".", cwd=tmp_path), "pyproject.toml: not UTF-8")
    pyproject.write_text("[tool.flowsight]\n")
    pyproject.chmod(0)
    assert_error(flowsight("scan", ".", cwd=tmp_path, unprivileged=True), "pyproject.toml: cannot read: Permission denied")


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["scan"], "the following arguments are required: PATH (see `flowsight scan --help`)"),
        (["scan", ".", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["scan", ".", "--bogus"], "unrecognized arguments: --bogus"),
        (["scan", ".", "--root", "app.py"], "--root is not a directory: app.py"),
        (["scan", ".", "--rules", "missing.toml"], "rules file not found: missing.toml"),
        (["scan", ".", "--disable", "no-such-rule"], "unknown rule id"),
        (["slice", "app.py"], "criterion must be FILE:LINE[:COL], got 'app.py'"),
        (["slice", "app.py:0"], "LINE and COL are 1-based"),
        (["slice", "app.py:99"], "app.py:99: the file has 3 lines"),
        (["slice", "app.py:3", "--format", "sarif"], "argument --format: invalid choice: 'sarif'"),
        (["index", ".", "--chunks"], "--chunks needs --json"),
        (["serve", "--tcp", "localhost"], "--tcp takes HOST:PORT"),
        (["serve", "--tcp", "localhost:99999"], "with a port from 1 to 65535"),
        (["serve", "--tcp", "localhost:-1"], "--tcp takes HOST:PORT"),
        (["scan", ".", "--output"], "argument --output/-o: expected one argument"),
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str], fragment: str) -> None:
    project(tmp_path)
    assert_error(flowsight(*args, cwd=tmp_path), fragment)


def test_serve_on_an_address_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_error(flowsight("serve", "--tcp", f"127.0.0.1:{port}", cwd=tmp_path), f"--tcp 127.0.0.1:{port}: ")


def test_an_unexpected_error_is_one_line_and_status_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import flowsight.commands.index as index

    def broken(args: object) -> int:
        raise ValueError("something\nunexpected")

    monkeypatch.setattr(index, "run", broken)
    monkeypatch.delenv("FLOWSIGHT_TRACEBACK", raising=False)
    assert cli.main(["index", "."]) == 2
    assert capsys.readouterr().err == (
        "flowsight: error: internal error: ValueError: something\\nunexpected"
        " (set FLOWSIGHT_TRACEBACK=1 for the traceback; please report it)\n"
    )
