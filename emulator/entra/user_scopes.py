"""Which delegated scopes a signed-in user's client may get, as Entra decides it: each requested scope
is resolved to its resource, must be exposed by that resource's API, and must be consented (an admin
grant for every user, or the user's own grant), else the request fails with Entra's consent error.

Microsoft first-party resources (Graph, Storage, ...) have no service principal in the records: their
delegated scopes are taken as consented, as in a tenant that lets users consent to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.entra.clouds import cloud_named
from emulator.entra.tokens import Resource, resolve_resource
from emulator.records import App, ExternalApi, Records, User
from emulator.wire_errors import EntraError

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")


@dataclass(frozen=True)
class ScopeGrant:
    """The scopes of one resource a token may carry (``scp``), in request order."""

    resource: Resource
    names: tuple[str, ...]
    requested: tuple[str, ...]  # as the client spelled them (the response's ``scope``)


def split_scopes(scope: str) -> tuple[list[str], list[str]]:
    """(OpenID Connect scopes, resource scopes) of a space-separated scope parameter."""
    items = scope.split()
    return [s for s in items if s.lower() in OIDC_SCOPES], [s for s in items if s.lower() not in OIDC_SCOPES]


def _resource_principal(resource: Resource, records: Records) -> App | ExternalApi | None:
    app = records.app(resource.app_id)
    if app is not None:
        return app
    return next((a for a in records.external_apis if a.app_id.lower() == resource.app_id.lower()), None)


def _resolve(item: str, tenant: str, records: Records) -> tuple[Resource, str]:
    if "/" not in item:
        # A bare name (``User.Read``) is a Microsoft Graph scope, as Entra reads it.
        graph = f"https://{cloud_named(records.cloud).graph_host}"
        return resolve_resource(graph, tenant, records), item
    resource, _, name = item.rpartition("/")
    if not resource or not name or resource.endswith(":/"):
        raise EntraError(70011, f"The provided value for the input parameter 'scope' is not valid: {item}.")
    return resolve_resource(resource, tenant, records), name


def granted_scopes(scope: str, *, tenant: str, client: App, user: User, records: Records) -> list[ScopeGrant]:
    """Every resource's granted scopes for the request, or Entra's error for the first refusal."""
    _oidc, wanted = split_scopes(scope)
    by_aud: dict[str, tuple[Resource, list[str], list[str]]] = {}
    for item in wanted:
        resource, name = _resolve(item, tenant, records)
        entry = by_aud.setdefault(resource.aud, (resource, [], []))
        entry[1].append(name)
        entry[2].append(item)
    grants: list[ScopeGrant] = []
    for resource, names, requested in by_aud.values():
        principal = _resource_principal(resource, records)
        if principal is None:
            grants.append(ScopeGrant(resource, tuple(n for n in names if n != ".default"), tuple(requested)))
            continue
        consented = records.consented_scopes(client, principal.service_principal_id, user.object_id)
        exposed = principal.api_scopes if isinstance(principal, App) else []
        for name in names:  # an unknown scope fails whoever signs in, before any consent question
            if exposed and name != ".default" and name not in exposed:
                raise EntraError(
                    650053,
                    f"The application '{client.display_name or client.client_id}' asked for scope '{name}' "
                    f"that doesn't exist on the resource '{resource.app_id}'. Contact the app vendor.",
                )
        out: list[str] = []
        for name in names:
            if name == ".default":
                if not consented:
                    raise _no_consent(client, resource, user)
                out.extend(sorted(consented))
            elif name not in consented:
                raise _no_consent(client, resource, user)
            else:
                out.append(name)
        grants.append(ScopeGrant(resource, tuple(dict.fromkeys(out)), tuple(requested)))
    return grants


def _no_consent(client: App, resource: Resource, user: User) -> EntraError:
    return EntraError(
        65001,
        f"The user or administrator has not consented to use the application with ID '{client.client_id}' "
        f"named '{client.display_name or client.client_id}'. Send an interactive authorization request for "
        f"this user and resource. (Resource: '{resource.app_id}', user: '{user.upn}'.)",
        suberror="consent_required",
    )
