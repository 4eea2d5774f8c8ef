"""One module per LSP method; each has `register(server)`."""

from flowsight.server.handlers import (
    did_change,
    did_close,
    did_open,
    did_save,
    execute_command,
    initialize,
    initialized,
    slice_request,
)

MODULES = [initialize, initialized, did_open, did_change, did_close, did_save, execute_command, slice_request]
