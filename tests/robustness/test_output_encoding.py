"""Issue #15: reports name files faithfully and cannot be forged by what the files hold.

- SARIF `artifactLocation.uri` is percent-encoded relative to `originalUriBaseIds` (before:
  `pct%41.py` resolved to `pctA.py`; `#`, `?`, `:` were misread).
- File names that are not UTF-8 keep their bytes (JSON: `\\udcXX` escapes that decode to the
  `os.fsdecode` name; SARIF: percent-encoded bytes; text: `\\xNN`), with the right columns (before:
  U+FFFD and every column 1).
- Text output escapes control characters in names and messages (before: raw, so a name could
  print terminal escapes or forge report lines).

The inputs are generated: every kind of awkward name below, each file with the same finding
after non-ASCII text on the sink's line.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import pytest

from robustness.harness import flowsight

URI_NAMES = [
    "pct%41.py",
    "hash#frag.py",
    "query?x=1.py",
    "colon:name.py",
    "with space.py",
    "plus+and&=.py",
    "semi;at@$.py",
    "brackets[1](2).py",
    "tilde~.py",
    "quote'\".py",
    "back\\slash.py",
    "é中😀.py",
    "dir with%/inner#.py",
    "c:/d.py",
]
NOT_UTF8_NAMES = [b"caf\xe9.py", b"\xff\xfe.py", b"mixed-\xc3\xa9-\xe9.py", b"d\xe9r/x.py"]
CONTROL_NAMES = [
    "esc\x1b[31mred.py",
    "new\nline.py",
    "carriage\rreturn.py",
    "bell\x07.py",
    "ls\u2028sep.py",
    "rtl\u202eyp.exe.py",
    "c1\x85.py",
    "csi\x9b2J.py",
    "del\x7f.py",
]
ALL_NAMES = [*(name.encode() for name in URI_NAMES), *NOT_UTF8_NAMES, *(name.encode() for name in CONTROL_NAMES)]
PREFIX = "s = 'é😀'; "
SOURCE = f"import os\nimport sys\n{PREFIX}os.system(sys.argv[1])\n"
SINK_LINE = 3
SINK_CODE_POINT_COLUMN = len(PREFIX) + 1
SINK_UTF16_COLUMN = len(PREFIX) + 2  # 😀 is two UTF-16 code units
# What text output must never print raw.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def make_project(parent: Path, directory_name: bytes = b"proj #1 %41 \xe9") -> Path:
    """A project whose own directory name needs encoding too, with one vulnerable file per name."""
    project = os.path.join(os.fsencode(parent), directory_name)
    os.mkdir(project)
    for name in ALL_NAMES:
        path = os.path.join(project, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            file.write(SOURCE.encode())
    return Path(os.fsdecode(project))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def test_sarif_uris_are_percent_encoded_and_resolve_to_the_files(project: Path) -> None:
    result = flowsight("scan", ".", "--format", "sarif", cwd=project)
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.endswith("/") and unquote_to_bytes(urlsplit(base).path) == os.fsencode(project) + b"/"
    expected = {os.fsencode(project) + b"/" + name for name in ALL_NAMES}
    sinks = set()
    for finding in run["results"]:
        locations = [finding["locations"][0], *(step["location"] for step in finding["codeFlows"][0]["threadFlows"][0]["locations"])]
        for location in locations:
            artifact = location["physicalLocation"]["artifactLocation"]
            assert artifact["uriBaseId"] == "%SRCROOT%"
            uri = artifact["uri"]
            # Only unreserved characters, `/` and percent escapes: nothing a URI reader could take
            # for a scheme, query or fragment, or decode twice.
            assert re.fullmatch(r"[A-Za-z0-9\-._~/]*(%[0-9A-F]{2}[A-Za-z0-9\-._~/]*)*", uri), uri
            resolved = urlsplit(urljoin(base, uri))
            assert (resolved.scheme, resolved.query, resolved.fragment) == ("file", "", "")
            assert unquote_to_bytes(resolved.path) in expected, uri
        sink = finding["locations"][0]["physicalLocation"]
        sinks.add(unquote_to_bytes(urlsplit(urljoin(base, sink["artifactLocation"]["uri"])).path))
        assert (sink["region"]["startLine"], sink["region"]["startColumn"]) == (SINK_LINE, SINK_UTF16_COLUMN), sink
    assert sinks == expected  # every file, under its own name


def test_json_keeps_names_that_are_not_utf8_with_the_right_columns(project: Path) -> None:
    (Path(os.fsdecode(os.fsencode(project) + b"/bin\xe9.py"))).write_bytes(b"\x00binary")
    result = flowsight("scan", ".", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    assert not re.search("[\x7f-\x9f\u2028\u2029]", result.stdout)  # escaped, as \\u0085 etc.
    report = json.loads(result.stdout)
    names = {os.fsencode(finding["sink"]["path"]) for finding in report["findings"]}
    assert names == set(ALL_NAMES)
    for finding in report["findings"]:
        assert (finding["sink"]["start_line"], finding["sink"]["start_column"]) == (SINK_LINE, SINK_CODE_POINT_COLUMN)
    [error] = report["errors"]
    assert os.fsencode(error["path"]) == b"bin\xe9.py" and error["kind"] == "binary"
    assert "bin\\xe9.py: binary:" in result.stderr  # the per-file error on stderr, escaped
    sarif = json.loads(flowsight("scan", ".", "--format", "sarif", cwd=project).stdout)
    [notification] = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bin%E9.py"


def assert_printable(text: str) -> None:
    unsafe = UNSAFE.findall(text)
    assert unsafe == [], [unicodedata.name(character, hex(ord(character))) for character in unsafe]


def test_text_output_escapes_names(project: Path) -> None:
    result = flowsight("scan", ".", cwd=project)
    assert result.returncode == 1, result.stderr
    assert_printable(result.stdout)
    lines = result.stdout.splitlines()
    headers = [line for line in lines if " [command-injection, CWE-78, threat model: local] " in line]
    assert len(headers) == len(ALL_NAMES)  # one line per finding: no name forged or split a line
    assert lines[-1] == f"{len(ALL_NAMES)} findings ({len(ALL_NAMES)} warning)."
    for expected in [
        "esc\\x1b[31mred.py",
        "new\\nline.py",
        "carriage\\rreturn.py",
        "bell\\x07.py",
        "ls\\u2028sep.py",
        "rtl\\u202eyp.exe.py",
        "c1\\u0085.py",
        "csi\\u009b2J.py",
        "del\\x7f.py",
        "caf\\xe9.py",
        "\\xff\\xfe.py",
        "mixed-é-\\xe9.py",
        "d\\xe9r/x.py",
        "pct%41.py",
        "é中😀.py",
    ]:
        header = f"{expected}:{SINK_LINE}:{SINK_CODE_POINT_COLUMN}: warning [command-injection, CWE-78, threat model: local] "
        assert any(line.startswith(header) for line in headers), expected


MESSAGE_CHARACTERS = "\x1b[2J\x07\x9b31m\u2028\u202e\x7f\x85"
ESCAPED = "\\x1b[2J\\x07\\u009b31m\\u2028\\u202e\\x7f\\u0085"


def test_text_output_escapes_messages_and_source(tmp_path: Path) -> None:
    # A step's description quotes the dict key the value went through: raw control characters.
    key = f"d['{MESSAGE_CHARACTERS}']"
    (tmp_path / "app.py").write_text(f"import os\nimport sys\nd = {{}}\n{key} = sys.argv[1]\nq = {key}\nos.system(q)\n", encoding="utf-8")
    as_json = flowsight("scan", ".", "--format", "json", cwd=tmp_path)
    [finding] = json.loads(as_json.stdout)["findings"]
    assert any("\x1b[2J\x07\x9b31m" in step["description"] for step in finding["steps"])  # JSON keeps them, escaped
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202e]", as_json.stdout)
    text = flowsight("scan", ".", cwd=tmp_path)
    assert text.returncode == 1, text.stderr
    assert_printable(text.stdout)
    assert "assigned to `d['\\x1b[2J\\x07\\u009b31m" in text.stdout
    assert len(text.stdout.splitlines()) == 1 + len(finding["steps"]) + 2  # header, steps, blank, summary
    sliced = flowsight("slice", "app.py:6", cwd=tmp_path)
    assert sliced.returncode == 0, sliced.stderr
    assert_printable(sliced.stdout)
    assert f"      4  d['{ESCAPED}'] = sys.argv[1]" in sliced.stdout.splitlines()


def test_index_and_errors_escape_names(tmp_path: Path) -> None:
    for name in CONTROL_NAMES:
        (tmp_path / name).write_bytes(b"\x00binary")
    index = flowsight("index", ".", cwd=tmp_path)
    assert index.returncode == 0, index.stderr
    assert_printable(index.stdout)
    assert "    esc\\x1b[31mred.py: binary file (NUL byte at offset 0); not indexed [binary]" in index.stdout.splitlines()
    scan = flowsight("scan", ".", cwd=tmp_path)
    assert scan.returncode == 0
    assert_printable(scan.stderr)
    assert len(scan.stderr.splitlines()) == len(CONTROL_NAMES)
    missing = flowsight("scan", "nothing\x1b[2J\nhere", cwd=tmp_path)
    assert missing.error_line() == "flowsight: error: no such file or directory: nothing\\x1b[2J\\nhere"
