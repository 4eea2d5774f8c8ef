from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from robustness.harness import shared_directory


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory unprivileged runs can read and write (see harness.shared_directory)."""
    with shared_directory() as directory:
        yield directory
