"""SignedAssertionFromManagedIdentity: the managed identity's token for the token-exchange audience.

Where the token comes from depends on the host:
- AKS with workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID and
  AZURE_AUTHORITY_HOST set): two hops. The projected service-account token is exchanged at Entra for
  the user-assigned identity's own token (audience api://AzureADTokenExchange); that token is the app's
  assertion.
- App Service, Functions, Container Apps (IDENTITY_ENDPOINT + IDENTITY_HEADER) and VMs (IMDS): MSAL's
  ManagedIdentityClient, over an HTTP client that retries what IMDS documents as transient.
Identity endpoints are only ever contacted on loopback or link-local addresses.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from certless import _jwt
from certless._engine import TokenResult, acquire, token_error
from certless._http import IDENTITY_POLICY, HttpClient, Response, TransportError, parse_retry_after
from certless._sources.base import ASSERTION_MARGIN, AssertionSource, SourceContext, log
from certless._sources.token_file import SignedAssertionFilePathSource
from certless._urls import AmbiguousUrlError, split_strict
from certless.errors import CredentialUnavailableError, IdentityEndpointError, InsecureEndpointError
from certless.settings import CredentialDescription

AKS_VARS = ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST")
ENDPOINT_VARS = ("IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST")
FALLBACK_FIX = (
    "This host has no managed identity endpoint (not on Azure, or managed identity is off). On a "
    "laptop or in CI, add a fallback source after this one, e.g. SignedAssertionFilePath or "
    "ClientSecret, or run the certless emulator."
)


def detect_host(environ: Mapping[str, str] | None = None) -> str:
    """The kind of managed identity host, from the environment (same precedence as certless uses)."""
    env = os.environ if environ is None else environ
    if all(env.get(v) for v in AKS_VARS):
        return "aks"
    if env.get("IDENTITY_ENDPOINT") and env.get("IDENTITY_HEADER"):
        if env.get("IDENTITY_SERVER_THUMBPRINT"):
            return "servicefabric"
        return "containerapp" if env.get("CONTAINER_APP_NAME") else "appservice"
    if env.get("IDENTITY_ENDPOINT") and env.get("IMDS_ENDPOINT"):
        return "arc"
    if env.get("MSI_ENDPOINT"):
        return "azureml"
    return "imds"


def check_identity_endpoint(name: str, url: str) -> None:
    """Refuse identity endpoints that are not loopback or link-local: they would receive our requests
    for the identity's token, so a hijacked variable must not be able to point them elsewhere."""
    try:
        parts = split_strict(url if "//" in url else f"http://{url}")
    except AmbiguousUrlError:
        parts = None
    host = (parts.hostname or "").lower() if parts else ""
    ok = host == "localhost"
    if parts is not None and not ok:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        ok = ip is not None and (
            ip in ipaddress.ip_network("127.0.0.0/8")
            or ip == ipaddress.ip_address("::1")
            or ip in ipaddress.ip_network("169.254.0.0/16")
        )
    if not ok or parts is None or parts.scheme not in ("http", "https"):
        raise InsecureEndpointError(
            f"Refusing the managed identity endpoint {name}={url!r}: identity endpoints must be on "
            "loopback (127.0.0.0/8, ::1, localhost) or link-local (169.254.0.0/16) addresses.",
            fix=f"Unset or correct {name}; Azure sets it to a local address on hosts with managed identity.",
        )


_TENANT_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def aks_authority(authority_host: str, tenant: str) -> str:
    """The authority from the variables the AKS webhook sets: AZURE_AUTHORITY_HOST must be a login host
    only (a path there would name another tenant to MSAL), AZURE_TENANT_ID one tenant ID or domain."""
    try:
        parts = split_strict(authority_host)
    except AmbiguousUrlError as exc:
        raise InsecureEndpointError(
            f"Refusing AZURE_AUTHORITY_HOST={authority_host[:100]!r}: a URL with one unambiguous host is "
            f"needed (this one has {exc.reason}).",
            fix="Set AZURE_AUTHORITY_HOST to the cloud's login host, e.g. https://login.microsoftonline.com/.",
        ) from None
    if parts.path.strip("/") or parts.query or parts.fragment or authority_host.endswith(("?", "#")):
        raise InsecureEndpointError(
            f"Refusing AZURE_AUTHORITY_HOST={authority_host[:100]!r}: it must be the login host only, "
            "nothing after it (a path would name another tenant).",
            fix="Set AZURE_AUTHORITY_HOST to the cloud's login host, e.g. https://login.microsoftonline.com/.",
        )
    if not _TENANT_ID.match(tenant):
        raise CredentialUnavailableError(
            f"AZURE_TENANT_ID={tenant[:80]!r} is not a tenant ID or domain.",
            fix="Set AZURE_TENANT_ID to the identity's tenant ID (the workload identity webhook sets it).",
        )
    return f"{parts.scheme}://{parts.netloc}/{tenant}"


def _identity_failure(
    status: int,
    text: str,
    endpoint: str,
    mi_client_id: str | None,
    attempts: int,
    *,
    retry_after: float | None = None,
) -> IdentityEndpointError | CredentialUnavailableError:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    message = ""
    if isinstance(body, dict):
        message = str(body.get("error_description") or body.get("message") or body.get("error") or "")
    shown = message[:300] or text[:120].replace("\n", " ")
    lowered = (message or text).lower()
    who = f"the user-assigned identity {mi_client_id}" if mi_client_id else "the system-assigned identity"
    if status == 400 and "multiple" in lowered:
        return IdentityEndpointError(
            f"The managed identity endpoint {endpoint} answered 400: {shown}",
            fix="Several identities are assigned to this compute and none was chosen: set "
            "ManagedIdentityClientId on the SignedAssertionFromManagedIdentity credential.",
            status=status,
            endpoint=endpoint,
        )
    missing = ("not found", "no managed identity", "no system-assigned", "not assigned")
    if status == 400 and mi_client_id is None and any(m in lowered for m in missing):
        # The system-assigned identity was asked for (no ManagedIdentityClientId) and there is none:
        # on hosts with user-assigned identities only, the identity must be named.
        return IdentityEndpointError(
            f"The managed identity endpoint {endpoint} answered 400: {shown}",
            fix="No ManagedIdentityClientId is set, so the system-assigned identity was asked for and this "
            "compute has none: set ManagedIdentityClientId on the SignedAssertionFromManagedIdentity "
            "credential to the client ID of the user-assigned identity attached to it (or enable the "
            "system-assigned identity).",
            status=status,
            endpoint=endpoint,
        )
    if status == 400 and any(m in lowered for m in missing):
        return IdentityEndpointError(
            f"The managed identity endpoint {endpoint} answered 400: {shown}",
            fix=f"Assign {who} to this compute, or correct ManagedIdentityClientId (it is the identity's "
            "client ID, not its principal ID).",
            status=status,
            endpoint=endpoint,
        )
    if status == 401 and os.environ.get("IDENTITY_HEADER"):
        # App Service, Functions and Container Apps check X-IDENTITY-HEADER against the value they gave
        # this process: a 401 means the value sent is not that one (copied from elsewhere, or stale).
        return IdentityEndpointError(
            f"The managed identity endpoint {endpoint} answered 401: {shown}",
            fix="The platform refused IDENTITY_HEADER: the value this process has is wrong or stale. Do not "
            "set IDENTITY_HEADER yourself (not in app settings, a .env file or a container image): the "
            "platform sets it for each process. Remove any such setting and restart the app so that it "
            "gets the current value.",
            status=status,
            endpoint=endpoint,
        )
    if status == 403 and "unreachable" in lowered:
        return CredentialUnavailableError(
            f"The managed identity endpoint {endpoint} is unreachable (403: {shown})", fix=FALLBACK_FIX
        )
    retried = f" after {attempts} attempts" if attempts > 1 else ""
    return IdentityEndpointError(
        f"The managed identity endpoint {endpoint} answered {status}{retried}: {shown}",
        fix="Transient statuses (404, 410, 429, 5xx) were retried with backoff; if it persists, check the "
        "compute's managed identity configuration in the Azure portal."
        if status in IDENTITY_POLICY.statuses
        else f"Check that {who} is assigned to this compute.",
        status=status,
        endpoint=endpoint,
        retry_after=retry_after,  # the chain waits at least this long before asking again
    )


class _IdentityHttp(HttpClient):
    """Turns the final failed response (after retries) into a clear error instead of handing MSAL a body
    it would misread (it never looks at the status code)."""

    def __init__(self, *args: Any, mi_client_id: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mi_client_id = mi_client_id

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> Response:
        before = self.attempts
        try:
            response = self.request("GET", url, params=params, headers=headers)
        except TransportError as exc:
            raise CredentialUnavailableError(
                f"The managed identity endpoint {url} did not answer "
                f"({exc}; {self.attempts - before} attempts).",
                fix=FALLBACK_FIX,
                # Nothing listens (refused, unreachable): not this kind of host. Timeout/reset: busy.
                transient=exc.retryable and not exc.connect,
            ) from None
        if response.status_code >= 400:
            raise _identity_failure(
                response.status_code,
                response.text,
                url,
                self.mi_client_id,
                self.attempts - before,
                retry_after=parse_retry_after(response.headers, self.clock.time()),
            )
        _check_token_answer(response, url)
        return response


def _check_token_answer(response: Response, url: str) -> None:
    """A 200 must be a JSON object with a token: anything else (truncated, HTML from a captive portal,
    an empty body, a list) is one bad answer, reported as such and retried later, never handed to
    MSAL, which would fail on it with an error that says nothing about the endpoint."""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
        what = "a body that is not JSON" if response.text.strip() else "an empty body"
    else:
        what = "JSON without an access_token"
    if isinstance(body, dict) and isinstance(body.get("access_token"), str) and body["access_token"]:
        return
    raise IdentityEndpointError(
        f"The managed identity endpoint {url} answered HTTP 200 with {what}.",
        fix="Usually one bad answer, retried on a later call; if it persists, check that IDENTITY_ENDPOINT / "
        "AZURE_POD_IDENTITY_AUTHORITY_HOST point at the identity endpoint and nothing else (a proxy or "
        "captive portal answers HTML).",
        endpoint=url,
    )


class ManagedIdentitySource(AssertionSource):
    def __init__(self, description: CredentialDescription, ctx: SourceContext) -> None:
        super().__init__(description, ctx)
        audience = description.token_exchange_url or ctx.settings.cloud.token_exchange_audience
        self.audience = audience.removesuffix("/.default")
        self._mi: Any = None
        self._sa: SignedAssertionFilePathSource | None = None
        self.host = ""

    # ------------------------------------------------------------------ App Service, Container Apps, IMDS

    def _mi_client(self, fresh: bool) -> Any:
        if self._mi is None or fresh:
            import msal

            mi_id = self.description.managed_identity_client_id
            identity = (
                msal.UserAssignedManagedIdentity(client_id=mi_id)
                if mi_id
                else msal.SystemAssignedManagedIdentity()
            )
            http = _IdentityHttp(
                self.ctx.identity_transport,
                policy=self.ctx.identity_policy,
                clock=self.ctx.clock,
                name="managed identity endpoint",
                mi_client_id=mi_id,
            )
            # A fresh client has an empty token cache: a rejected or expiring token is not reused.
            self._mi = msal.ManagedIdentityClient(identity, http_client=http)
        return self._mi

    def _fetch_from_endpoint(self, fresh: bool, claims: str | None) -> tuple[str, float]:
        for name in ENDPOINT_VARS:
            if os.environ.get(name):
                check_identity_endpoint(name, os.environ[name])
        if not self.description.managed_identity_client_id:
            log.info(
                "%s: no ManagedIdentityClientId, using the system-assigned identity (Entra accepts only "
                "user-assigned identities as federated credentials of apps)",
                self.label,
            )
        now = self.ctx.clock.time()
        try:
            # With claims MSAL bypasses its MI cache (and names the token to replace, where the host
            # takes it), so the client and its cache are kept.
            client = self._mi_client(fresh and claims is None)
            result = client.acquire_token_for_client(resource=self.audience, claims_challenge=claims)
        except json.JSONDecodeError:
            raise IdentityEndpointError(
                "The managed identity endpoint answered with something that is not JSON.",
                fix="Check that IDENTITY_ENDPOINT / AZURE_POD_IDENTITY_AUTHORITY_HOST point at the identity "
                "endpoint and nothing else (a proxy or captive portal answers HTML).",
            ) from None
        if not result.get("access_token"):
            detail = str(
                result.get("error_description") or result.get("error") or "no access_token in the answer"
            )
            raise IdentityEndpointError(
                f"The managed identity endpoint returned no token: {detail[:300]}",
                fix="Check the identity and the audience (TokenExchangeUrl) requested.",
            )
        token = str(result["access_token"])
        return token, _expiry(token, now + float(result.get("expires_in", 0)))

    # --------------------------------------------------------------------------------------- AKS two hops

    def _fetch_on_aks(self, fresh: bool, claims: str | None) -> tuple[str, float]:
        env = os.environ
        identity_client_id = self.description.managed_identity_client_id or env["AZURE_CLIENT_ID"]
        tenant = env["AZURE_TENANT_ID"]
        authority = aks_authority(env["AZURE_AUTHORITY_HOST"], tenant)
        self.ctx.apps.check_authority(authority, "AZURE_AUTHORITY_HOST")
        if self._sa is None:
            sa_desc = CredentialDescription(
                index=self.description.index,
                source_type="SignedAssertionFilePath",
                signed_assertion_file_disk_path=env["AZURE_FEDERATED_TOKEN_FILE"],
            )
            self._sa = SignedAssertionFilePathSource(sa_desc, self.ctx)
        sa = self._sa
        if fresh:
            sa.invalidate()
        app = self.ctx.apps.get(authority, identity_client_id, sa.key, sa.client_credential)
        if fresh:  # after a failure or near expiry: ask Entra, not MSAL's replay of its last 429/5xx
            app.http_cache.forget_throttled()
        now = self.ctx.clock.time()
        result = acquire(
            app,
            [f"{self.audience}/.default"],
            claims=claims,
            clock=self.ctx.clock,
            fresh_assertion=sa.invalidate,
            describe_failure=lambda r: token_error(
                r,
                client_id=identity_client_id,
                tenant_id=tenant,
                assertion_claims=sa.assertion_claims(),
                expected_audience=self.audience,
                hop="identity",
            ),
            fic_retry_seconds=self.ctx.settings.fic_propagation_retry_seconds,
            proactive=fresh,
            assertion=sa.assertion,
        )
        return result.token, _expiry(result.token, float(result.expires_on) if result.expires_on else now)

    def _fetch(self, *, fresh: bool, claims: str | None = None) -> tuple[str, float]:
        self.host = detect_host()
        host_cache = self.ctx.host_cache
        if host_cache is None or claims is not None:  # a claims challenge wants this process's own
            return self._fetch_here(fresh, claims)
        replacing = self._replacing
        now = self.ctx.clock.time()

        def here() -> TokenResult:
            token, expires_on = self._fetch_here(fresh, None)
            return TokenResult(token, int(expires_on), None, "Bearer")

        def good(result: TokenResult) -> bool:
            # Not the assertion being replaced (rejected, or near its end), and not near its own end.
            if result.token == replacing or result.expires_on - now < ASSERTION_MARGIN + 60:
                return False
            try:
                _jwt.claims(result.token)
            except _jwt.NotAJwtError:
                return False  # a bad answer another process stored: ask again
            return True

        shared = host_cache.get(self._host_key(), here, good)
        return shared.token, float(shared.expires_on)

    def _host_key(self) -> tuple[str, ...]:
        """What tells identity tokens apart on this host: the endpoint (or AKS token file and
        authority), the identity asked for and the audience."""
        env = os.environ
        where: tuple[str, ...]
        if self.host == "aks":
            where = (env["AZURE_FEDERATED_TOKEN_FILE"], env["AZURE_AUTHORITY_HOST"], env["AZURE_TENANT_ID"])
            who = self.description.managed_identity_client_id or env["AZURE_CLIENT_ID"]
        else:
            where = tuple(env.get(name, "") for name in ENDPOINT_VARS)
            who = self.description.managed_identity_client_id or "system-assigned"
        return ("identity", self.host, *where, who, self.audience)

    def _fetch_here(self, fresh: bool, claims: str | None) -> tuple[str, float]:
        log.info("%s: fetching the identity token for %s (host: %s)", self.label, self.audience, self.host)
        if self.host == "aks":
            return self._fetch_on_aks(fresh, claims)
        return self._fetch_from_endpoint(fresh, claims)

    def after_fork(self) -> None:
        super().after_fork()
        self._mi = None  # MSAL's MI client: the parent's HTTP client and cache lock
        if self._sa is not None:
            self._sa.after_fork()

    def service_account_claims(self) -> dict[str, Any] | None:
        return self._sa.assertion_claims() if self._sa else None


def _expiry(token: str, fallback: float) -> float:
    try:
        exp = _jwt.claims(token).get("exp")
    except _jwt.NotAJwtError:
        return fallback
    return float(exp) if isinstance(exp, (int, float)) else fallback
