"""`initialized`: settings from `workspace/configuration`, problems found so far shown, a watcher
for pyproject.toml files (when the client registers watchers dynamically), what the last run
published republished from the persistent cache when it holds for the files as they are now
(before any parsing), then every workspace folder indexed in the background with work-done
progress when the client supports it, then one announced analysis (with its own progress)."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from flowsight.server.handlers.configuration import fetch_configuration

log = logging.getLogger("flowsight.server")


async def watch_project_files(server) -> None:  # noqa: ANN001
    capabilities = server.client_capabilities
    watched = capabilities.workspace.did_change_watched_files if capabilities.workspace else None
    if not (watched and watched.dynamic_registration):
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[types.FileSystemWatcher(glob_pattern="**/pyproject.toml")])
    try:
        await server.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(id="flowsight-pyproject", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)
                ]
            )
        )
    except Exception as error:  # noqa: BLE001 - a client may refuse
        log.warning("client/registerCapability failed: %s", error)


def register(server) -> None:  # noqa: ANN001
    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        session = server.session
        await fetch_configuration(server)
        session.release_problems()
        await watch_project_files(server)
        capabilities = server.client_capabilities
        progress = bool(capabilities.window and capabilities.window.work_done_progress)
        if progress:
            session.progress = server.begin_progress
        loop = asyncio.get_running_loop()
        # What the last run published, when the persistent cache holds it for the files as they
        # are now: published before anything is parsed (a restart shows its diagnostics at once).
        listed = {}
        for folder in list(session.folders):
            files, found = await loop.run_in_executor(None, session.published_again, folder)
            listed[folder.root] = files
            if found is not None:
                log.info("%s: %d files published from the cache", folder.root, session.publish_again(folder, found))
            # The folder's modules are known: documents opened already get their imports.
            session.prepare_open_documents(folder, folder.foreground)
        reporter = await server.begin_progress("flowsight: indexing", percentage=0) if progress else None
        indexed = 0
        for number, folder in enumerate(list(session.folders), start=1):
            indexed += await loop.run_in_executor(None, session.index_folder, folder, False, listed.get(folder.root))
            if reporter is not None:
                reporter.report(f"{indexed} files", int(100 * number / max(len(session.folders), 1)))
        if reporter is not None:
            reporter.end(f"indexed {indexed} files")
        session.generation += 1
        session.schedule(announce=True)
