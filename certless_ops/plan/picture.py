"""The trust chain of a plan as a Mermaid flowchart: compute → identity → FIC → app → access grants.

Drawn from the plan's ``outputs.workloads`` records (what each compute is told and which FICs its chain
needs) and the identities and apps among its resources. A link that does not hold is drawn red and
dashed: an app FIC whose subject is not the identity's principal ID, or a chain with no FIC at all.
GitHub renders Mermaid in Markdown, PR comments and ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

APP = "azuread:index/application:Application"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
KIND_LABEL = {
    "appservice": "App Service",
    "containerapp": "Container App",
    "aks": "AKS pod",
    "functionapp": "Function App",
    "vm": "VM",
}


def _id(*parts: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _text(value: Any) -> str:
    # Mermaid labels are quoted; a quote or angle bracket in a name must not end or open markup.
    return re.sub(r'["<>]', "'", str(value))


def _short(value: Any) -> str:
    text = str(value or "")
    return f"{text[:8]}…" if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f-]{27}", text) else text


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    shape: str  # rect (compute, service account, grant), round (app), hex (identity)


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    label: str
    broken: bool


class TrustGraph:
    """The picture's nodes and links in drawing order; each renderer (Mermaid, Graphviz) draws this."""

    def __init__(self) -> None:
        self.items: list[Node | Edge] = []
        self._nodes: set[str] = set()
        self._edges: set[tuple[str, str, str]] = set()

    @property
    def nodes(self) -> list[Node]:
        return [i for i in self.items if isinstance(i, Node)]

    @property
    def edges(self) -> list[Edge]:
        return [i for i in self.items if isinstance(i, Edge)]

    def node(self, node_id: str, label: str, shape: str = "rect") -> str:
        if node_id not in self._nodes:
            self._nodes.add(node_id)
            self.items.append(Node(node_id, label, shape))
        return node_id

    def edge(self, a: str, b: str, label: str = "", *, broken: bool = False) -> None:
        if (a, b, label) not in self._edges:
            self._edges.add((a, b, label))
            self.items.append(Edge(a, b, label, broken))


_MERMAID_SHAPES = {"rect": ("[", "]"), "round": ("([", "])"), "hex": ("{{", "}}")}


def render_mermaid(graph: TrustGraph) -> str:
    lines = ["flowchart LR"]
    broken: list[int] = []
    count = 0  # Mermaid's linkStyle counts links in the order they are written
    for item in graph.items:
        if isinstance(item, Node):
            opening, closing = _MERMAID_SHAPES[item.shape]
            lines.append(f'  {item.id}{opening}"{_text(item.label)}"{closing}')
            continue
        arrow = "-.->" if item.broken else "-->"
        label = f'|"{_text(item.label)}"|' if item.label else ""
        lines.append(f"  {item.a} {arrow}{label} {item.b}")
        if item.broken:
            broken.append(count)
        count += 1
    lines.append("  classDef broken stroke:#d00,color:#d00")
    if broken:
        lines.append(f"  linkStyle {','.join(map(str, broken))} stroke:#d00,stroke-width:2px,color:#d00")
    return "\n".join(lines) + "\n"


def _names(resources: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    identities: dict[str, str] = {}
    apps: dict[str, str] = {}
    for res in resources:
        out = res.get("outputs") or {}
        if res.get("type") == UAMI and out.get("clientId"):
            identities[str(out["clientId"])] = str(out.get("name") or res.get("name"))
        elif res.get("type") == APP and out.get("clientId"):
            apps[str(out["clientId"])] = str(out.get("displayName") or res.get("name"))
    return identities, apps


def mermaid(plan: Mapping[str, Any]) -> str:
    """The plan's trust chain as a Mermaid flowchart."""
    return render_mermaid(trust_graph(plan))


def trust_graph(plan: Mapping[str, Any]) -> TrustGraph:
    """The plan's trust chain: one path per workload from its compute to its app and grants."""
    identities, apps = _names(plan.get("resources") or [])
    g = TrustGraph()
    workloads = (plan.get("outputs") or {}).get("workloads", {})
    for name, w in sorted(workloads.items() if isinstance(workloads, Mapping) else []):
        if isinstance(w, Mapping):
            _workload(g, name, w, identities, apps)
        else:  # a preview plan: the workload's record depends on outputs known only after deploy
            g.node(_id("compute", name), f"{name}: chain known only after deploy")
    return g


def _workload(
    g: TrustGraph, name: str, w: Mapping[str, Any], identities: Mapping[str, str], apps: Mapping[str, str]
) -> None:
    kind = str(w.get("kind"))
    compute = g.node(_id("compute", name), f"{KIND_LABEL.get(kind, kind)} {name}")
    app_client = str(w.get("appClientId") or "")
    app = g.node(_id("app", app_client), f"app {apps.get(app_client, _short(app_client))}", "round")
    fics = list(w.get("federatedCredentials") or [])
    app_fics = [f for f in fics if f.get("on") == "app"]
    start = compute
    if kind == "aks":
        aks = w.get("aks") or {}
        account = f"system:serviceaccount:{aks.get('namespace')}:{aks.get('serviceAccount')}"
        sa = g.node(_id("sa", name), f"service account {aks.get('namespace')}/{aks.get('serviceAccount')}")
        g.edge(compute, sa, "runs as")
        start = sa
        if w.get("aksMode") == "direct":
            _trust(g, sa, app, [f for f in app_fics if f.get("subject") == account], "no FIC trusts the pod")
            _grants(g, app, w)
            return
    identity_client = w.get("identityClientId")
    principal = w.get("identityPrincipalId")
    if identity_client:
        label = identities.get(str(identity_client), _short(identity_client))
        identity = g.node(_id("identity", str(identity_client)), f"identity {label}", "hex")
    elif principal:
        identity = g.node(_id("system", name), f"system-assigned identity of {name}", "hex")
    else:
        g.edge(start, app, "no identity", broken=True)
        _grants(g, app, w)
        return
    if kind == "aks":
        on_identity = [f for f in fics if f.get("on") == "identity"]
        _trust(g, start, identity, on_identity, "no FIC on the identity trusts the pod")
    else:
        g.edge(start, identity, "runs as")
    _trust(g, identity, app, [f for f in app_fics if f.get("subject") == principal], "no FIC trusts it")
    _grants(g, app, w)


def _trust(g: TrustGraph, a: str, b: str, fics: list[Mapping[str, Any]], missing: str) -> None:
    if not fics:
        g.edge(a, b, missing, broken=True)
    for fic in fics:
        g.edge(a, b, f"FIC {fic.get('name')}")


def _grants(g: TrustGraph, app: str, w: Mapping[str, Any]) -> None:
    for grant in w.get("access") or []:
        if not isinstance(grant, Mapping):
            continue
        what = grant.get("role") or grant.get("appRole") or grant.get("roleDefinitionId") or "grant"
        where = grant.get("scope") or grant.get("api") or ""
        target = str(where).rstrip("/").rsplit("/", 1)[-1] if where else ""
        node = g.node(_id("grant", str(what), str(where)), f"{what} on {target}" if target else str(what))
        g.edge(app, node, "granted")
