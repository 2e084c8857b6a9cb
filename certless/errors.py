"""One exception family for everything certless raises.

Every error derives from azure-core's ``ClientAuthenticationError`` so that Azure SDK users who already
catch that keep working, and every message says what went wrong and how to fix it. No message ever
contains a token, an assertion or a secret: at most a short fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from azure.core.exceptions import ClientAuthenticationError


class CertlessError(ClientAuthenticationError):
    """Base of every certless error. ``fix`` says in words what to change.

    ``transient`` marks a fault that can pass by itself (5xx, 429, timeout, reset, malformed answer):
    the source that raised it is tried again later, never skipped for good."""

    transient = False
    retry_after: float | None = None  # seconds the server asked for before the next attempt

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        transient: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.fix = fix
        if transient is not None:
            self.transient = transient
        if retry_after is not None:
            self.retry_after = retry_after
        self.summary = message  # the message without the fix
        full = f"{message}\nFix: {fix}" if fix else message
        super().__init__(message=full)

    def __str__(self) -> str:
        return str(self.message)


SHOWN_LIMIT = 80
PATH_LIMIT = 4096  # a settings file's path is what the user must open: shown whole (PATH_MAX)


def _capped(value: object, limit: int = SHOWN_LIMIT) -> str:
    """The value's repr, at most about 80 characters: a 1 MB setting must not become a 1 MB message."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(str(value))} characters)"


class SettingsError(CertlessError):
    """The AzureAd settings are invalid: names the key, the value and what is expected."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        shown = "(not set)" if value is None else _capped(value, PATH_LIMIT if key == "path" else SHOWN_LIMIT)
        # AzureAd:... keys are settings; others name the file or a variable (ASPNETCORE_ENVIRONMENT).
        what = "AzureAd setting" if ":" in key else "Setting"
        super().__init__(f"{what} {key}={shown} is invalid: expected {expected}")


class TenantNotAllowedError(CertlessError):
    """``get_token(tenant_id=...)`` named a tenant the settings do not allow."""

    def __init__(self, tenant_id: str, configured: str) -> None:
        self.tenant_id = tenant_id
        self.configured_tenant_id = configured
        super().__init__(
            f"A token was requested for tenant {tenant_id!r}, but this credential is configured for tenant "
            f"{configured!r} and not allowed to get tokens for other tenants.",
            fix=f"If the app should get tokens in {tenant_id}, add that tenant to "
            f"AzureAd:AdditionallyAllowedTenants (e.g. AzureAd__AdditionallyAllowedTenants__0={tenant_id}), "
            "or '*' to allow any tenant; the app registration must also be multi-tenant and consented there.",
        )


class InsecureEndpointError(CertlessError):
    """certless refused to send a credential to an endpoint it does not trust."""


class CredentialUnavailableError(CertlessError):
    """A credential source cannot work on this host (e.g. no managed identity endpoint)."""


class IdentityEndpointError(CertlessError):
    """The managed identity endpoint answered with an error or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        status: int | None = None,
        endpoint: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.endpoint = endpoint
        # No status: a malformed answer. 400/403 answered "identity not found/not assigned": config.
        # 404 is IMDS "updating" (azure-identity retries it too), so it passes like a 5xx.
        super().__init__(
            message,
            fix=fix,
            transient=status is None or status in IDENTITY_TRANSIENT_STATUSES,
            retry_after=retry_after,
        )


class TokenRequestError(CertlessError):
    """Entra refused the token request. Carries the AADSTS code and the trace/correlation IDs."""

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        error: str | None = None,
        aadsts: int | None = None,
        trace_id: str | None = None,
        correlation_id: str | None = None,
        transient: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.oauth_error = error  # HttpResponseError already owns ``error`` (an OData model)
        self.aadsts = aadsts
        self.trace_id = trace_id
        self.correlation_id = correlation_id
        if transient is None:  # RFC 6749's two "try again later" errors (Entra's 429 and 5xx bodies)
            transient = error in TRANSIENT_OAUTH_ERRORS
        super().__init__(message, fix=fix, transient=transient, retry_after=retry_after)


TRANSIENT_STATUSES = frozenset({408, 410, 429, *range(500, 600)})
IDENTITY_TRANSIENT_STATUSES = TRANSIENT_STATUSES | {404}
TRANSIENT_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


def is_transient(exc: BaseException | None) -> bool:
    """The one place that decides whether a source's failure may pass by itself."""
    if isinstance(exc, CertlessError):
        return exc.transient
    return isinstance(exc, (TimeoutError, ConnectionResetError, ValueError))  # an unexpected answer


@dataclass(frozen=True)
class SourceFailure:
    """Why one credential source could not be used."""

    source: str
    reason: str
    error: BaseException | None = field(default=None, compare=False, repr=False)


class NoCredentialError(CertlessError):
    """Every configured credential source failed; lists each one and why."""

    def __init__(self, failures: Sequence[SourceFailure]) -> None:
        self.failures = list(failures)
        lines = "\n".join(f"  - {f.source}: {f.reason}" for f in self.failures) or "  (none configured)"
        super().__init__(
            f"No credential source could be loaded (IDW10109). Tried, in order:\n{lines}",
            fix="Fix the first source you expect to work on this host (see its reason above), "
            "or add a fallback source to AzureAd:ClientCredentials.",
        )


__all__ = [
    "CertlessError",
    "CredentialUnavailableError",
    "IdentityEndpointError",
    "InsecureEndpointError",
    "NoCredentialError",
    "SettingsError",
    "SourceFailure",
    "TenantNotAllowedError",
    "TokenRequestError",
    "is_transient",
]
