"""`python -m flowsight`: the command line (see `flowsight.cli`).

`python -m` puts the working directory first on `sys.path`. Started in a project, the
project's own modules would then shadow the ones flowsight imports (a `json.py` or
`argparse.py` there would run). That entry is removed here, before anything else is
imported. What the interpreter imports before this module runs — its `-m` machinery
(`importlib.util`, `contextlib`, `collections`, …) and the name `flowsight` itself — cannot
be protected from here: `python -P -m flowsight` and the `flowsight` script never put the
working directory on `sys.path` at all.
"""

import sys


def _drop_working_directory_from_path() -> None:
    if sys.flags.safe_path or not sys.path:
        return  # `-P` / PYTHONSAFEPATH: nothing was inserted
    import os  # already loaded by the interpreter's startup, never looked up on sys.path

    try:
        working_directory = os.getcwd()
    except OSError:  # the working directory was deleted: nothing can be imported from it
        working_directory = None
    if sys.path[0] in ("", os.curdir, working_directory):
        del sys.path[0]


_drop_working_directory_from_path()

from flowsight.cli import main  # noqa: E402  (only after the working directory is off sys.path)

raise SystemExit(main())
