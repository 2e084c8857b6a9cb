"""The HTTP routes of the emulated Entra (HTTPS listener): discovery, keys and the token endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.bodies import parse_form, read_body
from emulator.entra import discovery, sign_in
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

    def _answer(outcome: sign_in.Outcome, entry: dict[str, Any]) -> web.StreamResponse:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if outcome.location:
            entry["redirect"] = True
            headers["Location"] = outcome.location
            return web.Response(status=outcome.status, headers=headers)
        return web.Response(
            status=outcome.status,
            text=outcome.html,
            content_type="text/html",
            charset="utf-8",
            headers=headers,
        )

    async def authorize(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, entry: dict[str, Any]) -> web.StreamResponse:
            entry["client_id"] = req.query.get("client_id", "")
            return _answer(sign_in.authorize(entra, req.match_info["tenant"], req.query), entry)

        return await serve(request, "entra-authorize", "entra", h)

    async def login(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, entry: dict[str, Any]) -> web.StreamResponse:
            fields = parse_form(await read_body(req))
            return _answer(sign_in.sign_in(entra, req.match_info["tenant"], fields, entry), entry)

        return await serve(request, "entra-authorize", "entra", h)

    router.add_get("/common/discovery/instance", instance_discovery)
    router.add_get("/{tenant}/oauth2/v2.0/authorize", authorize)
    router.add_post("/{tenant}/login", login)
    router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", discovery_v2)
    router.add_get("/{tenant}/.well-known/openid-configuration", discovery_v1)
    router.add_get("/{tenant}/discovery/v2.0/keys", keys)
    router.add_get("/{tenant}/discovery/keys", keys)
    router.add_post("/{tenant}/oauth2/v2.0/token", token)
