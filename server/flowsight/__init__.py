"""flowsight: a language server for Python codebases with a Rust core.

The public Python API re-exports the native core's types; everything LSP lives in
`flowsight.server` and nothing below it knows LSP.
"""

from flowsight import errors
from flowsight._native import (
    Chunk,
    ChunkDiff,
    FileError,
    IndexResult,
    TextEdit,
    Workspace,
    __version__,
    build_chunks,
    index_paths,
)

__all__ = [
    "Chunk",
    "ChunkDiff",
    "FileError",
    "IndexResult",
    "TextEdit",
    "Workspace",
    "__version__",
    "build_chunks",
    "errors",
    "index_paths",
]
