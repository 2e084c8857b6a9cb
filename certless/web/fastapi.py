"""FastAPI: a dependency that requires a valid bearer token (the ``certless[fastapi]`` extra).

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from certless.web import Caller
    from certless.web.fastapi import require_scope

    app = FastAPI()

    @app.post("/notes")
    def add_note(caller: Annotated[Caller, Depends(require_scope("access_as_user"))]) -> dict[str, str]:
        ...  # caller.claims, caller.token (the user assertion for OnBehalfOfCredential)

A refused token becomes FastAPI's ``HTTPException``: 401 (``invalid_token``, or no token), 403
(``insufficient_scope``) or 400 (``invalid_request``), with the RFC 6750 ``WWW-Authenticate`` header and
``{"detail": "<why>"}``. Neither ever contains the token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from certless.web import BearerError, Caller, TokenValidator, default_validator

try:
    from fastapi import HTTPException, Request
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("certless.web.fastapi needs FastAPI: pip install 'certless[fastapi]'") from exc

__all__ = ["require_role", "require_scope"]


def require_scope(
    *scopes: str, roles: Iterable[str] = (), validator: TokenValidator | None = None
) -> Callable[[Request], Caller]:
    """A dependency: the request's caller, whose token holds one of ``scopes`` (``scp``) or ``roles``.

    With neither, any valid token with a scope or a role passes (Microsoft.Identity.Web's default).
    ``validator``: default, one per process for the app's own AzureAd settings.
    """
    wanted_roles = tuple(roles)

    # A plain function: FastAPI runs it in its thread pool, so the first key download never blocks the loop.
    def bearer_caller(request: Request) -> Caller:
        checker = validator or default_validator()
        try:
            token, claims = checker.authorize(
                request.headers.get("authorization"), scopes=scopes, roles=wanted_roles
            )
        except BearerError as err:
            raise HTTPException(
                err.status, detail=err.description, headers={"WWW-Authenticate": err.www_authenticate}
            ) from None
        return Caller(token, claims)

    return bearer_caller


def require_role(*roles: str, validator: TokenValidator | None = None) -> Callable[[Request], Caller]:
    """A dependency: the request's caller, whose token holds one of the app ``roles``."""
    return require_scope(roles=roles, validator=validator)
