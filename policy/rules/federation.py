"""Federated identity credentials: audience, issuer, subject, who the subject is, limits, write order.

Entra accepts a FIC that will never match and only fails at token exchange (AADSTS70021/700213), so
these rules catch at review time what Entra would only reveal at run time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import _stack
from ._props import (
    APP_FIC,
    APP_FLEX_FIC,
    CLOUD_SCHEMA,
    ENTRA_ISSUER_RE,
    GUID_RE,
    IDENTITY_FIC,
    UNKNOWN,
    entra_issuer,
    is_entra_issuer,
    known,
    met_unknown,
    not_recording,
    note_unknown,
    plain,
    resolve_cloud,
    stack_config,
)

AUDIENCE = "certless-fic-audience"
ISSUER = "certless-fic-issuer-allowed"
SUBJECT_FORMAT = "certless-fic-subject-format"
SUBJECT_IS_IDENTITY = "certless-app-fic-trusts-user-assigned-identity"
SYSTEM_ASSIGNED = "certless-app-fic-system-assigned-subject"
LIMITS = "certless-fic-limits"
SERIALIZED = "certless-identity-fics-serialized"

MAX_FICS_PER_PARENT: Final = 20  # Entra's limit per application and per user-assigned identity
ENTRA_MI_AS_FIC_DOC: Final = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity"
AKS_ISSUER_RE: Final = re.compile(r"^https://[^/]+\.oic\.prod-aks\.azure\.[a-z.]+/")
# Kubernetes names: a namespace is a DNS-1123 label, a service account a DNS-1123 subdomain.
DNS_LABEL_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GITHUB_ISSUER: Final = "https://token.actions.githubusercontent.com"


# --- certless-fic-audience ---------------------------------------------------------------------


def _audience(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (APP_FIC, APP_FLEX_FIC, IDENTITY_FIC):
        return
    props = plain(args.props)
    config = args.get_config()
    cloud = resolve_cloud(config)
    expected = config.get("audience") or cloud.token_exchange_audience
    if args.resource_type == APP_FLEX_FIC:
        audience = props.get("audience")
        audiences: Any = [audience] if audience is not None else []
        if audience is UNKNOWN:
            return
    else:
        audiences = props.get("audiences")
    if not known(audiences):
        return
    if not isinstance(audiences, list) or not audiences:
        report(f"'{args.name}' has no audience; expected exactly ['{expected}'] ({cloud.name}).", None)
        return
    if len(audiences) > 1:
        report(
            f"'{args.name}' lists {len(audiences)} audiences {audiences}; a FIC takes exactly one: "
            f"['{expected}'] ({cloud.name}).",
            None,
        )
        return
    if audiences[0] != expected:
        hint = ""
        if isinstance(audiences[0], str) and audiences[0].strip().lower() == expected.lower():
            hint = " (differs only in case or whitespace; Entra compares exactly)"
        report(
            f"'{args.name}' has audience '{audiences[0]}'; expected '{expected}', the {cloud.name} "
            f"token-exchange audience{hint}.",
            None,
        )


# --- certless-fic-subject-format ---------------------------------------------------------------


def _issuer_kind(issuer: str, kubernetes_issuers: list[str]) -> str:
    if is_entra_issuer(issuer):
        return "entra"
    if issuer in kubernetes_issuers or AKS_ISSUER_RE.match(issuer):
        return "kubernetes"
    if issuer.rstrip("/") == GITHUB_ISSUER:
        return "github"
    return "other"


def subject_problem(subject: str, issuer_kind: str) -> str | None:
    """Why a subject cannot match tokens of that kind of issuer, or None when its form is right."""
    if subject != subject.strip() or not subject:
        return "is empty or has leading/trailing whitespace; Entra compares subjects exactly"
    if "*" in subject:
        return "contains '*': federated identity credentials do not support wildcards"
    if issuer_kind == "entra":
        if not GUID_RE.match(subject):
            return (
                "is not a GUID; tokens from the Entra issuer carry the managed identity's principal "
                "(object) ID as subject"
            )
        if subject != subject.lower():
            return (
                "has upper-case letters; the managed identity's principal ID in its tokens is "
                "lower-case and matching is case-sensitive"
            )
    if issuer_kind == "kubernetes":
        parts = subject.split(":")
        if len(parts) != 4 or parts[0] != "system" or parts[1] != "serviceaccount":
            return "does not have the form system:serviceaccount:<namespace>:<service account>"
        namespace, account = parts[2], parts[3]
        if not DNS_LABEL_RE.match(namespace):
            return f"names namespace '{namespace}', not a valid Kubernetes namespace (DNS-1123 label)"
        if len(account) > 253 or not DNS_SUBDOMAIN_RE.match(account):
            return f"names service account '{account}', not a valid Kubernetes name (DNS-1123 subdomain)"
    if issuer_kind == "github" and not subject.startswith(("repo:", "environment:")):
        return "does not have a GitHub Actions form such as repo:<org>/<repo>:environment:<name>"
    return None


def _subject_format(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (APP_FIC, IDENTITY_FIC):
        return
    props = plain(args.props)
    issuer, subject = props.get("issuer"), props.get("subject")
    if not isinstance(issuer, str) or not isinstance(subject, str):
        return  # unknown during preview, or missing (the provider itself rejects a missing one)
    kubernetes_issuers = list(args.get_config().get("kubernetesIssuers") or [])
    problem = subject_problem(subject, _issuer_kind(issuer, kubernetes_issuers))
    if problem:
        report(f"'{args.name}': subject '{subject}' {problem} (issuer '{issuer}').", None)


# --- certless-fic-issuer-allowed ---------------------------------------------------------------


def _issuer(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    config = args.get_config()
    cloud = resolve_cloud(config)
    tenants: set[str] = set()
    for source in (config.get("tenantId"), stack_config("tenantId")):
        if isinstance(source, str) and source:
            tenants.add(source)
    if not tenants:
        # The tenant the stack's identities live in: their tokens are issued by that tenant.
        tenants = {i.tenant_id for i in view.identities if isinstance(i.tenant_id, str)}
        if any(i.tenant_id is UNKNOWN for i in view.identities):
            tenants.add("")  # some tenant unknown: cannot judge Entra issuers
    # An unknown cluster issuer (typical during a preview) leaves the cluster FICs unjudgeable, not
    # the FICs that trust Entra itself.
    with not_recording():  # matters only for the FICs skipped below
        clusters_known = known(view.cluster_issuers)
    allowed = {entra_issuer(cloud, t) for t in tenants if t}
    allowed |= {i for i in view.cluster_issuers if isinstance(i, str)}
    allowed |= {str(i) for i in config.get("allowedIssuers") or []}
    for fic in view.fics:
        issuer = fic.issuer
        if met_unknown(issuer, fic.node.props, "issuer") or not isinstance(issuer, str) or issuer in allowed:
            continue
        match = ENTRA_ISSUER_RE.match(issuer)
        if not clusters_known and not match:
            note_unknown(fic.node.props, "issuer (an AKS cluster's OIDC issuer is unknown)")
            continue
        if match and "" in tenants and match.group("host").lower() in cloud.login_hosts:
            note_unknown(fic.node.props, "issuer (an identity's tenant is unknown)")
            continue
        if match and issuer.endswith("/") and issuer.rstrip("/") in allowed:
            reason = "has a trailing slash; the Entra issuer is .../v2.0 with none, and matching is exact"
        elif any(issuer.lower() == a.lower() for a in allowed):
            reason = "differs from an allowed issuer only in case; matching is case-sensitive"
        elif issuer != issuer.strip():
            reason = "has leading/trailing whitespace"
        elif match and match.group("host").lower() not in cloud.login_hosts:
            reason = (
                f"is on host {match.group('host')}, not the {cloud.name} login host {cloud.login_hosts[0]}"
            )
        elif match:
            expected = ", ".join(sorted(entra_issuer(cloud, t) for t in tenants if t)) or "(no tenant known)"
            reason = f"names tenant '{match.group('tenant')}'; the stack's tenant issuer is {expected}"
        else:
            reason = (
                "is neither the tenant's Entra issuer, nor the OIDC issuer of an AKS cluster declared "
                "in this stack, nor listed in this policy's allowedIssuers"
            )
        report(f"FIC '{fic.name}' on {fic.parent_label}: issuer '{issuer}' {reason}.", fic.node.urn)


# --- certless-app-fic-trusts-user-assigned-identity and the system-assigned advisory ------------


def _entra_app_fics(view: _stack.StackView) -> list[_stack.Fic]:
    return [
        f
        for f in view.fics
        if f.on == "app"
        and f.node.type == APP_FIC
        and isinstance(f.issuer, str)
        and is_entra_issuer(f.issuer)
    ]


def _subject_is_identity(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    principals = {i.principal_id: i for i in view.identities if isinstance(i.principal_id, str)}
    clients = {i.client_id: i for i in view.identities if isinstance(i.client_id, str)}
    some_unknown = any(i.principal_id is UNKNOWN or i.client_id is UNKNOWN for i in view.identities)
    for fic in _entra_app_fics(view):
        subject = fic.subject
        if met_unknown(subject, fic.node.props, "subject"):
            continue
        if not isinstance(subject, str) or subject in principals or subject in view.system_principals:
            continue
        if subject in view.referenced_principals:
            continue  # an identity the owner stack of the shared layer exports
        if subject in clients:
            identity = clients[subject]
            principal = f" {identity.principal_id}" if isinstance(identity.principal_id, str) else ""
            report(
                f"FIC '{fic.name}' has subject '{subject}', the CLIENT ID of identity "
                f"'{identity.node.name}'; Entra matches the token's subject, which is the identity's "
                f"principal (object) ID{principal}. Use the identity's principalId.",
                fic.node.urn,
            )
        elif not some_unknown:
            report(
                f"FIC '{fic.name}' has subject '{subject}', which is not the principal ID of any "
                "user-assigned identity declared or adopted in this stack.",
                fic.node.urn,
            )
        else:
            note_unknown(fic.node.props, "subject (an identity's principal ID is unknown)")


def _system_assigned(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    for fic in _entra_app_fics(view):
        if met_unknown(fic.subject, fic.node.props, "subject"):
            continue
        owner = view.system_principals.get(fic.subject) if isinstance(fic.subject, str) else None
        if owner is not None:
            report(
                f"FIC '{fic.name}' trusts the system-assigned identity of '{owner.name}'. Entra's "
                "documentation for managed identities as app credentials supports user-assigned "
                f"identities only ({ENTRA_MI_AS_FIC_DOC}); prefer a user-assigned identity.",
                fic.node.urn,
            )


# --- certless-fic-limits -------------------------------------------------------------------------


def _limits(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    limit = int(args.get_config().get("maxPerParent") or MAX_FICS_PER_PARENT)
    groups: dict[str, list[_stack.Fic]] = defaultdict(list)
    for fic in view.fics:
        if met_unknown(fic.parent_key, fic.node.props, "parent"):
            continue
        if isinstance(fic.parent_key, str):
            groups[fic.parent_key].append(fic)
    for fics in groups.values():
        label = fics[0].parent_label
        if len(fics) > limit:
            names = ", ".join(f.node.name for f in fics)
            report(
                f"{label} has {len(fics)} federated identity credentials; at most {limit} are allowed "
                f"(Entra's limit is {MAX_FICS_PER_PARENT}): {names}.",
                fics[limit].node.urn,
            )
        seen: dict[tuple[str, str], _stack.Fic] = {}
        for fic in fics:
            unknown = [k for k in ("issuer", "subject") if met_unknown(getattr(fic, k), fic.node.props, k)]
            if unknown or not isinstance(fic.issuer, str) or not isinstance(fic.subject, str):
                continue
            key = (fic.issuer, fic.subject)
            if key in seen:
                mine, theirs = _stack.fic_pair(fic, seen[key])
                report(
                    f"FIC {mine} repeats the issuer and subject of {theirs} on "
                    f"{label}; Entra rejects a duplicate issuer+subject on one parent.",
                    fic.node.urn,
                )
            else:
                seen[key] = fic


# --- certless-identity-fics-serialized -----------------------------------------------------------


def _serialized(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    groups: dict[str, list[_stack.Fic]] = defaultdict(list)
    for fic in view.fics:
        if fic.on == "identity" and met_unknown(fic.parent_key, fic.node.props, "resourceName"):
            continue
        if fic.on == "identity" and isinstance(fic.parent_key, str):
            groups[fic.parent_key].append(fic)
    memo: dict[str, set[str]] = {}
    for fics in groups.values():
        for i, later in enumerate(fics):
            later_ancestors = _stack.ancestors(later.node, view, memo)
            for earlier in fics[:i]:
                if earlier.node.urn in later_ancestors:
                    continue
                if later.node.urn in _stack.ancestors(earlier.node, view, memo):
                    continue
                pair = _stack.fic_pair(earlier, later)
                report(
                    f"FICs {pair[0]} and {pair[1]} on {later.parent_label} can be "
                    "written in parallel: Azure rejects concurrent FIC writes under one identity (409 "
                    "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity). Chain them with "
                    "depends_on.",
                    later.node.urn,
                )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name=AUDIENCE,
        description=(
            "Every federated identity credential has exactly one audience: the configured cloud's "
            "token-exchange audience (api://AzureADTokenExchange in the public cloud)."
        ),
        validate=_audience,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "cloud": CLOUD_SCHEMA,
                "audience": {"type": "string", "description": "Override the expected audience."},
            }
        ),
    ),
    ResourceValidationPolicy(
        name=SUBJECT_FORMAT,
        description=(
            "Every FIC subject has the form its issuer issues: a lower-case GUID (principal ID) for the "
            "Entra issuer, system:serviceaccount:<namespace>:<account> with valid names for a Kubernetes "
            "issuer; never a wildcard or stray whitespace."
        ),
        validate=_subject_format,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "kubernetesIssuers": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Issuers to treat as Kubernetes besides AKS (*.oic.prod-aks.azure.*).",
                }
            }
        ),
    ),
    StackValidationPolicy(
        name=ISSUER,
        description=(
            "Every FIC trusts an allowed issuer: the tenant's https://<login host>/<tenant>/v2.0 (no "
            "trailing slash), the OIDC issuer of an AKS cluster in the stack, or one in allowedIssuers."
        ),
        validate=_issuer,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "cloud": CLOUD_SCHEMA,
                "tenantId": {
                    "type": "string",
                    "pattern": GUID_RE.pattern,
                    "description": "Default: certless:tenantId, else the tenant of the stack's identities.",
                },
                "allowedIssuers": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^https://"},
                    "description": "Further issuers to trust, e.g. https://token.actions.githubusercontent.com.",
                },
            }
        ),
    ),
    StackValidationPolicy(
        name=SUBJECT_IS_IDENTITY,
        description=(
            "An app FIC that trusts the Entra issuer names the principal ID of a user-assigned identity "
            "declared or adopted in the stack (catches the client-ID-as-subject mistake)."
        ),
        validate=_subject_is_identity,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name=SYSTEM_ASSIGNED,
        description=(
            "An app FIC whose subject is a system-assigned identity relies on a combination Entra documents "
            "as unsupported for apps; prefer a user-assigned identity."
        ),
        validate=_system_assigned,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    StackValidationPolicy(
        name=LIMITS,
        description=(
            "At most 20 federated identity credentials per app or identity, and no issuer+subject pair "
            "repeated on one parent."
        ),
        validate=_limits,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "maxPerParent": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_FICS_PER_PARENT,
                    "description": "Lower the per-parent budget, e.g. to leave room for blue-green.",
                }
            }
        ),
    ),
    StackValidationPolicy(
        name=SERIALIZED,
        description=(
            "FICs under one user-assigned identity are ordered by dependencies, so that they are never "
            "written concurrently (Azure answers 409 to parallel writes)."
        ),
        validate=_serialized,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
