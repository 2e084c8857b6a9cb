"""A colour stack's redirect URIs: its hosts differ from the owner's, and the owner holds the registration.

The owner lists every colour's URIs in its ``certless:apps.<key>.web.redirectUris`` (the app registration
is declared there, once); a colour only checks them against the owner's ``sharedIdentity`` record. App
Service Authentication's callback is the only URI the platform itself uses, so a missing one stops the
colour's run; a web app's own ``https://<site><CallbackPath>`` is reported (it may sit behind a custom
domain), and ``bluegreen-check`` fails on it.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.referenced_identity_layer import EXPLICIT_OWNER, SHARED_OUTPUT, SIGN_IN
from stackconfig import StackConfig, WorkloadSpec
from stackconfig.web import colour_sign_in_uris


def site_name(w: WorkloadSpec) -> str | None:
    site = w.app_service or w.function_app
    return site.name if site is not None else None


def redirect_check(
    config: StackConfig, w: WorkloadSpec, record: pulumi.Output[Any]
) -> pulumi.Output[dict[str, Any]] | None:
    """``{needed, missing}`` for the workload's sign-in URIs on the owner's app; None when it has none."""
    name = site_name(w)
    if name is None or config.owner is None:
        return None
    app, auth = w.app, w.easy_auth
    host = config.cloud.site_host(name)
    if config.owner.stack is not None:
        owner = f"stack {config.owner.stack!r}"
        lacks = f"{owner} exports no {SHARED_OUTPUT}.apps.{app}.{SIGN_IN}"
        fix = f"certless:apps.{app}.web.redirectUris of {owner} (then `pulumi up` it before this one)"
        id_tokens_fix = f"certless:apps.{app}.web of {owner} (then `pulumi up` it before this one)"
    else:
        # Given by IDs: the registration is managed elsewhere; this stack's config says what it lists.
        owner = "its owner"
        lacks = f"this stack's config gives no {EXPLICIT_OWNER}.apps.{app}.web"
        fix = (
            f"the app registration's redirect URIs, and in {EXPLICIT_OWNER}.apps.{app}.web.redirectUris"
            " of this stack"
        )
        id_tokens_fix = f"the app registration, and in {EXPLICIT_OWNER}.apps.{app}.web of this stack"

    def check(found: Any) -> dict[str, Any]:
        if found is None:
            if auth is not None:
                raise pulumi.RunError(
                    f"workload {w.name!r} signs users in with App Service Authentication, but {lacks},"
                    f" so whether app {app!r} lists {auth.callback_uri} is unknown;"
                    f" expected it in {fix}"
                )
            return {"needed": [], "missing": []}
        registered = found.get("redirectUris") if isinstance(found, dict) else None
        uris = [u for u in registered if isinstance(u, str)] if isinstance(registered, list) else []
        needed = colour_sign_in_uris(w, host, found)
        missing = [u for u in needed if u not in uris]
        if auth is not None and auth.callback_uri in missing:
            raise pulumi.RunError(
                f"workload {w.name!r} signs users in with App Service Authentication at {host}, but app"
                f" {app!r} (owned by {owner}) lists no redirect URI {auth.callback_uri}; Entra would"
                f" refuse every sign-in (AADSTS50011). Expected it in {fix}"
            )
        if auth is not None and isinstance(found, dict) and found.get("idTokens") is not True:
            raise pulumi.RunError(
                f"workload {w.name!r} signs users in with App Service Authentication at {host}, but app"
                f" {app!r} (owned by {owner}) issues no ID tokens; the platform's sign-in asks for"
                f" 'code id_token' and Entra would refuse it (AADSTS700054). Expected idTokens: true in"
                f" {id_tokens_fix}"
            )
        for uri in missing:
            pulumi.log.warn(
                f"workload {w.name!r} signs users in at {host}, but app {app!r} (owned by {owner})"
                f" lists no redirect URI {uri}; Entra refuses a sign-in sent there (AADSTS50011). Add it"
                f" to {fix}, unless the app signs in through another host"
            )
        return {"needed": needed, "missing": missing}

    return record.apply(check)
