"""Entra's discovery documents: OpenID configuration (v2 and v1), instance discovery and the tenant's JWKS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.entra.service import Entra


def discovery_v2(entra: Entra, segment: str) -> dict[str, Any]:
    tid = entra.tenant(segment, allow_common=True)
    base = f"{entra.base_url}/{segment}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": entra.cloud.v2_issuer(tid),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"https://{entra.cloud.graph_host}/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "tid",
            "ver",
        ],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": entra.cloud.cloud_instance_name,
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": entra.cloud.graph_host,
        "rbac_url": "https://pas.windows.net",
    }


def discovery_v1(entra: Entra, segment: str) -> dict[str, Any]:
    tid = entra.tenant(segment, allow_common=True)
    base = f"{entra.base_url}/{segment}"
    return {
        "token_endpoint": f"{base}/oauth2/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": entra.cloud.v1_issuer(tid),
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/devicecode",
        "end_session_endpoint": f"{base}/oauth2/logout",
        "tenant_region_scope": "NA",
        "cloud_instance_name": entra.cloud.cloud_instance_name,
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": entra.cloud.graph_host,
    }


def instance_discovery(entra: Entra, authorization_endpoint: str) -> dict[str, Any]:
    host = entra.base_url.removeprefix("https://")
    tenant = "common"
    parts = authorization_endpoint.split("/")
    if len(parts) > 3 and parts[3]:
        tenant = parts[3]
    return {
        "tenant_discovery_endpoint": f"{entra.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }


def jwks(entra: Entra, segment: str) -> dict[str, Any]:
    tid = entra.tenant(segment, allow_common=True)
    key = dict(entra.signing_key.jwk)
    key["issuer"] = entra.cloud.v2_issuer(tid)
    return {"keys": [key]}
