"""Each emulated AKS cluster's OIDC issuer, served under the Entra listener at `/aks/<cluster>/`: the
discovery document and the JWKS that Entra fetches to check a pod's service-account token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.keys import SigningKey
from emulator.wire_errors import ImdsError

if TYPE_CHECKING:
    from emulator.server import Services


def _cluster(services: Services, name: str) -> tuple[str, SigningKey]:
    cluster = services.directory.records.cluster(name)
    if cluster is None or name not in services.cluster_keys:
        raise ImdsError(404, "not_found", f"No AKS cluster named '{name}' in the emulator's records")
    return cluster.issuer_url, services.cluster_keys[name]


def add_routes(router: web.UrlDispatcher, services: Services) -> None:
    async def aks_discovery(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, _: dict[str, Any]) -> dict[str, Any]:
            name = req.match_info["cluster"]
            issuer, _key = _cluster(services, name)
            return {
                "issuer": issuer,
                "jwks_uri": f"{services.entra.base_url}/aks/{name}/openid/v1/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        return await services.serve(request, "oidc", "oidc", h)

    async def aks_jwks(request: web.Request) -> web.StreamResponse:
        async def h(req: web.Request, _: dict[str, Any]) -> dict[str, Any]:
            _issuer, key = _cluster(services, req.match_info["cluster"])
            return {"keys": [key.jwk]}

        return await services.serve(request, "oidc", "oidc", h)

    router.add_get("/aks/{cluster}/.well-known/openid-configuration", aks_discovery)
    router.add_get("/aks/{cluster}/openid/v1/jwks", aks_jwks)
