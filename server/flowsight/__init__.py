"""flowsight: a language server for Python codebases with a Rust core.

The public Python API re-exports the native core's types; everything LSP lives in
`flowsight.server` and nothing below it knows LSP.
"""

from flowsight import errors
from flowsight._native import __version__

__all__ = ["__version__", "errors"]
