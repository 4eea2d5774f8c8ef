"""Deep and large inputs that used to crash or take minutes, each in a bounded subprocess
(address space, CPU seconds, wall clock): slicing and scanning a program holding them must
succeed and keep every other file's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustness.harness import flowsight
from robustness.test_scale import VULNERABLE, assert_app_finding_survives, assert_bounded

DEEP = {
    "signs": "x = " + "-" * 10_000 + "1\n",
    "parentheses": "x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n",
    "attributes": "x = a" + ".b" * 10_000 + "\n",
    "subscripts": "x = a" + "[0]" * 10_000 + "\n",
    "called_attributes": "a" + ".b" * 10_000 + "()\n",
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_slice_and_scan_a_program_holding_a_deep_expression(tmp_path: Path, shape: str) -> None:
    (tmp_path / "deep.py").write_text(DEEP[shape])
    (tmp_path / "app.py").write_text(VULNERABLE)
    sliced = flowsight("slice", "app.py:7", ".", "--format", "json", cwd=tmp_path)
    assert sliced.returncode == 0, sliced.stderr
    assert json.loads(sliced.stdout)["files"] == {"app.py": [1, 2, 6, 7]}
    deep_slice = flowsight("slice", "deep.py:1", ".", cwd=tmp_path)
    assert deep_slice.returncode == 0, deep_slice.stderr
    scanned = flowsight("scan", ".", "--format", "json", cwd=tmp_path)
    assert scanned.returncode == 1, scanned.stderr  # the finding in app.py survives
    findings = json.loads(scanned.stdout)["findings"]
    assert [(f["sink"]["path"], f["sink"]["start_line"]) for f in findings] == [("app.py", 7)]


HUNDRED_THOUSAND = 100_000
# Found by the harden3 audit: each crashed the whole scan (SIGSEGV, every other file's findings
# lost) and most the slice too, at 100,000 deep (10,000 fit the engine's 64 MiB stacks): the
# guards on a branch (`not`, `and`, `or` taken apart by recursion), constant conditions (`not`)
# and chained assignments (`a = b = …`) recursed once per level. (line of the deep construct, text)
DEEPER = {
    "not-in-module-condition": (2, "x = 1\nif " + "not " * HUNDRED_THOUSAND + "x:\n    y = 2\n"),
    "not-in-function-condition": (
        4,
        "from flask import request\n\n\ndef f():\n    x = request.args['a']\n    if "
        + "not " * HUNDRED_THOUSAND
        + "x:\n        return 1\n    return x\n",
    ),
    "while-not": (2, "def f(b):\n    while " + "not " * HUNDRED_THOUSAND + "b:\n        b = 1\n"),
    "assert-not": (2, "def f(x):\n    assert " + "not " * HUNDRED_THOUSAND + "x\n"),
    "and-chain": (2, "def f(x):\n    if " + " and ".join(["x"] * HUNDRED_THOUSAND) + ":\n        return 1\n"),
    "or-chain": (2, "def f(x):\n    if not (" + " or ".join(["x"] * HUNDRED_THOUSAND) + "):\n        return 1\n"),
    "chained-assignment-in-function": (2, "def f(q):\n    " + "x = " * HUNDRED_THOUSAND + "q\n    return x\n"),
    "chained-assignment-in-module": (1, "x = " * HUNDRED_THOUSAND + "1\n"),
}


@pytest.mark.parametrize("shape", sorted(DEEPER))
def test_conditions_and_assignment_chains_a_hundred_thousand_deep(tmp_path: Path, shape: str) -> None:
    line, text = DEEPER[shape]
    (tmp_path / "deep.py").write_text(text)
    (tmp_path / "app.py").write_text(VULNERABLE)
    assert_app_finding_survives(tmp_path)
    sliced = flowsight("slice", f"deep.py:{line}", ".", "--format", "json", cwd=tmp_path)
    assert sliced.returncode == 0, sliced.stderr
    assert line in json.loads(sliced.stdout)["files"]["deep.py"]


def test_slices_of_a_hundred_thousand_statement_scope_are_fast_and_small(tmp_path: Path) -> None:
    # Was quadratic (115 s, 5 GB); the harness bounds CPU time and address space.
    (tmp_path / "flat.py").write_text("x = 1\n" * 100_000 + "print(x)\n")
    result = flowsight("slice", "flat.py:100001", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"] == {"flat.py": [100000, 100001]}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" + ".b" * 20_000 + "()\n", id="call-ending-an-attribute-chain"),
        pytest.param("x = " + "f(" * 20_000 + "1" + ")" * 20_000 + "\n", id="nested-calls"),
    ],
)
def test_calls_twenty_thousand_deep_are_checked_in_linear_time(tmp_path: Path, text: str) -> None:
    # Found by cargo-fuzz (analysis, timeouts on the 10,000-deep seeds): the non-taint checks
    # looked up each call's enclosing function by walking up with tree-sitter's `parent` (itself
    # a walk down from the root): 10,000 deep took 3 s and 6 s, the chain 20,000 deep 11 s.
    (tmp_path / "deep.py").write_text(text)
    (tmp_path / "app.py").write_text(VULNERABLE)
    scanned = assert_app_finding_survives(tmp_path)
    assert scanned.seconds < 5, f"{scanned.seconds:.1f} s"


def test_slices_through_a_two_thousand_function_call_chain_are_not_cubic(tmp_path: Path) -> None:
    # Found by cargo-fuzz (analysis, a timeout on the call-chain seed): each function of the chain
    # reads the names of all it calls, and list look-ups over them made a backward slice from the
    # middle take 54 s (1,000 functions: 18 s); now 2.5 s.
    chain = ["def f0(x):\n    return x\n"] + [f"def f{i}(x):\n    return f{i - 1}(x)\n" for i in range(1, 2000)]
    (tmp_path / "chain.py").write_text("\n".join(chain) + "\ndef run(value):\n    return f1999(value)\n")
    result = flowsight("slice", "chain.py:3002", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = json.loads(result.stdout)["files"]["chain.py"]
    assert 3002 in lines and 1 in lines  # down the chain to f0
    assert result.seconds < 20, f"{result.seconds:.1f} s"


def call_chain(length: int) -> str:
    """`f0` … `f{length-1}`, each calling the previous one, and `run` calling the last."""
    chain = ["def f0(x):\n    return x\n"] + [f"def f{i}(x):\n    return f{i - 1}(x)\n" for i in range(1, length)]
    return "\n".join(chain) + f"\ndef run(value):\n    return f{length - 1}(value)\n"


def test_a_twenty_thousand_function_call_chain_scans_and_slices_in_seconds_and_under_a_gigabyte(tmp_path: Path) -> None:
    # Issue 15: scanning a 20,000-function chain aborted at 16 GB (now 2 s, 0.2 GB). Slicing it
    # aborted too (5,000 functions: 25 s, 2.2 GB): each call step used every name its callee
    # reads through the chain (N² names), now one `Reads` node per function.
    text = call_chain(20_000)
    (tmp_path / "chain.py").write_text(text)
    (tmp_path / "app.py").write_text(VULNERABLE)
    scanned = assert_app_finding_survives(tmp_path)
    assert scanned.seconds < 20, f"{scanned.seconds:.1f} s"
    last = len(text.splitlines())
    sliced = flowsight("slice", f"chain.py:{last}", ".", "--format", "json", cwd=tmp_path)
    assert sliced.returncode == 0, sliced.stderr
    lines = json.loads(sliced.stdout)["files"]["chain.py"]
    assert len(lines) == 2 * 20_000 + 2  # every function's header and return, and `run`'s
    assert_bounded(sliced)
    assert sliced.seconds < 20, f"{sliced.seconds:.1f} s"
