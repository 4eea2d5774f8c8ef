"""flowsight: a language server for Python codebases with a Rust core.

The public Python API re-exports the native core's types; everything LSP lives in
`flowsight.server` and nothing below it knows LSP.
"""

from flowsight import errors
from flowsight._native import (
    Chunk,
    ChunkDiff,
    FileError,
    Finding,
    IndexResult,
    PathStep,
    Pdg,
    SearchHit,
    Slice,
    TaintAnalysis,
    TextEdit,
    Workspace,
    __version__,
    analyze_discovered,
    analyze_taint,
    build_chunks,
    build_pdg,
    index_discovered,
    index_paths,
    slice_code,
    walk_files,
)

__all__ = [
    "Chunk",
    "ChunkDiff",
    "FileError",
    "Finding",
    "PathStep",
    "Pdg",
    "build_pdg",
    "SearchHit",
    "Slice",
    "slice_code",
    "TaintAnalysis",
    "analyze_taint",
    "analyze_discovered",
    "index_discovered",
    "walk_files",
    "IndexResult",
    "TextEdit",
    "Workspace",
    "__version__",
    "build_chunks",
    "errors",
    "index_paths",
]
