"""Benchmark corpora, fetched from PyPI into `bench/.cache/` (git-ignored) once.

The Django 5.1.4 wheel's `django/` package: 879 files, about 155k lines; sympy 1.13.3's sdist
`sympy/` package: 1,517 files, about 740k lines. The scaling curve's workspaces put several
packages side by side: Django, sympy, SQLAlchemy, ansible-core, botocore and boto3 (about 1.33M
lines), then also numpy, scipy and pandas (about 2.67M lines), the `.py` files of their wheels."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
DJANGO_VERSION = "5.1.4"
SYMPY_VERSION = "1.13.3"


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


def sdist_corpus(project: str, version: str, package: str) -> Path:
    """The directory holding `package/` from project==version's source distribution (downloaded
    with pip, hashes checked by pip, unpacked once with tarfile's `data` filter)."""
    root = CACHE / f"{project.lower()}-{version}"
    marker = root / ".complete"
    if marker.is_file():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = CACHE / f"{project.lower()}-{version}.tar.gz"
    if not archive.is_file():
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        command += ["--dest", str(CACHE), f"{project}=={version}"]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0 or not archive.is_file():
            raise SystemExit(f"bench: cannot download the {project} {version} sdist from PyPI: {completed.stderr.strip()}")
    prefix = f"{project.lower()}-{version}/{package}/"
    with tarfile.open(archive) as tar:
        members = [member for member in tar.getmembers() if member.name.startswith(prefix)]
        for member in members:
            member.name = member.name[len(f"{project.lower()}-{version}/") :]
        tar.extractall(root, members=members, filter="data")
    marker.write_text("ok\n")
    return root


def sympy_corpus() -> Path:
    """The directory holding sympy's `sympy/` package (from its sdist)."""
    return sdist_corpus("sympy", SYMPY_VERSION, "sympy")


# The wheels of the scaling curve's larger workspaces: (project, version). Wheels built for a
# platform hold the same `.py` files as their pure-Python parts, which is all that is extracted.
SCALE_WHEELS_1_3M = [("SQLAlchemy", "2.0.36"), ("ansible-core", "2.18.1"), ("botocore", "1.35.80"), ("boto3", "1.35.80")]
SCALE_WHEELS_2_7M = SCALE_WHEELS_1_3M + [("numpy", "2.1.3"), ("scipy", "1.14.1"), ("pandas", "2.2.3")]


def scale_workspace(name: str, wheels: list[tuple[str, str]]) -> Path:
    """A directory holding Django's and sympy's packages and every top-level package of the
    given wheels side by side (their `.py` files only), assembled once: a workspace whose
    imports resolve from that directory."""
    root = CACHE / f"scale-{name}"
    marker = root / ".complete"
    if marker.is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(django_corpus() / "django", root / "django")
    shutil.copytree(sympy_corpus() / "sympy", root / "sympy")
    for project, version in wheels:
        with zipfile.ZipFile(fetch_wheel(project, version)) as archive:
            for member in archive.namelist():
                top = member.split("/", 1)[0]
                if member.endswith(".py") and "." not in top:
                    archive.extract(member, root)
    marker.write_text("ok\n")
    return root


def workspace_packages(root: Path) -> list[Path]:
    """The top-level packages (directories holding `__init__.py`) of a workspace directory."""
    return sorted(path for path in root.iterdir() if (path / "__init__.py").is_file())


def python_files(root: Path) -> list[Path]:
    """The `.py` files of `root` as the CLI and the server list them (the core's one file walker)."""
    from flowsight._native import walk_files

    return [Path(path) for path in walk_files([str(root)], root=str(root)).files if str(path).endswith(".py")]
