"""One module per LSP method; each has `register(server)`."""

from flowsight.server.handlers import (
    code_action,
    configuration,
    did_change,
    did_change_watched_files,
    did_change_workspace_folders,
    did_close,
    did_open,
    did_save,
    document_highlight,
    execute_command,
    explain_and_show,
    hover,
    initialize,
    initialized,
    slice_request,
    symbols,
)

MODULES = [
    initialize,
    initialized,
    configuration,
    did_open,
    did_change,
    did_close,
    did_save,
    did_change_watched_files,
    did_change_workspace_folders,
    execute_command,
    explain_and_show,
    slice_request,
    code_action,
    document_highlight,
    symbols,
    hover,
]
