"""The blue-green checks, run offline on the plans of both colours (and of the owner stack if separate).

Each check returns a CheckResult: passed or not, the findings that make it fail (each naming the
resource and the stack) and details saying what was verified.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from certless_ops.bluegreen.destroy import casualties, simulate_destroy
from certless_ops.bluegreen.physical import app_object_id, arm_key, plan_physical_names
from certless_ops.bluegreen.planview import Plan, Resource
from certless_ops.bluegreen.shared import OwnedPiece, owned_pieces, shared_pieces
from certless_ops.plan.fic_names import APP_FIC, FIC_TYPES, IDENTITY_FIC

FIC_LIMIT = 20  # federated identity credentials per app registration and per user-assigned identity


@dataclass
class CheckResult:
    id: str
    title: str
    passed: bool = True
    findings: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.passed = False
        self.findings.append(message)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "findings": self.findings,
            "details": self.details,
        }


@dataclass(frozen=True)
class Release:
    """The two colours under check, and the owner of the shared layer when it is a third stack."""

    blue: Plan
    green: Plan
    owner: Plan | None = None

    @property
    def colours(self) -> tuple[Plan, Plan]:
        return (self.blue, self.green)

    @property
    def plans(self) -> list[Plan]:
        return [self.blue, self.green] + ([self.owner] if self.owner else [])


def run_checks(release: Release) -> list[CheckResult]:
    checks: list[Callable[[Release], CheckResult | list[CheckResult]]] = [
        check_shared_reference,
        check_physical_names,
        check_fic_unique,
        check_destroy,
        check_shared_protected,
        check_aks_fics,
        check_fic_limit,
        check_redirect_uris,
    ]
    results: list[CheckResult] = []
    for check in checks:
        outcome = check(release)
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


# --- one shared identity layer, one owner --------------------------------------------------------------


def subscription_of_plan(plan: Plan) -> str | None:
    """The subscription of the plan's first owned Azure resource (its compute's subscription)."""
    for resource in plan.owned():
        if resource.type == "azure-native:authorization:RoleAssignment":
            continue  # its ID lives under its scope, which may be another subscription's
        if resource.id and resource.id.lower().startswith("/subscriptions/"):
            return resource.id.split("/")[2]
    return None


def _owners(release: Release) -> list[OwnedPiece]:
    return owned_pieces(shared_pieces(release.plans), release.plans)


def check_shared_reference(release: Release) -> CheckResult:
    result = CheckResult("shared-layer", "Both colours use one shared identity layer with a single owner")
    blue, green = release.colours
    blue_workloads = {w.name: w for w in blue.workloads}
    green_workloads = {w.name: w for w in green.workloads}
    if not blue_workloads or not green_workloads:
        for plan, workloads in ((blue, blue_workloads), (green, green_workloads)):
            if not workloads:
                result.fail(
                    f"{plan.label}: the plan has no workloads in its outputs; nothing shares an identity"
                )
        return result
    subscriptions = {plan.label: subscription_of_plan(plan) for plan in release.plans}
    if len({s for s in subscriptions.values() if s}) > 1:
        listed = ", ".join(f"{label} in {sub}" for label, sub in subscriptions.items() if sub)
        result.fail(
            f"the plans were simulated in different subscriptions ({listed}), so their Azure IDs cannot "
            "match; set azure-native:subscriptionId in each stack, or let bluegreen-check plan the stacks "
            "(--blue/--green STACK), which plans them in one subscription"
        )
    for name in sorted(blue_workloads.keys() & green_workloads.keys()):
        b, g = blue_workloads[name], green_workloads[name]
        compared = [
            ("app object ID", b.app_object_id, g.app_object_id),
            ("app client ID", b.app_client_id, g.app_client_id),
        ]
        if "SystemAssigned" in (b.identity_type, g.identity_type):
            # Each colour's compute has its own system-assigned identity, trusted by that colour's own
            # FIC on the shared app: it works, but the identity dies with the colour.
            result.details.append(
                f"workload {name!r} uses a system-assigned identity: each colour's compute has its own, "
                "trusted by its own FIC on the app; a user-assigned identity is the blue-green choice"
            )
        else:
            compared.insert(0, ("identity", b.identity_resource_id, g.identity_resource_id))
        for what, left, right in compared:
            if (left or "").lower() != (right or "").lower():
                result.fail(
                    f"workload {name!r}: {blue.label} uses {what} {left} but {green.label} uses {right}; "
                    "the green stack must reference the shared layer, not create its own"
                )
    for name in sorted(blue_workloads.keys() ^ green_workloads.keys()):
        where = blue.label if name in blue_workloads else green.label
        result.details.append(f"workload {name!r} exists only in {where}")

    owners = _owners(release)
    by_piece: dict[str, set[str]] = defaultdict(set)
    for owned in owners:
        by_piece[owned.piece.name.key].add(owned.plan.label)
    for piece in shared_pieces(release.plans):
        stacks = sorted(by_piece.get(piece.name.key, ()))
        if len(stacks) > 1:
            result.fail(f"{piece.name.display} is created by {' and '.join(stacks)}; only its owner may")
        elif stacks:
            result.details.append(f"{piece.name.display}: owned by {stacks[0]}")
        elif piece.role in {"identity", "app registration"}:
            result.details.append(f"{piece.name.display}: owned by no stack checked here")
    _check_trusts(release, bool(owners), result)
    owner_labels = {o.plan.label for o in owners}
    if release.owner is not None and release.owner.label not in owner_labels:
        result.fail(f"{release.owner.label} was given as the owner but creates none of the shared layer")
    if result.passed:
        result.details.insert(0, "both colours resolve the same identity and app registration")
    return result


def _check_trusts(release: Release, owner_checked: bool, result: CheckResult) -> None:
    # The owner creates an app's FIC trusting an identity only for the (app, identity) pairs its own
    # workloads use; a colour workload pairing them differently would sign in with no trust at all.
    trusts = {
        (fic.target_key, fic.subject)
        for plan in release.plans
        for fic in planned_fics(plan)
        if fic.resource.type == APP_FIC
    }
    for plan in release.colours:
        for w in plan.workloads:
            if w.identity_type != "UserAssigned" or w.aks_mode == "direct":
                continue
            if not w.app_object_id or not w.identity_principal_id:
                continue
            if (f"app:{w.app_object_id.lower()}", w.identity_principal_id) in trusts:
                continue
            message = (
                f"{plan.label}: workload {w.name!r} signs in as app {w.app_object_id} with identity "
                f"{w.identity_resource_id}, but no stack checked here creates the app's FIC trusting that "
                "identity (the owner creates one per app and identity its own workloads pair)"
            )
            if owner_checked:
                result.fail(message)
            else:
                result.details.append(message)


# --- physical names ---------------------------------------------------------------------------------


def check_physical_names(release: Release) -> CheckResult:
    result = CheckResult("physical-names", "No physical name is created by two stacks")
    claims: dict[str, list[tuple[Plan, Resource, str]]] = defaultdict(list)
    for plan in release.plans:
        for urn, names in plan_physical_names(plan).items():
            for name in names:
                claims[name.key].append((plan, plan.by_urn[urn], name.display))
    compared = 0
    for entries in claims.values():
        stacks = {plan.label for plan, _, _ in entries}
        compared += 1
        if len(stacks) > 1:
            owners = "; ".join(f"{plan.label}: {res.label}" for plan, res, _ in entries)
            result.fail(f"{entries[0][2]} is created by more than one stack ({owners})")
    result.details.append(f"{compared} physical names compared across {len(release.plans)} stacks")
    return result


# --- FICs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedFic:
    plan: Plan
    resource: Resource
    target: str  # "identity <resource id>" or "app <object id>"
    target_key: str
    issuer: str
    subject: str


def planned_fics(plan: Plan) -> list[PlannedFic]:
    fics = []
    for resource in plan.owned():
        if resource.type not in FIC_TYPES:
            continue
        if resource.type == APP_FIC:
            oid = app_object_id(resource)
            if not oid:
                continue
            target, key = f"app {oid}", f"app:{oid.lower()}"
        else:
            identity_id = _identity_of_fic(resource)
            if not identity_id:
                continue
            target, key = f"identity {identity_id}", arm_key(identity_id)
        fics.append(
            PlannedFic(
                plan,
                resource,
                target,
                key,
                str(resource.prop("issuer") or ""),
                str(resource.prop("subject") or ""),
            )
        )
    return fics


def _identity_of_fic(resource: Resource) -> str | None:
    if resource.id and "/federatedidentitycredentials/" in resource.id.lower():
        return resource.id[: resource.id.lower().index("/federatedidentitycredentials/")]
    return None


def check_fic_unique(release: Release) -> CheckResult:
    result = CheckResult(
        "fic-unique", "No second FIC with the same issuer and subject on the app or identity"
    )
    groups: dict[tuple[str, str, str], list[PlannedFic]] = defaultdict(list)
    for plan in release.plans:
        for fic in planned_fics(plan):
            groups[(fic.target_key, fic.issuer, fic.subject)].append(fic)
    for (_, issuer, subject), fics in groups.items():
        if len(fics) > 1:
            declared = "; ".join(f"{f.plan.label}: {f.resource.label}" for f in fics)
            result.fail(
                f"{fics[0].target} gets {len(fics)} FICs for issuer {issuer} and subject {subject} "
                f"({declared}); "
                "Entra rejects the second one ('issuer and subject combination already exists')"
            )
    result.details.append(f"{sum(len(v) for v in groups.values())} planned FICs, {len(groups)} distinct")
    return result


def check_fic_limit(release: Release) -> CheckResult:
    result = CheckResult(
        "fic-limit", f"At most {FIC_LIMIT} FICs on the shared app and on the shared identity"
    )
    per_target: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[str, str] = {}
    for plan in release.plans:
        for fic in planned_fics(plan):
            per_target[fic.target_key][plan.label] += 1
            labels[fic.target_key] = fic.target
    for key, counts in sorted(per_target.items()):
        total = sum(counts.values())
        made_of = ", ".join(f"{n} from {label}" for label, n in sorted(counts.items()))
        line = f"{labels[key]}: {total} FIC{'s' if total != 1 else ''} ({made_of})"
        if total > FIC_LIMIT:
            result.fail(f"{line}, over the limit of {FIC_LIMIT}")
        else:
            result.details.append(line)
    result.details.append("FICs created outside these stacks also count and are not visible here")
    return result


def check_redirect_uris(release: Release) -> CheckResult:
    """Each colour's sign-in hosts are redirect URIs of the owner's app (the owner holds the registration)."""
    result = CheckResult(
        "redirect-uris", "Each colour's sign-in redirect URIs are registered on the owner's app"
    )
    for plan in release.colours:
        for w in plan.workloads:
            record = w.redirect_uris if isinstance(w.redirect_uris, Mapping) else {}
            needed = [u for u in record.get("needed") or () if isinstance(u, str)]
            missing = [u for u in record.get("missing") or () if isinstance(u, str)]
            for uri in missing:
                result.fail(
                    f"{plan.label} workload {w.name}: {uri} is not a redirect URI of its app (Entra refuses"
                    " a sign-in sent there, AADSTS50011); add it to the owner's"
                    " certless:apps.<key>.web.redirectUris"
                )
            for uri in needed:
                if uri not in missing:
                    result.details.append(f"{plan.label} workload {w.name}: {uri} registered")
    if not result.findings and not result.details:
        result.details.append("no colour workload signs users in on a host of its own")
    return result


def check_aks_fics(release: Release) -> CheckResult:
    result = CheckResult(
        "aks-fics",
        "Each colour's AKS cluster FIC is on the shared identity, chained within its stack, within the limit",
    )
    any_aks = False
    for plan in release.colours:
        fics = planned_fics(plan)
        for workload in plan.workloads:
            if workload.kind != "aks" or not workload.aks:
                continue
            any_aks = True
            issuer = str(workload.aks.get("oidcIssuerUrl") or "")
            subject = (
                f"system:serviceaccount:{workload.aks.get('namespace')}:{workload.aks.get('serviceAccount')}"
            )
            if workload.aks_mode == "direct":
                wanted, where = (
                    f"app:{(workload.app_object_id or '').lower()}",
                    f"app {workload.app_object_id}",
                )
            else:
                wanted, where = (
                    arm_key(workload.identity_resource_id or ""),
                    f"identity {workload.identity_resource_id}",
                )
            match = [
                f for f in fics if f.target_key == wanted and f.issuer == issuer and f.subject == subject
            ]
            if not match:
                result.fail(
                    f"{plan.label}: workload {workload.name!r} has no FIC of its own on the {where} "
                    f"for its cluster issuer {issuer} and subject {subject}"
                )
            else:
                result.details.append(
                    f"{plan.label}: workload {workload.name!r} has cluster {match[0].resource.label} "
                    f"on the {where}"
                )
        _check_serialized(plan, fics, result)
    if not any_aks:
        result.details.append("no AKS workloads in either colour")
    else:
        # depends_on orders writes within one stack only: the colours' FICs on the shared identity are
        # serialized only if their deployments are.
        result.details.append(
            "FICs of different stacks cannot be chained by depends_on: run one `pulumi up` at a time on "
            "stacks sharing the identity (Azure answers 409 to concurrent FIC writes)"
        )
    return result


def _check_serialized(plan: Plan, fics: Sequence[PlannedFic], result: CheckResult) -> None:
    # Azure answers 409 to concurrent FIC writes under one identity: within a stack the FICs on the same
    # identity must form a dependency chain. Two colours are deployed by separate `pulumi up`s.
    by_identity: dict[str, list[PlannedFic]] = defaultdict(list)
    for fic in fics:
        if fic.resource.type == IDENTITY_FIC:
            by_identity[fic.target_key].append(fic)
    for group in by_identity.values():
        closures = {f.resource.urn: plan.dependency_closure(f.resource.urn) for f in group}
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                a, b = first.resource.urn, second.resource.urn
                if a not in closures[b] and b not in closures[a]:
                    result.fail(
                        f"{plan.label}: {first.resource.label} and {second.resource.label} on {first.target} "
                        "can be written at the same time (no dependency between them); Azure rejects "
                        "concurrent FIC writes on one identity with 409"
                    )
        if len(group) > 1 and result.passed:
            result.details.append(f"{plan.label}: {len(group)} FICs on {group[0].target} form one chain")


# --- destroy --------------------------------------------------------------------------------------------


def check_destroy(release: Release) -> list[CheckResult]:
    pieces = shared_pieces(release.plans)
    results = []
    for plan, other in ((release.blue, release.green), (release.green, release.blue)):
        result = CheckResult(
            f"destroy-{_colour_id(release, plan)}",
            f"Destroying {plan.label} leaves the shared layer and {other.label} untouched",
        )
        outcome = simulate_destroy(plan)
        targets = [(p.name.display, p.name) for p in pieces]
        other_names = plan_physical_names(other)
        targets += [
            (f"{other.label}'s {other.by_urn[urn].label} ({name.display})", name)
            for urn, names in other_names.items()
            for name in names
        ]
        for line in casualties(outcome, targets):
            result.fail(f"pulumi destroy -s {plan.stack}: {line}")
        if outcome.protected:
            result.details.append(
                f"pulumi destroy -s {plan.stack} fails on its {len(outcome.protected)} protected "
                "resources; "
                f"with --exclude-protected it deletes {len(outcome.deleted)} physical resources and keeps "
                f"{len(outcome.protected)} protected + {len(outcome.kept_as_dependency)} they depend on"
            )
        else:
            result.details.append(
                f"pulumi destroy -s {plan.stack} deletes {len(outcome.deleted)} physical resources"
            )
        if outcome.retained:
            result.details.append(
                f"{len(outcome.retained)} resources are retained in the cloud (retain_on_delete)"
            )
        results.append(result)
    return results


def _colour_id(release: Release, plan: Plan) -> str:
    return "blue" if plan is release.blue else "green"


def check_shared_protected(release: Release) -> CheckResult:
    result = CheckResult(
        "shared-protected", "The shared layer is protected or retained on delete by its owner"
    )
    owners = _owners(release)
    if not owners:
        result.fail(
            "no stack checked here creates the shared identity layer; pass the owner stack's plan "
            "(--owner / --plan-owner) to check its protection"
        )
        return result
    for owned in owners:
        resource = owned.resource
        what = f"{owned.piece.name.display} ({owned.plan.label}: {resource.urn})"
        if resource.protect or resource.retain_on_delete:
            how = "protect" if resource.protect else "retain_on_delete"
            result.details.append(f"{owned.piece.name.display}: {how}")
        else:
            result.fail(f"{what} is neither protect nor retain_on_delete; destroying its stack deletes it")
    return result
