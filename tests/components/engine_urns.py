"""URNs as the real Pulumi engine forms them, and which old URN each new registration claims.

Pulumi's Python mock monitor names a resource after its immediate parent's type only
(``Parent$Child::name``); the real engine carries the whole chain of parent types
(``Grandparent$Parent$Child::name``) and never the root stack's type
(pulumi/pulumi pkg/resource/deploy/deployment.go ``generateURN``). A re-parenting that looks harmless
under the mock can therefore change every descendant's URN in a real deployment.

``claimed_olds`` replays what the engine's step generator does with a registration's aliases
(pkg/resource/deploy/step_generator.go ``getOldResource``, ``generateAliases``, ``collapseAliasToUrn``,
``inheritedChildAlias``): the URN itself first, then the resource's own aliases, then, when its parent
matched an old resource through an alias, the parent's old URN carried over to the child. Only an alias
that *matched* is carried over to children (``sg.aliases`` is filled on a match), so a new component's
own alias matches nothing and its children need aliases of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from component_fakes import Recorder, Registration

ROOT_STACK = "pulumi:pulumi:Stack"


def _prefix(stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::"


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def new_urn(stack: str, project: str, parent_type: str, type_: str, name: str) -> str:
    """resource.NewURN: the parent's qualified type, ``$``, the type; the type alone without a parent type."""
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"{_prefix(stack, project)}{qualified}::{name}"


def create_urn(name: str, type_: str, parent: str, project: str, stack: str) -> str:
    """resource.CreateURN (sdk/go/common/resource/alias.go): the parent URN to its last ``::``, ``$``."""
    if not parent:
        return f"{_prefix(stack, project)}{type_}::{name}"
    return f"{parent[: parent.rfind('::')]}${type_}::{name}"


def engine_urns(rec: Recorder, stack: str, project: str = "certless") -> dict[str, str]:
    """Mock URN -> the URN the real engine gives the same registration (parents register first)."""
    real: dict[str, str] = {}
    for r in rec.registrations:
        parent = real.get(r.parent, "") if r.parent else ""
        parent_type = qualified_type(parent) if parent and qualified_type(parent) != ROOT_STACK else ""
        real[r.urn] = new_urn(stack, project, parent_type, r.type, r.name)
    return real


@dataclass(frozen=True)
class Claim:
    urn: str
    """The registration's own URN in a real deployment."""
    old: str | None
    """The old URN it takes over: its own, one of its aliases, or None (a create)."""
    registration: Registration


def claimed_olds(rec: Recorder, olds: set[str], stack: str, project: str = "certless") -> list[Claim]:
    """For each registration, the old resource the engine would find for it (getOldResource)."""
    real = engine_urns(rec, stack, project)
    matched_alias: dict[str, str] = {}  # sg.aliases: new URN -> the old URN it matched through an alias
    claims: list[Claim] = []
    for r in rec.registrations:
        urn = real[r.urn]
        parent = real.get(r.parent, "") if r.parent else ""
        candidates = [urn, *_aliases(r, parent, matched_alias, real, stack, project)]
        old = next((c for c in candidates if c in olds), None)
        if old is not None and old != urn:
            matched_alias[urn] = old
        claims.append(Claim(urn, old, r))
    return claims


def _aliases(
    r: Registration,
    parent: str,
    matched_alias: dict[str, str],
    real: dict[str, str],
    stack: str,
    project: str,
) -> list[str]:
    # A spec's parentUrn is the parent's URN as this run knows it (the mock's): translate it first.
    specs = [
        {**a, "parentUrn": real.get(str(a.get("parentUrn") or ""), a.get("parentUrn"))} for a in r.alias_specs
    ]
    own = [_collapse(r.name, r.type, parent, a, matched_alias, stack, project) for a in specs]
    result = list(own)
    if parent and parent in matched_alias:
        parent_alias = matched_alias[parent]
        result.append(_inherited(r.type, r.name, urn_name(parent), parent_alias, stack, project))
        for alias in own:
            result.append(
                _inherited(_type_of(alias), urn_name(alias), urn_name(parent), parent_alias, stack, project)
            )
    return list(dict.fromkeys(result))


def _type_of(urn: str) -> str:
    return qualified_type(urn).split("$")[-1]


def _collapse(
    name: str,
    type_: str,
    res_parent: str,
    alias: dict[str, object],
    matched_alias: dict[str, str],
    stack: str,
    project: str,
) -> str:
    if alias.get("urn"):
        return str(alias["urn"])
    parent = str(alias.get("parentUrn") or "")
    if not parent:
        parent = res_parent
    elif parent in matched_alias:
        parent = matched_alias[parent]
    if alias.get("noParent") or (parent and qualified_type(parent) == ROOT_STACK):
        parent = ""
    return create_urn(
        str(alias.get("name") or name),
        str(alias.get("type") or type_),
        parent,
        str(alias.get("project") or project),
        str(alias.get("stack") or stack),
    )


def _inherited(
    child_type: str, child_name: str, parent_name: str, parent_alias: str, stack: str, project: str
) -> str:
    alias_name = child_name
    if child_name.startswith(parent_name):
        alias_name = urn_name(parent_alias) + child_name[len(parent_name) :]
    return new_urn(stack, project, qualified_type(parent_alias), child_type, alias_name)
