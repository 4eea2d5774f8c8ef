"""Inline expectations of taint fixtures, shared by the Python and Rust fixture tests (the format is
documented in tests/fixtures/taint/README.md; native/engine/tests/taint_fixtures.rs parses it too).

    name = request.args["name"]      # source[a]        the path `a` starts on this line
    command = "finger " + name       # step[a]          and passes through this one
    os.system(command)               # sink[a]: CWE-78  to a finding with this CWE here
    os.system("uptime")              # ok               no finding may start on this line

Every finding is expected by a `sink[label]` marker; its source line and its step lines (each line
the path visits other than its source and sink lines) must be exactly those marked with the label."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SINK_MARK = re.compile(r"\bsink\[([^\]]*)\]:\s*(CWE-\d+(?:\s*,\s*CWE-\d+)*)")
PATH_MARK = re.compile(r"\b(source|step)\[([^\]]*)\]")
# Markers of the old format (or misspelt ones), which would otherwise be silently ignored.
BARE_MARK = re.compile(r"#\s*(?:source|step)\s*(?:$|:)|\bsink:|\bsink\[[^\]]*\](?!:\s*CWE-\d)")
OK_MARK = re.compile(r"#\s*ok\b")

Place = tuple[str, int]
"""(path relative to the program root, 0-based line)."""


@dataclass
class Marked:
    """What the markers say about one label: its sink lines, source lines and step lines."""

    sinks: list[Place] = field(default_factory=list)
    sources: list[Place] = field(default_factory=list)
    steps: set[Place] = field(default_factory=set)


@dataclass
class Expectations:
    sinks: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    """(path, 0-based line, cwe) → how many findings."""
    labels: dict[tuple[str, int, int], list[tuple[str, str]]] = field(default_factory=dict)
    """(path, 0-based line, cwe) → (the sink's file, label) of each path reaching it."""
    paths: dict[tuple[str, str], Marked] = field(default_factory=dict)
    """(the sink's file, label) → its path."""
    ok: set[Place] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def _label(relative: str, raw: str) -> tuple[str, str]:
    """(the sink's file, label) of a label as written in `relative`: `a`, or `a@other.py` (relative to
    the directory of `relative`) for a path whose sink is in another file."""
    label, _, file = raw.strip().partition("@")
    if not file:
        return relative, label
    return posixpath.normpath(PurePosixPath(relative).parent.joinpath(file).as_posix()), label


TEMPLATE_SUFFIXES = {".html", ".htm", ".jinja", ".jinja2", ".j2", ".jhtml", ".djhtml", ".xhtml"}
"""Template files anywhere (as the engine's walker lists them, `templates::is_template_path`)."""
TEMPLATE_DIRECTORY_SUFFIXES = {".txt", ".xml", ".svg", ".tmpl", ".tpl"}
"""Template files only below a `templates` directory."""


def is_template(path: Path) -> bool:
    """Whether the engine reads `path` as a template (markers there: `{# sink[a]: CWE-79 #}`)."""
    suffix = path.suffix.lower()
    return suffix in TEMPLATE_SUFFIXES or (suffix in TEMPLATE_DIRECTORY_SUFFIXES and "templates" in path.parts)


def marked_files(root: Path) -> list[Path]:
    """The .py files and template files under root, sorted."""
    return sorted(path for path in root.rglob("*") if path.is_file() and (path.suffix == ".py" or is_template(path)))


def expectations(root: Path) -> Expectations:
    """The expectations of every .py and template file under root (paths relative to root)."""
    found = Expectations()
    for path in marked_files(root):
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            where = f"{relative}:{number + 1}"
            if BARE_MARK.search(line):
                found.errors.append(f"{where}: a marker needs a label, e.g. `# source[a]` and `# sink[a]: CWE-89`: {line.strip()}")
            marked = False
            for match in SINK_MARK.finditer(line):
                marked = True
                key = _label(relative, match.group(1))
                if key[0] != relative or not re.fullmatch(r"\w+", key[1]):
                    found.errors.append(f"{where}: a sink's label is one word, in the sink's own file: {match.group(0)}")
                found.paths.setdefault(key, Marked()).sinks.append((relative, number))
                for cwe in match.group(2).split(","):
                    sink = (relative, number, int(cwe.strip().removeprefix("CWE-")))
                    found.sinks[sink] += 1
                    found.labels.setdefault(sink, []).append(key)
            for match in PATH_MARK.finditer(line):
                for raw in match.group(2).split(","):
                    if not raw.strip():
                        found.errors.append(f"{where}: `{match.group(0)}` has an empty label")
                    marks = found.paths.setdefault(_label(relative, raw), Marked())
                    if match.group(1) == "source":
                        marks.sources.append((relative, number))
                    else:
                        marks.steps.add((relative, number))
            if not marked and OK_MARK.search(line):
                found.ok.add((relative, number))
    for (file, label), marks in sorted(found.paths.items()):
        if not marks.sinks:
            where = ", ".join(f"{p}:{n + 1}" for p, n in sorted([*marks.sources, *marks.steps]))
            found.errors.append(f"{where}: no `sink[{label}]` in {file}")
        elif len(marks.sources) != 1:
            sinks = ", ".join(f"{p}:{n + 1}" for p, n in marks.sinks)
            lines = ", ".join(f"{p}:{n + 1}" for p, n in marks.sources) or "none"
            found.errors.append(f"{sinks}: `sink[{label}]` needs exactly one `source[{label}]` line, found {lines}")
    return found


def _place(place: Place) -> str:
    return f"{place[0]}:{place[1] + 1}"


def path_of(finding) -> tuple[Place, set[Place], int]:
    """A finding's source line, the lines its steps visit other than its source's and its sink's, and
    how many steps its trace left out (a trace longer than the engine keeps has one `elided` step)."""
    source = (finding.source.path, finding.source.start_line)
    sink = (finding.sink.path, finding.sink.start_line)
    steps = {(step.path, step.start_line) for step in finding.steps} - {source, sink}
    elided = sum(int(step.description.split()[0]) for step in finding.steps if step.kind == "elided")
    return source, steps, elided


def path_differences(marked: Marked, finding) -> list[str]:
    """How `finding`'s path differs from the markers of its label, one line per difference."""
    source, steps, elided = path_of(finding)
    differences = []
    if source != marked.sources[0]:
        differences.append(f"    source   expected {_place(marked.sources[0])}, found {_place(source)}")
    missing = sorted(marked.steps - steps)
    # Lines the trace left out (it says how many steps) are not missing.
    if len(missing) > elided:
        differences.extend(f"    step     missing  {_place(place)}" for place in missing)
    differences.extend(f"    step     extra    {_place(place)}" for place in sorted(steps - marked.steps))
    return differences


def compare(root: Path, findings: list) -> list[str]:
    """Mismatches between expectations under `root` and findings (paths relative to root)."""
    expected = expectations(root)
    problems = list(expected.errors)
    actual: Counter[tuple[str, int, int]] = Counter()
    described: dict[tuple[str, int, int], str] = {}
    for finding in findings:
        key = (finding.sink.path, finding.sink.start_line, finding.cwe)
        actual[key] += 1
        source, steps, _ = path_of(finding)
        described[key] = f" (source {_place(source)}" + "".join(f", step {_place(step)}" for step in sorted(steps)) + ")"
        if key not in expected.labels:
            continue
        # The label whose source is the finding's, else the first.
        labels = expected.labels[key]
        file, label = next((known for known in labels if expected.paths[known].sources[:1] == [source]), labels[0])
        marked = expected.paths[(file, label)]
        if len(marked.sources) != 1:
            continue
        if differences := path_differences(marked, finding):
            problems.append(f"path       {key[0]}:{key[1] + 1} CWE-{key[2]} [{label}] differs from its markers:\n" + "\n".join(differences))
    for key in sorted(set(expected.sinks) | set(actual)):
        path, line, cwe = key
        if expected.sinks[key] > actual[key]:
            problems.append(f"missed     {path}:{line + 1} CWE-{cwe}")
        elif actual[key] > expected.sinks[key]:
            kind = "ok-line" if (path, line) in expected.ok else "unexpected" if key not in expected.sinks else "repeated"
            problems.append(f"{kind:10} {path}:{line + 1} CWE-{cwe}{described[key]}")
    return problems
