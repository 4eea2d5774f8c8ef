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
import threading
import time
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
    # Peak resident set of the process (`wait4`'s rusage of this child alone), and wall time.
    peak_rss_kib: int = 0
    seconds: float = 0.0

    def error_line(self) -> str:
        """The one line an error must print (fails unless there is exactly one, and no traceback)."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("flowsight: error: "), self.stderr
        return lines[0]


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["LC_ALL"] = "C.UTF-8"
    # The address-space limit is to catch what the server allocates. glibc reserves address
    # space per thread arena (64 MiB each, up to 8 per core, more of them the more threads
    # allocate at once): two arenas keep that reservation from deciding the limit, so the
    # limit measures allocations and not how busy the machine was.
    env["MALLOC_ARENA_MAX"] = "2"
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
    started = time.monotonic()
    # stdin at EOF (`serve` stops at once). The output is read by threads and the child reaped
    # with `wait4`, which also gives its own peak RSS (`communicate` would reap it first).
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment())
    output: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda name=name, stream=stream: output.__setitem__(name, stream.read()))
        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(max(0.0, started + timeout - time.monotonic()))
    if any(reader.is_alive() for reader in readers):
        proc.kill()
        proc.wait()
        raise subprocess.TimeoutExpired(argv, timeout)
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    return Result(proc.returncode, output["stdout"].decode("utf-8"), output["stderr"].decode("utf-8"), usage.ru_maxrss, seconds)


def flowsight(*args: str | Path, cwd: Path, unprivileged: bool = False) -> Result:
    """`python -P -m flowsight ARGS` (paths may be Paths; non-UTF-8 names are passed as bytes).
    A scan counts local sources too (`--threat-models remote,local`): the projects here take
    their input from `sys.argv`."""
    arguments = [*map(os.fsdecode, args)]
    if arguments[:1] == ["scan"] and "--threat-models" not in arguments:
        arguments += ["--threat-models", "remote,local"]
    return run([sys.executable, "-P", "-m", "flowsight", *arguments], cwd, unprivileged=unprivileged)
