"""Benchmark corpora, fetched from PyPI into `bench/.cache/` (git-ignored) once.

The Django 5.1.4 wheel's `django/` package: 879 files, about 155k lines."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
DJANGO_VERSION = "5.1.4"


def fetch_wheel(project: str, version: str) -> Path:
    """Downloads the pure-Python wheel of project==version with pip (hashes checked by pip)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    normalized = project.lower().replace("-", "_")
    for existing in CACHE.glob("*.whl"):
        if existing.name.lower().startswith(f"{normalized}-{version}-"):
            return existing
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--dest",
        str(CACHE),
        f"{project}=={version}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"bench: cannot download {project} {version} from PyPI: {completed.stderr.strip()}")
    for existing in CACHE.glob("*.whl"):
        if existing.name.lower().startswith(f"{normalized}-{version}-"):
            return existing
    raise SystemExit(f"bench: pip downloaded no wheel for {project} {version}")


def django_corpus() -> Path:
    """The directory holding Django's `django/` package (unpacked from the wheel once)."""
    root = CACHE / f"django-{DJANGO_VERSION}"
    marker = root / ".complete"
    if marker.is_file():
        return root
    wheel = fetch_wheel("Django", DJANGO_VERSION)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("django/"):
                archive.extract(name, root)
    marker.write_text("ok\n")
    return root


def python_files(root: Path) -> list[Path]:
    """The `.py` files of `root` as the CLI and the server list them (the core's one file walker)."""
    from flowsight._native import walk_files

    return [Path(path) for path in walk_files([str(root)], root=str(root)).files if str(path).endswith(".py")]
