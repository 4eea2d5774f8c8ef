"""`flowsight export REPO [--output FILE] [--name NAME] [--rules FILE] [--disable RULE] [--threat-models MODELS]`.

Analyses one repository and writes its export for `flowsight merge`: a schema-versioned JSON
file with the repository's identity (its root's path, the top-level packages it provides and
those it imports), the summaries of its functions and methods by module-qualified name, its
findings, and its calls into modules it does not contain with the taint of each argument (see
ARCHITECTURE.md, "Exports and merges"). CI jobs on separate machines export their repositories;
one merge finds the flows between them without analysing any repository again.

Exit 0 when written (findings or not), 2 on usage or input errors. Per-file problems are
reported on stderr, as `scan` reports them.
"""

from __future__ import annotations

import argparse

from flowsight.commands.common import add_analysis_arguments, analysis_options, check_output_path, fail, resolve_targets, warn, write_output
from flowsight.errors import FlowsightError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="analyse one repository and write its summaries for `flowsight merge`")
    parser.add_argument("path", metavar="REPO", help="the repository's directory")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the export here instead of stdout")
    parser.add_argument("--name", help="the repository's name in merged paths (default: its directory's name)")
    add_analysis_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import flowsight._native as native

    try:
        if args.output is not None:
            check_output_path(args.output)
        targets = resolve_targets([args.path], None)
        config = targets.config
        options = analysis_options(config, args.rules, args.disable, args.threat_models)
        text, errors = native.export_discovered(
            targets.discovery,
            rules_file=options.rules_file,
            disabled_rules=options.disabled_rules,
            threat_models=options.threat_models,
            name=args.name,
        )
        for error in errors:
            warn(f"{error.path}: {error.kind}: {error.message}")
        write_output(text + "\n", args.output, utf8=True)
    except FlowsightError as error:
        return fail(str(error))
    return 0
