"""Error bodies in the shapes the real services send, so clients parse them as they would in Azure."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

# code -> (HTTP status, OAuth `error`) as Entra answers them.
_ENTRA_CODES: dict[int, tuple[int, str]] = {
    50013: (400, "invalid_grant"),
    50027: (400, "invalid_request"),
    500131: (400, "invalid_grant"),
    500133: (400, "invalid_grant"),
    70003: (400, "unsupported_grant_type"),
    70011: (400, "invalid_scope"),
    1002012: (400, "invalid_scope"),
    70021: (400, "invalid_request"),
    70025: (401, "invalid_client"),
    90002: (400, "invalid_tenant"),
    90061: (400, "invalid_request"),
    500011: (400, "invalid_resource"),
    700016: (400, "unauthorized_client"),
    700023: (401, "invalid_client"),
    700024: (401, "invalid_client"),
    700027: (401, "invalid_client"),
    7000215: (401, "invalid_client"),
    7000218: (401, "invalid_client"),
    900144: (400, "invalid_request"),
    900561: (400, "invalid_request"),
    50196: (429, "temporarily_unavailable"),
    # The user flows (authorization code, refresh token, consent).
    50011: (400, "invalid_request"),
    50148: (400, "invalid_grant"),
    50173: (400, "invalid_grant"),
    54005: (400, "invalid_grant"),
    65001: (400, "invalid_grant"),
    650053: (400, "invalid_client"),
    70000: (400, "invalid_grant"),
    70008: (400, "invalid_grant"),
    700005: (400, "invalid_grant"),
    700022: (400, "invalid_scope"),
    700082: (400, "invalid_grant"),
    501481: (400, "invalid_grant"),
    9002313: (400, "invalid_grant"),
    90033: (503, "temporarily_unavailable"),
    90100: (500, "server_error"),
}


@dataclass
class EntraError(Exception):
    """An AADSTS error; `body()` renders Entra's JSON, trace and correlation IDs included."""

    code: int
    message: str
    correlation_id: str = ""
    suberror: str = ""  # e.g. consent_required, which MSAL surfaces next to `error`

    @property
    def status(self) -> int:
        return _ENTRA_CODES.get(self.code, (400, "invalid_request"))[0]

    @property
    def error(self) -> str:
        return _ENTRA_CODES.get(self.code, (400, "invalid_request"))[1]

    def description(self, now: float) -> tuple[str, str, str, str]:
        """(error_description, trace ID, correlation ID, timestamp) as Entra writes them."""
        trace_id = str(uuid.uuid4())
        correlation_id = self.correlation_id or str(uuid.uuid4())
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        stamp = when.strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
        )
        return description, trace_id, correlation_id, stamp

    def body(self, now: float) -> dict[str, Any]:
        description, trace_id, correlation_id, stamp = self.description(now)
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        return body


@dataclass
class ImdsError(Exception):
    """IMDS answers `{error, error_description}`."""

    status: int
    error: str
    description: str

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class AppServiceError(Exception):
    """The App Service / Container Apps identity endpoint answers `{statusCode, message}`."""

    status: int
    message: str

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status, "message": self.message}
