"""The benchmark's pure-Python `ast` chunker (bench/ast_chunker.py) and the native ChunkBuilder
produce the same chunks, field by field and in the same order: on hand-written edge cases and
on the whole Django 5.1.4 corpus (fetched from PyPI on first use)."""

from __future__ import annotations

from pathlib import Path

import flowsight
from bench.ast_chunker import chunk_paths
from bench.corpus import django_corpus, python_files

CASES = {
    "nested.py": '''"""Module doc."""
import os


@decorator
@other.decorator(arg=1)
class Outer(Base, metaclass=Meta):
    """Outer doc.

        indented detail
    """

    class Inner:
        def method(self, a, b: "x: y" = ":", *args, **kwargs) -> dict[str, int]:
            def local(v):
                return v
            return local(a)

    async def fetch(
        self,  # a comment inside the header
        url: str,
    ) -> bytes:
        return b""
        # a trailing comment


if os.environ.get("A"):
    def pick():
        return 1
else:
    def pick():
        return 2


def pick():
    r\'\'\'Raw docstring \\n kept.\'\'\'
''',
    "unicode.py": 'label = "😀 中文 e\\u0301"  # é\n\n\ndef après(x):\n    """Docstring: ünïcödé 😀."""\n    return f"{x!r:>10}"\n',
    "crlf.py": "import sys\r\n\r\nclass C:\r\n    def m(self):\r\n        return 1\r\n\r\nX = C()\r\n",
    "long.py": "def long(data):\n"
    + "".join(f"    value_{i} = data.get('key_{i}', {i}) * {i} + len(str(data))\n" for i in range(60))
    + "    return value_0\n"
    + "".join(f"SETTING_{i} = {{'name': 'setting_{i}', 'enabled': {i % 2 == 0}}}\n" for i in range(50)),
    "pkg/__init__.py": "",
    "pkg/sub.py": "class A:\n    pass\nclass A:\n    x = 1\n",
}


def compare(paths: list[Path], root: Path) -> None:
    baseline = chunk_paths(paths, root)
    native = [chunk.as_dict() for chunk in flowsight.build_chunks([str(p) for p in paths], root=str(root))]
    assert len(native) == len(baseline)
    for expected, actual in zip(baseline, native, strict=True):
        assert actual == expected, f"{expected['path']} {expected['qualified_name']}"


def test_edge_cases_agree(tmp_path: Path) -> None:
    root = tmp_path / "cases"
    paths = []
    for name, text in CASES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        paths.append(path)
    compare(paths, root)


def test_django_corpus_agrees() -> None:
    root = django_corpus()
    files = python_files(root / "django")
    assert len(files) == 879
    compare(files, root)
