from aiohttp import web

from .reports import archive, export_report


class AdminHandlers:
    def __init__(self, backup_dir):
        self.backup_dir = backup_dir

    async def backup(self, request):
        data = await request.json()
        archive(data["directory"])
        return web.json_response({"ok": True})

    async def report(self, request):
        data = await request.post()
        export_report("all", data["format"])
        return web.json_response({"queued": True})
