"""The exception hierarchy of flowsight. The native core raises these (see native/python/src/errors.rs)."""


class FlowsightError(Exception):
    """Base class of every error flowsight raises on purpose."""


class FileReadError(FlowsightError, OSError):
    """A file could not be read (missing, unreadable, a broken symlink)."""


class InvalidEditError(FlowsightError, ValueError):
    """An edit's range lies outside the document or is otherwise malformed."""


class UnknownFileError(FlowsightError, KeyError):
    """An operation named a file the workspace does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; we don't want that
        return str(self.args[0]) if self.args else ""


class RuleConfigError(FlowsightError, ValueError):
    """A rule pack or configuration file is invalid; the message names file, line and problem."""


class ConfigError(FlowsightError, ValueError):
    """The project or editor configuration is invalid; the message names the file and key."""


class UsageError(FlowsightError):
    """Bad command-line arguments."""


class SearchIndexError(FlowsightError, RuntimeError):
    """The search index failed (not the query: any text is a valid query)."""


class MergeError(FlowsightError, ValueError):
    """An export that cannot be made, a file `flowsight merge` cannot read (not an export,
    another schema version, truncated or corrupt), or exports that do not go together (one
    repository twice, different rules)."""


class InternalError(FlowsightError, RuntimeError):
    """A bug inside flowsight's engine (a Rust panic), raised instead of ending the process.
    The message starts with "internal error"; the workspace stays usable."""
