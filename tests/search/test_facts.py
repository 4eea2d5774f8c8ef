"""What the analysis knows per chunk (`flowsight.search.facts`): findings by their sink's innermost
chunk, sink kinds along each path, sources read — on the example project and on hand-made places."""

from __future__ import annotations

from dataclasses import dataclass, field

import flowsight
from conftest import REPOSITORY_ROOT
from flowsight.search.facts import NO_FACTS, ChunkFacts, facts_by_chunk, innermost


@dataclass
class Chunk:
    id: str
    kind: str
    start_line: int
    end_line: int


@dataclass
class Place:
    path: str
    start_line: int


@dataclass
class Finding:
    rule_id: str
    source: Place
    sink: Place
    steps: list[Place] = field(default_factory=list)


CHUNKS = {
    "a.py": [
        Chunk("module", "module", 1, 30),
        Chunk("fragment", "fragment", 2, 9),
        Chunk("View", "class", 2, 20),
        Chunk("View.get", "method", 3, 10),
        Chunk("helper", "function", 22, 30),
    ]
}


def chunks_of(path: str) -> list[Chunk]:
    return CHUNKS[path]  # KeyError for other files: skipped


def test_the_innermost_placed_chunk_holds_a_line() -> None:
    assert innermost(CHUNKS["a.py"], 4).id == "View.get"  # 0-based line 4 is line 5; fragments never
    assert innermost(CHUNKS["a.py"], 14).id == "View"
    assert innermost(CHUNKS["a.py"], 20).id == "module"
    assert innermost(CHUNKS["a.py"], 40) is None


def test_sinks_count_findings_paths_reach_sources_read() -> None:
    findings = [
        Finding("sql-injection", source=Place("a.py", 3), sink=Place("a.py", 25), steps=[Place("a.py", 3), Place("a.py", 24)]),
        Finding("command-injection", source=Place("a.py", 3), sink=Place("a.py", 26)),
        Finding("xss", source=Place("b.py", 1), sink=Place("a.py", 15)),
    ]
    facts = facts_by_chunk(findings, chunks_of)
    assert facts["View.get"] == ChunkFacts(0, ("command-injection", "sql-injection"), True)
    assert facts["helper"] == ChunkFacts(2, ("command-injection", "sql-injection"), False)
    assert facts["View"] == ChunkFacts(1, ("xss",), False)  # the source in b.py is unknown here
    assert set(facts) == {"View.get", "helper", "View"}
    assert facts["helper"].matches(["sql-injection"]) and not facts["helper"].matches(["sql-injection"], reads_input=True)
    assert facts["View.get"].matches(["xss", "command-injection"], reads_input=True)
    assert NO_FACTS.matches() and not NO_FACTS.matches(reads_input=True) and not NO_FACTS.matches(["xss"])


def test_on_the_example_project() -> None:
    example = REPOSITORY_ROOT / "examples" / "vulnerable_app"
    workspace = flowsight.Workspace(str(example))
    workspace.load_files([str(path) for path in sorted((example / "shop").glob("*.py"))])
    facts = facts_by_chunk(workspace.analyze_taint(), workspace.chunks)
    names = {chunk.id: chunk.qualified_name for key in workspace.files() for chunk in workspace.chunks(key)}
    by_name = {names[chunk_id]: fact for chunk_id, fact in facts.items()}
    # The route reads the form field; the helper in files.py holds the sink.
    assert by_name["shop.views.archive"] == ChunkFacts(0, ("command-injection",), True)
    assert by_name["shop.files.compress"] == ChunkFacts(1, ("command-injection",), False)
    assert by_name["shop.db.find_products"] == ChunkFacts(1, ("sql-injection",), False)
    assert "shop.files.compress_safely" not in by_name and "shop.db.find_product_safely" not in by_name
    assert sum(fact.findings for fact in facts.values()) == len(workspace.analyze_taint())
