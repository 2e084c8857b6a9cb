"""The running emulator's control endpoint, for `python -m emulator user-token`: on the Entra listener,
reachable only with the per-run secret the state file (mode 0600) holds. It is no Entra endpoint:
requests to it are neither counted nor logged, and a missing or wrong secret is a 403."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from emulator.bodies import parse_form, read_body
from emulator.errors import EmulatorError
from emulator.wire_errors import EntraError

if TYPE_CHECKING:
    from emulator.server import Services

CONTROL_HEADER = "X-Emulator-Control"
USER_TOKEN_PATH = "/_emulator/user-token"


def add_routes(router: web.UrlDispatcher, services: Services, secret: str) -> None:
    async def user_token(request: web.Request) -> web.Response:
        given = request.headers.get(CONTROL_HEADER, "")
        if not given or not secrets.compare_digest(given, secret):
            return web.json_response({"error": "the control secret of this run is required"}, status=403)
        form = parse_form(await read_body(request))
        user, client, scope = (form.get(k, "") for k in ("user", "client", "scope"))
        if not (user and client and scope):
            return web.json_response({"error": "user, client and scope are required"}, status=400)
        records = services.directory.records
        app = records.app(client)
        if app is None:
            workload = next((w for w in records.workloads if w.name == client), None)
            client = workload.app_client_id if workload is not None and workload.app_client_id else client
        try:
            token = services.entra.user_token(user, client, scope)
        except (EntraError, EmulatorError) as exc:
            text = f"AADSTS{exc.code}: {exc.message}" if isinstance(exc, EntraError) else str(exc)
            return web.json_response({"error": text}, status=400)
        return web.json_response({"access_token": token})

    router.add_post(USER_TOKEN_PATH, user_token)
