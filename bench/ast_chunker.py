"""The benchmark's baseline: a straightforward pure-Python chunker built on the `ast` module,
producing the same chunk set as flowsight's Rust ChunkBuilder (docs/CONTRACTS.md).
`tests/test_ast_baseline.py` checks that the two agree, field by field.

Positions: `ast` gives 1-based lines and UTF-8 byte columns; spans are converted to byte
offsets of the file through a table of line starts."""

from __future__ import annotations

import ast
import hashlib
import io
import os
import tokenize
from pathlib import Path

BUDGET = 2000
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def module_name(relative_path: str) -> str:
    stem = relative_path.rsplit(".", 1)[0] if "." in relative_path.rsplit("/", 1)[-1] else relative_path
    parts = [part for part in stem.split("/") if part and part != "."]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def chunk_id(repository: str, path: str, kind: str, qualified_name: str, disambiguator: int) -> str:
    key = f"flowsight-chunk-v1\0{repository}\0{path}\0{kind}\0{qualified_name}\0{disambiguator}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def line_starts(raw: bytes) -> list[int]:
    """Byte offsets where lines start; CRLF, CR and LF end lines (as the Rust side counts)."""
    starts = [0]
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x0A:
            starts.append(i + 1)
        elif byte == 0x0D:
            if i + 1 < len(raw) and raw[i + 1] == 0x0A:
                i += 1
            starts.append(i + 1)
        i += 1
    return starts


def collapse_header(header: str) -> str:
    """Comments dropped, whitespace outside string literals collapsed to one space."""
    out: list[str] = []
    pending = False
    i = 0

    def push(c: str) -> None:
        nonlocal pending
        if pending and out:
            out.append(" ")
        pending = False
        out.append(c)

    while i < len(header):
        c = header[i]
        if c == "#":
            while i + 1 < len(header) and header[i + 1] not in "\r\n":
                i += 1
        elif c == "\\" and i + 1 < len(header) and header[i + 1] in "\r\n":
            pending = True
        elif c.isspace():
            pending = True
        elif c in "\"'":
            push(c)
            triple = header[i + 1 : i + 3] == c * 2
            if triple:
                out.append(header[i + 1 : i + 3])
                i += 2
            closing = 0
            while i + 1 < len(header):
                i += 1
                d = header[i]
                out.append(d)
                if d == "\\":
                    if i + 1 < len(header):
                        i += 1
                        out.append(header[i])
                    closing = 0
                    continue
                if d == c:
                    closing += 1
                    if not triple or closing == 3:
                        break
                else:
                    closing = 0
                    if not triple and d in "\r\n":
                        break
        else:
            push(c)
        i += 1
    return "".join(out)


def normalised_hash(raw: bytes, starts: list[int], start: int, end: int) -> str:
    """SHA-256 of the chunk text with line endings, trailing whitespace and common indentation
    normalised; the first line counts as indented by its start column."""
    line = _line_of(starts, start)
    prefix = raw[starts[line] : start] if starts[line] <= start else b""
    if all(b in b" \t" for b in prefix):
        virtual = prefix
    else:
        virtual = b" " * len(prefix.decode("utf-8", "replace"))
    body = raw[start:end].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = [line.rstrip(b" \t\x0b\x0c") for line in body.split(b"\n")]
    lines[0] = (virtual + lines[0]).rstrip(b" \t\x0b\x0c")
    common: bytes | None = None
    for text in lines:
        if not text:
            continue
        indent = text[: len(text) - len(text.lstrip(b" \t"))]
        if common is None:
            common = indent
        else:
            shared = 0
            while shared < min(len(common), len(indent)) and common[shared] == indent[shared]:
                shared += 1
            common = common[:shared]
    cut = len(common or b"")
    return hashlib.sha256(b"\n".join(text[cut:] for text in lines)).hexdigest()


def _line_of(starts: list[int], offset: int) -> int:
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low


class FileChunker:
    def __init__(self, repository: str, repository_id: str, path: str, raw: bytes) -> None:
        self.repository = repository
        self.repository_id = repository_id
        self.path = path
        self.raw = raw
        self.text = raw.decode("utf-8")
        self.starts = line_starts(raw)
        self.ast_starts = self._ast_line_starts()

    def _ast_line_starts(self) -> list[int]:
        starts = [0]
        for i, byte in enumerate(self.raw):
            if byte == 0x0A:
                starts.append(i + 1)
        return starts

    def offset(self, line: int, column: int) -> int:
        return self.ast_starts[line - 1] + column

    def statement_start(self, node: ast.stmt) -> int:
        start = self.offset(node.lineno, node.col_offset)
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            first = self.offset(decorators[0].lineno, decorators[0].col_offset)
            at = self.raw.rindex(b"@", 0, first)
            start = min(start, at)
        return start

    def statement_end(self, node: ast.stmt) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[arg-type]

    def signature(self, node: ast.stmt) -> str:
        start = self.offset(node.lineno, node.col_offset)
        body_start = self.statement_start(node.body[0])  # type: ignore[attr-defined]
        segment = self.raw[start:body_start].decode("utf-8")
        depth = 0
        colon_end = None
        try:
            for token in tokenize.generate_tokens(io.StringIO(segment).readline):
                if token.type == tokenize.OP:
                    if token.string in "([{":
                        depth += 1
                    elif token.string in ")]}":
                        depth -= 1
                    elif token.string == ":" and depth == 0:
                        row, column = token.end
                        lines = segment.splitlines(keepends=True)
                        colon_end = len("".join(lines[: row - 1]).encode()) + len(lines[row - 1][:column].encode())
                        break
        except (tokenize.TokenError, IndentationError, SyntaxError):
            pass
        end = start + colon_end if colon_end is not None else body_start
        return collapse_header(self.raw[start:end].decode("utf-8"))

    def chunks(self, module: str) -> list[dict]:
        tree = ast.parse(self.raw)
        drafts: list[dict] = []
        drafts.append(self.draft("module", None, module, 0, len(self.raw), "", ast.get_docstring(tree, clean=True)))
        run: list[ast.stmt] = []

        def flush() -> None:
            if run:
                index = self.add(
                    drafts, "module_code", 0, f"{module}.<module>", self.statement_start(run[0]), self.statement_end(run[-1]), "", None
                )
                self.fragments(drafts, index, list(run))
                run.clear()

        for statement in tree.body:
            if isinstance(statement, DEFINITIONS):
                flush()
            else:
                run.append(statement)
        flush()
        self.walk(drafts, tree, 0)
        return self.finish(drafts)

    def walk(self, drafts: list[dict], node: ast.AST, parent: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, DEFINITIONS):
                if isinstance(child, ast.ClassDef):
                    kind = "class"
                else:
                    kind = "method" if drafts[parent]["kind"] == "class" else "function"
                index = self.add(
                    drafts,
                    kind,
                    parent,
                    f"{drafts[parent]['qualified_name']}.{child.name}",
                    self.statement_start(child),
                    self.statement_end(child),
                    self.signature(child),
                    ast.get_docstring(child, clean=True),
                )
                self.fragments(drafts, index, child.body)
                self.walk(drafts, child, index)
            elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                self.walk(drafts, child, parent)

    def draft(self, kind: str, parent: int | None, name: str, start: int, end: int, signature: str, docstring: str | None) -> dict:
        return {
            "kind": kind,
            "parent": parent,
            "qualified_name": name,
            "start_byte": start,
            "end_byte": end,
            "signature": signature,
            "docstring": docstring,
            "children": [],
        }

    def add(
        self, drafts: list[dict], kind: str, parent: int, name: str, start: int, end: int, signature: str, docstring: str | None
    ) -> int:
        drafts.append(self.draft(kind, parent, name, start, end, signature, docstring))
        drafts[parent]["children"].append(len(drafts) - 1)
        return len(drafts) - 1

    def fragments(self, drafts: list[dict], index: int, body: list[ast.stmt]) -> None:
        draft = drafts[index]
        if draft["end_byte"] - draft["start_byte"] <= BUDGET or not body:
            return
        pieces: list[list[int]] = []
        for statement in body:
            start, end = self.statement_start(statement), self.statement_end(statement)
            if pieces and end - pieces[-1][0] <= BUDGET:
                pieces[-1][1] = end
            else:
                pieces.append([start, end])
        if len(pieces) < 2:
            return
        for ordinal, (start, end) in enumerate(pieces):
            self.add(drafts, "fragment", index, f"{draft['qualified_name']}#{ordinal}", start, end, "", None)

    def finish(self, drafts: list[dict]) -> list[dict]:
        for draft in drafts:
            draft["children"].sort(key=lambda child: (drafts[child]["start_byte"], drafts[child]["kind"] != "fragment"))
        disambiguators = [0] * len(drafts)
        for draft in drafts:
            seen: dict[tuple[str, str], int] = {}
            for child in draft["children"]:
                key = (drafts[child]["kind"], drafts[child]["qualified_name"])
                disambiguators[child] = seen.get(key, 0)
                seen[key] = disambiguators[child] + 1
        ids = [""] * len(drafts)
        chunks: list[dict] = []
        stack = [0]
        while stack:
            index = stack.pop()
            draft = drafts[index]
            ids[index] = chunk_id(self.repository, self.path, draft["kind"], draft["qualified_name"], disambiguators[index])
            start, end = draft["start_byte"], draft["end_byte"]
            last = end - 1 if end > start else start
            chunks.append(
                {
                    "id": ids[index],
                    "parent_id": ids[draft["parent"]] if draft["parent"] is not None else self.repository_id,
                    "kind": draft["kind"],
                    "path": self.path,
                    "qualified_name": draft["qualified_name"],
                    "start_byte": start,
                    "end_byte": end,
                    "start_line": _line_of(self.starts, start) + 1,
                    "end_line": _line_of(self.starts, last) + 1,
                    "signature": draft["signature"],
                    "docstring": draft["docstring"],
                    "content_hash": normalised_hash(self.raw, self.starts, start, end),
                }
            )
            stack.extend(reversed(draft["children"]))
        return chunks


def repository_chunk(identity: str, name: str) -> dict:
    return {
        "id": chunk_id(identity, "", "repository", identity, 0),
        "parent_id": None,
        "kind": "repository",
        "path": "",
        "qualified_name": name,
        "start_byte": 0,
        "end_byte": 0,
        "start_line": 0,
        "end_line": 0,
        "signature": "",
        "docstring": None,
        "content_hash": hashlib.sha256(b"").hexdigest(),
    }


def chunk_paths(paths: list[Path], root: Path) -> list[dict]:
    """Chunks of `paths` (files) under `root`: the repository chunk first, then each file. Ids
    derive from the repository's identity, its root's absolute path (as the core's)."""
    repository = os.path.abspath(root)
    top = repository_chunk(repository, root.name)
    chunks = [top]
    for path in paths:
        relative = path.relative_to(root).as_posix()
        chunker = FileChunker(repository, top["id"], relative, path.read_bytes())
        chunks.extend(chunker.chunks(module_name(relative)))
    return chunks
