"""Render a plan as a tree that shows the trust wiring: which identity each FIC trusts, which identity
each compute uses, and the settings that point the app at them."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from certless_ops.plan.fic_names import APP_FIC, IDENTITY_FIC, fic_name_of, fic_phrase
from components import cloud_init

UAMI = "azure-native:managedidentity:UserAssignedIdentity"

APP = "azuread:index/application:Application"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
WEBAPP = "azure-native:web:WebApp"
CONTAINERAPP = "azure-native:app:ContainerApp"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
VM = "azure-native:compute:VirtualMachine"
SCALE_SET = "azure-native:compute:VirtualMachineScaleSet"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
COMPUTE = (WEBAPP, CONTAINERAPP, DEPLOYMENT, VM, SCALE_SET)
STACK_REFERENCE = "pulumi:pulumi:StackReference"
_ENTRA_ISSUER = re.compile(r"^https://login\.microsoftonline\.(?:com|us)/([0-9a-f-]{36})/v2\.0$")
_MI_CLIENT_ID_SETTING = "AzureAd__ClientCredentials__0__ManagedIdentityClientId"
_APP_CLIENT_ID_SETTING = "AzureAd__ClientId"


def short(value: Any) -> str:
    """A GUID shortened to its first block, enough to tell identities apart on screen; as rich markup
    (a preview's "[unknown]" would otherwise be read as a tag and vanish)."""
    text = str(value)
    return f"{text[:8]}…" if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f-]{27}", text) else escape(text)


@dataclass
class _Index:
    """Lookups from the values a FIC or a setting carries back to the resource that owns them."""

    by_urn: dict[str, dict[str, Any]] = field(default_factory=dict)
    principal: dict[str, str] = field(default_factory=dict)  # principalId -> label
    client: dict[str, str] = field(default_factory=dict)  # identity clientId -> label
    app_client: dict[str, str] = field(default_factory=dict)  # app clientId -> label
    app_id: dict[str, str] = field(default_factory=dict)  # /applications/{objectId} -> label
    identity_id: dict[str, str] = field(default_factory=dict)  # ARM ID (lower) -> label
    identity_name: dict[str, str] = field(default_factory=dict)  # Azure name -> label
    issuer: dict[str, str] = field(default_factory=dict)  # AKS issuer URL -> cluster label
    client_principal: dict[str, str] = field(default_factory=dict)  # identity clientId -> principalId
    identity_client_by_name: dict[str, str] = field(default_factory=dict)  # Azure name -> clientId
    # FICs by subject: (FIC name, what it is on, the clientId of that app or identity)
    fics: dict[str, list[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(list))
    children: dict[str | None, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def _index(plan: dict[str, Any]) -> _Index:
    ix = _Index()
    for res in plan.get("resources", []):
        ix.by_urn[res["urn"]] = res
        ix.children[res.get("parent")].append(res)
        out = res.get("outputs") or {}
        label = f"`{res['name']}`"
        if res["type"] == UAMI:
            ix.client_principal[str(out.get("clientId"))] = str(out.get("principalId"))
            ix.principal[str(out.get("principalId"))] = f"principalId of identity {label}"
            ix.client[str(out.get("clientId"))] = f"identity {label}"
            ix.identity_id[str(res.get("id")).lower()] = label
            ix.identity_name[str(out.get("name"))] = label
        elif res["type"] == APP:
            ix.app_client[str(out.get("clientId"))] = f"app registration {label}"
            ix.app_id[str(out.get("id") or res.get("id"))] = label
        elif res["type"] in (WEBAPP, CONTAINERAPP):
            pid = (out.get("identity") or {}).get("principalId")
            if pid:
                ix.principal[str(pid)] = f"system-assigned principalId of {label}"
        elif res["type"] == STACK_REFERENCE:
            _index_reference(ix, res)
        elif res["type"] == "azure-native:containerservice:ManagedCluster":
            url = (out.get("oidcIssuerProfile") or {}).get("issuerURL")
            if url:
                ix.issuer[str(url)] = f"AKS cluster `{out.get('name')}`"
    for inv in plan.get("invokes", []):
        if inv.get("token") == "azure-native:containerservice:getManagedCluster":
            result = inv.get("result") or {}
            url = (result.get("oidcIssuerProfile") or {}).get("issuerURL")
            if url:
                ix.issuer[str(url)] = f"AKS cluster `{result.get('name')}`"
        elif inv.get("token") == "azure-native:managedidentity:getUserAssignedIdentity":
            result = inv.get("result") or {}
            label = f"`{result.get('name')}` (existing)"
            ix.client_principal[str(result.get("clientId"))] = str(result.get("principalId"))
            ix.principal[str(result.get("principalId"))] = f"principalId of identity {label}"
            ix.client[str(result.get("clientId"))] = f"identity {label}"
            ix.identity_id[str(result.get("id")).lower()] = label
    _index_fics(plan, ix)
    return ix


def _index_reference(ix: _Index, res: dict[str, Any]) -> None:
    """A colour stack's identity layer lives in its owner stack: index what the owner exports."""
    stack = str(res["name"])
    outputs = (res.get("outputs") or {}).get("outputs") or {}
    shared = outputs.get("sharedIdentity") or {}
    for key, ident in (shared.get("identities") or {}).items():
        label = f"`{key}` (stack {stack})"
        client, principal = str(ident.get("clientId")), str(ident.get("principalId"))
        ix.client_principal[client] = principal
        ix.principal[principal] = f"principalId of identity {label}"
        ix.client[client] = f"identity {label}"
        ix.identity_id[str(ident.get("resourceId")).lower()] = label
        ix.identity_name[str(ident.get("name"))] = label
        ix.identity_client_by_name[str(ident.get("name"))] = client
    for key, app in (shared.get("apps") or {}).items():
        ix.app_client[str(app.get("clientId"))] = f"app registration `{key}` (stack {stack})"
    seen: set[tuple[str, str]] = set()
    for workload in (outputs.get("workloads") or {}).values():
        app_client = str(workload.get("appClientId"))
        for fic in workload.get("federatedCredentials") or []:
            subject, name = str(fic.get("subject")), str(fic.get("name"))
            if fic.get("on") != "app" or (subject, name) in seen:
                continue
            seen.add((subject, name))
            on = ix.app_client.get(app_client, f"app {short(app_client)} (stack {stack})")
            ix.fics[subject].append((name, on, app_client))


def _index_fics(plan: dict[str, Any], ix: _Index) -> None:
    app_client_by_id = {
        str((r.get("outputs") or {}).get("id")): str((r.get("outputs") or {}).get("clientId"))
        for r in plan.get("resources", [])
        if r["type"] == APP
    }
    identity_client_by_name = {
        **ix.identity_client_by_name,
        **{
            str((r.get("outputs") or {}).get("name")): str((r.get("outputs") or {}).get("clientId"))
            for r in plan.get("resources", [])
            if r["type"] == UAMI
        },
    }
    for res in plan.get("resources", []):
        inputs = res.get("inputs") or {}
        subject = str(inputs.get("subject", ""))
        if res["type"] == APP_FIC:
            app_id = str(inputs.get("applicationId"))
            on = f"app registration {ix.app_id.get(app_id, '?')}"
            ix.fics[subject].append((fic_name_of(res), on, app_client_by_id.get(app_id, "")))
        elif res["type"] == IDENTITY_FIC:
            name = str(inputs.get("resourceName"))
            on = f"identity {ix.identity_name.get(name, f'`{escape(name)}`')}"
            ix.fics[subject].append((fic_name_of(res), on, identity_client_by_name.get(name, "")))


def _trust_chain(ix: _Index, start: str, start_label: str, app_client: str) -> str:
    """Follow FICs from what the compute presents (a principal ID or a service account subject) to the
    app it signs in as; the chain ends at `app_client` when the wiring is complete."""
    steps = [start_label]
    subject = start
    for _ in range(3):  # service account -> identity -> app at most
        hops = ix.fics.get(subject, [])
        if not hops:
            break
        if app_client in {client for _, _, client in hops}:
            name, on, _ = next(h for h in hops if h[2] == app_client)
            steps.append(f"{escape(fic_phrase(name))} on {on}")
            return "[green]trust chain:[/] " + " → ".join(steps)
        name, on, client = hops[0]
        steps.append(f"{escape(fic_phrase(name))} on {on}")
        subject = ix.client_principal.get(client, "")
    target = ix.app_client.get(app_client, f"app {short(app_client)}")
    steps.append(f"[bold red]no FIC on {target} trusts it[/]")
    return "[bold red]broken trust chain:[/] " + " → ".join(steps)


def _descendants(ix: _Index, urn: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = list(reversed(ix.children.get(urn, [])))
    while stack:
        res = stack.pop()
        out.append(res)
        stack.extend(reversed(ix.children.get(res["urn"], [])))
    return out


def _explain_subject(ix: _Index, subject: str) -> str:
    if subject in ix.principal:
        return f"[green]= {ix.principal[subject]}[/]"
    if subject in ix.client:
        return (
            f"[bold red]= clientId of {ix.client[subject]} (wrong: the subject must be the principal ID)[/]"
        )
    if subject.startswith("system:serviceaccount:"):
        ns, _, sa = subject.removeprefix("system:serviceaccount:").partition(":")
        return f"= Kubernetes service account {ns}/{sa}"
    return "[yellow](matches no identity in this plan)[/]"


def _explain_issuer(ix: _Index, issuer: str) -> str:
    m = _ENTRA_ISSUER.match(issuer)
    if m:
        return f"= Entra tenant {short(m.group(1))}"
    if issuer in ix.issuer:
        return f"= OIDC issuer of {ix.issuer[issuer]}"
    return "[yellow](unknown issuer)[/]"


def _fic_node(parent: Tree, ix: _Index, res: dict[str, Any]) -> None:
    inputs = res.get("inputs") or {}
    if res["type"] == APP_FIC:
        on = f"app registration {ix.app_id.get(str(inputs.get('applicationId')), '?')}"
    else:
        name = str(inputs.get("resourceName"))
        on = f"identity {ix.identity_name.get(name, f'`{escape(name)}`')}"
    node = parent.add(f"[bold]{escape(fic_phrase(fic_name_of(res)))}[/] on {on}")
    issuer = str(inputs.get("issuer", ""))
    subject = str(inputs.get("subject", ""))
    node.add(f"issuer   {escape(issuer)} {_explain_issuer(ix, issuer)}")
    node.add(f"subject  {short(subject)} {_explain_subject(ix, subject)}")
    audiences = inputs.get("audiences") or []
    node.add(f"audience {escape(', '.join(str(a) for a in audiences))}")


def _settings(res: dict[str, Any]) -> dict[str, str]:
    inputs = res.get("inputs") or {}
    pairs: list[Any] = []
    if res["type"] == WEBAPP:
        pairs = (inputs.get("siteConfig") or {}).get("appSettings") or []
    elif res["type"] == CONTAINERAPP:
        for container in (inputs.get("template") or {}).get("containers") or []:
            pairs.extend(container.get("env") or [])
    elif res["type"] == DEPLOYMENT:
        pod = ((inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in pod.get("containers") or []:
            pairs.extend(container.get("env") or [])
    elif res["type"] in (VM, SCALE_SET):
        return _vm_settings(inputs)
    return {str(p.get("name")): str(p.get("value")) for p in pairs if isinstance(p, dict) and "name" in p}


def _vm_settings(inputs: dict[str, Any]) -> dict[str, str]:
    """A VM's settings: the environment file inside its cloud-init custom data."""
    profile = inputs.get("virtualMachineProfile") or inputs
    encoded = (profile.get("osProfile") or {}).get("customData")
    if not isinstance(encoded, str):
        return {}
    try:
        return cloud_init.read_environment(cloud_init.read_custom_data(encoded))
    except (ValueError, cloud_init.CloudInitError):
        return {}


def _compute_node(parent: Tree, ix: _Index, res: dict[str, Any]) -> None:
    kind = res["type"].rsplit(":", 1)[-1]
    node = parent.add(f"[bold]compute[/] `{escape(res['name'])}` ({kind})")
    settings = _settings(res)
    if res["type"] in (WEBAPP, CONTAINERAPP, VM, SCALE_SET):
        identity = (res.get("inputs") or {}).get("identity") or {}
        attached = [
            ix.identity_id.get(str(i).lower(), short(i)) for i in identity.get("userAssignedIdentities") or []
        ]
        node.add(f"identity {escape(str(identity.get('type', 'None')))}: {', '.join(attached) or '-'}")
    if res["type"] == DEPLOYMENT:
        template = ((res.get("inputs") or {}).get("spec") or {}).get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        sa = (template.get("spec") or {}).get("serviceAccountName", "default")
        use = labels.get("azure.workload.identity/use")
        mark = "[green]true[/]" if use == "true" else "[bold red]missing[/]"
        node.add(f"service account `{escape(str(sa))}`, pod label azure.workload.identity/use: {mark}")
    mi_client = settings.get(_MI_CLIENT_ID_SETTING)
    if mi_client:
        who = ix.client.get(mi_client, "[yellow]no identity in this plan[/]")
        node.add(f"ManagedIdentityClientId {short(mi_client)} = clientId of {who}")
    app_client = settings.get(_APP_CLIENT_ID_SETTING)
    if app_client:
        app = ix.app_client.get(app_client, "[yellow]unknown app[/]")
        node.add(f"AzureAd ClientId {short(app_client)} = {app}")
    if "AzureAd__ClientCredentials__0__SourceType" in settings:
        node.add(f"credential source {escape(settings['AzureAd__ClientCredentials__0__SourceType'])}")
    if app_client:
        start = _chain_start(ix, res, mi_client)
        if start is not None:
            node.add(_trust_chain(ix, start[0], start[1], app_client))


def _chain_start(ix: _Index, res: dict[str, Any], mi_client: str | None) -> tuple[str, str] | None:
    """What the compute presents to Entra first: a service account token or an identity's principal."""
    inputs = res.get("inputs") or {}
    if res["type"] == DEPLOYMENT:
        namespace = (inputs.get("metadata") or {}).get("namespace", "default")
        sa = (((inputs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("serviceAccountName")
        sa = sa or "default"
        return f"system:serviceaccount:{namespace}:{sa}", f"service account {escape(f'{namespace}/{sa}')}"
    if mi_client:
        label = ix.client.get(mi_client, short(mi_client))
        return ix.client_principal.get(mi_client, ""), label
    principal = ((res.get("outputs") or {}).get("identity") or {}).get("principalId")
    if principal:
        return str(principal), f"system-assigned identity of `{escape(res['name'])}`"
    return None


def _service_account_node(parent: Tree, ix: _Index, res: dict[str, Any]) -> None:
    meta = (res.get("inputs") or {}).get("metadata") or {}
    annotations = meta.get("annotations") or {}
    client = str(annotations.get("azure.workload.identity/client-id", ""))
    who = ix.client.get(client) or ix.app_client.get(client) or "[yellow]no identity[/]"
    where = f"{meta.get('namespace', 'default')}/{meta.get('name')}"
    parent.add(f"[bold]service account[/] {escape(where)} client-id {short(client)} = {who}")


def build_tree(plan: dict[str, Any]) -> Tree:
    ix = _index(plan)
    resources = plan.get("resources", [])
    stack = next((r for r in resources if r["type"] == "pulumi:pulumi:Stack"), None)
    tenant = (plan.get("outputs") or {}).get("tenantId") or (plan.get("simulation") or {}).get("tenantId")
    root = Tree(
        f"[bold]stack {escape(plan.get('stack', '?'))}[/] (project {escape(plan.get('project', '?'))}): "
        f"{len(resources)} resources, tenant {short(tenant)}"
    )
    top = ix.children.get(stack["urn"] if stack else None, [])
    for comp in top:
        if comp.get("custom"):
            continue
        _workload_node(root, ix, comp)
    loose = [r for r in top if r.get("custom")]
    if loose:
        node = root.add("[dim]stack-level resources[/]")
        for res in loose:
            node.add(f"{escape(res['type'])} `{escape(res['name'])}`")
    return root


def _workload_node(root: Tree, ix: _Index, comp: dict[str, Any]) -> None:
    kind = comp["type"].rsplit(":", 1)[-1]
    node = root.add(f"[bold cyan]{escape(kind)}[/] `{escape(comp['name'])}`")
    members = _descendants(ix, comp["urn"])
    for res in members:
        out = res.get("outputs") or {}
        if res["type"] == UAMI:
            flags = " [magenta]protected[/]" if res.get("protect") else ""
            node.add(
                f"[bold]identity[/] `{escape(res['name'])}` clientId {short(out.get('clientId'))}, "
                f"principalId {short(out.get('principalId'))}{flags}"
            )
    for res in members:
        if res["type"] == APP:
            out = res.get("outputs") or {}
            flags = " [magenta]retained on delete[/]" if res.get("retain_on_delete") else ""
            node.add(
                f"[bold]app registration[/] `{escape(res['name'])}` clientId {short(out.get('clientId'))}, "
                f"objectId {short(out.get('objectId'))}{flags}"
            )
    for res in members:
        if res["type"] in (APP_FIC, IDENTITY_FIC):
            _fic_node(node, ix, res)
    for res in members:
        if res["type"] in COMPUTE:
            _compute_node(node, ix, res)
        elif res["type"] == SERVICE_ACCOUNT:
            _service_account_node(node, ix, res)


def render(plan: dict[str, Any], console: Console) -> None:
    console.print(build_tree(plan))
    for warning in plan.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    sim = plan.get("simulation") or {}
    for typ in sim.get("unmodelledTypes", []):
        console.print(f"[dim]note: simulator has no model for {escape(typ)}; it echoed the inputs[/]")
    for tok in sim.get("unmodelledInvokes", []):
        console.print(
            f"[dim]note: simulator has no model for invoke {escape(tok)}; it echoed the arguments[/]"
        )
