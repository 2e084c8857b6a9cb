"""App roles end to end: a downstream API (aiohttp) validates the caller's token with PyJWT against the
emulator's keys and requires an app role; the emulator puts ``roles`` in the token only for the app role
assignments of the plan, as Entra does.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
from aiohttp import web

from certless_ops.demo import chain
from certless_ops.storage_rbac import fetch_jwks

from .support import Chain, Plan, emulator_for

pytestmark = pytest.mark.e2e

WORKLOAD = "batch-web"
APP = "azuread:index/application:Application"
ROLE = "Ledger.Read"

# The app process: certless's credential from its settings, one call to the API, the API's answer on
# stdout (never the token).
CALLER = """
import json, os, sys, urllib.request, urllib.error
import certless
token = certless.credential_from_settings().get_token(os.environ["LEDGER_SCOPE"]).token
request = urllib.request.Request(os.environ["LEDGER_URL"], headers={"Authorization": "Bearer " + token})
try:
    with urllib.request.urlopen(request, timeout=30) as resp:
        print(json.dumps({"status": resp.status, "body": json.loads(resp.read())}))
except urllib.error.HTTPError as err:
    www = err.headers.get("WWW-Authenticate")
    print(json.dumps({"status": err.code, "body": json.loads(err.read()), "www": www}))
"""


class LedgerApi:
    """A web API as a user would write it: bearer token, signature and audience checked, a role required."""

    def __init__(self, keys: jwt.PyJWKSet, audience: str, issuer: str, role: str) -> None:
        self.keys, self.audience, self.issuer, self.role = keys, audience, issuer, role
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    async def entries(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._deny(401, "invalid_token", "no bearer token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = next(k for k in self.keys.keys if k.key_id == kid)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer
            )
        except (jwt.PyJWTError, StopIteration) as exc:
            return self._deny(401, "invalid_token", type(exc).__name__)
        if self.role not in (claims.get("roles") or []):
            return self._deny(403, "insufficient_scope", f"the {self.role} app role is required")
        return web.json_response({"caller": claims["oid"], "roles": claims["roles"], "entries": []})

    @staticmethod
    def _deny(status: int, error: str, description: str) -> web.Response:
        www = f'Bearer error="{error}", error_description="{description}"'
        return web.json_response({"error": error}, status=status, headers={"WWW-Authenticate": www})

    def __enter__(self) -> LedgerApi:
        async def start() -> None:
            app = web.Application()
            app.router.add_get("/entries", self.entries)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def ledger_client_id(doc: dict[str, Any]) -> str:
    return str(
        next(r for r in doc["resources"] if r["type"] == APP and r["name"] == "ledger")["outputs"]["clientId"]
    )


@pytest.fixture
def e2e(chains: dict[str, Chain]) -> Chain:
    return chains["e2e"]


def call(c: Chain, api: LedgerApi, client_id: str) -> dict[str, Any]:
    env = c.env(WORKLOAD)
    env["LEDGER_SCOPE"] = f"api://{client_id}/.default"
    env["LEDGER_URL"] = f"http://127.0.0.1:{api.port}/entries"
    proc = subprocess.run(
        [sys.executable, "-c", CALLER],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=chain.APP_SCRIPT.parent,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def ledger(c: Chain) -> Iterator[tuple[LedgerApi, str]]:
    tenant = c.plan.doc["outputs"]["tenantId"]
    keys = fetch_jwks(f"{c.emulator.entra_url}/{tenant}/discovery/keys", c.emulator.ca_bundle_path)
    client_id = ledger_client_id(c.plan.doc)
    # A v1 token (the app's manifest does not ask for v2): aud is the identifier URI, iss the v1 STS.
    issuer = f"https://sts.windows.net/{tenant}/"
    with LedgerApi(keys, f"api://{client_id}", issuer, ROLE) as api:
        yield api, client_id


def test_the_assigned_app_role_is_in_the_token_and_the_api_lets_the_app_in(e2e: Chain) -> None:
    with ledger(e2e) as (api, client_id):
        result = call(e2e, api, client_id)
    assert result["status"] == 200, result
    assert result["body"]["roles"] == [ROLE], "only the assigned role, not Ledger.Write"
    sp = next(
        r
        for r in e2e.plan.doc["resources"]
        if r["type"].endswith("servicePrincipal:ServicePrincipal") and r["name"] == "batch"
    )
    assert result["body"]["caller"] == sp["outputs"]["objectId"], "the caller is the app's service principal"


def test_without_the_app_role_assignment_the_api_answers_403(e2e: Chain) -> None:
    def no_assignment(doc: dict[str, Any]) -> None:
        doc["resources"] = [r for r in doc["resources"] if not r["type"].endswith("AppRoleAssignment")]

    broken = e2e.plan.broken(no_assignment)
    with emulator_for(broken) as emu:
        c = Chain(Plan(e2e.plan.stack, e2e.plan.path, broken), emu, e2e.azurite)
        with ledger(c) as (api, client_id):
            result = call(c, api, client_id)
    assert result["status"] == 403
    assert result["body"] == {"error": "insufficient_scope"}
    assert 'error_description="the Ledger.Read app role is required"' in result["www"]


def test_a_token_for_another_audience_is_refused_by_the_api(e2e: Chain) -> None:
    with ledger(e2e) as (api, client_id):
        api.audience = "api://00000000-0000-0000-0000-000000000000"
        result = call(e2e, api, client_id)
    assert result["status"] == 401
    assert "InvalidAudienceError" in result["www"]
