"""Writes the seed corpus of the fuzz targets: `python3 native/fuzz/make_seeds.py [--out DIR]`.

The inputs of issue 15 that crashed, hung or blew up flowsight (deep nesting of every kind,
long call chains, huge flat scopes, long lines, line breaks LSP and CPython disagree on with
`str.splitlines`, nested same-quote f-strings, NUL bytes, invalid UTF-8), at sizes a fuzzer can
mutate quickly, plus the labelled taint fixtures and the example project. Every target gets the
same seeds (`DIR/parse`, `DIR/chunks`, `DIR/analysis`), one file per seed, named after its shape.
`native/engine/tests/fuzz_seeds.rs` runs the target bodies over these seeds on stable.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
TARGETS = ("parse", "chunks", "analysis")
DEPTH = 10_000


def deep() -> Iterator[tuple[str, str]]:
    n = DEPTH
    yield "unary_minus", "x = " + "-" * n + "1\n"
    yield "parentheses", "x = " + "(" * n + "1" + ")" * n + "\n"
    yield "attributes", "x = a" + ".b" * n + "\n"
    yield "subscripts", "x = a" + "[0]" * n + "\n"
    yield "subscript_indices", "x = " + "a[" * n + "0" + "]" * n + "\n"
    yield "called_attributes", "a" + ".b" * n + "()\n"
    yield "calls", "x = " + "f(" * n + "1" + ")" * n + "\n"
    yield "lists", "x = " + "[" * n + "]" * n + "\n"
    yield "dicts", "x = " + "{1: " * n + "1" + "}" * n + "\n"
    yield "binary_operators", "x = 1" + " + a" * n + "\n"
    yield "lambdas", "f = " + "lambda: " * n + "1\n"
    yield "not", "x = " + "not " * n + "y\n"
    yield "await", "async def f():\n    x = " + "await " * n + "y\n"
    yield "conditional_expressions", "x = " + "a if b else " * n + "c\n"
    yield "comprehensions", "x = " + "[y for y in " * 500 + "z" + "]" * 500 + "\n"
    yield "if_blocks", "".join(" " * depth + "if x:\n" for depth in range(500)) + " " * 500 + "pass\n"
    yield "functions", "".join(" " * depth + f"def f{depth}(x):\n" for depth in range(500)) + " " * 500 + "return x\n"
    yield "fstrings_nested_same_quote", "x = " + 'f"{' * 200 + "y" + '}"' * 200 + "\n"
    yield "strings_concatenated", "x = " + " ".join(['"a"'] * n) + "\n"
    yield "unclosed_brackets", "x = " + "(" * n + "\n"
    yield "decorators", "@d\n" * n + "def f():\n    pass\n"
    # Found by the harden3 audit at 100,000 deep (each recursed once per level in the analysis).
    yield "not_condition", "def f(x):\n    if " + "not " * n + "x:\n        return 1\n"
    yield "and_condition", "def f(x):\n    if " + " and ".join(["x"] * n) + ":\n        return 1\n"
    yield "or_condition", "def f(x):\n    if not (" + " or ".join(["x"] * n) + "):\n        return 1\n"
    yield "chained_assignment", "def f(q):\n    " + "x = " * n + "q\n    return x\n"


def large() -> Iterator[tuple[str, str]]:
    chain = ["def f0(x):\n    return x\n"] + [f"def f{i}(x):\n    return f{i - 1}(x)\n" for i in range(1, 2000)]
    yield "call_chain", "\n".join(chain) + "\ndef run(value):\n    return f1999(value)\n"
    yield "recursive_cycle", "\n".join(f"def g{i}(x):\n    return g{(i + 1) % 200}(x)\n" for i in range(200))
    yield "flat_scope", "x = 1\n" * 20_000 + "print(x)\n"
    yield "long_line_list", "x = [" + ", ".join(str(i) for i in range(50_000)) + "]\n"
    yield "many_fstrings", "x = 1\n" + "".join(f'y{i} = f"{{f"{{f"{{x}}"}}"}}"\n' for i in range(2000))
    yield "wide_function", "def run(a):\n" + "".join(f"    v{i} = a[{i}] + v{max(i - 1, 0)}\n" for i in range(5000)) + "    return v4999\n"


def line_breaks() -> Iterator[tuple[str, str]]:
    program = "import os\nfrom flask import request\n\ndef run(value):\n    command = request.args['q']\n    os.system(command)\n"
    yield "lone_cr", program.replace("\n", "\r")
    yield "crlf", program.replace("\n", "\r\n")
    yield "mixed_breaks", program.replace("\n", "\r", 3).replace("\n", "\r\n", 2)
    for name, separator in {"u2028": "\u2028", "x85": "\x85", "form_feed": "\x0c", "vertical_tab": "\x0b"}.items():
        yield f"not_a_break_{name}", f"# before{separator}after\n" + program


def odd_bytes() -> Iterator[tuple[str, bytes]]:
    yield "nul_bytes", b"x = 1\0\ndef f():\0\n    return 1\n"
    yield "bom", b"\xef\xbb\xbfimport os\nos.system(input())\n"
    yield "invalid_utf8", b"x = '\xff\xfe'\ndef f(\x80):\n    return 1\n"
    yield "empty", b""
    yield "only_newlines", b"\n" * 1000


def found() -> Iterator[tuple[str, str]]:
    """Inputs cargo-fuzz found failing (since fixed), kept so the seed run on stable checks them."""
    # chunks: a class defined twice (here after a syntax error) gave its methods duplicate ids.
    handler = "class CommandHandler(tornado.web.RequestHandler):\n    def get(self):\n        pass\n\n    def post(self):\n"
    yield "class_defined_twice", "import tornado.web\n\n" + handler + "o: broken\n" + handler + "        pass\n"


def corpus() -> Iterator[tuple[str, bytes]]:
    for generator in (deep, large, line_breaks, found):
        for name, text in generator():
            yield name, text.encode("utf-8")
    yield from odd_bytes()
    for directory in (REPOSITORY / "tests" / "fixtures" / "taint", REPOSITORY / "examples" / "vulnerable_app"):
        for path in sorted(directory.rglob("*.py")):
            relative = path.relative_to(REPOSITORY).with_suffix("")
            yield "_".join(relative.parts), path.read_bytes()


def write(out: Path) -> int:
    count = 0
    for target in TARGETS:
        directory = out / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for name, data in corpus():
            # libFuzzer names corpus files by content hash; a readable prefix says where one came from.
            (directory / f"{name}-{hashlib.sha1(data).hexdigest()[:8]}").write_bytes(data)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "corpus", help="corpus directory (default: native/fuzz/corpus)")
    args = parser.parse_args()
    print(f"{write(args.out)} seeds written under {args.out}")


if __name__ == "__main__":
    main()
