"""`flowsight merge FILE… [--format text|json|sarif] [--output FILE]`.

Merges the exports of several repositories (`flowsight export`): every repository's own
findings plus the flows that cross from one repository into another's exported functions
(transitively, A → B → C), paths prefixed with the repository each step is in
(`{name}/{path}`; columns are UTF-8 byte columns, as the exports hold them). No repository is
analysed again. What the exports cannot express is counted and reported (`incomplete`).

Exit 0 when there are no findings, 1 when there are, 2 on usage or input errors: a file that
is not an export, another schema version, a truncated or corrupt file, one repository twice,
exports made with different rules.
"""

from __future__ import annotations

import argparse

from flowsight import report
from flowsight.commands.common import check_output_path, fail, write_output
from flowsight.errors import FlowsightError, UsageError
from flowsight.files import read_regular_file

# An export holds every function of its repository (a large one: tens of MB).
MAX_EXPORT_BYTES = 1 << 30

# What each merge bound means (the text note, SARIF's notification).
MERGE_BOUNDS = {
    "unresolved_calls": "tainted call(s) into a merged repository naming no exported function (not followed)",
    "stores_unfollowed": "tainted argument(s) stored by the callee into an object or module state (not followed)",
    "returned_sources": "function(s) returning a source's value to another repository (not followed into the caller)",
    "fields_widened": "argument(s) passed whole where the callee reads one field (more taint)",
    "template_sinks": "template sink(s) reported at the render call",
    "ambiguous_providers": "call(s) into a package several repositories provide (connected to each)",
    "flows_limit": "flow(s) past the merge's limit (not followed)",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("merge", help="combine repositories' exports and find the flows between them")
    parser.add_argument("files", nargs="+", metavar="FILE", help="export files (`flowsight export`)")
    parser.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import flowsight._native as native

    try:
        if args.output is not None:
            check_output_path(args.output)
        files = []
        for name in args.files:
            try:
                files.append((name, read_regular_file(name, limit=MAX_EXPORT_BYTES)))
            except OSError as error:
                raise UsageError(f"{name}: cannot read: {error.strerror or error}") from None
        merged = native.merge_exports(files)
    except FlowsightError as error:
        return fail(str(error))

    findings = list(merged.findings)
    bounds = {name: count for name, count in merged.incomplete.items() if count}
    merge_note = None
    if bounds:
        parts = "; ".join(f"{count} {MERGE_BOUNDS[name]}" for name, count in sorted(bounds.items()))
        merge_note = f"note: the merge met {sum(bounds.values())} bound(s): {parts}."
    analysis_note = report.incomplete_note(merged.bounds)
    if args.format == "text":
        text = report.findings_to_text(findings)
        text += f"{merged.cross} finding(s) cross repositories, of {len(findings)} in {len(merged.repositories)} repositories.\n"
        text += "".join(note + "\n" for note in (analysis_note, merge_note) if note is not None)
    elif args.format == "json":
        document = report.findings_to_json(findings)
        document["repositories"] = [{"name": name, "id": identity, "findings": count} for name, identity, count in merged.repositories]
        document["cross_repository"] = merged.cross
        analysis = report.analysis_bounds(merged.bounds)
        document["incomplete"] = {"total": sum(analysis.values()), "bounds": analysis, "merge": bounds}
        text = report.dumps(document)
    else:
        sarif = report.findings_to_sarif(findings, "file:///", report.identity_columns, (), merged.bounds)
        if merge_note is not None:
            invocation = sarif["runs"][0]["invocations"][0]
            invocation.setdefault("toolExecutionNotifications", []).append(
                {"level": "note", "message": {"text": merge_note.removeprefix("note: ")}, "descriptor": {"id": "merge-incomplete"}}
            )
        text = report.dumps(sarif)
    try:
        write_output(text, args.output, utf8=args.format != "text")
    except FlowsightError as error:
        return fail(str(error))
    return 1 if findings else 0
