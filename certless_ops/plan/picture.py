"""The trust chain of a plan as a Mermaid flowchart: compute → identity → FIC → app → access grants.

Drawn from the plan's ``outputs.workloads`` records (what each compute is told and which FICs its chain
needs) and the identities and apps among its resources. A link that does not hold is drawn red and
dashed: an app FIC whose subject is not the identity's principal ID, or a chain with no FIC at all.
GitHub renders Mermaid in Markdown, PR comments and ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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


class _Graph:
    def __init__(self) -> None:
        self.lines: list[str] = ["flowchart LR"]
        self.nodes: set[str] = set()
        self.edges: set[tuple[str, str, str]] = set()
        self.broken: list[int] = []
        self._count = 0

    def node(self, node_id: str, label: str, shape: str = "rect") -> str:
        if node_id not in self.nodes:
            self.nodes.add(node_id)
            opening, closing = {"rect": ("[", "]"), "round": ("([", "])"), "hex": ("{{", "}}")}[shape]
            self.lines.append(f'  {node_id}{opening}"{_text(label)}"{closing}')
        return node_id

    def edge(self, a: str, b: str, label: str = "", *, broken: bool = False) -> None:
        key = (a, b, label)
        if key in self.edges:
            return
        self.edges.add(key)
        arrow = "-.->" if broken else "-->"
        self.lines.append(f'  {a} {arrow}|"{_text(label)}"| {b}' if label else f"  {a} {arrow} {b}")
        if broken:
            self.broken.append(self._count)
        self._count += 1

    def render(self) -> str:
        lines = list(self.lines)
        lines.append("  classDef broken stroke:#d00,color:#d00")
        if self.broken:
            lines.append(
                f"  linkStyle {','.join(map(str, self.broken))} stroke:#d00,stroke-width:2px,color:#d00"
            )
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
    identities, apps = _names(plan.get("resources") or [])
    g = _Graph()
    workloads = (plan.get("outputs") or {}).get("workloads", {})
    for name, w in sorted(workloads.items() if isinstance(workloads, Mapping) else []):
        if isinstance(w, Mapping):
            _workload(g, name, w, identities, apps)
        else:  # a preview plan: the workload's record depends on outputs known only after deploy
            g.node(_id("compute", name), f"{name}: chain known only after deploy")
    return g.render()


def _workload(
    g: _Graph, name: str, w: Mapping[str, Any], identities: Mapping[str, str], apps: Mapping[str, str]
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


def _trust(g: _Graph, a: str, b: str, fics: list[Mapping[str, Any]], missing: str) -> None:
    if not fics:
        g.edge(a, b, missing, broken=True)
    for fic in fics:
        g.edge(a, b, f"FIC {fic.get('name')}")


def _grants(g: _Graph, app: str, w: Mapping[str, Any]) -> None:
    for grant in w.get("access") or []:
        if not isinstance(grant, Mapping):
            continue
        what = grant.get("role") or grant.get("appRole") or grant.get("roleDefinitionId") or "grant"
        where = grant.get("scope") or grant.get("api") or ""
        target = str(where).rstrip("/").rsplit("/", 1)[-1] if where else ""
        node = g.node(_id("grant", str(what), str(where)), f"{what} on {target}" if target else str(what))
        g.edge(app, node, "granted")
