"""The managed-identity endpoints of Azure hosts: IMDS (VMs, AKS nodes) and App Service / Container Apps.

Both hand out tokens signed by the emulated Entra for the identities attached to the calling host.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from emulator.directory import Host
from emulator.entra.service import Entra
from emulator.faults import FaultPlan
from emulator.records import Identity
from emulator.wire_errors import AppServiceError, EntraError, ImdsError

MI_TOKEN_LIFETIME = 86399  # the managed-identity backend hands out ~24 h tokens
CACHE_SLACK = 300  # the backend renews a cached token 5 minutes before it expires
IMDS_API_VERSION_MIN = "2018-02-01"
APPSERVICE_API_VERSION = "2019-08-01"
_IMDS_SELECTORS = ("client_id", "object_id", "msi_res_id")
_APPSERVICE_SELECTORS = ("client_id", "principal_id", "object_id", "mi_res_id")


def _select(host: Host, selector: str, value: str) -> Identity | None:
    for ident in host.attached():
        if selector == "client_id" and value.lower() == ident.client_id.lower():
            return ident
        if selector in ("object_id", "principal_id") and value.lower() == ident.principal_id.lower():
            return ident
        if (
            selector in ("msi_res_id", "mi_res_id")
            and ident.resource_id
            and value.lower() == ident.resource_id.lower()
        ):
            return ident
    return None


class ManagedIdentityEndpoints:
    def __init__(self, entra: Entra, faults: FaultPlan, *, cache_tokens: bool = True) -> None:
        self.entra = entra
        self.faults = faults
        self.cache_tokens = cache_tokens
        self._cache: dict[tuple[str, str, str, int], tuple[str, int, int]] = {}
        self._lock = threading.Lock()

    def _issue(self, ident: Identity, resource: str, endpoint: str) -> tuple[str, int, int, int]:
        """(token, iat, exp, seconds left). Like the real backend, a cached token is handed out again
        until it is within 5 minutes of expiry, so a client cannot force a refresh."""
        lifetime = self.faults.lifetime_for(endpoint) or MI_TOKEN_LIFETIME
        key = (endpoint, ident.client_id, resource, lifetime)
        now = int(self.entra.clock.now())
        if self.cache_tokens:
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None and cached[1] - CACHE_SLACK <= now < cached[2] - CACHE_SLACK:
                token, iat, exp = cached
                return token, iat, exp, exp - now
        token, iat, exp = self.entra.identity_token(ident, resource, lifetime)
        if self.cache_tokens:
            with self._lock:
                self._cache[key] = (token, iat, exp)
        return token, iat, exp, lifetime

    # ---- IMDS ---------------------------------------------------------------------------------------

    def imds(
        self, host: Host, query: Mapping[str, str], headers: Mapping[str, str], log: dict[str, Any]
    ) -> dict[str, Any]:
        if headers.get("Metadata") != "true":  # exactly "true": IMDS's guard against SSRF
            raise ImdsError(400, "bad_request_102", "Required metadata header not specified")
        version = query.get("api-version", "")
        if not version:
            raise ImdsError(400, "bad_request", "Required query variable 'api-version' is missing")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version) or version < IMDS_API_VERSION_MIN:
            raise ImdsError(
                400,
                "bad_request",
                f"Invalid api-version '{version}'; identity requires {IMDS_API_VERSION_MIN} or later",
            )
        resource = query.get("resource", "")
        if not resource:
            raise ImdsError(400, "invalid_request", "Required audience parameter not specified")
        given = [(s, query[s]) for s in _IMDS_SELECTORS if query.get(s)]
        if len(given) > 1:
            raise ImdsError(
                400, "invalid_request", "Only one of client_id, object_id or msi_res_id may be specified"
            )
        log["resource"] = resource
        if given:
            log["selector"] = given[0][0]
            ident = _select(host, *given[0])
            if ident is None:
                raise ImdsError(400, "invalid_request", "Identity not found")
        else:
            ident = self._imds_default(host)
        log["identity"] = ident.client_id
        try:
            token, iat, exp, remaining = self._issue(ident, resource, "imds")
        except EntraError as exc:
            raise ImdsError(400, exc.error, f"AADSTS{exc.code}: {exc.message}") from None
        return {
            "access_token": token,
            "client_id": ident.client_id,
            "expires_in": str(remaining),
            "expires_on": str(exp),
            "ext_expires_in": str(remaining),
            "not_before": str(iat),
            "resource": resource,
            "token_type": "Bearer",
        }

    @staticmethod
    def _imds_default(host: Host) -> Identity:
        """System-assigned if any, else the only user-assigned one."""
        if host.system_assigned is not None:
            return host.system_assigned
        if len(host.user_assigned) == 1:
            return host.user_assigned[0]
        if not host.user_assigned:
            raise ImdsError(400, "invalid_request", "Identity not found")
        raise ImdsError(
            400,
            "invalid_request",
            "Multiple user assigned identities exist, please specify the clientId / resourceId of the "
            "identity in the token request",
        )

    # ---- App Service / Container Apps ---------------------------------------------------------------

    def appservice(self, host: Host, query: Mapping[str, str], log: dict[str, Any]) -> dict[str, Any]:
        version = query.get("api-version", "")
        if version != APPSERVICE_API_VERSION:
            raise AppServiceError(
                400,
                f"The api-version '{version}' is not supported; use api-version={APPSERVICE_API_VERSION}.",
            )
        resource = query.get("resource", "")
        if not resource:
            raise AppServiceError(400, "The 'resource' query parameter is required.")
        given = [(s, query[s]) for s in _APPSERVICE_SELECTORS if query.get(s)]
        if len(given) > 1:
            raise AppServiceError(
                400, "Only one of client_id, principal_id, object_id or mi_res_id may be specified."
            )
        log["resource"] = resource
        if given:
            log["selector"] = given[0][0]
            ident = _select(host, *given[0])
            if ident is None:
                raise AppServiceError(
                    400, f"No managed identity found for the specified {given[0][0]} '{given[0][1]}'."
                )
        elif host.system_assigned is not None:
            ident = host.system_assigned
        else:
            raise AppServiceError(
                400,
                "No system-assigned managed identity is enabled for this app; specify client_id, "
                "principal_id or mi_res_id to use a user-assigned identity.",
            )
        log["identity"] = ident.client_id
        try:
            token, _iat, exp, _lifetime = self._issue(ident, resource, "appservice")
        except EntraError as exc:
            raise AppServiceError(400, f"AADSTS{exc.code}: {exc.message}") from None
        return {
            "access_token": token,
            "expires_on": str(exp),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": ident.client_id,
        }
