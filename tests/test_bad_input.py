"""Bad input gets a clear per-file error and loses nothing else; nothing aborts the process.

Each case indexes the bad file next to a good one and checks the good one is fully indexed.
Cases that could crash a process (deep nesting, huge files) run in a subprocess, so a crash
fails the test instead of killing the test run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import flowsight

GOOD = "def good():\n    return 1\n"


def index_with_good_file(tmp_path: Path, name: str, content: bytes | None = None) -> flowsight.IndexResult:
    (tmp_path / "good.py").write_text(GOOD)
    if content is not None:
        (tmp_path / name).write_bytes(content)
    return flowsight.index_paths([str(tmp_path)], root=str(tmp_path))


def assert_good_file_indexed(result: flowsight.IndexResult) -> None:
    assert "good.good" in {c.qualified_name for c in result.chunks}


def errors_of(result: flowsight.IndexResult, path: str) -> list[tuple[str, str]]:
    return [(e.kind, e.message) for e in result.errors if e.path == path]


def test_syntax_errors_keep_the_parsable_parts(tmp_path: Path) -> None:
    source = "def ok_before():\n    pass\n\ndef broken(:\n    return (\n\nclass After:\n    def method(self):\n        pass\n"
    result = index_with_good_file(tmp_path, "broken.py", source.encode())
    assert_good_file_indexed(result)
    names = {c.qualified_name for c in result.chunks if c.path == "broken.py"}
    assert {"broken.ok_before", "broken.After", "broken.After.method"} <= names
    [(kind, message)] = errors_of(result, "broken.py")
    assert kind == "syntax" and message.startswith("line 4, column")


def test_empty_file_is_a_module_without_errors(tmp_path: Path) -> None:
    result = index_with_good_file(tmp_path, "empty.py", b"")
    assert_good_file_indexed(result)
    [module] = [c for c in result.chunks if c.path == "empty.py"]
    assert module.kind == "module" and (module.start_byte, module.end_byte) == (0, 0)
    assert errors_of(result, "empty.py") == []


def test_binary_file_is_skipped_with_an_error(tmp_path: Path) -> None:
    result = index_with_good_file(tmp_path, "blob.py", b"\x7fELF\x00\x00\x01" + bytes(range(256)))
    assert_good_file_indexed(result)
    assert not [c for c in result.chunks if c.path == "blob.py"]
    [(kind, message)] = errors_of(result, "blob.py")
    assert kind == "binary" and "NUL byte at offset 4" in message


def test_late_nul_byte_is_parsed_as_a_space(tmp_path: Path) -> None:
    source = b"# padding\n" * 1000 + b"x = 1\x00\ndef after_nul():\n    pass\n"
    result = index_with_good_file(tmp_path, "nul.py", source)
    assert "nul.after_nul" in {c.qualified_name for c in result.chunks}
    [(kind, message)] = errors_of(result, "nul.py")
    assert kind == "binary" and "line 1001" in message


def test_non_utf8_is_decoded_with_replacement(tmp_path: Path) -> None:
    source = "# caf\xe9 in latin-1\ndef latin():\n    return 'na\xefve'\n".encode("latin-1")
    result = index_with_good_file(tmp_path, "latin.py", source)
    assert_good_file_indexed(result)
    assert "latin.latin" in {c.qualified_name for c in result.chunks}
    [(kind, message)] = errors_of(result, "latin.py")
    assert kind == "not_utf8" and "offset 5, line 1" in message


def test_unreadable_files_and_broken_links(tmp_path: Path) -> None:
    os.symlink(tmp_path / "missing-target.py", tmp_path / "dangling.py")
    os.mkfifo(tmp_path / "pipe.py")  # would block a naive reader forever
    (tmp_path / "folder.py").mkdir()  # a directory with a Python name is walked, not read
    locked = tmp_path / "locked.py"
    locked.write_text("def locked():\n    pass\n")
    locked.chmod(0)
    result = index_with_good_file(tmp_path, "unused.py")
    assert_good_file_indexed(result)
    [(kind, message)] = errors_of(result, "dangling.py")
    assert kind == "io" and "broken symbolic link" in message
    [(kind, message)] = errors_of(result, "pipe.py")
    assert kind == "io" and "not a regular file" in message
    locked_errors = errors_of(result, "locked.py")
    if os.geteuid() == 0:  # root reads any file: it is indexed normally
        assert locked_errors == [] and "locked.locked" in {c.qualified_name for c in result.chunks}
    else:
        assert [kind for kind, _ in locked_errors] == ["io"]


def test_explicit_missing_path_is_an_io_error(tmp_path: Path) -> None:
    result = flowsight.index_paths([str(tmp_path / "nope.py")], root=str(tmp_path))
    [error] = result.errors
    assert error.kind == "io" and "cannot read" in error.message


def run_isolated(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_huge_file_is_skipped_with_an_error(tmp_path: Path) -> None:
    line = b"value = 'x' * 100  # padding to make the file large\n"
    (tmp_path / "huge.py").write_bytes(line * (20_000_000 // len(line) + 1))
    result = index_with_good_file(tmp_path, "unused.py")
    assert_good_file_indexed(result)
    [(kind, message)] = errors_of(result, "huge.py")
    assert kind == "too_large" and "19.1 MiB" in message


def test_huge_file_through_the_workspace_does_not_crash(tmp_path: Path) -> None:
    # An editor may still send a 20 MB buffer: it is parsed, in a subprocess for safety.
    proc = run_isolated(
        """
        import flowsight
        ws = flowsight.Workspace(".")
        text = "def f(x):\\n    return x\\n" * 900_000
        diff = ws.update_file("big.py", text, 1)
        print(len(text) // 1_000_000, len(diff.added))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    megabytes, added = map(int, proc.stdout.split())
    assert megabytes >= 20 and added == 900_001


def test_ten_thousand_levels_of_nesting_do_not_abort(tmp_path: Path) -> None:
    depth = 10_000
    deep_expressions = {
        "parens.py": "x = " + "(" * depth + "1" + ")" * depth,
        "lists.py": "x = " + "[" * depth + "]" * depth,
        "calls.py": "x = " + "f(" * depth + ")" * depth,
        "lambdas.py": "x = " + "lambda: " * depth + "0",
        "unary.py": "x = " + "-" * depth + "1",
        "chain.py": "x = a" + " + a" * (10 * depth),
    }
    for name, statement in deep_expressions.items():
        (tmp_path / name).write_text(statement + "\ndef after():\n    pass\n")
    # Indentation makes deep blocks quadratic in size: 1,000 levels is already 0.5 MB.
    blocks = "".join(" " * i + "if x:\n" for i in range(1000)) + " " * 1000 + "pass\n"
    (tmp_path / "blocks.py").write_text(blocks + "def after():\n    pass\n")
    # tree-sitter-python's scanner keeps about 500 indentation levels; CPython stops at 100.
    defs = "".join(" " * i + f"def f{i}():\n" for i in range(300)) + " " * 300 + "pass\n"
    (tmp_path / "defs.py").write_text(defs)
    (tmp_path / "good.py").write_text(GOOD)
    proc = run_isolated(
        """
        import flowsight
        result = flowsight.index_paths(["."], root=".")
        names = {c.qualified_name for c in result.chunks}
        print(sorted({(e.path, e.kind) for e in result.errors}))
        print(sorted(name for name in names if name.endswith(".after")))
        print("good.good" in names, sum(1 for c in result.chunks if c.path == "defs.py"))
        ws = flowsight.Workspace(".")
        for chunk in result.chunks:
            if chunk.kind == "module":
                ws.load_file(chunk.path)
                ws.apply_edits(chunk.path, 1, [flowsight.TextEdit(0, 0, 0, 0, "# edited\\n")])
                assert ws.sexp(chunk.path).startswith("(")
        print("workspace ok")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    errors, after, good, workspace = proc.stdout.splitlines()
    # Deep expressions are fine; 1,000 nested blocks also exceed tree-sitter's indentation
    # stack, which it reports as a syntax error.
    assert {path for path, _ in eval(errors)} == {"blocks.py", "defs.py"}
    assert {("blocks.py", "too_deep"), ("defs.py", "too_deep")} <= set(eval(errors))
    modules = sorted(name.removesuffix(".py") for name in [*deep_expressions, "blocks.py"])
    assert eval(after) == [f"{module}.after" for module in modules]
    assert good == "True 301"  # the module and every nested function
    assert workspace == "workspace ok"
