"""Web sign-in on app registrations: no implicit access tokens, redirect URIs https or loopback, no wildcards.

An implicit-grant access token travels in the browser's URL fragment, where any script or log sees it;
the authorization-code flow (with PKCE) replaces it. A redirect URI is where Entra sends codes and
tokens: an http one on a network host, or a wildcard, lets someone else receive them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import APP, UNKNOWN, as_list, dig, plain
from .redirect_uris import Problem, redirect_uri_problem

APP_REDIRECT_URIS = "azuread:index/applicationRedirectUris:ApplicationRedirectUris"
NO_IMPLICIT_ACCESS_TOKENS = "certless-no-implicit-access-tokens"
REDIRECT_URIS_HTTPS = "certless-redirect-uris-https"
NO_WILDCARD_REDIRECT_URIS = "certless-no-wildcard-redirect-uris"

# Redirect URIs a browser follows: the web and single-page platforms (public clients use custom schemes).
_PLATFORMS = {"web": "web", "singlePageApplication": "single-page application"}
_SEPARATE_TYPES = {"Web": "web", "SPA": "single-page application"}


def _redirect_uris(args: ResourceValidationArgs) -> Iterator[tuple[str, str]]:
    """(platform, URI) for every known redirect URI the resource declares."""
    props = plain(args.props)
    if args.resource_type == APP:
        for block, platform in _PLATFORMS.items():
            for uri in as_list(dig(props, block, "redirectUris")):
                if uri is not UNKNOWN:
                    yield platform, uri
    elif args.resource_type == APP_REDIRECT_URIS:
        separate = _SEPARATE_TYPES.get(str(props.get("type")))
        if separate is not None:
            for uri in as_list(props.get("redirectUris")):
                if uri is not UNKNOWN:
                    yield separate, uri


def _report_uris(kinds: tuple[Problem, ...], fix: str) -> Any:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for platform, uri in _redirect_uris(args):
            problem = redirect_uri_problem(uri)
            if problem is not None and problem[0] in kinds:
                shown = uri if isinstance(uri, str) and len(uri) <= 120 else f"{str(uri)[:117]}..."
                report(f"'{args.name}' {platform} redirect URI {shown!r} {problem[1]}; {fix}.", None)

    return validate


def _no_implicit_access_tokens(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != APP:
        return
    enabled = dig(plain(args.props), "web", "implicitGrant", "accessTokenIssuanceEnabled")
    if enabled is True:
        report(
            f"application '{args.name}' enables implicit-grant access tokens (web.implicitGrant."
            "accessTokenIssuanceEnabled); they travel in the URL fragment. Set it to false and use the"
            " authorization-code flow (MSAL and Microsoft.Identity.Web do).",
            None,
        )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name=NO_IMPLICIT_ACCESS_TOKENS,
        description="No app registration lets the implicit grant issue access tokens.",
        validate=_no_implicit_access_tokens,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name=REDIRECT_URIS_HTTPS,
        description=(
            "Web and single-page redirect URIs are absolute https URLs (http only on localhost or"
            " 127.0.0.1), with no user info, backslash, fragment, IPv6 or non-ASCII host."
        ),
        validate=_report_uris(
            ("scheme", "form"), "expected an absolute https URL (http only on localhost or 127.0.0.1)"
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name=NO_WILDCARD_REDIRECT_URIS,
        description="No wildcard ('*') in a web or single-page redirect URI.",
        validate=_report_uris(("wildcard",), "list each redirect URI instead"),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
