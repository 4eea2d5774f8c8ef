"""What the taint analysis knows about each chunk, for search results and their filters.

From the findings of one analysis, per chunk (the innermost module, class, function, method or
module-code chunk around a place; fragments and the repository never):
- `findings`: how many findings have their sink in the chunk;
- `reaches`: the rule ids (sink kinds: "sql-injection", "command-injection", …) of the findings
  whose path passes through the chunk — its source, any step or its sink;
- `reads_input`: whether a finding's source (user input) is read in the chunk.

So a view that reads `request.GET` and hands it to a helper that runs SQL reads input and
reaches "sql-injection"; the helper reaches "sql-injection" and holds the finding. What no
finding connects to a sink is not known here (an input read that reaches nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

PLACED_KINDS = frozenset({"module", "class", "function", "method", "module_code"})


class ChunkPlace(Protocol):
    id: str
    kind: str
    start_line: int  # 1-based, inclusive
    end_line: int


class Place(Protocol):
    path: str
    start_line: int  # 0-based


class FindingLike(Protocol):
    rule_id: str
    source: Place
    sink: Place
    steps: Sequence[Place]


@dataclass(frozen=True)
class ChunkFacts:
    findings: int = 0
    reaches: tuple[str, ...] = ()
    reads_input: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"findings": self.findings, "reaches": list(self.reaches), "reads_input": self.reads_input}

    def matches(self, reaches: Collection[str] = (), reads_input: bool = False) -> bool:
        """Whether the chunk passes the filters: it reaches one of `reaches` (when given) and reads
        input (when asked)."""
        if reads_input and not self.reads_input:
            return False
        return not reaches or any(kind in self.reaches for kind in reaches)


NO_FACTS = ChunkFacts()


def innermost(chunks: Iterable[ChunkPlace], line: int) -> ChunkPlace | None:
    """The smallest placed chunk holding 0-based `line`."""
    best = None
    for chunk in chunks:
        if chunk.kind in PLACED_KINDS and chunk.start_line <= line + 1 <= chunk.end_line:
            if best is None or chunk.end_line - chunk.start_line < best.end_line - best.start_line:
                best = chunk
    return best


def facts_by_chunk(findings: Iterable[FindingLike], chunks_of: Callable[[str], Sequence[ChunkPlace]]) -> dict[str, ChunkFacts]:
    """Facts of every chunk some finding touches; `chunks_of(path)` gives a file's chunks (asked
    once per file; a file it cannot give raises KeyError and is skipped)."""
    files: dict[str, Sequence[ChunkPlace]] = {}

    def chunk_at(place: Place) -> str | None:
        if place.path not in files:
            try:
                files[place.path] = chunks_of(place.path)
            except KeyError:
                files[place.path] = ()
        chunk = innermost(files[place.path], place.start_line)
        return chunk.id if chunk is not None else None

    counts: dict[str, int] = {}
    reaches: dict[str, set[str]] = {}
    reading: set[str] = set()
    for finding in findings:
        sink = chunk_at(finding.sink)
        source = chunk_at(finding.source)
        if sink is not None:
            counts[sink] = counts.get(sink, 0) + 1
        if source is not None:
            reading.add(source)
        on_path = {sink, source, *(chunk_at(step) for step in finding.steps)}
        for chunk_id in on_path:
            if chunk_id is not None:
                reaches.setdefault(chunk_id, set()).add(finding.rule_id)
    return {
        chunk_id: ChunkFacts(counts.get(chunk_id, 0), tuple(sorted(reaches.get(chunk_id, ()))), chunk_id in reading)
        for chunk_id in counts.keys() | reaches.keys() | reading
    }
