"""Files swapped between the check and the open (issue 15's hardening, leftover): the server and
the CLI check that a path is a regular file inside the workspace, then read it; a file replaced
in between by a symbolic link (to a file outside, to /dev/zero) or by a FIFO must not be read, nor
block, nor be read without bound. Both readers are tested: the core's (`safe_open.rs`, through
`Workspace.load_file(within=…)` and `flowsight scan`) and Python's (`flowsight.files`), with the
swap made by a hook right after the check passed. Each case runs in a subprocess under the
harness's limits (address space, CPU seconds, wall clock): a read of /dev/zero or a blocking
open fails the case alone."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from robustness.harness import flowsight, run

VULNERABLE = 'import os\nfrom flask import request\n\n\ndef run():\n    os.system(request.args["q"])\n'
SECRET = VULNERABLE + "\n\ndef secret():\n    os.system(request.args['secret'])\n"


def layout(tmp_path: Path) -> tuple[Path, Path]:
    workspace = tmp_path / "ws"
    outside = tmp_path / "outside"
    (workspace / "pkg").mkdir(parents=True)
    outside.mkdir()
    (workspace / "app.py").write_text(VULNERABLE)
    (workspace / "pkg" / "mod.py").write_text("x = 1\n")
    (outside / "secret.py").write_text(SECRET)
    (outside / "mod.py").write_text(SECRET)
    return workspace, outside


def run_script(tmp_path: Path, script: str) -> None:
    """Runs `script` (Python; it prints `ok` when its checks pass) under the harness's limits."""
    path = tmp_path / "check.py"
    path.write_text(textwrap.dedent(script))
    result = run([sys.executable, "-P", str(path)], tmp_path, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), (result.stdout[-2000:], result.stderr[-3000:])


SWAPS = """
    import os, sys
    from pathlib import Path

    def swap(path: Path, to: str) -> None:
        # `path` (a file, or a directory) becomes a symbolic link to `to`, or a FIFO.
        if path.is_dir() and not path.is_symlink():
            path.rename(path.with_name(path.name + ".moved"))
        else:
            path.unlink()
        if to == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(to)
"""


@pytest.mark.parametrize("target", ["outside", "dev-zero", "fifo", "directory"])
def test_the_server_does_not_read_a_file_swapped_after_its_check(tmp_path: Path, target: str) -> None:
    """`Session.close` checks the file (`readable_folder`) and queues a read; the hook swaps the
    file (or its directory) right after the check passed; the analysis job's read must refuse."""
    workspace, outside = layout(tmp_path)
    name, to = {
        "outside": ("app.py", str(outside / "secret.py")),
        "dev-zero": ("app.py", "/dev/zero"),
        "fifo": ("app.py", "fifo"),
        "directory": ("pkg/mod.py", str(outside)),
    }[target]
    run_script(
        tmp_path,
        SWAPS
        + f"""
    from flowsight.server.session import Folder, Session

    workspace, name, to = Path({str(workspace)!r}), {name!r}, {to!r}
    swapped = workspace / ("pkg" if name.startswith("pkg/") else name)
    check = Folder.contains_resolved
    armed = []

    def check_then_swap(folder, path):
        inside = check(folder, path)
        if inside and armed and path == workspace / name:
            armed.clear()
            swap(swapped, to)
        return inside

    Folder.contains_resolved = check_then_swap
    session = Session(lambda uri, version, diagnostics: None)
    folder = session.add_folder(workspace)
    session.index_folder(folder)
    assert "secret" not in folder.workspace.text(name) and folder.workspace.text(name)
    armed.append(True)
    session.close(workspace / name)  # checked (and swapped by the hook): a read is queued
    assert not armed, "the hook did not run"
    session.analyse()
    assert folder.workspace.text(name) == "", folder.workspace.text(name)
    [error] = folder.workspace.errors(name)
    assert error.kind == "io" and "not read" in error.message, error
    assert not [f for f in folder.findings if f.sink.path == name]
    print("ok")
    """,
    )


def test_the_core_reads_only_regular_files_inside_the_boundary(tmp_path: Path) -> None:
    workspace, outside = layout(tmp_path)
    (workspace / "out.py").symlink_to(outside / "secret.py")
    (workspace / "zero.py").symlink_to("/dev/zero")
    os.mkfifo(workspace / "fifo.py")
    (workspace / "inside.py").symlink_to("app.py")
    run_script(
        tmp_path,
        f"""
    import flowsight
    from pathlib import Path

    workspace = Path({str(workspace)!r})
    core = flowsight.Workspace(str(workspace))
    for name in ("out.py", "zero.py", "fifo.py", "inside.py", "app.py"):
        core.load_file(str(workspace / name), within=[str(workspace)])
    errors = {{name: " ".join(e.message for e in core.errors(name)) for name in core.files()}}
    assert "resolves outside the project" in errors["out.py"], errors
    assert "resolves outside the project" in errors["zero.py"], errors
    assert "not a regular file" in errors["fifo.py"], errors
    assert core.text("inside.py") == core.text("app.py") != ""
    assert core.text("out.py") == core.text("zero.py") == core.text("fifo.py") == ""
    # Without a boundary a link is followed, but only to a regular file.
    core.load_file(str(workspace / "zero.py"))
    assert "not a regular file" in core.errors("zero.py")[0].message
    print("ok")
    """,
    )


def test_a_scan_reads_no_link_leading_outside_its_repository(tmp_path: Path) -> None:
    workspace, outside = layout(tmp_path)
    (workspace / "out.py").symlink_to(outside / "secret.py")
    (workspace / "zero.py").symlink_to("/dev/zero")
    (workspace / "inside.py").symlink_to("app.py")
    result = flowsight("scan", ".", "--format", "json", cwd=workspace)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    errors = {error["path"]: error["message"] for error in report["errors"]}
    assert "resolves outside the project" in errors["out.py"] and "resolves outside the project" in errors["zero.py"]
    assert sorted({finding["sink"]["path"] for finding in report["findings"]}) == ["app.py", "inside.py"]


def test_python_reads_only_regular_files_and_refuses_what_was_swapped_after_resolving(tmp_path: Path) -> None:
    workspace, outside = layout(tmp_path)
    (workspace / "out.py").symlink_to(outside / "secret.py")
    (workspace / "zero.py").symlink_to("/dev/zero")
    os.mkfifo(workspace / "fifo.py")
    (workspace / "big.py").write_bytes(b"x" * 2048)
    run_script(
        tmp_path,
        SWAPS
        + f"""
    import errno
    from flowsight import files

    workspace, outside = Path({str(workspace)!r}), Path({str(outside)!r})

    def refused(path, within=(workspace,), limit=1 << 20):
        try:
            files.read_regular_file(path, within, limit)
        except OSError as error:
            return error.strerror
        raise AssertionError(f"{{path}} was read")

    assert files.read_regular_file(workspace / "app.py", [workspace]).startswith(b"import os")
    assert "outside the project" in refused(workspace / "out.py")
    assert "not a regular file" in refused(workspace / "zero.py", ())
    assert "not a regular file" in refused(workspace / "fifo.py")
    assert "over the" in refused(workspace / "big.py", limit=1024)
    assert "directory" in refused(workspace / "pkg")
    # Swapped after the path was resolved (the hook runs right after `realpath`).
    realpath = os.path.realpath
    for name, swapped, to in [
        ("app.py", "app.py", str(outside / "secret.py")),
        ("app.py", "app.py", "/dev/zero"),
        ("app.py", "app.py", "fifo"),
        ("pkg/mod.py", "pkg", str(outside)),
    ]:
        def resolve_then_swap(path, strict=False):
            resolved = realpath(path, strict=strict)
            if Path(path) == workspace / name:
                swap(workspace / swapped, to)
            return resolved

        files.os.path.realpath = resolve_then_swap
        reason = refused(workspace / name)
        files.os.path.realpath = realpath
        assert ("not a regular file" if to == "fifo" else "replaced") in reason, (name, to, reason)
        (workspace / swapped).unlink()
        if swapped == "pkg":
            (workspace / "pkg.moved").rename(workspace / "pkg")
        else:
            (workspace / "app.py").write_text("import os\\n")
    print("ok")
    """,
    )
