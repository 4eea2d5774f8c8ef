"""`flowsight scan PATH… [--format text|json|sarif] [--rules FILE] [--threat-models remote,local] [--output FILE]
[--cache-dir DIR | --no-cache]`.

Exit 0 when there are no findings, 1 when there are, 2 on usage or input errors.
Configuration comes from the nearest `pyproject.toml` `[tool.flowsight]` (see flowsight.config);
command-line flags add to it. Per-file problems (files not read or not fully parsed,
subdirectories that cannot be listed) are reported on stderr and in the JSON (`errors`) and
SARIF (tool execution notifications) reports; they do not change the exit status.
The persistent cache (flowsight.cache) makes a repeated scan analyse only what changed; a cache
that cannot be used is rebuilt with a one-line notice on stderr, never trusted.
"""

from __future__ import annotations

import argparse

from flowsight import report
from flowsight.cache import cache_dir
from flowsight.commands.common import (
    ColumnCache,
    PathNames,
    PathProblem,
    add_analysis_arguments,
    analysis_options,
    check_output_path,
    fail,
    resolve_targets,
    warn,
    write_output,
)
from flowsight.errors import FlowsightError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan", help="find taint paths (untrusted input reaching a dangerous sink)")
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="files or directories; each directory a repository (imports resolve across them)"
    )
    parser.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    add_analysis_arguments(parser)
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--root", metavar="DIR", help="analyse PATHs as one repository rooted here")
    parser.add_argument("--cache-dir", metavar="DIR", help="the persistent cache's directory (default: .flowsight-cache/ at the root)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the persistent cache")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import flowsight

    try:
        if args.output is not None:
            check_output_path(args.output)  # before the analysis, not after it
        targets = resolve_targets(args.paths, args.root)
        root, config, files = targets.root, targets.config, targets.files
        options = analysis_options(config, args.rules, args.disable, args.threat_models)
        cache = cache_dir(root, config, cache_dir=args.cache_dir, no_cache=args.no_cache)
        # Each repository its own program unless one imports another's package (see the core's
        # scan.rs); one cache for the scan, holding each program's analysis.
        analysis = flowsight.analyze_discovered(
            targets.discovery,
            rules_file=options.rules_file,
            disabled_rules=options.disabled_rules,
            threat_models=options.threat_models,
            cache_dir=None if cache is None else str(cache),
        )
    except FlowsightError as error:
        return fail(str(error))
    for problem in (analysis.cache.get("notice"), analysis.cache.get("write_error")):
        if problem is not None:
            warn(f"cache: {problem}")

    names = PathNames(root, files)
    findings = sorted(analysis.findings, key=lambda f: (f.sink.path, f.sink.start_line, f.sink.start_column, f.rule_id))
    findings = [report.with_paths(report.with_severity(f, config.severity_overrides.get(f.rule_id)), names.original) for f in findings]
    # The core's errors include the directories the walk could not list (targets.problems).
    problems = [PathProblem(names.original(error.path), error.kind, error.message) for error in analysis.errors]
    for problem in problems:
        warn(f"{problem.path}: {problem.kind}: {problem.message}")
    note = report.incomplete_note(analysis.stats)

    columns = ColumnCache(root)
    if args.format == "text":
        text = report.findings_to_text(findings, columns.code_points)
        if note is not None:
            text += note + "\n"
    elif args.format == "json":
        document = report.findings_to_json(findings, columns.code_points)
        # Paths are relative to `root`; each named directory is a repository (identified by its path).
        document["root"] = str(root)
        document["repositories"] = [
            {"name": r.name, "id": r.identity, "root": str(r.root), "files": len(r.files)} for r in targets.discovery.repositories
        ]
        document["errors"] = [{"path": p.path, "kind": p.kind, "message": p.message} for p in problems]
        bounds = report.analysis_bounds(analysis.stats)
        document["incomplete"] = {"total": sum(bounds.values()), "bounds": bounds}
        text = report.dumps(document)
    else:
        text = report.dumps(report.findings_to_sarif(findings, report.directory_uri(root), columns.utf16, problems, analysis.stats))

    try:
        write_output(text, args.output, utf8=args.format != "text")
    except FlowsightError as error:
        return fail(str(error))
    return 1 if findings else 0
