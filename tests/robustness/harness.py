"""Running flowsight in bounded subprocesses, optionally with file permissions applying to root.

Every run goes through `limited.py` (address space, CPU seconds, no core dumps) and a wall
clock timeout. Output is captured as bytes and decoded as strict UTF-8, so output that is not
valid UTF-8 fails the test that reads it.

Permission cases (files that cannot be read, directories that cannot be listed) need a process
that permissions apply to: when the tests run as root, those runs lose the capabilities that
bypass file permissions (see `limited.py`); for any other user permissions apply anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LIMITED = Path(__file__).with_name("limited.py")
# Room for the engine's worker threads (64 MiB stacks) on any number of cores.
MEMORY_LIMIT = (2 << 30) + (128 << 20) * (os.cpu_count() or 1)
CPU_SECONDS = 60
TIMEOUT_SECONDS = 120
# The `flowsight` script pip installed next to the interpreter (the entry point users run).
SCRIPT = Path(sys.executable).with_name("flowsight")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The one line an error must print (fails unless there is exactly one, and no traceback)."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("flowsight: error: "), self.stderr
        return lines[0]


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def run(
    command: Sequence[str],
    cwd: Path,
    *,
    unprivileged: bool = False,
    timeout: float = TIMEOUT_SECONDS,
) -> Result:
    drop = "1" if unprivileged and os.geteuid() == 0 else "0"
    argv = [sys.executable, "-P", str(LIMITED), str(MEMORY_LIMIT), str(CPU_SECONDS), drop, *command]
    proc = subprocess.run(
        argv,
        cwd=cwd,
        input=b"",  # stdin at EOF (`serve` stops at once)
        capture_output=True,
        timeout=timeout,
        env=environment(),
    )
    return Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def flowsight(*args: str | Path, cwd: Path, unprivileged: bool = False) -> Result:
    """`python -P -m flowsight ARGS` (paths may be Paths; non-UTF-8 names are passed as bytes).
    A scan counts local sources too (`--threat-models remote,local`): the projects here take
    their input from `sys.argv`."""
    arguments = [*map(os.fsdecode, args)]
    if arguments[:1] == ["scan"] and "--threat-models" not in arguments:
        arguments += ["--threat-models", "remote,local"]
    return run([sys.executable, "-P", "-m", "flowsight", *arguments], cwd, unprivileged=unprivileged)
