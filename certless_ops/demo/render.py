"""Rich views of the demo: the plan's wiring, the local services and each hop of one token acquisition.

Nothing here prints a token: the app's trace already holds claims only, and the identity header is
shown as "(set, value hidden)".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from certless_ops.console import panel
from certless_ops.demo.picture import Picture
from certless_ops.plan.fic_names import fic_phrase
from emulator.records import TOKEN_EXCHANGE_APP_ID, TOKEN_EXCHANGE_AUDIENCE

_OK = Text("✓ match", style="green")
_BAD = Text("✗ differs", style="bold red")
_CLAIMS_SHOWN = ("iss", "sub", "aud", "azp", "appid", "oid", "tid", "ver", "xms_mirid", "nbf", "exp")


@dataclass(frozen=True)
class Fic:
    owner: str  # "app" or "identity"
    owner_client_id: str
    name: str
    issuer: str
    subject: str
    audience: str


def federated_credentials(plan: Mapping[str, Any]) -> list[Fic]:
    """Every FIC the plan's workloads declare, with the client ID of the app or identity that holds it."""
    found: list[Fic] = []
    for w in plan.get("outputs", {}).get("workloads", {}).values():
        for f in w.get("federatedCredentials", []):
            owner = f.get("on", "app")
            client = w.get("appClientId" if owner == "app" else "identityClientId", "")
            fic = Fic(
                owner,
                client,
                f.get("name", ""),
                f.get("issuer", ""),
                f.get("subject", ""),
                f.get("audience", ""),
            )
            if fic not in found:
                found.append(fic)
    return found


def _when(epoch: object) -> str:
    if not isinstance(epoch, int | float | str) or not str(epoch).isdigit():
        return str(epoch)
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _claims_table(claims: Mapping[str, Any], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key in _CLAIMS_SHOWN:
        if key in claims:
            value = claims[key]
            table.add_row(key, _when(value) if key in ("nbf", "exp") else str(value))
    return table


def _short_issuer(issuer: str, tenant: str) -> str:
    return issuer.removeprefix("https://").replace(tenant, "{tenant}") if tenant else issuer


def plan_table(console: Console, plan: Mapping[str, Any]) -> None:
    outputs = plan.get("outputs", {})
    tenant = str(outputs.get("tenantId", ""))
    table = Table(
        title=f"Stack {plan.get('stack')} (tenant {tenant}): what each federated credential trusts",
        title_justify="left",
    )
    table.add_column("workload", style="bold", no_wrap=True)
    table.add_column("identity (principal ID)", overflow="fold")
    table.add_column("federated credentials: name, issuer, subject", overflow="fold")
    for name, w in outputs.get("workloads", {}).items():
        host = w.get("kind", "") + (f" {w['aksMode']}" if w.get("aksMode") else "")
        identity = f"{w.get('identityType', '')}\n{w.get('identityPrincipalId', '')}"
        fics = "\n".join(
            f"[dim]on the {f.get('on')}:[/dim] {escape(fic_phrase(str(f.get('name', ''))))}\n"
            f"  {_short_issuer(str(f.get('issuer', '')), tenant)}\n"
            f"  {f.get('subject')}"
            + (
                ""
                if f.get("audience") == TOKEN_EXCHANGE_AUDIENCE
                else f"\n  [red]aud {f.get('audience')}[/red]"
            )
            for f in w.get("federatedCredentials", [])
        )
        table.add_row(f"{name}\n[dim]{host}[/dim]", identity, fics)
    console.print(table)
    console.print(
        f"[dim]Every federated credential's audience is {TOKEN_EXCHANGE_AUDIENCE} unless shown.[/dim]"
    )
    for warning in plan.get("warnings", []):
        console.print(f"[yellow]plan warning:[/yellow] {warning}")


def picture(console: Console, drawn: Picture) -> None:
    how = (
        "SVG, drawn by Graphviz"
        if drawn.kind == "svg"
        else "Mermaid in Markdown; install Graphviz for an SVG"
    )
    # Plain text and no wrapping: the path is there to be copied, brackets and all.
    console.print(Text(f"Trust-chain picture of the stack ({how}): {drawn.path}"), soft_wrap=True)


def services(console: Console, rows: Iterable[tuple[str, str]]) -> None:
    table = Table(title="Local services (loopback only)", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)


# Values a host treats as secrets: named in the output, never shown.
_HIDDEN_VARS = frozenset({"IDENTITY_HEADER", "MSI_SECRET"})


def app_environment(console: Console, plan_env: Mapping[str, str], env: Mapping[str, str]) -> None:
    """The app's environment, by where each variable comes from: the plan's app settings, or the host."""
    table = Table(title="The app's environment", title_justify="left")
    table.add_column("variable", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("set by", style="dim")
    for key in sorted(env):
        if not (key.startswith(("AzureAd__", "AZURE_", "IDENTITY_", "MSI_", "REQUESTS_CA_BUNDLE"))):
            continue
        value = "(set, value hidden)" if key in _HIDDEN_VARS else env[key]
        if key in plan_env and plan_env[key] == env[key]:
            origin = "the plan's app settings"
        elif key.startswith("AzureAd__") or key == "REQUESTS_CA_BUNDLE":
            origin = "the emulator (points the app at it)"
        else:
            origin = "the host (emulated)"
        table.add_row(key, value, origin)
    console.print(table)


def _kind_of_hop(hop: Mapping[str, Any]) -> str:
    url = str(hop.get("url", ""))
    if url.endswith("/.well-known/openid-configuration"):
        return "discovery"
    if url.endswith("/oauth2/v2.0/token") and hop.get("method") == "POST":
        return "exchange"
    if "/metadata/identity/oauth2/token" in url:
        return "imds"
    if hop.get("method") == "GET" and "resource" in hop.get("query", {}):
        return "identity-endpoint"
    return "other"


def _audiences(aud: object) -> list[str]:
    # `aud` is a string or, in service-account tokens, a list of strings.
    return [str(a) for a in aud] if isinstance(aud, list) else [str(aud)] if aud is not None else []


def _audience_matches(aud: object, fic_audience: str) -> bool:
    accepted = {fic_audience}
    if fic_audience == TOKEN_EXCHANGE_AUDIENCE:
        # Entra puts the token-exchange app's ID in `aud` and treats it as the same audience as its URI.
        accepted.add(TOKEN_EXCHANGE_APP_ID)
    return any(a in accepted for a in _audiences(aud))


def _fic_owner(client_id: str, fics: list[Fic]) -> str:
    return next((f.owner for f in fics if f.owner_client_id == client_id), "app")


def _fic_table(assertion: Mapping[str, Any], client_id: str, fics: list[Fic]) -> Table:
    mine = [f for f in fics if f.owner_client_id == client_id]
    best = next(
        (f for f in mine if f.issuer == assertion.get("iss") and f.subject == assertion.get("sub")),
        mine[0] if mine else None,
    )
    title = (
        f"The assertion next to {fic_phrase(best.name)} on the {best.owner} ({client_id})"
        if best
        else f"No federated credential in the plan belongs to client {client_id}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("", style="cyan", no_wrap=True)
    table.add_column("assertion (the presented token)", overflow="fold")
    table.add_column("federated credential", overflow="fold")
    table.add_column("", no_wrap=True)
    if best is None:
        for key in ("iss", "sub", "aud"):
            table.add_row(key, str(assertion.get(key, "")), "-", _BAD)
        return table
    aud = ", ".join(_audiences(assertion.get("aud")))
    aud_note = " (the ID of api://AzureADTokenExchange)" if aud == TOKEN_EXCHANGE_APP_ID else ""
    table.add_row(
        "issuer",
        str(assertion.get("iss", "")),
        best.issuer,
        _OK if assertion.get("iss") == best.issuer else _BAD,
    )
    table.add_row(
        "subject",
        str(assertion.get("sub", "")),
        best.subject,
        _OK if assertion.get("sub") == best.subject else _BAD,
    )
    table.add_row(
        "audience",
        f"{aud}{aud_note}",
        best.audience,
        _OK if _audience_matches(assertion.get("aud"), best.audience) else _BAD,
    )
    return table


def _request_line(hop: Mapping[str, Any]) -> Text:
    query = "&".join(f"{k}={v}" for k, v in hop.get("query", {}).items())
    line = Text(f"{hop.get('method')} {hop.get('url')}{'?' + query if query else ''}", style="bold")
    status = int(hop.get("status", 0))
    line.append(f"  → {status}", style="green" if status < 400 else "bold red")
    return line


def _error_text(hop: Mapping[str, Any]) -> Text | None:
    body = hop.get("response")
    if int(hop.get("status", 0)) < 400 or not isinstance(body, Mapping):
        return None
    description = str(body.get("error_description") or body.get("message") or body.get("error") or "")
    return Text(description.splitlines()[0] if description else "", style="red")


def hops(console: Console, trace: Mapping[str, Any], plan: Mapping[str, Any], host: str) -> None:
    fics = federated_credentials(plan)
    step = 0
    for hop in trace.get("hops", []):
        kind = _kind_of_hop(hop)
        parts: list[Any] = [_request_line(hop)]
        if kind == "discovery":
            step += 1
            body = hop.get("response") or {}
            parts.append(
                Text(
                    "MSAL reads the tenant's OpenID configuration: "
                    f"token endpoint {body.get('token_endpoint', '?')}"
                )
            )
            console.print(panel(console, Group(*parts), title=f"{step}. Entra discovery"))
            continue
        if kind in ("identity-endpoint", "imds"):
            step += 1
            where = "IMDS (VM)" if kind == "imds" else f"the {host} identity endpoint"
            if hop.get("headers"):
                parts.append(Text(f"headers sent: {', '.join(hop['headers'])} (values hidden)", style="dim"))
            if "access_token_claims" in hop:
                parts.append(
                    _claims_table(
                        hop["access_token_claims"], "identity token claims (the token is not shown)"
                    )
                )
            error = _error_text(hop)
            if error is not None:
                parts.append(error)
            console.print(panel(console, Group(*parts), title=f"{step}. Managed identity token from {where}"))
            continue
        if kind == "exchange":
            step += 1
            form = hop.get("form", {})
            # Via-identity AKS exchanges twice: first for the identity's token, then for the app's.
            owner = _fic_owner(str(form.get("client_id", "")), fics)
            obtained = "the managed identity's token" if owner == "identity" else "the app's access token"
            form_table = Table(show_header=False, box=None, pad_edge=False)
            form_table.add_column(style="cyan", no_wrap=True)
            form_table.add_column(overflow="fold")
            for key in ("grant_type", "client_id", "scope", "client_assertion_type", "client_assertion"):
                if key in form:
                    form_table.add_row(key, str(form[key]))
            parts.append(form_table)
            if "assertion_claims" in hop:
                parts.append(_fic_table(hop["assertion_claims"], str(form.get("client_id", "")), fics))
            error = _error_text(hop)
            if error is not None:
                parts.append(error)
            response = hop.get("response")
            if isinstance(response, Mapping) and "access_token_claims" in hop:
                parts.append(
                    Text(
                        f"Entra answers: {response.get('token_type')} token, "
                        f"expires in {response.get('expires_in')} s"
                    )
                )
                parts.append(
                    _claims_table(hop["access_token_claims"], f"{obtained}: claims (the token is not shown)")
                )
            console.print(
                panel(console, Group(*parts), title=f"{step}. Token exchange at Entra for {obtained}")
            )
            continue
        step += 1
        console.print(panel(console, Group(*parts), title=f"{step}. {hop.get('method')} request"))


def blob_result(console: Console, account_url: str, outcome: Mapping[str, Any]) -> None:
    if "error" in outcome:
        console.print(panel(console, Text(str(outcome["error"]), style="bold red"), title="The app failed"))
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("account", account_url)
    table.add_row("created container", str(outcome.get("container")))
    table.add_row("uploaded blob", f"{outcome.get('blob')} ({outcome.get('uploaded')} bytes)")
    table.add_row("read back", repr(outcome.get("read_back")))
    verdict = (
        Text("same bytes", style="green")
        if outcome.get("matches")
        else Text("different bytes", style="bold red")
    )
    table.add_row("result", verdict)
    console.print(
        panel(console, table, title="Azure SDK BlobServiceClient → Azurite (bearer token checked, HTTPS)")
    )


def rbac(
    console: Console,
    decisions: Sequence[Any],
    grants: Sequence[Mapping[str, Any]],
    *,
    title: str = "Azure RBAC for each Storage call (the token's oid is the app's service principal)",
    note: str | None = None,
) -> None:
    """Each Storage call: the token's oid next to the role assignment that allowed it (or none: 403).
    ``note`` replaces the line on the plan's grants (calls made as a user, whom the plan grants nothing)."""
    table = Table(box=None, pad_edge=False)
    for column in ("token oid", "permission", "on", "role assignment", ""):
        table.add_column(column, overflow="fold")
    for d in decisions:
        short = d.permission.removeprefix("Microsoft.Storage/storageAccounts/blobServices/")
        where = d.resource_id.rsplit("/providers/", 1)[-1]
        grant = (
            f"{d.role} at {d.scope}"
            if d.allowed
            else "none for this oid: 403 AuthorizationPermissionMismatch"
        )
        verdict = Text("✓ allowed", style="green") if d.allowed else Text("✗ denied", style="bold red")
        table.add_row(d.oid, short, where, grant, verdict)
    app_grants = [g for g in grants if g.get("type") == "role"]
    note = note or (
        "The plan grants: "
        + "; ".join(
            f"{g.get('role')} on {g.get('scope')} to {g.get('principalId')} ({g.get('grantee')})"
            for g in app_grants
        )
        if app_grants
        else "The plan grants this workload's app no role."
    )
    console.print(panel(console, Group(table, Text(note)), title=title))
