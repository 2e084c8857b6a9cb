"""The web stack with its two sample apps running (examples/web-app, examples/notes-api), for the e2e tests
that sign users in: with an HTTP client (test_web_examples.py) and in Chromium (test_browser_signin.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from certless_ops.azurite import Azurite
from certless_ops.demo import chain, web
from certless_ops.storage_rbac import StorageRbac, assignments_from_plan, fetch_jwks
from emulator import Emulator, Records
from emulator.records import DelegatedGrant, User

USERS = ("alice", "bob", "carol")  # each holds Storage Blob Data Contributor on the notes account
NO_ROLE_USER = "dave"  # signs in, but holds no role on the account


@dataclass
class WebChain:
    plan: dict[str, Any]
    emulator: Emulator
    azurite: Azurite
    storage: StorageRbac
    apps: web.SampleApps
    users: dict[str, User]

    @property
    def tenant_id(self) -> str:
        return str(self.plan["outputs"]["tenantId"])

    def client_id(self, workload: str) -> str:
        return str(self.plan["outputs"]["workloads"][workload]["appClientId"])

    def blobs(self, container: str = "notes") -> dict[str, dict[str, str]]:
        """Azurite's blobs (name -> metadata), read directly (not through the RBAC check), as an admin."""
        return self.azurite.blobs(container, self.tenant_id)

    @contextlib.contextmanager
    def without_consent(self) -> Iterator[None]:
        """The web app's admin consent to the notes API withdrawn (as an admin revoking the grant)."""
        records = self.emulator.records
        api_sp = records.app(self.client_id(web.API_WORKLOAD))
        assert api_sp is not None
        removed = [g for g in records.delegated_grants if g.resource_sp_id == api_sp.service_principal_id]
        assert removed, "the web stack consents the web app to the notes API"
        records.delegated_grants[:] = [g for g in records.delegated_grants if g not in removed]
        try:
            yield
        finally:
            records.delegated_grants.extend(g for g in removed if isinstance(g, DelegatedGrant))

    @contextlib.contextmanager
    def short_tokens(self, seconds: int) -> Iterator[None]:
        """Entra tokens that live ``seconds`` (under MSAL's 5 minutes: each use refreshes them)."""
        self.emulator.faults.token_lifetime("entra-token", seconds)
        try:
            yield
        finally:
            self.emulator.faults.clear()


@contextlib.contextmanager
def web_chain(azurite: Azurite, workdir: Path) -> Iterator[WebChain]:
    port = web.free_port()
    config = web.web_stack_config(workdir / "Pulumi.web.yaml", port)
    plan_path = workdir / "plan-web.json"
    plan = chain.write_plan("web", plan_path, config_file=config)
    records = Records.from_plan(plan_path)
    users = {name: records.add_user(name) for name in USERS}
    roles = web.user_assignments({n: u.object_id for n, u in users.items()})
    users[NO_ROLE_USER] = records.add_user(NO_ROLE_USER)
    with Emulator(records) as emu:
        storage = StorageRbac(
            [*assignments_from_plan(plan), *roles],
            account_id=web.NOTES_ACCOUNT_ID,
            upstream_host="127.0.0.1",
            upstream_port=azurite.port,
            upstream_ca=str(azurite.ca_pem),
            cert_pem=azurite.tls.cert_pem,
            key_pem=azurite.tls.key_pem,
            keys=fetch_jwks(
                f"{emu.entra_url}/{plan['outputs']['tenantId']}/discovery/keys", emu.ca_bundle_path
            ),
        )
        with (
            storage,
            web.sample_apps(
                plan,
                emu,
                storage_url=storage.account_url("devstoreaccount1"),
                storage_ca=azurite.ca_pem,
                web_port=port,
                workdir=workdir,
            ) as apps,
        ):
            yield WebChain(plan, emu, azurite, storage, apps, users)


# ---- an HTTP client signing in, as a browser without JavaScript would -----------------------------------


class Page(HTMLParser):
    """What a test reads off a page: forms (action, fields), the meta refresh target, ids' texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.refresh: str | None = None
        self.by_id: dict[str, str] = {}
        self._ids: list[str | None] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.refresh = a.get("content", "").partition("URL=")[2] or None
        if tag not in ("input", "meta", "br", "img"):
            self._ids.append(a.get("id"))
            if a.get("id"):
                self.by_id.setdefault(a["id"], "")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("input", "meta", "br", "img") and self._ids:
            self._ids.pop()

    def handle_data(self, data: str) -> None:
        self.text += data
        for i in self._ids:
            if i:
                self.by_id[i] += data


def sign_in(session: requests.Session, chain_: WebChain, user: str, path: str = "/") -> requests.Response:
    """Open ``path`` of the web app, follow it to the emulator's sign-in page, sign in as ``user`` and
    follow the redirects back: the last response (the page, or the app's error page)."""
    ca = chain_.emulator.ca_bundle_path
    page = session.get(chain_.apps.web_url + path, timeout=30)
    target = Page(page.text).refresh
    assert target, f"the web app did not send the user to sign in: {page.status_code} {page.text[:200]}"
    login = session.get(target, verify=ca, timeout=30)
    assert login.status_code == 200, login.text[:300]
    form = Page(login.text).forms[0]
    fields = {**form["fields"], "username": user}
    answer = session.post(
        urljoin(login.url, form["action"]), data=fields, verify=ca, timeout=30, allow_redirects=False
    )
    assert answer.status_code == 302, answer.text[:300]
    return session.get(answer.headers["Location"], timeout=60)
