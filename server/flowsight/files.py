"""Reading a file that a checked path names, with nothing swapped in between: the Python side of
the core's `safe_open.rs`, for the files Python reads itself (pyproject.toml, a rules file, the
CLI's column and line look-ups).

Invariants (as in `safe_open.rs`):
- The path is resolved once, checked against the boundaries, then opened component by component
  from the boundary it lies in, each with O_NOFOLLOW: a file or directory replaced by a
  symbolic link after it was resolved is refused (ELOOP/ENOTDIR), never followed.
- The file is opened with O_NONBLOCK (a FIFO or a device opens at once) and checked on the
  opened descriptor (`fstat`): only a regular file is read, and never more than `limit + 1`
  bytes (a file over the limit, or growing over it, is refused).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

# The core's limit for source files (`source::MAX_FILE_BYTES`).
MAX_FILE_BYTES = 10 << 20

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class UnreadableFile(OSError):
    """A file that is not read: outside the boundaries, replaced while being opened, not a
    regular file, or too large. `strerror` says which."""


def read_regular_file(path: str | os.PathLike[str], within: Sequence[str | os.PathLike[str]] = (), limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file `path` names, if it resolves inside one of `within`
    (anywhere when empty). Raises OSError (UnreadableFile for the refusals of this module)."""
    resolved = Path(os.path.realpath(path, strict=True))
    boundary = Path("/")
    if within:
        candidates = [Path(os.path.realpath(directory)) for directory in within]
        inside = [candidate for candidate in candidates if resolved.is_relative_to(candidate)]
        if not inside:
            raise UnreadableFile(errno.EACCES, f"resolves outside the project ({resolved}); not read", str(path))
        boundary = inside[0]
    names = resolved.relative_to(boundary).parts
    if not names:
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
    directory = os.open(boundary, DIRECTORY_FLAGS)
    try:
        for name in names[:-1]:
            inner = os.open(name, DIRECTORY_FLAGS | os.O_NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = inner
        descriptor = os.open(names[-1], FILE_FLAGS, dir_fd=directory)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnreadableFile(error.errno, "replaced (by a symbolic link?) while being opened; not read", str(path)) from None
        raise
    finally:
        os.close(directory)
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFile(errno.EINVAL, "not a regular file (a pipe, socket or device); not read", str(path))
        if status.st_size > limit:
            raise UnreadableFile(errno.EFBIG, f"over the {megabytes(limit)} limit; not read", str(path))
        data = file.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(errno.EFBIG, f"grew over the {megabytes(limit)} limit while being read; not read", str(path))
    return data


def megabytes(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"
