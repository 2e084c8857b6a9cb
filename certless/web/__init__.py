"""``certless.web``: validate the bearer tokens a web API receives, as Microsoft.Identity.Web's
``AddMicrosoftIdentityWebApi`` does by default (the ``certless[web]`` extra: PyJWT with cryptography).

- signature: RS256 with a key from the tenant's JWKS (the ``jwks_uri`` of its OIDC document), cached;
- issuer: the tenant's v2.0 issuer (from the same document) or its v1 issuer (``sts`` host);
- audience: the app's client ID, ``api://<client ID>``, or the configured ``Audience`` values;
- lifetime: ``exp`` and ``nbf`` with 5 minutes of skew;
- a ``scp`` or ``roles`` claim must be present (a token with neither authorizes nothing).

Failures are :class:`BearerError`: a status (401, or 403 for a missing scope/role) and the RFC 6750
``WWW-Authenticate`` value that says why. Neither ever contains the token.

Framework helpers: :mod:`certless.web.fastapi` (a dependency) and :mod:`certless.web.flask` (a decorator)
turn a :class:`BearerError` into the HTTP answer and hand the view a :class:`Caller`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from certless._clouds import CHINA
from certless.settings import Settings, load_settings

try:
    import jwt
    from jwt import PyJWKClient
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("certless.web needs PyJWT with cryptography: pip install 'certless[web]'") from exc

SKEW_SECONDS = 300  # Microsoft.Identity.Web's default ClockSkew (TokenValidationParameters)
MAX_VALIDATED = 10_000


@dataclass
class BearerError(Exception):
    """Why a request's bearer token is refused: ``status`` and the ``WWW-Authenticate`` header."""

    status: int
    error: str  # RFC 6750: invalid_request, invalid_token, insufficient_scope
    description: str

    @property
    def www_authenticate(self) -> str:
        text = self.description.replace("\\", "\\\\").replace('"', "'")
        if not self.error:  # no token at all: RFC 6750 says no error code
            return "Bearer"
        return f'Bearer error="{self.error}", error_description="{text}"'

    def __str__(self) -> str:
        return f"{self.status} {self.error or 'unauthorized'}: {self.description}"


@dataclass(frozen=True)
class Caller:
    """Who called the web API: the validated access token and its claims.

    ``token`` is the user assertion for :class:`certless.OnBehalfOfCredential`; the repr names the caller
    by object ID only, never the token.
    """

    token: str = field(repr=False)
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def object_id(self) -> str:
        return str(self.claims.get("oid") or self.claims.get("sub") or "")

    @property
    def tenant_id(self) -> str:
        return str(self.claims.get("tid") or "")

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(str(self.claims.get("scp") or "").split())

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.claims.get("roles") or ())

    def __repr__(self) -> str:
        return f"Caller(oid={self.object_id!r}, tid={self.tenant_id!r})"


def _v1_issuer(tenant_id: str, authority_host: str) -> str:
    host = "sts.chinacloudapi.cn" if authority_host in CHINA.hosts else "sts.windows.net"
    return f"https://{host}/{tenant_id}/"


class TokenValidator:
    """Validates access tokens for the app in ``settings`` (the same AzureAd settings the app uses)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        audiences: Iterable[str] = (),
        jwks_client: PyJWKClient | None = None,
        skew_seconds: int = SKEW_SECONDS,
    ) -> None:
        self.settings = settings or load_settings()
        s = self.settings
        self.audiences = tuple(dict.fromkeys([s.client_id, f"api://{s.client_id}", *audiences]))
        self.skew = skew_seconds
        self._jwks = jwks_client
        self._issuers: tuple[str, ...] | None = None
        self._lock = threading.Lock()
        self._validated: dict[str, tuple[float, dict[str, Any]]] = {}

    def _ca_file(self) -> str | None:
        """The settings' CA bundle, for an explicitly allowed extra authority host (a local emulator)."""
        s = self.settings
        parts = urlsplit(s.authority)
        if s.ca_bundle and (
            parts.netloc in s.extra_authority_hosts or parts.hostname in s.extra_authority_hosts
        ):
            return s.ca_bundle
        return None

    def _metadata(self) -> tuple[PyJWKClient, tuple[str, ...]]:
        if self._jwks is not None and self._issuers is not None:
            return self._jwks, self._issuers
        with self._lock:
            if self._jwks is None or self._issuers is None:
                import requests  # msal's dependency

                s = self.settings
                ca_file = self._ca_file()
                context = ssl.create_default_context(cafile=ca_file)
                url = f"{s.authority.rstrip('/')}/v2.0/.well-known/openid-configuration"
                doc = requests.get(url, timeout=30, verify=ca_file or True).json()
                issuer = str(doc["issuer"]).replace("{tenantid}", s.tenant_id)
                if self._jwks is None:
                    self._jwks = PyJWKClient(str(doc["jwks_uri"]), cache_keys=True, ssl_context=context)
                host = urlsplit(issuer).hostname or ""
                self._issuers = (issuer, _v1_issuer(s.tenant_id, host))
        assert self._jwks is not None and self._issuers is not None
        return self._jwks, self._issuers

    def validate(
        self, token: str, *, scopes: Iterable[str] = (), roles: Iterable[str] = ()
    ) -> dict[str, Any]:
        """The token's claims, or :class:`BearerError`. ``scopes``/``roles``: any one of them suffices."""
        if not token or token.count(".") != 2:
            raise BearerError(401, "invalid_token", "The access token is malformed.")
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        cached = self._validated.get(digest)
        if cached is not None and now < cached[0]:
            claims = cached[1]
        else:
            claims = self._decode(token)
            self._remember(digest, claims, now)
        self._authorize(claims, tuple(scopes), tuple(roles))
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        jwks, issuers = self._metadata()
        try:
            key = _signing_key(jwks, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=list(self.audiences),
                issuer=list(issuers),
                leeway=self.skew,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise BearerError(401, "invalid_token", "The access token has expired.") from None
        except jwt.InvalidAudienceError:
            raise BearerError(401, "invalid_token", "The access token is for another audience.") from None
        except jwt.InvalidIssuerError:
            raise BearerError(
                401, "invalid_token", "The access token was issued by another tenant."
            ) from None
        except jwt.PyJWKClientError:
            raise BearerError(401, "invalid_token", "The access token's signing key is unknown.") from None
        except jwt.InvalidTokenError:
            raise BearerError(401, "invalid_token", "The access token is invalid.") from None
        if claims.get("tid") not in (None, self.settings.tenant_id):
            raise BearerError(401, "invalid_token", "The access token was issued by another tenant.")
        return claims

    def _remember(self, digest: str, claims: dict[str, Any], now: float) -> None:
        until = min(float(claims.get("exp", now)), now + 3600)
        with self._lock:
            if len(self._validated) >= MAX_VALIDATED:
                for k in [k for k, (exp, _) in self._validated.items() if exp <= now] or [
                    next(iter(self._validated))
                ]:
                    self._validated.pop(k, None)
            self._validated[digest] = (until, claims)

    @staticmethod
    def _authorize(claims: Mapping[str, Any], scopes: tuple[str, ...], roles: tuple[str, ...]) -> None:
        granted_scopes = set(str(claims.get("scp") or "").split())
        granted_roles = set(claims.get("roles") or [])
        if not granted_scopes and not granted_roles:
            raise BearerError(403, "insufficient_scope", "The access token has neither a scope nor a role.")
        if (scopes or roles) and not (granted_scopes & set(scopes) or granted_roles & set(roles)):
            wanted = " or ".join([*scopes, *(f"role {r}" for r in roles)])
            raise BearerError(403, "insufficient_scope", f"The access token lacks {wanted}.")

    def authorize(
        self, authorization: str | None, *, scopes: Iterable[str] = (), roles: Iterable[str] = ()
    ) -> tuple[str, dict[str, Any]]:
        """From an ``Authorization`` header value: (the token, its claims). For any web framework."""
        if not authorization:
            raise BearerError(401, "", "No bearer token.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise BearerError(400, "invalid_request", "The Authorization header is not 'Bearer <token>'.")
        token = token.strip()
        return token, self.validate(token, scopes=scopes, roles=roles)


def _signing_key(jwks: Any, token: str) -> Any:
    """The key the token's header names. PyJWT's own lookup parses and checks the whole token once more
    before ``jwt.decode`` does it again (its per-character segment check is most of a decode's cost);
    reading ``kid`` from the header segment alone saves that. Anything odd in the header goes to PyJWT's
    lookup, which raises the error; ``jwt.decode`` then checks the header in full either way."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        kid = header.get("kid") if isinstance(header, dict) else None
    except (ValueError, UnicodeDecodeError):
        kid = None
    if not isinstance(kid, str) or not kid:
        return jwks.get_signing_key_from_jwt(token).key
    return jwks.get_signing_key(kid).key


_default: dict[str, TokenValidator] = {}  # at most one, under "settings"
_default_lock = threading.Lock()


def default_validator() -> TokenValidator:
    """The process's validator for the app's own settings (appsettings.json + ``AzureAd__*``), built once."""
    found = _default.get("settings")
    if found is None:
        with _default_lock:
            found = _default.get("settings")
            if found is None:
                found = _default["settings"] = TokenValidator(load_settings())
    return found


def forget_default_validator() -> None:
    """Drop the process's validator (its keys and validated tokens); part of ``clear_process_caches``."""
    with _default_lock:
        _default.clear()
