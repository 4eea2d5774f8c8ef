"""Which documents the analysis reads: Python files (`.py`, `.pyi`) and template files (what the
core's walker lists as templates: `.html`, `.jinja`, `.j2`, …; `.txt` and `.xml` below a
`templates` directory). A template's findings (a context value written unescaped) are published on
the template, and editing it re-analyses (only the join of render sites with templates reruns)."""

from __future__ import annotations

from flowsight._native import is_template_path


def is_analysed(uri: str) -> bool:
    """Whether a `file:` URI (or a path) names a document the analysis reads."""
    return uri.endswith((".py", ".pyi")) or is_template_path(uri)
