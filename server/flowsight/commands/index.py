"""`flowsight index PATH… [--json] [--chunks] [--root DIR]`: parse and chunk files, print a
summary (files, chunks by kind, parse/chunk seconds, per-file errors) and, per repository (each
named directory, identified by its path; `--root`: one repository), its files and chunks.
Repositories are indexed in parallel; the project's `[tool.flowsight] exclude` applies. Exit 0
when indexing ran (per-file problems are reported, not fatal; a named path that cannot be read
is one of them), 2 on usage errors. Text output escapes control characters in names and messages."""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

import flowsight
from flowsight._native import RepositoryIndex, walk_files
from flowsight.commands.common import fail, write_output
from flowsight.config import find_pyproject, load_project_config
from flowsight.errors import FlowsightError
from flowsight.report import dumps, escape_text

KIND_ORDER = ["module", "class", "function", "method", "module_code", "fragment"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="parse and chunk Python files; print a summary")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--root", help="repository root (default: the common directory of PATHs)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--chunks", action="store_true", help="with --json: include every chunk")
    parser.set_defaults(handler=run)


def repository_summary(repository: RepositoryIndex, chunks: list) -> dict:
    """One repository of the result: name, identity (its root's path), counts."""
    own = Counter(chunk.kind for chunk in chunks[repository.chunk_start : repository.chunk_end] if chunk.kind != "repository")
    return {
        "name": repository.name,
        "id": repository.identity,
        "root": str(repository.root),
        "files": repository.files,
        "chunks": sum(own.values()),
        "chunks_by_kind": {kind: own.get(kind, 0) for kind in KIND_ORDER},
        "errors": repository.errors,
    }


def run(args: argparse.Namespace) -> int:
    for path in args.paths:
        # A broken symbolic link is a per-file error in the result, not a usage error.
        if not os.path.lexists(path):
            return fail(f"no such file or directory: {path}")
    if args.root is not None and not Path(args.root).is_dir():
        return fail(f"--root is not a directory: {args.root}")
    if args.chunks and not args.json:
        return fail("--chunks needs --json")
    started = time.perf_counter()
    try:
        discovery = walk_files(args.paths, root=args.root)
        config = load_project_config(find_pyproject(discovery.root))
        if config.exclude:
            discovery = walk_files(args.paths, root=args.root, excludes=config.excludes())
    except FlowsightError as error:
        return fail(str(error))
    result = flowsight.index_discovered(discovery)
    wall_seconds = time.perf_counter() - started
    by_kind = Counter(chunk.kind for chunk in result.chunks if chunk.kind != "repository")
    repositories = [repository_summary(repository, result.chunks) for repository in result.repositories]
    if args.json:
        report = {
            "repository": repositories[0]["name"] if repositories else None,
            "root": str(discovery.root),
            "repositories": repositories,
            "files": result.files,
            "chunks": sum(by_kind.values()),
            "chunks_by_kind": {kind: by_kind.get(kind, 0) for kind in KIND_ORDER},
            "wall_seconds": round(wall_seconds, 6),
            "parse_work_seconds": round(result.parse_work_seconds, 6),
            "chunk_work_seconds": round(result.chunk_work_seconds, 6),
            "errors": [{"path": e.path, "kind": e.kind, "message": e.message} for e in result.errors],
        }
        if args.chunks:
            report["chunk_list"] = [chunk.as_dict() for chunk in result.chunks]
        write_output(dumps(report), None, utf8=True)
        return 0
    kinds = ", ".join(f"{kind} {by_kind[kind]}" for kind in KIND_ORDER if by_kind.get(kind))
    names = ", ".join(escape_text(repr(r["name"])) for r in repositories)
    lines = [
        f"indexed {result.files} files (repositor{'y' if len(repositories) == 1 else 'ies'} {names})",
        f"  chunks   {sum(by_kind.values())}" + (f"  ({kinds})" if kinds else ""),
        f"  total    {wall_seconds:.3f} s (wall)",
        f"  parse    {result.parse_work_seconds:.3f} s (work, summed over files and threads)",
        f"  chunk    {result.chunk_work_seconds:.3f} s (work, summed over files and threads)",
        f"  errors   {len(result.errors)}",
        *(
            f"  {escape_text(repr(r['name']))} at {escape_text(r['root'])}: {r['files']} files, {r['chunks']} chunks"
            for r in repositories
            if len(repositories) > 1
        ),
        *(f"    {escape_text(f'{error.path}: {error.message} [{error.kind}]')}" for error in result.errors),
    ]
    write_output("".join(f"{line}\n" for line in lines), None, utf8=False)
    return 0
