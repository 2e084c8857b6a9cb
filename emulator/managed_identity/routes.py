"""The HTTP routes of the managed-identity endpoints: IMDS (one listener, a path per emulated host) and
the App Service / Container Apps identity endpoint (the host found by its X-IDENTITY-HEADER)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from emulator.directory import DEFAULT_HOST
from emulator.wire_errors import AppServiceError

if TYPE_CHECKING:
    from emulator.server import Services


def add_imds_routes(router: web.UrlDispatcher, services: Services) -> None:
    async def imds(request: web.Request) -> web.StreamResponse:
        host_name = unquote(request.match_info.get("host", DEFAULT_HOST))
        host = services.directory.hosts.get(host_name)
        if host is None:
            body = {"error": "not_found", "error_description": f"Unknown host '{host_name}'"}
            return web.json_response(body, status=404)

        async def h(req: web.Request, entry: dict[str, Any]) -> dict[str, Any]:
            return services.mi.imds(host, req.query, req.headers, entry)

        return await services.serve(request, "imds", "imds", h, host)

    router.add_get("/metadata/identity/oauth2/token", imds)
    router.add_get("/hosts/{host}/metadata/identity/oauth2/token", imds)


def add_appservice_routes(router: web.UrlDispatcher, services: Services) -> None:
    async def appservice(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("X-IDENTITY-HEADER")
        host = services.directory.host_by_header(header) if header else None

        async def h(req: web.Request, entry: dict[str, Any]) -> dict[str, Any]:
            if not header:
                raise AppServiceError(400, "The X-IDENTITY-HEADER request header is required.")
            if host is None:
                raise AppServiceError(
                    401, "The X-IDENTITY-HEADER value does not match this host's identity header."
                )
            return services.mi.appservice(host, req.query, entry)

        return await services.serve(request, "appservice", "appservice", h, host)

    router.add_get("/msi/token", appservice)
