"""The HTTP routes of the emulated Entra (HTTPS listener): discovery, keys and the token endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.bodies import parse_form, read_body
from emulator.entra import discovery
from emulator.wire_errors import EntraError

if TYPE_CHECKING:
    from emulator.server import Services


def add_routes(router: web.UrlDispatcher, services: Services) -> None:
    entra = services.entra
    serve = services.serve

    async def instance_discovery(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, _: dict[str, Any]) -> dict[str, Any]:
            return discovery.instance_discovery(entra, req.query.get("authorization_endpoint", ""))

        return await serve(request, "entra-discovery", "entra", h)

    async def discovery_v2(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, _: dict[str, Any]) -> dict[str, Any]:
            return discovery.discovery_v2(entra, req.match_info["tenant"])

        return await serve(request, "entra-discovery", "entra", h)

    async def discovery_v1(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, _: dict[str, Any]) -> dict[str, Any]:
            return discovery.discovery_v1(entra, req.match_info["tenant"])

        return await serve(request, "entra-discovery", "entra", h)

    async def keys(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, _: dict[str, Any]) -> dict[str, Any]:
            return discovery.jwks(entra, req.match_info["tenant"])

        return await serve(request, "entra-keys", "entra", h)

    async def token(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, entry: dict[str, Any]) -> dict[str, Any]:
            if req.content_type != "application/x-www-form-urlencoded":
                raise EntraError(
                    900144, "The request body must contain the following parameter: 'grant_type'."
                )
            fields = parse_form(await read_body(req))
            entry["grant_type"] = fields.get("grant_type", "")
            return entra.token(req.match_info["tenant"], fields, entry)

        return await serve(request, "entra-token", "entra", h)

    router.add_get("/common/discovery/instance", instance_discovery)
    router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", discovery_v2)
    router.add_get("/{tenant}/.well-known/openid-configuration", discovery_v1)
    router.add_get("/{tenant}/discovery/v2.0/keys", keys)
    router.add_get("/{tenant}/discovery/keys", keys)
    router.add_post("/{tenant}/oauth2/v2.0/token", token)
