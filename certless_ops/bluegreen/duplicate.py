"""Duplicate a stack's settings into a new colour that references the shared identity layer.

``Pulumi.prod.yaml`` -> ``Pulumi.prod-green.yaml``: same settings (comments and order kept), the
colour set, and the shared identity layer (``certless:identities`` / ``certless:apps``) replaced by a
reference to the stack that owns it. Before writing, the owner and every colour stack that references
it are planned offline, to refuse a result that would put more than 20 FICs on the shared identity or
app, and to prove the owner exports what the new stack reads from it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certless_ops.bluegreen import ownership
from certless_ops.bluegreen.checks import FIC_LIMIT, planned_fics
from certless_ops.bluegreen.colors import colour_stack_name, validate_color
from certless_ops.bluegreen.owner_redirects import OwnerUpdate, add_to_owner, missing_uris
from certless_ops.bluegreen.planning import subscription_of
from certless_ops.bluegreen.planview import Plan
from certless_ops.bluegreen.runbook import Release
from certless_ops.bluegreen.stackfile import (
    ENCRYPTION_KEYS,
    StackFile,
    encrypted_entries,
    existing_stacks,
    load_stack_file,
    parse_stack_file,
    project_name,
    stack_file_path,
)
from certless_ops.errors import UserError

STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

# (stack name, its settings as YAML text or None to read Pulumi.<stack>.yaml, StackReference outputs,
# the subscription to plan in or None) -> plan document
Planner = Callable[[str, str | None, Mapping[str, Mapping[str, Any]], str | None], dict[str, Any]]


# Kubernetes namespaces are DNS-1123 labels.
DNS_LABEL_MAX = 63


@dataclass(frozen=True)
class DuplicateRequest:
    project_dir: Path
    source: str
    color: str
    target: str | None = None
    org: str | None = None
    force: bool = False
    owner_plan: dict[str, Any] | None = None  # plan of an owner stack whose settings are not in project_dir


@dataclass
class FicCount:
    target: str  # "identity <resource id>" or "app <object id>"
    by_stack: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_stack.values())

    def explain(self) -> str:
        parts = ", ".join(f"{n} from {stack}" for stack, n in self.by_stack.items())
        return f"{self.target}: {self.total} FIC{'s' if self.total != 1 else ''} ({parts})"


@dataclass
class DuplicateResult:
    source: str
    target: str
    path: Path
    text: str
    owner_ref: str | None
    removed_keys: list[str]
    fic_counts: list[FicCount]
    notes: list[str]
    owner_update: OwnerUpdate | None = None
    """The owner's stack file with the new colour's redirect URIs added, when it lacked some."""
    source_owns_layer: bool = False
    secrets_provider: str | None = None  # the source's non-default provider, for `pulumi stack init`

    def release(self, org: str | None) -> Release:
        """This release, for the runbook's next steps (docs/blue-green.md)."""
        update = self.owner_update
        return Release(
            self.source,
            self.target,
            self.source_owns_layer,
            org,
            self.secrets_provider,
            owner_redirects=(update.stack, tuple(update.apps)) if update is not None else None,
        )


def prepare(request: DuplicateRequest, planner: Planner) -> DuplicateResult:
    """Everything but writing: the new file's text, or one UserError saying why it must not exist."""
    color = validate_color(request.color)
    source = load_stack_file(request.project_dir, request.source)
    project = project_name(request.project_dir)
    source_color = ownership.get(source.config, ownership.COLOR, project)
    target = request.target or colour_stack_name(request.source, source_color, color)
    if not STACK_NAME.fullmatch(target):
        raise UserError(
            f"--to {target!r} is not a valid stack name: expected letters, digits, '-', '_' or '.'"
        )
    if target == request.source or source_color == color:
        raise UserError(f"stack {request.source!r} already has colour {color!r}; expected another colour")
    _refuse_encrypted(source, target, request.org, project)
    path = stack_file_path(request.project_dir, target)
    if path.exists() and not request.force:
        raise UserError(
            f"stack {target!r} already exists: {path} is there; pass --force to overwrite it "
            f"(or --to NAME for another stack name)"
        )

    new = parse_stack_file(path, target, source.dumps())  # a deep copy that keeps comments
    owned = ownership.ownership_of(source.config, project)
    notes: list[str] = _drop_key_material(new, source, target, request.org, project)
    removed: list[str] = []
    owner_ref: str | None = owned.owner_stack
    if owned.owns:
        qualified = (request.org, project, request.source) if request.org else (request.source,)
        owner_ref = "/".join(p for p in qualified if p)
        removed = ownership.reference_owner(new.config, owner_ref, project)
        if not request.org:
            notes.append(
                f"the reference names stack {owner_ref!r} in your current Pulumi organization and project; "
                "pass --org ORG to write the fully qualified org/project/stack name"
            )
    ownership.set_color(new.config, color, project)
    notes.extend(
        _own_namespaces(new, source, source_color=source_color, color=color, target=target, project=project)
    )
    header = (
        f"# Written by `./dev duplicate --from {request.source} --color {color}` from "
        f"{source.path.name}:\n# same settings, colour {color!r}, shared identity layer "
        + (f"referenced from stack {owner_ref!r}.\n" if owner_ref else "given by explicit IDs.\n")
    )
    body = new.dumps()
    text = header + body + ("" if body.endswith("\n") else "\n")

    counts, owner_update = _fic_counts(
        request,
        project=project,
        source=source,
        owned=owned,
        owner_ref=owner_ref,
        target=target,
        target_text=text,
        planner=planner,
        notes=notes,
    )
    over = [c for c in counts if c.total > FIC_LIMIT]
    if over:
        details = "; ".join(c.explain() for c in over)
        raise UserError(
            f"stack {target!r} would exceed the limit of {FIC_LIMIT} federated identity credentials: "
            f"{details}. Each colour adds one FIC per AKS workload on the identity (via-identity) or on "
            "the app (direct); destroy a colour stack no longer used, or give workloads their own identity"
        )
    return DuplicateResult(
        request.source,
        target,
        path,
        text,
        owner_ref,
        removed,
        counts,
        notes,
        owner_update,
        source_owns_layer=owned.owns,
        secrets_provider=_custom_secrets_provider(source),
    )


def _drop_key_material(
    new: StackFile, source: StackFile, target: str, org: str | None, project: str | None
) -> list[str]:
    """Remove the source stack's own key material from the copy; say how to keep its secrets provider."""
    for key in ENCRYPTION_KEYS:
        new.document.pop(key, None)
    provider = _custom_secrets_provider(source)
    if provider is None:
        return []
    qualified = f"{org or '<org>'}/{project or '<project>'}/{target}"
    return [
        f"{source.stack}'s secrets provider is {provider}: create the new stack with the same one: "
        f"`pulumi stack init {qualified} --secrets-provider {provider}`"
    ]


def _custom_secrets_provider(source: StackFile) -> str | None:
    """The source's secrets provider when the new stack must be told it (Key Vault, KMS, ...)."""
    provider = source.document.get("secretsprovider")
    if not isinstance(provider, str) or provider in ("", "default", "passphrase"):
        return None
    return provider


def _refuse_encrypted(source: StackFile, target: str, org: str | None, project: str | None) -> None:
    found = encrypted_entries(source.document)
    if not found:
        return
    qualified = f"{org or '<org>'}/{project or '<project>'}/{target}"
    raise UserError(
        f"stack {source.stack!r} holds encrypted values ({', '.join(found)}) that only its own secrets "
        "provider can decrypt, so they cannot be copied into a new file; create the stack with Pulumi, "
        f"which re-encrypts them: `pulumi stack init {qualified} --copy-config-from {source.stack}`, "
        "then set certless:color and certless:identityOwner on it as docs/blue-green.md shows"
    )


def _fic_counts(
    request: DuplicateRequest,
    *,
    project: str | None,
    source: StackFile,
    owned: ownership.Ownership,
    owner_ref: str | None,
    target: str,
    target_text: str,
    planner: Planner,
    notes: list[str],
) -> tuple[list[FicCount], OwnerUpdate | None]:
    plans: list[Plan] = []
    owner_file: StackFile | None = None
    if owned.owns:
        owner_doc = planner(request.source, None, {}, None)
        owner_file = parse_stack_file(source.path, source.stack, source.dumps())
    elif request.owner_plan is not None:
        owner_doc = request.owner_plan
    elif owned.owner_stack is not None:
        owner_doc = _plan_owner(request.project_dir, owned.owner_stack, planner)
        owner_file = load_stack_file(request.project_dir, owned.owner_stack.rsplit("/", 1)[-1])
    else:
        owner_doc = None
        notes.append("the shared layer is given by explicit IDs: FICs its owner created are not counted")
    owner_update = None
    if owner_doc is not None:
        missing = missing_uris(request.project_dir, target, target_text, owner_doc["outputs"])
        if missing and owner_file is not None:
            owner_update = add_to_owner(owner_file, missing, project)
            # Planned as it will be once `pulumi up` of the owner has registered the URIs.
            owner_doc = planner(owner_file.stack, owner_update.text, {}, None)
        for key, uris in missing.items() if owner_file is None else ():
            notes.append(
                f"app {key!r} of the owner stack does not list {', '.join(uris)}: add them to its"
                f" certless:apps.{key}.web.redirectUris and `pulumi up` it before {target}"
            )
    outputs: dict[str, Mapping[str, Any]] = {}
    if owner_doc is not None:
        plans.append(Plan.from_json(owner_doc, owner_doc["stack"]))
        if owner_ref:
            outputs[owner_ref] = owner_doc["outputs"]
    owner_stack_name = owner_doc["stack"] if owner_doc is not None else None
    subscription = subscription_of(owner_doc) if owner_doc is not None else None

    # Every other colour stack here that references the same owner keeps its FICs on the shared layer.
    for stack in existing_stacks(request.project_dir):
        if stack in {target, owner_stack_name}:
            continue
        other = source if stack == source.stack else load_stack_file(request.project_dir, stack)
        if encrypted_entries(other.document):
            notes.append(f"stack {stack!r} holds encrypted values and cannot be planned offline: not counted")
            continue
        theirs = ownership.ownership_of(other.config, project)
        if owner_ref and theirs.owner_stack and _same_stack(theirs.owner_stack, owner_ref):
            doc = _plan_colour(
                planner, stack, text=None, outputs=outputs, owner_ref=owner_ref, subscription=subscription
            )
            plans.append(Plan.from_json(doc, stack))
    new_doc = _plan_colour(
        planner, target, text=target_text, outputs=outputs, owner_ref=owner_ref, subscription=subscription
    )
    plans.append(Plan.from_json(new_doc, f"{target} (new)"))

    per_target: dict[str, FicCount] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for plan in plans:
        for fic in planned_fics(plan):
            count = per_target.setdefault(fic.target_key, FicCount(fic.target))
            # The same FIC planned twice (owner planned, then referenced) counts once.
            identity = f"{fic.issuer}\n{fic.subject}"
            if identity in seen[fic.target_key]:
                continue
            seen[fic.target_key].add(identity)
            count.by_stack[plan.label] = count.by_stack.get(plan.label, 0) + 1
    return sorted(per_target.values(), key=lambda c: c.target), owner_update


def _same_stack(a: str, b: str) -> bool:
    """``org/proj/prod`` and ``prod`` name the same stack when their common tail matches."""
    left, right = a.split("/"), b.split("/")
    n = min(len(left), len(right))
    return left[-n:] == right[-n:]


def _plan_owner(project_dir: Path, owner_stack: str, planner: Planner) -> dict[str, Any]:
    short = owner_stack.rsplit("/", 1)[-1]
    if not stack_file_path(project_dir, short).is_file():
        raise UserError(
            f"the owner stack {owner_stack!r} named in certless:identityOwner does not exist here: no "
            f"Pulumi.{short}.yaml in {project_dir}; expected the stack that owns the shared identity layer "
            "(or pass --owner-plan FILE with its plan from `./dev plan --json FILE`)"
        )
    return planner(short, None, {}, None)


def _plan_colour(
    planner: Planner,
    stack: str,
    *,
    text: str | None,
    outputs: Mapping[str, Mapping[str, Any]],
    owner_ref: str | None,
    subscription: str | None,
) -> dict[str, Any]:
    try:
        return planner(stack, text, outputs, subscription)
    except UserError as exc:
        if owner_ref is None:
            raise
        raise UserError(
            f"stack {stack!r} cannot be planned against the outputs of its owner stack {owner_ref!r}: {exc}"
        ) from None


def _own_namespaces(
    new: StackFile, source: StackFile, *, source_color: Any, color: str, target: str, project: str | None
) -> list[str]:
    """Give the new colour its own namespace where a colour's stack creates the shared one.

    The program creates a workload's namespace unless ``aks.createNamespace`` is false, which is its
    default in a coloured stack. Deleting a namespace deletes every pod in it, the other colour's too, so
    the new colour gets ``<namespace>-<colour>`` (the source colour's suffix replaced) and creates it.
    """
    workloads = ownership.get(source.config, ownership.WORKLOADS, project)
    new_workloads = ownership.get(new.config, ownership.WORKLOADS, project)
    notes: list[str] = []
    if not isinstance(workloads, Mapping) or not isinstance(new_workloads, Mapping):
        return notes
    for name, workload in workloads.items():
        aks = workload.get("aks") if isinstance(workload, Mapping) else None
        new_workload = new_workloads.get(name)
        new_aks = new_workload.get("aks") if isinstance(new_workload, Mapping) else None
        if not isinstance(aks, Mapping) or not isinstance(new_aks, MutableMapping):
            continue
        explicit = aks.get("createNamespace")
        creators = [
            stack
            for stack, coloured in ((source.stack, bool(source_color)), (target, True))
            if explicit is True or (explicit is None and not coloured)
        ]
        namespace = aks.get("namespace")
        if not creators or not isinstance(namespace, str):
            continue
        base = namespace
        if source_color and namespace.endswith(f"-{source_color}"):
            base = namespace[: -len(f"-{source_color}")]
        own = f"{base}-{color}"
        where = f"namespace {namespace!r} on cluster {aks.get('clusterName')!r}"
        who = f"{' and '.join(creators)} create{'s' if len(creators) == 1 else ''} {where}"
        if len(own) > DNS_LABEL_MAX:
            notes.append(
                f"workload {name!r}: {who}, which both colours use: destroying that stack's compute deletes "
                f"the namespace with the other colour's pods. Give {target} its own namespace "
                "(aks.namespace, aks.createNamespace: true) or its own cluster (aks.clusterName)"
            )
            continue
        new_aks["namespace"] = own
        new_aks["createNamespace"] = True
        notes.append(
            f"workload {name!r}: {who}; {target} runs in its own namespace {own!r} (aks.namespace, "
            "aks.createNamespace: true), so that destroying one colour's compute never deletes the other "
            "colour's pods"
        )
    return notes
