import logging

from aiohttp import web

logger = logging.getLogger("school.audit")


@web.middleware
async def audit_log(request, handler):
    logger.info("request for " + request.headers.get("User-Agent", "-"))
    return await handler(request)
