"""Web apps and web APIs: ``certless:apps.<key>.web`` and ``.api``, and workloads' ``delegatedPermissions``.

Field-level rules (a redirect URI, a path, a scope value) are used by ``schema.py``; what needs every
app in view (other apps' keys, their scopes, cycles of known clients) is resolved here for ``loader.py``.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from policy.rules import roles as role_table
from policy.rules.redirect_uris import EXPECTED as REDIRECT_EXPECTED
from policy.rules.redirect_uris import RedirectUri, parse_redirect_uri

from . import rules as r
from .errors import ConfigError
from .model import (
    ApiSpec,
    AppRoleSpec,
    AppSpec,
    DelegatedPermissionSpec,
    PreAuthorizedSpec,
    ScopeSpec,
    WebSpec,
    WorkloadSpec,
)

if TYPE_CHECKING:
    from .schema import ApiBlock, WebBlock

GRAPH = "graph"
DEFAULT_CALLBACK_PATH = "/signin-oidc"  # Microsoft.Identity.Web's default CallbackPath
MAX_REDIRECT_URIS = 256  # Entra, for AzureADMyOrg and AzureADMultipleOrgs apps
# Entra scope values: at most 120 printable ASCII characters, no space, not starting with '.'.
SCOPE_VALUE = re.compile(
    r"^[A-Za-z0-9:!#$%&'()*+,\-/;<=>?@\[\]^_`{|}~][A-Za-z0-9:!#$%&'()*+,\-./;<=>?@\[\]^_`{|}~]{0,119}$"
)
SCOPE_EXPECTED = (
    "a scope value of at most 120 characters, no spaces, not starting with '.', like access_as_user"
)
# Requested by every OpenID Connect sign-in; never a resource's own scope.
_OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
_SCOPE_NAMESPACE = uuid.UUID("6a1f2c0e-93d4-4b8e-8f57-2c41d9e0b7a3")
_PATH = re.compile(r"^/(?:[A-Za-z0-9\-._~:@&=+/]|%[0-9A-Fa-f]{2})*$")


def scope_id(value: str) -> str:
    """A fixed ID per scope value: Entra needs a GUID per scope, and the same one on every run."""
    return str(uuid.uuid5(_SCOPE_NAMESPACE, value))


# --- field rules (schema.py wraps each in a Rule) -------------------------------------------------------


def redirect_uri(key: str, value: Any) -> str:
    parsed = parse_redirect_uri(value)
    if isinstance(parsed, tuple):
        raise r.fail(key, value, f"{REDIRECT_EXPECTED} (it {parsed[1]})")
    return parsed.text


def web_url(key: str, value: Any) -> str:
    """Logout and home page URLs: the same rule as redirect URIs (Entra calls the logout URL itself)."""
    return redirect_uri(key, value)


def callback_path(key: str, value: Any) -> str:
    text = r.string(key, value)
    if not _PATH.fullmatch(text) or "//" in text:
        raise r.fail(key, value, "a URL path starting with '/', like /signin-oidc")
    return text


def scope_value(key: str, value: Any) -> str:
    text = r.match(key, value, SCOPE_VALUE, SCOPE_EXPECTED)
    if text in _OIDC_SCOPES:
        raise r.fail(
            key, value, f"a scope of this API, not an OpenID Connect scope ({', '.join(_OIDC_SCOPES)})"
        )
    return text


# --- app blocks -----------------------------------------------------------------------------------------


def web_spec(key: str, block: WebBlock) -> WebSpec:
    if not 1 <= len(block.redirect_uris) <= MAX_REDIRECT_URIS:
        raise r.fail(
            f"{key}.redirectUris", list(block.redirect_uris), f"1 to {MAX_REDIRECT_URIS} redirect URIs"
        )
    parsed: list[RedirectUri] = []
    for index, text in enumerate(block.redirect_uris):
        item = parse_redirect_uri(text)
        assert not isinstance(item, tuple)  # the schema checked it
        for earlier in parsed:
            if earlier.match_key == item.match_key:
                why = (
                    "Entra ignores a loopback URI's port, so it could not tell them apart"
                    if earlier.text != item.text
                    else "a duplicate"
                )
                raise r.fail(
                    f"{key}.redirectUris[{index}]", text, f"a URI other than {earlier.text!r} ({why})"
                )
        parsed.append(item)
    path = block.callback_path or DEFAULT_CALLBACK_PATH
    if not any(uri.path == path for uri in parsed):
        example = parsed[0]
        origin = (
            example.text[: len(example.text) - len(example.path)]
            if example.path != "/"
            else (example.text.rstrip("/"))
        )
        origin = origin.split("?", 1)[0]
        fix = f"add {origin}{path} to redirectUris, or set callbackPath to the path of one of them"
        if block.callback_path:
            raise r.fail(f"{key}.callbackPath", path, f"the path of one of redirectUris ({fix})")
        raise r.fail(
            f"{key}.redirectUris",
            list(block.redirect_uris),
            f"one with the path {path}, the default callbackPath ({fix})",
        )
    return WebSpec(
        redirect_uris=tuple(u.text for u in parsed),
        callback_path=path,
        logout_url=block.logout_url,
        homepage_url=block.homepage_url,
        id_tokens=block.id_tokens,
    )


def api_spec(
    key: str,
    akey: str,
    block: ApiBlock,
    app_roles: tuple[AppRoleSpec, ...],
    app_keys: tuple[str, ...],
) -> ApiSpec:
    scopes: list[ScopeSpec] = []
    role_values = {role.value for role in app_roles}
    role_ids = {role.id for role in app_roles}
    for index, entry in enumerate(block.scopes):
        item = f"{key}.scopes[{index}]"
        if entry.value in role_values:
            raise r.fail(
                f"{item}.value",
                entry.value,
                "a value no app role of this app has (Entra keeps scopes and app roles in one namespace)",
            )
        if any(s.value == entry.value for s in scopes):
            raise r.fail(f"{item}.value", entry.value, "each scope value once")
        sid = entry.id or scope_id(entry.value)
        if sid in role_ids or any(s.id == sid for s in scopes):
            raise r.fail(f"{item}.id", sid, "an ID no other scope or app role of this app has")
        scopes.append(
            ScopeSpec(
                value=entry.value,
                admin_consent_display_name=entry.admin_consent_display_name or entry.value,
                description=entry.description or f"Act for the signed-in user ({entry.value})",
                id=sid,
            )
        )
    exposed = [s.value for s in scopes]
    known: list[str] = []
    for index, client in enumerate(block.known_clients):
        _other_app(f"{key}.knownClients[{index}]", client, akey, app_keys)
        if client in known:
            raise r.fail(f"{key}.knownClients[{index}]", client, "each known client once")
        known.append(client)
    pre: list[PreAuthorizedSpec] = []
    for index, client_entry in enumerate(block.pre_authorized_clients):
        item = f"{key}.preAuthorizedClients[{index}]"
        _other_app(f"{item}.app", client_entry.app, akey, app_keys)
        if any(p.app == client_entry.app for p in pre):
            raise r.fail(f"{item}.app", client_entry.app, "each client app once")
        for i, value in enumerate(client_entry.scopes):
            if value not in exposed:
                raise r.fail(
                    f"{item}.scopes[{i}]",
                    value,
                    f"a scope this app exposes in {key}.scopes ({', '.join(exposed) or 'it exposes none'})",
                )
        if len(set(client_entry.scopes)) != len(client_entry.scopes):
            raise r.fail(f"{item}.scopes", list(client_entry.scopes), "each scope once")
        pre.append(PreAuthorizedSpec(client_entry.app, tuple(client_entry.scopes)))
    return ApiSpec(
        scopes=tuple(scopes),
        requested_access_token_version=block.requested_access_token_version,
        known_clients=tuple(known),
        pre_authorized=tuple(pre),
    )


def _other_app(key: str, value: str, akey: str, app_keys: tuple[str, ...]) -> None:
    others = [k for k in app_keys if k != akey]
    if value not in others:
        raise r.fail(
            key, value, "the key of another app in certless:apps (" + (", ".join(others) or "none") + ")"
        )


def check_known_client_cycles(apps: Mapping[str, AppSpec]) -> None:
    """An API names its known clients' client IDs, so a cycle of them has no order to create the apps in."""
    state: dict[str, str] = {}

    def visit(app: str, path: list[str]) -> None:
        state[app] = "open"
        spec = apps[app].api
        for client in spec.known_clients if spec is not None else ():
            if state.get(client) == "open":
                cycle = [*path[path.index(client) :], client] if client in path else [app, client]
                raise ConfigError.at(
                    f"certless:apps.{app}.api.knownClients",
                    f"apps name each other as known clients ({' -> '.join(cycle)}); expected the client"
                    " apps listed on the API only (an app cannot be created before the other)",
                )
            if client not in state:
                visit(client, [*path, client])
        state[app] = "done"

    for key in apps:
        if key not in state:
            visit(key, [key])


def creation_order(apps: Mapping[str, AppSpec]) -> list[str]:
    """App keys with every known client before the API naming it (cycles were refused)."""
    order: list[str] = []

    def place(key: str) -> None:
        if key in order:
            return
        spec = apps[key].api
        for client in spec.known_clients if spec is not None else ():
            place(client)
        order.append(key)

    for key in apps:
        place(key)
    return order


# --- workloads -------------------------------------------------------------------------------------------


def delegated_permissions(
    key: str, value: Any, apps: Mapping[str, object]
) -> tuple[DelegatedPermissionSpec, ...]:
    """``apps`` maps the known app keys to their AppSpec (owned) or reference: owned apps' scopes are
    checked here; Graph's, an appId's and a referenced app's are checked against Entra before any resource."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail(key, value, "a list of {api, scopes}")
    found: list[DelegatedPermissionSpec] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        obj = r.fields(item_key, item, ("api", "scopes"), ("api", "scopes"))
        api = r.string(r.where(item_key, "api"), obj["api"])
        is_guid = role_table.definition_guid(api) == api.lower()
        if api != GRAPH and api not in apps and not is_guid:
            raise r.fail(
                r.where(item_key, "api"),
                api,
                "graph, the key of an app in certless:apps ("
                + (", ".join(sorted(apps)) or "none configured")
                + "), or an appId GUID",
            )
        if any(f.api == api for f in found):
            raise r.fail(r.where(item_key, "api"), api, "each api once (one consent grant per API)")
        scopes = obj["scopes"]
        if not isinstance(scopes, list) or not scopes:
            raise r.fail(
                r.where(item_key, "scopes"), scopes, "a non-empty list of scope values, like [User.Read]"
            )
        values: list[str] = []
        for i, v in enumerate(scopes):
            text = r.match(f"{item_key}.scopes[{i}]", v, SCOPE_VALUE, SCOPE_EXPECTED)
            if text in values:
                raise r.fail(f"{item_key}.scopes[{i}]", text, f"each scope of {api} once")
            values.append(text)
        spec = apps.get(api)
        if isinstance(spec, AppSpec):
            exposed = [s.value for s in spec.api.scopes] if spec.api is not None else []
            for i, v in enumerate(values):
                if v not in exposed:
                    raise r.fail(
                        f"{item_key}.scopes[{i}]",
                        v,
                        f"a scope that app {api} exposes in certless:apps.{api}.api.scopes ("
                        + (", ".join(exposed) or "it exposes none")
                        + ")",
                    )
        kind: Literal["graph", "app", "appId"] = (
            "graph" if api == GRAPH else ("app" if api in apps else "appId")
        )
        found.append(
            DelegatedPermissionSpec(
                api=api.lower() if kind == "appId" else api, kind=kind, scopes=tuple(values)
            )
        )
    return tuple(found)


def check_unique_delegations(workloads: Mapping[str, WorkloadSpec]) -> None:
    """Entra holds one admin-consent grant per client and resource: workloads of one app declare it once."""
    owner: dict[tuple[str, str], str] = {}
    for name, w in workloads.items():
        for index, permission in enumerate(w.delegated_permissions):
            ident = (w.app, permission.api)
            if ident in owner and owner[ident] != name:
                raise r.fail(
                    f"certless:workloads.{name}.delegatedPermissions[{index}].api",
                    permission.api,
                    f"an API not already granted by workload {owner[ident]}, which shares app {w.app}"
                    " (one consent grant per app and API; declare its scopes once)",
                )
            owner.setdefault(ident, name)


def register_easy_auth_callbacks(
    apps: Mapping[str, AppSpec], workloads: Mapping[str, WorkloadSpec], workloads_key: str
) -> dict[str, AppSpec]:
    """Each owned app gets the Easy Auth callback of every workload signing users in with it, and issues
    ID tokens: App Service Authentication signs users in with the hybrid flow (``code id_token``), which
    Entra refuses (AADSTS700054) for an app without ID-token issuance. Access tokens stay off.

    The callback is on the site's default host name, known from the site's name: the app registration
    exists before the site, so no resource has to wait for the other. A referenced app (another stack
    owns it) is left alone: the blue-green checks say whether its owner registered the callback.
    """
    out = dict(apps)
    for name, w in workloads.items():
        auth = w.easy_auth
        if auth is None or w.app not in out:
            continue
        key = f"{workloads_key}.{name}.{'appService' if w.app_service is not None else 'functionApp'}"
        app = out[w.app]
        if app.web is None:
            raise r.fail(
                f"{key}.authentication",
                "enabled",
                f"a web platform on app {w.app} (add certless:apps.{w.app}.web; its redirect URIs get"
                f" {auth.callback_uri})",
            )
        if not app.web.id_tokens:
            app = out[w.app] = dataclasses.replace(app, web=dataclasses.replace(app.web, id_tokens=True))
        assert app.web is not None
        if auth.callback_uri in app.web.redirect_uris:
            continue
        if len(app.web.redirect_uris) >= MAX_REDIRECT_URIS:
            raise r.fail(
                f"certless:apps.{w.app}.web.redirectUris",
                list(app.web.redirect_uris),
                f"at most {MAX_REDIRECT_URIS - 1} URIs, leaving room for {auth.callback_uri}",
            )
        out[w.app] = dataclasses.replace(
            app, web=dataclasses.replace(app.web, redirect_uris=(*app.web.redirect_uris, auth.callback_uri))
        )
    return out


def colour_sign_in_uris(w: WorkloadSpec, host: str, sign_in: Any) -> list[str]:
    """The redirect URIs a workload signing users in on its own ``host`` needs on its app, given the
    owner's ``signIn`` record of that app: App Service Authentication's callback, and the web app's
    ``https://<host><CallbackPath>`` when the app has a web platform. Shared by the colour's plan and
    ``duplicate``, which registers them on the owner."""
    needed: list[str] = []
    if w.easy_auth is not None:
        needed.append(w.easy_auth.callback_uri)
    record = sign_in if isinstance(sign_in, Mapping) else {}
    path = record.get("callbackPath")
    if record.get("web") is True and isinstance(path, str) and path:
        needed.append(f"https://{host}{path}")
    return needed
