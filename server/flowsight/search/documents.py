"""Search documents: one per chunk, with the text an embedder sees.

The chunks are the documents (docs/CONTRACTS.md): a document carries the chunk's id, kind, place and
parent, plus `content_hash`, the key under which its embedding is cached. Only the chunk kinds in
`EMBEDDED_KINDS` are embedded: the repository and module chunks are covered by their children.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

EMBEDDED_KINDS = frozenset({"class", "function", "method", "module_code", "fragment"})
MAX_EMBEDDED_BYTES = 32 * 1024
"""Longer chunk texts are cut before embedding (an endpoint has an input limit; MiniLM reads 256 tokens)."""


class ChunkLike(Protocol):
    id: str
    parent_id: str | None
    kind: str
    path: str
    qualified_name: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    content_hash: str


@dataclass(frozen=True)
class Document:
    chunk_id: str
    content_hash: str
    """Cache key of the embedding: the chunk's content hash (or a hash of it with any context added)."""
    text: str
    kind: str = "function"
    path: str = ""
    qualified_name: str = ""
    parent_id: str | None = None
    start_line: int = 0
    end_line: int = 0

    @property
    def name(self) -> str:
        """The chunk's own name: the last part of its qualified name (`pkg.mod.Class.method` → `method`)."""
        return self.qualified_name.split("#", 1)[0].rsplit(".", 1)[-1]

    @property
    def embedded(self) -> bool:
        return self.kind in EMBEDDED_KINDS

    def payload(self) -> dict[str, str | int | None]:
        return {
            "chunk_id": self.chunk_id,
            "content_hash": self.content_hash,
            "kind": self.kind,
            "path": self.path,
            "qualified_name": self.qualified_name,
            "parent_id": self.parent_id,
            "start_line": self.start_line,
            "end_line": self.end_line,
        }


def chunk_text(source: bytes, chunk: ChunkLike) -> str:
    """The chunk's text: its UTF-8 byte span of the file, cut at `MAX_EMBEDDED_BYTES` (invalid bytes replaced)."""
    end = min(chunk.end_byte, chunk.start_byte + MAX_EMBEDDED_BYTES)
    return source[chunk.start_byte : end].decode("utf-8", errors="replace")


def documents_from_chunks(
    chunks: Iterable[ChunkLike],
    source_of: Callable[[str], bytes | str],
    context: bool = False,
) -> list[Document]:
    """One document per chunk, in order; `source_of(path)` gives a file's text (read once per file).

    With `context`, the text starts with a line naming the chunk (`# path: qualified.name`), and the
    cache key is the content hash combined with that line, so a moved chunk is embedded again.
    """
    sources: dict[str, bytes] = {}
    documents = []
    for chunk in chunks:
        if chunk.kind not in EMBEDDED_KINDS:
            text = ""  # not embedded: the document only places the chunk (name, parent)
        else:
            source = sources.get(chunk.path)
            if source is None:
                loaded = source_of(chunk.path)
                source = sources[chunk.path] = loaded.encode("utf-8") if isinstance(loaded, str) else loaded
            text = chunk_text(source, chunk)
        content_hash = chunk.content_hash
        if context:
            header = f"# {chunk.path}: {chunk.qualified_name}\n"
            text = header + text
            content_hash = hashlib.sha256(f"{content_hash}\0{header}".encode()).hexdigest()
        documents.append(
            Document(
                chunk_id=chunk.id,
                content_hash=content_hash,
                text=text,
                kind=chunk.kind,
                path=chunk.path,
                qualified_name=chunk.qualified_name,
                parent_id=chunk.parent_id,
                start_line=chunk.start_line,
                end_line=chunk.end_line,
            )
        )
    return documents


def chunk_header(lines: list[str], start_line: int, end_line: int, width: int = 200) -> str:
    """A chunk's first line that is not blank or a decorator (its header, usually), stripped and cut
    at `width` characters; `lines` are the file's lines, the chunk's 1-based and inclusive."""
    window = lines[max(start_line - 1, 0) : min(end_line, len(lines), start_line + 50)]
    first = next((line.strip() for line in window if line.strip() and not line.lstrip().startswith("@")), "")
    return first if len(first) <= width else first[: width - 1] + "…"
