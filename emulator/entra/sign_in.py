"""Entra's authorize endpoint and its sign-in page: the first leg of the authorization code flow.

Checked in Entra's order: the tenant and the app (an error page: nothing can be sent back yet), the
redirect URI, which must equal one registered on the app exactly (AADSTS50011 on an error page, never a
redirect to an unregistered URI); then the request itself (response type, scope, PKCE), whose errors go
back to the redirect URI as ``error``, ``error_description`` and ``state``. After the user signs in the
consent of every requested API scope is checked (AADSTS65001 ``consent_required``) and a one-time code
living 10 minutes is sent back, by query string (default), fragment or an auto-submitting form_post.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from emulator.entra.sign_in_page import error_page, form_post_page, sign_in_page
from emulator.entra.user_scopes import granted_scopes, split_scopes
from emulator.records import App, User
from emulator.wire_errors import EntraError

if TYPE_CHECKING:
    from emulator.entra.service import Entra

CODE_LIFETIME = 600  # "Authorization codes are short lived. Typically, they expire after about 10 minutes."
PENDING_LIFETIME = 3600  # how long a shown sign-in page stays usable
_MAX_ENTRIES = 10_000
RESPONSE_MODES = ("query", "fragment", "form_post")
# The OAuth `error` an authorize failure is sent back with, by AADSTS code.
_AUTHORIZE_ERRORS = {
    65001: "consent_required",
    650053: "invalid_client",
    500011: "invalid_resource",
    70011: "invalid_scope",
    1002012: "invalid_scope",
    900144: "invalid_request",
    501491: "invalid_request",
    50147: "invalid_request",
    70005: "unsupported_response_type",
    700054: "unsupported_response_type",
    50058: "login_required",
}


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated authorize request, kept while the user is on the sign-in page."""

    tenant: str
    segment: str
    client_id: str
    redirect_uri: str
    response_mode: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    login_hint: str
    created: float


@dataclass
class AuthCode:
    request: AuthorizeRequest
    user: User
    session_id: str
    issued: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    """What a refresh token stands for. Entra does not revoke a refresh token when it is redeemed (a
    new one comes back and the client should drop the old), so only expiry and revocation end it."""

    tenant: str
    client_id: str
    user: User
    session_id: str
    scope: str  # the scopes signed in for, OIDC ones included
    issued: float
    last_used: float


@dataclass
class Outcome:
    """What the authorize endpoint answers: an HTML page, or a redirect to ``location``."""

    status: int
    html: str = ""
    location: str = ""


@dataclass
class SignInState:
    """The emulated Entra's session state: shown sign-in pages, codes, refresh tokens, revocations."""

    # Codes and sign-in page contexts are bearer values: kept out of reprs.
    pending: dict[str, AuthorizeRequest] = field(default_factory=dict, repr=False)
    codes: dict[str, AuthCode] = field(default_factory=dict, repr=False)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict, repr=False)
    revoked_before: dict[str, float] = field(default_factory=dict)  # user object ID -> time
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def remember(self, table: dict[str, object], key: str, value: object) -> None:
        with self.lock:
            if len(table) >= _MAX_ENTRIES:  # oldest first: dicts keep insertion order
                for old in list(table)[: _MAX_ENTRIES // 10]:
                    del table[old]
            table[key] = value


def _error_outcome(entra: Entra, exc: EntraError) -> Outcome:
    description, *_ = exc.description(entra.clock.now())
    return Outcome(400, html=error_page(description))


def _with_params(uri: str, params: Mapping[str, str], fragment: bool) -> str:
    parts = urlsplit(uri)
    encoded = urlencode(params)
    if fragment:
        return urlunsplit(parts._replace(fragment=encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


def respond(redirect_uri: str, response_mode: str, params: dict[str, str]) -> Outcome:
    """Send the response to the app the way it asked for it."""
    if response_mode == "form_post":
        return Outcome(200, html=form_post_page(redirect_uri, params))
    return Outcome(302, location=_with_params(redirect_uri, params, response_mode == "fragment"))


def _error_to_app(entra: Entra, req: AuthorizeRequest, exc: EntraError) -> Outcome:
    description, *_ = exc.description(entra.clock.now())
    params = {"error": _AUTHORIZE_ERRORS.get(exc.code, exc.error), "error_description": description}
    if req.state is not None:
        params["state"] = req.state
    return respond(req.redirect_uri, req.response_mode, params)


def _app(entra: Entra, tenant: str, client_id: str) -> App:
    app = entra.directory.records.app(client_id) if client_id else None
    if not client_id:
        raise EntraError(900144, "The request body must contain the following parameter: 'client_id'.")
    if app is None or app.tenant_id != tenant:
        raise EntraError(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can "
            "happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You may have sent your authentication request to the "
            "wrong tenant.",
        )
    return app


def check_redirect_uri(app: App, redirect_uri: str) -> None:
    if not redirect_uri:
        raise EntraError(900971, "No reply address provided.")
    if not app.redirect_uris:
        raise EntraError(500113, f"No reply address is registered for the application '{app.client_id}'.")
    if redirect_uri not in app.redirect_uris:  # exact and case-sensitive, trailing slash included
        raise EntraError(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{app.client_id}'. Make sure the redirect URI sent in the "
            "request matches one added to your application in the Azure portal. Navigate to "
            "https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
        )


def _check_pkce(challenge: str | None, method: str | None) -> None:
    if challenge is None:
        if method is not None:
            raise EntraError(50147, "The size of the code challenge parameter is not valid.")
        return
    method = method or "plain"  # Entra: without a method the challenge is taken as plain text
    if method not in ("S256", "plain"):
        raise EntraError(
            900144,
            f"The provided value '{method[:40]}' for the input parameter 'code_challenge_method' is "
            "not valid. Expected 'S256' or 'plain'.",
        )
    allowed = {"S256": (43, 43), "plain": (43, 128)}[method]
    if not allowed[0] <= len(challenge) <= allowed[1]:
        raise EntraError(501491, "Invalid size of Code_Challenge parameter.")


def authorize(entra: Entra, segment: str, query: Mapping[str, str]) -> Outcome:
    """GET /{tenant}/oauth2/v2.0/authorize."""
    try:
        tenant = entra.tenant(segment)
        app = _app(entra, tenant, query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        check_redirect_uri(app, redirect_uri)
    except EntraError as exc:
        return _error_outcome(entra, exc)
    mode = query.get("response_mode") or "query"
    req = AuthorizeRequest(
        tenant=tenant,
        segment=segment,
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        response_mode=mode if mode in RESPONSE_MODES else "query",
        scope=query.get("scope", ""),
        state=query.get("state"),
        nonce=query.get("nonce"),
        code_challenge=query.get("code_challenge"),
        code_challenge_method=query.get("code_challenge_method"),
        login_hint=query.get("login_hint", ""),
        created=entra.clock.now(),
    )
    try:
        if mode not in RESPONSE_MODES:
            raise EntraError(70007, f"The response_mode '{mode[:40]}' is not supported.")
        response_type = query.get("response_type", "")
        if not response_type:
            raise EntraError(
                900144, "The request body must contain the following parameter: 'response_type'."
            )
        if response_type != "code":
            if "id_token" in response_type.split() or "token" in response_type.split():
                raise EntraError(
                    700054, f"response_type '{response_type[:40]}' is not enabled for the application."
                )
            raise EntraError(70005, f"The response_type '{response_type[:40]}' is not supported.")
        if not req.scope.strip():
            raise EntraError(900144, "The request body must contain the following parameter: 'scope'.")
        _oidc, wanted = split_scopes(req.scope)
        if wanted:
            # Resources must exist and scopes be exposed before anyone signs in; consent is per user.
            _check_resources(entra, req, app)
        _check_pkce(req.code_challenge, req.code_challenge_method)
        if query.get("prompt") == "none":
            raise EntraError(
                50058,
                "A silent sign-in request was sent but no user is signed in. The cookies used to represent "
                "the user's session were not sent in the request to Azure AD.",
            )
    except EntraError as exc:
        return _error_to_app(entra, req, exc)
    ctx = secrets.token_urlsafe(24)
    entra.sign_in.remember(entra.sign_in.pending, ctx, req)  # type: ignore[arg-type]
    return Outcome(200, html=_page(entra, req, app, ctx))


def _check_resources(entra: Entra, req: AuthorizeRequest, app: App) -> None:
    # Resolving with a user who has every grant isolates the checks that do not depend on consent.
    try:
        nobody = User("\0", req.tenant)
        granted_scopes(req.scope, tenant=req.tenant, client=app, user=nobody, records=entra.directory.records)
    except EntraError as exc:
        if exc.code != 65001:
            raise


def _page(entra: Entra, req: AuthorizeRequest, app: App, ctx: str, error: str = "") -> str:
    users = [u for u in entra.directory.records.users if u.tenant_id == req.tenant]
    return sign_in_page(
        action=f"/{req.segment}/login",
        ctx=ctx,
        app_name=app.display_name or app.client_id,
        users=users,
        login_hint=req.login_hint,
        error=error,
    )


def sign_in(entra: Entra, segment: str, form: Mapping[str, str], log: dict[str, object]) -> Outcome:
    """POST /{tenant}/login: the user picked on the sign-in page; the code goes back to the app."""
    now = entra.clock.now()
    with entra.sign_in.lock:
        req = entra.sign_in.pending.get(form.get("ctx", ""))
    if req is None or now - req.created > PENDING_LIFETIME or req.segment != segment:
        return _error_outcome(
            entra,
            EntraError(
                50089,
                "Authentication failed due to flow token expired. Start the sign-in again from the app.",
            ),
        )
    app = _app(entra, req.tenant, req.client_id)
    name = form.get("username", "")
    user = entra.directory.records.user(name, req.tenant)
    if user is None:
        shown = name.strip()[:80] or "(empty)"
        message = (
            f"AADSTS50034: The user account {shown} does not exist in the '{req.tenant}' directory. To sign "
            "into this application, the account must be added to the directory."
        )
        log["error_code"] = 50034
        return Outcome(200, html=_page(entra, req, app, form.get("ctx", ""), error=message))
    log["user"] = user.name
    with entra.sign_in.lock:
        entra.sign_in.pending.pop(form.get("ctx", ""), None)
    try:
        granted_scopes(req.scope, tenant=req.tenant, client=app, user=user, records=entra.directory.records)
    except EntraError as exc:
        log["error_code"] = exc.code
        return _error_to_app(entra, req, exc)
    code = "1.A" + secrets.token_urlsafe(96)
    session_id = str(uuid.uuid4())
    entra.sign_in.remember(
        entra.sign_in.codes,  # type: ignore[arg-type]
        code,
        AuthCode(req, user, session_id, now),
    )
    params = {"code": code}
    if req.state is not None:
        params["state"] = req.state
    params["session_state"] = session_id
    return respond(req.redirect_uri, req.response_mode, params)


def redeem_code(entra: Entra, tenant: str, client: App, form: Mapping[str, str]) -> AuthCode:
    """The code of an authorization_code grant, after Entra's checks; it cannot be redeemed again."""
    value = form.get("code", "")
    if not value:
        raise EntraError(900144, "The request body must contain the following parameter: 'code'.")
    with entra.sign_in.lock:
        grant = entra.sign_in.codes.get(value)
        if grant is None:
            raise EntraError(9002313, "Invalid request. Request is malformed or invalid.")
        if grant.redeemed:
            raise EntraError(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use "
                "an existing refresh token.",
            )
        req = grant.request
        if req.tenant != tenant:
            raise EntraError(
                700005,
                "Provided Authorization Code is intended to use against other tenant, thus rejected.",
            )
        if req.client_id.lower() != client.client_id.lower():
            raise EntraError(
                70000,
                "The provided authorization code was issued to another client application.",
            )
        if entra.clock.now() - grant.issued > CODE_LIFETIME:
            raise EntraError(
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new "
                "interactive authorization request for this user and resource.",
            )
        redirect_uri = form.get("redirect_uri", "")
        if redirect_uri != req.redirect_uri:
            check_redirect_uri(client, redirect_uri)
            raise EntraError(
                70000, "The redirect URI does not match the one the authorization code was issued for."
            )
        if req.code_challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise EntraError(
                    50148,
                    "The code_verifier does not match the code_challenge supplied in the authorization "
                    "request for PKCE.",
                )
            if req.code_challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                derived = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            else:
                derived = verifier
            if not hmac.compare_digest(derived, req.code_challenge):
                raise EntraError(
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization "
                    "request.",
                )
        grant.redeemed = True  # only after every check: a failed attempt does not burn the code
        return grant
