"""Flask: a decorator that requires a valid bearer token (the ``certless[flask]`` extra).

    from flask import Flask
    from certless.web.flask import current_caller, require_scope

    app = Flask(__name__)

    @app.post("/notes")
    @require_scope("access_as_user")
    def add_note():
        caller = current_caller()  # its claims, and its token (the user assertion for OnBehalfOfCredential)
        ...

A refused token is answered before the view runs: 401 (``invalid_token``, or no token), 403
(``insufficient_scope``) or 400 (``invalid_request``), with the RFC 6750 ``WWW-Authenticate`` header and
a JSON body ``{"error": ..., "error_description": ...}``. Neither ever contains the token.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from certless.web import BearerError, Caller, TokenValidator, default_validator

try:
    from flask import Response, g, jsonify, request
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("certless.web.flask needs Flask: pip install 'certless[flask]'") from exc

__all__ = ["current_caller", "require_role", "require_scope"]

View = TypeVar("View", bound=Callable[..., Any])
_G_KEY = "certless_caller"


def _refusal(err: BearerError) -> Response:
    body = {"error": err.error or "unauthorized", "error_description": err.description}
    response = jsonify(body)
    response.status_code = err.status
    response.headers["WWW-Authenticate"] = err.www_authenticate
    return response


def require_scope(
    *scopes: str, roles: Iterable[str] = (), validator: TokenValidator | None = None
) -> Callable[[View], View]:
    """A view decorator: the caller's token must hold one of ``scopes`` (``scp``) or ``roles``.

    With neither, any valid token with a scope or a role passes (Microsoft.Identity.Web's default).
    ``validator``: default, one per process for the app's own AzureAd settings.
    """
    wanted_roles = tuple(roles)

    def check() -> Response | None:
        checker = validator or default_validator()
        try:
            token, claims = checker.authorize(
                request.headers.get("Authorization"), scopes=scopes, roles=wanted_roles
            )
        except BearerError as err:
            return _refusal(err)
        setattr(g, _G_KEY, Caller(token, claims))
        return None

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                refused = check()
                return refused if refused is not None else await view(*args, **kwargs)

            return cast(View, async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refused = check()
            return refused if refused is not None else view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate


def require_role(*roles: str, validator: TokenValidator | None = None) -> Callable[[View], View]:
    """A view decorator: the caller's token must hold one of the app ``roles``."""
    return require_scope(roles=roles, validator=validator)


def current_caller() -> Caller:
    """The caller of the current request, inside a view decorated with :func:`require_scope`."""
    caller = g.get(_G_KEY)
    if not isinstance(caller, Caller):
        raise RuntimeError(
            "certless.web.flask.current_caller() is available only inside a view decorated "
            "with @require_scope(...) or @require_role(...)."
        )
    return caller
